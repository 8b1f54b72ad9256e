"""Polytomous IRT for skill-task scores (操作技能评分): graded response and partial credit models.

Models, for an item with score categories :math:`k = 0..m` (logistic metric, D = 1):

* **GRM** (Samejima 1969): :math:`P^*_k(\\theta) = \\sigma(a\\theta + d_k)` for :math:`k \\ge 1`,
  :math:`d_1 > \\dots > d_m`, :math:`P_k = P^*_k - P^*_{k+1}` (:math:`P^*_0 = 1`,
  :math:`P^*_{m+1} = 0`); thresholds :math:`b_k = -d_k / a`.
* **GPCM** (Muraki 1992): :math:`P_k \\propto \\exp(k a\\theta + c_k)`, :math:`c_0 = 0`; step
  difficulties :math:`\\delta_k = -(c_k - c_{k-1}) / a`.
* **PCM** (Masters 1982): the GPCM with :math:`a = 1` on the logit scale and an estimated ability SD
  ``latent_sd`` (as the Rasch model in :mod:`.irt`); :math:`\\delta_k = -(c_k - c_{k-1})`, the
  abilities are in logits.

Estimation: Bock-Aitkin EM over the same quadrature as :mod:`.irt`, response patterns collapsed,
category indicators times log-probabilities as one matrix product; per item the M-step is Fisher
scoring with :math:`\\sum_{q,k} n_q \\, \\partial P_k \\partial P_k^T / P_k` (exact Newton for
the GPCM), with step halving that keeps the GRM intercepts ordered. Standard errors: observed
information by central differences of the marginal score (Fisher's identity). Infit/outfit are the
polytomous Wright & Masters (1982) mean squares, integrated over the posterior as in :mod:`.irt`.

Categories: an item's categories are the score values observed for it. When they are contiguous
but do not reach 0 or the declared maximum, the item is analysed on the observed range (note
``item.categories_trimmed``; ``category_scores`` lists the real scores); a gap (a middle score
nobody obtained) leaves the item out (note ``item.empty_category``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal, Sequence

import numpy as np
from scipy.special import expit, softmax

from itembank.errors import InvalidValue
from itembank.psychometrics._common import (MISSING, SLOPE_MAX, Note, as_score_matrix,
                                            collapse_patterns, normal_quadrature,
                                            observed_information, posterior, squarem)
from itembank.psychometrics.fit import polytomous_fit

__all__ = ["PolytomousResult", "fit_polytomous", "category_probabilities"]


@dataclass(frozen=True, eq=False)
class PolytomousResult:
    """Item parameters per item (tuples of arrays where the number of categories varies)."""

    model: str
    item_names: tuple[str, ...]
    category_scores: tuple[tuple[int, ...], ...]
    a: np.ndarray
    se_a: np.ndarray
    thresholds: tuple[np.ndarray, ...]
    se_thresholds: tuple[np.ndarray, ...]
    intercepts: tuple[np.ndarray, ...]
    latent_sd: float
    se_latent_sd: float
    loglik: float
    n_parameters: int
    aic: float
    bic: float
    n_iterations: int
    converged: bool
    theta: np.ndarray
    theta_se: np.ndarray
    marginal_reliability: float
    infit: np.ndarray
    outfit: np.ndarray
    excluded_items: tuple[int, ...] = ()
    notes: tuple[Note, ...] = ()


def category_probabilities(model: str, a: float, intercepts: np.ndarray, theta: Any
                           ) -> np.ndarray:
    """Category probabilities, shape ``(m + 1, len(theta))`` (``theta`` on the N(0,1) scale
    for GRM/GPCM; for the PCM pass ``a = latent_sd`` and standardised theta, or ``a = 1`` and
    theta in logits)."""
    return _probs(model, np.concatenate(([a], intercepts)), np.atleast_1d(theta))[0]


def _probs(model: str, par: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P (K x Q) and dP/d(par) (K x Q x len(par)); par = [a, d_1..d_m] or [a, c_1..c_m]."""
    a, rest = par[0], par[1:]
    m, q = rest.size, theta.size
    if model == "grm":
        star = expit(a * theta[None, :] + rest[:, None])              # m x Q
        w = star * (1 - star)
        full = np.vstack([np.ones(q), star, np.zeros(q)])
        p = full[:-1] - full[1:]
        dstar = np.zeros((m + 2, q, m + 1))
        dstar[1:-1, :, 0] = w * theta
        dstar[np.arange(1, m + 1), :, np.arange(1, m + 1)] = w
        dp = dstar[:-1] - dstar[1:]
    else:
        k = np.arange(m + 1)
        z = a * np.outer(k, theta) + np.concatenate(([0.0], rest))[:, None]
        p = softmax(z, axis=0)
        t = np.zeros((m + 1, q, m + 1))
        t[:, :, 0] = np.outer(k, theta)
        t[np.arange(1, m + 1), :, np.arange(1, m + 1)] = 1.0
        tbar = np.einsum("kq,kqp->qp", p, t)
        dp = p[..., None] * (t - tbar[None])
    return np.clip(p, 1e-12, 1.0), dp


def _item_step(model, par, theta, r, free) -> np.ndarray:
    """One Fisher-scoring step with halving for one item; ``free`` masks the parameters moved."""
    n = r.sum(axis=0)
    p, dp = _probs(model, par, theta)
    g = np.einsum("kq,kqp->p", r / p, dp)[free]
    info = np.einsum("q,kqp,kqs->ps", n, dp / p[..., None], dp)[np.ix_(free, free)]
    try:
        step = np.linalg.solve(info + 1e-9 * np.eye(info.shape[0]), g)
    except np.linalg.LinAlgError:
        return par
    step = np.clip(step, -1.0, 1.0)
    old = (r * np.log(p)).sum()
    for _ in range(12):
        new = par.copy()
        new[free] += step
        new[0] = np.clip(new[0], -SLOPE_MAX, SLOPE_MAX)
        new[1:] = np.clip(new[1:], -3 * SLOPE_MAX, 3 * SLOPE_MAX)
        ordered = model != "grm" or np.all(np.diff(new[1:]) < 0)
        if ordered and (r * np.log(_probs(model, new, theta)[0])).sum() >= old - 1e-10:
            return new
        step = step * 0.5
    return par


def _gradient(model, params, common, theta, rs) -> np.ndarray:
    """Marginal score (Fisher's identity) in the flat parameter order of :func:`_flatten`."""
    out = []
    ga = 0.0
    for par, r in zip(params, rs):
        p, dp = _probs(model, par, theta)
        g = np.einsum("kq,kqp->p", r / p, dp)
        if common:
            out.append(g[1:])
            ga += g[0]
        else:
            out.append(g)
    return np.concatenate(out + ([np.array([ga])] if common else []))


def _flatten(params, common):
    if common:
        return np.concatenate([p[1:] for p in params] + [np.array([params[0][0]])])
    return np.concatenate(params)


def _unflatten(flat, sizes, common):
    out, pos = [], 0
    for s in sizes:
        if common:
            out.append(np.concatenate(([flat[-1]], flat[pos:pos + s - 1])))
            pos += s - 1
        else:
            out.append(flat[pos:pos + s].copy())
            pos += s
    return out


class _Data:
    def __init__(self, patterns, counts, n_cats, model, theta, weights):
        self.counts, self.model, self.theta, self.weights = counts, model, theta, weights
        self.offsets = np.concatenate(([0], np.cumsum(n_cats)))
        cols = []
        for j, kj in enumerate(n_cats):
            cols.append((patterns[:, j][:, None] == np.arange(kj)[None, :]).astype(float))
        self.y = np.hstack(cols)

    def e_step(self, params):
        logp = np.vstack([np.log(_probs(self.model, par, self.theta)[0]) for par in params])
        post, loglik, _ = posterior(self.y @ logp, self.weights, self.counts)
        r = self.y.T @ (post * self.counts[:, None])
        rs = [r[self.offsets[j]:self.offsets[j + 1]] for j in range(len(params))]
        return loglik, rs, post


def fit_polytomous(responses: Any, model: Literal["grm", "gpcm", "pcm"] = "grm", *,
                   max_scores: Sequence[int] | int | None = None,
                   item_names: Sequence[str] | None = None, n_quadrature: int = 61,
                   quadrature_bound: float = 6.0, max_iter: int = 1000, tol: float = 1e-5,
                   standard_errors: bool = True, hessian_max_params: int = 200
                   ) -> PolytomousResult:
    """Calibrate a GRM, GPCM or PCM on integer item scores (see the module docstring).

    Parameters
    ----------
    responses : array_like, shape (n_examinees, n_items)
        Integer scores ``0..max_scores[j]``; NaN or -1 missing (left out of the likelihood).
    max_scores : int or sequence, optional
        Declared maximum per item; default: the observed maximum of each item.

    Raises
    ------
    InvalidValue
        Bad input (:func:`~._common.as_score_matrix`), ``model.choice``,
        ``responses.no_usable_items``.
    """
    if model not in ("grm", "gpcm", "pcm"):
        raise InvalidValue("model", "model.choice", "模型只能是 grm、gpcm 或 pcm",
                           "model must be 'grm', 'gpcm' or 'pcm'")
    raw = np.asarray(responses, dtype=float) if not hasattr(responses, "scores") else None
    if max_scores is None and raw is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)     # an all-missing column
            observed = np.nanmax(np.where(raw == MISSING, np.nan, raw), axis=0) \
                if raw.ndim == 2 else None
        max_scores = None if observed is None else np.maximum(np.nan_to_num(observed), 1)
    matrix = as_score_matrix(responses, max_scores=max_scores, item_names=item_names)
    scores = matrix.scores.astype(np.int64)
    n_all, n_items = scores.shape
    notes: list[Note] = []
    usable, cats, trimmed, gaps = [], [], [], []
    for j in range(n_items):
        col = scores[:, j]
        values = np.unique(col[col != MISSING])
        if values.size < 2:
            continue
        if values[-1] - values[0] + 1 != values.size:
            gaps.append(j)
            continue
        if values[0] != 0 or values[-1] != matrix.max_scores[j]:
            trimmed.append(j)
        usable.append(j)
        cats.append(tuple(int(v) for v in values))
    skipped = tuple(sorted(set(range(n_items)) - set(usable)))
    if gaps:
        notes.append(Note("item.empty_category", "这些题中间某个得分无人获得，无法估计，已排除",
                          "a score inside these items' range was obtained by nobody; the items were "
                          "left out", tuple(gaps)))
    if set(skipped) - set(gaps):
        notes.append(Note("item.excluded_no_variance", "这些题所有考生得分相同或无人作答，已排除",
                          "every examinee scored the same on these items (or nobody answered); "
                          "they were left out", tuple(sorted(set(skipped) - set(gaps)))))
    if trimmed:
        notes.append(Note("item.categories_trimmed", "这些题只按实际出现的得分范围分析",
                          "these items are analysed on the range of scores actually obtained",
                          tuple(trimmed)))
    if not usable:
        raise InvalidValue("responses", "responses.no_usable_items", "没有可供估计的题目",
                           "no item can be calibrated")
    if n_all < 200:
        notes.append(Note("irt.small_sample", f"仅 {n_all} 名考生：IRT 参数估计不稳定，仅供参考",
                          f"only {n_all} examinees: IRT estimates are unstable, for guidance only"))
    data = np.stack([np.where(scores[:, j] == MISSING, MISSING, scores[:, j] - c[0])
                     for j, c in zip(usable, cats)], axis=1)
    patterns, counts, inverse = collapse_patterns(data)
    n_cats = [len(c) for c in cats]
    theta, weights = normal_quadrature(n_quadrature, quadrature_bound)
    d = _Data(patterns, counts, n_cats, model, theta, weights)
    common = model == "pcm"
    params = []
    for j in range(len(usable)):
        col = data[:, j]
        freq = np.array([(col == k).sum() for k in range(n_cats[j])], dtype=float) + 0.5
        if model == "grm":
            above = freq[::-1].cumsum()[::-1][1:] / freq.sum()
            rest = np.log(above / (1 - above)) * 1.18
        else:
            rest = np.cumsum(np.log(freq[1:] / freq[:-1]))
        params.append(np.concatenate(([1.0], rest)))
    sizes = [p.size for p in params]

    def em(flat_x):
        current = _unflatten(flat_x, sizes, common)
        ll, rs, _ = d.e_step(current)
        # An item whose slope or intercept reached a bound is frozen (see _dichotomous.DichotomousModel).
        new = [par if _on_bound(par, common) else
               _item_step(model, par, theta, r, np.arange(par.size) >= (1 if common else 0))
               for par, r in zip(current, rs)]
        if common and 0.01 < new[0][0] < SLOPE_MAX:
            new = _common_slope_step(new, theta, rs)
        return _flatten(new, common), ll

    def project(trial, x2):
        out = _unflatten(trial, sizes, common)
        before = _unflatten(x2, sizes, common)
        slope_ok = not common or 0.01 < out[0][0] < SLOPE_MAX
        for pos, par in enumerate(out):
            # Frozen, pushed onto a bound by the extrapolation, or GRM intercepts out of
            # order: the item keeps its EM value (only a plain step may freeze an item).
            if (_on_bound(before[pos], common) or _on_bound(par, common) or not slope_ok
                    or (model == "grm" and np.any(np.diff(par[1:]) >= 0))):
                out[pos] = before[pos]
        return _flatten(out, common)

    flat, it, converged = squarem(em, _flatten(params, common), tol, max_iter, project)
    params = _unflatten(flat, sizes, common)
    loglik, rs, post = d.e_step(params)
    on_bound = tuple(j for j, par in zip(usable, params) if _on_bound(par, common))
    if on_bound:
        notes.append(Note("irt.at_bound", "数据无法确定这些题的参数，估计值停在边界上，仅供参考",
                          "the data do not pin down these items' parameters: the estimates stopped "
                          "on a bound; treat them as unreliable", on_bound))
    if not converged:
        notes.append(Note("irt.not_converged", f"EM 在 {max_iter} 轮内未收敛，结果仅供参考",
                          f"EM did not converge within {max_iter} cycles; treat the results with "
                          "caution"))
    cov = np.full((flat.size, flat.size), np.nan)
    if standard_errors and flat.size <= hessian_max_params:
        def score(x):
            mp = _unflatten(x, sizes, common)
            return _gradient(model, mp, common, theta, d.e_step(mp)[1])
        info = observed_information(score, flat)
        try:
            inv = np.linalg.inv(info)
            if not np.all(np.diag(inv) > 0):
                raise np.linalg.LinAlgError
            cov = inv
        except np.linalg.LinAlgError:
            notes.append(Note("irt.se_unavailable", "信息矩阵奇异，无法计算标准误（null）",
                              "the information matrix is singular: standard errors are null"))
    elif standard_errors:
        notes.append(Note("irt.se_skipped", f"参数超过 {hessian_max_params} 个，未计算标准误",
                          f"more than {hessian_max_params} parameters: standard errors skipped"))
    var = np.diag(cov)
    se_par = _unflatten(np.sqrt(var), sizes, common)
    index = _unflatten(np.arange(flat.size, dtype=float), sizes, common)
    scale = params[0][0] if common else 1.0
    nodes = theta * scale
    eap = post @ nodes
    psd = np.sqrt(np.maximum(post @ nodes ** 2 - eap ** 2, 0))
    var_eap = np.average((eap - np.average(eap, weights=counts)) ** 2, weights=counts)
    reliability = float(var_eap / (var_eap + np.average(psd ** 2, weights=counts)))
    a_out = np.full(n_items, np.nan)
    se_a = np.full(n_items, np.nan)
    infit = np.full(n_items, np.nan)
    outfit = np.full(n_items, np.nan)
    thresholds, se_thr, intercepts = [np.array([])] * n_items, [np.array([])] * n_items, \
        [np.array([])] * n_items
    category_scores: list[tuple[int, ...]] = [()] * n_items
    zero_slope: list[int] = []
    for pos, j in enumerate(usable):
        par, se = params[pos], se_par[pos]
        a = 1.0 if common else par[0]
        rest = par[1:]
        a_out[j] = a
        se_a[j] = np.nan if common else se[0]
        intercepts[j] = rest.copy()
        m = rest.size
        if abs(a) < 1e-6:                       # no slope: thresholds undefined
            zero_slope.append(j)
            a = np.nan
        # Delta method: gradient of each threshold w.r.t. (a, intercepts) of the item.
        grad = np.zeros((m, m + 1))
        if model == "grm":
            thresholds[j] = -rest / a
            grad[:, 0] = rest / a ** 2
            grad[np.arange(m), np.arange(1, m + 1)] = -1 / a
        else:
            steps = np.diff(np.concatenate(([0.0], rest)))
            thresholds[j] = -steps / a
            grad[:, 0] = steps / a ** 2
            grad[np.arange(m), np.arange(1, m + 1)] = -1 / a
            grad[np.arange(1, m), np.arange(1, m)] = 1 / a
        idx = index[pos].astype(int)
        if common:
            grad[:, 0] = 0.0                    # PCM thresholds are in logits: no slope term
        sub = cov[np.ix_(idx, idx)]
        se_thr[j] = np.sqrt(np.maximum(np.einsum("ip,pq,iq->i", grad, sub, grad), 0))
        category_scores[j] = cats[pos]
        p, _ = _probs(model, par, theta)
        infit[j], outfit[j] = polytomous_fit(p, rs[pos])
    if zero_slope:
        notes.append(Note("irt.zero_slope", "区分度估计为 0：阈值无定义（null）",
                          "the slope is estimated at 0: the thresholds are undefined (null)",
                          tuple(zero_slope)))
    n_par = flat.size
    return PolytomousResult(
        model=model, item_names=matrix.item_names, category_scores=tuple(category_scores),
        a=a_out, se_a=se_a, thresholds=tuple(thresholds), se_thresholds=tuple(se_thr),
        intercepts=tuple(intercepts), latent_sd=float(scale),
        se_latent_sd=float(np.sqrt(var[-1])) if common else float("nan"), loglik=loglik,
        n_parameters=n_par, aic=-2 * loglik + 2 * n_par, bic=-2 * loglik + n_par * np.log(n_all),
        n_iterations=it, converged=converged, theta=eap[inverse], theta_se=psd[inverse],
        marginal_reliability=reliability, infit=infit, outfit=outfit,
        excluded_items=skipped, notes=tuple(notes))


def _on_bound(par: np.ndarray, common: bool = False) -> bool:
    """A slope or intercept stopped on its bound: the item is not identified by the data.

    With a common slope (PCM) only the intercepts count; the slope's bounds stop its own step.
    """
    return bool(np.any(np.abs(par[1:]) >= 3 * SLOPE_MAX - 1e-9)
                or (not common and abs(par[0]) >= SLOPE_MAX - 1e-9))


def _common_slope_step(params, theta, rs):
    """Newton step with halving on the PCM common slope, summed over items."""
    g = info = total = 0.0
    for par, r in zip(params, rs):
        p, dp = _probs("pcm", par, theta)
        g += np.einsum("kq,kq->", r / p, dp[..., 0])
        info += np.einsum("q,kq->", r.sum(axis=0), dp[..., 0] ** 2 / p)
        total += (r * np.log(p)).sum()
    step = float(np.clip(g / max(info, 1e-9), -0.5, 0.5))
    for _ in range(12):
        slope = float(np.clip(params[0][0] + step, 0.01, SLOPE_MAX))
        trial = [np.concatenate(([slope], par[1:])) for par in params]
        if sum((r * np.log(_probs("pcm", par, theta)[0])).sum() for par, r in zip(trial, rs)) \
                >= total - 1e-10:
            return trial
        step *= 0.5
    return params
