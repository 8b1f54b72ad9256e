"""Scoring raw option codes, and distractor analysis of choice items (干扰项分析).

:func:`score_responses` turns raw option codes (``"A"``, ``"B"`` ... or any codes) and a key into
a scored 0/1 matrix, keeping the option chosen by every examinee. A missing answer (the
``missing_code``, an empty cell, ``None`` or NaN) is scored 0 for classical statistics (it stays
:data:`~._common.MISSING` in the scored matrix, so IRT may treat it as not presented) and is
reported as an option of its own in the distractor table.

:func:`distractor_analysis` gives, for every option of every item, its share overall and in the
upper and lower 27 % groups (same groups and tie rule as
:func:`~.classical.upper_lower_weights`), and the option-rest correlation, the Pearson
correlation of "chose this option" with the rest score (total minus this item). For the key it
equals the corrected item-rest correlation. A **probable miskey** is flagged when a distractor
correlates clearly positive with the rest score while the key does not (Haladyna 2004, ch. 9;
Attali & Fraenkel 2000 recommend exactly this option-rest correlation for distractors).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from itembank.errors import InvalidValue
from itembank.psychometrics._common import MISSING, Note, ScoreMatrix
from itembank.psychometrics.classical import GROUP_FRACTION, total_scores, upper_lower_weights

__all__ = ["ScoredResponses", "OptionStatistics", "ItemDistractors", "DistractorResult",
           "score_responses", "distractor_analysis", "MISSING_LABEL", "MISKEY_DISTRACTOR_MIN_R",
           "MISKEY_KEY_MAX_R"]

#: Label of the "missing answer" row in the distractor table.
MISSING_LABEL = "(missing)"
#: Default: a distractor whose option-rest r reaches this is "clearly positive".
MISKEY_DISTRACTOR_MIN_R = 0.10
#: Default: a key whose option-rest r stays below this "does not" correlate positively.
MISKEY_KEY_MAX_R = 0.05


@dataclass(frozen=True, eq=False)
class ScoredResponses:
    """Raw option codes with their scoring.

    Attributes
    ----------
    matrix : ScoreMatrix
        0/1 scores, :data:`~._common.MISSING` where the answer is missing.
    codes : ndarray of int16, shape (n_examinees, n_items)
        Index of the chosen option in ``labels[j]``; -1 for missing.
    labels : tuple of tuple of str
        Per item, the options seen in the data, the declared ``options`` and the key, sorted.
    key : tuple of str
    key_index : ndarray of int, shape (n_items,)
    """

    matrix: ScoreMatrix
    codes: np.ndarray
    labels: tuple[tuple[str, ...], ...]
    key: tuple[str, ...]
    key_index: np.ndarray


@dataclass(frozen=True)
class OptionStatistics:
    """One row of the distractor table (NaN correlation: option chosen by all or by nobody)."""

    label: str
    is_key: bool
    is_missing: bool
    count: int
    share: float
    share_upper: float
    share_lower: float
    rest_correlation: float


@dataclass(frozen=True)
class ItemDistractors:
    """The distractor table of one item and its miskey verdict."""

    item_index: int
    item_name: str
    key: str
    options: tuple[OptionStatistics, ...]
    key_rest_correlation: float
    best_distractor: str | None
    best_distractor_rest_correlation: float
    probable_miskey: bool


@dataclass(frozen=True)
class DistractorResult:
    items: tuple[ItemDistractors, ...]
    n_examinees: int
    group_fraction: float
    group_size: int
    notes: tuple[Note, ...] = ()


def _as_code_strings(raw: Any, missing_code: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return (string array, missing mask) for raw option codes."""
    arr = np.asarray(raw)
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise InvalidValue("responses", "responses.shape",
                           "原始作答必须是二维的（考生 × 题目），且至少有一题",
                           "raw responses must be two-dimensional (examinees x items) with at "
                           "least one item")
    missing_codes = {str(m) for m in (missing_code if isinstance(missing_code, (list, tuple, set))
                                      else [missing_code]) if m is not None}
    missing_codes.add("")
    if arr.dtype.kind == "f":
        miss = np.isnan(arr)
        strs = np.where(miss, "", np.char.mod("%d", np.nan_to_num(arr).astype(np.int64)))
    elif arr.dtype.kind in "iub":
        strs = np.char.mod("%d", arr)
    elif arr.dtype.kind == "U":
        strs = arr
    else:
        def norm(v: Any) -> str:
            if v is None or (isinstance(v, float) and v != v):
                return ""
            return str(v).strip()
        strs = np.frompyfunc(norm, 1, 1)(arr).astype(str)
    miss = np.zeros(strs.shape, dtype=bool)
    for m in missing_codes:
        miss |= strs == m
    return strs, miss


def _factorise(strs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Global labels and integer codes of a string array (fast paths for short codes)."""
    width = strs.dtype.itemsize // 4
    if 1 <= width <= 3:
        cps = strs.view(np.uint32).reshape(strs.shape + (width,)).astype(np.uint64)
        packed = cps[..., 0]
        for i in range(1, width):
            packed = (packed << np.uint64(21)) | cps[..., i]
        uniq, inverse = np.unique(packed, return_inverse=True)
        first = np.zeros(uniq.size, dtype=np.int64)
        first[inverse.ravel()] = np.arange(inverse.size)
        return strs.ravel()[first], inverse.reshape(strs.shape)
    uniq, inverse = np.unique(strs, return_inverse=True)
    return uniq, inverse.reshape(strs.shape)


def score_responses(raw: Any, key: Sequence[Any], *, missing_code: Any = "",
                    options: Sequence[str] | None = None,
                    item_names: Sequence[str] | None = None) -> ScoredResponses:
    """Score raw option codes against a key.

    Parameters
    ----------
    raw : array_like, shape (n_examinees, n_items)
        Option codes as strings or integers. Codes are compared exactly (after stripping blanks
        from Python objects), so ``"AC"`` matches a multiple-choice key ``"AC"`` but not ``"CA"``.
    key : sequence, length n_items
        The keyed option of each item.
    missing_code : str or sequence of str
        Code(s) meaning "no answer", besides an empty cell, ``None`` and NaN (default ``""``).
    options : sequence of str, optional
        The declared option codes (e.g. ``"ABCD"``). When given, any other code raises
        ``InvalidValue`` ``responses.unknown_option``, and options nobody chose still appear in
        the distractor table with share 0.

    Raises
    ------
    InvalidValue
        ``responses.shape``, ``key.length`` (key length differs from the number of items),
        ``key.missing`` (an empty key), ``key.unknown_option`` (a key outside ``options``),
        ``responses.unknown_option``.
    """
    strs, miss = _as_code_strings(raw, missing_code)
    n, k = strs.shape
    keys = tuple(str(x).strip() for x in key)
    if len(keys) != k:
        raise InvalidValue("key", "key.length", f"答案个数 {len(keys)} 与题目数 {k} 不符",
                           f"{len(keys)} keys for {k} items")
    if any(not x for x in keys):
        raise InvalidValue("key", "key.missing", "每题都必须有答案", "every item needs a key")
    glabels, gcodes = _factorise(strs)
    glabels = glabels.astype(str)
    is_missing_label = np.isin(glabels, list({""} | {str(m) for m in (
        missing_code if isinstance(missing_code, (list, tuple, set)) else [missing_code])
        if m is not None}))
    declared = None if options is None else [str(o) for o in options]
    if declared is not None and not set(keys) <= set(declared):
        bad = sorted(set(keys) - set(declared))
        raise InvalidValue("key", "key.unknown_option", f"答案 {bad} 不在选项 {declared} 中",
                           f"key(s) {bad} are not among the options {declared}")
    if declared is not None:
        unknown = ~is_missing_label & ~np.isin(glabels, declared)
        if unknown.any():
            bad = np.isin(gcodes, np.flatnonzero(unknown)) & ~miss
            i, j = np.argwhere(bad)[0]
            raise InvalidValue("responses", "responses.unknown_option",
                               f"第 {i + 1} 行第 {j + 1} 题的选项代码 {strs[i, j]!r} 不在 {declared} 中",
                               f"option code {strs[i, j]!r} in row {i + 1}, item {j + 1} is not one "
                               f"of {declared}")
    n_g = glabels.size
    present = np.bincount((gcodes + np.arange(k) * n_g).ravel(), minlength=k * n_g)
    present = present.reshape(k, n_g) > 0
    lut = np.full((k, n_g), -1, dtype=np.int16)
    labels: list[tuple[str, ...]] = []
    key_index = np.empty(k, dtype=np.int64)
    for j in range(k):
        seen = {str(x) for x in glabels[present[j] & ~is_missing_label]}
        seen.add(keys[j])
        if declared is not None:
            seen.update(declared)
        item_labels = tuple(sorted(seen))
        labels.append(item_labels)
        pos = {lab: i for i, lab in enumerate(item_labels)}
        for g in np.flatnonzero(present[j] & ~is_missing_label):
            lut[j, g] = pos[str(glabels[g])]
        key_index[j] = pos[keys[j]]
    codes = lut[np.arange(k)[None, :], gcodes]
    codes[miss] = -1
    scores = (codes == key_index[None, :]).astype(np.int8)
    scores[codes < 0] = MISSING
    names = tuple(str(i + 1) for i in range(k)) if item_names is None else tuple(map(str, item_names))
    if len(names) != k:
        raise InvalidValue("item_names", "item_names.length", f"题目名称数 {len(names)} 与题目数 {k} 不符",
                           f"{len(names)} item names for {k} items")
    matrix = ScoreMatrix(scores, np.ones(k, dtype=np.int64), (codes < 0).sum(axis=0), names)
    if n < 2:
        raise InvalidValue("responses", "responses.too_few_examinees", "至少需要 2 名考生的作答",
                           "at least 2 examinees are needed")
    return ScoredResponses(matrix, codes, tuple(labels), keys, key_index)


def distractor_analysis(scored: ScoredResponses, *, group_fraction: float = GROUP_FRACTION,
                        miskey_distractor_min_r: float = MISKEY_DISTRACTOR_MIN_R,
                        miskey_key_max_r: float = MISKEY_KEY_MAX_R) -> DistractorResult:
    """Option shares and option-rest correlations of every item (see the module docstring).

    Parameters
    ----------
    scored : ScoredResponses
        From :func:`score_responses`.
    miskey_distractor_min_r, miskey_key_max_r : float
        A probable miskey is an item whose best distractor has option-rest
        :math:`r \\ge` ``miskey_distractor_min_r`` and greater than the key's, while the key's is
        below ``miskey_key_max_r``.

    Notes
    -----
    With :math:`I_o` the indicator "chose option o", :math:`R = X - x_j`:
    :math:`cov(I_o, R) = E[I_o X] - E[I_o x_j] - E[I_o] E[R]`, where :math:`E[I_o x_j]` is
    :math:`E[I_o]` for the key and 0 otherwise; :math:`r = cov / \\sqrt{p_o(1-p_o) var(R)}`
    (population moments). Missing answers are the option ``(missing)``.
    """
    matrix = scored.matrix
    n, k = matrix.shape
    totals = total_scores(matrix).astype(float)
    w_up, w_low, n_g = upper_lower_weights(totals, group_fraction)
    width = max(len(lab) for lab in scored.labels) + 1          # last slot: missing
    codes = scored.codes.astype(np.int64)
    codes[codes < 0] = width - 1
    idx = (codes + np.arange(k) * width).ravel()
    size = k * width

    def tally(weights: np.ndarray | None) -> np.ndarray:
        w = None if weights is None else np.broadcast_to(weights[:, None], (n, k)).ravel()
        return np.bincount(idx, weights=w, minlength=size).reshape(k, width)

    count = tally(None)
    sum_x = tally(totals)
    up = tally(w_up)
    low = tally(w_low)
    mean_X = totals.mean()
    e_xx = (totals ** 2).mean()
    notes: list[Note] = []
    items = []
    undefined_items = []
    for j in range(k):
        labels = scored.labels[j]
        kj = scored.key_index[j]
        p_key = count[j, kj] / n
        e_key_x = sum_x[j, kj] / n
        mean_r = mean_X - p_key
        var_r = e_xx - 2 * e_key_x + p_key - mean_r ** 2
        rows = []
        for o in list(range(len(labels))) + [width - 1]:
            is_missing = o == width - 1
            if is_missing and count[j, o] == 0:
                continue
            p = count[j, o] / n
            e_ix = sum_x[j, o] / n
            cov = e_ix - (p if o == kj else 0.0) - p * mean_r
            denom = p * (1 - p) * var_r
            r = cov / np.sqrt(denom) if denom > 1e-12 else float("nan")
            if not np.isfinite(r):
                undefined_items.append(j)
            rows.append(OptionStatistics(
                label=MISSING_LABEL if is_missing else labels[o], is_key=bool(o == kj),
                is_missing=is_missing, count=int(count[j, o]), share=float(p),
                share_upper=float(up[j, o] / n_g), share_lower=float(low[j, o] / n_g),
                rest_correlation=float(r)))
        key_r = next(r.rest_correlation for r in rows if r.is_key)
        distractors = [r for r in rows if not r.is_key and not r.is_missing
                       and np.isfinite(r.rest_correlation)]
        best = max(distractors, key=lambda r: r.rest_correlation, default=None)
        best_r = best.rest_correlation if best else float("nan")
        key_low = not np.isfinite(key_r) or key_r < miskey_key_max_r
        miskey = bool(best is not None and best_r >= miskey_distractor_min_r and key_low
                      and (not np.isfinite(key_r) or best_r > key_r))
        items.append(ItemDistractors(j, matrix.item_names[j], scored.key[j], tuple(rows), key_r,
                                     best.label if best else None, best_r, miskey))
    if undefined_items:
        notes.append(Note("option.correlation_undefined",
                          "选项无人选择、全体选择或其余题总分恒定时，选项-余分相关无定义（null）",
                          "an option chosen by nobody or by everyone, or a constant rest score, "
                          "has no option-rest correlation (null)",
                          tuple(sorted(set(undefined_items)))))
    return DistractorResult(tuple(items), n, group_fraction, n_g, tuple(notes))
