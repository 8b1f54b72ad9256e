"""Minimum sample sizes: below them the report says the sample is too small instead of reporting
noise (a handful of examinees gave 2PL a = 10, KR-20 0.999 and a flag on nearly every item)."""

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from itembank.psychometrics import SampleMinimums, analyse

from ._sim import LETTERS, choice_codes, dichotomous, standard_normal


def exam(n: int, k: int = 20, seed: int = 3):
    rng = np.random.default_rng(seed)
    scored = dichotomous(rng, standard_normal(rng, n), rng.uniform(0.8, 2, k), rng.normal(0, 1, k))
    key_index = rng.integers(0, 4, k)
    return choice_codes(rng, scored, key_index), LETTERS[key_index].copy()


def small_notes(report) -> list[dict]:
    return [n for n in report.all_notes() if n["code"] == "sample.too_small"]


def test_a_handful_of_examinees_gets_no_reliability_no_irt_and_no_flags():
    raw, key = exam(8)
    unguarded = analyse(raw, key=key, options="ABCD", irt_model="2pl")
    assert unguarded.flags and unguarded.irt is not None  # what the issue saw: noise reported as findings
    report = analyse(raw, key=key, options="ABCD", irt_model="2pl", minimums=SampleMinimums())
    assert report.flags == () and report.irt is None
    doc = json.loads(json.dumps(report.to_json(), allow_nan=False))
    assert doc["test"]["kr20"] is None and doc["test"]["alpha"] is None and doc["test"]["sem"] is None
    assert all(row["alpha_if_deleted"] is None and "irt" not in row and "flags" not in row for row in doc["items"])
    assert doc["items"][0]["facility"] is not None  # descriptive statistics stay
    messages = [n["message_en"] for n in small_notes(report)]
    assert len(messages) == 2, messages
    assert "8 examinees, fewer than 30" in messages[0] and "reliability" in messages[0]
    assert "fewer than 200" in messages[1] and "2PL" in messages[1]
    assert "样本太小" in small_notes(report)[0]["message"]


@pytest.mark.parametrize("model, fitted", [("rasch", True), ("2pl", True), ("3pl", False)])
def test_each_irt_model_has_its_own_minimum(model, fitted):
    raw, key = exam(250, k=10)
    report = analyse(raw, key=key, options="ABCD", irt_model=model, minimums=SampleMinimums())
    assert (report.irt is not None) is fitted
    assert np.isfinite(report.classical.kr20)  # 250 is plenty for the classical statistics
    notes = small_notes(report)
    assert (notes == []) is fitted
    if not fitted:
        assert "fewer than 500" in notes[0]["message_en"] and "3PL" in notes[0]["message_en"]


def test_at_the_classical_minimum_flags_and_reliability_are_reported():
    raw, key = exam(30, k=10)
    key[0] = LETTERS[(list(LETTERS).index(key[0]) + 1) % 4]  # a miskey for the flags to find
    report = analyse(raw, key=key, options="ABCD", irt_model=None, minimums=SampleMinimums())
    assert np.isfinite(report.classical.kr20) and report.flags and small_notes(report) == []


def test_minimums_pick_the_model_family():
    m = SampleMinimums(classical=20, rasch=50, two_pl=150, three_pl=400)
    assert [m.for_irt(x) for x in ("rasch", "pcm", "2pl", "grm", "gpcm", "3pl")] == [50, 50, 150, 150, 150, 400]


@given(st.one_of(st.integers(max_value=1), st.booleans(), st.floats(), st.text()))
def test_a_minimum_below_two_or_not_a_whole_number_is_refused(value):
    with pytest.raises(ValueError, match="SampleMinimums.two_pl"):
        SampleMinimums(two_pl=value)
