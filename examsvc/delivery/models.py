"""Attempts and answers: the server's record of a candidate's exam, time and every confirmed answer."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from examsvc.db import Base, UTCDateTime


class AttemptStatus(str, enum.Enum):
    IN_PROGRESS = "in_progress"
    PAUSED = "paused"
    SUBMITTED = "submitted"
    EXPIRED = "expired"        # closed by the server at the deadline
    TERMINATED = "terminated"  # ended by an invigilator for a violation


CLOSED_STATUSES = frozenset({AttemptStatus.SUBMITTED.value, AttemptStatus.EXPIRED.value,
                             AttemptStatus.TERMINATED.value})


class Attempt(Base):
    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"), unique=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id"))
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # moves with extra time and pauses
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extra_seconds: Mapped[int] = mapped_column(default=0)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_reason: Mapped[str | None] = mapped_column(String(500))
    last_seq: Mapped[int] = mapped_column(default=0)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shuffle_seed: Mapped[int]
    item_order: Mapped[list[int]] = mapped_column(JSON)              # paper positions in display order
    option_orders: Mapped[dict[str, Any]] = mapped_column(JSON)      # position -> original letters in display order
    # Sealed when the attempt closes: one byte per paper position (the answer's bitmask), so scoring a
    # session reads one row per attempt instead of one per answer.
    response_masks: Mapped[bytes | None] = mapped_column(LargeBinary)

    answers: Mapped[list["Answer"]] = relationship(back_populates="attempt", order_by="Answer.position")


class Answer(Base):
    """The latest confirmed answer to one position: a save with a higher sequence number replaces it."""

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("attempt_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), index=True)
    position: Mapped[int]
    response: Mapped[list[str]] = mapped_column(JSON)   # original option letters, ["T"]/["F"], [] = cleared
    mask: Mapped[int]                                   # the same as a bitmask (A=1 … E=16, T=1, F=2) for scoring
    flagged: Mapped[bool] = mapped_column(default=False)
    seq: Mapped[int]
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime)

    attempt: Mapped[Attempt] = relationship(back_populates="answers")
