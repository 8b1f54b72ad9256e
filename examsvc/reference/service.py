"""Loading reference data into the database."""

from __future__ import annotations

from typing import Iterable

from sqlalchemy.orm import Session

from examsvc.audit.service import record
from examsvc.reference.models import Occupation
from itembank.occupations import Occupation as OccupationData
from itembank.occupations import default_occupations


def load_occupations(session: Session, occupations: Iterable[OccupationData] | None = None,
                     actor: object = "system") -> int:
    """Insert or update occupations (default: the catalogue shipped with :mod:`itembank`)."""
    rows = list(occupations if occupations is not None else default_occupations())
    for item in rows:
        levels = "|".join(level.value for level in item.levels)
        existing = session.get(Occupation, item.code)
        if existing is None:
            session.add(Occupation(code=item.code, name=item.name, major_category=item.major_category, levels=levels))
        else:
            existing.name, existing.major_category, existing.levels = item.name, item.major_category, levels
    session.flush()
    record(session, actor, "reference.occupations_load", ("occupations", None), {"count": len(rows)})
    return len(rows)
