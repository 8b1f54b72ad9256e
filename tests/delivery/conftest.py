"""An open exam session of institution A: two locked forms, one room, two invigilators, candidates."""

from datetime import datetime, timedelta, timezone

import pytest

from examsvc import clock
from examsvc.papers.service import lock_paper, run_assembly, start_assembly
from examsvc.sessions.service import assign_staff, open_session, plan_session, register_candidate
from itembank.identifiers import resident_id_check_character
from tests.conftest import make_user
from tests.papers.conftest import papers_world  # noqa: F401  (fixture)

EXAM_DAY = datetime(2026, 12, 5, 1, 0, tzinfo=timezone.utc)  # 09:00 Beijing time
SITE = "呼和浩特市"  # where region-level institution A holds its test sessions


def site_filed(session, institution, league_city: str = SITE) -> str:
    """Where ``institution`` may hold a session: a league/city institution's own league/city, else
    ``league_city`` once the region-level ``institution`` has an approved site filing there (seed Art. 12)."""
    from examsvc.institutions.filing import file_site, may_work_in

    if institution.tier == "league_city":
        return institution.league_city
    if not may_work_in(session, institution, league_city):
        file_site(session, institution, league_city, "system")
    return league_city


def resident_id(serial: int) -> str:
    body = f"15010219900101{serial:03d}"
    return body + resident_id_check_character(body)


@pytest.fixture
def exam(app, session, papers_world):
    with app.app_context():
        return _exam(session, papers_world)


def _exam(session, papers_world):
    w = papers_world
    run = start_assembly(session, institution=w["A"], blueprint_version=w["version"], forms=2,
                         overrides={"seed": 1, "time_limit": 30}, actor=w["admin"])
    run_assembly(session, run)
    papers = [lock_paper(session, p, w["admin"]) for p in run.papers]
    exam_session = plan_session(
        session, institution=w["A"], blueprint=w["version"].blueprint, title="2026年12月中式烹调师四级理论",
        exam_date=EXAM_DAY.date(), window_start=EXAM_DAY - timedelta(minutes=30),
        window_end=EXAM_DAY + timedelta(minutes=30), rooms=[("第一考场", 30)], paper_ids=[p.id for p in papers],
        league_city=site_filed(session, w["A"]), actor=w["admin"])
    invigilators = [make_user(session, f"inv{i}", "invigilator", w["A"].id) for i in (1, 2)]
    for user in invigilators:
        assign_staff(session, exam_session, user, "invigilator", exam_session.rooms[0].id, w["admin"])
    candidates = [register_candidate(session, exam_session, name=f"考生{i}", id_type="resident_id",
                                     id_number=resident_id(i), actor=w["admin"]) for i in range(1, 5)]
    with clock.frozen(EXAM_DAY - timedelta(days=1)):
        open_session(session, exam_session, w["admin"])
    session.commit()
    return {**w, "session": exam_session, "papers": papers, "invigilators": invigilators, "candidates": candidates}


@pytest.fixture
def app_context(app):
    """Delivery services read settings and the data key from the app; service tests push a context
    (tests that send requests through ``client`` must not)."""
    with app.app_context():
        yield
