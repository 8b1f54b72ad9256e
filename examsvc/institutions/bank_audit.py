"""Bank quality audit (题库审核, seed Art. 24, 34) of one institution: for every blueprint of its
filed scope, elements short of the minimum, spec findings, items flagged by psychometrics,
exposure (items in many locked or used papers) and staleness (the bank not topped up as
sessions consume it). A regulator reads it before ordering the institution to stop certifying.

Banks are kept per blueprint and shared; exposure counts every institution's papers (an item
seen by many candidates is exposed whoever showed it), staleness looks at this institution's
last sessions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from examsvc.bank.coverage import coverage
from examsvc.bank.models import ExamBlueprint, Item, ItemVersion, Review
from examsvc.institutions.models import Institution
from examsvc.papers.models import Paper, PaperItem, PaperStatus
from examsvc.sessions.models import ExamSession, SessionPaper

#: Defaults; the app config may override them (BANK_AUDIT_EXPOSURE_PAPERS, BANK_AUDIT_STALENESS_SESSIONS).
EXPOSURE_PAPERS = 3
STALENESS_SESSIONS = 3


@dataclass(frozen=True)
class Shortfall:
    element_code: str
    element_name: str
    approved: int
    minimum: int


@dataclass
class BlueprintAudit:
    blueprint_id: int
    title: str
    occupation_code: str
    level: str
    component: str
    approved: int = 0
    minimum: int = 0
    shortfalls: list[Shortfall] = field(default_factory=list)
    errors: int = 0
    warnings: int = 0
    flagged_items: list[int] | None = None      # None: no psychometric analysis available
    exposed_items: dict[int, int] = field(default_factory=dict)  # item id -> papers it appears in
    sessions_considered: int = 0
    consumed_items: int = 0
    added_items: int = 0
    problem: str | None = None                   # the blueprint could not be checked at all

    @property
    def stale(self) -> bool:
        """Sessions consumed more items than were approved since the first of them (Art. 24)."""
        return self.sessions_considered > 0 and self.added_items < self.consumed_items

    @property
    def ok(self) -> bool:
        return not (self.shortfalls or self.errors or self.flagged_items or self.stale or self.problem)


def _flagged_hook() -> Callable[[Session, int], list[int]] | None:
    """Psychometric flags from ``examsvc.analysis``: its ``flagged_item_ids(session, blueprint_id)``, or
    the item ids of its ``bank_quality(session, blueprint_id)`` rows; None when neither exists."""
    try:
        from examsvc.analysis import service as analysis
    except ImportError:
        return None
    direct = getattr(analysis, "flagged_item_ids", None)
    if direct is not None:
        return direct
    quality = getattr(analysis, "bank_quality", None)
    if quality is None:
        return None
    return lambda session, blueprint_id: sorted({row.item_id for row in quality(session, blueprint_id)})


def _exposure(session: Session, blueprint_id: int, threshold: int) -> dict[int, int]:
    papers = func.count(func.distinct(PaperItem.paper_id))
    rows = session.execute(
        select(ItemVersion.item_id, papers).join(PaperItem, PaperItem.item_version_id == ItemVersion.id)
        .join(Paper, Paper.id == PaperItem.paper_id).join(Item, Item.id == ItemVersion.item_id)
        .where(Item.blueprint_id == blueprint_id,
               Paper.status.in_([PaperStatus.LOCKED.value, PaperStatus.USED.value]))
        .group_by(ItemVersion.item_id).having(papers >= threshold).order_by(ItemVersion.item_id))
    return {item_id: count for item_id, count in rows}


def _staleness(session: Session, institution_id: int, blueprint_id: int, last: int) -> tuple[int, int, int]:
    """(sessions considered, distinct items their papers used, items approved since the first)."""
    sessions = list(session.execute(
        select(ExamSession.id, ExamSession.created_at).where(ExamSession.institution_id == institution_id,
                                                             ExamSession.blueprint_id == blueprint_id)
        .order_by(ExamSession.exam_date.desc(), ExamSession.id.desc()).limit(last)))
    if not sessions:
        return 0, 0, 0
    since: datetime = min(created for _, created in sessions)
    consumed = session.scalar(
        select(func.count(func.distinct(ItemVersion.item_id))).select_from(SessionPaper)
        .join(PaperItem, PaperItem.paper_id == SessionPaper.paper_id)
        .join(ItemVersion, ItemVersion.id == PaperItem.item_version_id)
        .where(SessionPaper.session_id.in_([sid for sid, _ in sessions]))) or 0
    added = session.scalar(
        select(func.count(func.distinct(Item.id))).select_from(Review)
        .join(ItemVersion, ItemVersion.id == Review.version_id).join(Item, Item.id == ItemVersion.item_id)
        .where(Item.blueprint_id == blueprint_id, Review.decision == "approve", Review.created_at >= since,
               Item.retired_at.is_(None))) or 0
    return len(sessions), consumed, added


def audit_blueprint(session: Session, institution: Institution, blueprint: ExamBlueprint, *,
                    exposure_papers: int = EXPOSURE_PAPERS, staleness_sessions: int = STALENESS_SESSIONS,
                    flagged: Callable[[Session, int], list[int]] | None = None) -> BlueprintAudit:
    audit = BlueprintAudit(blueprint.id, blueprint.title, blueprint.occupation_code, blueprint.level,
                           blueprint.component)
    if blueprint.latest is None:
        audit.problem = "no blueprint version loaded"
        return audit
    report = coverage(session, blueprint)
    audit.approved, audit.minimum = report.approved, report.minimum
    audit.shortfalls = [Shortfall(code, name, have, report.minimum) for code, name, _, have, short in report.rows()
                        if short]
    every = report.report.findings + [f for fs in report.report.item_findings.values() for f in fs]
    audit.errors = sum(f.severity == "error" for f in every)
    audit.warnings = sum(f.severity == "warning" for f in every)
    hook = flagged if flagged is not None else _flagged_hook()
    audit.flagged_items = sorted(hook(session, blueprint.id)) if hook is not None else None
    audit.exposed_items = _exposure(session, blueprint.id, exposure_papers)
    audit.sessions_considered, audit.consumed_items, audit.added_items = _staleness(
        session, institution.id, blueprint.id, staleness_sessions)
    return audit


def audit_institution(session: Session, institution: Institution, **options: Any) -> list[BlueprintAudit]:
    """The audit of every blueprint whose occupation and level the institution is filed for."""
    scope = {(e.occupation_code, e.level) for e in institution.scope}
    blueprints = [b for b in session.scalars(select(ExamBlueprint).order_by(ExamBlueprint.occupation_code,
                                                                            ExamBlueprint.level, ExamBlueprint.component))
                  if (b.occupation_code, b.level) in scope]
    return [audit_blueprint(session, institution, b, **options) for b in blueprints]
