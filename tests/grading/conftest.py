"""A skill session (车工 rubric, institution A) with candidates, five examiners with cards and a chief."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from examsvc import clock
from examsvc.bank.service import store_blueprint
from examsvc.grading.examiners import designate_chief, register_card
from examsvc.sessions.models import ExamSession
from examsvc.sessions.service import assign_staff, register_candidate
from itembank.blueprint import load_blueprint, parse_blueprint
from tests.conftest import make_user
from tests.delivery.conftest import resident_id

SKILL = Path(__file__).resolve().parents[2] / "blueprints" / "6-18-01-01_L4_skill.toml"
EXAM_DAY = datetime(2026, 12, 5, 1, 0, tzinfo=timezone.utc)  # 09:00 Beijing time
#: Points of the shipped blueprint's tasks: T01 60, T02 30, T03 10.
TASK_POINTS = {"T01": 60, "T02": 30, "T03": 10}


def skill_blueprint(session, level: str = "4"):
    """The shipped 车工 skill blueprint, moved to 中式烹调师 (filed by institution A) at ``level``."""
    data = load_blueprint(SKILL).to_dict()
    data.update(occupation_code="4-03-02-01", occupation_name="中式烹调师", level=level)
    version, _ = store_blueprint(session, parse_blueprint(data, "skill"), "skill.toml", "test")
    return version


def skill_session(session, institution, admin, version, *, exam_day: datetime = EXAM_DAY, status: str = "open",
                  title: str = "操作技能"):
    row = ExamSession(institution_id=institution.id, blueprint_id=version.blueprint_id, title=title,
                      exam_date=exam_day.date(), window_start=exam_day - timedelta(minutes=30),
                      window_end=exam_day + timedelta(minutes=30), duration_minutes=240, languages=["zh"],
                      status=status, created_by=admin.id, created_at=clock.now())
    session.add(row)
    session.flush()
    return row


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
        session.commit()
    return {**world, "admin": admin, "version": version, "session": exam_session, "examiners": examiners,
            "chief": chief, "candidates": candidates}
