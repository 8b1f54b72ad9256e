"""Panel sessions (操作技能, 综合评审) as the product makes them: one locked paper, examiners enough for
every candidate before opening, no browser exam, check-in and absences at the venue, vetoes that
zero a task, and a 综合评审 session scored by three examiners into its component score."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from examsvc import clock
from examsvc.audit.models import AuditEvent
from examsvc.bank.service import load_blueprint_file
from examsvc.delivery.service import sign_in, start_or_resume
from examsvc.errors import Conflict, Forbidden, ValidationFailed
from examsvc.grading.examiners import declare_conflict
from examsvc.grading.models import ComponentScore, ExaminerScore
from examsvc.grading.panel import panel_tasks, submit_scores, task_states
from examsvc.sessions import console
from examsvc.sessions.models import Incident
from examsvc.sessions.service import (
    assign_staff, notices, open_session, plan_session, readiness, register_candidate,
)
from tests.conftest import count_rows, make_user
from tests.delivery.conftest import resident_id, site_filed
from tests.grading.conftest import (
    EXAM_DAY, card, open_now, rubric_scores, skill_blueprint, skill_paper, skill_session,
)

pytestmark = pytest.mark.usefixtures("app_context")
REVIEW = Path(__file__).resolve().parents[2] / "blueprints" / "6-18-01-01_L2_review.toml"


def _plan(session, institution, admin, version, paper_ids):
    return plan_session(session, institution=institution, blueprint=version.blueprint, title="操作技能",
                        exam_date=EXAM_DAY.date(), window_start=EXAM_DAY - timedelta(minutes=30),
                        window_end=EXAM_DAY + timedelta(minutes=30), rooms=[("实操车间", 8)], paper_ids=paper_ids,
                        league_city=site_filed(session, institution), actor=admin)


def _examiners(session, institution, admin, n, *, grade="examiner", prefix="pe"):
    users = [make_user(session, f"{prefix}{i}", "examiner", institution.id) for i in range(1, n + 1)]
    for user in users:
        card(session, user, admin, institution, grade=grade)
    return users


# --- planning and readiness -------------------------------------------------------------------

def test_a_skill_session_takes_exactly_one_locked_paper_of_its_blueprint(session, world):
    a = world["A"]
    admin = make_user(session, "admin_a", "institution_admin", a.id)
    version = skill_blueprint(session)
    first, second = (skill_paper(session, a, admin, version, seed=seed) for seed in (1, 2))
    for paper_ids in ([first.id, second.id], []):
        with pytest.raises(ValidationFailed) as caught:
            _plan(session, a, admin, version, paper_ids)
        assert caught.value.field == "paper_ids" and "exactly one locked paper" in caught.value.message_en
        assert "只能选择一份" in caught.value.message
    with pytest.raises(ValidationFailed) as caught:
        _plan(session, a, admin, version, [first.id, second.id])
    assert f"{first.id}, {second.id}" in caught.value.message_en  # the refused ids are named
    planned = _plan(session, a, admin, version, [second.id])
    assert [p.paper_id for p in planned.papers] == [second.id]
    assert list(panel_tasks(session, planned)) == ["T01", "T02", "T03"]  # the paper's tasks, in paper order


def test_the_tasks_scored_are_the_ones_drawn_onto_the_paper(session, world):
    """The shipped 车工 blueprint has modules of two tasks each: the panel scores the paper's draw."""
    from examsvc.institutions.service import register_institution
    from examsvc.papers.skill import paper_tasks
    from tests.grading.conftest import SKILL

    lathe = register_institution(session, code="S000015000004", name="丁评价机构", kind="social_organisation",
                                 tier="league_city", league_city="包头市", published_on=date(2025, 4, 15),
                                 scope=[("6-18-01-01", "4")])
    admin = make_user(session, "admin_d", "institution_admin", lathe.id)
    version, _ = load_blueprint_file(session, SKILL, "test")
    paper = skill_paper(session, lathe, admin, version, seed=5)
    planned = _plan(session, lathe, admin, version, [paper.id])
    drawn = [task.code for task in paper_tasks(session, paper)]
    assert list(panel_tasks(session, planned)) == drawn and len(drawn) == 3
    assert sum(task.points for task in panel_tasks(session, planned).values()) == 100


def test_readiness_wants_enough_examiners_for_every_candidate(app, session, world):
    a = world["A"]
    admin = make_user(session, "admin_a", "institution_admin", a.id)
    skill = skill_session(session, a, admin, skill_blueprint(session))
    candidate = register_candidate(session, skill, name="考生1", id_type="resident_id", id_number=resident_id(1),
                                   actor=admin)
    examiners = _examiners(session, a, admin, 3)
    for user in examiners[:2]:
        assign_staff(session, skill, user, "examiner", None, admin)
    problems = {p.code: p for p in readiness(session, skill)}
    assert "examiners" in problems and "invigilators" not in problems  # a venue needs examiners, not invigilators
    assert "3 examiners" in problems["examiners"].message_en and "has 2 examiner" in problems["examiners"].message_en
    assert "3名" in problems["examiners"].message and "2名" in problems["examiners"].message
    with pytest.raises(ValidationFailed) as caught:
        open_now(session, skill, admin)
    assert caught.value.code == "session.not_ready.examiners"
    assign_staff(session, skill, examiners[2], "examiner", None, admin)
    assert readiness(session, skill) == []
    # a recusal leaves the candidate two examiners: not ready again, and the candidate is named
    declare_conflict(session, examiner=examiners[0], candidate=candidate, kind="relative", note="", actor=admin)
    short = [p for p in readiness(session, skill) if p.code == "examiners_short"]
    assert len(short) == 1 and candidate.ticket_number in short[0].message_en and "2 examiner" in short[0].message_en
    # the panel size is a setting (odd, at least 3): five examiners wanted, three assigned
    app.config["EXAMINERS_PER_TASK"] = 5
    assert "5 examiners" in next(p for p in readiness(session, skill) if p.code == "examiners").message_en


def test_a_planned_panel_session_names_an_examiner_without_a_valid_card(session, world):
    a = world["A"]
    admin = make_user(session, "admin_a", "institution_admin", a.id)
    skill = skill_session(session, a, admin, skill_blueprint(session))
    register_candidate(session, skill, name="考生1", id_type="resident_id", id_number=resident_id(1), actor=admin)
    for user in _examiners(session, a, admin, 2):
        assign_staff(session, skill, user, "examiner", None, admin)
    nocard = make_user(session, "nocard", "examiner", a.id)
    assign_staff(session, skill, nocard, "examiner", None, admin)
    codes = [p.code for p in readiness(session, skill)]
    assert "examiner_standing" in codes and "examiners_short" in codes
    assert any("nocard" in p.message_en for p in readiness(session, skill))


# --- no browser exam; the venue's console -------------------------------------------------------

def test_candidates_of_a_panel_session_cannot_sign_in_to_the_exam_room(session, panel):
    candidate = panel["candidates"][0]
    with clock.frozen(EXAM_DAY):
        with pytest.raises(Forbidden) as caught:
            sign_in(session, ticket_number=candidate.ticket_number, id_number=resident_id(1))
        assert caught.value.code == "panel_session" and "venue" in caught.value.message_en
        assert "考核场地" in caught.value.message
        with pytest.raises(Forbidden) as caught:  # wrong credentials still say only that
            sign_in(session, ticket_number=candidate.ticket_number, id_number=resident_id(2))
        assert caught.value.code == "sign_in_failed"
        with pytest.raises(Forbidden):
            start_or_resume(session, candidate)
    from examsvc.delivery.models import Attempt

    assert count_rows(session, Attempt) == 0


def test_the_console_checks_in_records_absences_and_incidents_of_a_panel_session(session, panel):
    admin, exam_session = panel["admin"], panel["session"]
    venue = exam_session.rooms[0]
    invigilator = make_user(session, "inv1", "invigilator", panel["A"].id)
    assign_staff(session, exam_session, invigilator, "invigilator", venue.id, admin)
    first, second, third = panel["candidates"]
    with clock.frozen(EXAM_DAY):
        console.act(session, exam_session, invigilator, first.id, "check_in")
        for action in ("pause", "extra_time", "terminate"):
            with pytest.raises(ValidationFailed) as caught:
                console.act(session, exam_session, invigilator, first.id, action, minutes=5, reason="x")
            assert caught.value.field == "action" and "no exam in the browser" in caught.value.message_en
        with pytest.raises(Conflict):
            console.act(session, exam_session, invigilator, first.id, "absent")  # checked in: present
        console.act(session, exam_session, invigilator, second.id, "absent", reason="未到场")
        with pytest.raises(Conflict):
            console.act(session, exam_session, invigilator, second.id, "check_in")
        console.record_note(session, exam_session, invigilator, "3号工位车床主轴异响，已更换工位", candidate_id=third.id)
        statuses = {row.candidate_id: row.status for row in console.roster(session, exam_session, venue.id)}
        assert statuses == {first.id: "checked_in", second.id: "absent", third.id: "not_signed_in"}
        absent = session.scalar(select(ComponentScore).where(ComponentScore.candidate_id == second.id))
        assert (absent.score, absent.method, absent.component) == (0.0, "absent", "skill")
        with pytest.raises(Conflict):  # an absent candidate is not scored
            submit_scores(session, second, "T03", panel["examiners"][0], rubric_scores(
                panel_tasks(session, exam_session)["T03"], 5))
        report = console.close_session(session, exam_session, admin)
    assert report.absent == 2 and report.submitted == 0  # one checked in; two never came (one recorded absent)
    kinds = [i.kind for i in session.scalars(select(Incident).where(Incident.session_id == exam_session.id)
                                              .order_by(Incident.id))]
    assert kinds == ["check_in", "absent", "note", "close"]
    assert "签到参加考核1人" in session.scalar(select(Incident.text).where(Incident.kind == "close"))


# --- vetoes -----------------------------------------------------------------------------------

def test_a_veto_zeroes_the_task_for_that_examiner_and_needs_a_note(session, panel):
    e1, e2, e3 = panel["examiners"][:3]
    candidate = panel["candidates"][0]
    task = panel_tasks(session, panel["session"])["T01"]
    assert len(task.vetoes) >= 2 and task.equipment and task.materials
    full = rubric_scores(task, 60)
    before = count_rows(session, AuditEvent)
    for vetoes, note, field, words in (([1], "  ", "veto_note", "needs a note"),
                                       ([len(task.vetoes) + 1], "撞刀", "vetoes", "no veto item"),
                                       ([1, 1], "撞刀", "vetoes", "twice"),
                                       (["x"], "撞刀", "vetoes", "no veto item"),
                                       ("1", "撞刀", "vetoes", "list"),
                                       ([], "没有否决却写了说明", "veto_note", "marked veto item only")):
        with pytest.raises(ValidationFailed) as caught:
            submit_scores(session, candidate, "T01", e1, full, vetoes, note)
        assert caught.value.field == field and words in caught.value.message_en, caught.value.message_en
    assert count_rows(session, ExaminerScore) == 0 and count_rows(session, AuditEvent) == before
    # the rubric lines are ignored with a veto: even none at all
    row = submit_scores(session, candidate, "T01", e1, {}, [2], " 测量时未停车 ")
    assert row.total == 0 and set(row.criteria.values()) == {0.0} and set(row.criteria) == {c.code for c in task.rubric}
    assert row.vetoes == [task.vetoes[1]] and row.veto_note == "测量时未停车"
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "grading.examiner_score"))
    assert event.details["vetoes"] == [task.vetoes[1]]
    # blind: the other examiners do not see it yet; the chief examiner does at once
    assert not next(s for s in task_states(session, candidate, e2) if s.task.code == "T01").vetoed
    chief_view = next(s for s in task_states(session, candidate, panel["chief"]) if s.task.code == "T01")
    assert chief_view.vetoed and chief_view.vetoes[0].examiner_id == e1.id
    # two examiners score the whole task: the spread (60 of 60 points) goes to the chief examiner
    submit_scores(session, candidate, "T01", e2, full)
    submit_scores(session, candidate, "T01", e3, full)
    state = next(s for s in task_states(session, candidate, e2) if s.task.code == "T01")
    assert state.vetoed and state.needs_resolution and [r.total for r in state.scores] == [0, 60, 60]


def test_a_unanimous_veto_settles_the_task_at_zero_in_the_component_score(session, panel):
    candidate = panel["candidates"][0]
    tasks = panel_tasks(session, panel["session"])
    for examiner in panel["examiners"][:3]:
        submit_scores(session, candidate, "T01", examiner, {}, [1], "撞刀")
        for code in ("T02", "T03"):
            submit_scores(session, candidate, code, examiner, rubric_scores(tasks[code], tasks[code].points))
    score = session.scalar(select(ComponentScore).where(ComponentScore.candidate_id == candidate.id))
    assert (score.score, score.passed) == (40.0, False)
    assert score.details["tasks"]["T01"]["value"] == 0 and score.details["tasks"]["T01"]["vetoes"] == {
        "1": [tasks["T01"].vetoes[0]], "2": [tasks["T01"].vetoes[0]], "3": [tasks["T01"].vetoes[0]]}
    assert score.details["tasks"]["T02"]["vetoes"] == {}


# --- 综合评审 -----------------------------------------------------------------------------------

def test_a_review_session_is_scored_by_three_examiners_into_its_component_score(session, world):
    """车工 二级/技师 综合评审 (the shipped blueprint): materials handed in, R1 file review and R2 defence."""
    from examsvc.grading.results import publish_results
    from examsvc.institutions.service import register_institution
    from examsvc.sessions.materials import upload_material

    lathe = register_institution(session, code="S000015000005", name="戊评价机构", kind="social_organisation",
                                 tier="league_city", league_city="包头市", published_on=date(2025, 4, 15),
                                 scope=[("6-18-01-01", "2")])
    admin = make_user(session, "admin_e", "institution_admin", lathe.id)
    version, _ = load_blueprint_file(session, REVIEW, "test")
    assert version.blueprint.component == "review"
    review = skill_session(session, lathe, admin, version, title="综合评审", venues=(("答辩室", 4),))
    candidates = [register_candidate(session, review, name=f"技师{i}", id_type="resident_id",
                                     id_number=resident_id(i), actor=admin) for i in (1, 2)]
    ordinary = _examiners(session, lathe, admin, 1, prefix="ord")[0]
    seniors = _examiners(session, lathe, admin, 3, grade="senior_examiner", prefix="sen")
    for user in [ordinary, *seniors]:
        assign_staff(session, review, user, "examiner", None, admin)
    codes = {p.code for p in readiness(session, review)}
    assert "examiner_standing" in codes  # a 考评员 card does not cover level 2: named before opening
    assert "materials" not in codes  # 综合评审 materials missing is a notice, not a bar (examsvc.sessions.materials)
    assert [p.code for p in notices(session, review)] == ["materials"]
    from examsvc.sessions.service import remove_staff

    remove_staff(session, review, next(s.id for s in review.staff if s.user_id == ordinary.id), admin)
    for candidate in candidates:
        upload_material(session, review, candidate, "summary", "技术总结.pdf", b"%PDF-1.4\n% summary\n%%EOF\n", admin)
    assert readiness(session, review) == []
    open_now(session, review, admin)
    tasks = panel_tasks(session, review)
    assert list(tasks) == ["R1", "R2"] and sum(t.points for t in tasks.values()) == 100
    shares = {candidates[0].id: (0.9, 0.8, 0.85), candidates[1].id: (0.5, 0.6, 0.55)}
    for candidate in candidates:
        for code, task in tasks.items():
            for examiner, share in zip(seniors, shares[candidate.id]):
                submit_scores(session, candidate, code, examiner, rubric_scores(task, round(task.points * share)))
    scores = {s.candidate_id: s for s in session.scalars(select(ComponentScore).where(
        ComponentScore.session_id == review.id))}
    first, second = scores[candidates[0].id], scores[candidates[1].id]
    assert first.component == "review" and first.method == "examiners"
    assert (first.score, first.passed) == (85.0, True)   # mean share 0.85 of 100 points
    assert (second.score, second.passed) == (55.0, False)  # below the pass mark of 60, like every component
    assert first.details["examiners_per_task"] == 3 and first.details["tasks"]["R2"]["totals"] == [54, 48, 51]
    console.close_session(session, review, admin)
    with clock.frozen(EXAM_DAY + timedelta(days=1)):
        publication = publish_results(session, review, admin)
    assert publication.session_id == review.id
    with pytest.raises(Conflict):  # published: changes go through a review request
        submit_scores(session, candidates[0], "R1", seniors[0], rubric_scores(tasks["R1"], 30))
