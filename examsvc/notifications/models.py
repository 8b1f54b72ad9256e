"""A notification to one user: what happened (Chinese first, English beside it), where to look, and
the object that caused it, for traceability (可追溯)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from examsvc.db import Base, UTCDateTime


class Notification(Base):
    """One message to one recipient; only ``read_at`` ever changes."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_source", "source_kind", "source_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))             # e.g. stop_order.issued, case.decision
    subject_zh: Mapped[str] = mapped_column(String(200))
    subject_en: Mapped[str] = mapped_column(String(200))
    body_zh: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(300))     # a path within the site
    source_kind: Mapped[str] = mapped_column(String(40))      # the table of the object that caused it
    source_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def subject(self, zh: bool) -> str:
        return self.subject_zh if zh else self.subject_en

    def body(self, zh: bool) -> str:
        return self.body_zh if zh else self.body_en
