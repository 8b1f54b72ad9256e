"""Property tests of the examiner's input checks: rubric points per line and veto items."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from examsvc.errors import ValidationFailed
from examsvc.grading.panel import check_rubric, check_vetoes
from itembank.blueprint import RubricCriterion, SkillTask

TASK = SkillTask(code="T01", title="车削", element_codes=("A-01-001",), time_minutes=60, points=10.0,
                 rubric=(RubricCriterion("T01-R01", "尺寸", 6.0, "超差不得分"), RubricCriterion("T01-R02", "安全", 4.0, "")),
                 vetoes=("撞刀", "未停车测量"))
def _within(text: str) -> bool:
    """Whether ``text`` reads as points the line accepts (0-4, two decimals at most)."""
    try:
        number = float(text.strip())
    except ValueError:
        return False
    return 0 <= number <= 4 and abs(round(number, 2) - number) <= 1e-9


cents = st.integers(min_value=0, max_value=600).map(lambda n: n / 100)


@given(first=cents, second=st.integers(min_value=0, max_value=400).map(lambda n: n / 100))
def test_points_within_each_line_are_kept_as_given(first, second):
    assert check_rubric(TASK, {"T01-R01": first, "T01-R02": str(second)}) == {"T01-R01": first, "T01-R02": second}


@given(value=st.one_of(st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not 0 <= x <= 4),
                       st.text(max_size=8).filter(lambda t: not _within(t)),
                       st.booleans(), st.none(), st.lists(st.integers(), max_size=2)))
def test_anything_but_points_within_the_line_is_refused_naming_the_line(value):
    with pytest.raises(ValidationFailed) as caught:
        check_rubric(TASK, {"T01-R01": 1, "T01-R02": value})
    assert caught.value.field == "scores.T01-R02" and "T01-R02" in caught.value.message_en


@given(marked=st.lists(st.integers(min_value=1, max_value=2), min_size=1, max_size=2, unique=True),
       note=st.text(min_size=1, max_size=50).filter(lambda t: t.strip()))
def test_marked_vetoes_come_back_as_their_text_with_the_note(marked, note):
    texts, kept = check_vetoes(TASK, marked, note)
    assert texts == [TASK.vetoes[n - 1] for n in sorted(marked)] and kept == note.strip()


@given(bad=st.one_of(st.integers().filter(lambda n: n not in (1, 2)), st.text(max_size=4).filter(lambda t: t not in ("1", "2")),
                     st.floats(), st.booleans(), st.none()))
def test_a_veto_number_outside_the_task_is_refused(bad):
    with pytest.raises(ValidationFailed) as caught:
        check_vetoes(TASK, [bad], "撞刀")
    assert caught.value.field == "vetoes"


@pytest.mark.parametrize("bad", ["¹", "²", "½", "一"])
def test_a_veto_number_in_other_numerals_is_refused_as_a_veto_error(bad):
    """Found by hypothesis in CI: "¹".isdigit() is true but int("¹") raised a ValueError (a 500)."""
    with pytest.raises(ValidationFailed) as caught:
        check_vetoes(TASK, [bad], "撞刀")
    assert caught.value.field == "vetoes"


def test_a_full_width_veto_number_counts_as_the_number():
    assert check_vetoes(TASK, ["１"], "撞刀")[0] == [TASK.vetoes[0]]


@pytest.mark.parametrize("text", ["¹", "²³", "½"])
def test_numbers_typed_in_forms_are_decimal_digits_not_any_digit(text):
    """The same trap in a form field: "¹".isdigit() passed the check and int() then raised (a 500)."""
    from examsvc.bank.routes import _minutes

    with pytest.raises(ValidationFailed) as caught:
        _minutes(text)
    assert caught.value.field == "skill.time_minutes"
