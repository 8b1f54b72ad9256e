"""The item pool the assembly engine chooses from: plain arrays, one entry per item.

The service layer loads the approved versions of a blueprint's items, their statistics and
exposure history, and builds an :class:`ItemPool`; the engine never sees a database row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np

from itembank.errors import InvalidValue

__all__ = ["ItemPool", "item_information"]


def _array(value: Any, n: int, dtype, default, name: str) -> np.ndarray:
    if value is None:
        return np.full(n, default, dtype=dtype)
    arr = np.asarray(value, dtype=dtype)
    if arr.shape != (n,):
        raise InvalidValue(name, "pool.shape", f"{name} 的长度应为 {n}",
                           f"{name} must have shape ({n},), not {arr.shape}")
    return arr


@dataclass(frozen=True, eq=False)
class ItemPool:
    """Candidate items with what the assembly rules look at; every array has shape ``(n,)``.

    Attributes
    ----------
    ids : ndarray of int64
        Item ids, unique. Enemy groups and exposure refer to these.
    item_type : ndarray of str
        ``"true_false"``, ``"single_choice"``, ``"multiple_choice"`` ...
    element : ndarray of str
        The element (鉴定点) code each item assesses.
    difficulty : ndarray of float
        Difficulty as proportion correct (P value, 通过率): the calibrated value where
        psychometric statistics exist, otherwise the writer's estimate; NaN when neither
        (such items are not used).
    calibrated : ndarray of bool
        Whether ``difficulty`` comes from response data.
    key : ndarray of str
        The key letter of a single-choice item, ``""`` for other types.
    approved, retired : ndarray of bool
        Only approved versions of unretired items are used (default: all approved, none
        retired).
    irt_a, irt_b, irt_c : ndarray of float or None
        3PL discrimination, difficulty and guessing; NaN where an item is not calibrated.
    sessions_since_use : ndarray of float
        Sessions since the item was last used: 1 = the most recent session; ``inf`` = never.
    exposure_rate : ndarray of float
        Share of recent candidates who saw the item, in [0, 1].
    """

    ids: np.ndarray
    item_type: np.ndarray
    element: np.ndarray
    difficulty: np.ndarray
    calibrated: np.ndarray | None = None
    key: np.ndarray | None = None
    approved: np.ndarray | None = None
    retired: np.ndarray | None = None
    irt_a: np.ndarray | None = None
    irt_b: np.ndarray | None = None
    irt_c: np.ndarray | None = None
    sessions_since_use: np.ndarray | None = None
    exposure_rate: np.ndarray | None = None

    def __post_init__(self) -> None:
        ids = np.asarray(self.ids, dtype=np.int64).reshape(-1)
        n = len(ids)
        if len(np.unique(ids)) != n:
            raise InvalidValue("ids", "pool.ids_unique", "试题编号重复", "item ids must be unique")
        put = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        put("ids", ids)
        put("item_type", _array(self.item_type, n, object, "", "item_type").astype(str))
        put("element", _array(self.element, n, object, "", "element").astype(str))
        difficulty = _array(self.difficulty, n, float, np.nan, "difficulty")
        if np.any((difficulty < 0) | (difficulty > 1)):
            raise InvalidValue("difficulty", "pool.difficulty", "难度（答对比例）应在 0 与 1 之间",
                               "difficulty (proportion correct) must lie in [0, 1]")
        put("difficulty", difficulty)
        put("calibrated", _array(self.calibrated, n, bool, False, "calibrated"))
        put("key", _array(self.key, n, object, "", "key").astype(str))
        put("approved", _array(self.approved, n, bool, True, "approved"))
        put("retired", _array(self.retired, n, bool, False, "retired"))
        for name in ("irt_a", "irt_b", "irt_c"):
            value = getattr(self, name)
            put(name, None if value is None else _array(value, n, float, np.nan, name))
        put("sessions_since_use", _array(self.sessions_since_use, n, float, np.inf,
                                         "sessions_since_use"))
        rate = _array(self.exposure_rate, n, float, 0.0, "exposure_rate")
        if np.any((rate < 0) | (rate > 1)):
            raise InvalidValue("exposure_rate", "pool.exposure_rate", "曝光率应在 0 与 1 之间",
                               "exposure rates must lie in [0, 1]")
        put("exposure_rate", rate)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def has_irt(self) -> bool:
        """Whether any item has 3PL parameters."""
        return self.irt_a is not None and bool(np.any(np.isfinite(self.irt_a) & np.isfinite(self.irt_b)))

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> "ItemPool":
        """Build a pool from mappings with the attribute names as keys (missing keys default)."""
        rows = list(records)
        columns = ("ids", "item_type", "element", "difficulty", "calibrated", "key", "approved",
                   "retired", "irt_a", "irt_b", "irt_c", "sessions_since_use", "exposure_rate")
        aliases = {"ids": "id"}
        data: dict[str, Any] = {}
        for column in columns:
            name = aliases.get(column, column)
            if any(name in row for row in rows) or column in ("ids", "item_type", "element", "difficulty"):
                default = {"difficulty": np.nan, "irt_a": np.nan, "irt_b": np.nan, "irt_c": 0.0,
                           "sessions_since_use": np.inf, "exposure_rate": 0.0, "calibrated": False,
                           "approved": True, "retired": False, "key": ""}.get(column)
                data[column] = [row.get(name, default) if row.get(name) is not None else default
                                for row in rows]
        return cls(**data)

    def index_of(self, item_ids: Iterable[int]) -> np.ndarray:
        """Positions of ``item_ids`` in the pool; -1 for ids not in it."""
        lookup = {int(item_id): i for i, item_id in enumerate(self.ids)}
        return np.array([lookup.get(int(item_id), -1) for item_id in item_ids], dtype=np.int64)

    def information(self, thetas: Iterable[float], scaling: float = 1.0) -> np.ndarray:
        """Item information at ``thetas``, shape ``(n, k)``; 0 for uncalibrated items."""
        thetas = np.asarray(list(thetas), dtype=float)
        if self.irt_a is None or self.irt_b is None:
            return np.zeros((len(self), len(thetas)))
        c = self.irt_c if self.irt_c is not None else np.zeros(len(self))
        return item_information(self.irt_a, self.irt_b, np.nan_to_num(c, nan=0.0), thetas, scaling)


def item_information(a: np.ndarray, b: np.ndarray, c: np.ndarray, thetas: np.ndarray,
                     scaling: float = 1.0) -> np.ndarray:
    r"""Fisher information of 3PL items at ability points.

    .. math::

        P_i(\theta) = c_i + \frac{1 - c_i}{1 + e^{-D a_i (\theta - b_i)}}, \qquad
        I_i(\theta) = D^2 a_i^2 \, \frac{1 - P_i(\theta)}{P_i(\theta)}
                      \left(\frac{P_i(\theta) - c_i}{1 - c_i}\right)^2

    (Lord, *Applications of Item Response Theory to Practical Testing Problems*, 1980,
    eq. 5-19; van der Linden, *Linear Models for Optimal Test Design*, 2005, eq. 1.16.)

    Parameters
    ----------
    a, b, c : ndarray, shape (n,)
        Discrimination, difficulty, guessing. Items with a non-finite ``a`` or ``b`` get 0.
    thetas : ndarray, shape (k,)
    scaling : float
        :math:`D`: 1.0 for the logistic metric, 1.702 for the normal-ogive metric.

    Returns
    -------
    ndarray, shape (n, k)
    """
    a = np.asarray(a, dtype=float)[:, None]
    b = np.asarray(b, dtype=float)[:, None]
    c = np.asarray(c, dtype=float)[:, None]
    theta = np.asarray(thetas, dtype=float)[None, :]
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = np.where(ok, a, 0.0), np.where(ok, b, 0.0)
    logistic = 1.0 / (1.0 + np.exp(-scaling * a * (theta - b)))
    p = c + (1.0 - c) * logistic
    info = scaling ** 2 * a ** 2 * (1.0 - p) / p * logistic ** 2
    return np.where(ok, info, 0.0)
