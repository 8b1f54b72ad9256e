"""Certificate numbers (证书编号) and the serial counters behind them.

Rule (人社鉴发〔2019〕2号, national coding rule for skill level certificates): 22 characters =
the institution code (13, ``^[YS]\\d{12}$``) + the issue year (2 digits) + the level digit
(1 = 一级/高级技师 … 5 = 五级/初级工) + a 6-digit serial, no check digit:
``^[YS]\\d{12}\\d{2}[1-5]\\d{6}$``. The serial is counted per institution, issue year and level
(the reset rule is not published; this is the configurable default of shared/domain.md). A
number is never handed out twice, even after its certificate is voided.

The year is the issue date's year in Beijing time (UTC+8), whatever the server's zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import and_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from examsvc import clock
from examsvc.certificates.models import CertificateSerial
from examsvc.errors import Conflict, ValidationFailed
from itembank.errors import InvalidValue
from itembank.identifiers import to_half_width
from itembank.levels import Level, parse_level

NUMBER_LENGTH = 22
NUMBER_PATTERN = r"^[YS]\d{12}\d{2}[1-5]\d{6}$"
_NUMBER = re.compile(r"[YS][0-9]{12}[0-9]{2}[1-5][0-9]{6}")
MAX_SERIAL = 999_999
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")

_RULE_ZH = "证书编号为 22 位：评价机构代码（13 位）+ 发证年份（2 位）+ 等级代码（1 位，1-5）+ 顺序号（6 位）"
_RULE_EN = ("a certificate number has 22 characters: the institution code (13), the issue year (2), "
            "the level digit (1-5) and a 6-digit serial")


def beijing_date(moment: datetime | None = None) -> date:
    """The calendar date in Beijing at ``moment`` (default: the service clock's now)."""
    return (moment or clock.now()).astimezone(BEIJING).date()


def level_digit(level: Level | str) -> int:
    """The level's digit in a certificate number, or a refusal citing the number rule.

    The new-eight levels outside the five national ones (学徒工, 特级技师, 首席技师) have no digit
    in the national coding rule, so no national certificate number can be formed for them.
    """
    try:
        parsed = parse_level(level)
    except InvalidValue as exc:
        raise ValidationFailed.from_invalid_value(exc) from None
    digit = parsed.certificate_digit
    if digit is None:
        raise ValidationFailed(
            f"{parsed.name_zh}没有全国统一的等级代码，不能生成证书编号（{_RULE_ZH}，等级代码仅有一级至五级）",
            f"{parsed.name_en} has no level digit in the national certificate number rule ({_RULE_EN}; "
            "only levels 1 to 5 have a digit), so no certificate number can be formed",
            field="level", code="certificate.level_without_digit")
    return digit


def format_number(institution_code: str, year: int, digit: int, serial: int) -> str:
    """The 22-character number; ``year`` is the four-digit issue year."""
    if not 1 <= serial <= MAX_SERIAL:
        raise ValueError(f"serial {serial} outside 1..{MAX_SERIAL}")
    return f"{institution_code}{year % 100:02d}{digit}{serial:06d}"


@dataclass(frozen=True)
class CertificateNumber:
    """A well-formed number, split into its parts."""

    number: str
    institution_code: str
    year2: int
    level_digit: int
    serial: int


def normalise_number(text: str) -> str:
    """Strip spaces (also inside), convert full-width characters and upper-case."""
    return "".join(to_half_width(str(text)).split()).upper()


def parse_number(text: str) -> CertificateNumber:
    """Split a certificate number into its parts, or refuse it naming the rule.

    Raises
    ------
    ValidationFailed
        ``field="number"``, code ``certificate_number.format``.
    """
    number = normalise_number(text)
    if not _NUMBER.fullmatch(number):
        shown = number if len(number) <= 40 else number[:40] + "…"
        raise ValidationFailed(f"证书编号格式不正确：{shown!r}（{_RULE_ZH}）", f"malformed certificate number {shown!r}: "
                               f"{_RULE_EN}", field="number", code="certificate_number.format")
    return CertificateNumber(number, number[:13], int(number[13:15]), int(number[15]), int(number[16:]))


def allocate_serials(session: Session, institution_id: int, year: int, digit: int, count: int = 1) -> int:
    """Reserve ``count`` consecutive serials for (institution, year, level digit); return the first.

    One atomic statement per call: ``UPDATE certificate_serials SET next_serial = next_serial +
    count ... RETURNING next_serial``, after an ``INSERT ... ON CONFLICT DO NOTHING`` that creates
    the counter at 1 the first time. On PostgreSQL the UPDATE holds the counter's row lock until
    the transaction ends, so concurrent issuers queue on it and never see the same value; a
    rolled-back issue gives its serials back, so the serials stay contiguous.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    table = CertificateSerial.__table__
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(table).values(institution_id=institution_id, year=year, level_digit=digit, next_serial=1)
                    .on_conflict_do_nothing(index_elements=["institution_id", "year", "level_digit"]))
    after = session.execute(
        update(table)
        .where(and_(table.c.institution_id == institution_id, table.c.year == year, table.c.level_digit == digit))
        .values(next_serial=table.c.next_serial + count)
        .returning(table.c.next_serial)
    ).scalar_one()
    first = after - count
    if after - 1 > MAX_SERIAL:
        raise Conflict(f"{year}年该等级的证书顺序号已用尽（最多 {MAX_SERIAL} 个，{_RULE_ZH}）",
                       f"the 6-digit serials for {year} and level digit {digit} are used up ({MAX_SERIAL} at most)",
                       field="serial", code="certificate.serials_exhausted")
    return first
