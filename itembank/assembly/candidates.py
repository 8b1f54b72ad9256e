"""The usable items of a pool for a spec, coded as integer arrays for the model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from itembank.assembly.pool import ItemPool
from itembank.assembly.spec import AssemblySpec

__all__ = ["Candidates", "candidates", "eligibility", "INELIGIBLE_REASONS"]

#: Reasons an item is not used, in the order they are tested.
INELIGIBLE_REASONS = ("not_approved", "retired", "no_difficulty", "unknown_element", "no_key",
                      "exposure")


def eligibility(pool: ItemPool, spec: AssemblySpec) -> tuple[np.ndarray, dict[str, int]]:
    """Which items of the pool may be used, and how many were left out for each reason.

    Only items of the spec's types count. An item is usable when its version is approved, the
    item is not retired, it has a difficulty, its element is in the blueprint, a single-choice
    item has a key letter A-D, and (``exposure.action == "exclude"``) it is not flagged by the
    exposure policy.

    Returns
    -------
    mask : ndarray of bool, shape (n,)
    reasons : dict of str to int
        Counts per reason of :data:`INELIGIBLE_REASONS` (each item counted once, first reason).
    """
    relevant = np.isin(pool.item_type, [t for t, n in spec.type_counts if n > 0])
    tests = {
        "not_approved": ~pool.approved,
        "retired": pool.retired,
        "no_difficulty": ~np.isfinite(pool.difficulty),
        "unknown_element": ~np.isin(pool.element, list(spec.elements)),
        "no_key": (pool.item_type == "single_choice") & ~np.isin(pool.key, list(spec.key_letters)),
        "exposure": (spec.exposure.flagged(pool.sessions_since_use, pool.exposure_rate)
                     if spec.exposure.action == "exclude" else np.zeros(len(pool), bool)),
    }
    mask = relevant.copy()
    reasons: dict[str, int] = {}
    for reason in INELIGIBLE_REASONS:
        hit = mask & tests[reason]
        reasons[reason] = int(hit.sum())
        mask &= ~tests[reason]
    return mask, reasons


@dataclass(frozen=True, eq=False)
class Candidates:
    """The eligible items, sorted by id, coded as integer indices into the spec's lists.

    Attributes
    ----------
    pos : ndarray of int, shape (n,)
        Positions in the pool.
    ids : ndarray of int64
    type_idx, element_idx, scope_idx, key_idx : ndarray of int
        Index into ``spec.type_counts``, ``spec.elements``, ``spec.scope_targets``,
        ``spec.key_letters`` (-1: not a single-choice item).
    p, points : ndarray of float
        Difficulty (proportion correct) and points of each item.
    flagged : ndarray of bool
        Flagged by the exposure policy (only when it penalises).
    info : ndarray of float, shape (n, k) or None
    excluded : dict of str to int
        Ineligible items per reason.
    """

    pos: np.ndarray
    ids: np.ndarray
    type_idx: np.ndarray
    element_idx: np.ndarray
    scope_idx: np.ndarray
    key_idx: np.ndarray
    p: np.ndarray
    points: np.ndarray
    flagged: np.ndarray
    info: np.ndarray | None
    excluded: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, keep: np.ndarray) -> "Candidates":
        """The candidates at positions ``keep`` (in that order)."""
        return Candidates(**{name: (getattr(self, name)[keep] if getattr(self, name) is not None else None)
                             for name in ("pos", "ids", "type_idx", "element_idx", "scope_idx", "key_idx",
                                          "p", "points", "flagged", "info")},
                          excluded=self.excluded)


def _index(values: np.ndarray, vocabulary: Iterable[str]) -> np.ndarray:
    lookup = {v: i for i, v in enumerate(vocabulary)}
    return np.fromiter((lookup.get(v, -1) for v in values), dtype=np.int64, count=len(values))


def candidates(pool: ItemPool, spec: AssemblySpec) -> Candidates:
    """The usable items of ``pool`` for ``spec``, in id order (so the caller's row order never
    changes the result). Items whose scope or type needs no items are left out too."""
    mask, excluded = eligibility(pool, spec)
    pos = np.flatnonzero(mask)
    pos = pos[np.argsort(pool.ids[pos], kind="stable")]
    type_idx = _index(pool.item_type[pos], [t for t, _ in spec.type_counts])
    element_idx = _index(pool.element[pos], spec.elements)
    element_scope = np.full(len(spec.elements), -1, dtype=np.int64)
    for s, target in enumerate(spec.scope_targets):
        element_scope[_index(np.array(target.elements), spec.elements)] = s
    scope_idx = element_scope[element_idx]
    counts = np.array([t.count for t in spec.scope_targets] + [0])
    keep = counts[scope_idx] > 0
    pos, type_idx, element_idx, scope_idx = pos[keep], type_idx[keep], element_idx[keep], scope_idx[keep]
    key_idx = np.where(pool.item_type[pos] == "single_choice",
                       _index(pool.key[pos], spec.key_letters), -1)
    points = np.array([spec.points_of(t) for t, _ in spec.type_counts])[type_idx] \
        if spec.difficulty_weighting == "points" else np.ones(len(pos))
    flagged = (spec.exposure.flagged(pool.sessions_since_use[pos], pool.exposure_rate[pos])
               if spec.exposure.action == "penalise" else np.zeros(len(pos), bool))
    info = None
    if spec.information is not None:
        info = pool.information(spec.information.thetas, spec.information.scaling)[pos]
    return Candidates(pos=pos, ids=pool.ids[pos], type_idx=type_idx, element_idx=element_idx,
                      scope_idx=scope_idx, key_idx=key_idx, p=pool.difficulty[pos], points=points,
                      flagged=flagged, info=info, excluded=excluded)
