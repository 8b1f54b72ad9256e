"""Occupations (职业) that may be certified, and the reference file that lists them.

Source: seed regulation 内人社办发〔2024〕53号 Art. 6 (第六条): only skill occupations (工种) in major
categories 3, 4, 5 and 6 of the current National Occupational Classification (职业分类大典, 2022)
and of the new occupations published by the ministry; no invented occupations or levels.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import IO, Iterable

from itembank.errors import InvalidValue, ItemBankError
from itembank.identifiers import to_half_width
from itembank.levels import FIVE_LEVELS, Level, parse_level

#: Pattern of a certifiable occupation code, ``N-NN-NN-NN`` with N in 3-6 (match ASCII digits).
OCCUPATION_CODE_RE = r"^[3-6]-\d{2}-\d{2}-\d{2}$"
_CODE_SHAPE = re.compile(r"([1-8])-[0-9]{2}-[0-9]{2}-[0-9]{2}")
_CERTIFIABLE_CATEGORIES = frozenset({3, 4, 5, 6})
# Dashes people type for "-": hyphen, non-breaking hyphen, figure dash, en/em dash, horizontal
# bar, minus sign, small and full-width hyphen-minus.
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"})

COLUMNS = ("code", "name", "major_category", "levels", "source")


def validate_occupation_code(code: str) -> str:
    """Return the canonical occupation code (职业编码) or raise.

    Rule (seed Art. 6): code ``N-NN-NN-NN`` of the 2022 classification, major category (first
    digit) 3, 4, 5 or 6 — categories 1, 2, 7 and 8 (officials, professionals, military, other)
    cannot be certified. Surrounding whitespace is removed and full-width digits and dash
    characters become ASCII.

    Raises
    ------
    InvalidValue
        ``field="occupation_code"``; code ``"occupation_code.format"`` for anything not shaped
        like a code of the classification, ``"occupation_code.major_category"`` for categories
        1, 2, 7, 8.
    """
    if not isinstance(code, str):
        raise InvalidValue("occupation_code", "occupation_code.type",
                           f"职业编码应为文本，实际为 {type(code).__name__}",
                           f"expected text, got {type(code).__name__}")
    canonical = to_half_width(code).translate(_DASHES).strip()
    shape = _CODE_SHAPE.fullmatch(canonical)
    if shape is None:
        raise InvalidValue(
            "occupation_code", "occupation_code.format",
            f"职业编码格式不正确：{canonical!r}（应为 N-NN-NN-NN，如 4-01-02-01）",
            f"invalid occupation code {canonical!r}: expected N-NN-NN-NN such as 4-01-02-01",
        )
    category = int(shape.group(1))
    if category not in _CERTIFIABLE_CATEGORIES:
        raise InvalidValue(
            "occupation_code", "occupation_code.major_category",
            f"职业编码 {canonical} 属于第{category}大类；根据第六条，只能认定第三、四、五、六大类中的技能类职业",
            f"occupation {canonical} is in major category {category}; under Art. 6 only skill "
            "occupations of major categories 3-6 can be certified",
        )
    return canonical


@dataclass(frozen=True)
class Occupation:
    """One certifiable occupation: canonical code, Chinese name, major category (3-6) and the
    levels its national standard defines, lowest first. ``source`` records where the row was
    checked and does not take part in equality."""

    code: str
    name: str
    major_category: int
    levels: tuple[Level, ...]
    source: str = field(default="", compare=False)


@dataclass(frozen=True)
class RowError:
    """A problem in one cell of an occupations file; ``row`` is the 1-based line number (the
    header is line 1). ``message`` is Chinese, ``message_en`` English."""

    row: int
    column: str
    message: str
    message_en: str = ""
    code: str = ""

    def __str__(self) -> str:
        return f"line {self.row}, {self.column}: {self.message_en or self.message}"


class OccupationFileError(ItemBankError):
    """An occupations file with one or more bad rows; ``errors`` lists every one of them."""

    def __init__(self, errors: Iterable[RowError]):
        self.errors: list[RowError] = list(errors)
        super().__init__(f"{len(self.errors)} error(s) in the occupations file: "
                         + "; ".join(str(error) for error in self.errors))


def _parse_row(cells: dict[str, str], line: int,
               seen: dict[str, int]) -> tuple[Occupation | None, list[RowError]]:
    """Check every cell of one row; ``seen`` maps codes already read to their line."""
    errors: list[RowError] = []

    def bad(column: str, message: str, message_en: str, code: str) -> None:
        errors.append(RowError(line, column, message, message_en, code))

    code = None
    try:
        code = validate_occupation_code(cells["code"])
    except InvalidValue as exc:
        bad("code", exc.message, exc.message_en, exc.code)
    if code is not None:
        if code in seen:
            bad("code", f"职业编码 {code} 与第 {seen[code]} 行重复",
                f"duplicate code {code}, first on line {seen[code]}", "code.duplicate")
        else:
            seen[code] = line
    name = cells["name"].strip()
    if not name:
        bad("name", "职业名称不能为空", "the name is empty", "name.required")
    category = cells["major_category"].strip()
    if not (category.isascii() and category.isdigit()):
        bad("major_category", f"大类应为数字：{category!r}",
            f"major category must be a number, got {category!r}", "major_category.format")
    elif code is not None and int(category) != int(code[0]):
        bad("major_category", f"大类 {category} 与职业编码 {code} 的首位不一致",
            f"major category {category} does not match the code {code}", "major_category.mismatch")
    levels: list[Level] = []
    for text in cells["levels"].split("|"):
        try:
            level = parse_level(text)
        except InvalidValue:
            level = None
        if level not in FIVE_LEVELS:
            bad("levels", f"未知的等级：{text!r}（只能是 5、4、3、2、1）",
                f"unknown level {text!r}: use 5, 4, 3, 2 or 1", "levels.unknown")
        elif level in levels:
            bad("levels", f"等级 {text} 重复", f"level {text} is listed twice", "levels.duplicate")
        else:
            levels.append(level)
    if errors:
        return None, errors
    assert code is not None
    levels.sort(key=lambda level: level.rank)
    return Occupation(code, name, int(category), tuple(levels), cells["source"].strip()), []


def _read_rows(stream: IO[str]) -> tuple[list[Occupation], list[RowError]]:
    reader = csv.reader(stream)
    header = next(reader, None)
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]  # a text stream opened without utf-8-sig keeps the BOM
    if header is None or tuple(cell.strip() for cell in header) != COLUMNS:
        return [], [RowError(1, "header", f"表头应为 {','.join(COLUMNS)}",
                             f"the header must be {','.join(COLUMNS)}", "header.invalid")]
    occupations: list[Occupation] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    line = reader.line_num
    for row in reader:
        start, line = line + 1, reader.line_num  # a quoted cell may span several lines
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(COLUMNS):
            errors.append(RowError(start, "row", f"应有 {len(COLUMNS)} 列，实际为 {len(row)} 列",
                                   f"expected {len(COLUMNS)} columns, got {len(row)}",
                                   "row.column_count"))
            continue
        occupation, row_errors = _parse_row(dict(zip(COLUMNS, row)), start, seen)
        errors.extend(row_errors)
        if occupation is not None:
            occupations.append(occupation)
    return occupations, errors


def load_occupations(source: str | os.PathLike | IO[str]) -> list[Occupation]:
    """Read an occupations CSV file: header ``code,name,major_category,levels,source``.

    ``levels`` lists the national levels of the occupation separated by ``|`` (``5|4|3|2|1``);
    the extra employer levels of Art. 20 are positions, not part of an occupation's standard, so
    they are refused here. The file is all-or-nothing: every bad row is reported at once.

    Parameters
    ----------
    source : path or text file object
        UTF-8 with or without a byte-order mark.

    Returns
    -------
    list of Occupation
        In file order; codes canonical, levels lowest first.

    Raises
    ------
    OccupationFileError
        With ``errors`` listing each bad cell (line, column, message): bad or non-certifiable
        code, empty name, major category not matching the code's first digit, unknown or
        repeated level, duplicate code, wrong header or column count.
    """
    if isinstance(source, (str, os.PathLike)):
        with open(source, encoding="utf-8-sig", newline="") as stream:
            occupations, errors = _read_rows(stream)
    else:
        occupations, errors = _read_rows(source)
    if errors:
        raise OccupationFileError(errors)
    return occupations


@lru_cache(maxsize=1)
def default_occupations() -> tuple[Occupation, ...]:
    """The occupations shipped in ``itembank/data/occupations.csv``, read once and cached.

    A tuple, so the cached copy cannot be changed by a caller.
    """
    text = resources.files("itembank").joinpath("data/occupations.csv").read_text("utf-8-sig")
    return tuple(load_occupations(io.StringIO(text, newline="")))


def get_occupation(code: str, occupations: Iterable[Occupation] | None = None) -> Occupation:
    """The occupation with ``code`` (normalised first) among ``occupations`` (default: shipped).

    Raises
    ------
    InvalidValue
        ``field="occupation_code"``: a format or category code from
        :func:`validate_occupation_code`, or ``"occupation_code.unknown"`` when not listed.
    """
    canonical = validate_occupation_code(code)
    for occupation in default_occupations() if occupations is None else occupations:
        if occupation.code == canonical:
            return occupation
    raise InvalidValue("occupation_code", "occupation_code.unknown",
                       f"职业目录中没有职业编码 {canonical}",
                       f"occupation {canonical} is not in the list")
