"""Papers (试卷): assembled forms as immutable snapshots of item versions, points and keys (theory),
or of the drawn tasks with their rubrics (skill and review papers: :class:`PaperTask`, no items)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from examsvc.db import Base, UTCDateTime


class PaperStatus(str, enum.Enum):
    DRAFT = "draft"      # assembled, may be discarded or re-assembled
    LOCKED = "locked"    # immutable; the answer key is readable only by roles that need it
    USED = "used"        # taken by candidates in a session
    RETIRED = "retired"  # no longer offered


class AssemblyRun(Base):
    """One request to assemble parallel forms from a blueprint version and the approved bank."""

    __tablename__ = "assembly_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    blueprint_version_id: Mapped[int] = mapped_column(ForeignKey("blueprint_versions.id"))
    forms: Mapped[int]
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # queued | running | done | infeasible | failed
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    papers: Mapped[list["Paper"]] = relationship(back_populates="run", order_by="Paper.form_label")


class Paper(Base):
    __tablename__ = "papers"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("assembly_runs.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    blueprint_version_id: Mapped[int] = mapped_column(ForeignKey("blueprint_versions.id"), index=True)
    form_label: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), index=True)
    duration_minutes: Mapped[int]
    total_points: Mapped[float]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    snapshot_hash: Mapped[str | None] = mapped_column(String(64))
    report: Mapped[dict[str, Any]] = mapped_column(JSON)

    run: Mapped[AssemblyRun] = relationship(back_populates="papers")
    items: Mapped[list["PaperItem"]] = relationship(back_populates="paper", order_by="PaperItem.position",
                                                    cascade="all, delete-orphan", lazy="selectin")
    tasks: Mapped[list["PaperTask"]] = relationship(back_populates="paper", order_by="PaperTask.position",
                                                    cascade="all, delete-orphan", lazy="selectin")


class PaperItem(Base):
    """One position of a paper: the exact item version, its points and its key at assembly."""

    __tablename__ = "paper_items"
    __table_args__ = (UniqueConstraint("paper_id", "position"), UniqueConstraint("paper_id", "item_version_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    item_version_id: Mapped[int] = mapped_column(ForeignKey("item_versions.id"), index=True)
    item_type: Mapped[str] = mapped_column(String(20))
    element_code: Mapped[str] = mapped_column(String(32))
    points: Mapped[float]
    key: Mapped[list[str]] = mapped_column(JSON)

    paper: Mapped[Paper] = relationship(back_populates="items")


class PaperTask(Base):
    """One task of a skill or review paper: the task as drawn, snapshotted whole
    (``itembank.blueprint.task_to_dict``), so the paper never changes with a later blueprint."""

    __tablename__ = "paper_tasks"
    __table_args__ = (UniqueConstraint("paper_id", "position"), UniqueConstraint("paper_id", "task_code"))

    id: Mapped[int] = mapped_column(primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    module_code: Mapped[str] = mapped_column(String(32))
    task_code: Mapped[str] = mapped_column(String(32))
    points: Mapped[float]
    content: Mapped[dict[str, Any]] = mapped_column(JSON)

    paper: Mapped[Paper] = relationship(back_populates="tasks")
