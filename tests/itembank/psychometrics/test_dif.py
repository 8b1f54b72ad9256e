"""Mantel-Haenszel DIF: a planted class-C item, purification, ETS classes, bad groups."""

import numpy as np
import pytest

from itembank.errors import InvalidValue
from itembank.psychometrics import ets_class, mantel_haenszel_dif

from ._sim import dichotomous

N, K = 1500, 25


def two_groups(rng, shifts):
    """Chinese-language reference and Mongolian-language focal group; focal 0.5 SD lower."""
    b = np.linspace(-1.8, 1.8, K)
    ref = dichotomous(rng, rng.normal(0, 1, N), np.ones(K), b)
    foc = dichotomous(rng, rng.normal(-0.5, 1, N), np.ones(K), b + shifts)
    return np.vstack([ref, foc]), np.array(["zh"] * N + ["mn"] * N)


def test_planted_class_c_item_and_no_others():
    rng = np.random.default_rng(31)
    shifts = np.zeros(K)
    shifts[7] = 1.0                      # harder for the focal group: D = -2.35 in theory
    x, lang = two_groups(rng, shifts)
    res = mantel_haenszel_dif(x, lang, reference="zh", variable="language")
    comp = res.comparisons[0]
    assert (comp.reference, comp.focal, comp.n_reference, comp.n_focal) == ("zh", "mn", N, N)
    assert comp.ets_class[7] == "C-"
    assert comp.delta_mh[7] == pytest.approx(-2.35, abs=0.5)
    assert [j for j, c in enumerate(comp.ets_class) if c and c[0] == "C"] == [7]
    assert sum(c != "A" for c in comp.ets_class) <= 2
    assert comp.purified_items == (7,)


def test_purification_removes_contamination():
    rng = np.random.default_rng(32)
    shifts = np.zeros(K)
    shifts[:5] = 0.9                     # one-directional DIF contaminates the total score
    x, lang = two_groups(rng, shifts)
    raw = mantel_haenszel_dif(x, lang, reference="zh", purify=False).comparisons[0]
    pure = mantel_haenszel_dif(x, lang, reference="zh").comparisons[0]
    clean = np.arange(5, K)
    assert np.mean(raw.delta_mh[clean]) > 0.25           # spurious DIF in favour of the focal
    assert abs(np.mean(pure.delta_mh[clean])) < 0.12
    assert set(pure.purified_items) == set(range(5))
    assert all(pure.ets_class[j][0] == "C" for j in range(5))
    assert sum(raw.ets_class[j][0] == "C" for j in range(5)) < 5
    assert pure.purification_rounds >= 1


def test_delta_and_chi_square_by_hand():
    # Item 1 mirrors item 0 and item 2 is constant, so everyone has total 1: one stratum with
    # A=30, B=10 (reference right/wrong) and C=20, D=20 (focal right/wrong) for item 0.
    item0 = np.array([1] * 30 + [0] * 10 + [1] * 20 + [0] * 20)
    x = np.column_stack([item0, 1 - item0, np.zeros(80, dtype=int)])
    group = ["r"] * 40 + ["f"] * 40
    comp = mantel_haenszel_dif(x, group, reference="r", min_group_size=10,
                               purify=False).comparisons[0]
    assert comp.alpha_mh[0] == pytest.approx(3.0)
    assert comp.delta_mh[0] == pytest.approx(-2.35 * np.log(3.0))
    var_a = 40 * 40 * 50 * 30 / (80 ** 2 * 79)
    assert comp.chi_square[0] == pytest.approx((abs(30 - 25) - 0.5) ** 2 / var_a)
    # With one stratum the RBG variance is Woolf's 1/A + 1/B + 1/C + 1/D.
    assert comp.se_delta[0] == pytest.approx(2.35 * np.sqrt(1 / 30 + 1 / 10 + 1 / 20 + 1 / 20))
    assert comp.alpha_mh[1] == pytest.approx(1 / 3)
    assert comp.ets_class[0] == "B-"          # |D| = 2.58 but SE 1.14: not surely above 1
    assert comp.ets_class[2] is None
    assert any(n.code == "dif.undefined" and n.items == (2,) for n in comp.notes)


def test_ets_rules():
    assert ets_class(-0.8, 0.1, 0.001) == "A"
    assert ets_class(-1.2, 0.3, 0.2) == "A"          # not significant
    assert ets_class(-1.2, 0.2, 0.001) == "B-"
    assert ets_class(1.6, 0.1, 0.001) == "C+"
    assert ets_class(1.6, 0.5, 0.001) == "B+"        # not significantly above 1
    assert ets_class(float("nan"), 0.1, 0.5) is None


def test_multiple_focal_groups_and_missing_labels():
    rng = np.random.default_rng(2)
    x = dichotomous(rng, rng.normal(size=900), np.ones(10), np.linspace(-1, 1, 10))
    inst = np.array(["A", "B", "C"] * 300, dtype=object)
    inst[:5] = None
    res = mantel_haenszel_dif(x, inst, reference="A", variable="institution")
    assert [c.focal for c in res.comparisons] == ["B", "C"]
    assert res.notes[0].code == "group.missing"


@pytest.mark.parametrize("group, kwargs, code", [
    (["zh"] * 10, {"reference": "zh"}, "group.length"),
    (["zh", "mn"] * 50, {"reference": "en"}, "group.reference"),
    (["zh", "mn"] * 50, {"reference": "zh", "focal": "bo"}, "group.focal"),
    (["zh"] * 95 + ["mn"] * 5, {"reference": "zh"}, "group.too_small"),
])
def test_bad_group_vectors(group, kwargs, code):
    x = (np.random.default_rng(0).random((100, 5)) < 0.5).astype(int)
    with pytest.raises(InvalidValue) as err:
        mantel_haenszel_dif(x, group, **kwargs)
    assert err.value.code == code
