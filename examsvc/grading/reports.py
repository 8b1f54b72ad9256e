"""What results look like from outside: a session's tally and rows, their export, and a candidate's
own published results (with the review they may ask for during the notice period, 公示期).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from examsvc import clock
from examsvc.bank.models import ExamBlueprint
from examsvc.errors import Forbidden, NotFound, ValidationFailed
from examsvc.grading.models import ComponentScore, ResultPublication, ReviewRequest
from examsvc.protect import id_digest
from examsvc.sessions.models import Candidate, ExamSession

COMPONENT_NAMES = {"theory": ("理论知识", "Theory"), "skill": ("操作技能", "Skill"), "review": ("综合评审", "Review")}
METHOD_NAMES = {"auto": ("系统评分", "automatic"), "examiners": ("考评组评分", "examiners"), "absent": ("缺考", "absent"),
                "terminated": ("终止考试", "terminated")}


def today() -> date:
    """The date in China Standard Time, as the notice period counts it."""
    return (clock.now() + timedelta(hours=8)).date()


def publication_of(session: Session, exam_session: ExamSession) -> ResultPublication | None:
    return session.scalar(select(ResultPublication).where(ResultPublication.session_id == exam_session.id))


def notice_open(publication: ResultPublication | None) -> bool:
    """Whether reviews may be requested now (published, not confirmed, notice period running)."""
    return publication is not None and publication.confirmed_at is None and today() <= publication.notice_until


@dataclass(frozen=True)
class ResultRow:
    candidate: Candidate
    score: ComponentScore | None
    reviews: list[ReviewRequest]


@dataclass
class Tally:
    component: str
    registered: int = 0
    scored: int = 0
    passed: int = 0
    failed: int = 0
    absent: int = 0
    open_reviews: int = 0
    rows: list[ResultRow] = field(default_factory=list)

    @property
    def unscored(self) -> int:
        return self.registered - self.scored


def tally(session: Session, exam_session: ExamSession) -> Tally:
    """Every candidate of the session with their score and reviews, and the counts."""
    component = session.get(ExamBlueprint, exam_session.blueprint_id).component
    candidates = list(session.scalars(select(Candidate).where(Candidate.session_id == exam_session.id)
                                      .order_by(Candidate.ticket_number)))
    scores = {s.candidate_id: s for s in session.scalars(
        select(ComponentScore).where(ComponentScore.session_id == exam_session.id))}
    reviews: dict[int, list[ReviewRequest]] = {}
    if scores:
        for review in session.scalars(select(ReviewRequest).where(
                ReviewRequest.score_id.in_([s.id for s in scores.values()])).order_by(ReviewRequest.id)):
            reviews.setdefault(review.score_id, []).append(review)
    result = Tally(component=component, registered=len(candidates))
    for candidate in candidates:
        score = scores.get(candidate.id)
        own = reviews.get(score.id, []) if score else []
        result.rows.append(ResultRow(candidate, score, own))
        if score is None:
            continue
        result.scored += 1
        result.passed += score.passed
        result.failed += not score.passed
        result.absent += score.method == "absent"
        result.open_reviews += sum(1 for r in own if r.status == "open")
    return result


EXPORT_COLUMNS = ("ticket_number", "name", "id_masked", "employer", "component", "score", "passed", "method",
                  "reviews")
EXPORT_HEADINGS = ("准考证号", "姓名", "证件号码", "工作单位", "考核科目", "成绩", "是否合格", "评分方式", "复核")


def export_rows(data: Tally) -> list[list[Any]]:
    rows = []
    for row in data.rows:
        score = row.score
        rows.append([row.candidate.ticket_number, row.candidate.name, row.candidate.id_masked, row.candidate.employer,
                     COMPONENT_NAMES[data.component][0], score.score if score else "",
                     ("合格" if score.passed else "不合格") if score else "未评分",
                     METHOD_NAMES.get(score.method, (score.method,))[0] if score else "",
                     "；".join(f"{r.status}：{r.decision or r.reason}" for r in row.reviews)])
    return rows


def export_results(data: Tally, fmt: str) -> bytes:
    """The session's results as CSV (UTF-8 with BOM, for Excel) or an .xlsx workbook."""
    rows = export_rows(data)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(EXPORT_HEADINGS)
        writer.writerows(rows)
        return buffer.getvalue().encode("utf-8-sig")
    if fmt == "xlsx":
        from openpyxl import Workbook

        workbook = Workbook()
        sheet = workbook.active
        sheet.title = "成绩"
        sheet.append(EXPORT_HEADINGS)
        for row in rows:
            sheet.append(row)
        out = io.BytesIO()
        workbook.save(out)
        return out.getvalue()
    raise ValidationFailed("导出格式应为 csv 或 xlsx", "the export format is csv or xlsx", field="format")


# --- the candidate's side ---------------------------------------------------------------------

def identify_candidate(session: Session, *, ticket_number: str, id_number: str = "", password: str = "") -> Candidate:
    """A candidate by admission ticket and ID number (or exam password), whatever the session's state."""
    from werkzeug.security import check_password_hash

    from examsvc.sessions.service import normalise_identity

    refused = Forbidden("准考证号或证件号码不正确", "wrong ticket number or ID number", field="ticket_number",
                        code="sign_in_failed").with_status(401)
    candidate = session.scalar(select(Candidate).where(Candidate.ticket_number == "".join(ticket_number.split())))
    if candidate is None:
        raise refused
    if password:
        if not candidate.password_hash or not check_password_hash(candidate.password_hash, password):
            raise refused
        return candidate
    try:
        normalised = normalise_identity(candidate.id_type, id_number)
    except ValidationFailed:
        raise refused from None
    if id_digest(normalised) != candidate.id_digest:
        raise refused
    return candidate


@dataclass(frozen=True)
class OwnResult:
    """One published result of the signed-in person."""

    exam_session: ExamSession
    blueprint: ExamBlueprint
    score: ComponentScore
    publication: ResultPublication
    reviews: list[ReviewRequest]

    @property
    def may_request_review(self) -> bool:
        return notice_open(self.publication) and not any(r.status == "open" for r in self.reviews)


def own_results(session: Session, candidate: Candidate) -> list[OwnResult]:
    """The person's published scores (every session registered under the same identity), newest first."""
    rows = session.execute(
        select(ComponentScore, ExamSession, ExamBlueprint, ResultPublication)
        .join(Candidate, Candidate.id == ComponentScore.candidate_id)
        .join(ExamSession, ExamSession.id == ComponentScore.session_id)
        .join(ExamBlueprint, ExamBlueprint.id == ExamSession.blueprint_id)
        .join(ResultPublication, ResultPublication.session_id == ExamSession.id)
        .where(Candidate.id_digest == candidate.id_digest)
        .order_by(ExamSession.exam_date.desc(), ExamSession.id.desc())).all()
    reviews: dict[int, list[ReviewRequest]] = {}
    if rows:
        for review in session.scalars(select(ReviewRequest).where(
                ReviewRequest.score_id.in_([r[0].id for r in rows])).order_by(ReviewRequest.id)):
            reviews.setdefault(review.score_id, []).append(review)
    return [OwnResult(exam_session, blueprint, score, publication, reviews.get(score.id, []))
            for score, exam_session, blueprint, publication in rows]


def own_score(session: Session, candidate: Candidate, score_id: int) -> ComponentScore:
    """One of the person's own published scores; anyone else's is not found (and not named)."""
    for result in own_results(session, candidate):
        if result.score.id == score_id:
            return result.score
    raise NotFound("成绩不存在", "score not found", field="score_id")
