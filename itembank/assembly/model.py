r"""The 0-1 integer programme of automated test assembly, as sparse matrices for HiGHS.

Notation: candidates :math:`i \in \mathcal I` (eligible items, sorted by id), forms
:math:`f = 1..F`, decision :math:`x_{if} \in \{0, 1\}` (item :math:`i` is in form :math:`f`).
Per form :math:`f` (van der Linden, *Linear Models for Optimal Test Design*, 2005, ch. 3-6):

* types: :math:`\sum_{i \in T} x_{if} = n_T` for every item type :math:`T`;
* scopes: :math:`\sum_{i \in S} x_{if} = n_S` for every node :math:`S` of the allocation layer
  (the paper's total follows, since the :math:`n_S` add up to it);
* elements: :math:`\sum_{i \in e} x_{if} \le m` for every element :math:`e`;
* coverage: :math:`\sum_e z_{ef} \ge C` with :math:`z_{ef} \le \min(1, \sum_{i \in e} x_{if})`,
  written as one row per element :math:`\sum_{i \in e} x_{if} - z_{ef} - w_{ef} = 0` with
  continuous :math:`z_{ef} \in [0, 1]`, :math:`w_{ef} \in [0, m - 1]` (so the element cap is a
  column bound). Left out when the scope counts already imply it
  (:math:`\sum_S \lceil n_S / m \rceil \ge C`, e.g. always when :math:`m = 1`);
* difficulty: :math:`\sum_i v_i p_i x_{if} - V d^+_f + V d^-_f = V t`, with :math:`p_i` the
  proportion correct, :math:`v_i` the item's points (or 1), :math:`V = \sum_T n_T v_T`,
  and :math:`0 \le d^\pm_f \le \tau`: the band :math:`|\bar p_f - t| \le \tau` as column
  bounds, and :math:`d^+_f + d^-_f = |\bar p_f - t|` priced in the objective;
* keys: :math:`\lceil \ell n_{SC} \rceil \le \sum_{i \in SC, k_i = L} x_{if} \le \lfloor h n_{SC} \rfloor`
  for every key letter :math:`L`;
* enemies: :math:`\sum_{i \in G} x_{if} \le 1` for every enemy group :math:`G`;
* information (optional): :math:`\sum_i I_i(\theta_k) x_{if} - r_k y \ge 0` (maximin).

Across forms: :math:`\sum_f x_{if} \le 1` (no overlap), or, for a maximum overlap :math:`o`,
:math:`x_{if} + x_{ig} - y_{ifg} \le 1` and :math:`\sum_i y_{ifg} \le o` for every pair
:math:`f < g` (continuous :math:`y \ge 0`).

Unions and splits: a form of the model may stand for :math:`k_f` of the spec's forms
(``multiplicity``); every right-hand side above is then multiplied by :math:`k_f` (and
:math:`z_{ef} \le k_f`, enemies :math:`\le k_f`, information :math:`\ge k_f r_k y`). Any
:math:`k` disjoint forms make a feasible union, so the one-form model with :math:`k = F` is a
relaxation of the simultaneous one. With ``partition`` every candidate goes to exactly one form
(:math:`\sum_f x_{if} = 1`): splitting a union of :math:`k_1 + k_2` forms into two unions.

Objective (minimise): :math:`\sum_{i,f} (\pi\, \phi_i - \eta\, u_{if})\, x_{if} +
\delta \cdot 100 \sum_f (d^+_f + d^-_f) - y / \bar I`, with seeded uniform preferences
:math:`u_{if} \in [0, 1)` (different seeds, different but reproducible forms; :math:`\eta = 1`,
or :math:`10^{-3}` when information is maximised so that it only breaks ties), exposure
penalty :math:`\pi` on flagged items :math:`\phi_i` (in the same unit: one item's preference,
or one typical item's information), difficulty deviation weight
:math:`\delta` per 0.01, and the maximin term scaled by a typical item's information
:math:`\bar I`.

For diagnosis the same rows can be *relaxed*: each row of a relaxed rule gets slack columns
:math:`s^+, s^- \ge 0` priced per unit of the rule's own measure (items, elements, 0.01 of
difficulty), so the cheapest relaxed solution is the minimal shortfall.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Iterable, Mapping

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from itembank.assembly.candidates import Candidates
from itembank.assembly.spec import AssemblySpec

__all__ = ["Model", "Solution", "build_model", "coverage_implied", "solve"]


@dataclass
class Model:
    """A MILP ``min c x  s.t.  lo <= A x <= hi, lb <= x <= ub, x_j integer for integral[j]``.

    ``row_group`` and ``row_label`` name each row's rule and what it counts (form, type,
    scope ...); ``slack`` maps a slack column to its row and sign (+1 adds, -1 subtracts).
    The first ``F * n`` columns are :math:`x_{if}` at ``f * n + i``.
    """

    forms: int
    n: int
    cost: list = field(default_factory=list)
    lb: list = field(default_factory=list)
    ub: list = field(default_factory=list)
    integral: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    cols: list = field(default_factory=list)
    vals: list = field(default_factory=list)
    lo: list = field(default_factory=list)
    hi: list = field(default_factory=list)
    row_group: list = field(default_factory=list)
    row_label: list = field(default_factory=list)
    slack: dict = field(default_factory=dict)
    columns: dict = field(default_factory=dict)
    n_rows: int = 0
    n_cols: int = 0
    difficulty_scale: float = 1.0
    information_reference: float = 1.0

    def add_columns(self, name: str, count: int, lb, ub, cost, integral: bool) -> int:
        start = self.n_cols
        self.lb.append(np.broadcast_to(np.asarray(lb, float), (count,)))
        self.ub.append(np.broadcast_to(np.asarray(ub, float), (count,)))
        self.cost.append(np.broadcast_to(np.asarray(cost, float), (count,)))
        self.integral.append(np.full(count, 1 if integral else 0, dtype=np.uint8))
        self.columns[name] = (start, count)
        self.n_cols += count
        return start

    def add_rows(self, group: str, entry_row, entry_col, entry_val, lo, hi, labels) -> int:
        """Add ``len(lo)`` rows; ``entry_row`` counts from 0 for the first new row."""
        start = self.n_rows
        count = len(lo)
        self.rows.append(np.asarray(entry_row, dtype=np.int64) + start)
        self.cols.append(np.asarray(entry_col, dtype=np.int64))
        self.vals.append(np.broadcast_to(np.asarray(entry_val, float), (len(entry_row),)))
        self.lo.append(np.asarray(lo, float))
        self.hi.append(np.asarray(hi, float))
        labels = list(labels)
        if len(labels) != count:
            raise ValueError(f"{group}: {len(labels)} labels for {count} rows")
        self.row_group.extend([group] * count)
        self.row_label.extend(labels)
        self.n_rows += count
        return start

    def relax(self, penalties: Mapping[str, float], scales: Mapping[int, float] | None = None) -> None:
        """Give every row of the groups in ``penalties`` two slack columns, each costing the
        group's penalty per unit; ``scales`` multiplies a row's slack coefficient (so the
        slack is measured in the rule's unit, e.g. mean difficulty)."""
        scales = scales or {}
        rows = [r for r, g in enumerate(self.row_group) if g in penalties]
        if not rows:
            return
        start = self.add_columns("slack", 2 * len(rows), 0.0, np.inf,
                                 [penalties[self.row_group[r]] for r in rows for _ in (0, 1)], False)
        entry_row, entry_col, entry_val = [], [], []
        for k, r in enumerate(rows):
            scale = scales.get(r, 1.0)
            for sign, col in ((1, start + 2 * k), (-1, start + 2 * k + 1)):
                entry_row.append(r)
                entry_col.append(col)
                entry_val.append(sign * scale)
                self.slack[col] = (r, sign)
        self.rows.append(np.asarray(entry_row, dtype=np.int64))
        self.cols.append(np.asarray(entry_col, dtype=np.int64))
        self.vals.append(np.asarray(entry_val, float))

    def arrays(self):
        """``(c, integrality, lb, ub, A (csr), lo, hi)`` ready for :func:`scipy.optimize.milp`."""
        cat = lambda parts, dtype=float: np.concatenate(parts) if parts else np.zeros(0, dtype)  # noqa: E731
        A = sp.csr_array((cat(self.vals), (cat(self.rows, np.int64), cat(self.cols, np.int64))),
                         shape=(self.n_rows, self.n_cols))
        return (cat(self.cost), cat(self.integral, np.uint8), cat(self.lb), cat(self.ub), A,
                cat(self.lo), cat(self.hi))


def _per_form(group_of_item: np.ndarray, n_groups: int, forms: int, n: int, coef=None):
    """Entries of one row per (form, group) summing the items of the group:
    row ``f * n_groups + g``, column ``f * n + i``."""
    items = np.flatnonzero(group_of_item >= 0)
    groups = group_of_item[items]
    rows = (np.arange(forms)[:, None] * n_groups + groups[None, :]).ravel()
    cols = (np.arange(forms)[:, None] * n + items[None, :]).ravel()
    vals = np.ones(len(rows)) if coef is None else np.tile(coef[items], forms)
    return rows, cols, vals


def coverage_implied(spec: AssemblySpec) -> bool:
    r"""Whether the scope counts force the coverage: each node with :math:`n_S` items covers at
    least :math:`\lceil n_S / m \rceil` elements."""
    m = spec.max_items_per_element
    return sum(-(-t.count // m) for t in spec.scope_targets) >= spec.coverage_needed


def build_model(c: Candidates, spec: AssemblySpec, *, preference: np.ndarray | None = None,
                drop: frozenset[str] = frozenset(), objective: bool = True,
                multiplicity: Iterable[int] | None = None, partition: bool = False) -> Model:
    r"""Build the model of the module docstring.

    Parameters
    ----------
    c : Candidates
    spec : AssemblySpec
    preference : ndarray, shape (forms of this model, n), optional
        The seeded random preferences :math:`u_{if}`; zeros when omitted.
    drop : set of str
        Rule groups to leave out (diagnosis: which rule, once dropped, makes another hold).
    objective : bool
        False for a pure feasibility model (no costs; used in diagnosis).
    multiplicity : sequence of int, optional
        One entry per form of *this* model: how many of the spec's forms it stands for
        (default: ``spec.forms`` ones, the simultaneous model). A form standing for
        :math:`k` forms is a *union*: every per-form count is multiplied by :math:`k` (types,
        scopes, elements :math:`\le k m`, coverage :math:`\sum_e z_e \ge k C` with
        :math:`z_e \le \min(k, n_e)`, key letters, the difficulty sum, enemy groups
        :math:`\le k`, information :math:`\ge k r_j y`). Any :math:`k` disjoint forms make a
        feasible union, so ``multiplicity=[F]`` is a relaxation of the simultaneous model with
        ``max_overlap = 0``, and ``[k1, k2]`` with ``partition`` splits a union in two.
    partition : bool
        Every candidate goes to exactly one form of this model (:math:`\sum_f x_{if} = 1`).
    """
    mult = np.ones(spec.forms, dtype=np.int64) if multiplicity is None else np.asarray(list(multiplicity), np.int64)
    F, n = len(mult), len(c)
    model = Model(forms=F, n=n)
    info_on = (objective and spec.information is not None and c.info is not None
               and bool(np.any(c.info > 0)))
    eta = 1e-3 if info_on else 1.0
    x_cost = np.zeros((F, n))
    if objective:
        if preference is not None:
            # Maximise the preferences: the optimum is then large in magnitude, so a relative
            # gap stops the search once the rules hold and the forms are near-random.
            x_cost -= eta * preference
        if spec.exposure.action == "penalise":
            x_cost += spec.exposure.penalty * c.flagged[None, :]
    model.add_columns("x", F * n, 0.0, 1.0, x_cost.ravel(), True)
    def form_labels(names) -> list:
        names = list(names)
        return [(f, name) for f in range(F) for name in names]

    forms_only = [(f, None) for f in range(F)]
    scaled = lambda values: np.outer(mult, np.asarray(values, float)).ravel()  # noqa: E731

    types = [t for t, _ in spec.type_counts]
    counts = [n_t for _, n_t in spec.type_counts]
    if "type_count" not in drop:
        r, col, v = _per_form(c.type_idx, len(types), F, n)
        model.add_rows("type_count", r, col, v, scaled(counts), scaled(counts), form_labels(types))

    scopes = [t.code for t in spec.scope_targets]
    scope_counts = [t.count for t in spec.scope_targets]
    if "scope_count" not in drop:
        r, col, v = _per_form(c.scope_idx, len(scopes), F, n)
        model.add_rows("scope_count", r, col, v, scaled(scope_counts), scaled(scope_counts),
                       form_labels(scopes))

    m = spec.max_items_per_element
    per_element = np.bincount(c.element_idx, minlength=len(spec.elements))
    used = np.flatnonzero(per_element > 0)
    if "coverage" not in drop and not coverage_implied(spec) and m > 1:
        # One row per (form, element): sum x - z - w = 0, z in [0, k], w in [0, k (m - 1)].
        local = np.full(len(spec.elements), -1, dtype=np.int64)
        local[used] = np.arange(len(used))
        E = len(used)
        z0 = model.add_columns("z", F * E, 0.0, np.repeat(mult, E).astype(float), 0.0, False)
        w_cap = np.repeat(mult * (m - 1), E).astype(float) if "element_max" not in drop else np.inf
        w0 = model.add_columns("w", F * E, 0.0, w_cap, 0.0, False)
        r, col, v = _per_form(local[c.element_idx], E, F, n)
        link = np.arange(F * E)
        model.add_rows("element_link", np.concatenate([r, link, link]),
                       np.concatenate([col, z0 + link, w0 + link]),
                       np.concatenate([v, -np.ones(F * E), -np.ones(F * E)]),
                       np.zeros(F * E), np.zeros(F * E), form_labels(spec.elements[e] for e in used))
        model.add_rows("coverage", np.repeat(np.arange(F), E), z0 + link, np.ones(F * E),
                       scaled([spec.coverage_needed]), np.full(F, np.inf), forms_only)
    elif "element_max" not in drop:
        crowded = used[per_element[used] > mult.min() * m]
        if len(crowded):
            local = np.full(len(spec.elements), -1, dtype=np.int64)
            local[crowded] = np.arange(len(crowded))
            r, col, v = _per_form(local[c.element_idx], len(crowded), F, n)
            model.add_rows("element_max", r, col, v, np.zeros(F * len(crowded)),
                           scaled(np.full(len(crowded), m)), form_labels(spec.elements[e] for e in crowded))

    if "difficulty" not in drop:
        V = float(sum((spec.points_of(t) if spec.difficulty_weighting == "points" else 1.0) * n_t
                      for t, n_t in spec.type_counts))
        Vf = V * mult
        tau = spec.difficulty_tolerance
        dev_cost = np.repeat(spec.difficulty_weight * 100.0 * mult, 2) if objective else 0.0
        d0 = model.add_columns("dev", 2 * F, 0.0, tau, dev_cost, False)
        r, col, v = _per_form(np.zeros(n, dtype=np.int64), 1, F, n, c.points * c.p)
        forms_idx = np.arange(F)
        model.add_rows("difficulty",
                       np.concatenate([r, forms_idx, forms_idx]),
                       np.concatenate([col, d0 + 2 * forms_idx, d0 + 2 * forms_idx + 1]),
                       np.concatenate([v, -Vf, Vf]),
                       Vf * spec.target_difficulty, Vf * spec.target_difficulty, forms_only)
        model.difficulty_scale = V

    if "key_balance" not in drop and spec.single_choice_count:
        low, high = spec.key_count_bounds
        L = len(spec.key_letters)
        r, col, v = _per_form(c.key_idx, L, F, n)
        model.add_rows("key_balance", r, col, v, scaled(np.full(L, low)), scaled(np.full(L, high)),
                       form_labels(spec.key_letters))

    if "enemy" not in drop and spec.enemy_groups:
        where = {int(item_id): i for i, item_id in enumerate(c.ids)}
        groups = [sorted(where[i] for i in g if i in where) for g in spec.enemy_groups]
        groups = [(j, g) for j, g in enumerate(groups) if len(g) > mult.min()]
        if groups:
            G = len(groups)
            members = np.concatenate([g for _, g in groups])
            group_of = np.repeat(np.arange(G), [len(g) for _, g in groups])
            rows = (np.arange(F)[:, None] * G + group_of[None, :]).ravel()
            cols = (np.arange(F)[:, None] * n + members[None, :]).ravel()
            model.add_rows("enemy", rows, cols, np.ones(len(rows)), np.zeros(F * G), scaled(np.ones(G)),
                           [(f, j) for f in range(F) for j, _ in groups])

    if "overlap" not in drop and F > 1 and (partition or spec.max_overlap < spec.item_count):
        if partition or spec.max_overlap == 0:
            rows = np.tile(np.arange(n), F)
            cols = np.arange(F * n)
            model.add_rows("overlap", rows, cols, np.ones(F * n), np.full(n, 1.0 if partition else 0.0),
                           np.ones(n), [(None, int(i)) for i in c.ids])
        else:
            pairs = [(f, g) for f in range(F) for g in range(f + 1, F)]
            y0 = model.add_columns("y", len(pairs) * n, 0.0, 1.0, 0.0, False)
            items = np.arange(n)
            for j, (f, g) in enumerate(pairs):
                model.add_rows("overlap_link", np.concatenate([items, items, items]),
                               np.concatenate([f * n + items, g * n + items, y0 + j * n + items]),
                               np.concatenate([np.ones(n), np.ones(n), -np.ones(n)]),
                               np.full(n, -np.inf), np.ones(n), [(None, (f, g))] * n)
            model.add_rows("overlap", np.repeat(np.arange(len(pairs)), n), y0 + np.arange(len(pairs) * n),
                           np.ones(len(pairs) * n), np.zeros(len(pairs)),
                           np.full(len(pairs), float(spec.max_overlap)), [(None, pair) for pair in pairs])

    if info_on:
        info = c.info
        rel = spec.information.relative
        K = info.shape[1]
        per_point = info / rel[None, :]
        reference = float(np.mean(np.min(per_point, axis=1))) if n else 1.0
        reference = reference if reference > 0 else 1.0
        # y <= the N most informative items' total at any one point (a valid upper bound).
        top = float(min(np.sort(per_point[:, j])[::-1][:spec.item_count].sum() for j in range(K))) + 1.0
        y = model.add_columns("information", 1, 0.0, top, -1.0 / reference, False)
        model.information_reference = reference
        entry_rows, entry_cols, entry_vals = [], [], []
        for f in range(F):
            for j in range(K):
                row = f * K + j
                nz = np.flatnonzero(info[:, j] > 0)
                entry_rows += [np.full(len(nz), row), [row]]
                entry_cols += [f * n + nz, [y]]
                entry_vals += [info[nz, j], [-mult[f] * rel[j]]]
        model.add_rows("information", np.concatenate(entry_rows), np.concatenate(entry_cols),
                       np.concatenate(entry_vals), np.zeros(F * K), np.full(F * K, np.inf),
                       [(f, spec.information.thetas[j]) for f in range(F) for j in range(K)])
    return model


@dataclass(frozen=True)
class Solution:
    """What HiGHS returned: scipy's ``status`` (0 optimal, 1 limit, 2 infeasible ...), the
    column values (None when no feasible point was found), objective, gap and seconds."""

    status: int
    x: np.ndarray | None
    objective: float | None
    gap: float | None
    seconds: float
    message: str


def solve(model: Model, *, time_limit: float, mip_rel_gap: float = 1e-4, seed: int = 0,
          presolve: bool = True, disp: bool = False) -> Solution:
    """Solve ``model`` with :func:`scipy.optimize.milp` (HiGHS branch and cut).

    ``seed`` is also passed as HiGHS's ``random_seed``; :func:`~scipy.optimize.milp` documents
    that options it does not list are passed to HiGHS verbatim (with a warning, silenced here).
    """
    started = time.perf_counter()
    c, integrality, lb, ub, A, lo, hi = model.arrays()
    if model.n_cols == 0:
        feasible = bool(np.all(lo <= 0) and np.all(hi >= 0))
        return Solution(0 if feasible else 2, np.zeros(0) if feasible else None, 0.0, 0.0, 0.0, "empty model")
    options = {"time_limit": float(time_limit), "mip_rel_gap": float(mip_rel_gap),
               "presolve": presolve, "random_seed": int(seed) % (2 ** 31 - 1), "disp": disp}
    constraints = LinearConstraint(A, lo, hi) if model.n_rows else None
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Unrecognized options detected", category=RuntimeWarning)
        res = milp(c, integrality=integrality, bounds=Bounds(lb, ub), constraints=constraints,
                   options=options)
    x = None if res.x is None else np.asarray(res.x)
    return Solution(int(res.status), x, None if res.fun is None else float(res.fun),
                    None if res.mip_gap is None else float(res.mip_gap),
                    time.perf_counter() - started, str(res.message))
