"""Identifiers with a fixed format: evaluation institution codes and mainland resident ID numbers.

Every function normalises first (surrounding whitespace, full-width forms typed by Chinese input
methods, case) and raises :class:`~itembank.errors.InvalidValue` naming the field otherwise.
"""

from __future__ import annotations

import re
from datetime import date

from itembank.errors import InvalidValue
from itembank.levels import InstitutionKind, parse_institution_kind

# Full-width ASCII (U+FF01-U+FF5E) and the ideographic space map one to one onto ASCII. Unlike
# NFKC this leaves look-alikes such as superscripts or circled digits alone, so they stay invalid.
_HALF_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

INSTITUTION_CODE_RE = r"^[YS][0-9]{12}$"
_INSTITUTION_CODE = re.compile(r"[YS][0-9]{12}")

RESIDENT_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
RESIDENT_ID_CHECK_CHARACTERS = "10X98765432"
_EARLIEST_BIRTH_DATE = date(1900, 1, 1)


def to_half_width(text: str) -> str:
    """Map full-width ASCII characters (``"１"``, ``"Ｓ"``, ``"－"``) and U+3000 to ASCII."""
    return text.translate(_HALF_WIDTH)


def _text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidValue(field, f"{field}.type", f"应为文本，实际为 {type(value).__name__}",
                           f"expected text, got {type(value).__name__}")
    return value


def normalise_institution_code(code: str) -> str:
    """Strip whitespace, convert full-width characters to ASCII and upper-case."""
    return to_half_width(_text(code, "institution_code")).strip().upper()


def validate_institution_code(code: str, kind: InstitutionKind | str | None = None) -> str:
    """Return the canonical institution code (评价机构代码) or raise.

    Rule (人社鉴发〔2019〕2号): 13 characters ``^[YS]\\d{12}$`` — ``Y`` employer (用人单位) or
    ``S`` social training-evaluation organisation (社会培训评价组织), a 4-digit ministry code
    (``0000`` when filed with a province), a 2-digit province code (Inner Mongolia ``15``) and a
    6-digit site serial assigned by the province. There is no check digit.

    Parameters
    ----------
    code : str
        The code as typed; normalised by :func:`normalise_institution_code`.
    kind : InstitutionKind, optional
        When given, the prefix must be ``kind.code_prefix``.

    Raises
    ------
    InvalidValue
        ``field="institution_code"``; code ``"institution_code.format"`` or
        ``"institution_code.kind_mismatch"``.
    """
    canonical = normalise_institution_code(code)
    if not _INSTITUTION_CODE.fullmatch(canonical):
        raise InvalidValue(
            "institution_code", "institution_code.format",
            f"评价机构代码格式不正确：{canonical!r}（应为 Y 或 S 加 12 位数字，共 13 位）",
            f"invalid institution code {canonical!r}: expected Y or S followed by 12 digits",
        )
    if kind is not None:
        kind = parse_institution_kind(kind)
        if canonical[0] != kind.code_prefix:
            raise InvalidValue(
                "institution_code", "institution_code.kind_mismatch",
                f"{kind.name_zh}的评价机构代码应以 {kind.code_prefix} 开头：{canonical}",
                f"the code of a {kind.name_en} must start with {kind.code_prefix}: {canonical}",
            )
    return canonical


def institution_kind_of(code: str) -> InstitutionKind:
    """Kind of institution a valid code belongs to, read from its prefix (``Y`` / ``S``)."""
    prefix = validate_institution_code(code)[0]
    return InstitutionKind.EMPLOYER if prefix == "Y" else InstitutionKind.SOCIAL_ORGANISATION


def resident_id_check_character(first17: str) -> str:
    """Check character of a resident ID number from its first 17 digits.

    Rule (GB 11643-1999, ISO 7064 MOD 11-2): ``S = sum(a_i * w_i)`` with weights
    ``7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2`` (``2**(17-i) mod 11``); the check character is
    ``"10X98765432"[S mod 11]``.

    Raises
    ------
    InvalidValue
        ``field="id_number"``, ``code="id_number.characters"`` unless given exactly 17 ASCII digits.
    """
    if not (isinstance(first17, str) and len(first17) == 17 and first17.isascii()
            and first17.isdigit()):
        raise InvalidValue("id_number", "id_number.characters",
                           "计算校验码需要 17 位数字本体码", "the check character needs 17 digits")
    total = sum(int(digit) * weight for digit, weight in zip(first17, RESIDENT_ID_WEIGHTS))
    return RESIDENT_ID_CHECK_CHARACTERS[total % 11]


def normalise_resident_id(value: str) -> str:
    """Strip whitespace, convert full-width characters to ASCII and upper-case a final ``x``."""
    return to_half_width(_text(value, "id_number")).strip().upper()


def _invalid_id(code: str, message: str, message_en: str) -> InvalidValue:
    return InvalidValue("id_number", f"id_number.{code}", message, message_en)


def validate_resident_id(value: str, today: date | None = None) -> str:
    """Return the canonical 18-character mainland resident ID number (居民身份证号码) or raise.

    Rule (GB 11643-1999): 6-digit address code (first digit 1-9), 8-digit birth date
    ``YYYYMMDD`` (positions 7-14), 3-digit sequence code, and a check character computed by
    :func:`resident_id_check_character`. Here the birth date must also be a real date between
    1900-01-01 and ``today``. The old 15-digit numbers are not accepted.

    Parameters
    ----------
    value : str
        The number as typed; normalised by :func:`normalise_resident_id`.
    today : datetime.date, optional
        Latest allowed birth date; defaults to ``date.today()``. Pass the service clock's date.

    Raises
    ------
    InvalidValue
        ``field="id_number"`` with code ``id_number.length``, ``id_number.characters``,
        ``id_number.region``, ``id_number.birth_date`` (not a calendar date),
        ``id_number.birth_date_range`` or ``id_number.check_character``.
    """
    number = normalise_resident_id(value)
    if len(number) != 18:
        raise _invalid_id("length", f"身份证号码应为 18 位，实际为 {len(number)} 位",
                          f"an ID number has 18 characters, got {len(number)}")
    body, check = number[:17], number[17]
    if not (body.isascii() and body.isdigit() and check in "0123456789X"):
        raise _invalid_id("characters", "身份证号码前 17 位应为数字，最后一位应为数字或 X",
                          "the first 17 characters must be digits and the last a digit or X")
    if body[0] == "0":
        raise _invalid_id("region", "身份证号码的地址码不能以 0 开头",
                          "the address code cannot start with 0")
    try:
        born = date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    except ValueError:
        raise _invalid_id("birth_date", f"身份证号码中的出生日期 {body[6:14]} 不是有效日期",
                          f"the birth date {body[6:14]} is not a calendar date") from None
    latest = today if today is not None else date.today()
    if not _EARLIEST_BIRTH_DATE <= born <= latest:
        raise _invalid_id("birth_date_range",
                          f"身份证号码中的出生日期 {born.isoformat()} 不在 1900-01-01 至今之间",
                          f"the birth date {born.isoformat()} is not between 1900-01-01 and today")
    expected = resident_id_check_character(body)
    if check != expected:
        raise _invalid_id("check_character", "身份证号码校验码不正确，请核对号码",
                          "the check character does not match; please re-check the number")
    return number


def birth_date_from_resident_id(value: str, today: date | None = None) -> date:
    """Birth date encoded in a valid resident ID number (validated first)."""
    number = validate_resident_id(value, today)
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def mask_resident_id(value: str) -> str:
    """Masked form for display: first 4, ten ``*``, last 4 (``"1501**********123X"``).

    Works on the normalised value; the check character is not verified so that stored legacy
    values can still be shown.

    Raises
    ------
    InvalidValue
        ``field="id_number"``, ``code="id_number.length"`` unless the value has 18 characters.
    """
    number = normalise_resident_id(value)
    if len(number) != 18:
        raise _invalid_id("length", f"身份证号码应为 18 位，实际为 {len(number)} 位",
                          f"an ID number has 18 characters, got {len(number)}")
    return f"{number[:4]}{'*' * 10}{number[-4:]}"
