"""Planning a session: scope, staffing rules, candidates and seats, opening only when ready."""

from datetime import timedelta

import pytest

from examsvc import clock
from examsvc.errors import Conflict, ServiceError, ValidationFailed
from examsvc.papers.service import lock_paper, run_assembly, start_assembly
from examsvc.protect import reveal_id
from examsvc.sessions.service import (
    assign_staff, open_session, plan_session, readiness, register_candidate,
)
from tests.conftest import make_user
from tests.delivery.conftest import EXAM_DAY, SITE, resident_id, site_filed

pytestmark = pytest.mark.usefixtures("app_context")


@pytest.fixture
def planned(session, papers_world):
    w = papers_world
    run = start_assembly(session, institution=w["A"], blueprint_version=w["version"], forms=1,
                         overrides={"seed": 2, "time_limit": 30}, actor=w["admin"])
    run_assembly(session, run)
    paper = lock_paper(session, run.papers[0], w["admin"])
    exam_session = plan_session(session, institution=w["A"], blueprint=w["version"].blueprint, title="场次",
                                exam_date=EXAM_DAY.date(), window_start=EXAM_DAY, window_end=EXAM_DAY + timedelta(hours=1),
                                rooms=[("一号", 20), ("二号", 20)], paper_ids=[paper.id],
                                league_city=site_filed(session, w["A"]), actor=w["admin"])
    return {**w, "session": exam_session, "paper": paper}


def _plan(session, w, **changes):
    args = dict(institution=w["A"], blueprint=w["version"].blueprint, title="场次", exam_date=EXAM_DAY.date(),
                window_start=EXAM_DAY, window_end=EXAM_DAY + timedelta(hours=1), rooms=[("一号", 20)],
                paper_ids=[w["paper"].id], league_city=SITE, actor=w["admin"])
    args.update(changes)
    return plan_session(session, **args)


def test_planning_is_refused_outside_the_filed_scope_and_for_bad_input(session, planned):
    with pytest.raises(ServiceError) as caught:
        _plan(session, planned, institution=planned["B"])
    assert caught.value.code == "can_certify.out_of_scope"
    for changes, field in [({"duration_minutes": 60}, "duration_minutes"), ({"rooms": []}, "rooms"),
                           ({"window_end": EXAM_DAY - timedelta(hours=1)}, "window_end"),
                           ({"languages": ["mn"]}, "languages"), ({"paper_ids": []}, "paper_ids"),
                           ({"languages": ["zh", "mn"]}, "languages")]:  # the bank has no Mongolian text
        with pytest.raises(ValidationFailed) as caught:
            _plan(session, planned, **changes)
        assert caught.value.field == field, changes


def test_a_session_opens_only_when_staffing_rules_hold(app, session, planned):
    exam_session = planned["session"]
    for i in range(16):
        register_candidate(session, exam_session, name=f"考生{i}", id_type="resident_id", id_number=resident_id(i + 1),
                           actor=planned["admin"])
    codes = {p.code for p in readiness(session, exam_session)}
    assert codes == {"invigilators"}  # both rooms lack invigilators
    room1, room2 = exam_session.rooms
    users = [make_user(session, f"inv{i}", "invigilator", planned["A"].id) for i in range(4)]
    for user, room in zip(users, (room1, room1, room2, room2)):
        assign_staff(session, exam_session, user, "invigilator", room.id, planned["admin"])
    # room 1 holds 16 candidates (20 seats): 16 / 15 needs 2, and 2 per room is the minimum anyway
    assert readiness(session, exam_session) == []
    app.config["CANDIDATES_PER_INVIGILATOR_MAX"] = 5
    problems = readiness(session, exam_session)
    assert [p.code for p in problems] == ["invigilators"] and "需要至少4名" in problems[0].message
    with pytest.raises(ValidationFailed) as caught:
        open_session(session, exam_session, planned["admin"])
    assert caught.value.code == "session.not_ready.invigilators"
    app.config["CANDIDATES_PER_INVIGILATOR_MAX"] = 15
    open_session(session, exam_session, planned["admin"])
    assert exam_session.status == "open" and planned["paper"].status == "used"


def test_internal_supervisor_never_also_invigilates_art_26(session, planned):
    exam_session = planned["session"]
    both = make_user(session, "both", "invigilator", planned["A"].id)
    from examsvc.accounts.models import RoleGrant

    both.grants.append(RoleGrant(role="quality_supervisor", institution_id=planned["A"].id))
    session.flush()
    assign_staff(session, exam_session, both, "internal_supervisor", None, planned["admin"])
    with pytest.raises(ValidationFailed) as caught:
        assign_staff(session, exam_session, both, "invigilator", exam_session.rooms[0].id, planned["admin"])
    assert "第二十六条" in caught.value.message
    outsider = make_user(session, "outsider", "invigilator", planned["B"].id)
    with pytest.raises(ValidationFailed) as caught:
        assign_staff(session, exam_session, outsider, "invigilator", exam_session.rooms[0].id, planned["admin"])
    assert caught.value.field == "user_id"


def test_candidates_get_unique_tickets_seats_and_protected_ids(app, session, planned):
    exam_session = planned["session"]
    first = register_candidate(session, exam_session, name="  张  三 ", id_type="resident_id",
                               id_number=resident_id(1).lower(), phone="13800000000", actor=planned["admin"])
    second = register_candidate(session, exam_session, name="李四", id_type="passport", id_number="E12345678",
                                actor=planned["admin"])
    assert first.name == "张 三" and first.ticket_number != second.ticket_number
    assert (first.room_id, first.seat, second.seat) == (exam_session.rooms[0].id, 1, 2)
    assert first.id_masked == resident_id(1)[:4] + "*" * 10 + resident_id(1)[-4:]
    assert resident_id(1) not in first.id_cipher and reveal_id(first.id_cipher) == resident_id(1)
    with pytest.raises(Conflict) as caught:
        register_candidate(session, exam_session, name="王五", id_type="resident_id", id_number=resident_id(1),
                           actor=planned["admin"])
    assert caught.value.field == "id_number"
    bad = resident_id(2)[:-1] + ("0" if resident_id(2)[-1] != "0" else "1")
    with pytest.raises(ValidationFailed) as caught:
        register_candidate(session, exam_session, name="赵六", id_type="resident_id", id_number=bad,
                           actor=planned["admin"])
    assert caught.value.field == "id_number"
    with pytest.raises(ValidationFailed) as caught:
        register_candidate(session, exam_session, name="赵六", id_type="resident_id", id_number=resident_id(3),
                           exam_language="mn", actor=planned["admin"])
    assert caught.value.field == "exam_language"


def test_assembly_sees_which_items_recent_sessions_used_and_can_leave_them_out(app, session, planned):
    from examsvc.bank.models import ItemVersion
    from examsvc.papers.service import build_pool, item_exposure

    exam_session = planned["session"]
    exam_session.status = "closed"
    session.flush()
    used = {session.get(ItemVersion, i.item_version_id).item_id for i in planned["paper"].items}
    since, rate = item_exposure(session, planned["version"].blueprint_id, list(used) + [10**9])
    assert set(since) == used and set(since.values()) == {1} and set(rate.values()) == {1.0}
    pool, _versions, _enemies = build_pool(session, planned["version"].blueprint_id)
    flagged = {int(i) for i, s in zip(pool.ids, pool.sessions_since_use) if s == 1}
    assert flagged == used
    app.config["ASSEMBLY_EXCLUDE_RECENT_SESSIONS"] = 1
    run = start_assembly(session, institution=planned["A"], blueprint_version=planned["version"], forms=1,
                         overrides={"seed": 9, "time_limit": 30}, actor=planned["admin"])
    run_assembly(session, run)
    assert run.status == "done", run.outcome
    fresh = {session.get(ItemVersion, i.item_version_id).item_id for i in run.papers[0].items}
    assert not fresh & used


def test_admins_registering_at_once_get_distinct_tickets_and_seats(app, session, exam, database_url):
    """Two registration desks on PostgreSQL at the same moment: no duplicate ticket or seat, no error."""
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent registration desks are a PostgreSQL matter: SQLite has one writer at a time")
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    exam_session_id, admin_id = exam["session"].id, exam["admin"].id
    barrier = Barrier(2)

    def desk(first: int) -> list[str]:
        from examsvc.accounts.models import User
        from examsvc.sessions.models import ExamSession

        with app.app_context():
            own = app.extensions["examsvc.sessionmaker"]()
            try:
                tickets = []
                barrier.wait()
                for number in range(first, first + 10):
                    candidate = register_candidate(own, own.get(ExamSession, exam_session_id), name=f"考生{number}",
                                                   id_type="resident_id", id_number=resident_id(number),
                                                   actor=own.get(User, admin_id))
                    tickets.append((candidate.ticket_number, candidate.seat))
                    own.commit()
                return tickets
            finally:
                own.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = [t for batch in pool.map(desk, (100, 200)) for t in batch]
    assert len({ticket for ticket, _seat in results}) == 20
    assert len({seat for _ticket, seat in results}) == 20
