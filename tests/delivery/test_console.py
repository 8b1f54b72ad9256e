"""The invigilator console and candidate import at the service layer: the roster's live status in a
constant number of queries, room-wide pause and resume, actions audited, who may act, closing a
session, and the Excel import with its row-by-row report."""

import io
from datetime import timedelta

import openpyxl
import pytest
from sqlalchemy import event, func, select

from examsvc import clock
from examsvc.audit.models import AuditEvent
from examsvc.delivery.service import save_answer, sign_in, start_or_resume
from examsvc.delivery.paper_text import item_types
from examsvc.errors import Conflict, Forbidden, NotFound, ValidationFailed
from examsvc.sessions.candidates_import import MAX_ROWS, blank_template, import_candidates
from examsvc.sessions.console import (
    act, close_session, incident_log, pause_room, record_note, resume_room, roster,
)
from examsvc.sessions.models import Candidate, Incident, StaffAssignment
from examsvc.sessions.service import find_candidate, require_assigned, require_console
from tests.conftest import count_rows, make_user
from tests.delivery.conftest import EXAM_DAY, resident_id

pytestmark = pytest.mark.usefixtures("app_context")

HEADER = ["姓名", "证件类型", "证件号码", "性别", "工作单位", "联系电话", "考试语言"]


def _sign_in_and_start(session, exam, index):
    candidate = exam["candidates"][index]
    act(session, exam["session"], exam["invigilators"][0], candidate.id, "check_in")
    sign_in(session, ticket_number=candidate.ticket_number, id_number=resident_id(index + 1))
    return start_or_resume(session, candidate)


def _answer(session, attempt, count):
    types = item_types(session, attempt.paper_id)
    for seq, position in enumerate(sorted(p for p, t in types.items() if t == "true_false")[:count], start=1):
        save_answer(session, attempt.candidate_id, position=position, response=["T"], flagged=False, seq=seq)


def _rows(session, exam):
    return {r.ticket_number: r for r in roster(session, exam["session"], exam["session"].rooms[0].id)}


def _actions(session):
    return [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]


def test_the_roster_follows_each_candidate_through_the_exam(session, exam):
    tickets = [c.ticket_number for c in exam["candidates"]]
    rows = _rows(session, exam)
    assert [rows[t].status for t in tickets] == ["not_signed_in"] * 4
    assert rows[tickets[0]].id_masked == resident_id(1)[:4] + "*" * 10 + resident_id(1)[-4:]
    assert resident_id(1) not in str(rows[tickets[0]].to_dict())
    with clock.frozen(EXAM_DAY) as frozen:
        first = _sign_in_and_start(session, exam, 0)
        _answer(session, first, 3)
        act(session, exam["session"], exam["invigilators"][0], exam["candidates"][1].id, "check_in")
        frozen.advance(timedelta(minutes=10))
        rows = _rows(session, exam)
        assert (rows[tickets[0]].status, rows[tickets[0]].answered, rows[tickets[0]].items) == ("in_progress", 3, 90)
        assert rows[tickets[0]].remaining_seconds == 80 * 60
        assert rows[tickets[0]].last_activity_at == EXAM_DAY
        assert rows[tickets[1]].status == "checked_in" and rows[tickets[1]].remaining_seconds is None
        # A cleared answer is not an answered item.
        position = sorted(p for p, t in item_types(session, first.paper_id).items() if t == "true_false")[0]
        save_answer(session, first.candidate_id, position=position, response=[], flagged=False, seq=10)
        assert _rows(session, exam)[tickets[0]].answered == 2
        second = _sign_in_and_start(session, exam, 1)
        third = _sign_in_and_start(session, exam, 2)
        act(session, exam["session"], exam["invigilators"][1], exam["candidates"][1].id, "terminate",
            reason="携带手机")
        act(session, exam["session"], exam["invigilators"][1], exam["candidates"][2].id, "pause", reason="不适")
        rows = _rows(session, exam)
        assert rows[tickets[1]].status == "terminated" and rows[tickets[1]].closed_reason == "携带手机"
        assert rows[tickets[2]].status == "paused"
        frozen.advance(timedelta(minutes=81))  # the first candidate's deadline has passed; no sweep yet
        assert _rows(session, exam)[tickets[0]].status == "expired"
        assert _rows(session, exam)[tickets[2]].remaining_seconds == 90 * 60  # paused time does not count
    assert (second.status, third.status) == ("terminated", "paused")


def test_the_roster_costs_the_same_queries_for_one_candidate_or_many(session, exam):
    statements = []

    def count(*_args):
        statements.append(1)

    with clock.frozen(EXAM_DAY):
        first = _sign_in_and_start(session, exam, 0)
        _answer(session, first, 2)
        session.flush()
        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", count)
        try:
            roster(session, exam["session"], exam["session"].rooms[0].id)
            one = len(statements)
            for index in (1, 2, 3):
                _answer(session, _sign_in_and_start(session, exam, index), 5)
            session.flush()
            statements.clear()
            rows = roster(session, exam["session"], exam["session"].rooms[0].id)
            many = len(statements)
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert one == many <= 2  # the roster itself, and the room list when not loaded yet
    assert sorted(r.answered for r in rows) == [2, 5, 5, 5]


def test_pause_and_resume_the_room_and_paused_time_is_not_counted(session, exam):
    room = exam["session"].rooms[0].id
    inv = exam["invigilators"][0]
    with clock.frozen(EXAM_DAY) as frozen:
        attempts = [_sign_in_and_start(session, exam, i) for i in range(3)]
        act(session, exam["session"], inv, exam["candidates"][2].id, "terminate", reason="替考")
        frozen.advance(timedelta(minutes=5))
        assert pause_room(session, exam["session"], room, inv, "停电") == 2
        assert [a.status for a in attempts] == ["paused", "paused", "terminated"]
        with pytest.raises(Conflict):
            act(session, exam["session"], inv, exam["candidates"][0].id, "pause")
        frozen.advance(timedelta(minutes=20))
        assert resume_room(session, exam["session"], room, inv, "恢复供电") == 2
        rows = _rows(session, exam)
        assert rows[exam["candidates"][0].ticket_number].remaining_seconds == 85 * 60
        assert rows[exam["candidates"][0].ticket_number].status == "in_progress"
    actions = _actions(session)
    assert actions.count("attempt.pause") == 2 and actions.count("attempt.resume") == 2
    assert "session.pause_room" in actions and "session.resume_room" in actions
    kinds = [entry.incident.kind for entry in incident_log(session, exam["session"], room)]
    assert kinds.count("pause") == 2 and kinds.count("resume") == 2 and "terminate" in kinds


def test_extra_time_needs_minutes_and_a_reason_and_moves_the_deadline(session, exam):
    inv = exam["invigilators"][0]
    candidate = exam["candidates"][0]
    with clock.frozen(EXAM_DAY):
        with pytest.raises(Conflict) as caught:
            act(session, exam["session"], inv, candidate.id, "extra_time", minutes=10, reason="设备故障")
        assert caught.value.code == "not_started"
        _sign_in_and_start(session, exam, 0)
        for kwargs, field in [({"minutes": None, "reason": "设备故障"}, "minutes"), ({"minutes": 0, "reason": "x"}, "minutes"),
                              ({"minutes": 10, "reason": " "}, "reason")]:
            with pytest.raises(ValidationFailed) as caught:
                act(session, exam["session"], inv, candidate.id, "extra_time", **kwargs)
            assert caught.value.field == field
        with pytest.raises(ValidationFailed) as caught:
            act(session, exam["session"], inv, candidate.id, "terminate", reason="")
        assert caught.value.field == "reason"
        with pytest.raises(ValidationFailed) as caught:
            act(session, exam["session"], inv, candidate.id, "explode")
        assert caught.value.field == "action"
        act(session, exam["session"], inv, candidate.id, "extra_time", minutes=15, reason="设备故障")
        row = _rows(session, exam)[candidate.ticket_number]
        assert row.remaining_seconds == 105 * 60 and row.extra_seconds == 15 * 60
    event_ = session.scalars(select(AuditEvent).where(AuditEvent.action == "attempt.extra_time")).one()
    assert event_.actor == inv.username and event_.details["reason"] == "设备故障"


def test_only_assigned_invigilators_and_the_institutions_admins_may_act(session, exam):
    exam_session = exam["session"]
    candidate = exam["candidates"][0]
    room = exam_session.rooms[0].id
    idle = make_user(session, "idle_inv", "invigilator", exam["A"].id)        # same institution, not assigned
    other = make_user(session, "other_inv", "invigilator", exam["B"].id)      # another institution
    admin_b = make_user(session, "admin_b", "institution_admin", exam["B"].id)
    with clock.frozen(EXAM_DAY):
        with pytest.raises(Forbidden) as caught:
            act(session, exam_session, idle, candidate.id, "check_in")
        assert caught.value.code == "not_assigned"
        for outsider in (other, admin_b):
            with pytest.raises(Forbidden) as caught:
                act(session, exam_session, outsider, candidate.id, "check_in")
            assert caught.value.code == "forbidden"
        with pytest.raises(Forbidden):
            roster(session, exam_session, room, viewer=idle)
        with pytest.raises(Forbidden):
            pause_room(session, exam_session, room, other)
        with pytest.raises(Forbidden):
            record_note(session, exam_session, idle, "我来看看")
        with pytest.raises(Forbidden) as caught:  # an invigilator of room 1 is not one of another room
            require_assigned(exam["invigilators"][0], exam_session, "invigilator", room_id=room + 100)
        assert caught.value.field == "room_id"
        assert require_assigned(exam["invigilators"][0], exam_session, "invigilator", room_id=room)
        require_console(exam["admin"], exam_session, room)  # the institution's admin may run the room
        act(session, exam_session, exam["admin"], candidate.id, "check_in")
        assert candidate.checked_in_at == EXAM_DAY
    assert count_rows(session, Incident) == 1
    assert not session.scalars(select(AuditEvent).where(AuditEvent.actor.in_(["idle_inv", "other_inv", "admin_b"]))).all()


def test_a_candidate_of_another_session_is_not_found_and_nothing_is_stored(session, exam):
    from examsvc.sessions.models import ExamSession, SessionRoom
    from examsvc.sessions.service import register_candidate

    w = exam
    # (its papers are in use by now, so the other session is stored directly rather than planned)
    other = ExamSession(institution_id=w["A"].id, blueprint_id=w["version"].blueprint.id, title="另一场次",
                        exam_date=EXAM_DAY.date(), window_start=EXAM_DAY, window_end=EXAM_DAY + timedelta(hours=1),
                        duration_minutes=90, languages=["zh"], status="open", created_by=w["admin"].id,
                        created_at=EXAM_DAY, rooms=[SessionRoom(name="二号", capacity=10)])
    session.add(other)
    session.flush()
    stranger = register_candidate(session, other, name="外场考生", id_type="passport", id_number="E1234567",
                                  actor=w["admin"])
    before = (count_rows(session, Incident), count_rows(session, AuditEvent))
    with clock.frozen(EXAM_DAY):
        for action in ("check_in", "terminate"):
            with pytest.raises(NotFound) as caught:
                act(session, exam["session"], exam["invigilators"][0], stranger.id, action, reason="x")
            assert caught.value.code == "not_found" and "外场" not in caught.value.message
        with pytest.raises(NotFound):
            record_note(session, exam["session"], exam["invigilators"][0], "记录", candidate_id=stranger.id)
        with pytest.raises(NotFound):
            find_candidate(session, exam["session"].id, stranger.id)
    assert (count_rows(session, Incident), count_rows(session, AuditEvent)) == before
    assert stranger.checked_in_at is None


def test_notes_go_to_the_incident_log_and_the_audit_trail(session, exam):
    inv = exam["invigilators"][0]
    candidate = exam["candidates"][3]
    with clock.frozen(EXAM_DAY):
        record_note(session, exam["session"], inv, "考场空调故障，已报修", room_id=exam["session"].rooms[0].id)
        record_note(session, exam["session"], inv, "考生自述视力不佳，已调整座位", candidate_id=candidate.id)
        with pytest.raises(ValidationFailed) as caught:
            record_note(session, exam["session"], inv, "   ")
        assert caught.value.field == "text"
    log = incident_log(session, exam["session"])
    assert [(e.incident.kind, e.candidate_name, e.recorded_by, e.incident.text) for e in log] == [
        ("note", "考生4", "inv1", "考生自述视力不佳，已调整座位"), ("note", None, "inv1", "考场空调故障，已报修")]
    assert _actions(session).count("session.note") == 2


def test_closing_the_session_ends_every_attempt_and_sign_in(session, exam):
    inv = exam["invigilators"][0]
    with clock.frozen(EXAM_DAY) as frozen:
        running = _sign_in_and_start(session, exam, 0)
        paused = _sign_in_and_start(session, exam, 1)
        act(session, exam["session"], inv, exam["candidates"][1].id, "pause")
        done = _sign_in_and_start(session, exam, 2)
        from examsvc.delivery.service import submit

        submit(session, done)
        frozen.advance(timedelta(minutes=30))
        report = close_session(session, exam["session"], inv)
        assert (report.submitted, report.expired, report.closed_now, report.absent) == (1, 2, 2, 1)
        assert (running.status, paused.status, running.closed_reason) == ("expired", "expired", "session_closed")
        assert exam["session"].status == "closed"
        with pytest.raises(Forbidden) as caught:
            sign_in(session, ticket_number=exam["candidates"][3].ticket_number, id_number=resident_id(4))
        assert caught.value.code == "session_not_open"
        with pytest.raises(Conflict) as caught:
            close_session(session, exam["session"], inv)
        assert caught.value.code == "session_not_open"
        with pytest.raises(Conflict):
            act(session, exam["session"], inv, exam["candidates"][3].id, "check_in")
    assert "session.close" in _actions(session)
    assert _rows(session, exam)[exam["candidates"][3].ticket_number].status == "not_signed_in"


# --- Excel import ---------------------------------------------------------------------------------

def xlsx(rows, header=HEADER, formula_at=None):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    if formula_at:
        ws[formula_at] = "=CONCATENATE(\"1501\",\"0219900101\")"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_an_import_with_bad_rows_stores_nothing_and_reports_row_and_column(session, exam):
    exam_session = exam["session"]
    before = (count_rows(session, Candidate), count_rows(session, AuditEvent))
    bad_check = resident_id(20)[:-1] + ("0" if resident_id(20)[-1] != "0" else "1")
    data = xlsx([
        ["新考生甲", "居民身份证", resident_id(10), "男", "呼和浩特饭店", "13800000001", "中文"],   # 2 ok
        ["", "居民身份证", bad_check, "男", "", "", "中文"],                                      # 3 name, number
        ["新考生乙", "驾驶证", "X1234567", "女", "", "", "中文"],                                   # 4 id type
        ["新考生丙", "护照", "E7654321", "未知", "", "abc", "蒙古文"],                             # 5 gender, phone, language
        ["新考生丁", "居民身份证", resident_id(10), "", "", "", ""],                               # 6 duplicate of row 2
        ["老考生", "居民身份证", resident_id(1), "", "", "", "中文"],                              # 7 already registered
        ["", "", "", "", "", "", ""],                                                            # blank: skipped
        ["新考生戊", "居民身份证", None, "", "", "", "中文"],                                        # 9 formula
        ["新考生己", "居民身份证", 150102199001010000, "", "", "", "中文"],                          # 10 number lost digits
    ], formula_at="C9")
    report = import_candidates(session, exam_session, data, exam["admin"])
    found = {(e.row, e.column) for e in report.errors}
    assert {(3, "姓名"), (3, "证件号码"), (4, "证件类型"), (5, "性别"), (5, "联系电话"), (5, "考试语言"),
            (6, "证件号码"), (7, "证件号码"), (9, "证件号码"), (10, "证件号码")} <= found
    assert (3, "证件类型") not in found and not any(e.row == 2 for e in report.errors)
    messages = {(e.row, e.column): e for e in report.errors}
    assert "第2行" in messages[(6, "证件号码")].message and "row 2" in messages[(6, "证件号码")].message_en
    assert "公式" in messages[(9, "证件号码")].message and "已在本场次登记" in messages[(7, "证件号码")].message
    assert resident_id(10) not in str(report.to_dict())          # no ID number is echoed back
    assert (report.rows, report.valid_rows, report.error_rows, report.imported) == (8, 1, 7, [])
    assert (count_rows(session, Candidate), count_rows(session, AuditEvent)) == before

    report = import_candidates(session, exam_session, data, exam["admin"], valid_rows_only=True)
    assert [c.name for c in report.imported] == ["新考生甲"]
    imported = report.imported[0]
    assert (imported.gender, imported.employer, imported.exam_language, imported.seat) == ("M", "呼和浩特饭店", "zh", 5)
    tickets = session.scalars(select(Candidate.ticket_number).where(Candidate.session_id == exam_session.id)).all()
    assert len(tickets) == len(set(tickets)) == 5
    assert session.scalars(select(AuditEvent).where(AuditEvent.action == "candidate.import")).one().details[
        "skipped_rows"] == 7


def test_a_clean_import_from_the_blank_template_registers_everyone_with_tickets_and_seats(session, exam):
    wb = openpyxl.load_workbook(io.BytesIO(blank_template()))
    ws = wb["考生"]
    assert [c.value for c in ws[1]] == HEADER + ["考试密码"]
    assert ws["C2"].number_format == "@"
    assert "填写说明" in wb.sheetnames
    ws.append(["甲", "居民身份证", resident_id(30).lower(), "女", "", "0471-1234567", "中文", "secret-77"])
    ws.append(["乙", "护照", "G 1234 5678", "男", "", "13900000000", "", ""])
    out = io.BytesIO()
    wb.save(out)
    report = import_candidates(session, exam["session"], out.getvalue(), exam["admin"])
    assert report.errors == [] and [c.name for c in report.imported] == ["甲", "乙"]
    first, second = report.imported
    assert first.password_hash and second.password_hash is None and second.id_masked.startswith("G1")
    assert [c.seat for c in report.imported] == [5, 6]
    assert first.ticket_number.endswith("0005") and second.ticket_number.endswith("0006")
    with clock.frozen(EXAM_DAY):
        act(session, exam["session"], exam["invigilators"][0], first.id, "check_in")
        assert sign_in(session, ticket_number=first.ticket_number, password="secret-77").id == first.id


@pytest.mark.parametrize("data, code", [
    (b"not a spreadsheet", "interchange.not_zip"),
    (b"PK" + b"\0" * 10, "interchange.not_zip"),
    ("header", "import.missing_columns"),
    ("empty", "import.empty"),
    ("too_many", "import.too_many_rows"),
    ("too_large", "interchange.too_large"),
])
def test_a_file_that_cannot_be_read_is_refused_as_a_whole(session, exam, data, code):
    if data == "header":
        data = xlsx([["甲", "护照", "E1234567"]], header=["姓名", "证件类型", "证件号码"])
    elif data == "empty":
        data = xlsx([])
    elif data == "too_many":
        data = xlsx([[f"考生{i}", "护照", f"E{i:07d}", "", "", "", ""] for i in range(MAX_ROWS + 1)])
    elif data == "too_large":
        data = b"PK" + b"\0" * 5_000_001
    before = count_rows(session, Candidate)
    with pytest.raises(ValidationFailed) as caught:
        import_candidates(session, exam["session"], data, exam["admin"])
    assert caught.value.field == "file" and caught.value.code == code
    if code == "import.missing_columns":
        assert "性别" in caught.value.message and "考试语言" in caught.value.message
    assert count_rows(session, Candidate) == before


def test_staff_assignments_are_what_the_console_checks(session, exam):
    """The fixture's invigilators hold assignments in the room; removing one takes the console away."""
    from examsvc.sessions.service import remove_staff

    inv = exam["invigilators"][1]
    assignment = session.scalars(select(StaffAssignment).where(StaffAssignment.user_id == inv.id)).one()
    require_console(inv, exam["session"], exam["session"].rooms[0].id)
    remove_staff(session, exam["session"], assignment.id, exam["admin"])
    with pytest.raises(Forbidden):
        require_console(inv, exam["session"])
    assert session.scalar(select(func.count()).select_from(StaffAssignment)) == 1


def test_a_start_window_is_on_the_exam_date_in_beijing_time(session, exam):
    """07:30 in Beijing is 23:30 UTC the day before: still the exam date; past midnight is not."""
    from datetime import datetime, timezone

    from examsvc.sessions.models import ExamSession
    from examsvc.sessions.service import plan_session

    exam["papers"][0].status = "locked"  # (used by the open session; planning needs a locked one)
    early = datetime(2026, 12, 5, 23, 30, tzinfo=timezone.utc) - timedelta(days=1)
    planned = plan_session(session, institution=exam["A"], blueprint=exam["version"].blueprint, title="早场",
                           exam_date=EXAM_DAY.date(), window_start=early, window_end=early + timedelta(minutes=45),
                           rooms=[("一号", 10)], paper_ids=[exam["papers"][0].id], league_city="呼和浩特市",
                           actor=exam["admin"])
    assert isinstance(planned, ExamSession)
    late = datetime(2026, 12, 5, 15, 30, tzinfo=timezone.utc)  # 23:30 in Beijing
    with pytest.raises(ValidationFailed) as caught:
        plan_session(session, institution=exam["A"], blueprint=exam["version"].blueprint, title="跨夜",
                     exam_date=EXAM_DAY.date(), window_start=late, window_end=late + timedelta(hours=1),
                     rooms=[("一号", 10)], paper_ids=[exam["papers"][0].id], league_city="呼和浩特市",
                     actor=exam["admin"])
    assert caught.value.field == "window_start"
