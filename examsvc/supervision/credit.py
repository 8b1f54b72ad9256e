"""Credit grading of institutions from supervisors' findings (Art. 39), for differentiated supervision.

Over the findings filed in the last ``CREDIT_WINDOW_DAYS``, an institution starts at 100 and loses
``CREDIT_PROBLEM_POINTS`` per checklist item found a problem (``CREDIT_SERIOUS_POINTS`` for the
items in ``CREDIT_SERIOUS_ITEMS``), never below 0. ``CREDIT_GRADE_MINIMUMS`` are the lowest scores
of grades A, B and C (below: D); ``CREDIT_INSPECTIONS_PER_YEAR`` the routine inspections per year
for grades A-D, from which the next inspection falls due after the last finding.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Mapping

from sqlalchemy import select
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
    today = today or clock.now().date()
    since = clock.now() - timedelta(days=config["CREDIT_WINDOW_DAYS"])
    by_institution: dict[int, list[Finding]] = {}
    for finding in session.scalars(select(Finding).where(Finding.filed_at >= since)):
        by_institution.setdefault(finding.institution_id, []).append(finding)
    table = []
    for institution_id in session.scalars(select(Institution.id).where(
            Institution.status == InstitutionStatus.ACTIVE.value).order_by(Institution.id)):
        findings = by_institution.get(institution_id, [])
        score, problems = score_findings(findings, config)
        grade = grade_for(score, config)
        per_year = config["CREDIT_INSPECTIONS_PER_YEAR"][GRADES.index(grade)]
        last = max((f.filed_at for f in findings), default=None)
        last_day = last.date() if last else None
        next_due = last_day + timedelta(days=365 // per_year) if last_day else today
        table.append(Credit(institution_id, score, grade, len(findings), problems, per_year, last_day, next_due))
    return sorted(table, key=lambda c: (c.score, c.institution_id))
