"""Assemble parallel forms: pre-check, build the model, solve, verify, or explain the failure."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field, replace

import numpy as np

from itembank.assembly.candidates import candidates
from itembank.assembly.diagnose import explain, precheck
from itembank.assembly.errors import AssemblyInfeasible, AssemblyTimeLimit
from itembank.assembly.model import build_model, solve
from itembank.assembly.pool import ItemPool
from itembank.assembly.spec import AssemblySpec
from itembank.assembly.validation import validate_spec
from itembank.assembly.verify import RuleCheck, form_difficulty, verify_forms
from itembank.errors import ItemBankError

__all__ = ["AssemblyResult", "AssemblyVerificationError", "assemble_forms"]

#: Relative gap of the split models: they are small, and a tight gap keeps the forms parallel
#: (the difficulty deviation and the information are in their objective).
SPLIT_GAP = 1e-3
#: Share of the time limit the union model may use when forms are split.
UNION_SHARE = 0.6


class AssemblyVerificationError(ItemBankError):
    """The solver returned forms that break a rule when recounted: a bug, never a paper."""


@dataclass(frozen=True)
class AssemblyResult:
    """Forms that satisfy every rule.

    Attributes
    ----------
    forms : list of list of int
        Item ids per form, ordered by the spec's item types, then the blueprint's element
        order, then id.
    status : {"optimal", "feasible_time_limit"}
        ``"optimal"``: solved to within ``mip_rel_gap``; ``"feasible_time_limit"``: the time
        limit stopped the search and these are the best forms found (every rule still holds).
    objective : float
        Sum of the objectives of the models that made the forms (see
        :mod:`itembank.assembly.model`).
    gap : float
        The largest relative gap between such a model's objective and its bound.
    seconds : float
        Wall time of the whole call.
    seed : int
        The seed used (repeat the run by passing it in the spec).
    checks : list of RuleCheck
        :func:`verify_forms` on the forms (all ok).
    difficulty : list of float
        Each form's mean difficulty.
    information : list of list of float
        Each form's test information at the spec's ability points (empty without a target).
    excluded : dict of str to int
        Items left out of the pool per reason.
    stages : list of dict
        One entry per model solved: ``stage`` ("union", "split", "simultaneous"), ``forms``
        (multiplicities), ``status``, ``seconds``, ``objective``, ``gap``, ``rows``,
        ``columns``, ``nonzeros``, ``candidates``; a split that failed and the fallback
        both appear.
    notes : list of str
        What the caller should know, e.g. that no item had IRT parameters for the
        information target.
    """

    forms: list[list[int]]
    status: str
    objective: float
    gap: float
    seconds: float
    seed: int
    checks: list[RuleCheck] = field(default_factory=list)
    difficulty: list[float] = field(default_factory=list)
    information: list[list[float]] = field(default_factory=list)
    excluded: dict[str, int] = field(default_factory=dict)
    stages: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


def assemble_forms(pool: ItemPool, spec: AssemblySpec) -> AssemblyResult:
    r"""Assemble ``spec.forms`` parallel forms from ``pool``.

    See :mod:`itembank.assembly.model` for the formulation. Steps: validate the spec; keep the
    usable items (approved, unretired, with a difficulty, not excluded by the exposure policy);
    pre-check the counts; solve; recount every rule on the returned ids with
    :func:`verify_forms`.

    Solving strategy (``spec.strategy``):

    * ``"simultaneous"``: one model with all ``F × n`` columns :math:`x_{if}`.
    * ``"split"`` (what ``"auto"`` does when ``F > 1``): first the
      *union* of the forms, ``multiplicity=[F]`` (``n`` columns; a relaxation of the
      simultaneous model, so if it is infeasible so is the simultaneous one), then the union
      is split in two groups of :math:`\lceil k/2 \rceil` and :math:`\lfloor k/2 \rfloor`
      forms, recursively, each split a small model of the same rules with the counts of its
      groups (``partition=True``). This is the aggregate-then-split idea of multiple-form
      assembly (van der Linden 2005, ch. 6; cf. the "big shadow test" of van der Linden &
      Adema, *J. Educ. Meas.* 35, 1998): ``F - 1`` small models instead of one with
      ``F × n`` columns. Should a split fail, the simultaneous model is solved instead. With
      a maximum overlap above 0 the split is tried without shared items first (such forms
      respect the limit too); the simultaneous model with the overlap rows comes next.

    Parameters
    ----------
    pool : ItemPool
    spec : AssemblySpec

    Returns
    -------
    AssemblyResult

    Raises
    ------
    AssemblySpecError
        The spec cannot describe any paper (e.g. a time limit of zero, counts that do not add up).
    AssemblyInfeasible
        The bank cannot satisfy the spec; ``explanations`` says what is short or which rules
        conflict, with numbers.
    AssemblyTimeLimit
        The time limit passed before any forms meeting every rule were found.
    AssemblyVerificationError
        The solver's forms break a rule when recounted (a bug).
    """
    started = time.perf_counter()
    validate_spec(spec)
    seed = spec.seed if spec.seed is not None else secrets.randbelow(2 ** 31 - 1)
    c = candidates(pool, spec)
    problems = precheck(c, spec)
    if problems:
        raise AssemblyInfeasible(problems)
    run = _Run(spec, seed, started)
    groups = None
    if spec.forms > 1 and spec.strategy in ("auto", "split"):
        # Forms that share nothing also respect any overlap limit: try them first when the
        # bank has the items, since the overlap model is much larger.
        strict = spec if spec.max_overlap == 0 else replace(spec, max_overlap=0)
        if strict is spec or not precheck(c, strict):
            run.spec = strict
            # The union gets at most 60 % of the time; the F - 1 splits share the rest.
            union = run.solve(c, [spec.forms], partition=False, stage="union", share=UNION_SHARE)
            if union is None and strict is spec:   # a relaxation: the forms are impossible
                raise AssemblyInfeasible(explain(c, spec, time_limit=run.left(minimum=1.0),
                                                 seed=seed, union=True))
            if union is not None:
                groups = run.split(c.subset(np.flatnonzero(union[0])), spec.forms)
            run.spec = spec
    path = run.stages if groups is not None else []
    if groups is None:
        first = len(run.stages)
        whole = run.solve(c, [1] * spec.forms, partition=False, stage="simultaneous")
        path = run.stages[first:]
        if whole is None:
            raise AssemblyInfeasible(explain(c, spec, time_limit=run.left(minimum=1.0), seed=seed))
        groups = [c.pos[row] for row in whole]
    type_rank = {t: k for k, (t, _) in enumerate(spec.type_counts)}
    element_rank = {e: k for k, e in enumerate(spec.elements)}
    forms, positions = [], []
    for pos in groups:
        pos = sorted(pos, key=lambda p: (type_rank[pool.item_type[p]], element_rank[pool.element[p]],
                                         int(pool.ids[p])))
        positions.append(np.array(pos, dtype=np.int64))
        forms.append([int(pool.ids[p]) for p in pos])
    checks = verify_forms(pool, spec, forms)
    failed = [check for check in checks if not check.ok]
    if failed:
        raise AssemblyVerificationError("the solver's forms break rules: "
                                        + "; ".join(map(str, failed[:5])))
    information, notes = [], []
    if spec.information is not None:
        info = pool.information(spec.information.thetas, spec.information.scaling)
        information = [info[pos].sum(axis=0).round(6).tolist() for pos in positions]
        if c.info is None or not np.any(c.info > 0):
            notes.append("no usable item has IRT parameters: the information target was not used")
    return AssemblyResult(
        forms=forms,
        status="optimal" if all(stage["status"] == 0 for stage in path) else "feasible_time_limit",
        objective=float(sum(stage["objective"] for stage in path)),
        gap=float(max(stage["gap"] for stage in path)),
        seconds=time.perf_counter() - started, seed=int(seed), checks=checks,
        difficulty=[form_difficulty(pool, spec, pos) for pos in positions],
        information=information, excluded=c.excluded, stages=run.stages, notes=notes)


class _Run:
    """The solves of one assembly: time budget, seeded preferences, per-stage statistics."""

    def __init__(self, spec: AssemblySpec, seed: int, started: float):
        self.spec, self.seed, self.started = spec, seed, started
        self.rng = np.random.default_rng(seed)
        self.stages: list[dict] = []

    def left(self, minimum: float = 0.0) -> float:
        return max(self.spec.time_limit - (time.perf_counter() - self.started), minimum)

    def solve(self, c, multiplicity, *, partition: bool, stage: str, share: float = 1.0):
        """Solve one model within ``share`` of the time left; the chosen columns as a boolean
        (forms, n) array, or None when the model is infeasible. Raises AssemblyTimeLimit when
        time ran out with nothing found."""
        left = self.left() * share
        if left <= 0:
            raise AssemblyTimeLimit(self.spec.time_limit)
        preference = self.rng.random((len(multiplicity), len(c)))
        model = build_model(c, self.spec, preference=preference, multiplicity=multiplicity,
                            partition=partition)
        gap = self.spec.mip_rel_gap if not partition else min(self.spec.mip_rel_gap, SPLIT_GAP)
        sol = solve(model, time_limit=left, mip_rel_gap=gap, seed=self.seed)
        self.stages.append({"stage": stage, "forms": [int(k) for k in multiplicity],
                            "status": sol.status, "seconds": round(sol.seconds, 4),
                            "objective": float(sol.objective or 0.0), "gap": float(sol.gap or 0.0),
                            "rows": model.n_rows, "columns": model.n_cols,
                            "nonzeros": int(sum(len(v) for v in model.vals)), "candidates": len(c)})
        if sol.x is None:
            if sol.status == 1:
                raise AssemblyTimeLimit(self.spec.time_limit)
            return None
        return sol.x[: len(multiplicity) * len(c)].reshape(len(multiplicity), len(c)) > 0.5

    def split(self, c, forms: int):
        """Pool positions of each form, splitting the union ``c`` of ``forms`` forms in halves;
        None when a split is infeasible."""
        if forms == 1:
            return [c.pos]
        first = (forms + 1) // 2
        pending = sum(1 for stage in self.stages if stage["stage"] == "split")
        share = 1.0 / max(self.spec.forms - 1 - pending, 1)
        halves = self.solve(c, [first, forms - first], partition=True, stage="split", share=share)
        if halves is None:
            return None
        out = []
        for half, k in zip(halves, (first, forms - first)):
            part = self.split(c.subset(np.flatnonzero(half)), k)
            if part is None:
                return None
            out.extend(part)
        return out
