"""Theory scoring, key corrections, publication, reviews, confirmation and pass records."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from examsvc import clock
from examsvc.audit.models import AuditEvent
from examsvc.delivery.service import check_in, save_answer, sign_in, start_or_resume, submit, terminate
from examsvc.delivery.paper_text import item_types
from examsvc.errors import Conflict, ValidationFailed
from examsvc.grading.models import ComponentScore, PassRecord, ScoreChange
from examsvc.grading.results import (
    confirm_results, decide_review, publish_results, request_review, required_components,
)
from examsvc.grading.service import apply_key_correction, preview_key_correction, score_session
from examsvc.papers.models import Paper
from tests.delivery.conftest import EXAM_DAY, resident_id

pytestmark = pytest.mark.usefixtures("app_context")


def _sit(session, exam, index, *, correct_share):
    """Candidate ``index`` answers the first ``correct_share`` of the items right, the rest wrong."""
    candidate = exam["candidates"][index]
    check_in(session, candidate, exam["invigilators"][0])
    attempt = start_or_resume(session, sign_in(session, ticket_number=candidate.ticket_number,
                                               id_number=resident_id(index + 1)))
    paper = session.get(Paper, attempt.paper_id)
    types = item_types(session, paper.id)
    right = int(len(paper.items) * correct_share)
    for n, item in enumerate(paper.items):
        key = list(item.key)
        if n >= right:
            pool = {"true_false": "TF", "single_choice": "ABCD", "multiple_choice": "ABCDE"}[item.item_type]
            key = [next(letter for letter in pool if letter not in item.key)]
            if item.item_type == "multiple_choice":
                key = sorted(set(pool) - set(item.key))[:2]
        save_answer(session, attempt.candidate_id, position=item.position, response=key, flagged=False, seq=n + 1)
    return attempt


def _close(session, exam_session):
    exam_session.status = "closed"
    session.flush()


def test_scores_follow_the_keys_absent_and_terminated_candidates_score_zero(session, exam):
    with clock.frozen(EXAM_DAY):
        submit(session, _sit(session, exam, 0, correct_share=1.0))
        submit(session, _sit(session, exam, 1, correct_share=0.5))
        terminate(session, _sit(session, exam, 2, correct_share=1.0), exam["invigilators"][0], "夹带")
        with pytest.raises(Conflict):
            score_session(session, exam["session"], exam["admin"])  # still open
        _close(session, exam["session"])
        assert score_session(session, exam["session"], exam["admin"]) == 4
    scores = {s.candidate_id: s for s in session.scalars(select(ComponentScore))}
    first, second, third, fourth = (scores[c.id] for c in exam["candidates"])
    assert (first.score, first.passed, first.method) == (100.0, True, "auto")
    assert 30 <= second.score <= 70 and second.method == "auto"
    assert (third.score, third.method) == (0.0, "terminated") and (fourth.score, fourth.method) == (0.0, "absent")


def test_key_correction_dry_run_then_apply_records_old_and_new(session, exam):
    with clock.frozen(EXAM_DAY):
        attempt = _sit(session, exam, 0, correct_share=1.0)
        submit(session, attempt)
        _close(session, exam["session"])
        score_session(session, exam["session"], exam["admin"])
    paper = session.get(Paper, attempt.paper_id)
    item = next(i for i in paper.items if i.item_type == "single_choice")
    other = next(letter for letter in "ABCD" if letter not in item.key)
    effects = preview_key_correction(session, exam["session"], paper.id, item.position, [other])
    assert len(effects) == 1 and effects[0].old_score == 100.0 and effects[0].new_score < 100.0
    assert session.scalar(select(ComponentScore.score).where(ComponentScore.candidate_id == effects[0].candidate_id)) == 100
    with pytest.raises(ValidationFailed):
        apply_key_correction(session, exam["session"], paper.id, item.position, ["A", "B"], "多选?", exam["admin"])
    apply_key_correction(session, exam["session"], paper.id, item.position, [other], "原答案有误", exam["admin"])
    change = session.scalar(select(ScoreChange))
    assert (change.old_score, change.new_score, change.source) == (100.0, effects[0].new_score, "key_correction")
    assert "grading.key_correction" in set(session.scalars(select(AuditEvent.action)))
    # voiding the item gives everyone its points back
    apply_key_correction(session, exam["session"], paper.id, item.position, [], "题目作废", exam["admin"])
    assert session.scalar(select(ComponentScore.score).where(ComponentScore.candidate_id == effects[0].candidate_id)) == 100


def _skill_results(session, exam, scores):
    """The same people's skill session of the same occupation and level, through the product: the
    skill blueprint stored, its paper drawn and locked, the session planned, staffed with three
    examiners, the candidates registered, opened, scored on screen (``scores``: candidate index ->
    component score), closed and published. The caller confirms it after the notice period."""
    from examsvc.grading.examiners import register_card
    from examsvc.grading.panel import panel_tasks, submit_scores
    from examsvc.sessions.console import close_session
    from examsvc.sessions.service import assign_staff, open_session, register_candidate
    from tests.conftest import make_user
    from tests.grading.conftest import rubric_scores, skill_blueprint, skill_session

    admin, institution = exam["admin"], exam["A"]
    skill = skill_session(session, institution, admin, skill_blueprint(session), title="操作技能")
    examiners = [make_user(session, f"skill_examiner{i}", "examiner", institution.id) for i in (1, 2, 3)]
    for user in examiners:
        register_card(session, holder=user, card_number=f"KP-SKILL-{user.id}", grade="examiner",
                      valid_from=date(2024, 1, 1), valid_until=date(2028, 12, 31), institution_id=institution.id,
                      actor=admin)
        assign_staff(session, skill, user, "examiner", None, admin)
    twins = {index: register_candidate(session, skill, name=exam["candidates"][index].name, id_type="resident_id",
                                       id_number=resident_id(index + 1), actor=admin) for index in scores}
    open_session(session, skill, admin)
    tasks = panel_tasks(session, skill)
    for index, score in scores.items():
        for code, task in tasks.items():  # every task at the same share of its points: the component is `score`
            for examiner in examiners:
                submit_scores(session, twins[index], code, examiner, rubric_scores(task, round(task.points * score / 100, 2)))
    close_session(session, skill, admin)
    publish_results(session, skill, admin, notice_days=5)
    return skill


def test_publication_review_and_confirmation_make_pass_records(session, exam):
    assert required_components("4") == {"theory", "skill"} and "review" in required_components("2")
    with clock.frozen(EXAM_DAY) as frozen:
        for index, share in ((0, 1.0), (1, 1.0), (2, 0.2)):
            submit(session, _sit(session, exam, index, correct_share=share))
        _close(session, exam["session"])
        score_session(session, exam["session"], exam["admin"])
        skill = _skill_results(session, exam, {0: 88.0, 1: 42.0})
        publication = publish_results(session, exam["session"], exam["admin"], notice_days=5)
        with pytest.raises(Conflict):
            publish_results(session, exam["session"], exam["admin"])
        low = session.scalar(select(ComponentScore).where(ComponentScore.candidate_id == exam["candidates"][2].id))
        review = request_review(session, low, "我认为第3题答案有误")
        with pytest.raises(Conflict):
            request_review(session, low, "again")
        with pytest.raises(Conflict):
            confirm_results(session, exam["session"], exam["admin"])  # notice period still running
        frozen.advance(timedelta(days=6))
        with pytest.raises(Conflict):
            confirm_results(session, exam["session"], exam["admin"])  # an open review
        decide_review(session, review, exam["admin"], "复核后维持原成绩")
        assert confirm_results(session, skill, exam["admin"]) == []  # no one has a confirmed theory score yet
        records = confirm_results(session, exam["session"], exam["admin"])
    assert review.status == "upheld" and publication.confirmed_at is not None
    # only candidate 0 passed both components; candidate 1 failed skill, candidate 2 theory
    assert [r.id_digest for r in records] == [exam["candidates"][0].id_digest]
    assert records[0].scores == {"skill": 88.0, "theory": 100.0}
    assert session.scalar(select(PassRecord.name)) == "考生1"
