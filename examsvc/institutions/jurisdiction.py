"""Who regulates whom: the region (自治区) and the leagues and cities (盟市).

Seed Art. 7-8: the region's regulator takes region-level institutions (and guides the leagues and
cities); a league/city regulator takes the institutions of its league/city. Art. 12: a region-level
institution works in a league/city only with a site filing there, granted by that league/city.
Art. 40: a league/city checks its institutions' certificate data and forwards it to the region.
Art. 43: each level handles violations within its filing authority; Art. 48: an appeal against a
review decision goes to the next level up.

A regulator's role grant carries its jurisdiction. The region, the higher level, covers every
jurisdiction; a league/city covers its own.
"""

from __future__ import annotations

from typing import Any

from examsvc.errors import Forbidden, ValidationFailed
from examsvc.institutions.regions import LEAGUES_AND_CITIES

#: The region's jurisdiction: region-level institutions, and the level above the leagues and cities.
REGION = "自治区"
#: Where an appeal against the region's own review decision goes (outside this platform).
NATIONAL = "人力资源社会保障部"
JURISDICTIONS: tuple[str, ...] = (REGION, *LEAGUES_AND_CITIES)
_REGULATOR = "regulator"


def jurisdiction_of(institution: Any) -> str:
    """A league/city institution belongs to its league/city; a region-level one to the region."""
    return institution.league_city or REGION


def parse_jurisdiction(value: str | None, field: str = "jurisdiction") -> str:
    value = (value or "").strip()
    if value not in JURISDICTIONS:
        raise ValidationFailed("辖区应为自治区或一个盟市", "the jurisdiction is 自治区 or a league/city", field=field)
    return value


def regulator_jurisdictions(user: Any) -> set[str]:
    """The jurisdictions of ``user``'s regulator grants (none for anyone else)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    return {grant.jurisdiction or REGION for grant in user.grants if grant.role == _REGULATOR}


def visible_jurisdictions(user: Any) -> set[str] | None:
    """What a regulator's lists show: ``None`` for the region (everything), else its leagues/cities."""
    held = regulator_jurisdictions(user)
    return None if REGION in held else held


def covers(user: Any, jurisdiction: str) -> bool:
    if isinstance(user, str):  # "cli", "system": the platform's operators on the server itself
        return True
    held = regulator_jurisdictions(user)
    return REGION in held or jurisdiction in held


def require_covers(user: Any, jurisdiction: str, what_zh: str, what_en: str) -> None:
    """Refuse a regulator acting outside its jurisdiction, saying whose matter it is."""
    if not covers(user, jurisdiction):
        raise Forbidden(f"{what_zh}属{jurisdiction}评价监管部门管辖", f"{what_en} is for the regulator of {jurisdiction}",
                        field="jurisdiction", code="outside_jurisdiction")


def require_region(user: Any, what_zh: str, what_en: str) -> None:
    if not isinstance(user, str) and REGION not in regulator_jurisdictions(user):
        raise Forbidden(f"{what_zh}由自治区评价监管部门办理", f"{what_en} is for the region's regulator",
                        field="jurisdiction", code="region_only")


def next_level(jurisdiction: str) -> str:
    """Where an appeal against this jurisdiction's review decision goes (Art. 48)."""
    return NATIONAL if jurisdiction == REGION else REGION
