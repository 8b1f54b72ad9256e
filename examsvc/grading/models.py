"""Scores, results and pass records.

A component score (理论知识 / 操作技能 / 综合评审) is out of 100 and must reach the pass mark on its
own. A session's results are published for a notice period (公示), during which candidates may
ask for a review (复核), and then confirmed. A person who has confirmed passing scores for every
component their level requires gets a :class:`PassRecord`, from which one certificate is issued.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from examsvc.db import Base, UTCDateTime


class ComponentScore(Base):
    """The current score of one candidate in one session (one component); changes are recorded
    as :class:`ScoreChange` rows, never silently."""

    __tablename__ = "component_scores"
    __table_args__ = (UniqueConstraint("candidate_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"))
    component: Mapped[str] = mapped_column(String(16))         # theory | skill | review
    score: Mapped[float]                                        # 0..100
    passed: Mapped[bool]
    method: Mapped[str] = mapped_column(String(16))            # auto | examiners | absent
    details: Mapped[dict[str, Any]] = mapped_column(JSON)      # per item / per examiner breakdown
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ScoreChange(Base):
    """A score that changed after it was first recorded: key correction, review (复核), resolution."""

    __tablename__ = "score_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    score_id: Mapped[int] = mapped_column(ForeignKey("component_scores.id"), index=True)
    old_score: Mapped[float]
    new_score: Mapped[float]
    old_passed: Mapped[bool]
    new_passed: Mapped[bool]
    reason: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(String(32))            # key_correction | review | resolution
    source_id: Mapped[int | None]
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class KeyCorrection(Base):
    """A corrected answer key for one position of a locked paper, applied after a session."""

    __tablename__ = "key_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id"), index=True)
    position: Mapped[int]
    old_key: Mapped[list[str]] = mapped_column(JSON)
    new_key: Mapped[list[str]] = mapped_column(JSON)   # [] = the item is void: everyone gets its points
    reason: Mapped[str] = mapped_column(String(500))
    applied_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime)
    affected: Mapped[int]


class ResultPublication(Base):
    """A session's results: published for a notice period (公示), then confirmed."""

    __tablename__ = "result_publications"
    __table_args__ = (UniqueConstraint("session_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    notice_until: Mapped[date] = mapped_column(Date)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ReviewRequest(Base):
    """A candidate's request to review (复核) a score during the notice period."""

    __tablename__ = "review_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    score_id: Mapped[int] = mapped_column(ForeignKey("component_scores.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))            # open | upheld | changed
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision: Mapped[str | None] = mapped_column(Text)


class PassRecord(Base):
    """A person who passed every required component of an occupation and level at an institution,
    with confirmed results: the basis of exactly one certificate (谁评价、谁发证)."""

    __tablename__ = "pass_records"
    __table_args__ = (UniqueConstraint("institution_id", "occupation_code", "level", "id_digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    occupation_code: Mapped[str] = mapped_column(String(10))
    work_type: Mapped[str] = mapped_column(String(100), default="")
    level: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    id_type: Mapped[str] = mapped_column(String(24))
    id_cipher: Mapped[str] = mapped_column(Text)
    id_digest: Mapped[str] = mapped_column(String(64))
    id_masked: Mapped[str] = mapped_column(String(40))
    photo_sha256: Mapped[str | None] = mapped_column(String(64))
    scores: Mapped[dict[str, Any]] = mapped_column(JSON)       # {"theory": 78.0, "skill": 85.5, ...}
    score_ids: Mapped[list[int]] = mapped_column(JSON)
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime)


# --- examiners (考评人员) ----------------------------------------------------------------------

class ExaminerCard(Base):
    """An examiner card (考评员证卡) held by a user: the minimal registry that eligibility reads.

    ``grade`` is ``examiner`` (考评员: levels 5-3) or ``senior_examiner`` (高级考评员: every level),
    seed Art. 25 and 35. ``employer`` is the holder's declared employer, compared with candidates'
    employers for recusal (回避).
    """

    __tablename__ = "examiner_cards"
    __table_args__ = (UniqueConstraint("card_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    card_number: Mapped[str] = mapped_column(String(40))
    grade: Mapped[str] = mapped_column(String(24))               # examiner | senior_examiner
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), index=True)
    jurisdiction: Mapped[str] = mapped_column(String(100), default="")   # issuing region, e.g. 包头市
    employer: Mapped[str] = mapped_column(String(200), default="")
    training_note: Mapped[str] = mapped_column(Text, default="")
    registered_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConflictDeclaration(Base):
    """A declared conflict of interest between an examiner and a candidate: the examiner recuses (回避)."""

    __tablename__ = "examiner_conflicts"
    __table_args__ = (UniqueConstraint("examiner_id", "candidate_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    examiner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))                # same_employer | relative | own_student | other
    note: Mapped[str] = mapped_column(Text, default="")
    declared_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChiefExaminer(Base):
    """The chief examiner (考评组长) of a session, designated by the institution: resolves spreads."""

    __tablename__ = "chief_examiners"
    __table_args__ = (UniqueConstraint("session_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    designated_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    designated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ExaminerScore(Base):
    """One examiner's rubric scores of one task of one candidate; final once submitted.

    ``slot`` numbers the examiners of a task 1..N, so that a database constraint, not a race,
    decides who is the N+1-th examiner.
    """

    __tablename__ = "examiner_scores"
    __table_args__ = (UniqueConstraint("candidate_id", "task_code", "examiner_id"),
                      UniqueConstraint("candidate_id", "task_code", "slot"))

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"), index=True)
    task_code: Mapped[str] = mapped_column(String(32))
    examiner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    slot: Mapped[int]
    criteria: Mapped[dict[str, float]] = mapped_column(JSON)    # rubric criterion code -> points awarded
    total: Mapped[float]
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The task's veto items (否决项) this examiner marked, as written on the paper; any makes ``total`` 0.
    vetoes: Mapped[list[str]] = mapped_column(JSON, default=list)
    veto_note: Mapped[str] = mapped_column(Text, default="")     # what happened, required with a veto


class Resolution(Base):
    """A chief examiner's resolved total of a task whose examiners' totals spread too far, with the reason."""

    __tablename__ = "score_resolutions"
    __table_args__ = (UniqueConstraint("candidate_id", "task_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"))
    task_code: Mapped[str] = mapped_column(String(32))
    chief_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    spread: Mapped[float]
    resolved_total: Mapped[float]
    reason: Mapped[str] = mapped_column(Text)
    resolved_at: Mapped[datetime] = mapped_column(UTCDateTime)
