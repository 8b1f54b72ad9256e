"""Scoring theory attempts against the exact item versions of their locked form, and key corrections.

A whole session is scored in one pass: one query for its attempts, one for their answers, then
:func:`itembank.scoring.score_matrix` per paper. Results are written as :class:`ComponentScore`
rows; a key correction re-scores and records every old and new score.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import chain
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from examsvc import clock
from examsvc.audit.service import record
from examsvc.bank.models import BlueprintVersion, ExamBlueprint
from examsvc.bank.service import blueprint_of
from examsvc.delivery.models import CLOSED_STATUSES, Answer, Attempt, AttemptStatus
from examsvc.delivery.service import close_expired
from examsvc.errors import Conflict, NotFound, ValidationFailed
from examsvc.grading.models import ComponentScore, KeyCorrection, ResultPublication, ScoreChange
from examsvc.papers.models import Paper, PaperItem
from examsvc.sessions.models import Candidate, ExamSession, SessionStatus
from itembank.scoring import score_matrix, scale_to_100, to_mask



@dataclass(frozen=True)
class PaperKeys:
    """A paper's positions as arrays: keys (with corrections applied), points, multiple choice, void."""

    positions: list[int]
    keys: np.ndarray
    points: np.ndarray
    multiple: np.ndarray
    void: np.ndarray
    total_points: float
    rule: str
    pass_mark: float


def paper_keys(session: Session, paper: Paper, overrides: dict[int, list[str]] | None = None) -> PaperKeys:
    """Keys of a locked paper, with applied key corrections (and ``overrides`` for a dry run)."""
    items = sorted(paper.items, key=lambda i: i.position)
    corrected = {c.position: c.new_key for c in session.scalars(
        select(KeyCorrection).where(KeyCorrection.paper_id == paper.id).order_by(KeyCorrection.id))}
    corrected.update(overrides or {})
    keys = [corrected.get(i.position, i.key) for i in items]
    version = session.get(BlueprintVersion, paper.blueprint_version_id)
    spec = blueprint_of(version).paper
    return PaperKeys(
        positions=[i.position for i in items],
        keys=np.array([to_mask(k) for k in keys], dtype=np.int64),
        points=np.array([i.points for i in items], dtype=float),
        multiple=np.array([i.item_type == "multiple_choice" for i in items], dtype=bool),
        void=np.array([len(k) == 0 for k in keys], dtype=bool),
        total_points=float(paper.total_points), rule=spec.multiple_choice_scoring, pass_mark=float(spec.pass_mark))


def _responses(session: Session, attempts: list[Any], keys: PaperKeys) -> np.ndarray:
    """The answer bitmasks of ``attempts`` as an (attempts × positions) matrix.

    Closed attempts carry their answers sealed as bytes (one per position): those become the matrix
    without touching the answer rows; otherwise the answers come from one query.
    """
    width = max(keys.positions)
    if all(a.response_masks is not None and len(a.response_masks) == width for a in attempts):
        sealed = np.frombuffer(b"".join(a.response_masks for a in attempts), dtype=np.uint8).reshape(len(attempts), width)
        return sealed[:, np.array(keys.positions) - 1].astype(np.int64)
    column = np.full(max(keys.positions) + 1, -1, dtype=np.int64)
    column[keys.positions] = np.arange(len(keys.positions))
    ids = np.array([a.id for a in attempts], dtype=np.int64)
    order = np.argsort(ids)
    result = session.execute(select(Answer.attempt_id, Answer.position, Answer.mask)
                             .join(Attempt, Attempt.id == Answer.attempt_id)
                             .where(Attempt.session_id == attempts[0].session_id,
                                    Attempt.paper_id == attempts[0].paper_id))
    data = np.fromiter(chain.from_iterable(result), dtype=np.int64).reshape(-1, 3)
    matrix = np.zeros((len(attempts), len(keys.positions)), dtype=np.int64)
    if len(data):
        row_index = order[np.searchsorted(ids[order], data[:, 0])]
        matrix[row_index, column[data[:, 1]]] = data[:, 2]
    return matrix


def _compute(session: Session, exam_session: ExamSession, overrides: dict[int, dict[int, list[str]]] | None = None
             ) -> dict[int, tuple[float, bool, str, dict[str, Any]]]:
    """candidate id -> (score, passed, method, details) for every registered candidate."""
    # Plain rows, not ORM objects: scoring reads five columns of every attempt and nothing else.
    attempts = session.execute(select(Attempt.id, Attempt.session_id, Attempt.candidate_id, Attempt.paper_id,
                                      Attempt.status, Attempt.closed_reason, Attempt.response_masks)
                               .where(Attempt.session_id == exam_session.id)).all()
    by_paper: dict[int, list[Any]] = defaultdict(list)
    for attempt in attempts:
        by_paper[attempt.paper_id].append(attempt)
    out: dict[int, tuple[float, bool, str, dict[str, Any]]] = {}
    for paper_id, group in by_paper.items():
        paper = session.get(Paper, paper_id)
        keys = paper_keys(session, paper, (overrides or {}).get(paper_id))
        scored = score_matrix(_responses(session, group, keys), keys.keys, keys.points, keys.multiple,
                              rule=keys.rule, void=keys.void)
        scaled = scale_to_100(scored.total, keys.total_points)
        for attempt, raw, score in zip(group, scored.total, scaled):
            if attempt.status == AttemptStatus.TERMINATED.value:  # a violation cancels the result (Art. 43)
                out[attempt.candidate_id] = (0.0, False, "terminated", {"paper": paper_id, "reason": attempt.closed_reason})
                continue
            out[attempt.candidate_id] = (float(score), bool(score >= keys.pass_mark), "auto",
                                         {"paper": paper_id, "raw": float(raw), "of": keys.total_points})
    for candidate_id in session.scalars(select(Candidate.id).where(Candidate.session_id == exam_session.id)):
        out.setdefault(candidate_id, (0.0, False, "absent", {}))
    return out


def score_session(session: Session, exam_session: ExamSession, actor: Any) -> int:
    """Score every candidate of a closed theory session (absent candidates score 0); returns the count."""
    blueprint = session.get(ExamBlueprint, exam_session.blueprint_id)
    if blueprint.component != "theory":
        raise ValidationFailed("只有理论知识场次自动评分", "only theory sessions are scored automatically",
                               field="session_id")
    if exam_session.status != SessionStatus.CLOSED.value:
        raise Conflict("场次结束后才能评分", "score a session after it closes", field="status")
    if session.scalar(select(ResultPublication.id).where(ResultPublication.session_id == exam_session.id)):
        raise Conflict("成绩已公示，请通过答案更正或复核修改", "results are published: use a key correction or a review",
                       field="session_id")
    close_expired(session)
    open_attempts = session.scalar(select(Attempt.id).where(Attempt.session_id == exam_session.id,
                                                            Attempt.status.not_in(CLOSED_STATUSES)))
    if open_attempts is not None:
        raise Conflict("仍有考生在作答", "an attempt is still open", field="status")
    results = _compute(session, exam_session)
    now = clock.now()
    # Before publication a session may be scored again (e.g. after a late close): replace, in bulk.
    session.execute(delete(ComponentScore).where(ComponentScore.session_id == exam_session.id))
    session.execute(insert(ComponentScore), [
        {"session_id": exam_session.id, "candidate_id": candidate_id, "component": "theory", "score": score,
         "passed": passed, "method": method, "details": details, "scored_at": now}
        for candidate_id, (score, passed, method, details) in results.items()])
    record(session, actor, "grading.score_session", exam_session,
           {"candidates": len(results), "passed": sum(1 for r in results.values() if r[1])})
    return len(results)


@dataclass(frozen=True)
class KeyChangeEffect:
    candidate_id: int
    name: str
    ticket_number: str
    old_score: float
    new_score: float
    old_passed: bool
    new_passed: bool


def _correction_inputs(session: Session, exam_session: ExamSession, paper_id: int, position: int,
                       new_key: list[str]) -> tuple[Paper, PaperItem, list[str]]:
    paper = session.get(Paper, paper_id)
    if paper is None or paper_id not in {p.paper_id for p in exam_session.papers}:
        raise NotFound("该场次没有这份试卷", "the session did not use this paper", field="paper_id")
    item = next((i for i in paper.items if i.position == position), None)
    if item is None:
        raise ValidationFailed("试卷中没有该题号", "no such position in the paper", field="position")
    letters = sorted(set(new_key))
    allowed = {"true_false": {"T", "F"}, "single_choice": set("ABCD"), "multiple_choice": set("ABCDE")}[item.item_type]
    if not set(letters) <= allowed or (item.item_type != "multiple_choice" and len(letters) > 1) \
            or (item.item_type == "multiple_choice" and len(letters) == 1):
        raise ValidationFailed("更正后的答案不符合题型", "the corrected key does not fit the item type", field="new_key")
    return paper, item, letters


def preview_key_correction(session: Session, exam_session: ExamSession, paper_id: int, position: int,
                           new_key: list[str]) -> list[KeyChangeEffect]:
    """Dry run: every candidate whose score or pass/fail would change (``[]`` voids the item)."""
    _paper, _item, letters = _correction_inputs(session, exam_session, paper_id, position, new_key)
    after = _compute(session, exam_session, {paper_id: {position: letters}})
    effects = []
    for score in session.scalars(select(ComponentScore).where(ComponentScore.session_id == exam_session.id)):
        new_score, new_passed, _method, _details = after[score.candidate_id]
        if new_score != score.score or new_passed != score.passed:
            candidate = session.get(Candidate, score.candidate_id)
            effects.append(KeyChangeEffect(candidate.id, candidate.name, candidate.ticket_number, score.score,
                                           new_score, score.passed, new_passed))
    return effects


def apply_key_correction(session: Session, exam_session: ExamSession, paper_id: int, position: int,
                         new_key: list[str], reason: str, actor: Any) -> KeyCorrection:
    """Correct a key after the session: re-score, record every old and new score, audit."""
    if not reason.strip():
        raise ValidationFailed("须说明更正理由", "a reason is required", field="reason")
    paper, item, letters = _correction_inputs(session, exam_session, paper_id, position, new_key)
    old_key = _letters(session, paper, position)
    effects = preview_key_correction(session, exam_session, paper_id, position, letters)
    now = clock.now()
    correction = KeyCorrection(paper_id=paper_id, position=position, old_key=old_key, new_key=letters,
                               reason=reason.strip()[:500], applied_by=actor.id, applied_at=now, affected=len(effects))
    session.add(correction)
    session.flush()
    scores = {s.candidate_id: s for s in session.scalars(
        select(ComponentScore).where(ComponentScore.session_id == exam_session.id))}
    for effect in effects:
        row = scores[effect.candidate_id]
        session.add(ScoreChange(score_id=row.id, old_score=row.score, new_score=effect.new_score,
                                old_passed=row.passed, new_passed=effect.new_passed, reason=correction.reason,
                                source="key_correction", source_id=correction.id, changed_by=actor.id, changed_at=now))
        row.score, row.passed = effect.new_score, effect.new_passed
    record(session, actor, "grading.key_correction", exam_session,
           {"paper": paper_id, "position": position, "old_key": old_key, "new_key": letters,
            "reason": correction.reason, "affected": len(effects)})
    return correction


def _letters(session: Session, paper: Paper, position: int) -> list[str]:
    corrections = session.scalars(select(KeyCorrection).where(KeyCorrection.paper_id == paper.id,
                                                              KeyCorrection.position == position)
                                  .order_by(KeyCorrection.id.desc())).first()
    if corrections is not None:
        return list(corrections.new_key)
    return list(next(i.key for i in paper.items if i.position == position))
