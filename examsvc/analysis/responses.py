"""Response matrices of delivered papers, built from the sealed attempts.

An attempt that closed carries its answers as one byte per paper position (the bitmask of the
chosen letters: A=1 … E=16, T=1 F=2), so a whole session is one query and one ``frombuffer``.
Attempts are grouped by paper (a form is a test of its own: its total score is the criterion of
the classical statistics and DIF), and the masks become the raw option codes the psychometrics
library reads: the chosen letter for true/false and single choice, the set of letters (``"AC"``)
for multiple choice, ``""`` for no answer. Keys are the paper's keys with every applied key
correction; a voided position (corrected to "no valid key") is left out.

Terminated attempts (a violation cancels the result) and absent candidates are not analysed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import chain

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from examsvc.delivery.models import Answer, Attempt, AttemptStatus
from examsvc.grading.service import paper_keys
from examsvc.papers.models import Paper
from examsvc.sessions.models import Candidate, ExamSession

__all__ = ["FormResponses", "load_forms", "mask_codes", "CHOICE_CODES", "TRUE_FALSE_CODES"]

ANALYSED_STATUSES = (AttemptStatus.SUBMITTED.value, AttemptStatus.EXPIRED.value)


def _choice_code(mask: int) -> str:
    return "".join(letter for bit, letter in enumerate("ABCDE") if mask & (1 << bit))


#: Option codes by bitmask (index 0..31): ``CHOICE_CODES[5] == "AC"``, ``TRUE_FALSE_CODES[2] == "F"``.
CHOICE_CODES = np.array([_choice_code(m) for m in range(32)], dtype="<U5")
TRUE_FALSE_CODES = np.array(["".join(letter for bit, letter in enumerate("TF") if m & (1 << bit))
                             for m in range(32)], dtype="<U5")


def mask_codes(masks: np.ndarray, true_false: np.ndarray) -> np.ndarray:
    """Option codes of a (candidates x items) mask matrix; ``true_false`` marks the T/F columns."""
    masks = np.asarray(masks, dtype=np.int64) & 31
    return np.where(np.asarray(true_false, dtype=bool)[None, :], TRUE_FALSE_CODES[masks], CHOICE_CODES[masks])


@dataclass
class FormResponses:
    """One paper's answers across the analysed sessions; rows are attempts, columns positions.

    ``codes`` has shape (n, m) of option codes, ``keys`` the m keyed codes; the group vectors have
    length n.
    """

    paper: Paper
    positions: list[int]
    item_version_ids: list[int]
    item_types: list[str]
    keys: list[str]
    codes: np.ndarray
    language: np.ndarray
    gender: np.ndarray
    institution: np.ndarray
    session_ids: list[int]
    voided_positions: list[int] = field(default_factory=list)

    @property
    def n(self) -> int:
        return int(self.codes.shape[0])


def load_forms(session: Session, session_ids: list[int]) -> list[FormResponses]:
    """The answers of every analysed attempt of ``session_ids``, one :class:`FormResponses` per paper."""
    rows = session.execute(
        select(Attempt.id, Attempt.paper_id, Attempt.session_id, Attempt.response_masks, Candidate.exam_language,
               Candidate.gender, ExamSession.institution_id)
        .join(Candidate, Candidate.id == Attempt.candidate_id)
        .join(ExamSession, ExamSession.id == Attempt.session_id)
        .where(Attempt.session_id.in_(session_ids), Attempt.status.in_(ANALYSED_STATUSES))
        .order_by(Attempt.id)).all()
    by_paper: dict[int, list] = defaultdict(list)
    for row in rows:
        by_paper[row.paper_id].append(row)
    forms = []
    for paper_id in sorted(by_paper):
        group = by_paper[paper_id]
        paper = session.get(Paper, paper_id)
        keys = paper_keys(session, paper)
        items = {i.position: i for i in paper.items}
        masks = _masks(session, group, max(keys.positions))[:, np.array(keys.positions) - 1]
        keep = ~keys.void
        positions = [p for p, k in zip(keys.positions, keep) if k]
        types = [items[p].item_type for p in positions]
        true_false = np.array([t == "true_false" for t in types], dtype=bool)
        key_codes = mask_codes(keys.keys[keep][None, :], true_false)[0]
        forms.append(FormResponses(
            paper=paper, positions=positions, item_version_ids=[items[p].item_version_id for p in positions],
            item_types=types, keys=[str(k) for k in key_codes], codes=mask_codes(masks[:, keep], true_false),
            language=np.array([r.exam_language or None for r in group], dtype=object),
            gender=np.array([r.gender or None for r in group], dtype=object),
            institution=np.array([r.institution_id for r in group], dtype=object),
            session_ids=sorted({r.session_id for r in group}),
            voided_positions=[p for p, k in zip(keys.positions, keep) if not k]))
    return forms


def _masks(session: Session, attempts: list, width: int) -> np.ndarray:
    """(attempts x width) bitmasks: the sealed bytes, or the answer rows of attempts sealed before
    sealing existed (or with a different width)."""
    sealed = [a.response_masks is not None and len(a.response_masks) == width for a in attempts]
    out = np.zeros((len(attempts), width), dtype=np.uint8)
    if any(sealed):
        index = np.flatnonzero(sealed)
        out[index] = np.frombuffer(b"".join(attempts[i].response_masks for i in index),
                                   dtype=np.uint8).reshape(len(index), width)
    missing = [a.id for a, ok in zip(attempts, sealed) if not ok]
    if missing:
        row_of = {attempt.id: i for i, attempt in enumerate(attempts)}
        result = session.execute(select(Answer.attempt_id, Answer.position, Answer.mask)
                                 .where(Answer.attempt_id.in_(missing)))
        data = np.fromiter(chain.from_iterable(result), dtype=np.int64).reshape(-1, 3)
        for attempt_id, position, mask in data:
            if 1 <= position <= width:
                out[row_of[int(attempt_id)], position - 1] = mask
    return out
