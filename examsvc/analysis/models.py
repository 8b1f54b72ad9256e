"""Analysis runs and the item statistics they produce.

A run analyses the theory attempts of one or more sessions of one blueprint. Its
:class:`ItemStatistic` rows are written once, when the run succeeds, and never change: a re-run
adds new rows, so the history of every item version is kept and "the latest" is simply the row
with the highest id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from examsvc.db import Base, UTCDateTime


class AnalysisRun(Base):
    __tablename__ = "analysis_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    blueprint_id: Mapped[int] = mapped_column(ForeignKey("exam_blueprints.id"), index=True)
    session_ids: Mapped[list[int]] = mapped_column(JSON)
    institution_ids: Mapped[list[int]] = mapped_column(JSON)
    trigger: Mapped[str] = mapped_column(String(16))          # confirmation | manual | cli
    status: Mapped[str] = mapped_column(String(16), index=True)  # queued | running | done | failed
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    n_examinees: Mapped[int] = mapped_column(default=0)
    n_items: Mapped[int] = mapped_column(default=0)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)       # thresholds, IRT model, DIF minimum group
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # per form: test statistics, curves, notes
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AnalysisRunSession(Base):
    """Which sessions a run analysed (queried by session: "the runs that include session 12")."""

    __tablename__ = "analysis_run_sessions"
    __table_args__ = (UniqueConstraint("run_id", "session_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("analysis_runs.id"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), index=True)


class ItemStatistic(Base):
    """The statistics of one item version in one run (immutable).

    ``discrimination`` is the corrected item-rest correlation; IRT parameters are in the logistic
    metric of the run's model; ``dif`` maps each grouping variable (``language``, ``gender``,
    ``institution``) to its worst ETS class and MH D-DIF; ``flags`` are the library's
    :class:`~itembank.psychometrics.ItemFlag` as dicts; ``distractors`` is the option table with
    the option trace lines; ``details`` holds every other statistic and the per-form rows.
    """

    __tablename__ = "item_statistics"
    __table_args__ = (UniqueConstraint("run_id", "item_version_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("analysis_runs.id"), index=True)
    item_version_id: Mapped[int] = mapped_column(ForeignKey("item_versions.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    item_type: Mapped[str] = mapped_column(String(20))
    n: Mapped[int]
    n_missing: Mapped[int] = mapped_column(default=0)
    facility: Mapped[float | None]
    discrimination: Mapped[float | None]
    point_biserial: Mapped[float | None]
    discrimination_index: Mapped[float | None]
    irt_model: Mapped[str | None] = mapped_column(String(8))
    irt_a: Mapped[float | None]
    irt_a_se: Mapped[float | None]
    irt_b: Mapped[float | None]
    irt_b_se: Mapped[float | None]
    irt_c: Mapped[float | None]
    irt_c_se: Mapped[float | None]
    infit: Mapped[float | None]
    outfit: Mapped[float | None]
    dif: Mapped[dict[str, Any]] = mapped_column(JSON)
    flags: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    distractors: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def flag_codes(self) -> list[str]:
        return sorted({f["code"] for f in self.flags})


@event.listens_for(ItemStatistic, "before_update")
def _statistics_are_immutable(_mapper: Any, _connection: Any, target: ItemStatistic) -> None:
    raise RuntimeError(f"item statistic {target.id} is immutable: a re-run adds new rows")
