"""Violation cases (违纪违规处理档案, seed Art. 43-49), their timeline, sanctions, public-report
counters and the administrator-entered working-day calendar.

A case is the one mutable row (its status and current deadlines, for lists); everything that
happened is a :class:`CaseEvent` appended to its timeline, and every sanction a
:class:`Sanction`. Events and sanctions never change or go away (the ORM refuses), so the file
of every case is kept whole (Art. 49).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from examsvc.db import Base, UTCDateTime
from examsvc.errors import Conflict

SUBJECT_KINDS = ("candidate", "staff", "institution")
SOURCES = ("finding", "public_report", "regulator")
STATUSES = ("reported", "open", "proposed", "notified", "decided", "objected", "reviewed", "appealed",
            "appeal_decided", "dismissed")


class CalendarOverride(Base):
    """A day an administrator entered: a holiday (rest day) or a make-up working day (调休上班)."""

    __tablename__ = "calendar_overrides"
    __table_args__ = (UniqueConstraint("day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    is_workday: Mapped[bool]
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Case(Base):
    """One violation case against a candidate, a staff member or an institution."""

    __tablename__ = "supervision_cases"
    __table_args__ = (UniqueConstraint("reference"), Index("ix_supervision_cases_status", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40))           # e.g. JG-2025-000001
    subject_kind: Mapped[str] = mapped_column(String(16))        # candidate | staff | institution
    subject_id: Mapped[int | None]                               # None until a report is triaged
    subject_label: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(16))              # finding | public_report | regulator
    facts: Mapped[str] = mapped_column(Text)
    jurisdiction: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(16))
    statement_deadline: Mapped[date | None] = mapped_column(Date)
    objection_deadline: Mapped[date | None] = mapped_column(Date)
    reporter_name: Mapped[str] = mapped_column(String(100), default="")     # "" when anonymous
    reporter_contact: Mapped[str] = mapped_column(String(200), default="")
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    events: Mapped[list["CaseEvent"]] = relationship(order_by="CaseEvent.seq", lazy="selectin", viewonly=True)
    sanctions: Mapped[list["Sanction"]] = relationship(order_by="Sanction.id", lazy="selectin", viewonly=True)


class CaseEvent(Base):
    """One step on a case's timeline (append-only); ``details`` holds what the step says."""

    __tablename__ = "supervision_case_events"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("supervision_cases.id"), index=True)
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(String(32))
    on_date: Mapped[date | None] = mapped_column(Date)           # the day the step took effect
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Sanction(Base):
    """A sanction the platform carried out (or could not yet, ``status="pending"`` with the note)."""

    __tablename__ = "supervision_sanctions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("supervision_cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))              # executed | pending
    targets: Mapped[list[Any]] = mapped_column(JSON)             # ids touched (scores, certificates, ...)
    due_on: Mapped[date | None] = mapped_column(Date)            # rectification deadline
    amount: Mapped[str] = mapped_column(String(40), default="")  # subsidy to recover, as entered
    note: Mapped[str] = mapped_column(Text, default="")
    executed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    executed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReportCounter(Base):
    """Public reports per client address and fixed window, in the database so that every app
    server counts against the same limit."""

    __tablename__ = "supervision_report_counters"

    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)  # epoch seconds
    hits: Mapped[int]


def _refuse_change(_mapper: Any, _connection: Any, target: Any) -> None:
    kind = type(target).__name__
    raise Conflict(f"案件档案不可修改或删除（{kind} {getattr(target, 'id', '')}）",
                   f"a case file is never changed or deleted ({kind} {getattr(target, 'id', '')})",
                   field="case", code="case.immutable")


for _model in (CaseEvent, Sanction):
    event.listen(_model, "before_update", _refuse_change)
    event.listen(_model, "before_delete", _refuse_change)
event.listen(Case, "before_delete", _refuse_change)
