"""A skill session (车工 rubric, institution A) with candidates, five examiners with cards and a chief,
built the way a user builds it: blueprint stored, skill paper assembled and locked, session planned
with that paper, staffed, candidates registered, opened."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from examsvc import clock
from examsvc.bank.service import store_blueprint
from examsvc.grading.examiners import designate_chief, register_card
from examsvc.papers.service import lock_paper, run_assembly, start_assembly
from examsvc.sessions.service import assign_staff, open_session, plan_session, register_candidate
from itembank.blueprint import load_blueprint, parse_blueprint
from tests.conftest import make_user
from tests.delivery.conftest import resident_id, site_filed

SKILL = Path(__file__).resolve().parents[2] / "blueprints" / "6-18-01-01_L4_skill.toml"
EXAM_DAY = datetime(2026, 12, 5, 1, 0, tzinfo=timezone.utc)  # 09:00 Beijing time
#: Points of the tasks these tests use (the shipped blueprint's first task of each module): T01 60, T02 30, T03 10.
TASK_POINTS = {"T01": 60, "T02": 30, "T03": 10}


def skill_data(level: str = "4", component: str = "skill") -> dict:
    """The shipped 车工 skill blueprint moved to 中式烹调师 (filed by institution A) at ``level``,
    narrowed to tasks T01-T03 without modules, so every paper carries exactly those three tasks."""
    data = load_blueprint(SKILL).to_dict()
    data.update(occupation_code="4-03-02-01", occupation_name="中式烹调师", level=level, component=component)
    paper = data["paper"]
    paper.pop("modules", None)
    paper["skill_tasks"] = [{key: value for key, value in task.items() if key != "module"}
                            for task in paper["skill_tasks"] if task["code"] in TASK_POINTS]
    return data


def skill_blueprint(session, level: str = "4", component: str = "skill"):
    """Stored as a user uploads a blueprint (store_blueprint validates it as the upload does)."""
    version, _ = store_blueprint(session, parse_blueprint(skill_data(level, component), "skill.toml"), "skill.toml",
                                 "test")
    return version


def skill_paper(session, institution, admin, version, *, seed: int = 1):
    """A skill (or review) paper drawn by the assembly job and locked."""
    run = start_assembly(session, institution=institution, blueprint_version=version, forms=1,
                         overrides={"seed": seed}, actor=admin)
    run_assembly(session, run)
    assert run.status == "done", run.outcome
    return lock_paper(session, run.papers[0], admin)


def skill_session(session, institution, admin, version, *, exam_day: datetime = EXAM_DAY, title: str = "操作技能",
                  venues=(("实操车间", 10),), paper=None):
    """A planned panel session with one locked paper; staff, candidates and opening are the caller's."""
    paper = paper or skill_paper(session, institution, admin, version, seed=exam_day.toordinal() % 1000)
    return plan_session(session, institution=institution, blueprint=version.blueprint, title=title,
                        exam_date=exam_day.date(), window_start=exam_day - timedelta(minutes=30),
                        window_end=exam_day + timedelta(minutes=30), rooms=list(venues), paper_ids=[paper.id],
                        league_city=site_filed(session, institution), actor=admin)


def open_now(session, exam_session, admin, exam_day: datetime = EXAM_DAY):
    with clock.frozen(exam_day - timedelta(hours=1)):
        return open_session(session, exam_session, admin)


def card(session, user, admin, institution, *, grade="examiner", until=date(2028, 12, 31), employer="", number=None):
    return register_card(session, holder=user, card_number=number or f"KP-{user.username.upper()}", grade=grade,
                         valid_from=date(2024, 1, 1), valid_until=until, institution_id=institution.id,
                         employer=employer, actor=admin)


def rubric_scores(task, total: float) -> dict[str, float]:
    """Criterion points that add up to ``total``, filling criteria in rubric order."""
    left, scores = total, {}
    for criterion in task.rubric:
        scores[criterion.code] = min(criterion.points, left)
        left = round(left - scores[criterion.code], 2)
    assert left == 0, "total above the task's points"
    return scores


@pytest.fixture
def app_context(app):
    with app.app_context():
        yield


@pytest.fixture
def panel(app, session, world):
    """Institution A's open skill session: 3 candidates, examiners e1-e4 and chief assigned, cards for all."""
    with app.app_context():
        a = world["A"]
        admin = make_user(session, "admin_a", "institution_admin", a.id)
        version = skill_blueprint(session)
        exam_session = skill_session(session, a, admin, version)
        examiners = [make_user(session, f"exam{i}", "examiner", a.id) for i in range(1, 5)]
        chief = make_user(session, "chief", "examiner", a.id)
        for user in examiners:
            card(session, user, admin, a)
        card(session, chief, admin, a, grade="senior_examiner")
        for user in [*examiners, chief]:
            assign_staff(session, exam_session, user, "examiner", None, admin)
        designate_chief(session, exam_session, chief, admin)
        candidates = [register_candidate(session, exam_session, name=f"考生{i}", id_type="resident_id",
                                         id_number=resident_id(i), employer=f"第{i}机械厂", actor=admin)
                      for i in range(1, 4)]
        open_now(session, exam_session, admin)
        session.commit()
    return {**world, "admin": admin, "version": version, "session": exam_session, "examiners": examiners,
            "chief": chief, "candidates": candidates}
