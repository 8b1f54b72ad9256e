"""Classical statistics against published LSAT values and brute-force definitions."""

import numpy as np
import pytest
from scipy import stats

from itembank.errors import InvalidValue
from itembank.psychometrics import classical_statistics, cronbach_alpha, kr20, upper_lower_weights

from ._sim import dichotomous, load_lsat, standard_normal


@pytest.mark.parametrize("name, alpha, facility, item_rest", [
    ("lsat6", 0.294997, [0.924, 0.709, 0.553, 0.763, 0.870],
     [0.1128, 0.1532, 0.1728, 0.1444, 0.1216]),
    ("lsat7", 0.453409, [0.828, 0.658, 0.772, 0.606, 0.843],
     [0.2457, 0.2467, 0.3132, 0.2228, 0.1748]),
])
def test_lsat_published_values(name, alpha, facility, item_rest):
    res = classical_statistics(load_lsat(name))
    assert res.alpha == pytest.approx(alpha, abs=1e-6)
    assert res.kr20 == pytest.approx(res.alpha, abs=1e-12)
    np.testing.assert_allclose(res.facility, facility, atol=5e-4)
    np.testing.assert_allclose(res.item_rest, item_rest, atol=5e-5)
    assert res.notes == ()


def brute_force(x):
    """Definitions straight from the formulas, one item at a time."""
    n, k = x.shape
    total = x.sum(axis=1)
    out = {"pbis": [], "rest": [], "de": [], "alpha_del": []}
    for j in range(k):
        rest = total - x[:, j]
        out["pbis"].append(np.corrcoef(x[:, j], total)[0, 1])
        out["rest"].append(np.corrcoef(x[:, j], rest)[0, 1])
        cov = np.cov(x[:, j], rest)[0, 1]
        cov_max = np.cov(np.sort(x[:, j]), np.sort(rest))[0, 1]
        out["de"].append(cov / cov_max)
        others = np.delete(x, j, axis=1)
        out["alpha_del"].append((k - 1) / (k - 2) * (1 - others.var(axis=0, ddof=1).sum()
                                                     / others.sum(axis=1).var(ddof=1)))
    return {key: np.array(v) for key, v in out.items()}


def test_matches_definitions_on_simulated_data():
    rng = np.random.default_rng(11)
    x = dichotomous(rng, standard_normal(rng, 500), rng.uniform(0.5, 2, 12), rng.normal(0, 1, 12))
    res = classical_statistics(x)
    ref = brute_force(x.astype(float))
    np.testing.assert_allclose(res.point_biserial, ref["pbis"], atol=1e-12)
    np.testing.assert_allclose(res.item_rest, ref["rest"], atol=1e-12)
    np.testing.assert_allclose(res.discriminative_efficiency, ref["de"], atol=1e-12)
    np.testing.assert_allclose(res.alpha_if_deleted, ref["alpha_del"], atol=1e-12)
    np.testing.assert_allclose(res.item_sd, x.std(axis=0, ddof=1), atol=1e-12)
    total = x.sum(axis=1)
    assert res.score.mean == pytest.approx(total.mean())
    assert res.score.sd == pytest.approx(total.std(ddof=1))
    assert res.score.skewness == pytest.approx(stats.skew(total))
    assert res.score.kurtosis == pytest.approx(stats.kurtosis(total))
    assert res.score.median == np.median(total)
    assert res.sem == pytest.approx(total.std(ddof=1) * np.sqrt(1 - res.alpha))
    assert res.kr20 == pytest.approx(res.alpha, abs=1e-12)
    assert kr20(x) == pytest.approx(cronbach_alpha(x), abs=1e-12)


def test_upper_lower_27_percent_tie_rule():
    # 10 examinees: n_g = floor(0.27 * 10 + 0.5) = 3. Totals 5,4,4,4,3,3,2,1,1,0 (sorted);
    # the upper group takes the 5 and two of the three 4s: each 4 enters with weight 2/3.
    totals = np.array([4, 1, 5, 3, 4, 0, 2, 4, 3, 1])
    w_up, w_low, n_g = upper_lower_weights(totals)
    assert n_g == 3
    np.testing.assert_allclose(w_up, [2 / 3, 0, 1, 0, 2 / 3, 0, 0, 2 / 3, 0, 0])
    np.testing.assert_allclose(w_low, [0, 1, 0, 0, 0, 1, 0, 0, 0, 1])  # 0, 1, 1: exactly 3
    assert w_up.sum() == pytest.approx(3) and w_low.sum() == pytest.approx(3)


def test_tie_rule_does_not_depend_on_row_order():
    rng = np.random.default_rng(5)
    x = (rng.random((37, 6)) < 0.6).astype(np.int8)      # many ties in a 6-item test
    res = classical_statistics(x)
    perm = rng.permutation(37)
    again = classical_statistics(x[perm])
    np.testing.assert_allclose(res.discrimination_index, again.discrimination_index)
    # Brute force with the fractional weights.
    w_up, w_low, n_g = upper_lower_weights(x.sum(axis=1))
    np.testing.assert_allclose(res.upper_facility, w_up @ x / n_g)
    np.testing.assert_allclose(res.lower_facility, w_low @ x / n_g)


def test_lower_group_tie():
    totals = np.array([0, 1, 1, 1, 2, 2, 3, 3, 4, 5])
    _, w_low, n_g = upper_lower_weights(totals)
    # n_g = 3: the 0 and two thirds of each of the three 1s.
    np.testing.assert_allclose(w_low, [1, 2 / 3, 2 / 3, 2 / 3, 0, 0, 0, 0, 0, 0])


def test_missing_scored_zero_and_listwise():
    x = np.array([[1, 0, 1], [1, 1, np.nan], [0, 0, 1], [1, 1, 1], [0, np.nan, 0]], dtype=float)
    res = classical_statistics(x)
    assert res.n_missing.tolist() == [0, 1, 1]
    assert res.missing_rate[1] == pytest.approx(0.2)
    assert res.facility.tolist() == pytest.approx([0.6, 0.4, 0.6])
    assert "missing.scored_zero" in {n.code for n in res.notes}
    lw = classical_statistics(x, missing="listwise")
    assert lw.n_examinees == 3
    assert "missing.listwise" in {n.code for n in lw.notes}
    with pytest.raises(InvalidValue) as err:
        classical_statistics(x, missing="pairwise")
    assert err.value.code == "missing.choice"
    # -1 in an integer matrix means the same as NaN.
    ints = np.nan_to_num(x, nan=-1).astype(np.int8)
    assert classical_statistics(ints).alpha == pytest.approx(res.alpha)


def test_polytomous_scores():
    rng = np.random.default_rng(3)
    theta = standard_normal(rng, 400)
    x = np.clip(np.round(2 + theta[:, None] + rng.normal(0, 1, (400, 4))), 0, 4).astype(int)
    res = classical_statistics(x, max_scores=4)
    assert res.kr20 is None
    ref = brute_force(x.astype(float))
    np.testing.assert_allclose(res.item_rest, ref["rest"], atol=1e-12)
    np.testing.assert_allclose(res.discriminative_efficiency, ref["de"], atol=1e-12)
    np.testing.assert_allclose(res.facility, x.mean(axis=0) / 4)
    cov = np.cov(x, rowvar=False)
    assert res.alpha == pytest.approx(4 / 3 * (1 - np.trace(cov) / cov.sum()), abs=1e-12)


def test_huge_score_ranges_are_refused_clearly():
    from itembank.psychometrics import PsychometricsError
    x = np.array([[0, 100000] * 300, [1, 0] * 300])
    with pytest.raises(PsychometricsError) as err:
        classical_statistics(x, max_scores=100000)
    assert err.value.code == "classical.table_too_large"
