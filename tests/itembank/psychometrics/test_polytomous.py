"""Graded response and partial credit models recover simulated skill-task parameters."""

import numpy as np
import pytest

from itembank.errors import InvalidValue
from itembank.psychometrics import category_probabilities, fit_irt, fit_polytomous

from ._sim import load_lsat, standard_normal

N, K = 2000, 6


def simulate_grm(rng, theta, a, b):
    p_star = 1 / (1 + np.exp(-a[None, :, None] * (theta[:, None, None] - b[None])))
    return (rng.random((theta.size, a.size))[:, :, None] < p_star).sum(axis=2)


def simulate_pcm(rng, theta, a, delta):
    steps = np.cumsum(a[None, :, None] * (theta[:, None, None] - delta[None]), axis=2)
    z = np.concatenate([np.zeros(steps.shape[:2] + (1,)), steps], axis=2)
    p = np.exp(z - z.max(axis=2, keepdims=True))
    p /= p.sum(axis=2, keepdims=True)
    return (rng.random((theta.size, a.size))[:, :, None] > p.cumsum(axis=2)).sum(axis=2)


def test_grm_recovery():
    rng = np.random.default_rng(12)
    a = rng.uniform(0.8, 2.0, K)
    b = np.sort(rng.uniform(-1.8, 1.8, (K, 3)), axis=1)
    x = simulate_grm(rng, standard_normal(rng, N), a, b)
    res = fit_polytomous(x, "grm")
    assert res.converged
    np.testing.assert_allclose(res.a, a, atol=0.25)
    thr = np.array(res.thresholds)
    assert np.sqrt(np.mean((thr - b) ** 2)) < 0.12
    assert np.all(np.diff(thr, axis=1) > 0)
    assert all(np.all(np.isfinite(s)) and np.all(s < 0.3) for s in res.se_thresholds)
    np.testing.assert_allclose(res.infit, 1.0, atol=0.1)
    assert res.category_scores[0] == (0, 1, 2, 3)


def test_gpcm_and_pcm_recovery():
    rng = np.random.default_rng(13)
    theta = standard_normal(rng, N)
    delta = rng.uniform(-1.5, 1.5, (K, 3))
    a = rng.uniform(0.8, 1.8, K)
    gpcm = fit_polytomous(simulate_pcm(rng, theta, a, delta), "gpcm")
    np.testing.assert_allclose(gpcm.a, a, atol=0.25)
    assert np.sqrt(np.mean((np.array(gpcm.thresholds) - delta) ** 2)) < 0.2
    # PCM: unit slopes in logits with ability SD 1.3.
    pcm = fit_polytomous(simulate_pcm(rng, 1.3 * theta, np.ones(K), delta), "pcm")
    assert pcm.latent_sd == pytest.approx(1.3, abs=0.08)
    assert np.sqrt(np.mean((np.array(pcm.thresholds) - delta) ** 2)) < 0.15
    np.testing.assert_allclose(pcm.a, 1.0)
    np.testing.assert_allclose(pcm.infit, 1.0, atol=0.1)
    probs = category_probabilities("pcm", 1.0, pcm.intercepts[0], [0.0])
    assert probs.shape == (4, 1) and probs.sum() == pytest.approx(1.0)


def test_grm_on_binary_items_is_the_2pl():
    data = load_lsat("lsat7")
    grm = fit_polytomous(data, "grm", standard_errors=False)
    two = fit_irt(data, "2pl", se_method="none")
    assert grm.loglik == pytest.approx(two.loglik, abs=1e-3)
    np.testing.assert_allclose(grm.a, two.a, atol=5e-3)


def test_categories_gap_and_trim():
    rng = np.random.default_rng(1)
    theta = standard_normal(rng, 600)
    x = simulate_grm(rng, theta, np.ones(4), np.tile([-1.0, 0.0, 1.0], (4, 1)))
    x[:, 1] = np.where(x[:, 1] == 2, 3, x[:, 1])          # nobody scores 2 on item 1: a gap
    x[:, 2] = np.maximum(x[:, 2], 1)                       # nobody scores 0 on item 2: trimmed
    x[:, 3] = 2                                            # constant
    res = fit_polytomous(x, "grm", max_scores=3, standard_errors=False)
    codes = {n.code: n.items for n in res.notes}
    assert codes["item.empty_category"] == (1,)
    assert codes["item.categories_trimmed"] == (2,)
    assert codes["item.excluded_no_variance"] == (3,)
    assert res.excluded_items == (1, 3)
    assert res.category_scores[2] == (1, 2, 3)
    assert np.isnan(res.a[1])


def test_bad_input():
    with pytest.raises(InvalidValue) as err:
        fit_polytomous(np.array([[0, 1], [1, 0]]), "nominal")
    assert err.value.code == "model.choice"
    with pytest.raises(InvalidValue) as err:
        fit_polytomous(np.array([[0.5, 1], [1, 0]]), "grm")
    assert err.value.code == "responses.not_integer"
    with pytest.raises(InvalidValue) as err:
        fit_polytomous(np.array([[0, 5], [1, 0]]), "grm", max_scores=3)
    assert err.value.code == "responses.out_of_range"
