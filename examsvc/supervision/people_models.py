"""People and supervision (seed Art. 25-26, 35-39): quality supervisor cards, the jurisdictions'
examiner registry switch, recorded random draws, "double random, one public" inspection plans and
the supervisors' findings per session.

Examiner cards are :class:`examsvc.grading.models.ExaminerCard` (one examiner registry only).
A :class:`Draw` keeps its seed, its ordered candidates and its result, so anyone can re-run it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from examsvc.db import Base, UTCDateTime



class SupervisorCard(Base):
    """An external quality supervisor card (《技能人才评价质量督导员》证卡, Art. 36)."""

    __tablename__ = "supervisor_cards"
    __table_args__ = (UniqueConstraint("card_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    card_number: Mapped[str] = mapped_column(String(40))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    jurisdiction: Mapped[str] = mapped_column(String(32))        # a league/city, or 自治区
    training_note: Mapped[str] = mapped_column(Text, default="")
    registered_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class JurisdictionSetting(Base):
    """Whether a jurisdiction has turned its examiner registry on (Art. 35): then only examiners
    with a valid card of that jurisdiction may be assigned."""

    __tablename__ = "jurisdiction_settings"
    __table_args__ = (UniqueConstraint("jurisdiction"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    jurisdiction: Mapped[str] = mapped_column(String(32))
    examiner_registry_on: Mapped[bool] = mapped_column(default=False)
    updated_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Draw(Base):
    """One random draw: ``random.Random(seed).sample(candidates, k)`` gave ``result``; a draw weighted by
    credit grade (algorithm ``python3-random-weighted-randrange``) keeps each candidate's weight too."""

    __tablename__ = "supervision_draws"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))               # supervisors | institutions
    purpose: Mapped[str] = mapped_column(String(16))            # session | inspection
    session_id: Mapped[int | None] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    seed: Mapped[str] = mapped_column(String(64))
    algorithm: Mapped[str] = mapped_column(String(40))
    candidates: Mapped[list[Any]] = mapped_column(JSON)         # ids, ascending
    weights: Mapped[list[int] | None] = mapped_column(JSON)     # per candidate, of a weighted draw (else NULL)
    k: Mapped[int]
    result: Mapped[list[Any]] = mapped_column(JSON)             # ids, in draw order
    drawn_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime)


class InspectionPlan(Base):
    """A "double random, one public" inspection (Art. 38): drawn institutions × a drawn team."""

    __tablename__ = "inspection_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))               # routine | special
    matters: Mapped[str] = mapped_column(Text, default="")      # 督导事项 (required for special)
    jurisdiction: Mapped[str] = mapped_column(String(32), default="")   # "" = every jurisdiction
    institution_draw_id: Mapped[int] = mapped_column(ForeignKey("supervision_draws.id"))
    team_draw_id: Mapped[int] = mapped_column(ForeignKey("supervision_draws.id"))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    summary: Mapped[str] = mapped_column(Text, default="")      # the published conclusion


class Finding(Base):
    """A supervisor's findings on one session, item by item of the checklist."""

    __tablename__ = "supervision_findings"
    __table_args__ = (UniqueConstraint("session_id", "supervisor_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("inspection_plans.id"), index=True)
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    items: Mapped[dict[str, Any]] = mapped_column(JSON)         # key -> {"ok": bool, "note": str}
    problems: Mapped[int]
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime)
