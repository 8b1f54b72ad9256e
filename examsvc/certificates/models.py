"""Certificates (职业技能等级证书), their serial counters, voiding and the revocation records for the
upload data, and the counters that rate-limit the public verification.

An issued certificate is a snapshot: everything it prints is copied from the pass record, the
institution and the occupation catalogue when it is issued, and the row never changes or goes
away afterwards (the ORM refuses, and a database trigger refuses an UPDATE). Declaring it void
is a new :class:`CertificateVoid` row beside it, with the :class:`CertificateRevocation` that
the upload to the national platform carries (seed Art. 44: 宣布证书作废、撤销上传证书数据).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from examsvc.db import Base, UTCDateTime
from examsvc.errors import Conflict


class Certificate(Base):
    """One certificate, issued from one :class:`~examsvc.grading.models.PassRecord`."""

    __tablename__ = "certificates"
    __table_args__ = (
        UniqueConstraint("number"),
        UniqueConstraint("pass_record_id"),
        UniqueConstraint("institution_id", "year", "level_digit", "serial"),
        Index("ix_certificates_institution_id_issued_on", "institution_id", "issued_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(22))             # see examsvc.certificates.numbers
    pass_record_id: Mapped[int] = mapped_column(ForeignKey("pass_records.id"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    institution_code: Mapped[str] = mapped_column(String(13))
    institution_name: Mapped[str] = mapped_column(String(200))
    occupation_code: Mapped[str] = mapped_column(String(10))
    occupation_name: Mapped[str] = mapped_column(String(100))
    work_type: Mapped[str] = mapped_column(String(100))         # "" when none; printed "--"
    level: Mapped[str] = mapped_column(String(16))              # itembank.levels.Level value
    year: Mapped[int]                                           # issue year, Beijing time (four digits)
    level_digit: Mapped[int]
    serial: Mapped[int]
    name: Mapped[str] = mapped_column(String(100))
    id_type: Mapped[str] = mapped_column(String(24))
    id_cipher: Mapped[str] = mapped_column(Text)
    id_digest: Mapped[str] = mapped_column(String(64), index=True)
    id_masked: Mapped[str] = mapped_column(String(40))
    photo_sha256: Mapped[str | None] = mapped_column(String(64))
    scores: Mapped[dict[str, Any]] = mapped_column(JSON)        # {"theory": 78.0, "skill": 85.5, ...}
    issued_on: Mapped[date] = mapped_column(Date)               # Beijing date printed on the certificate
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    void: Mapped["CertificateVoid | None"] = relationship(lazy="selectin", viewonly=True)

    @property
    def is_void(self) -> bool:
        return self.void is not None


class CertificateSerial(Base):
    """The next serial to hand out per institution, issue year and level digit."""

    __tablename__ = "certificate_serials"

    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    level_digit: Mapped[int] = mapped_column(primary_key=True)
    next_serial: Mapped[int]


#: Why a certificate was declared void (seed Art. 43-44), as stored and as shown.
VOID_REASONS: dict[str, tuple[str, str]] = {
    "candidate_misconduct": ("参评人员违纪违规", "Misconduct by the candidate"),
    "false_information": ("提供虚假材料或信息", "False documents or information"),
    "staff_misconduct": ("工作人员违纪违规", "Misconduct by exam staff"),
    "institution_violation": ("评价机构违纪违规", "Violation by the institution"),
    "issued_in_error": ("证书信息错误或错发", "Issued in error"),
}


class CertificateVoid(Base):
    """The decision that declares a certificate void (宣布证书作废); one per certificate."""

    __tablename__ = "certificate_voids"
    __table_args__ = (UniqueConstraint("certificate_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id"))
    reason_category: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    case_reference: Mapped[str | None] = mapped_column(String(100))  # the supervision case's reference (Case.reference)
    authorised_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    voided_on: Mapped[date] = mapped_column(Date)
    voided_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CertificateRevocation(Base):
    """A revocation record for the certificate data uploaded to the national platform (撤销上传证书数据)."""

    __tablename__ = "certificate_revocations"
    __table_args__ = (UniqueConstraint("certificate_id"), UniqueConstraint("void_id"),
                      Index("ix_certificate_revocations_institution_id_revoked_on", "institution_id", "revoked_on"))

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id"))
    void_id: Mapped[int] = mapped_column(ForeignKey("certificate_voids.id"))
    number: Mapped[str] = mapped_column(String(22))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    reason_category: Mapped[str] = mapped_column(String(32))
    revoked_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class VerificationCounter(Base):
    """Look-ups of the public verification per client address and fixed window, kept in the
    database so that every stateless app server counts against the same limit."""

    __tablename__ = "verification_counters"

    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)  # epoch seconds
    hits: Mapped[int]


def _refuse_change(_mapper: Any, _connection: Any, target: Any) -> None:
    kind = type(target).__name__
    raise Conflict(f"已颁发的证书数据不可修改或删除（{kind} {getattr(target, 'id', '')}）",
                   f"an issued certificate's data never changes and is never deleted ({kind} {getattr(target, 'id', '')})",
                   field="certificate", code="certificate.immutable")


for _model in (Certificate, CertificateVoid, CertificateRevocation):
    event.listen(_model, "before_update", _refuse_change)
    event.listen(_model, "before_delete", _refuse_change)
