"""Dichotomous IRT against published LSAT results and simulated data."""

import numpy as np
import pytest

from itembank.errors import InvalidValue
from itembank.psychometrics import fit_irt, item_information, probability, test_information

from ._sim import dichotomous, load_lsat, standard_normal


def test_lsat6_2pl_matches_published_ltm():
    res = fit_irt(load_lsat("lsat6"), "2pl")
    assert res.converged
    assert res.loglik == pytest.approx(-2466.653, abs=1e-3)
    np.testing.assert_allclose(res.a, [0.8254, 0.7229, 0.8905, 0.6886, 0.6575], atol=1e-2)
    np.testing.assert_allclose(res.b, [-3.3597, -1.3696, -0.2799, -1.8659, -3.1236], atol=1e-2)
    # ltm's standard errors (numerical Hessian, 21 Gauss-Hermite points).
    np.testing.assert_allclose(res.se_a, [0.2581, 0.1867, 0.2326, 0.1852, 0.2100], atol=3e-3)
    np.testing.assert_allclose(res.se_b, [0.8669, 0.3073, 0.0997, 0.4341, 0.8700], atol=5e-3)
    assert res.aic == pytest.approx(4953.307, abs=2e-3)
    assert res.bic == pytest.approx(5002.384, abs=2e-3)


def test_lsat7_2pl_matches_published_mirt():
    res = fit_irt(load_lsat("lsat7"), "2pl")
    assert res.loglik == pytest.approx(-2658.805, abs=1e-3)
    np.testing.assert_allclose(res.a, [0.988, 1.081, 1.706, 0.765, 0.736], atol=1e-2)
    np.testing.assert_allclose(res.d, [1.856, 0.808, 1.804, 0.486, 1.855], atol=1e-2)


def test_lsat6_rasch_matches_ltm():
    # ltm::rasch(LSAT): common discrimination 0.755, log-likelihood -2466.938.
    res = fit_irt(load_lsat("lsat6"), "rasch")
    assert res.loglik == pytest.approx(-2466.938, abs=1e-3)
    assert res.latent_sd == pytest.approx(0.755, abs=2e-3)
    np.testing.assert_allclose(res.b / res.latent_sd, [-3.615, -1.322, -0.318, -1.730, -2.780],
                               atol=1e-2)


def test_standard_error_methods_agree():
    data = load_lsat("lsat7")
    hess = fit_irt(data, "2pl", se_method="hessian")
    xpd = fit_irt(data, "2pl", se_method="xpd")
    assert hess.se_method == "hessian" and xpd.se_method == "xpd"
    np.testing.assert_allclose(xpd.se_a, hess.se_a, rtol=0.1)
    np.testing.assert_allclose(xpd.se_b, hess.se_b, rtol=0.1)


def test_rasch_fit_statistics_near_one():
    rng = np.random.default_rng(21)
    n, k = 2000, 20
    b = np.linspace(-2, 2, k)
    x = dichotomous(rng, 1.2 * standard_normal(rng, n), np.ones(k), b)
    res = fit_irt(x, "rasch")
    assert res.latent_sd == pytest.approx(1.2, abs=0.06)
    np.testing.assert_allclose(res.b, b, atol=0.15)
    np.testing.assert_allclose(res.infit, 1.0, atol=0.06)
    np.testing.assert_allclose(res.outfit, 1.0, atol=0.12)
    assert np.all(np.abs(res.infit_z) < 3.5)
    assert np.nanstd(res.theta) == pytest.approx(1.2 * np.sqrt(res.marginal_reliability), abs=0.05)
    # A misfitting item (much steeper than the rest) shows an infit well below 1.
    x[:, 0] = dichotomous(rng, res.theta, np.array([6.0]), np.array([0.0]))[:, 0]
    assert fit_irt(x, "rasch").infit[0] < 0.85


def test_3pl_recovers_parameters():
    rng = np.random.default_rng(8)
    n, k = 5000, 20
    a, b = rng.uniform(0.8, 2.0, k), rng.uniform(-1.5, 1.5, k)
    c = np.full(k, 0.2)
    res = fit_irt(dichotomous(rng, standard_normal(rng, n), a, b, c), "3pl", se_method="xpd")
    assert res.converged
    assert np.corrcoef(res.a, a)[0, 1] > 0.9
    assert np.corrcoef(res.b, b)[0, 1] > 0.98
    assert np.sqrt(np.mean((res.b - b) ** 2)) < 0.2
    assert abs(np.mean(res.c) - 0.2) < 0.04
    assert np.all(np.isfinite(res.se_c))


def test_2pl_recovery_with_missing_answers_and_information():
    rng = np.random.default_rng(4)
    n, k = 3000, 25
    a, b = rng.uniform(0.6, 2.0, k), rng.normal(0, 1, k)
    theta = standard_normal(rng, n)
    x = dichotomous(rng, theta, a, b).astype(float)
    x[rng.random(x.shape) < 0.1] = np.nan                 # 10 % not presented
    res = fit_irt(x, "2pl", se_method="xpd")
    assert np.sqrt(np.mean((res.a - a) ** 2)) < 0.12
    assert np.sqrt(np.mean((res.b - b) ** 2)) < 0.12
    assert np.corrcoef(res.theta, theta)[0, 1] > 0.9
    assert np.all(res.theta_se > 0) and np.all(res.theta_se < 1)
    grid = np.array([-1.0, 0.0, 1.0])
    p = probability(grid, res.a, res.d)
    np.testing.assert_allclose(item_information(res, grid), res.a ** 2 * p * (1 - p))
    np.testing.assert_allclose(test_information(res, grid), (res.a ** 2 * p * (1 - p)).sum(axis=1))


def test_constant_items_excluded_with_note():
    x = load_lsat("lsat7").copy()
    x = np.column_stack([x, np.ones(len(x), dtype=np.int8), np.zeros(len(x), dtype=np.int8)])
    res = fit_irt(x, "2pl")
    assert res.excluded_items == (5, 6)
    assert np.isnan(res.a[5]) and np.isnan(res.b[6])
    assert any(n.code == "item.excluded_no_variance" and n.items == (5, 6) for n in res.notes)
    assert res.loglik == pytest.approx(-2658.805, abs=1e-3)


def test_bad_input():
    with pytest.raises(InvalidValue) as err:
        fit_irt(np.ones((10, 3)), "2pl")
    assert err.value.code == "responses.no_usable_items"
    with pytest.raises(InvalidValue) as err:
        fit_irt(load_lsat("lsat6"), "4pl")
    assert err.value.code == "model.choice"
    with pytest.raises(InvalidValue) as err:
        fit_irt(np.array([[0, 1, 2]] * 5), "2pl")
    assert err.value.code == "responses.out_of_range"


def test_100_item_test_is_unbiased_with_default_quadrature():
    rng = np.random.default_rng(100)
    n, k = 4000, 100
    a, b = rng.lognormal(0, 0.3, k), rng.normal(0, 1, k)
    x = dichotomous(rng, standard_normal(rng, n), a, b)
    default = fit_irt(x, "2pl", se_method="none", tol=1e-4)
    fine = fit_irt(x, "2pl", se_method="none", tol=1e-4, n_quadrature=121)
    coarse = fit_irt(x, "2pl", se_method="none", tol=1e-4, n_quadrature=11)
    assert abs(np.mean(default.a - a)) < 0.02
    np.testing.assert_allclose(default.a, fine.a, atol=2e-3)       # converged in quadrature
    assert np.mean(coarse.a - a) < np.mean(default.a - a) - 0.03   # too few nodes: biased


def test_unidentified_item_stops_on_a_bound_with_note():
    x = load_lsat("lsat7")
    steep = (x.sum(axis=1) >= 4).astype(np.int8)          # a perfect Guttman step: a -> infinity
    res = fit_irt(np.column_stack([x, steep]), "2pl")
    assert res.converged
    assert abs(res.a[5]) == pytest.approx(10.0)
    assert any(n.code == "irt.at_bound" and 5 in n.items for n in res.notes)
    assert np.all(np.abs(res.a[:5]) < 5)
