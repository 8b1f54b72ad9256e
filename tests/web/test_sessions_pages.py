"""The exam sessions' pages and API: planning through the form, readiness shown and Open refused
until staffing holds, staff, candidates one by one and from Excel, printable admission tickets, the
invigilator console with its actions audited and reflected in the roster, and who may see what.

Data is set up with the ``session`` fixture inside short app contexts; each client signs in for
itself, so requests never share a signed-in user.
"""

from __future__ import annotations

import io
from datetime import timedelta

import openpyxl
import pytest
from sqlalchemy import func, select

from examsvc import clock
from examsvc.audit.models import AuditEvent
from examsvc.delivery.service import sign_in, start_or_resume
from examsvc.papers.service import lock_paper, run_assembly, start_assembly
from examsvc.sessions.models import Candidate, ExamSession, Incident, StaffAssignment
from examsvc.sessions.service import assign_staff, open_session, plan_session, register_candidate
from tests.conftest import csrf_token_from, login, make_user
from tests.delivery.conftest import EXAM_DAY, resident_id, site_filed
from tests.papers.conftest import papers_world  # noqa: F401  (a fixture)

EN = {"Accept-Language": "en"}


def signed_in(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def post(client, url, data=None, **kwargs):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **(data or {})}, **kwargs)


def fresh(session, model, ident):
    session.expire_all()
    return session.get(model, ident)


def count(session, model, *where):
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def site(app, session, papers_world):
    """Two locked papers of institution A, a planned session with three candidates and no staff,
    and the people the tests need (invigilators of A and B, an admin of B, a supervisor of A)."""
    w = papers_world
    with app.app_context():
        run = start_assembly(session, institution=w["A"], blueprint_version=w["version"], forms=2,
                             overrides={"seed": 5, "time_limit": 30}, actor=w["admin"])
        run_assembly(session, run)
        papers = [lock_paper(session, p, w["admin"]) for p in run.papers]
        exam_session = plan_session(
            session, institution=w["A"], blueprint=w["version"].blueprint, title="十二月中式烹调师四级理论",
            exam_date=EXAM_DAY.date(), window_start=EXAM_DAY - timedelta(minutes=30),
            window_end=EXAM_DAY + timedelta(minutes=30), rooms=[("第一考场", 30)], paper_ids=[papers[0].id],
            league_city=site_filed(session, w["A"]), actor=w["admin"])
        candidates = [register_candidate(session, exam_session, name=f"考生{i}", id_type="resident_id",
                                         id_number=resident_id(i), actor=w["admin"]) for i in (1, 2, 3)]
        session.commit()
    people = {name: make_user(session, name, role, w[inst].id) for name, role, inst in [
        ("inv1", "invigilator", "A"), ("inv2", "invigilator", "A"), ("inv_idle", "invigilator", "A"),
        ("inv_b", "invigilator", "B"), ("admin_b", "institution_admin", "B")]}
    people["sup"] = make_user(session, "sup", "quality_supervisor", w["A"].id)
    people["regulator"] = make_user(session, "regulator", "regulator")
    return {**w, **people, "papers": papers, "session": exam_session, "candidates": candidates,
            "room": exam_session.rooms[0]}


@pytest.fixture
def opened(app, session, site):
    """The session staffed with inv1 and inv2 in its room and opened the day before."""
    with app.app_context():
        for name in ("inv1", "inv2"):
            assign_staff(session, site["session"], site[name], "invigilator", site["room"].id, site["admin"])
        with clock.frozen(EXAM_DAY - timedelta(days=1)):
            open_session(session, site["session"], site["admin"])
        session.commit()
    return site


def _start(app, session, site, index):
    """A candidate checked in, signed in and started (what the exam room does)."""
    with app.app_context():
        candidate = session.get(Candidate, site["candidates"][index].id)
        candidate.checked_in_at = EXAM_DAY
        sign_in(session, ticket_number=candidate.ticket_number, id_number=resident_id(index + 1))
        attempt = start_or_resume(session, candidate)
        session.commit()
    return attempt


# --- planning -------------------------------------------------------------------------------

def test_an_admin_plans_a_session_through_the_form(app, session, site):
    client = signed_in(app, "admin_a")
    page = client.get("/sessions/new").get_data(as_text=True)
    assert "中式烹调师" in page and site["papers"][1].title in page and 'name="room_name"' in page
    assert "蒙古文" in page and "auto_check_in" in page and 'value="scrolling"' in page
    form = {"institution_id": site["A"].id, "blueprint_id": site["version"].blueprint.id, "title": "第二场",
            "exam_date": "2026-12-06", "window_start": "08:30", "window_end": "09:00", "duration_minutes": "",
            "room_name": ["一号考场", "二号考场", ""], "room_capacity": ["20", "10", ""],
            "paper_ids": [str(site["papers"][1].id)], "languages": ["zh"], "auto_check_in": "1", "layout": "scrolling",
            "league_city": "呼和浩特市"}
    before = count(session, ExamSession)
    for changes, label in [({"room_name": ["", ""], "room_capacity": ["", ""]}, "考场"),
                           ({"window_end": "08:00"}, "入场截止"), ({"paper_ids": []}, "试卷"),
                           ({"duration_minutes": "45"}, "考试时长"), ({"exam_date": "12/06"}, "考试日期"),
                           ({"languages": ["zh", "mn"]}, "考试语言")]:
        response = post(client, "/sessions/", {**form, **changes})
        body = response.get_data(as_text=True)
        assert response.status_code in (400, 422), changes
        assert label in body and 'role="alert"' in body, (changes, label)
        assert 'value="第二场"' in body  # the form keeps what was typed
    assert count(session, ExamSession) == before
    response = post(client, "/sessions/", form)
    assert response.status_code == 302
    created = session.scalars(select(ExamSession).where(ExamSession.title == "第二场")).one()
    assert [(r.name, r.capacity) for r in created.rooms] == [("一号考场", 20), ("二号考场", 10)]
    assert created.window_start == EXAM_DAY.replace(hour=0, minute=30) + timedelta(days=1)  # 08:30 in Beijing
    assert (created.auto_check_in, created.layout, created.duration_minutes) == (True, "scrolling", 90)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "第二场" in page and "08:30" in page and "尚未登记考生" in page and "开考" in page


def test_planning_outside_the_filed_scope_or_for_another_institution_is_refused(app, session, site):
    admin_b = signed_in(app, "admin_b")
    form = {"institution_id": site["A"].id, "blueprint_id": site["version"].blueprint.id, "title": "越权",
            "exam_date": "2026-12-06", "window_start": "08:30", "window_end": "09:00",
            "room_name": ["一号"], "room_capacity": ["20"], "paper_ids": [str(site["papers"][1].id)], "languages": ["zh"]}
    assert post(admin_b, "/sessions/", form).status_code == 403
    page = admin_b.get("/sessions/new").get_data(as_text=True)
    assert site["papers"][1].title not in page  # A's papers are not offered to B
    form["institution_id"] = site["B"].id
    response = post(admin_b, "/sessions/", form)
    assert response.status_code == 400 and "备案范围" in response.get_data(as_text=True)
    assert count(session, ExamSession) == 1


def test_the_session_page_names_the_broken_rule_and_open_is_refused_until_staffing_holds(app, session, site):
    client = signed_in(app, "admin_a")
    url = f"/sessions/{site['session'].id}"
    page = client.get(url).get_data(as_text=True)
    assert "需要至少2名监考人员" in page and "现有0名" in page and 'data-code="invigilators"' in page
    refused = post(client, f"{url}/open")
    assert refused.status_code == 422
    assert "需要至少2名监考人员" in refused.get_data(as_text=True)
    assert fresh(session, ExamSession, site["session"].id).status == "planned"
    english = client.get(url, headers=EN).get_data(as_text=True)
    assert "needs at least 2 invigilators" in english
    # Staff through the staff page: one invigilator is not enough, two are.
    staff_page = client.get(f"{url}/staff").get_data(as_text=True)
    assert "inv1" in staff_page and "inv_idle" in staff_page and "inv_b" not in staff_page and "sup" in staff_page
    assert post(client, f"{url}/staff", {"role": "invigilator", "user_id": site["inv1"].id,
                                         "room_id": site["room"].id}).status_code == 302
    assert post(client, f"{url}/open").status_code == 422
    assert "现有1名" in client.get(url).get_data(as_text=True)
    assert post(client, f"{url}/staff", {"role": "invigilator", "user_id": site["inv2"].id,
                                         "room_id": site["room"].id}).status_code == 302
    assert "✓" in client.get(url).get_data(as_text=True)
    assert post(client, f"{url}/open").status_code == 302
    assert fresh(session, ExamSession, site["session"].id).status == "open"
    assert {"session.assign_staff", "session.open"} <= set(session.scalars(select(AuditEvent.action)))


def test_an_internal_supervisor_is_never_also_invigilator_art_26(app, session, site):
    from examsvc.accounts.models import RoleGrant

    with app.app_context():
        user = session.get(type(site["sup"]), site["sup"].id)
        user.grants.append(RoleGrant(role="invigilator", institution_id=site["A"].id))
        session.commit()
    client = signed_in(app, "admin_a")
    url = f"/sessions/{site['session'].id}/staff"
    assert post(client, url, {"role": "internal_supervisor", "user_id": site["sup"].id}).status_code == 302
    refused = post(client, url, {"role": "invigilator", "user_id": site["sup"].id, "room_id": site["room"].id})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "第二十六条" in body and "岗位" in body
    assert count(session, StaffAssignment) == 1


def test_other_institutions_and_unassigned_staff_are_refused(app, session, opened):
    url = f"/sessions/{opened['session'].id}"
    room = f"{url}/rooms/{opened['room'].id}"
    admin_b, inv_b, idle = (signed_in(app, name) for name in ("admin_b", "inv_b", "inv_idle"))
    for client in (admin_b, inv_b):
        assert client.get(url).status_code == 403
        assert opened["session"].title not in client.get("/sessions/").get_data(as_text=True)
    for path in ("/staff", "/candidates", "/tickets", "/candidates/import", "/candidates/template.xlsx"):
        assert admin_b.get(url + path).status_code == 403, path
    for client in (inv_b, idle):
        assert client.get(f"{room}/console").status_code == 403
        assert client.get(f"{room}/roster.json").status_code == 403
        assert post(client, f"{room}/candidates/{opened['candidates'][0].id}/action",
                    {"action": "check_in"}).status_code == 403
        assert post(client, f"{room}/pause", {"reason": "x"}).status_code == 403
        assert post(client, f"{url}/console/close", {"confirm": "1"}).status_code == 403
    refused = idle.get(f"{room}/console")
    assert "未被安排" in refused.get_data(as_text=True)
    assert idle.get(url).status_code == 200       # institution staff may still read the session
    regulator = signed_in(app, "regulator")
    assert opened["session"].title in regulator.get("/sessions/").get_data(as_text=True)
    assert regulator.get(url).status_code == 200 and regulator.get(f"{url}/candidates").status_code == 403
    assert count(session, Candidate, Candidate.checked_in_at.is_not(None)) == 0
    assert count(session, Incident) == 0


# --- candidates -----------------------------------------------------------------------------

def test_candidates_are_registered_one_by_one_with_masked_ids(app, session, site):
    client = signed_in(app, "admin_a")
    url = f"/sessions/{site['session'].id}/candidates"
    page = client.get(url).get_data(as_text=True)
    assert site["candidates"][0].ticket_number in page and site["candidates"][0].id_masked in page
    assert resident_id(1) not in page
    bad = resident_id(9)[:-1] + ("0" if resident_id(9)[-1] != "0" else "1")
    refused = post(client, url, {"name": "新考生", "id_type": "resident_id", "id_number": bad, "employer": "饭店"})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "证件号码" in body and 'value="新考生"' in body and bad not in body
    assert count(session, Candidate) == 3
    photo = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
    added = post(client, url, {"name": "新考生", "id_type": "resident_id", "id_number": resident_id(9),
                               "gender": "F", "phone": "13800000009", "exam_language": "zh",
                               "photo": (io.BytesIO(photo), "me.png")}, content_type="multipart/form-data")
    assert added.status_code == 302
    candidate = session.scalars(select(Candidate).where(Candidate.name == "新考生")).one()
    assert candidate.seat == 4 and candidate.photo_sha256
    flashed = client.get(url).get_data(as_text=True)
    assert candidate.ticket_number in flashed and resident_id(9) not in flashed
    photo_response = client.get(f"{url}/{candidate.id}/photo")
    assert photo_response.status_code == 200 and photo_response.data == photo
    assert post(client, url, {"name": "重复", "id_type": "resident_id", "id_number": resident_id(9)}).status_code == 409


def _sheet(rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["姓名", "证件类型", "证件号码", "性别", "工作单位", "联系电话", "考试语言"])
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_the_excel_import_reports_bad_rows_stores_nothing_then_imports_the_valid_rows(app, session, site):
    client = signed_in(app, "admin_a")
    url = f"/sessions/{site['session'].id}/candidates/import"
    page = client.get(url).get_data(as_text=True)
    assert "template.xlsx" in page and "填写说明" in page
    template = client.get(f"/sessions/{site['session'].id}/candidates/template.xlsx")
    assert template.status_code == 200 and template.data[:2] == b"PK"
    data = _sheet([["甲", "居民身份证", resident_id(20), "男", "", "", "中文"],
                   ["乙", "驾照", "X123456", "女", "", "", "中文"],
                   ["丙", "居民身份证", resident_id(1), "", "", "", "中文"]])
    before = (count(session, Candidate), count(session, AuditEvent))
    response = post(client, url, {"file": (io.BytesIO(data), "考生.xlsx")}, content_type="multipart/form-data")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert '<td class="num">3</td><td>证件类型</td><td>“驾照”不是可选值（居民身份证、护照、其他）' in body
    assert '<td class="num">4</td><td>证件号码</td><td>该证件号码已在本场次登记' in body
    assert "尚未导入任何考生" in body and resident_id(1) not in body
    assert (count(session, Candidate), count(session, AuditEvent)) == before
    response = post(client, url, {"file": (io.BytesIO(data), "考生.xlsx"), "valid_rows_only": "1"},
                    content_type="multipart/form-data")
    assert response.status_code == 200 and "已导入" in response.get_data(as_text=True)
    assert count(session, Candidate) == 4
    assert session.scalars(select(Candidate).where(Candidate.name == "甲")).one().seat == 4
    not_xlsx = post(client, url, {"file": (io.BytesIO(b"hello"), "a.xlsx")}, content_type="multipart/form-data")
    assert not_xlsx.status_code == 422 and "文件" in not_xlsx.get_data(as_text=True)


def test_admission_tickets_are_printable_and_show_only_masked_ids(app, session, site):
    client = signed_in(app, "admin_a")
    url = f"/sessions/{site['session'].id}/tickets"
    page = client.get(url).get_data(as_text=True)
    for candidate in site["candidates"]:
        assert candidate.ticket_number in page and candidate.id_masked in page and candidate.name in page
    for i in (1, 2, 3):
        assert resident_id(i) not in page
    assert page.count('class="ticket"') == 3 and "@media print" in page and "window.print()" in page
    assert "准考证" in page and "十二月中式烹调师四级理论" in page and "第一考场" in page and "座位号" in page
    assert "2026-12-05" in page and "08:30–09:30" in page and "/exam/sign-in" in page and "照片" in page
    one = client.get(url, query_string={"candidate_id": site["candidates"][1].id}).get_data(as_text=True)
    assert one.count('class="ticket"') == 1 and site["candidates"][1].ticket_number in one
    with app.app_context():
        other = ExamSession(institution_id=site["A"].id, blueprint_id=site["session"].blueprint_id, title="别的场次",
                            exam_date=EXAM_DAY.date(), window_start=EXAM_DAY, window_end=EXAM_DAY,
                            duration_minutes=90, languages=["zh"], status="planned", created_by=site["admin"].id,
                            created_at=EXAM_DAY)
        session.add(other)
        session.commit()
        stranger = register_candidate(session, other, name="别场考生", id_type="passport", id_number="E7777777",
                                      actor=site["admin"])
        session.commit()
    refused = client.get(url, query_string={"candidate_id": stranger.id})
    assert refused.status_code == 404 and "别场考生" not in refused.get_data(as_text=True)
    assert client.get(f"/sessions/{site['session'].id}/candidates/{stranger.id}/photo").status_code == 404


# --- the console ----------------------------------------------------------------------------

def _console_post(client, opened, candidate_index, data):
    c = opened["candidates"][candidate_index]
    return post(client, f"/sessions/{opened['session'].id}/rooms/{opened['room'].id}/candidates/{c.id}/action", data)


def test_the_console_shows_live_status_and_every_action_is_audited_and_reflected(app, session, opened):
    inv = signed_in(app, "inv1")
    base = f"/sessions/{opened['session'].id}/rooms/{opened['room'].id}"
    with clock.frozen(EXAM_DAY) as frozen:
        assert inv.get(f"/sessions/{opened['session'].id}/console").headers["Location"].endswith(f"{base}/console")
        page = inv.get(f"{base}/console").get_data(as_text=True)
        assert "监考台" in page and "未签到" in page and opened["candidates"][0].id_masked in page
        assert resident_id(1) not in page and "roster.json" in page
        assert _console_post(inv, opened, 0, {"action": "check_in"}).status_code == 302
        _start(app, session, opened, 1)
        rows = {r["ticket_number"]: r for r in inv.get(f"{base}/roster.json").get_json()["rows"]}
        first, second = (opened["candidates"][i].ticket_number for i in (0, 1))
        assert rows[first]["status"] == "checked_in" and rows[first]["status_name"] == "已签到"
        assert rows[second]["status"] == "in_progress" and rows[second]["remaining_seconds"] == 90 * 60
        assert rows[second]["answered"] == 0 and rows[second]["items"] == 90
        assert resident_id(2) not in inv.get(f"{base}/roster.json").get_data(as_text=True)
        assert _console_post(inv, opened, 1, {"action": "pause", "reason": "身体不适"}).status_code == 302
        frozen.advance(timedelta(minutes=10))
        assert _console_post(inv, opened, 1, {"action": "resume"}).status_code == 302
        refused = _console_post(inv, opened, 1, {"action": "extra_time", "minutes": "abc", "reason": "机器故障"})
        assert refused.status_code == 422 and "延长" in refused.get_data(as_text=True)
        assert _console_post(inv, opened, 1, {"action": "extra_time", "minutes": "5",
                                              "reason": "机器故障"}).status_code == 302
        row = {r["ticket_number"]: r for r in inv.get(f"{base}/roster.json").get_json()["rows"]}[second]
        assert row["remaining_seconds"] == 95 * 60 and row["extra_seconds"] == 300
        unconfirmed = _console_post(inv, opened, 1, {"action": "terminate", "reason": "夹带"})
        assert unconfirmed.status_code == 422 and "确认" in unconfirmed.get_data(as_text=True)
        assert _console_post(inv, opened, 1, {"action": "terminate", "reason": "夹带",
                                              "confirm": "1"}).status_code == 302
        assert post(inv, f"{base}/notes", {"text": "空调噪音较大"}).status_code == 302
        page = inv.get(f"{base}/console").get_data(as_text=True)
        assert "已终止" in page and "夹带" in page and "空调噪音较大" in page and "机器故障" in page
    actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.actor == "inv1")))
    assert {"candidate.check_in", "attempt.pause", "attempt.resume", "attempt.extra_time", "attempt.terminate",
            "session.note"} <= set(actions)
    assert {i.kind for i in session.scalars(select(Incident))} == {
        "check_in", "pause", "resume", "extra_time", "terminate", "note"}


def test_pausing_the_room_and_ending_the_session_from_the_console(app, session, opened):
    inv = signed_in(app, "inv2")
    base = f"/sessions/{opened['session'].id}/rooms/{opened['room'].id}"
    with clock.frozen(EXAM_DAY) as frozen:
        for i in (0, 1):
            _start(app, session, opened, i)
        assert post(inv, f"{base}/pause", {"reason": "停电"}).status_code == 302
        statuses = [r["status"] for r in inv.get(f"{base}/roster.json").get_json()["rows"]]
        assert statuses == ["paused", "paused", "not_signed_in"]
        frozen.advance(timedelta(minutes=15))
        assert post(inv, f"{base}/resume", {"reason": "来电"}).status_code == 302
        rows = inv.get(f"{base}/roster.json").get_json()["rows"]
        assert [r["remaining_seconds"] for r in rows[:2]] == [90 * 60, 90 * 60]
        assert post(inv, f"/sessions/{opened['session'].id}/console/close",
                    {"room_id": opened["room"].id}).status_code == 302  # without the confirmation: not ended
        assert fresh(session, ExamSession, opened["session"].id).status == "open"
        assert post(inv, f"/sessions/{opened['session'].id}/console/close",
                    {"room_id": opened["room"].id, "confirm": "1"}).status_code == 302
    session.expire_all()
    assert fresh(session, ExamSession, opened["session"].id).status == "closed"
    page = inv.get(f"/sessions/{opened['session'].id}").get_data(as_text=True)
    assert "已结束" in page
    actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.actor == "inv2")))
    assert {"session.pause_room", "session.resume_room", "session.close"} <= actions


def test_home_pages_link_the_sessions(app, site):
    for name, expected in (("admin_a", "认定场次"), ("inv1", "监考")):
        page = signed_in(app, name).get("/").get_data(as_text=True)
        assert expected in page and "/sessions/" in page


# --- the JSON API ---------------------------------------------------------------------------

def test_the_api_plans_registers_imports_and_runs_the_console(app, session, opened):
    token = csrf_token_from(signed_in(app, "admin_a").get("/login").get_data(as_text=True))
    admin = signed_in(app, "admin_a")
    headers = {"X-CSRFToken": csrf_token_from(admin.get("/login").get_data(as_text=True))}
    assert token
    sid = opened["session"].id
    listed = admin.get("/api/v1/sessions").get_json()
    assert [s["id"] for s in listed] == [sid]
    detail = admin.get(f"/api/v1/sessions/{sid}").get_json()
    assert detail["status"] == "open" and detail["rooms"][0]["name"] == "第一考场"
    created = admin.post(f"/api/v1/sessions/{sid}/candidates", headers=headers, json={
        "name": "接口考生", "id_type": "resident_id", "id_number": resident_id(40)})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["id_masked"].endswith(resident_id(40)[-4:]) and resident_id(40) not in created.get_data(as_text=True)
    bad = admin.post(f"/api/v1/sessions/{sid}/candidates", headers=headers, json={
        "name": "接口考生", "id_type": "resident_id", "id_number": "123"})
    assert bad.status_code == 422 and bad.get_json()["field"] == "id_number"
    sheet = _sheet([["甲", "护照", "E1111111", "", "", "", ""], ["乙", "护照", "E1111111", "", "", "", ""]])
    report = admin.post(f"/api/v1/sessions/{sid}/candidates/import", headers=headers,
                        data={"file": (io.BytesIO(sheet), "a.xlsx")}, content_type="multipart/form-data")
    assert report.status_code == 422 and report.get_json()["errors"][0]["row"] == 3
    assert report.get_json()["imported"] == 0
    inv = signed_in(app, "inv1")
    inv_headers = {"X-CSRFToken": csrf_token_from(inv.get("/login").get_data(as_text=True))}
    with clock.frozen(EXAM_DAY):
        acted = inv.post(f"/api/v1/sessions/{sid}/candidates/{opened['candidates'][0].id}/actions",
                         headers=inv_headers, json={"action": "check_in"})
        assert acted.status_code == 200 and acted.get_json()["status"] == "checked_in"
        roster = inv.get(f"/api/v1/sessions/{sid}/rooms/{opened['room'].id}/roster").get_json()
        assert [r["status"] for r in roster][:2] == ["checked_in", "not_signed_in"]
        note = inv.post(f"/api/v1/sessions/{sid}/incidents", headers=inv_headers, json={"text": "开考"})
        assert note.status_code == 201 and note.get_json()["recorded_by"] == "inv1"
        assert inv.post(f"/api/v1/sessions/{sid}/rooms/{opened['room'].id}/pause", headers=inv_headers,
                        json={"reason": "停电"}).get_json() == {"count": 0}
    idle = signed_in(app, "inv_idle")
    idle_headers = {"X-CSRFToken": csrf_token_from(idle.get("/login").get_data(as_text=True))}
    refused = idle.post(f"/api/v1/sessions/{sid}/candidates/{opened['candidates'][1].id}/actions",
                        headers=idle_headers, json={"action": "check_in"})
    assert refused.status_code == 403 and refused.get_json()["code"] == "not_assigned"
    admin_b = signed_in(app, "admin_b")
    assert admin_b.get(f"/api/v1/sessions/{sid}").status_code == 403
    assert admin_b.get("/api/v1/sessions").get_json() == []


def test_the_demo_opens_a_session_whose_printed_tickets_sign_in(app, client):
    """`examsvc demo` prints tickets and ID numbers; each signs in to the exam room at once."""
    import re

    from examsvc.demo import load_demo

    with app.app_context():
        load_demo(app)
        notes = app.extensions["examsvc.demo_notes"]
    tickets = [re.search(r"ticket (\d{18})  ID number (\w{18})", line) for line in notes]
    tickets = [m.groups() for m in tickets if m]
    assert len(tickets) == 3 and any("/exam/sign-in" in line for line in notes)
    ticket, id_number = tickets[0]
    token = csrf_token_from(client.get("/exam/sign-in").get_data(as_text=True))
    response = client.post("/exam/sign-in", data={"ticket_number": ticket, "id_number": id_number, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/exam/")
    state = client.get("/exam/api/state").get_json()
    assert state["status"] == "in_progress" and len(state["items"]) == 90 and "示例" in state["items"][0]["stem"]
