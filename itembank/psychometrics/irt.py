"""Dichotomous item response theory: Rasch, 2PL and 3PL by marginal maximum likelihood.

Model (logistic metric, D = 1, slope-intercept form as in R ``mirt``):

.. math:: P_j(\\theta) = c_j + (1 - c_j)\\,\\sigma(a_j \\theta + d_j), \\quad
          \\sigma(z) = 1 / (1 + e^{-z}), \\quad b_j = -d_j / a_j,

with :math:`\\theta \\sim N(0, 1)` for 2PL/3PL. The Rasch model fixes :math:`a_j = 1` on the logit
scale and estimates the ability SD :math:`\\sigma_\\theta` instead (``latent_sd``); its difficulty
is :math:`b_j = -d_j` and abilities are reported in logits.

Estimation is Bock & Aitkin's (1981) EM on a fixed quadrature (61 rectangular nodes on [-6, 6]
by default; see :func:`~._common.normal_quadrature`). Identical response patterns are collapsed,
the E-step is two matrix products over the quadrature, and the M-step is a vectorised Fisher
scoring step for every item at once (Baker & Kim 2004, ch. 6). The 3PL lower asymptote is
estimated on the logit scale with a Beta prior (Mislevy 1986; BILOG's default Beta(5, 17)), so
its estimate is a posterior mode. Missing answers are by default left out of the likelihood
(``missing="ignore"``, the usual MML treatment of not-presented items).

Standard errors come from the observed information: the Jacobian of the marginal score (Fisher's
identity; Louis 1982) by central differences when the model has at most ``hessian_max_params``
parameters, and otherwise the cross-product of the examinees' scores (XPD; the
"crossprod" estimate of ``mirt``). EAP abilities and posterior SDs follow Bock & Mislevy (1982).
Item fit: infit and outfit mean squares (Wright & Masters 1982), integrated over each examinee's
posterior instead of plugging in a point estimate, so their expectation under the model is exactly
1 for any test length; the standardised ``*_z`` use the Wright & Masters variance with the
Wilson-Hilferty cube-root transform.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Sequence

import numpy as np
from scipy.special import expit

from itembank.errors import InvalidValue
from itembank.psychometrics._common import (MISSING, Note, as_score_matrix, collapse_patterns,
                                            normal_quadrature, observed_information, posterior,
                                            squarem)
from itembank.psychometrics._dichotomous import DichotomousModel
from itembank.psychometrics.fit import dichotomous_fit

__all__ = ["IRTResult", "fit_irt", "probability", "item_information", "test_information"]

Model = Literal["rasch", "2pl", "3pl"]


@dataclass(frozen=True, eq=False)
class IRTResult:
    """Calibrated item parameters, abilities and fit; item arrays have shape ``(n_items,)``.

    Items left out (no variance among the observed answers) have NaN parameters and are listed
    in ``excluded_items`` with a note. ``theta``/``theta_se`` are the EAP ability and posterior
    SD of every examinee in the model's metric.
    """

    model: str
    item_names: tuple[str, ...]
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    d: np.ndarray
    se_a: np.ndarray
    se_b: np.ndarray
    se_c: np.ndarray
    se_d: np.ndarray
    latent_sd: float
    se_latent_sd: float
    loglik: float
    n_parameters: int
    aic: float
    bic: float
    n_iterations: int
    converged: bool
    se_method: str
    theta: np.ndarray
    theta_se: np.ndarray
    marginal_reliability: float
    infit: np.ndarray
    outfit: np.ndarray
    infit_z: np.ndarray
    outfit_z: np.ndarray
    quadrature_nodes: np.ndarray
    quadrature_weights: np.ndarray
    excluded_items: tuple[int, ...] = ()
    notes: tuple[Note, ...] = ()

    def item_row(self, j: int) -> dict[str, Any]:
        keys = ("a", "b", "c", "d", "se_a", "se_b", "se_c", "se_d", "infit", "outfit",
                "infit_z", "outfit_z")
        return {"index": j, "name": self.item_names[j], **{k: getattr(self, k)[j].item() for k in keys}}


def probability(theta: Any, a: Any, d: Any, c: Any = 0.0) -> np.ndarray:
    """:math:`P_j(\\theta)`, shape ``(len(theta), n_items)``."""
    theta = np.atleast_1d(np.asarray(theta, dtype=float))
    return c + (1 - np.asarray(c)) * expit(np.outer(theta, a) + d)


def item_information(result: IRTResult, theta: Any) -> np.ndarray:
    """Birnbaum's item information, shape ``(len(theta), n_items)``.

    .. math:: I_j(\\theta) = a_j^2 \\frac{(P_j - c_j)^2}{(1 - c_j)^2} \\frac{1 - P_j}{P_j}

    which is :math:`a_j^2 P_j (1 - P_j)` when :math:`c_j = 0` (Lord 1980, eq. 5-6). Excluded
    items contribute 0.
    """
    p = probability(theta, result.a, result.d, result.c)
    info = result.a ** 2 * (p - result.c) ** 2 / (1 - result.c) ** 2 * (1 - p) / p
    return np.nan_to_num(info, nan=0.0)


def test_information(result: IRTResult, theta: Any) -> np.ndarray:
    """Test information :math:`I(\\theta) = \\sum_j I_j(\\theta)`; the conditional SEM is
    :math:`1/\\sqrt{I(\\theta)}`."""
    return item_information(result, theta).sum(axis=1)


test_information.__test__ = False  # a library function, not a pytest test


def _e_step(spec: DichotomousModel, flat, theta, weights, u1, obs, counts):
    p, _, _ = spec.terms(flat, theta)
    lp, lq = np.log(p), np.log1p(-p)
    log_lik = u1 @ (lp - lq)
    log_lik += (obs @ lq) if obs is not None else lq.sum(axis=0)
    post, loglik, _ = posterior(log_lik, weights, counts)
    w = post * counts[:, None]
    r = u1.T @ w
    n = (obs.T @ w) if obs is not None else np.broadcast_to(w.sum(axis=0), r.shape)
    return loglik, r, n, post


def fit_irt(responses: Any, model: Model = "2pl", *, item_names: Sequence[str] | None = None,
            missing: Literal["ignore", "incorrect"] = "ignore", n_quadrature: int = 61,
            quadrature_bound: float = 6.0, max_iter: int = 1000, tol: float = 1e-5,
            guessing_prior: tuple[float, float] | None = (5.0, 17.0),
            se_method: Literal["auto", "hessian", "xpd", "none"] = "auto",
            hessian_max_params: int = 30) -> IRTResult:
    """Calibrate a Rasch, 2PL or 3PL model by marginal maximum likelihood (see module docstring).

    Parameters
    ----------
    responses : array_like or ScoreMatrix, shape (n_examinees, n_items)
        0/1 scores, NaN or -1 for missing.
    model : {"rasch", "2pl", "3pl"}
    missing : {"ignore", "incorrect"}
        Leave missing answers out of the likelihood, or score them 0.
    n_quadrature, quadrature_bound : quadrature (rectangular, normal weights).
    tol : float
        EM stops when no parameter moves by more than ``tol`` in one cycle.
    guessing_prior : (alpha, beta) or None
        Beta prior on the 3PL lower asymptote.
    se_method : {"auto", "hessian", "xpd", "none"}

    Raises
    ------
    InvalidValue
        Bad input (see :func:`~._common.as_score_matrix`), ``model.choice``, ``missing.choice``,
        ``responses.no_usable_items`` when no item has variance.
    """
    if model not in ("rasch", "2pl", "3pl"):
        raise InvalidValue("model", "model.choice", "模型只能是 rasch、2pl 或 3pl",
                           "model must be 'rasch', '2pl' or '3pl'")
    if missing not in ("ignore", "incorrect"):
        raise InvalidValue("missing", "missing.choice", "missing 只能是 ignore 或 incorrect",
                           "missing must be 'ignore' or 'incorrect'")
    matrix = as_score_matrix(responses, item_names=item_names)
    scores = matrix.scores
    n_all, n_items = scores.shape
    if missing == "incorrect":
        scores = np.where(scores == MISSING, 0, scores).astype(np.int8)
    notes: list[Note] = []
    n_obs = (scores != MISSING).sum(axis=0)
    n_correct = (scores == 1).sum(axis=0)
    usable = (n_correct > 0) & (n_correct < n_obs)
    excluded = tuple(np.flatnonzero(~usable).tolist())
    if excluded:
        notes.append(Note("item.excluded_no_variance",
                          "这些题全对、全错或无人作答，无法估计参数，已排除（参数为 null）",
                          "these items were answered all right, all wrong or not at all; they "
                          "cannot be calibrated and were left out (parameters null)", excluded))
    if not usable.any():
        raise InvalidValue("responses", "responses.no_usable_items", "没有可供估计的题目（每题都无方差）",
                           "no item can be calibrated (every item is constant)")
    if n_all < 200:
        notes.append(Note("irt.small_sample", f"仅 {n_all} 名考生：IRT 参数估计不稳定，仅供参考",
                          f"only {n_all} examinees: IRT estimates are unstable, for guidance only"))
    data = scores[:, usable]
    patterns, counts, inverse = collapse_patterns(data)
    u1 = (patterns == 1).astype(float)
    obs = (patterns != MISSING).astype(float) if (patterns == MISSING).any() else None
    k = data.shape[1]
    spec = DichotomousModel(model, k, guessing_prior)
    theta, weights = normal_quadrature(n_quadrature, quadrature_bound)
    p0 = np.clip(n_correct[usable] / n_obs[usable], 0.02, 0.98)
    d0 = np.log(p0 / (1 - p0)) * 1.18
    if model == "rasch":
        flat = np.append(d0, 1.0)
    elif model == "2pl":
        flat = np.column_stack([np.ones(k), d0]).ravel()
    else:
        c0 = guessing_prior[0] / sum(guessing_prior) if guessing_prior else 0.2
        flat = np.column_stack([np.full(k, 1.2), d0, np.full(k, np.log(c0 / (1 - c0)))]).ravel()
    flat, it, converged = _squarem(spec, flat, theta, weights, u1, obs, counts, tol, max_iter)
    loglik, r, n, post = _e_step(spec, flat, theta, weights, u1, obs, counts)
    if not converged:
        notes.append(Note("irt.not_converged", f"EM 在 {max_iter} 轮内未收敛，结果仅供参考",
                          f"EM did not converge within {max_iter} cycles; treat the results with "
                          "caution"))
    n_par = flat.size
    cov, used = _covariance(spec, flat, theta, weights, u1, obs, counts, r, n, post, se_method,
                            hessian_max_params)
    if cov is None and used != "none":
        notes.append(Note("irt.se_unavailable", "信息矩阵奇异，无法计算标准误（null）",
                          "the information matrix is singular: standard errors are null"))
    a, d, c = spec.unpack(flat)
    fixed = {"rasch": ("a = 1（logit 量尺）与 c = 0 为固定值，se_a、se_c 为 null",
                       "a = 1 (logit scale) and c = 0 are fixed: se_a and se_c are null"),
             "2pl": ("c = 0 为固定值，se_c 为 null", "c = 0 is fixed: se_c is null"),
             "3pl": None}[model]
    if fixed:
        notes.append(Note("irt.fixed_parameters", *fixed))
    var = np.diag(cov) if cov is not None else np.full(n_par, np.nan)
    se_a = np.full(k, np.nan)
    se_c = np.full(k, np.nan)
    latent_sd, se_latent = 1.0, float("nan")
    if model == "rasch":
        latent_sd, se_latent = float(a[0]), float(np.sqrt(var[-1]))
        se_d = np.sqrt(var[:-1])
        b, se_b, a_out, theta_scale = -d, se_d, np.ones(k), a[0]
    else:
        cols = spec.cols
        se_a = np.sqrt(var[0::cols])
        se_d = np.sqrt(var[1::cols])
        cov_ad = cov[0::cols, 1::cols].diagonal() if cov is not None else np.full(k, np.nan)
        flat_slope = np.abs(a) < 1e-6
        if flat_slope.any():
            notes.append(Note("irt.zero_slope", "区分度估计为 0：难度 b 无定义（null）",
                              "the slope is estimated at 0: the difficulty b is undefined (null)",
                              tuple(np.flatnonzero(usable)[flat_slope].tolist())))
        safe_a = np.where(flat_slope, np.nan, a)
        b = -d / safe_a
        se_b = np.sqrt(np.maximum(se_d ** 2 + b ** 2 * se_a ** 2 + 2 * b * cov_ad, 0)) / np.abs(safe_a)
        if model == "3pl":
            se_c = np.sqrt(var[2::cols]) * c * (1 - c)
        a_out, theta_scale = a, 1.0
    nodes = theta * theta_scale
    eap = post @ nodes
    psd = np.sqrt(np.maximum(post @ nodes ** 2 - eap ** 2, 0))
    p_final = spec.terms(flat, theta)[0]
    fit = dichotomous_fit(p_final, r, n)
    var_eap = np.average((eap - np.average(eap, weights=counts)) ** 2, weights=counts)
    reliability = float(var_eap / (var_eap + np.average(psd ** 2, weights=counts)))
    bound = np.flatnonzero(spec.frozen) if not spec.frozen_common else np.arange(k)
    if bound.size:
        notes.append(Note("irt.at_bound", "数据无法确定这些题的参数，估计值停在边界上（如 |a| = 10），仅供参考",
                          "the data do not pin down these items' parameters: the estimates stopped "
                          "on a bound (e.g. |a| = 10); treat them as unreliable",
                          tuple(np.flatnonzero(usable)[bound].tolist())))
    extreme = np.flatnonzero((np.abs(a_out) > 8) | (np.abs(b) > 8))
    if extreme.size:
        notes.append(Note("irt.extreme_estimate", "参数估计值极端（|a| 或 |b| > 8），题目可能有问题",
                          "extreme estimates (|a| or |b| > 8): the items may be faulty",
                          tuple(np.flatnonzero(usable)[extreme].tolist())))

    def full(values, fill=np.nan):
        out = np.full(n_items, fill, dtype=float)
        out[usable] = values
        return out

    return IRTResult(
        model=model, item_names=matrix.item_names, a=full(a_out), b=full(b), c=full(c),
        d=full(d), se_a=full(se_a), se_b=full(se_b), se_c=full(se_c), se_d=full(se_d),
        latent_sd=latent_sd, se_latent_sd=se_latent, loglik=loglik, n_parameters=n_par,
        aic=-2 * loglik + 2 * n_par, bic=-2 * loglik + n_par * np.log(n_all), n_iterations=it,
        converged=converged, se_method=used, theta=eap[inverse], theta_se=psd[inverse],
        marginal_reliability=reliability, infit=full(fit[0]), outfit=full(fit[1]),
        infit_z=full(fit[2]), outfit_z=full(fit[3]), quadrature_nodes=nodes,
        quadrature_weights=weights, excluded_items=excluded, notes=tuple(notes))


def _squarem(spec, flat, theta, weights, u1, obs, counts, tol, max_iter):
    """Accelerated EM (:func:`~._common.squarem`) on the dichotomous model."""
    def em(x):
        ll, r, n, _ = _e_step(spec, x, theta, weights, u1, obs, counts)
        return spec.m_step(x, theta, r, n), ll

    def project(trial, x2):
        # An item the extrapolation pushes onto or past a bound keeps its EM value instead, so
        # only a plain Fisher-scoring step can freeze an item.
        outside = (trial <= spec.lower + 1e-9) | (trial >= spec.upper - 1e-9)
        if spec.model == "rasch":
            revert = np.append(outside[:-1], outside[-1]) | spec.frozen_mask()
        else:
            revert = np.repeat(outside.reshape(spec.k, spec.cols).any(axis=1), spec.cols) \
                | spec.frozen_mask()
        trial = trial.copy()
        trial[revert] = x2[revert]
        return trial

    return squarem(em, flat, tol, max_iter, project)


def _covariance(spec, flat, theta, weights, u1, obs, counts, r, n, post, method, max_params):
    """Inverse observed information (see module docstring); returns (cov or None, method)."""
    if method == "none":
        return None, "none"
    if method == "auto":
        method = "hessian" if flat.size <= max_params else "xpd"
    if method == "hessian":
        def score(x):
            _, rr, nn, _ = _e_step(spec, x, theta, weights, u1, obs, counts)
            return spec.gradient(x, theta, rr, nn)
        info = observed_information(score, flat)
    else:
        p, item, common = spec.terms(flat, theta)
        u0 = (1 - u1) if obs is None else obs - u1
        blocks = [u1 * (post @ (dp / p).T) - u0 * (post @ (dp / (1 - p)).T) for dp in item]
        scores = np.stack(blocks, axis=2).reshape(u1.shape[0], -1)
        if common is not None:
            sc = u1 * (post @ (common / p).T) - u0 * (post @ (common / (1 - p)).T)
            scores = np.column_stack([scores, sc.sum(axis=1)])
        info = scores.T @ (scores * counts[:, None])
        if spec.prior is not None:
            idx = np.arange(spec.k) * 3 + 2
            info[idx, idx] += spec.prior_terms(flat)[1]
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return None, method
    if not np.all(np.isfinite(cov)) or np.any(np.diag(cov) <= 0):
        return None, method
    return cov, method
