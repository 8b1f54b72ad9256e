"""Differential item functioning by the Mantel-Haenszel procedure (项目功能差异).

For a studied item and examinees matched on the total score, stratum :math:`k` gives a 2 x 2 table
(reference right :math:`A_k`, wrong :math:`B_k`; focal right :math:`C_k`, wrong :math:`D_k`;
:math:`T_k` examinees). Holland & Thayer (1988):

.. math:: \\hat\\alpha_{MH} = \\frac{\\sum_k A_k D_k / T_k}{\\sum_k B_k C_k / T_k}, \\qquad
          \\text{MH D-DIF} = -2.35 \\ln \\hat\\alpha_{MH},

negative D-DIF meaning the item is harder for the focal group at equal total score. The
chi-square with continuity correction is
:math:`(|\\sum_k A_k - \\sum_k E(A_k)| - 1/2)^2 / \\sum_k Var(A_k)`, with
:math:`E(A_k) = n_{Rk} m_{1k} / T_k` and :math:`Var(A_k) = n_{Rk} n_{Fk} m_{1k} m_{0k} /
(T_k^2 (T_k - 1))`. The standard error of :math:`\\ln\\hat\\alpha_{MH}` is the Robins,
Breslow & Greenland (1986) estimator, and SE(D-DIF) = 2.35 SE(ln alpha).

ETS classes (Zieky 1993; Zwick 2012, ETS RR-12-08):

* **A**: |D| < 1, or D not significantly different from 0 (MH chi-square p >= 0.05);
* **C**: |D| >= 1.5 and |D| significantly greater than 1, a one-sided 5 % test of
  :math:`H_0: |D| \\le 1`: (|D| - 1) / SE > ``c_z`` = 1.645;
* **B**: otherwise. A sign is appended to B and C: ``-`` favours the reference group.

Matching: the total score *including* the studied item (Holland & Thayer 1988; Zwick 1990).
**Purification** (criterion refinement; Holland & Thayer 1988, Zwick 2012 sec. 4): items classed C
(or the classes in ``purify_classes``) are removed from the matching score and the analysis is
repeated, the studied item always staying in its own matching score, until the set of removed
items stops changing (at most ``max_purification`` rounds).

Strata where one group is absent carry no information and are skipped; so are examinees without a
group label (note ``group.missing``). Missing answers count as wrong (0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from scipy.stats import chi2

from itembank.errors import InvalidValue
from itembank.psychometrics._common import MISSING, Note, as_score_matrix, check_group_vector

__all__ = ["DIFResult", "GroupComparison", "mantel_haenszel_dif", "ets_class"]

DELTA = 2.35


@dataclass(frozen=True, eq=False)
class GroupComparison:
    """MH DIF of every item for one focal group against the reference group.

    ``ets_class`` holds ``"A"``, ``"B+"``, ``"B-"``, ``"C+"``, ``"C-"`` or ``None`` when the item
    could not be analysed (constant within the matched strata; see notes).
    """

    reference: str
    focal: str
    n_reference: int
    n_focal: int
    alpha_mh: np.ndarray
    delta_mh: np.ndarray
    se_delta: np.ndarray
    chi_square: np.ndarray
    p_value: np.ndarray
    ets_class: tuple[str | None, ...]
    purified_items: tuple[int, ...]
    purification_rounds: int
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True, eq=False)
class DIFResult:
    variable: str
    item_names: tuple[str, ...]
    comparisons: tuple[GroupComparison, ...]
    notes: tuple[Note, ...] = ()


def ets_class(delta: float, se: float, p_value: float, c_z: float = 1.645) -> str | None:
    """ETS A/B/C class of one MH D-DIF value (see the module docstring)."""
    if not (np.isfinite(delta) and np.isfinite(p_value)):
        return None
    size = abs(delta)
    if size < 1.0 or p_value >= 0.05:
        return "A"
    sign = "+" if delta > 0 else "-"
    if size >= 1.5 and np.isfinite(se) and size - 1.0 > c_z * se:
        return "C" + sign
    return "B" + sign


def _mh(item: np.ndarray, focal: np.ndarray, strata: np.ndarray, n_strata: int):
    """MH statistics for one item; all arrays over the examinees of the two groups."""
    idx = strata * 4 + focal * 2 + item
    cells = np.bincount(idx, minlength=n_strata * 4).reshape(n_strata, 4).astype(float)
    b, a, d, c = cells[:, 0], cells[:, 1], cells[:, 2], cells[:, 3]   # ref wrong/right, foc
    t = a + b + c + d
    n_r, n_f, m1, m0 = a + b, c + d, a + c, b + d
    use = (n_r > 0) & (n_f > 0) & (t > 1)
    a, b, c, d, t, n_r, n_f, m1, m0 = (x[use] for x in (a, b, c, d, t, n_r, n_f, m1, m0))
    r_k = a * d / t
    s_k = b * c / t
    r_sum, s_sum = r_k.sum(), s_k.sum()
    var_a = (n_r * n_f * m1 * m0 / (t ** 2 * (t - 1))).sum()
    if r_sum <= 0 or s_sum <= 0 or var_a <= 0:
        return np.nan, np.nan, np.nan, np.nan
    alpha = r_sum / s_sum
    e_a = (n_r * m1 / t).sum()
    chi = (max(abs(a.sum() - e_a) - 0.5, 0.0)) ** 2 / var_a
    p, q = (a + d) / t, (b + c) / t
    var_log = ((p * r_k).sum() / (2 * r_sum ** 2)
               + (p * s_k + q * r_k).sum() / (2 * r_sum * s_sum)
               + (q * s_k).sum() / (2 * s_sum ** 2))
    return alpha, chi, DELTA * np.sqrt(var_log), chi2.sf(chi, 1)


def _one_comparison(scores, is_focal, purify, purify_classes, max_rounds):
    n_items = scores.shape[1]
    excluded: set[int] = set()
    rounds = 0
    while True:
        keep = np.ones(n_items, dtype=bool)
        keep[list(excluded)] = False
        base = scores[:, keep].sum(axis=1, dtype=np.int64)
        stats = np.full((n_items, 4), np.nan)
        for j in range(n_items):
            matching = base if keep[j] else base + scores[:, j]
            stats[j] = _mh(scores[:, j].astype(np.int64), is_focal, matching,
                           int(matching.max()) + 1)
        alpha, chi, se, p = stats.T
        delta = -DELTA * np.log(alpha)
        classes = tuple(ets_class(dl, s, pv) for dl, s, pv in zip(delta, se, p))
        if not purify:
            break
        flagged = {j for j, cl in enumerate(classes) if cl and cl[0] in purify_classes}
        if flagged == excluded or rounds >= max_rounds or len(flagged) >= n_items - 1:
            break
        excluded = flagged
        rounds += 1
    return alpha, delta, se, chi, p, classes, tuple(sorted(excluded)), rounds


def mantel_haenszel_dif(responses: Any, group: Sequence[Any], *, reference: Any,
                        focal: Sequence[Any] | Any | None = None, variable: str = "group",
                        item_names: Sequence[str] | None = None, purify: bool = True,
                        purify_classes: Sequence[str] = ("C",), max_purification: int = 10,
                        min_group_size: int = 20) -> DIFResult:
    """Mantel-Haenszel DIF with ETS classes, for each focal group against ``reference``.

    Parameters
    ----------
    responses : array_like, shape (n_examinees, n_items)
        0/1 scores (NaN or -1 missing, counted wrong).
    group : sequence, length n_examinees
        Group label per examinee, e.g. exam language ``"zh"``/``"mn"``, gender, institution.
        ``None``, NaN or empty labels leave the examinee out (note ``group.missing``).
    reference : label of the reference group.
    focal : label or labels, optional
        Default: every other label, each compared with ``reference`` separately.
    purify, purify_classes, max_purification : see the module docstring.
    min_group_size : int
        A focal or reference group smaller than this raises ``group.too_small``.

    Raises
    ------
    InvalidValue
        ``group.length`` (length differs from the number of examinees), ``group.reference``
        (reference label absent), ``group.focal`` (a focal label absent or equal to the
        reference), ``group.too_small``, and the response-matrix errors.
    """
    matrix = as_score_matrix(responses, item_names=item_names)
    labels = check_group_vector(group, matrix.shape[0])
    notes: list[Note] = []
    missing_label = np.array([v is None for v in labels])
    if missing_label.any():
        notes.append(Note("group.missing", f"{int(missing_label.sum())} 名考生无分组标签，未参与 DIF 分析",
                          f"{int(missing_label.sum())} examinees without a group label were left "
                          "out of the DIF analysis"))
    present = {str(v) for v in labels[~missing_label]}
    text = np.array([None if v is None else str(v) for v in labels], dtype=object)
    ref = str(reference)
    if ref not in present:
        raise InvalidValue("group", "group.reference", f"参照组 {ref!r} 不在分组数据中",
                           f"the reference group {ref!r} does not occur in the group vector")
    if focal is None:
        focals = sorted(present - {ref})
    else:
        focals = [str(f) for f in ([focal] if isinstance(focal, (str, int)) else focal)]
    bad = [f for f in focals if f not in present or f == ref]
    if bad or not focals:
        raise InvalidValue("group", "group.focal", f"焦点组 {bad} 不存在或与参照组相同",
                           f"focal group(s) {bad} absent or equal to the reference group")
    scores = np.where(matrix.scores == MISSING, 0, matrix.scores).astype(np.int8)
    comparisons = []
    for f in focals:
        rows = np.flatnonzero((text == ref) | (text == f))
        is_focal = (text[rows] == f).astype(np.int64)
        n_f, n_r = int(is_focal.sum()), int(rows.size - is_focal.sum())
        if min(n_f, n_r) < min_group_size:
            raise InvalidValue("group", "group.too_small",
                               f"{f!r} 组 {n_f} 人、参照组 {n_r} 人，少于 {min_group_size} 人",
                               f"group {f!r} has {n_f} and the reference group {n_r} examinees, "
                               f"fewer than {min_group_size}")
        alpha, delta, se, chi, p, classes, purified, rounds = _one_comparison(
            scores[rows], is_focal, purify, tuple(purify_classes), max_purification)
        cnotes = []
        undefined = tuple(j for j, cl in enumerate(classes) if cl is None)
        if undefined:
            cnotes.append(Note("dif.undefined", "这些题在匹配分数层内全对或全错，无法计算 MH 统计量（null）",
                               "these items are all right or all wrong within the matched strata; "
                               "the MH statistics are undefined (null)", undefined))
        comparisons.append(GroupComparison(ref, f, n_r, n_f, alpha, delta, se, chi, p, classes,
                                           purified, rounds, tuple(cnotes)))
    return DIFResult(variable, matrix.item_names, tuple(comparisons), tuple(notes))
