"""Classical test theory item and test statistics (经典测量理论项目分析).

Everything is computed from one small table, ``C[s, j, k]`` = the number of examinees with total
score ``s`` who scored ``k`` on item ``j``. It is built in row chunks with ``numpy.bincount``, so a
100,000 x 200 matrix is analysed in well under a second with memory of the order of the ``int8``
matrix itself; every statistic below (moments, covariances, the upper and lower groups, the
maximum covariance of the discriminative efficiency) is an exact function of that table.

Conventions
-----------
* Missing answers: ``missing="incorrect"`` (default) scores them 0, the usual rule for an
  achievement test, and reports their number per item; ``missing="listwise"`` drops every
  examinee with a missing answer (a :class:`Note` says how many).
* Variances and SDs use the divisor ``N - 1`` (as R ``psych::alpha`` and Moodle); ratios such as
  alpha and correlations do not depend on that choice. KR-20 is written with ``p q`` and the
  population variance of the total score, which makes it identical to alpha on 0/1 data.
* A constant item (everyone scored the same) has no correlation: its correlations and
  discriminative efficiency are NaN, it is left out of alpha, and a note ``item.constant`` says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Sequence

import numpy as np

from itembank.errors import InvalidValue
from itembank.psychometrics._common import (MISSING, Note, PsychometricsError, ScoreMatrix,
                                            as_score_matrix, row_chunks)

__all__ = ["ClassicalResult", "ScoreDistribution", "classical_statistics", "cronbach_alpha",
           "kr20", "upper_lower_weights", "total_scores"]

#: Kelley's (1939) group fraction for the upper-lower discrimination index.
GROUP_FRACTION = 0.27
#: Cells of the score table (400 MB of int64); 0/1 tests never come near it (200 items: 80,000).
TABLE_LIMIT = 50_000_000


@dataclass(frozen=True, eq=False)
class ScoreDistribution:
    """Distribution of the total score (sum of item scores, missing counted as 0).

    ``sd`` uses ``N - 1``; ``skewness`` is :math:`g_1 = m_3 / m_2^{3/2}` and ``kurtosis`` the
    excess :math:`g_2 = m_4 / m_2^2 - 3`, with :math:`m_r` the central moments with divisor N
    (``scipy.stats.skew`` / ``kurtosis`` with ``bias=True``). Both are NaN when every examinee has
    the same total (``sd == 0``). ``frequencies[s]`` counts the examinees with total ``s``.
    """

    n: int
    mean: float
    sd: float
    skewness: float
    kurtosis: float
    minimum: int
    maximum: int
    median: float
    max_possible: int
    frequencies: np.ndarray


@dataclass(frozen=True, eq=False)
class ClassicalResult:
    """Item and test statistics; item arrays have shape ``(n_items,)``.

    Attributes
    ----------
    facility : p = mean item score / maximum score (难度, proportion correct on 0/1 items).
    item_sd : SD of the item score (divisor N - 1).
    point_biserial : Pearson correlation of item score and total score (点二列相关).
    item_rest : corrected item-total correlation, item score vs total of the *other* items.
    upper_facility, lower_facility : facility in the upper and lower 27 % groups.
    discrimination_index : D = upper_facility - lower_facility (区分度 D).
    discriminative_efficiency : cov(item, rest) / max cov(item, rest) given both marginals.
    alpha_if_deleted : Cronbach's alpha of the test without the item.
    n_missing, missing_rate : missing answers per item (scored 0 or dropped, see ``missing``).
    alpha, kr20, sem : test reliability; ``kr20`` is None unless every item is 0/1.
    group_size : n_g, the (possibly fractional-tie) size of each extreme group.
    """

    n_examinees: int
    n_items: int
    item_names: tuple[str, ...]
    max_scores: np.ndarray
    facility: np.ndarray
    item_mean: np.ndarray
    item_sd: np.ndarray
    point_biserial: np.ndarray
    item_rest: np.ndarray
    upper_facility: np.ndarray
    lower_facility: np.ndarray
    discrimination_index: np.ndarray
    discriminative_efficiency: np.ndarray
    alpha_if_deleted: np.ndarray
    n_missing: np.ndarray
    missing_rate: np.ndarray
    alpha: float
    kr20: float | None
    sem: float
    score: ScoreDistribution
    group_fraction: float
    group_size: int
    missing: str
    notes: tuple[Note, ...] = ()

    def item_row(self, j: int) -> dict[str, Any]:
        """The statistics of item ``j`` as a plain dict (one row of the report)."""
        keys = ("facility", "item_mean", "item_sd", "point_biserial", "item_rest",
                "upper_facility", "lower_facility", "discrimination_index",
                "discriminative_efficiency", "alpha_if_deleted", "n_missing", "missing_rate",
                "max_scores")
        row: dict[str, Any] = {"index": j, "name": self.item_names[j]}
        for key in keys:
            row["max_score" if key == "max_scores" else key] = getattr(self, key)[j].item()
        return row


def total_scores(matrix: ScoreMatrix) -> np.ndarray:
    """Total score per examinee, missing answers counted as 0, as int64, shape (n,)."""
    out = np.empty(matrix.shape[0], dtype=np.int64)
    for rows in row_chunks(matrix.shape[0], 8192):
        block = matrix.scores[rows]
        out[rows] = block.sum(axis=1, dtype=np.int64) + (block == MISSING).sum(axis=1)
    return out


def upper_lower_weights(totals: np.ndarray, fraction: float = GROUP_FRACTION
                        ) -> tuple[np.ndarray, np.ndarray, int]:
    """Membership weights of the upper and lower groups, ties shared fractionally.

    The group size is :math:`n_g = \\max(1, \\lfloor f N + 1/2 \\rfloor)` (Kelley 1939, f = 0.27).
    The upper group takes examinees from the highest total score down. **Tie rule**: when the
    examinees with the boundary score do not all fit, each of them enters with the same weight
    ``(n_g - n_above) / n_tied``, so each group weighs exactly n_g, the result never depends on
    the order of the rows, and equal scores are treated equally. The lower group mirrors this.

    Parameters
    ----------
    totals : ndarray of int, shape (n,)
    fraction : float in (0, 0.5]

    Returns
    -------
    w_upper, w_lower : ndarray of float, shape (n,), each summing to n_g
    n_g : int
    """
    totals = np.asarray(totals)
    values, inverse, counts = np.unique(totals, return_inverse=True, return_counts=True)
    n_g = _group_size(totals.size, fraction)
    w_up = _group_weights(counts[::-1], n_g)[::-1]
    w_low = _group_weights(counts, n_g)
    return w_up[inverse], w_low[inverse], n_g


def _group_size(n: int, fraction: float) -> int:
    if not 0 < fraction <= 0.5:
        raise InvalidValue("group_fraction", "group_fraction.range", "分组比例必须在 (0, 0.5] 内",
                           "the group fraction must lie in (0, 0.5]")
    return max(1, int(np.floor(fraction * n + 0.5)))


def _group_weights(counts: np.ndarray, n_g: int) -> np.ndarray:
    """Per-score-value weight when taking ``n_g`` examinees from the start of ``counts``."""
    counts = np.asarray(counts, dtype=float)
    before = np.concatenate(([0.0], np.cumsum(counts)[:-1]))
    taken = np.clip(n_g - before, 0, counts)
    return np.divide(taken, counts, out=np.zeros_like(counts), where=counts > 0)


def _score_table(matrix: ScoreMatrix, totals: np.ndarray, rows_kept: np.ndarray | None
                 ) -> np.ndarray:
    """``C[s, j, k]``: examinees with total ``s`` scoring ``k`` on item ``j`` (missing as 0)."""
    n, k = matrix.shape
    n_cat = int(matrix.max_scores.max()) + 1
    n_s = int(totals.max()) + 1 if totals.size else 1
    if n_s * k * n_cat > TABLE_LIMIT:
        raise PsychometricsError("classical.table_too_large",
                                 f"总分 × 题目 × 得分的列联表有 {n_s * k * n_cat} 格，超过上限 {TABLE_LIMIT}",
                                 f"the total x item x score table would have {n_s * k * n_cat} "
                                 f"cells, more than {TABLE_LIMIT}; rescale the item scores")
    cols = np.arange(k, dtype=np.int64) * n_cat
    table = np.zeros(n_s * k * n_cat, dtype=np.int64)
    src = matrix.scores if rows_kept is None else matrix.scores[rows_kept]
    for rows in row_chunks(src.shape[0], 4096):
        block = src[rows].astype(np.int64)
        np.maximum(block, 0, out=block)
        block += cols
        block += (totals[rows] * (k * n_cat))[:, None]
        table += np.bincount(block.ravel(), minlength=table.size)
    return table.reshape(n_s, k, n_cat)


def classical_statistics(responses: Any, *, max_scores: Sequence[int] | int | None = None,
                         item_names: Sequence[str] | None = None,
                         missing: Literal["incorrect", "listwise"] = "incorrect",
                         group_fraction: float = GROUP_FRACTION) -> ClassicalResult:
    """Classical item analysis of a scored response matrix.

    Parameters
    ----------
    responses : array_like or ScoreMatrix, shape (n_examinees, n_items)
        Item scores 0..max (NaN or -1 = missing), see :func:`~._common.as_score_matrix`.
    max_scores : int or sequence of int, optional
        Maximum score per item; default 1 (dichotomous items).
    missing : {"incorrect", "listwise"}
        How missing answers enter (see the module docstring).
    group_fraction : float
        Fraction of examinees in each of the upper and lower groups (default 0.27).

    Notes
    -----
    With item score :math:`x_j`, total :math:`X = \\sum_j x_j`, rest :math:`R_j = X - x_j`:

    * facility :math:`p_j = \\bar x_j / m_j`; point-biserial :math:`r_{jX} = cov(x_j, X) /
      (s_j s_X)`; item-rest :math:`r_{jR} = cov(x_j, R_j) / (s_j s_{R_j})` with
      :math:`cov(x_j, R_j) = cov(x_j, X) - s_j^2` and :math:`s^2_{R_j} = s_X^2 + s_j^2 -
      2 cov(x_j, X)` (Crocker & Algina 1986, ch. 14; Henrysson 1963).
    * :math:`D_j = p_{U,j} - p_{L,j}` with 27 % groups (Kelley 1939; Ebel & Frisbie 1991); the
      tie rule is in :func:`upper_lower_weights`.
    * discriminative efficiency :math:`cov(x_j, R_j) / cov_{max}`, where :math:`cov_{max}` pairs
      the sorted item scores with the sorted rest scores, the largest covariance the two
      marginal distributions allow (the Moodle quiz statistics report's definition).
    * Cronbach's alpha :math:`\\alpha = \\frac{k}{k-1}(1 - \\sum_j s_j^2 / s_X^2)` (Cronbach
      1951); KR-20 :math:`\\frac{k}{k-1}(1 - \\sum_j p_j q_j / \\sigma_X^2)` (Kuder & Richardson
      1937); alpha if item deleted uses :math:`k - 1` items and :math:`s^2_{R_j}`.
    * :math:`SEM = s_X \\sqrt{1 - \\alpha}` (Lord & Novick 1968).
    """
    matrix = as_score_matrix(responses, max_scores=max_scores, item_names=item_names)
    notes: list[Note] = []
    n_all, n_items = matrix.shape
    rows_kept = None
    if missing == "listwise":
        complete = np.ones(n_all, dtype=bool)
        for rows in row_chunks(n_all, 8192):
            complete[rows] = ~(matrix.scores[rows] == MISSING).any(axis=1)
        if not complete.all():
            rows_kept = np.flatnonzero(complete)
            notes.append(Note("missing.listwise", f"{n_all - rows_kept.size} 名有缺答的考生被排除",
                              f"{n_all - rows_kept.size} examinees with a missing answer were "
                              "left out (listwise)"))
            if rows_kept.size < 2:
                raise InvalidValue("responses", "responses.too_few_examinees",
                                   "剔除有缺答的考生后不足 2 人",
                                   "fewer than 2 examinees remain without a missing answer")
    elif missing != "incorrect":
        raise InvalidValue("missing", "missing.choice", "missing 只能是 incorrect 或 listwise",
                           "missing must be 'incorrect' or 'listwise'")
    elif matrix.n_missing.any():
        notes.append(Note("missing.scored_zero", "缺答按 0 分计，并按题报告缺答数",
                          "missing answers are scored 0 and counted per item",
                          tuple(np.flatnonzero(matrix.n_missing).tolist())))
    totals = total_scores(matrix)
    if rows_kept is not None:
        totals = totals[rows_kept]
    n = totals.size
    table = _score_table(matrix, totals, rows_kept)
    s_vals = np.arange(table.shape[0], dtype=float)
    k_vals = np.arange(table.shape[2], dtype=float)
    n_s = table[:, 0, :].sum(axis=1).astype(float)

    # Moments (divisor N), converted to N - 1 where documented.
    mean_x = np.einsum("sjk,k->j", table, k_vals) / n
    exx = np.einsum("sjk,k->j", table, k_vals ** 2) / n
    exX = np.einsum("sjk,s,k->j", table, s_vals, k_vals) / n
    mean_X = n_s @ s_vals / n
    var_X = n_s @ (s_vals - mean_X) ** 2 / n
    var_j = np.maximum(exx - mean_x ** 2, 0.0)
    cov_jX = exX - mean_x * mean_X
    cov_jR = cov_jX - var_j
    var_R = np.maximum(var_X + var_j - 2 * cov_jX, 0.0)
    constant = var_j <= 1e-12
    if constant.any():
        notes.append(Note("item.constant", "所有考生在这些题上得分相同：相关系数无定义，且不计入 alpha",
                          "every examinee has the same score on these items: correlations are "
                          "undefined (null) and the items are left out of alpha",
                          tuple(np.flatnonzero(constant).tolist())))
    with np.errstate(divide="ignore", invalid="ignore"):
        r_pb = np.where(constant | (var_X <= 0), np.nan, cov_jX / np.sqrt(var_j * var_X))
        r_ir = np.where(constant | (var_R <= 0), np.nan, cov_jR / np.sqrt(var_j * var_R))
    if np.any(~constant & (var_R <= 0)):
        notes.append(Note("item.rest_constant", "其余题总分恒定，题-余相关无定义",
                          "the rest score is constant, so the item-rest correlation is undefined",
                          tuple(np.flatnonzero(~constant & (var_R <= 0)).tolist())))

    n_g = _group_size(n, group_fraction)
    w_up_s = _group_weights(n_s[::-1], n_g)[::-1]
    w_low_s = _group_weights(n_s, n_g)
    item_sum_by_s = np.einsum("sjk,k->sj", table, k_vals)
    maxs = matrix.max_scores.astype(float)
    upper = w_up_s @ item_sum_by_s / (n_g * maxs)
    lower = w_low_s @ item_sum_by_s / (n_g * maxs)

    efficiency = _discriminative_efficiency(table, cov_jR, mean_x, n)
    efficiency[constant] = np.nan

    keep = ~constant
    k_eff = int(keep.sum())
    sum_var = var_j[keep].sum()
    alpha = np.nan
    alpha_del = np.full(n_items, np.nan)
    if k_eff >= 2 and var_X > 0:
        alpha = k_eff / (k_eff - 1) * (1 - sum_var / var_X)
        if k_eff >= 3:
            with np.errstate(divide="ignore", invalid="ignore"):
                alpha_del = np.where(var_R > 0, (k_eff - 1) / (k_eff - 2)
                                     * (1 - (sum_var - var_j) / var_R), np.nan)
        alpha_del[constant] = alpha
    else:
        notes.append(Note("alpha.undefined", "有效题目少于 2 题或总分方差为 0，alpha 无定义",
                          "alpha is undefined: fewer than 2 non-constant items or a constant total"))
    if k_eff < 3:
        notes.append(Note("alpha_if_deleted.undefined", "删题后不足 2 题，删题 alpha 无定义",
                          "alpha if item deleted is undefined with fewer than 3 non-constant items"))
    kr = None
    if matrix.dichotomous:
        kr = float(k_eff / (k_eff - 1) * (1 - var_j[keep].sum() / var_X)) \
            if k_eff >= 2 and var_X > 0 else float("nan")
    if np.isfinite(alpha) and alpha < 0:
        notes.append(Note("alpha.negative", "alpha 为负：题目之间平均协方差为负，请检查计分与答案",
                          "alpha is negative: the items covary negatively on average; check the "
                          "keys and the scoring"))
    ddof = n / (n - 1)
    sd_X = float(np.sqrt(var_X * ddof))
    sem = float(sd_X * np.sqrt(1 - alpha)) if np.isfinite(alpha) and alpha <= 1 else float("nan")
    score = _distribution(n_s, n, mean_X, var_X, int(maxs.sum()))
    if not np.isfinite(score.skewness):
        notes.append(Note("score.constant", "所有考生总分相同：偏度、峰度无定义",
                          "every examinee has the same total: skewness and kurtosis are undefined"))
    n_missing = matrix.n_missing if rows_kept is None else np.zeros(n_items, dtype=np.int64)
    return ClassicalResult(
        n_examinees=n, n_items=n_items, item_names=matrix.item_names, max_scores=matrix.max_scores,
        facility=mean_x / maxs, item_mean=mean_x, item_sd=np.sqrt(var_j * ddof),
        point_biserial=r_pb, item_rest=r_ir, upper_facility=upper, lower_facility=lower,
        discrimination_index=upper - lower, discriminative_efficiency=efficiency,
        alpha_if_deleted=alpha_del, n_missing=n_missing, missing_rate=n_missing / n_all,
        alpha=float(alpha), kr20=kr, sem=sem, score=score, group_fraction=group_fraction,
        group_size=n_g, missing=missing, notes=tuple(notes))


def _discriminative_efficiency(table: np.ndarray, cov_jR: np.ndarray, mean_x: np.ndarray,
                               n: int) -> np.ndarray:
    """cov(x_j, R_j) over the comonotone (sorted-against-sorted) covariance, per item."""
    n_s, n_items, n_cat = table.shape
    hist_x = table.sum(axis=0)                      # (items, categories)
    hist_r = np.zeros((n_s, n_items), dtype=np.int64)
    for k in range(n_cat):                          # rest r = s - k
        hist_r[: n_s - k] += table[k:, :, k]
    out = np.full(n_items, np.nan)
    for j in range(n_items):
        cx = np.cumsum(hist_x[j])
        cr = np.cumsum(hist_r[:, j])
        breaks = np.union1d(cx, cr)
        breaks = breaks[breaks > 0]
        lengths = np.diff(np.concatenate(([0], breaks)))
        xv = np.searchsorted(cx, breaks, side="left")
        rv = np.searchsorted(cr, breaks, side="left")
        mean_r = (hist_r[:, j] @ np.arange(n_s)) / n
        cov_max = (lengths * xv) @ rv / n - mean_x[j] * mean_r
        if cov_max > 1e-12:
            out[j] = cov_jR[j] / cov_max
    return out


def _distribution(n_s: np.ndarray, n: int, mean: float, var: float, max_possible: int
                  ) -> ScoreDistribution:
    s = np.arange(n_s.size, dtype=float)
    m3 = n_s @ (s - mean) ** 3 / n
    m4 = n_s @ (s - mean) ** 4 / n
    nz = np.flatnonzero(n_s)
    cum = np.cumsum(n_s)
    lo = int(np.searchsorted(cum, (n - 1) // 2 + 1))
    hi = int(np.searchsorted(cum, n // 2 + 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        skew = m3 / var ** 1.5 if var > 0 else np.nan
        kurt = m4 / var ** 2 - 3 if var > 0 else np.nan
    freq = np.zeros(max(max_possible, n_s.size - 1) + 1, dtype=np.int64)
    freq[: n_s.size] = n_s.astype(np.int64)
    return ScoreDistribution(n=n, mean=float(mean), sd=float(np.sqrt(var * n / (n - 1))),
                             skewness=float(skew), kurtosis=float(kurt), minimum=int(nz[0]),
                             maximum=int(nz[-1]), median=(lo + hi) / 2, max_possible=max_possible,
                             frequencies=freq)


def cronbach_alpha(responses: Any, *, max_scores: Sequence[int] | int | None = None) -> float:
    """Cronbach's alpha of a scored matrix (see :func:`classical_statistics`)."""
    return classical_statistics(responses, max_scores=max_scores).alpha


def kr20(responses: Any) -> float:
    """Kuder-Richardson formula 20 of a 0/1 matrix (equal to alpha on 0/1 data)."""
    return float(classical_statistics(responses).kr20)
