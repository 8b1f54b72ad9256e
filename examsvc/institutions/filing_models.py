"""Filing (备案) records: applications, their evidence, evaluations, public notice, objections,
publication batches, change requests, site filings and stop orders (seed Art. 9-18, 34)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from examsvc.db import Base, UTCDateTime


class ApplicationStatus(str, enum.Enum):
    SUBMITTED = "submitted"    # received, first review done (初审)
    EVALUATED = "evaluated"    # expert evaluation recorded (评估)
    NOTICE = "notice"          # under public notice (公示)
    PUBLISHED = "published"    # filed in a batch (备案公布), or a renewal granted
    REJECTED = "rejected"


class FilingAttachment(Base):
    """A document (PDF, scan) attached to an application, stored once by its content hash."""

    __tablename__ = "filing_attachments"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FilingBatch(Base):
    """One publication of filings (备案公布), normally in April and October (seed Art. 11)."""

    __tablename__ = "filing_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    publication_date: Mapped[date] = mapped_column(Date)
    off_cycle: Mapped[bool] = mapped_column(default=False)  # published outside April / October
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FilingApplication(Base):
    """An application for a new filing (purpose ``new``) or a renewal (``renewal``, seed Art. 15)."""

    __tablename__ = "filing_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))  # new | renewal
    applicant_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    tier: Mapped[str] = mapped_column(String(16))
    league_city: Mapped[str | None] = mapped_column(String(32))
    requested_scope: Mapped[list[list[str]]] = mapped_column(JSON)        # [[occupation_code, level], ...]
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON)              # Art. 9 key -> {"attachment", "note"}
    declarations: Mapped[dict[str, str]] = mapped_column(JSON)            # Art. 10 key -> "not_applicable"
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str | None] = mapped_column(String(500))               # of a rejection
    notice_start: Mapped[date | None] = mapped_column(Date)
    notice_end: Mapped[date | None] = mapped_column(Date)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("filing_batches.id"))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), index=True)
    dropped_occupations: Mapped[list[str]] = mapped_column(JSON, default=list)  # of a renewal (Art. 16)
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    evaluations: Mapped[list["FilingEvaluation"]] = relationship(
        order_by="FilingEvaluation.id", cascade="all, delete-orphan", lazy="selectin")
    objections: Mapped[list["FilingObjection"]] = relationship(
        order_by="FilingObjection.id", cascade="all, delete-orphan", lazy="selectin")
    batch: Mapped[FilingBatch | None] = relationship()


class FilingEvaluation(Base):
    """One expert evaluation step (seed Art. 11): report, document review, site visit, Q&A ..."""

    __tablename__ = "filing_evaluations"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("filing_applications.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(24))
    score: Mapped[float]
    notes: Mapped[str] = mapped_column(Text, default="")
    evaluator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FilingObjection(Base):
    """An objection received during public notice, and how it was resolved."""

    __tablename__ = "filing_objections"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("filing_applications.id", ondelete="CASCADE"), index=True)
    raised_by: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    received_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolution: Mapped[str | None] = mapped_column(Text)
    upheld: Mapped[bool | None]
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CodeCounter(Base):
    """The province's last assigned 6-digit institution serial (one row, locked while allocating)."""

    __tablename__ = "institution_code_counters"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    last_serial: Mapped[int]


class ChangeRequest(Base):
    """A written request to change basic information (Art. 13), the scope (Art. 14), or to end
    the filing voluntarily (Art. 17); applied only when the regulator approves it."""

    __tablename__ = "institution_change_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # basic | scope | termination
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | approved | rejected
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(String(500))


class SiteFiling(Base):
    """A region-level institution's site filing (站点备案) in one league or city (seed Art. 12)."""

    __tablename__ = "institution_site_filings"
    __table_args__ = (UniqueConstraint("institution_id", "league_city"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    league_city: Mapped[str] = mapped_column(String(32))
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StopOrder(Base):
    """A regulator's order to stop certifying until the bank is fixed (责令停止认定, seed Art. 34)."""

    __tablename__ = "institution_stop_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    reference: Mapped[str] = mapped_column(String(100))   # 内人社监〔2026〕3号
    reason: Mapped[str] = mapped_column(String(500))
    blueprint_id: Mapped[int | None] = mapped_column(ForeignKey("exam_blueprints.id"))
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lifted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lift_note: Mapped[str | None] = mapped_column(String(500))
