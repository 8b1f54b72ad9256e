"""Scoring raw option codes and the distractor analysis, with a planted miskey."""

import numpy as np
import pytest

from itembank.errors import InvalidValue
from itembank.psychometrics import classical_statistics, distractor_analysis, score_responses
from itembank.psychometrics.distractors import MISSING_LABEL

from ._sim import LETTERS, choice_codes, dichotomous, standard_normal


def test_score_responses_small():
    raw = [["A", "B", ""], ["C", "B", "D"], ["A", "X", None], [" A ", "b", "D"]]
    scored = score_responses(np.array(raw, dtype=object), ["A", "B", "D"], options=None)
    assert scored.matrix.scores.tolist() == [[1, 1, -1], [0, 1, 1], [1, 0, -1], [1, 0, 1]]
    assert scored.matrix.n_missing.tolist() == [0, 0, 2]
    assert scored.labels[1] == ("B", "X", "b")          # codes are compared exactly
    assert scored.labels[2] == ("D",)


def test_custom_missing_code_and_integer_codes():
    raw = np.array([[1, 2], [9, 2], [3, 1]])
    scored = score_responses(raw, [1, 2], missing_code="9")
    assert scored.matrix.scores.tolist() == [[1, 1], [-1, 1], [0, 0]]


def test_bad_raw_input():
    with pytest.raises(InvalidValue) as err:
        score_responses([["A", "B"]] * 3, ["A"])
    assert err.value.code == "key.length"
    with pytest.raises(InvalidValue) as err:
        score_responses([["A", "E"]] * 3, ["A", "B"], options="ABCD")
    assert err.value.code == "responses.unknown_option"
    assert "E" in err.value.message_en
    with pytest.raises(InvalidValue) as err:
        score_responses([["A", "B"]] * 3, ["A", "F"], options="ABCD")
    assert err.value.code == "key.unknown_option"
    with pytest.raises(InvalidValue) as err:
        score_responses(["A", "B"], ["A", "B"])
    assert err.value.code == "responses.shape"
    with pytest.raises(InvalidValue) as err:
        score_responses([["A", "B"]], ["A", "B"])
    assert err.value.code == "responses.too_few_examinees"
    with pytest.raises(InvalidValue) as err:
        score_responses([["A", "B"]] * 2, ["A", ""])
    assert err.value.code == "key.missing"


@pytest.fixture(scope="module")
def planted():
    rng = np.random.default_rng(7)
    n, k = 1500, 15
    scored = dichotomous(rng, standard_normal(rng, n), rng.uniform(0.8, 2, k), rng.normal(0, 1, k))
    key_index = rng.integers(0, 4, k)
    raw = choice_codes(rng, scored, key_index)
    raw[rng.random(raw.shape) < 0.03] = ""
    key = LETTERS[key_index].copy()
    key[4] = LETTERS[(key_index[4] + 1) % 4]          # plant a miskey on item 4
    return raw, key, LETTERS[key_index]


def test_planted_miskey_is_flagged(planted):
    raw, key, true_key = planted
    result = distractor_analysis(score_responses(raw, key, options="ABCD"))
    flagged = [it.item_index for it in result.items if it.probable_miskey]
    assert flagged == [4]
    item = result.items[4]
    assert item.best_distractor == true_key[4]
    assert item.best_distractor_rest_correlation > 0.2 and item.key_rest_correlation < 0
    clean = distractor_analysis(score_responses(raw, true_key, options="ABCD"))
    assert not any(it.probable_miskey for it in clean.items)


def test_option_table_is_consistent(planted):
    raw, _, key = planted
    scored = score_responses(raw, key, options="ABCD")
    result = distractor_analysis(scored)
    cls = classical_statistics(scored.matrix)
    n = raw.shape[0]
    total = np.where(scored.matrix.scores < 0, 0, scored.matrix.scores).sum(axis=1)
    for item in result.items:
        j = item.item_index
        labels = [o.label for o in item.options]
        assert labels[:4] == ["A", "B", "C", "D"] and labels[-1] == MISSING_LABEL
        assert sum(o.count for o in item.options) == n
        assert sum(o.share_upper for o in item.options) == pytest.approx(1.0)
        assert sum(o.share_lower for o in item.options) == pytest.approx(1.0)
        # The key's option-rest correlation is the corrected item-rest correlation.
        assert item.key_rest_correlation == pytest.approx(cls.item_rest[j], abs=1e-12)
        rest = total - np.where(scored.matrix.scores[:, j] < 0, 0, scored.matrix.scores[:, j])
        for opt in item.options:
            chose = raw[:, j] == ("" if opt.is_missing else opt.label)
            assert opt.rest_correlation == pytest.approx(np.corrcoef(chose, rest)[0, 1], abs=1e-12)


def test_unchosen_option_has_null_correlation_with_note():
    raw = np.array([["A", "B"], ["A", "C"], ["B", "B"], ["A", "B"]])
    result = distractor_analysis(score_responses(raw, ["A", "B"], options="ABCD"))
    d = next(o for o in result.items[0].options if o.label == "D")
    assert d.count == 0 and np.isnan(d.rest_correlation)
    assert "option.correlation_undefined" in {n.code for n in result.notes}
