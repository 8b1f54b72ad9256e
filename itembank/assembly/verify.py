"""Recount every assembly rule from the item ids of finished forms, independently of the solver.

:func:`verify_forms` never looks at the model: it reads the pool's arrays for the chosen ids and
counts. The engine runs it on every result (a form that breaks a rule is a bug, never a paper),
and tests and the benchmark use it to judge forms drawn by any method.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Sequence

import numpy as np

from itembank.assembly.pool import ItemPool
from itembank.assembly.spec import AssemblySpec

__all__ = ["RuleCheck", "verify_forms", "form_difficulty"]

_EPS = 1e-9


@dataclass(frozen=True)
class RuleCheck:
    """One rule checked on one form (``form`` is None for rules across forms).

    Attributes
    ----------
    rule : str
        ``"items"``, ``"eligible"``, ``"type_count"``, ``"scope_count"``, ``"element_max"``,
        ``"coverage"``, ``"difficulty"``, ``"key_balance"``, ``"enemy"``, ``"overlap"`` or
        ``"information"`` (reported, always ok).
    form : int or None
    ok : bool
    value : float
        What the form has (a count, a share, a mean).
    low, high : float
        The allowed range.
    subject : str or None
        The type, scope, key letter or form pair checked.
    """

    rule: str
    form: int | None
    ok: bool
    value: float
    low: float
    high: float
    subject: Any = None

    def __str__(self) -> str:
        where = "all forms" if self.form is None else f"form {self.form}"
        what = f" {self.subject}" if self.subject is not None else ""
        return (f"{'ok  ' if self.ok else 'FAIL'} {self.rule}{what} ({where}): {self.value:g} "
                f"in [{self.low:g}, {self.high:g}]")


def _check(rule, form, value, low, high, subject=None) -> RuleCheck:
    return RuleCheck(rule, form, bool(low - _EPS <= value <= high + _EPS), float(value),
                     float(low), float(high), subject)


def form_difficulty(pool: ItemPool, spec: AssemblySpec, positions: np.ndarray) -> float:
    """Mean difficulty of the items at ``positions``, weighted as ``spec.difficulty_weighting``."""
    if len(positions) == 0:
        return float("nan")
    p = pool.difficulty[positions]
    if spec.difficulty_weighting == "points":
        w = np.array([spec.points_of(t) for t in pool.item_type[positions]])
    else:
        w = np.ones(len(positions))
    return float(np.sum(w * p) / np.sum(w))


def verify_forms(pool: ItemPool, spec: AssemblySpec, forms: Sequence[Sequence[int]]) -> list[RuleCheck]:
    """Check every rule of ``spec`` on ``forms`` (lists of item ids).

    Parameters
    ----------
    pool : ItemPool
    spec : AssemblySpec
    forms : sequence of sequence of int

    Returns
    -------
    list of RuleCheck
        Per form: ``items`` (ids known and distinct; value = number of distinct known ids, range
        = the paper's length), ``eligible`` (approved, unretired, with a difficulty, element in
        the blueprint, not excluded by the exposure policy; value = ineligible items),
        ``type_count`` per type, ``scope_count`` per allocation node, ``element_max`` (the
        most items of one element), ``coverage`` (elements covered), ``difficulty`` (mean),
        ``key_balance`` per letter (count among the single-choice items), ``enemy`` (most items
        of one enemy group), ``information`` per ability point when asked; across forms,
        ``overlap`` per pair of forms.
    """
    checks: list[RuleCheck] = []
    N = spec.item_count
    element_scope = {e: t.code for t in spec.scope_targets for e in t.elements}
    known_elements = set(spec.elements)
    flagged = spec.exposure.flagged(pool.sessions_since_use, pool.exposure_rate) \
        if spec.exposure.action == "exclude" else np.zeros(len(pool), bool)
    lookup = {int(item_id): i for i, item_id in enumerate(pool.ids)}
    thetas = spec.information.thetas if spec.information is not None else ()
    info = pool.information(thetas, spec.information.scaling) if thetas else None
    for f, form in enumerate(forms):
        ids = [int(i) for i in form]
        pos = np.array([lookup[i] for i in dict.fromkeys(ids) if i in lookup], dtype=np.int64)
        ok_items = len(pos) == len(ids)
        checks.append(RuleCheck("items", f, ok_items and len(ids) == N, float(len(pos)), N, N))
        bad = (~pool.approved[pos] | pool.retired[pos] | ~np.isfinite(pool.difficulty[pos])
               | flagged[pos] | ~np.isin(pool.element[pos], list(known_elements)))
        single = pool.item_type[pos] == "single_choice"
        bad |= single & ~np.isin(pool.key[pos], list(spec.key_letters))
        checks.append(_check("eligible", f, int(bad.sum()), 0, 0))
        types = Counter(pool.item_type[pos].tolist())
        for t, n in spec.type_counts:
            checks.append(_check("type_count", f, types.get(t, 0), n, n, t))
        other = sum(k for t, k in types.items() if t not in spec.type_count)
        if other:
            checks.append(_check("type_count", f, other, 0, 0, "other"))
        elements = Counter(pool.element[pos].tolist())
        scopes = Counter()
        for e, k in elements.items():
            scopes[element_scope.get(e)] += k
        for target in spec.scope_targets:
            checks.append(_check("scope_count", f, scopes.get(target.code, 0), target.count,
                                 target.count, target.code))
        checks.append(_check("element_max", f, max(elements.values(), default=0), 0,
                             spec.max_items_per_element))
        covered = sum(1 for e in elements if e in known_elements)
        checks.append(_check("coverage", f, covered, spec.coverage_needed, len(spec.elements)))
        t, tol = spec.target_difficulty, spec.difficulty_tolerance
        checks.append(_check("difficulty", f, form_difficulty(pool, spec, pos), t - tol, t + tol))
        if spec.single_choice_count:
            keys = Counter(pool.key[pos][single].tolist())
            low, high = spec.key_count_bounds
            for letter in spec.key_letters:
                checks.append(_check("key_balance", f, keys.get(letter, 0), low, high, letter))
        chosen = set(ids)
        most = max((len(chosen & g) for g in spec.enemy_groups), default=0)
        checks.append(_check("enemy", f, most, 0, 1))
        if info is not None:
            totals = info[pos].sum(axis=0)
            for theta, total in zip(thetas, totals):
                checks.append(RuleCheck("information", f, True, float(total), 0.0, float("inf"), theta))
    for (f, a), (g, b) in combinations(enumerate(forms), 2):
        shared = len(set(map(int, a)) & set(map(int, b)))
        checks.append(_check("overlap", None, shared, 0, spec.max_overlap, (f, g)))
    return checks
