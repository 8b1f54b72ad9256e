"""Vocational skill levels (职业技能等级) and who may certify which.

Source: 内人社办发〔2024〕53号 (the seed regulation), Art. 20 (第二十条): skill levels are
初级工 (五级), 中级工 (四级), 高级工 (三级), 技师 (二级) and 高级技师 (一级). Employers (用人单位)
doing self-evaluation may add 学徒工 below and 特级技师, 首席技师 above, forming the "new eight
levels" (新八级工); social training-evaluation organisations (社会培训评价组织) use the five levels.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum

from itembank.errors import InvalidValue


class Level(StrEnum):
    """A skill level; the value is the stable stored form (``"5"`` … ``"1"``, or a word).

    A :class:`enum.StrEnum` (so both a ``str`` and an ``Enum``): ``str(Level.L4) == "4"`` and
    ``f"{Level.L4}" == "4"``. Compare levels by :attr:`rank`, never with ``<`` on the strings.
    """

    APPRENTICE = "apprentice"
    L5 = "5"
    L4 = "4"
    L3 = "3"
    L2 = "2"
    L1 = "1"
    SPECIAL = "special"
    CHIEF = "chief"

    @property
    def name_zh(self) -> str:
        """Chinese name as printed on certificates, e.g. ``"四级/中级工"`` (人社鉴发〔2021〕1号)."""
        return _NAMES[self][0]

    @property
    def name_en(self) -> str:
        """English name, e.g. ``"Level 4 / Intermediate worker"``."""
        return _NAMES[self][1]

    @property
    def rank(self) -> int:
        """Position from the bottom: apprentice 0, 五级 1, … 一级 5, 特级技师 6, 首席技师 7."""
        return _RANKS[self]

    @property
    def certificate_digit(self) -> int | None:
        """Level digit in a certificate number (1 = 一级 … 5 = 五级); ``None`` outside the five."""
        return int(self.value) if self.value.isdigit() else None


_NAMES: dict[Level, tuple[str, str]] = {
    Level.APPRENTICE: ("学徒工", "Apprentice"),
    Level.L5: ("五级/初级工", "Level 5 / Junior worker"),
    Level.L4: ("四级/中级工", "Level 4 / Intermediate worker"),
    Level.L3: ("三级/高级工", "Level 3 / Senior worker"),
    Level.L2: ("二级/技师", "Level 2 / Technician"),
    Level.L1: ("一级/高级技师", "Level 1 / Senior technician"),
    Level.SPECIAL: ("特级技师", "Special-grade technician"),
    Level.CHIEF: ("首席技师", "Chief technician"),
}

#: The five national levels, lowest first (seed Art. 20).
FIVE_LEVELS: tuple[Level, ...] = (Level.L5, Level.L4, Level.L3, Level.L2, Level.L1)
#: The "new eight levels" open to employers doing self-evaluation, lowest first (seed Art. 20).
EIGHT_LEVELS: tuple[Level, ...] = (Level.APPRENTICE, *FIVE_LEVELS, Level.SPECIAL, Level.CHIEF)

_RANKS: dict[Level, int] = {level: rank for rank, level in enumerate(EIGHT_LEVELS)}


class InstitutionKind(StrEnum):
    """The two kinds of evaluation institution (评价机构) of the seed regulation.

    The :attr:`code_prefix` is the first character of the institution code (人社鉴发〔2019〕2号).
    """

    EMPLOYER = "employer"
    SOCIAL_ORGANISATION = "social_organisation"

    @property
    def code_prefix(self) -> str:
        """``"Y"`` for 用人单位, ``"S"`` for 社会培训评价组织."""
        return "Y" if self is InstitutionKind.EMPLOYER else "S"

    @property
    def name_zh(self) -> str:
        """Chinese name: 用人单位 or 社会培训评价组织."""
        return "用人单位" if self is InstitutionKind.EMPLOYER else "社会培训评价组织"

    @property
    def name_en(self) -> str:
        """English name."""
        return "employer" if self is InstitutionKind.EMPLOYER else "social training-evaluation organisation"


def parse_institution_kind(kind: InstitutionKind | str) -> InstitutionKind:
    """Return ``kind`` as an :class:`InstitutionKind` (from a member or its value).

    Raises
    ------
    InvalidValue
        ``field="institution_kind"``, ``code="institution_kind.unknown"`` otherwise.
    """
    try:
        return InstitutionKind(kind)
    except ValueError:
        raise InvalidValue(
            "institution_kind", "institution_kind.unknown",
            f"未知的评价机构类型：{kind!r}", f"unknown institution kind {kind!r}",
        ) from None


def allowed_levels(kind: InstitutionKind | str) -> tuple[Level, ...]:
    """Levels an institution of ``kind`` may certify, lowest first.

    Rule (seed Art. 20, 第二十条): social training-evaluation organisations use the five levels
    (:data:`FIVE_LEVELS`); employers doing self-evaluation may use the new eight
    (:data:`EIGHT_LEVELS`). Which occupations and levels one institution actually filed is a
    further restriction (Art. 14) kept by the service layer.

    Raises
    ------
    InvalidValue
        ``field="institution_kind"`` when ``kind`` is not an :class:`InstitutionKind` value.
    """
    return EIGHT_LEVELS if parse_institution_kind(kind) is InstitutionKind.EMPLOYER else FIVE_LEVELS


def check_level_allowed(kind: InstitutionKind | str, level: Level | str | int) -> Level:
    """Return the parsed ``level`` if an institution of ``kind`` may certify it (seed Art. 20).

    Raises
    ------
    InvalidValue
        ``field="level"``, code ``"level.unknown"`` for an unparseable level, or
        ``"level.not_allowed_for_kind"`` when the level is outside :func:`allowed_levels`.
    """
    kind = parse_institution_kind(kind)
    parsed = parse_level(level)
    if parsed not in allowed_levels(kind):
        raise InvalidValue(
            "level", "level.not_allowed_for_kind",
            f"根据第二十条，{kind.name_zh}不能开展{parsed.name_zh}的认定"
            "（社会培训评价组织按五个技能等级开展评价，学徒工、特级技师、首席技师仅限开展自主评价的用人单位）",
            f"under Art. 20 a {kind.name_en} may not certify {parsed.name_en}; apprentice, "
            "special-grade and chief technician are for employers doing self-evaluation only",
        )
    return parsed


_CHINESE_DIGITS = {"5": "五", "4": "四", "3": "三", "2": "二", "1": "一"}


def _aliases() -> dict[str, Level]:
    table: dict[str, Level] = {}
    for level in EIGHT_LEVELS:
        names = {level.value, level.name, level.name_zh, level.name_en}
        if level.certificate_digit is not None:
            digit = level.value
            number, title = level.name_zh.split("/")  # "五级", "初级工"
            names |= {f"L{digit}", f"{digit}级", number, title, f"{title}/{number}",
                      f"{title}({number})", f"{number}({title})", f"level {digit}"}
        table.update({name.casefold(): level for name in names})
    return table


_ALIASES = _aliases()


def parse_level(value: Level | str | int) -> Level:
    """Read a level from the forms people and files use.

    Accepts a :class:`Level`; its value (``"5"``, ``"apprentice"``); the member name (``"L5"``,
    ``"CHIEF"``); an int 1-5; ``"5级"``; the Chinese names ``"五级"``, ``"初级工"``,
    ``"五级/初级工"``, ``"初级工(五级)"``, ``"学徒工"``, ``"特级技师"`` …; the English names.
    Matching ignores case, surrounding whitespace and full-width forms (NFKC), and is exact
    otherwise: ``"技师"`` is 二级, ``"高级技师"`` is 一级.

    Raises
    ------
    InvalidValue
        ``field="level"``, ``code="level.unknown"`` for anything else.
    """
    if isinstance(value, Level):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        key = unicodedata.normalize("NFKC", value).strip().casefold()
        level = _ALIASES.get(key)
        if level is not None:
            return level
    raise InvalidValue(
        "level", "level.unknown",
        f"无法识别的职业技能等级：{value!r}（应为学徒工、五级/初级工 … 一级/高级技师、特级技师、首席技师之一）",
        f"unknown skill level {value!r}",
    )
