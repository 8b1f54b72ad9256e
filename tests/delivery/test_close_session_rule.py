"""Who ends the whole session (结束): an invigilator acts in their own room, so ending every room's
exams belongs to the institution's admin or to an invigilator of every room (issue 13)."""

from datetime import timedelta

import pytest

from examsvc import clock
from examsvc.delivery.service import sign_in, start_or_resume
from examsvc.errors import Forbidden
from examsvc.papers.service import lock_paper, run_assembly, start_assembly
from examsvc.sessions.console import act, close_session
from examsvc.sessions.service import (
    assign_staff, may_close_session, open_session, plan_session, register_candidate,
)
from tests.conftest import make_user
from tests.delivery.conftest import EXAM_DAY, resident_id, site_filed
from tests.papers.conftest import papers_world  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("app_context")


def two_rooms(session, w):
    """An open session of institution A with two rooms, two invigilators in each (the first of each
    returned), and two candidates."""
    run = start_assembly(session, institution=w["A"], blueprint_version=w["version"], forms=1,
                         overrides={"seed": 3, "time_limit": 30}, actor=w["admin"])
    run_assembly(session, run)
    papers = [lock_paper(session, p, w["admin"]) for p in run.papers]
    exam_session = plan_session(
        session, institution=w["A"], blueprint=w["version"].blueprint, title="两个考场的理论场次",
        exam_date=EXAM_DAY.date(), window_start=EXAM_DAY - timedelta(minutes=30),
        window_end=EXAM_DAY + timedelta(minutes=30), rooms=[("第一考场", 30), ("第二考场", 30)],
        paper_ids=[p.id for p in papers], league_city=site_filed(session, w["A"]), actor=w["admin"])
    first, second = exam_session.rooms
    staff = {}
    for room_no, room in ((1, first), (2, second)):
        for n in (1, 2):
            staff[room_no, n] = make_user(session, f"room{room_no}_inv{n}", "invigilator", w["A"].id)
            assign_staff(session, exam_session, staff[room_no, n], "invigilator", room.id, w["admin"])
    inv1, inv2 = staff[1, 1], staff[2, 1]
    candidates = [register_candidate(session, exam_session, name=f"考生{i}", id_type="resident_id",
                                     id_number=resident_id(i), actor=w["admin"]) for i in (1, 2)]
    with clock.frozen(EXAM_DAY - timedelta(days=1)):
        open_session(session, exam_session, w["admin"])
    session.commit()
    return exam_session, inv1, inv2, candidates


def test_an_invigilator_of_one_room_cannot_end_the_session_the_admin_can(session, papers_world):
    w = papers_world
    exam_session, inv1, inv2, candidates = two_rooms(session, w)
    with clock.frozen(EXAM_DAY):
        candidate = candidates[0]
        runner = inv1 if candidate.room_id == exam_session.rooms[0].id else inv2
        act(session, exam_session, runner, candidate.id, "check_in")
        sign_in(session, ticket_number=candidate.ticket_number, id_number=resident_id(1))
        attempt = start_or_resume(session, candidate)
        for invigilator in (inv1, inv2):
            assert not may_close_session(invigilator, exam_session)
            with pytest.raises(Forbidden) as refused:
                close_session(session, exam_session, invigilator)
            assert refused.value.code == "close.not_every_room" and refused.value.field == "session"
            assert "every room" in refused.value.message_en and "全部考场" in refused.value.message
        assert exam_session.status == "open" and attempt.status == "in_progress"
        assert may_close_session(w["admin"], exam_session)
        report = close_session(session, exam_session, w["admin"])
    assert exam_session.status == "closed" and attempt.status == "expired" and report.closed_now == 1


def test_an_unassigned_invigilator_is_refused(session, papers_world):
    """(A one-room session's invigilator invigilates every room and ends it: tests/delivery/test_console.py.)"""
    w = papers_world
    exam_session, _, _, _ = two_rooms(session, w)
    outsider = make_user(session, "other_inv", "invigilator", w["A"].id)
    with pytest.raises(Forbidden) as refused:
        close_session(session, exam_session, outsider)
    assert refused.value.code == "not_assigned"
