"""Evaluation institutions (评价机构) and their filed scope (备案的职业、等级)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from examsvc.db import Base, UTCDateTime


class Tier(str, enum.Enum):
    REGION = "region"            # 自治区级
    LEAGUE_CITY = "league_city"  # 盟市级


class InstitutionStatus(str, enum.Enum):
    ACTIVE = "active"
    SUSPENDED = "suspended"      # ordered by a regulator to stop certifying (seed Art. 34, 45)
    TERMINATED = "terminated"    # filing ended (seed Art. 17-18, 46)


class Institution(Base):
    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(13), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    tier: Mapped[str] = mapped_column(String(16))
    league_city: Mapped[str | None] = mapped_column(String(32))
    published_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=InstitutionStatus.ACTIVE.value)
    status_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    scope: Mapped[list["ScopeEntry"]] = relationship(
        back_populates="institution", cascade="all, delete-orphan", lazy="selectin",
        order_by="(ScopeEntry.occupation_code, ScopeEntry.level)",
    )


class ScopeEntry(Base):
    """One (occupation, level) pair the institution is filed to certify."""

    __tablename__ = "institution_scope"
    __table_args__ = (UniqueConstraint("institution_id", "occupation_code", "level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id", ondelete="CASCADE"), index=True)
    occupation_code: Mapped[str] = mapped_column(ForeignKey("occupations.code"))
    level: Mapped[str] = mapped_column(String(16))

    institution: Mapped[Institution] = relationship(back_populates="scope")
