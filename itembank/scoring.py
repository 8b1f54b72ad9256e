"""Scoring choice items, vectorised over candidates and items.

Responses and keys are bitmasks: option A = 1, B = 2, C = 4, D = 8, E = 16 (true/false: T = 1,
F = 2); an unanswered item is 0. One NumPy pass scores a whole session, so 100,000 attempts of
100 items take well under a second.

Rules (GB/T-style practice; the blueprint chooses for multiple choice):

* true/false and single choice: full points when the response equals the key, else 0;
* multiple choice, ``"all_or_nothing"``: full points only for exactly the key;
* multiple choice, ``"partial"``: any wrong choice gives 0, exactly the key gives full points, a
  non-empty part of the key gives ``partial_fraction`` of the points (default one half);
* a voided item (key corrected to "no valid key") gives everyone its points.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from itembank.errors import InvalidValue

LETTER_BITS = {"A": 1, "B": 2, "C": 4, "D": 8, "E": 16, "T": 1, "F": 2}
MULTIPLE_CHOICE_RULES = ("all_or_nothing", "partial")


def to_mask(letters: Iterable[str]) -> int:
    """The bitmask of a response or key given as letters (``["A", "C"]`` → 5)."""
    mask = 0
    for letter in letters:
        try:
            mask |= LETTER_BITS[letter]
        except KeyError:
            raise InvalidValue("response", "scoring.letter", f"无效的选项字母：{letter!r}",
                               f"not an option letter: {letter!r}") from None
    return mask


@dataclass(frozen=True)
class ScoredMatrix:
    """``earned[i, j]``: points candidate ``i`` earned on item ``j``; ``total[i]`` their sum."""

    earned: np.ndarray
    total: np.ndarray


def score_matrix(responses: np.ndarray, keys: Sequence[int] | np.ndarray, points: Sequence[float] | np.ndarray,
                 multiple: Sequence[bool] | np.ndarray, *, rule: str = "all_or_nothing",
                 partial_fraction: float = 0.5, void: Sequence[bool] | np.ndarray | None = None) -> ScoredMatrix:
    r"""Points earned per candidate and item.

    .. math::

        e_{ij} = p_j \cdot \begin{cases}
            1 & v_j \lor r_{ij} = k_j \\
            f & m_j \land \text{partial} \land r_{ij} \ne 0 \land (r_{ij} \mathbin{\&} \lnot k_j) = 0 \\
            0 & \text{otherwise}
        \end{cases}

    Parameters
    ----------
    responses : ndarray of int, shape (n, m)
        Response bitmasks (0 = unanswered).
    keys : array of int, shape (m,)
        Key bitmasks.
    points : array of float, shape (m,)
    multiple : array of bool, shape (m,)
        Which items are multiple choice.
    rule : {"all_or_nothing", "partial"}
    partial_fraction : float
        Share of the points for a correct but incomplete multiple-choice response.
    void : array of bool, shape (m,), optional
        Items whose key was voided: full points for everyone.

    Returns
    -------
    ScoredMatrix
    """
    r = np.asarray(responses, dtype=np.int64)
    k = np.asarray(keys, dtype=np.int64)
    p = np.asarray(points, dtype=float)
    multi = np.asarray(multiple, dtype=bool)
    if r.ndim != 2 or k.shape != (r.shape[1],) or p.shape != k.shape or multi.shape != k.shape:
        raise InvalidValue("responses", "scoring.shape", "答案矩阵与答案、分值的形状不一致",
                           f"shapes differ: responses {r.shape}, keys {k.shape}, points {p.shape}")
    if rule not in MULTIPLE_CHOICE_RULES:
        raise InvalidValue("rule", "scoring.rule", f"未知的多选题计分规则：{rule}", f"unknown rule {rule!r}")
    if not 0 <= partial_fraction <= 1:
        raise InvalidValue("partial_fraction", "scoring.fraction", "部分得分比例应在0到1之间",
                           "partial_fraction must lie in [0, 1]")
    credit = (r == k).astype(float)
    if rule == "partial":
        part = multi & (r != 0) & ((r & ~k) == 0) & (r != k)
        credit = np.where(part, partial_fraction, credit)
    if void is not None:
        credit[:, np.asarray(void, dtype=bool)] = 1.0
    earned = credit * p
    return ScoredMatrix(earned=earned, total=earned.sum(axis=1))


def scale_to_100(total: np.ndarray, paper_points: float) -> np.ndarray:
    """Component scores are out of 100 whatever the paper's total (rounded to 0.5 as papers are)."""
    if paper_points <= 0:
        raise InvalidValue("paper_points", "scoring.points", "试卷总分必须大于0", "a paper's points must be positive")
    return np.round(np.asarray(total, dtype=float) * 100.0 / paper_points * 2) / 2
