"""The bank report of one blueprint (题库覆盖): approved items per element against the minimum,
key balance, difficulty spread, near-duplicates and every item's findings (seed Art. 24, 34)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from examsvc.bank.models import ExamBlueprint
from examsvc.bank.service import blueprint_of, usable_versions
from itembank.blueprint import Blueprint
from itembank.items import content_from_dict
from itembank.spec import BankReport, SpecConfig, check_bank


@dataclass(frozen=True)
class Coverage:
    blueprint: Blueprint
    report: BankReport
    minimum: int
    approved: int

    def rows(self) -> list[tuple[str, str, str, int, bool]]:
        """One row per element: code, name, importance, approved items, short of the minimum."""
        counts = self.report.items_per_element
        return [(e.code, e.name, e.importance, counts.get(e.code, 0), counts.get(e.code, 0) < self.minimum)
                for e in self.blueprint.elements()]


def coverage(session: Session, blueprint: ExamBlueprint, config: SpecConfig | None = None) -> Coverage:
    """Check the approved, unretired bank of ``blueprint`` against its latest version."""
    model = blueprint_of(blueprint.latest)
    minimum = model.paper.min_approved_items_per_element
    versions = usable_versions(session, blueprint.id)
    items = [(str(v.item_id), content_from_dict(v.content)) for v in versions]
    report = check_bank(items, min_items_per_element={code: minimum for code in model.element_codes},
                        element_codes=set(model.element_codes), config=config or SpecConfig())
    return Coverage(model, report, minimum, len(items))
