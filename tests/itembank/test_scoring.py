import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from itembank.errors import InvalidValue
from itembank.scoring import score_matrix, scale_to_100, to_mask


def test_masks():
    assert to_mask(["A", "C"]) == 5 and to_mask([]) == 0 and to_mask(["T"]) == 1 and to_mask(["F"]) == 2
    with pytest.raises(InvalidValue):
        to_mask(["Z"])


def test_single_true_false_and_multiple_all_or_nothing():
    keys = [to_mask("B"), to_mask("T"), to_mask("AC")]
    responses = np.array([[to_mask("B"), to_mask("T"), to_mask("AC")],
                          [to_mask("A"), to_mask("F"), to_mask("A")],
                          [0, 0, to_mask("ACD")]])
    scored = score_matrix(responses, keys, [1, 1, 2], [False, False, True])
    assert scored.total.tolist() == [4.0, 0.0, 0.0]


def test_partial_credit_rule():
    key = to_mask("ACD")
    responses = np.array([[to_mask("ACD")], [to_mask("AC")], [to_mask("A")], [to_mask("AB")], [0]])
    scored = score_matrix(responses, [key], [2], [True], rule="partial")
    assert scored.total.tolist() == [2.0, 1.0, 1.0, 0.0, 0.0]


def test_void_item_gives_everyone_the_points():
    scored = score_matrix(np.array([[1, 0], [2, 4]]), [1, 1], [1, 3], [False, False], void=[False, True])
    assert scored.total.tolist() == [4.0, 3.0]


def test_shapes_and_rules_are_checked():
    with pytest.raises(InvalidValue):
        score_matrix(np.zeros((2, 3)), [1, 2], [1, 1], [False, False])
    with pytest.raises(InvalidValue):
        score_matrix(np.zeros((1, 1)), [1], [1], [True], rule="lenient")


def test_scaling_to_100():
    assert scale_to_100(np.array([45.0, 60.25]), 75).tolist() == [60.0, 80.5]


@given(st.lists(st.integers(0, 31), min_size=1, max_size=30), st.integers(1, 31))
def test_partial_never_exceeds_all_or_nothing_bounds(responses, key):
    r = np.array(responses)[:, None]
    strict = score_matrix(r, [key], [2.0], [True]).total
    lenient = score_matrix(r, [key], [2.0], [True], rule="partial").total
    assert np.all(strict <= lenient) and np.all(lenient <= 2.0)
    assert np.all((lenient > 0) <= ((r[:, 0] & ~key) == 0))  # no credit with a wrong choice
