"""Results: publication with a notice period (公示), review requests (复核), confirmation, and the
pass records that certificates are issued from.

Each component is out of 100 and must reach the pass mark on its own; levels 2 and 1 also need
综合评审 (review). A pass record needs a confirmed passing score for every required component of
the same person (by identity digest), occupation, level and institution.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from examsvc import clock
from examsvc.audit.service import record
from examsvc.bank.models import ExamBlueprint
from examsvc.errors import Conflict, NotFound, ValidationFailed
from examsvc.grading.models import ComponentScore, PassRecord, ResultPublication, ReviewRequest, ScoreChange
from examsvc.sessions.models import Candidate, ExamSession
from itembank.levels import parse_level



def required_components(level: str) -> set[str]:
    """Theory and skill for every level; 二级/技师 and 一级/高级技师 (and above) also 综合评审."""
    return {"theory", "skill", "review"} if parse_level(level).rank >= 4 else {"theory", "skill"}


def _publication(session: Session, exam_session: ExamSession) -> ResultPublication | None:
    return session.scalar(select(ResultPublication).where(ResultPublication.session_id == exam_session.id))


def publish_results(session: Session, exam_session: ExamSession, actor: Any, notice_days: int | None = None
                    ) -> ResultPublication:
    """Publish a scored session's results for the notice period (default ``RESULT_NOTICE_DAYS``)."""
    if _publication(session, exam_session) is not None:
        raise Conflict("成绩已公示", "the results are already published", field="session_id")
    scored = session.scalar(select(ComponentScore.id).where(ComponentScore.session_id == exam_session.id))
    if scored is None:
        raise ValidationFailed("尚未评分，不能公示", "nothing is scored yet", field="session_id")
    unscored = session.scalar(select(func.count()).select_from(Candidate).where(
        Candidate.session_id == exam_session.id,
        ~select(ComponentScore.id).where(ComponentScore.candidate_id == Candidate.id).exists()))
    if unscored:
        raise ValidationFailed(f"还有{unscored}名考生没有成绩（评分未完成或待裁定），不能公示",
                               f"{unscored} candidate(s) have no score yet (scoring or a resolution is pending)",
                               field="session_id", code="results.unscored")
    days = notice_days if notice_days is not None else current_app.config["RESULT_NOTICE_DAYS"]
    if not 1 <= days <= 30:
        raise ValidationFailed("公示期应为1-30天", "the notice period is 1-30 days", field="notice_days")
    now = clock.now()
    publication = ResultPublication(session_id=exam_session.id, published_at=now, published_by=actor.id,
                                    notice_until=(now + timedelta(hours=8)).date() + timedelta(days=days))
    session.add(publication)
    session.flush()
    record(session, actor, "results.publish", exam_session, {"notice_until": publication.notice_until.isoformat()})
    return publication


def request_review(session: Session, score: ComponentScore, reason: str) -> ReviewRequest:
    """A candidate asks for a review (复核) of one score during the notice period."""
    exam_session = session.get(ExamSession, score.session_id)
    publication = _publication(session, exam_session)
    today = (clock.now() + timedelta(hours=8)).date()
    if publication is None or publication.confirmed_at is not None or today > publication.notice_until:
        raise Conflict("不在公示期内，不能申请复核", "reviews are possible only during the notice period",
                       field="score_id")
    if not reason.strip():
        raise ValidationFailed("请说明复核理由", "a reason is required", field="reason")
    if session.scalar(select(ReviewRequest.id).where(ReviewRequest.score_id == score.id,
                                                     ReviewRequest.status == "open")):
        raise Conflict("已有未处理的复核申请", "a review request is already open", field="score_id")
    request = ReviewRequest(score_id=score.id, reason=reason.strip()[:2000], requested_at=clock.now(), status="open")
    session.add(request)
    session.flush()
    record(session, "candidate", "results.review_request", score, {"reason": request.reason})
    return request


def decide_review(session: Session, request: ReviewRequest, actor: Any, decision: str,
                  new_score: float | None = None) -> ReviewRequest:
    """Uphold the score, or change it (recorded as a score change with the decision)."""
    if request.status != "open":
        raise Conflict("该复核申请已处理", "the review was already decided", field="review_id")
    if not decision.strip():
        raise ValidationFailed("须写明复核结论", "a decision text is required", field="decision")
    score = session.get(ComponentScore, request.score_id)
    now = clock.now()
    if new_score is not None and new_score != score.score:
        if not 0 <= new_score <= 100:
            raise ValidationFailed("分数应在0-100之间", "a score lies between 0 and 100", field="new_score")
        passed = new_score >= pass_mark(session, score)
        session.add(ScoreChange(score_id=score.id, old_score=score.score, new_score=new_score, old_passed=score.passed,
                                new_passed=passed, reason=decision.strip()[:500], source="review",
                                source_id=request.id, changed_by=actor.id, changed_at=now))
        score.score, score.passed = new_score, passed
        request.status = "changed"
    else:
        request.status = "upheld"
    request.decided_by, request.decided_at, request.decision = actor.id, now, decision.strip()
    record(session, actor, "results.review_decide", score, {"status": request.status, "score": score.score})
    return request


def confirm_results(session: Session, exam_session: ExamSession, actor: Any) -> list[PassRecord]:
    """After the notice period and with no open review, confirm; create the pass records now complete."""
    publication = _publication(session, exam_session)
    if publication is None:
        raise Conflict("成绩尚未公示", "the results are not published", field="session_id")
    if publication.confirmed_at is not None:
        raise Conflict("成绩已确认", "the results are already confirmed", field="session_id")
    today = (clock.now() + timedelta(hours=8)).date()
    if today <= publication.notice_until:
        raise Conflict(f"公示期至{publication.notice_until}，期满后才能确认",
                       f"the notice period runs until {publication.notice_until}", field="session_id")
    scores = list(session.scalars(select(ComponentScore).where(ComponentScore.session_id == exam_session.id)
                                  .order_by(ComponentScore.candidate_id)))  # pass records in registration order
    if session.scalar(select(ReviewRequest.id).where(ReviewRequest.score_id.in_([s.id for s in scores]),
                                                     ReviewRequest.status == "open")):
        raise Conflict("仍有未处理的复核申请", "a review request is still open", field="session_id")
    publication.confirmed_at, publication.confirmed_by = clock.now(), actor.id
    session.flush()
    records = [r for r in (_pass_record(session, exam_session, s) for s in scores if s.passed) if r is not None]
    record(session, actor, "results.confirm", exam_session, {"pass_records": [r.id for r in records]})
    __import__("examsvc.analysis.service", fromlist=["*"]).analyse_confirmed_session(session, exam_session, actor)
    return records


def _confirmed_scores(session: Session, institution_id: int, blueprint: ExamBlueprint, id_digest: str
                      ) -> dict[str, ComponentScore]:
    """The person's latest confirmed score per component for this occupation and level."""
    rows = session.execute(
        select(ComponentScore, ExamBlueprint.component)
        .join(Candidate, Candidate.id == ComponentScore.candidate_id)
        .join(ExamSession, ExamSession.id == ComponentScore.session_id)
        .join(ExamBlueprint, ExamBlueprint.id == ExamSession.blueprint_id)
        .join(ResultPublication, ResultPublication.session_id == ExamSession.id)
        .where(Candidate.id_digest == id_digest, ExamSession.institution_id == institution_id,
               ExamBlueprint.occupation_code == blueprint.occupation_code, ExamBlueprint.level == blueprint.level,
               ResultPublication.confirmed_at.is_not(None))
        .order_by(ResultPublication.confirmed_at)).all()
    latest: dict[str, ComponentScore] = {}
    for score, component in rows:
        latest[component] = score
    return latest


def _pass_record(session: Session, exam_session: ExamSession, score: ComponentScore) -> PassRecord | None:
    candidate = session.get(Candidate, score.candidate_id)
    blueprint = session.get(ExamBlueprint, exam_session.blueprint_id)
    latest = _confirmed_scores(session, exam_session.institution_id, blueprint, candidate.id_digest)
    needed = required_components(blueprint.level)
    if not needed <= set(latest) or not all(latest[c].passed for c in needed):
        return None
    exists = session.scalar(select(PassRecord.id).where(
        PassRecord.institution_id == exam_session.institution_id, PassRecord.occupation_code == blueprint.occupation_code,
        PassRecord.level == blueprint.level, PassRecord.id_digest == candidate.id_digest))
    if exists is not None:
        return None
    record_ = PassRecord(institution_id=exam_session.institution_id, occupation_code=blueprint.occupation_code,
                         level=blueprint.level, name=candidate.name, id_type=candidate.id_type,
                         id_cipher=candidate.id_cipher, id_digest=candidate.id_digest, id_masked=candidate.id_masked,
                         photo_sha256=candidate.photo_sha256,
                         scores={c: latest[c].score for c in sorted(needed)},
                         score_ids=[latest[c].id for c in sorted(needed)], confirmed_at=clock.now())
    session.add(record_)
    session.flush()
    return record_


def pass_mark(session: Session, score: ComponentScore) -> float:
    """The pass mark of the blueprint the score's session used (60 unless the blueprint says more)."""
    from examsvc.bank.service import blueprint_of

    exam_session = session.get(ExamSession, score.session_id)
    return float(blueprint_of(session.get(ExamBlueprint, exam_session.blueprint_id).latest).paper.pass_mark)


def get_score(session: Session, score_id: int) -> ComponentScore:
    score = session.get(ComponentScore, score_id)
    if score is None:
        raise NotFound("成绩不存在", "score not found", field="score_id")
    return score


