"""Working days across State Council holidays and make-up days (seed Art. 48; 《民法典》第二百零一条)."""

from datetime import date, timedelta

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from examsvc.supervision.workdays import UnknownCalendarYear, add_working_days, is_working_day, objection_deadline

# 2025 National Day and Mid-Autumn: 1-8 October off, Sunday 28 September and Saturday 11 October worked.
# 2026 Spring Festival (package data): 15-23 February off, Saturday 14 and Saturday 28 February worked.


@pytest.mark.parametrize("start, n, expected", [
    (date(2025, 9, 26), 1, date(2025, 9, 28)),    # Saturday off, Sunday 28 September is a make-up day
    (date(2025, 9, 30), 1, date(2025, 10, 9)),    # the whole holiday is skipped
    (date(2025, 9, 30), 5, date(2025, 10, 14)),   # 9, 10, 11 (Saturday, worked), 13, 14
    (date(2025, 9, 29), 5, date(2025, 10, 13)),   # 30 Sep, 9, 10, 11, 13 Oct
    (date(2025, 10, 3), 5, date(2025, 10, 14)),   # receipt during the holiday: counting starts after it
    (date(2026, 2, 13), 1, date(2026, 2, 14)),    # Saturday 14 February is worked before Spring Festival
    (date(2026, 2, 13), 5, date(2026, 2, 27)),    # 14, 24, 25, 26, 27 February
    (date(2026, 2, 13), 6, date(2026, 2, 28)),    # Saturday 28 February is worked too
    (date(2026, 2, 16), 5, date(2026, 2, 28)),    # receipt in the holiday: 24, 25, 26, 27, 28 February
])
def test_holidays_and_make_up_days(start, n, expected):
    assert add_working_days(start, n) == expected


def test_package_data_is_what_the_tests_assume():
    assert chinese_calendar.is_workday(date(2025, 9, 28)) and chinese_calendar.is_workday(date(2025, 10, 11))
    assert all(chinese_calendar.is_holiday(date(2025, 10, d)) for d in range(1, 9))
    assert chinese_calendar.is_workday(date(2026, 2, 14)) and chinese_calendar.is_workday(date(2026, 2, 28))
    assert all(chinese_calendar.is_holiday(date(2026, 2, d)) for d in range(15, 24))


def test_objection_windows():
    # Written decision received Tuesday 30 September 2025: five working days end on 14 October.
    assert objection_deadline("written", date(2025, 9, 30)) == date(2025, 10, 14)
    # Announced Friday 6 February 2026: 9-13 Feb (5), Sat 14 (6), 24-27 (10), Sat 28 (11), four full weeks
    # of March (31), then 30, 31 March, 1 and 2 April (35).
    assert objection_deadline("announced", date(2026, 2, 6)) == date(2026, 4, 2)


def test_unknown_year_is_refused_with_its_name():
    with pytest.raises(UnknownCalendarYear) as info:
        add_working_days(date(2026, 12, 28), 5)
    assert info.value.year == 2027
    assert "2027" in info.value.message and "2027" in info.value.message_en


def test_an_entered_year_is_known_and_its_overrides_win():
    overrides = {date(2027, 1, 1): False}   # an administrator entered New Year's Day 2027
    assert add_working_days(date(2026, 12, 30), 2, overrides) == date(2027, 1, 4)
    assert not is_working_day(date(2027, 1, 1), overrides)
    assert is_working_day(date(2027, 1, 2), {date(2027, 1, 2): True})   # a make-up Saturday
    assert not is_working_day(date(2025, 10, 9), {date(2025, 10, 9): False})   # a correction wins over the package


def test_n_must_be_positive():
    with pytest.raises(ValueError):
        add_working_days(date(2025, 1, 6), 0)


known_days = st.dates(min_value=date(2005, 1, 1), max_value=date(2026, 10, 31))


@settings(max_examples=150, deadline=None)
@given(start=known_days, n=st.integers(min_value=1, max_value=40))
def test_matches_counting_by_hand(start, n):
    end = add_working_days(start, n)
    assert end > start and chinese_calendar.is_workday(end)
    between = [start + timedelta(days=k) for k in range(1, (end - start).days + 1)]
    assert sum(chinese_calendar.is_workday(d) for d in between) == n


@settings(max_examples=100, deadline=None)
@given(start=known_days, a=st.integers(min_value=1, max_value=20), b=st.integers(min_value=1, max_value=20))
def test_periods_add_up(start, a, b):
    assert add_working_days(add_working_days(start, a), b) == add_working_days(start, a + b)
