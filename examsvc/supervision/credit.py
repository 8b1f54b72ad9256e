"""Credit grading of institutions from supervisors' findings (Art. 39), for differentiated supervision.

Over the findings filed in the last ``CREDIT_WINDOW_DAYS``, an institution starts at 100 and loses
``CREDIT_PROBLEM_POINTS`` per checklist item found a problem (``CREDIT_SERIOUS_POINTS`` for the
items in ``CREDIT_SERIOUS_ITEMS``), never below 0. ``CREDIT_GRADE_MINIMUMS`` are the lowest scores
of grades A, B and C (below: D).

The grade sets how closely an institution is supervised (差异化监管):
``CREDIT_INSPECTIONS_PER_YEAR`` are the inspections per year for grades A-D, so the next one falls
due ``365 // per_year`` days after the last inspection (the last finding filed on one of its
sessions, however old; never inspected: counted from its filing's publication). An institution past
that day is overdue (:func:`overdue`). ``CREDIT_DRAW_WEIGHTS`` are the weights of grades A-D in an
inspection draw weighted by credit (:func:`draw_weights`): lower credit, likelier to be drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from examsvc import clock
from examsvc.errors import ConfigError
from examsvc.institutions.models import Institution, InstitutionStatus
from examsvc.supervision.inspections import CHECKLIST
from examsvc.supervision.people_models import Finding

GRADES = ("A", "B", "C", "D")


def check_settings(config: Mapping[str, Any]) -> None:
    minimums = config["CREDIT_GRADE_MINIMUMS"]
    if len(minimums) != 3 or list(minimums) != sorted(minimums, reverse=True):
        raise ConfigError(f"setting CREDIT_GRADE_MINIMUMS must be 3 descending scores (A, B, C), got {minimums!r}")
    per_year = config["CREDIT_INSPECTIONS_PER_YEAR"]
    if len(per_year) != 4 or any(not isinstance(n, int) or n < 1 for n in per_year):
        raise ConfigError(f"setting CREDIT_INSPECTIONS_PER_YEAR must be 4 whole numbers ≥ 1 (A-D), got {per_year!r}")
    weights = config["CREDIT_DRAW_WEIGHTS"]
    if (len(weights) != 4 or any(not isinstance(w, int) or isinstance(w, bool) or w < 1 for w in weights)
            or list(weights) != sorted(weights)):
        raise ConfigError("setting CREDIT_DRAW_WEIGHTS must be 4 whole numbers ≥ 1 (A-D), none smaller than the one "
                          f"before (lower credit, likelier drawn), got {weights!r}")
    unknown = set(config["CREDIT_SERIOUS_ITEMS"]) - set(CHECKLIST)
    if unknown:
        raise ConfigError(f"setting CREDIT_SERIOUS_ITEMS names unknown checklist items: {sorted(unknown)}")


@dataclass(frozen=True)
class Credit:
    institution_id: int
    score: float
    grade: str
    findings: int
    problems: int
    inspections_per_year: int
    last_inspected: date | None
    next_due: date
    institution_name: str = ""
    draw_weight: int = 1
    overdue_days: int = 0     # days past next_due (0: not overdue)


def grade_for(score: float, config: Mapping[str, Any]) -> str:
    for grade, minimum in zip(GRADES, config["CREDIT_GRADE_MINIMUMS"]):
        if score >= minimum:
            return grade
    return "D"


def score_findings(findings: list[Finding], config: Mapping[str, Any]) -> tuple[float, int]:
    serious = set(config["CREDIT_SERIOUS_ITEMS"])
    lost, problems = 0.0, 0
    for finding in findings:
        for key, verdict in finding.items.items():
            if not verdict.get("ok", True):
                problems += 1
                lost += config["CREDIT_SERIOUS_POINTS"] if key in serious else config["CREDIT_PROBLEM_POINTS"]
    return max(0.0, 100.0 - lost), problems


def credit_table(session: Session, config: Mapping[str, Any], today: date | None = None) -> list[Credit]:
    """Every active institution's credit, lowest score first."""
    zone = ZoneInfo(config.get("TIMEZONE") or "Asia/Shanghai")
    today = today or clock.now().astimezone(zone).date()
    since = clock.now() - timedelta(days=config["CREDIT_WINDOW_DAYS"])
    by_institution: dict[int, list[Finding]] = {}
    for finding in session.scalars(select(Finding).where(Finding.filed_at >= since)):
        by_institution.setdefault(finding.institution_id, []).append(finding)
    last_finding = dict(session.execute(select(Finding.institution_id, func.max(Finding.filed_at))
                                        .group_by(Finding.institution_id)).all())
    table = []
    for institution_id, name, published_on in session.execute(
            select(Institution.id, Institution.name, Institution.published_on)
            .where(Institution.status == InstitutionStatus.ACTIVE.value).order_by(Institution.id)):
        findings = by_institution.get(institution_id, [])
        score, problems = score_findings(findings, config)
        grade = grade_for(score, config)
        index = GRADES.index(grade)
        per_year = config["CREDIT_INSPECTIONS_PER_YEAR"][index]
        last = last_finding.get(institution_id)
        last_day = _aware(last).astimezone(zone).date() if last else None
        next_due = (last_day or published_on) + timedelta(days=365 // per_year)
        table.append(Credit(institution_id, score, grade, len(findings), problems, per_year, last_day, next_due,
                            name, config["CREDIT_DRAW_WEIGHTS"][index], max(0, (today - next_due).days)))
    return sorted(table, key=lambda c: (c.score, c.institution_id))


def _aware(moment: datetime) -> datetime:
    """``max()`` over a UTC column comes back naive on SQLite: it is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def overdue(session: Session, config: Mapping[str, Any], today: date | None = None) -> list[Credit]:
    """Institutions past the day their grade's inspection frequency set, longest overdue first."""
    late = [c for c in credit_table(session, config, today) if c.overdue_days > 0]
    return sorted(late, key=lambda c: (-c.overdue_days, c.score, c.institution_id))


def draw_weights(session: Session, config: Mapping[str, Any], institution_ids: list[int]) -> dict[int, int]:
    """Each institution's weight in an inspection draw, from its credit grade (``CREDIT_DRAW_WEIGHTS``);
    one not graded (not active) weighs as grade A."""
    by_id = {c.institution_id: c.draw_weight for c in credit_table(session, config)}
    return {i: by_id.get(i, config["CREDIT_DRAW_WEIGHTS"][0]) for i in institution_ids}
