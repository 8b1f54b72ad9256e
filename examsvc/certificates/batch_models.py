"""Certificate data batches (证书数据报送批次): an institution's certificates of a period, and the
revocations not yet reported, sent to its league/city regulator, checked there, and returned with
the problem list or forwarded to the region (seed Art. 29, 40).

A batch's status moves ``submitted → returned`` or ``submitted → forwarded → accepted``; a returned
batch frees its records for the next batch. Each record names the certificate (or revocation) it
carries, so that no record travels twice and a revocation of a certificate reported earlier goes in
a later batch.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from examsvc.db import Base, UTCDateTime

BATCH_STATUSES = ("submitted", "returned", "forwarded", "accepted")


class CertificateBatch(Base):
    __tablename__ = "certificate_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    league_city: Mapped[str | None] = mapped_column(String(32))   # the receiving regulator; None: the region
    period_from: Mapped[date] = mapped_column(Date)
    period_to: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), index=True)
    issued_count: Mapped[int] = mapped_column(default=0)
    revoked_count: Mapped[int] = mapped_column(default=0)
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    submitted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    checked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    records: Mapped[list["CertificateBatchRecord"]] = relationship(
        back_populates="batch", order_by="CertificateBatchRecord.id", lazy="selectin")


class CertificateBatchRecord(Base):
    """One record of a batch: an issue (发证) or a revocation (撤销) of one certificate."""

    __tablename__ = "certificate_batch_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("certificate_batches.id"), index=True)
    record_type: Mapped[str] = mapped_column(String(8))          # issue | revoke
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id"), index=True)
    revocation_id: Mapped[int | None] = mapped_column(ForeignKey("certificate_revocations.id"))
    number: Mapped[str] = mapped_column(String(22))

    batch: Mapped[CertificateBatch] = relationship(back_populates="records")
