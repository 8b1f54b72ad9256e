"""Chinese working days (工作日) for the deadlines of violation cases.

Working days follow the State Council's holiday arrangements (法定节假日安排): weekends are rest
days, except the make-up working days (调休上班), and the announced holidays are rest days. The
``chinesecalendar`` package knows the arrangements it was released with (2004-2026 in 1.11);
administrators enter the arrangement of a later year as :class:`CalendarOverride` rows as soon as
the State Council publishes it. A date in a year that neither knows has no answer, and no deadline
is ever computed by guessing: :class:`UnknownCalendarYear` names the year instead.

A year counts as known to the administrators once at least one override lies in it: entering a
year means entering all of its holidays and make-up working days (the form says so). For a year
the package knows, overrides are corrections and win over the package.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Mapping

import chinese_calendar

from examsvc.errors import ServiceError

#: Objection windows of seed Art. 48: from receipt of a written decision, from an announcement.
OBJECTION_DAYS_WRITTEN = 5
OBJECTION_DAYS_ANNOUNCED = 35


class UnknownCalendarYear(ServiceError):
    """A working-day count reached a year whose holiday arrangement nobody has entered."""

    status = 422
    code = "calendar.unknown_year"

    def __init__(self, year: int):
        super().__init__(
            f"{year}年的节假日安排尚未录入：平台不能计算落在该年的工作日期限。请管理员先录入{year}年的法定节假日和调休上班日。",
            f"the holiday arrangement of {year} is not known yet: the platform cannot compute a working-day "
            f"deadline that falls in {year}. An administrator must first enter {year}'s holidays and make-up working days.",
            field="calendar")
        self.year = year


def is_working_day(day: date, overrides: Mapping[date, bool] | None = None,
                   override_years: frozenset[int] | set[int] | None = None) -> bool:
    """Whether ``day`` is a working day in mainland China.

    Parameters
    ----------
    day : date
        The day asked about.
    overrides : mapping of date to bool, optional
        Administrator-entered days: ``True`` a working day, ``False`` a rest day. They win over
        the package.
    override_years : set of int, optional
        Years for which administrators entered the arrangement; defaults to the years of
        ``overrides``. In such a year a day without an override is a working day from Monday to
        Friday.

    Raises
    ------
    UnknownCalendarYear
        When neither the package nor the administrators know ``day``'s year.
    """
    overrides = overrides or {}
    if day in overrides:
        return overrides[day]
    years = override_years if override_years is not None else {d.year for d in overrides}
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:  # the package raises this for a year it has no data for
        if day.year in years:
            return day.weekday() < 5
        raise UnknownCalendarYear(day.year) from None


def add_working_days(start: date, n: int, overrides: Mapping[date, bool] | None = None) -> date:
    """The ``n``-th working day after ``start``: the last day of a working-day period.

    The period starts on the day after the event (receipt of a decision, its announcement): the
    day of the event itself is not counted (《民法典》第二百零一条: 按照年、月、日计算期间的,
    开始的当日不计入, 自下一日开始计算). Counting working days only, weekends and holidays are
    skipped and make-up working days count, so the last day is always a working day (the rule of
    第二百零三条 that a period ending on a holiday ends on the next working day holds by
    construction). The deadline is the end of that day (第二百零三条第二款: 期间的最后一日的截止
    时间为二十四时).

    Formally, with ``W`` the set of working days, the result is the smallest ``d > start`` such
    that ``|{w in W : start < w <= d}| = n``.

    Parameters
    ----------
    start : date
        Day of receipt or announcement (not counted).
    n : int
        Number of working days, at least 1 (5 after receipt, 35 after announcement, seed Art. 48).
    overrides : mapping of date to bool, optional
        Administrator-entered calendar days (see :func:`is_working_day`).

    Returns
    -------
    date
        The last day of the period.

    Raises
    ------
    UnknownCalendarYear
        When the count passes through a year whose arrangement is not known.
    ValueError
        When ``n`` is less than 1.

    References
    ----------
    《中华人民共和国民法典》第二百条至第二百零四条 (计算期间); 国务院办公厅关于节假日安排的通知 (annual).

    Examples
    --------
    A written decision received on Tuesday 30 September 2025: 1-8 October are the National Day
    and Mid-Autumn holidays and Saturday 11 October a make-up working day, so the five working
    days are 9, 10, 11, 13 and 14 October.

    >>> add_working_days(date(2025, 9, 30), 5)
    datetime.date(2025, 10, 14)
    """
    if n < 1:
        raise ValueError("a working-day period has at least one day")
    overrides = overrides or {}
    years = {d.year for d in overrides}
    day, counted = start, 0
    while counted < n:
        day += timedelta(days=1)
        if is_working_day(day, overrides, years):
            counted += 1
    return day


def objection_deadline(delivery: str, delivered_on: date, overrides: Mapping[date, bool] | None = None) -> date:
    """Last day to object to a decision delivered ``"written"`` (received) or ``"announced"`` on a day."""
    days = OBJECTION_DAYS_WRITTEN if delivery == "written" else OBJECTION_DAYS_ANNOUNCED
    return add_working_days(delivered_on, days, overrides)


def package_knows(year: int) -> bool:
    """Whether the installed ``chinesecalendar`` has the arrangement of ``year``."""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True
