"""Shared pieces of the psychometrics package: input checking, notes, quadrature, JSON.

The canonical in-memory form of a scored response matrix is an integer array of shape
``(n_examinees, n_items)`` holding item scores ``0 .. max_score`` and :data:`MISSING` (``-1``)
for an answer that is missing (omitted, not reached, not presented). It is ``int8`` unless a
maximum score exceeds 127, so a 100,000 x 200 matrix takes 20 MB; every statistic is computed
from it in row chunks so the peak memory stays a small multiple of that.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from itembank.errors import InvalidValue, ItemBankError

__all__ = ["MISSING", "PsychometricsError", "Note", "ScoreMatrix", "as_score_matrix",
           "normal_quadrature", "to_jsonable", "row_chunks", "check_group_vector", "posterior",
           "collapse_patterns", "observed_information", "squarem"]

#: Code of a missing answer in a scored integer matrix (NaN plays that role in float input).
MISSING = -1

#: Largest absolute slope estimated by the IRT models; intercepts are bounded by three times
#: this. An estimate on a bound is not identified by the data (note ``irt.at_bound``).
SLOPE_MAX = 10.0

#: Rows per chunk when streaming through a large matrix (about 1.6 MB of float64 per 100 items).
CHUNK_ROWS = 2048


class PsychometricsError(ItemBankError):
    """A computation that cannot be carried out on valid input (e.g. nothing left to analyse)."""

    def __init__(self, code: str, message: str, message_en: str):
        super().__init__(code, message, message_en)
        self.code = code
        self.message = message
        self.message_en = message_en

    def __str__(self) -> str:
        return f"{self.code}: {self.message_en}"


@dataclass(frozen=True)
class Note:
    """An explanation attached to a result: an exclusion, an undefined value, a caution.

    Attributes
    ----------
    code : str
        Stable machine code, e.g. ``"item.constant"``; tests and the UI branch on it.
    message, message_en : str
        Chinese and English text.
    items : tuple of int
        0-based indices of the items concerned (empty for test-level notes).
    """

    code: str
    message: str
    message_en: str
    items: tuple[int, ...] = ()


@dataclass(frozen=True, eq=False)
class ScoreMatrix:
    """A checked scored response matrix (see the module docstring for the encoding).

    Attributes
    ----------
    scores : ndarray of int, shape (n_examinees, n_items)
        Item scores with :data:`MISSING` for a missing answer.
    max_scores : ndarray of int, shape (n_items,)
        Maximum possible score of each item (1 for a dichotomous item).
    n_missing : ndarray of int, shape (n_items,)
        Number of missing answers per item.
    item_names : tuple of str
    """

    scores: np.ndarray
    max_scores: np.ndarray
    n_missing: np.ndarray
    item_names: tuple[str, ...]

    @property
    def shape(self) -> tuple[int, int]:
        return self.scores.shape

    @property
    def dichotomous(self) -> bool:
        return bool(np.all(self.max_scores == 1))


def row_chunks(n_rows: int, size: int = CHUNK_ROWS):
    """Yield ``slice`` objects covering ``range(n_rows)`` in blocks of ``size`` rows."""
    for start in range(0, n_rows, size):
        yield slice(start, min(start + size, n_rows))


def _invalid(code: str, zh: str, en: str, field: str = "responses") -> InvalidValue:
    return InvalidValue(field, f"{field}.{code}", zh, en)


def as_score_matrix(data: Any, *, max_scores: Sequence[int] | int | None = None,
                    item_names: Sequence[str] | None = None, min_examinees: int = 2,
                    field: str = "responses") -> ScoreMatrix:
    """Check a scored response matrix and bring it to the canonical integer encoding.

    Parameters
    ----------
    data : array_like, shape (n_examinees, n_items), or ScoreMatrix
        Item scores. Missing answers are ``NaN`` (float input) or ``-1`` (integer input).
    max_scores : int or sequence of int, optional
        Maximum score per item; ``None`` means every item is dichotomous (0/1).
    item_names : sequence of str, optional
        Defaults to ``"1" .. "n_items"``.
    min_examinees : int
        Fewer examinees raise :class:`~itembank.errors.InvalidValue` (code
        ``responses.too_few_examinees``).

    Raises
    ------
    InvalidValue
        ``responses.shape`` (not two-dimensional or empty), ``responses.too_few_examinees``,
        ``responses.not_integer`` (a fractional score), ``responses.out_of_range`` (a score below
        0 other than the missing code, or above the item's maximum; the message names the first
        offending cell), ``responses.max_scores`` (bad ``max_scores``), ``responses.item_names``.
    """
    if isinstance(data, ScoreMatrix):
        if data.shape[0] < min_examinees:
            raise _invalid("too_few_examinees", f"至少需要 {min_examinees} 名考生的作答",
                           f"at least {min_examinees} examinees are needed", field)
        return data
    arr = np.asarray(data)
    if arr.dtype.kind in "US":
        # Text cells (a CSV file): blank means missing, anything else must be a number.
        arr = np.char.strip(arr.astype(str))
        blank = arr == ""
        try:
            arr = np.where(blank, "nan", arr).astype(float)
        except ValueError:
            raise _invalid("not_numeric", "作答矩阵必须是数值（缺答为空值）；原始选项代码请同时提供答案",
                           "the response matrix must be numeric (missing answers blank); raw "
                           "option codes need a key", field) from None
    if arr.dtype == object:
        try:
            arr = np.array(data, dtype=float)
        except (TypeError, ValueError):
            raise _invalid("not_numeric", "作答矩阵必须是数值（缺答为空值）",
                           "the response matrix must be numeric (missing answers as NaN)",
                           field) from None
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise _invalid("shape", "作答矩阵必须是二维的（考生 × 题目），且至少有一题",
                       "the response matrix must be two-dimensional (examinees x items) with at "
                       "least one item", field)
    if arr.dtype.kind not in "biuf":
        raise _invalid("not_numeric", "作答矩阵必须是数值（缺答为空值）",
                       "the response matrix must be numeric (missing answers as NaN)", field)
    n, k = arr.shape
    if n < min_examinees:
        raise _invalid("too_few_examinees", f"至少需要 {min_examinees} 名考生的作答，实际 {n} 名",
                       f"at least {min_examinees} examinees are needed, got {n}", field)
    if max_scores is None:
        maxs = np.ones(k, dtype=np.int64)
    else:
        maxs = np.broadcast_to(np.asarray(max_scores), (k,)).astype(np.int64, copy=True)
        if np.any(maxs < 1) or not np.array_equal(maxs, np.broadcast_to(max_scores, (k,))):
            raise _invalid("max_scores", "每题满分必须是不小于 1 的整数",
                           "every maximum score must be an integer of at least 1", field)
    names = tuple(str(i + 1) for i in range(k)) if item_names is None else tuple(map(str, item_names))
    if len(names) != k:
        raise _invalid("item_names", f"题目名称数 {len(names)} 与列数 {k} 不符",
                       f"{len(names)} item names for {k} columns", field)
    dtype = np.int8 if maxs.max() <= 127 else np.int32
    out = arr if arr.dtype == dtype else np.empty((n, k), dtype=dtype)
    n_missing = np.zeros(k, dtype=np.int64)
    for rows in row_chunks(n):
        block = arr[rows]
        if block.dtype.kind == "f":
            miss = np.isnan(block)
            filled = np.where(miss, MISSING, block)
            bad = filled != np.floor(filled)
            if bad.any():
                i, j = np.argwhere(bad)[0]
                raise _invalid("not_integer",
                               f"第 {rows.start + i + 1} 行第 {j + 1} 题的得分 {block[i, j]} 不是整数"
                               "（半分请先乘以 2）",
                               f"score {block[i, j]} in row {rows.start + i + 1}, item {j + 1} is "
                               "not an integer (multiply half points by 2 first)", field)
        else:
            filled = block
            miss = block == MISSING
        bad = ((filled < 0) & ~miss) | (filled > maxs)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise _invalid("out_of_range",
                           f"第 {rows.start + i + 1} 行第 {j + 1} 题的得分 {block[i, j]} 超出 0..{maxs[j]}"
                           f"（缺答用 {MISSING} 或空值）",
                           f"score {block[i, j]} in row {rows.start + i + 1}, item {j + 1} is outside "
                           f"0..{maxs[j]} (missing answers are {MISSING} or NaN)", field)
        n_missing += miss.sum(axis=0)
        if out is not arr:
            out[rows] = filled
    return ScoreMatrix(out, maxs, n_missing, names)


def check_group_vector(group: Any, n: int, field: str = "group") -> np.ndarray:
    """Return ``group`` as a 1-D object array of labels (``None`` for missing) of length ``n``.

    Raises :class:`~itembank.errors.InvalidValue` ``<field>.length`` when the length differs from
    the number of examinees.
    """
    arr = np.asarray(group, dtype=object)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise InvalidValue(field, f"{field}.length",
                           f"分组向量长度 {arr.size} 与考生数 {n} 不符",
                           f"the group vector has {arr.size} entries for {n} examinees")
    out = np.empty(n, dtype=object)
    for i, v in enumerate(arr):
        if v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip()):
            out[i] = None
        else:
            out[i] = v.strip() if isinstance(v, str) else v
    return out


def normal_quadrature(n_points: int = 61, bound: float = 6.0) -> tuple[np.ndarray, np.ndarray]:
    """Rectangular quadrature of the standard normal density.

    Nodes are ``n_points`` equally spaced on ``[-bound, bound]`` and the weights are the normal
    density at the nodes, normalised to sum to one. With 61 nodes on [-6, 6] (the default of R
    ``mirt`` in one dimension) the marginal likelihood of a 100-item test is reproduced to
    numerical precision; 21 or fewer nodes bias long tests.

    Returns
    -------
    nodes, weights : ndarray, shape (n_points,)
    """
    if n_points < 5:
        raise InvalidValue("n_quadrature", "n_quadrature.too_small", "积分点至少 5 个",
                           "at least 5 quadrature points are needed")
    nodes = np.linspace(-bound, bound, n_points)
    w = np.exp(-0.5 * nodes ** 2)
    return nodes, w / w.sum()


def _json_float(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def to_jsonable(obj: Any) -> Any:
    """Convert dataclasses, numpy values and containers to plain JSON types.

    Non-finite floats become ``None`` (JSON has no NaN); every such value in a result is
    explained by a :class:`Note`.
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if not f.name.startswith("_")}
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind == "f":
            return [to_jsonable(v) for v in obj.tolist()] if obj.ndim > 1 else \
                [_json_float(v) for v in obj.tolist()]
        return obj.tolist()
    if isinstance(obj, (np.floating, float)):
        return _json_float(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    return obj


def posterior(log_lik: np.ndarray, weights: np.ndarray, counts: np.ndarray
              ) -> tuple[np.ndarray, float, np.ndarray]:
    """E-step of Bock & Aitkin (1981) on quadrature.

    Parameters
    ----------
    log_lik : ndarray, shape (n_patterns, n_nodes)
        :math:`\\log P(u_p \\mid \\theta_q)`; overwritten.
    weights : ndarray, shape (n_nodes,)
        Prior weights :math:`A(\\theta_q)` summing to one.
    counts : ndarray, shape (n_patterns,)
        How many examinees share each response pattern.

    Returns
    -------
    post : ndarray, shape (n_patterns, n_nodes)
        :math:`P(\\theta_q \\mid u_p) = L_{pq} A_q / \\sum_r L_{pr} A_r`.
    loglik : float
        Marginal log-likelihood :math:`\\sum_p n_p \\log \\sum_q L_{pq} A_q`.
    log_marginal : ndarray, shape (n_patterns,)
    """
    log_lik += np.log(weights)
    top = log_lik.max(axis=1, keepdims=True)
    log_lik -= top
    np.exp(log_lik, out=log_lik)
    total = log_lik.sum(axis=1, keepdims=True)
    log_lik /= total
    log_marginal = np.log(total[:, 0]) + top[:, 0]
    return log_lik, float(counts @ log_marginal), log_marginal


def collapse_patterns(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique response patterns (rows), their counts, and each examinee's pattern index."""
    patterns, inverse, counts = np.unique(rows, axis=0, return_inverse=True, return_counts=True)
    return patterns, counts.astype(float), inverse.reshape(-1)


def observed_information(gradient, flat: np.ndarray) -> np.ndarray:
    """Observed information as minus the Jacobian of the marginal score, by central differences.

    ``gradient(flat)`` must return the marginal score at ``flat`` (by Fisher's identity, the
    complete-data score at that point's posterior; Louis 1982). Step ``1e-5 * max(1, |x|)``;
    the result is symmetrised.
    """
    jac = np.empty((flat.size, flat.size))
    for i in range(flat.size):
        h = 1e-5 * max(1.0, abs(flat[i]))
        up, down = flat.copy(), flat.copy()
        up[i] += h
        down[i] -= h
        jac[:, i] = (gradient(up) - gradient(down)) / (2 * h)
    return -(jac + jac.T) / 2


def squarem(em, flat: np.ndarray, tol: float, max_iter: int, project):
    """EM accelerated by SQUAREM (Varadhan & Roland 2008, scheme S3), with EM's own stopping rule.

    Two EM steps :math:`x_1 = F(x_0)`, :math:`x_2 = F(x_1)` give :math:`r = x_1 - x_0`,
    :math:`v = x_2 - 2x_1 + x_0` and the step length
    :math:`\\alpha = -\\max(1, \\lVert r \\rVert / \\lVert v \\rVert)`; the extrapolated point
    :math:`x_0 - 2\\alpha r + \\alpha^2 v` is stabilised by one more EM step and kept only if its
    log-likelihood is not below that of :math:`x_0` (else :math:`x_2` is kept). Convergence is
    still "one plain EM step moves no parameter by more than ``tol``", so acceleration changes
    the time, not the answer. ``em(x)`` returns (F(x), log-likelihood at x); ``project(trial, x2)`` puts the extrapolated
    point back inside the parameter space. Returns (parameters, EM steps taken, converged).
    """
    steps = 0
    while steps < max_iter:
        x1, ll0 = em(flat)
        steps += 1
        if np.max(np.abs(x1 - flat)) < tol:
            return x1, steps, True
        x2, _ = em(x1)
        steps += 1
        if np.max(np.abs(x2 - x1)) < tol:
            return x2, steps, True
        r = x1 - flat
        v = x2 - x1 - r
        norm_v = np.linalg.norm(v)
        if norm_v == 0 or steps >= max_iter:
            flat = x2
            continue
        alpha = -max(1.0, np.linalg.norm(r) / norm_v)
        x3, ll_trial = em(project(flat - 2 * alpha * r + alpha ** 2 * v, x2))
        steps += 1
        flat = x3 if np.isfinite(ll_trial) and ll_trial >= ll0 else x2
    return flat, steps, False
