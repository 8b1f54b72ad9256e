"""Examiner panels: eligibility rules (each refusal names its rule), blind and final scoring, the
panel size, rubric limits, mean and median, spread resolution, and the component score."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from examsvc import clock
from examsvc.audit.models import AuditEvent
from examsvc.errors import ConfigError, Conflict, Forbidden, ValidationFailed
from examsvc.grading.examiners import check_settings, declare_conflict, eligibility
from examsvc.grading.models import ComponentScore, ExaminerScore, Resolution
from examsvc.grading.panel import mark_absent, panel_tasks, resolve_task, submit_scores, task_states
from examsvc.sessions.service import assign_staff
from tests.conftest import count_rows, make_user
from tests.delivery.conftest import exam  # noqa: F401  (fixture: an open theory session)
from tests.grading.conftest import EXAM_DAY, card, rubric_scores, skill_blueprint, skill_session
from tests.papers.conftest import papers_world  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("app_context")


def _tasks(session, panel):
    return panel_tasks(session, panel["session"])


def _score(session, panel, examiner, candidate, code, total):
    return submit_scores(session, candidate, code, examiner, rubric_scores(_tasks(session, panel)[code], total))


def _score_all(session, panel, candidate, totals_by_task):
    """``totals_by_task``: {task: (total of e1, e2, e3)}."""
    for code, totals in totals_by_task.items():
        for examiner, total in zip(panel["examiners"], totals):
            _score(session, panel, examiner, candidate, code, total)


def _refused(session, panel, user, candidate, rule):
    with pytest.raises(Forbidden) as caught:
        _score(session, panel, user, candidate, "T03", 5)
    assert caught.value.code == f"examiner.{rule}", caught.value.message_en
    assert caught.value.field == "examiner"
    assert count_rows(session, ExaminerScore) == 0
    return caught.value


def test_the_settings_insist_on_an_odd_panel_of_at_least_three():
    base = {"EXAMINERS_PER_TASK": 3, "EXAMINER_AGGREGATE": "mean", "EXAMINER_SPREAD_MAX": 10.0,
            "EXAMINER_ROTATION_MAX_SESSIONS": 12}
    check_settings(base)
    for bad in ({"EXAMINERS_PER_TASK": 4}, {"EXAMINERS_PER_TASK": 1}, {"EXAMINER_AGGREGATE": "mode"},
                {"EXAMINER_SPREAD_MAX": -1.0}, {"EXAMINER_ROTATION_MAX_SESSIONS": 0}):
        with pytest.raises(ConfigError) as caught:
            check_settings({**base, **bad})
        assert next(iter(bad)) in str(caught.value)


def test_no_card_expired_card_and_not_assigned_are_refused_by_name(session, panel):
    a, admin, candidate = panel["A"], panel["admin"], panel["candidates"][0]
    stranger = make_user(session, "nocard", "examiner", a.id)
    assign_staff(session, panel["session"], stranger, "examiner", None, admin)
    error = _refused(session, panel, stranger, candidate, "no_card")
    assert "card" in error.message_en and "证卡" in error.message

    expired = make_user(session, "expired", "examiner", a.id)
    card(session, expired, admin, a, until=date(2026, 6, 30))
    assign_staff(session, panel["session"], expired, "examiner", None, admin)
    assert "expired" in _refused(session, panel, expired, candidate, "card_expired").message_en

    unassigned = make_user(session, "unassigned", "examiner", a.id)
    card(session, unassigned, admin, a)
    assert "not assigned" in _refused(session, panel, unassigned, candidate, "not_assigned").message_en


def technician_institution(session):
    """A league/city institution filed for 中式烹调师 二级/技师 (institution A is filed for levels 5-4)."""
    from examsvc.institutions.service import register_institution

    return register_institution(session, code="S000015000003", name="丙评价机构", kind="social_organisation",
                                tier="league_city", league_city="呼和浩特市", published_on=date(2025, 4, 15),
                                scope=[("4-03-02-01", "2")])


def test_an_examiner_card_does_not_cover_levels_2_and_1(session, panel):
    from examsvc.sessions.service import register_candidate
    from tests.delivery.conftest import resident_id

    c = technician_institution(session)
    admin = make_user(session, "admin_c", "institution_admin", c.id)
    technician = skill_session(session, c, admin, skill_blueprint(session, level="2"), title="技师")
    candidate = register_candidate(session, technician, name="技师考生", id_type="resident_id",
                                   id_number=resident_id(9), actor=admin)
    examiner, senior = make_user(session, "examc", "examiner", c.id), make_user(session, "seniorc", "examiner", c.id)
    card(session, examiner, admin, c)
    card(session, senior, admin, c, grade="senior_examiner")
    for user in (examiner, senior):
        assign_staff(session, technician, user, "examiner", None, admin)
    ordinary = eligibility(session, technician, candidate, examiner)
    assert ordinary.code == "grade" and "senior examiner" in ordinary.reason_en
    assert eligibility(session, technician, candidate, senior).allowed  # 高级考评员 covers every level


def test_declared_conflicts_and_the_same_employer_are_recusals(session, panel):
    e1, e2 = panel["examiners"][:2]
    first, second = panel["candidates"][:2]
    declare_conflict(session, examiner=e1, candidate=first, kind="relative", note="表兄弟", actor=e1)
    assert "declared a conflict" in _refused(session, panel, e1, first, "conflict").message_en
    with pytest.raises(Conflict):
        declare_conflict(session, examiner=e1, candidate=first, kind="relative", note="", actor=e1)
    with pytest.raises(ValidationFailed) as caught:
        declare_conflict(session, examiner=e1, candidate=second, kind="cousin", note="", actor=e1)
    assert caught.value.field == "kind"
    # candidate 2 works at 第2机械厂; e2's card declares the same employer, written differently
    e2_card = card(session, e2, panel["admin"], panel["A"], employer=" 第２机械厂 ", number="KP-E2-NEW")
    assert e2_card.employer == "第２机械厂"
    assert "same employer" in _refused(session, panel, e2, second, "same_employer").message_en
    assert eligibility(session, panel["session"], first, e2).allowed  # another candidate is fine


def test_rotation_limits_sessions_per_institution_and_year(app, session, panel):
    from examsvc.sessions.service import register_candidate
    from tests.delivery.conftest import resident_id

    a, admin, e1 = panel["A"], panel["admin"], panel["examiners"][0]
    earlier = skill_session(session, a, admin, panel["version"], exam_day=EXAM_DAY - timedelta(days=30),
                            title="更早场次")
    next_year = skill_session(session, a, admin, panel["version"], exam_day=EXAM_DAY + timedelta(days=60),
                              title="次年场次")
    for row in (earlier, next_year):
        assign_staff(session, row, e1, "examiner", None, admin)
    app.config["EXAMINER_ROTATION_MAX_SESSIONS"] = 1
    error = _refused(session, panel, e1, panel["candidates"][0], "rotation")
    assert "rotation" in error.message_en and "轮换" in error.message
    # the earlier session is the first of the year; the next year counts afresh
    for row, serial in ((earlier, 7), (next_year, 8)):
        other = register_candidate(session, row, name="他场考生", id_type="resident_id", id_number=resident_id(serial),
                                   actor=admin)
        assert eligibility(session, row, other, e1).allowed
    app.config["EXAMINER_ROTATION_MAX_SESSIONS"] = 2
    assert eligibility(session, panel["session"], panel["candidates"][0], e1).allowed


def test_scoring_is_blind_until_the_panel_is_complete_and_final_once_submitted(session, panel):
    e1, e2, e3 = panel["examiners"][:3]
    candidate = panel["candidates"][0]
    _score(session, panel, e1, candidate, "T03", 8)
    seen_by_e2 = next(s for s in task_states(session, candidate, e2) if s.task.code == "T03")
    assert seen_by_e2.count == 1 and seen_by_e2.scores == [] and seen_by_e2.mine is None
    seen_by_e1 = next(s for s in task_states(session, candidate, e1) if s.task.code == "T03")
    assert [r.examiner_id for r in seen_by_e1.scores] == [e1.id] and seen_by_e1.spread is None
    with pytest.raises(Conflict) as caught:
        _score(session, panel, e1, candidate, "T03", 9)
    assert caught.value.code == "examiner.already_scored"
    _score(session, panel, e2, candidate, "T03", 7)
    assert next(s for s in task_states(session, candidate, e2) if s.task.code == "T03").scores[0].examiner_id == e2.id
    _score(session, panel, e3, candidate, "T03", 7.5)
    done = next(s for s in task_states(session, candidate, e2) if s.task.code == "T03")
    assert [r.total for r in done.scores] == [8, 7, 7.5] and done.spread == 1 and done.value == 7.5


def test_a_fourth_examiner_on_a_three_examiner_task_is_refused(session, panel):
    candidate = panel["candidates"][0]
    for examiner in panel["examiners"][:3]:
        _score(session, panel, examiner, candidate, "T02", 25)
    with pytest.raises(Conflict) as caught:
        _score(session, panel, panel["examiners"][3], candidate, "T02", 25)
    assert caught.value.code == "examiner.panel_full" and "3 examiners" in caught.value.message_en
    assert count_rows(session, ExaminerScore) == 3
    # the fourth may still score another task where a place is free
    _score(session, panel, panel["examiners"][3], candidate, "T03", 5)


@pytest.mark.parametrize("scores, field, words", [
    ({"T03-R01": 4, "T03-R02": 3, "T03-R03": 3, "T03-R09": 1}, "scores.T03-R09", "no rubric criterion"),
    ({"T03-R01": 4, "T03-R02": 3}, "scores.T03-R03", "not scored"),
    ({"T03-R01": 4.5, "T03-R02": 3, "T03-R03": 3}, "scores.T03-R01", "between 0 and 4"),
    ({"T03-R01": -1, "T03-R02": 3, "T03-R03": 3}, "scores.T03-R01", "deductions stop at 0"),
    ({"T03-R01": "four", "T03-R02": 3, "T03-R03": 3}, "scores.T03-R01", "enter a number"),
    ({"T03-R01": 1.125, "T03-R02": 3, "T03-R03": 3}, "scores.T03-R01", "two decimals"),
    ({"T03-R01": True, "T03-R02": 3, "T03-R03": 3}, "scores.T03-R01", "enter a number"),
])
def test_scores_outside_the_rubric_are_refused_and_nothing_is_stored(session, panel, scores, field, words):
    before = count_rows(session, AuditEvent)
    with pytest.raises(ValidationFailed) as caught:
        submit_scores(session, panel["candidates"][0], "T03", panel["examiners"][0], scores)
    assert caught.value.field == field and words in caught.value.message_en
    assert count_rows(session, ExaminerScore) == 0 and count_rows(session, AuditEvent) == before


def test_an_unknown_task_is_not_found(session, panel):
    from examsvc.errors import NotFound

    with pytest.raises(NotFound) as caught:
        submit_scores(session, panel["candidates"][0], "T09", panel["examiners"][0], {})
    assert caught.value.field == "task_code"


@pytest.mark.parametrize("aggregate, expected", [("mean", 52.0), ("median", 51.0)])
def test_a_task_is_the_mean_or_the_median_of_the_examiners_totals(app, session, panel, aggregate, expected):
    app.config["EXAMINER_AGGREGATE"] = aggregate
    candidate = panel["candidates"][0]
    _score_all(session, panel, candidate, {"T01": (50, 51, 55), "T02": (20, 20, 20), "T03": (6, 6, 6)})
    state = next(s for s in task_states(session, candidate) if s.task.code == "T01")
    assert state.spread == 5 and not state.too_wide and state.value == expected
    score = session.scalar(select(ComponentScore).where(ComponentScore.candidate_id == candidate.id))
    assert score.score == expected + 26 and score.details["aggregate"] == aggregate
    assert score.details["tasks"]["T01"]["totals"] == [50, 51, 55]


def test_a_wide_spread_waits_for_the_chief_examiner_who_records_a_reason(session, panel):
    candidate = panel["candidates"][0]
    # T01 is worth 60: a spread above 10 per 100 points, i.e. above 6 points, needs a resolution
    _score_all(session, panel, candidate, {"T01": (40, 50, 55), "T02": (20, 21, 22), "T03": (6, 6, 6)})
    state = next(s for s in task_states(session, candidate) if s.task.code == "T01")
    assert state.spread == 15 and state.needs_resolution and state.value is None
    assert session.scalar(select(ComponentScore)) is None  # not settled yet
    with pytest.raises(Forbidden) as caught:
        resolve_task(session, candidate, "T01", panel["examiners"][0], 50, "我看是50")
    assert caught.value.code == "examiner.not_chief"
    with pytest.raises(ValidationFailed) as caught:
        resolve_task(session, candidate, "T01", panel["chief"], 50, "  ")
    assert caught.value.field == "reason"
    with pytest.raises(ValidationFailed) as caught:
        resolve_task(session, candidate, "T01", panel["chief"], 61, "复测")
    assert caught.value.field == "resolved_total"
    with pytest.raises(Conflict):
        resolve_task(session, candidate, "T02", panel["chief"], 21, "无需裁定")  # spread 2 of 30: fine
    resolution = resolve_task(session, candidate, "T01", panel["chief"], 48.5, "复测偏心距超差0.03，按评分标准扣5分")
    assert (resolution.spread, resolution.resolved_total, resolution.chief_id) == (15, 48.5, panel["chief"].id)
    with pytest.raises(Conflict):
        resolve_task(session, candidate, "T01", panel["chief"], 50, "再裁定")
    score = session.scalar(select(ComponentScore).where(ComponentScore.candidate_id == candidate.id))
    assert score.score == 48.5 + 21 + 6 and score.details["tasks"]["T01"]["resolution"] == resolution.id
    assert {"grading.resolve", "grading.examiner_score"} <= set(session.scalars(select(AuditEvent.action)))
    assert count_rows(session, Resolution) == 1


def test_the_component_score_is_out_of_100_and_passes_at_60(session, panel):
    first, second, third = panel["candidates"]
    _score_all(session, panel, first, {"T01": (36, 36, 36), "T02": (18, 18, 18), "T03": (6, 6, 6)})
    _score_all(session, panel, second, {"T01": (36, 35.5, 36), "T02": (18, 18, 18), "T03": (6, 6, 5.5)})
    scores = {s.candidate_id: s for s in session.scalars(select(ComponentScore))}
    assert (scores[first.id].score, scores[first.id].passed) == (60.0, True)
    assert (scores[second.id].score, scores[second.id].passed) == (59.67, False)
    assert scores[first.id].component == "skill" and scores[first.id].method == "examiners"
    absent = mark_absent(session, third, panel["admin"])
    assert (absent.score, absent.passed, absent.method) == (0.0, False, "absent")
    with pytest.raises(Conflict):
        _score(session, panel, panel["examiners"][0], third, "T03", 5)
    with pytest.raises(Conflict):
        mark_absent(session, first, panel["admin"])


def test_a_theory_session_has_no_panel(session, exam):
    with pytest.raises(ValidationFailed) as caught:
        panel_tasks(session, exam["session"])  # planned and opened with its theory papers (tests/delivery)
    assert caught.value.field == "session_id"


def test_nothing_is_scored_before_the_session_opens_or_after_publication(session, panel):
    from examsvc.grading.results import publish_results

    from examsvc.sessions.console import close_session
    from examsvc.sessions.service import register_candidate
    from tests.delivery.conftest import resident_id

    candidate = panel["candidates"][0]
    planned = skill_session(session, panel["A"], panel["admin"], panel["version"], title="未开考场次")
    assign_staff(session, planned, panel["examiners"][0], "examiner", None, panel["admin"])
    waiting = register_candidate(session, planned, name="候考考生", id_type="resident_id", id_number=resident_id(8),
                                 actor=panel["admin"])
    with pytest.raises(Conflict):
        _score(session, panel, panel["examiners"][0], waiting, "T03", 5)
    close_session(session, panel["session"], panel["admin"])
    for c in panel["candidates"]:
        mark_absent(session, c, panel["admin"]) if c is not candidate else None
    with pytest.raises(ValidationFailed) as caught:
        publish_results(session, panel["session"], panel["admin"])  # candidate 1 is not scored yet
    assert caught.value.code == "results.unscored"
    _score_all(session, panel, candidate, {"T01": (40, 40, 40), "T02": (20, 20, 20), "T03": (6, 6, 6)})
    with clock.frozen(EXAM_DAY + timedelta(days=2)):
        publish_results(session, panel["session"], panel["admin"])
    with pytest.raises(Conflict):
        _score(session, panel, panel["examiners"][3], candidate, "T03", 5)
