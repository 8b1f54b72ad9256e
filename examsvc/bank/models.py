"""The item bank in the database: blueprint versions, items, immutable versions, reviews,
enemy groups, images by content hash and import jobs."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from examsvc.db import Base, UTCDateTime


class ExamBlueprint(Base):
    """One blueprint (鉴定要素细目表) per occupation, level and component; content lives in versions."""

    __tablename__ = "exam_blueprints"
    __table_args__ = (UniqueConstraint("occupation_code", "level", "component"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occupation_code: Mapped[str] = mapped_column(ForeignKey("occupations.code"))
    level: Mapped[str] = mapped_column(String(16))
    component: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))

    versions: Mapped[list["BlueprintVersion"]] = relationship(
        back_populates="blueprint", order_by="BlueprintVersion.number", lazy="selectin")

    @property
    def latest(self) -> "BlueprintVersion":
        return self.versions[-1]


class BlueprintVersion(Base):
    """An immutable revision of a blueprint; papers reference the version they were built from."""

    __tablename__ = "blueprint_versions"
    __table_args__ = (UniqueConstraint("blueprint_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    blueprint_id: Mapped[int] = mapped_column(ForeignKey("exam_blueprints.id"), index=True)
    number: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    source_name: Mapped[str] = mapped_column(String(255))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    loaded_by: Mapped[str] = mapped_column(String(64))

    blueprint: Mapped[ExamBlueprint] = relationship(back_populates="versions")


class VersionStatus(str, enum.Enum):
    DRAFT = "draft"            # editable in place by its author until submitted
    SUBMITTED = "submitted"    # frozen, waiting for review
    APPROVED = "approved"      # usable in papers
    RETURNED = "returned"      # sent back with comments; the next edit is a new version
    SUPERSEDED = "superseded"  # an approved version replaced by a newer approved one


class Item(Base):
    """A question with a stable id; its content is in :class:`ItemVersion` rows."""

    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    blueprint_id: Mapped[int] = mapped_column(ForeignKey("exam_blueprints.id"), index=True)
    element_code: Mapped[str] = mapped_column(String(32), index=True)
    type: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retired_reason: Mapped[str | None] = mapped_column(String(500))

    versions: Mapped[list["ItemVersion"]] = relationship(
        back_populates="item", order_by="ItemVersion.number", lazy="selectin")
    blueprint: Mapped[ExamBlueprint] = relationship()

    @property
    def latest(self) -> "ItemVersion":
        return self.versions[-1]

    @property
    def approved_version(self) -> "ItemVersion | None":
        approved = [v for v in self.versions if v.status == VersionStatus.APPROVED.value]
        return approved[-1] if approved else None


class ItemVersion(Base):
    """One version of an item. Once submitted it never changes; edits make a new version."""

    __tablename__ = "item_versions"
    __table_args__ = (UniqueConstraint("item_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    number: Mapped[int]
    parent_number: Mapped[int | None]
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_warnings: Mapped[list[str]] = mapped_column(JSON, default=list)

    item: Mapped[Item] = relationship(back_populates="versions")
    reviews: Mapped[list["Review"]] = relationship(back_populates="version", order_by="Review.id", lazy="selectin")


class Review(Base):
    """A reviewer's decision on one submitted version (four-eyes: never the author)."""

    __tablename__ = "item_reviews"
    __table_args__ = (UniqueConstraint("version_id", "reviewer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("item_versions.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(String(16))  # approve | return
    comments: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    version: Mapped[ItemVersion] = relationship(back_populates="reviews")


class EnemyGroup(Base):
    """Items that must never stand in one paper together (e.g. one gives away another's answer)."""

    __tablename__ = "enemy_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    members: Mapped[list["EnemyMember"]] = relationship(back_populates="group", cascade="all, delete-orphan",
                                                        lazy="selectin")


class EnemyMember(Base):
    __tablename__ = "enemy_members"
    __table_args__ = (UniqueConstraint("group_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("enemy_groups.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)

    group: Mapped[EnemyGroup] = relationship(back_populates="members")


class Asset(Base):
    """An image referenced from rich text as ``asset:<sha256>``; stored once per content."""

    __tablename__ = "assets"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ImportJob(Base):
    """An upload of items: its validation report and, once confirmed, what was imported."""

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    blueprint_id: Mapped[int] = mapped_column(ForeignKey("exam_blueprints.id"))
    format: Mapped[str] = mapped_column(String(16))   # excel | qti | moodle_xml | gift
    filename: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))   # validated | imported | rejected
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rows_valid: Mapped[int] = mapped_column(default=0)
    rows_invalid: Mapped[int] = mapped_column(default=0)
    imported: Mapped[int] = mapped_column(default=0)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    payload: Mapped[bytes] = mapped_column(LargeBinary)  # the upload, re-read when the import is confirmed
