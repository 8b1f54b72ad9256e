"""Benchmark: automated test assembly on synthetic banks, against the peer way of drawing papers.

Cases (issue 4 targets, on synthetic banks generated with fixed seeds):

1. ``parallel_5k``: 5,000 items, 50 elements, 4 forms of 100 items, no overlap, mean difficulty
   0.65 ± 0.01: under 2 s. The same case is also solved as one simultaneous model, for comparison.
2. ``large_20k``: 20,000 items, 200 elements, 10 forms of 100 items, 500 enemy pairs (random
   pairs across elements: with one item per element, pairs within an element could never meet),
   mean difficulty 0.65 ± 0.02: under 15 s.
3. ``maximin_5k``: the 5,000-item bank with 3PL parameters, maximin test information at
   θ = -1, 0, 1, 4 forms, 1 % gap: under 10 s.

Every set of forms is checked with :func:`itembank.assembly.verify_forms` (a wrong solution is a
failure, whatever the time). For each blueprint the peer way is drawn 100 times: per form, the
type counts are split over the scope nodes (largest remainder, then balanced to the type
totals) and each (node, type) cell is filled with random items, at most ``m`` per element, no
item used twice in one draw. The share of draws whose forms meet every rule and the spread of the
forms' mean difficulty are reported beside ours.

Prints ONE JSON line. Run: ``python tests/benchmarks/assembly.py [--draws 100]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import scipy  # noqa: E402

from itembank.assembly import assemble_forms, largest_remainder, spec_from_blueprint, verify_forms  # noqa: E402
from itembank.assembly.synthetic import enemy_pairs, synthetic_blueprint, synthetic_pool  # noqa: E402

TYPES_100 = (("true_false", 20, 1.0), ("single_choice", 60, 1.0), ("multiple_choice", 20, 1.0))


def cases():
    """(name, blueprint, pool, overrides, forms, target seconds)."""
    bp5 = synthetic_blueprint(50, item_types=TYPES_100, max_items_per_element=3,
                              min_element_coverage=0.5, difficulty_tolerance=0.01, seed=1)
    pool5 = synthetic_pool(bp5, 5000, seed=1, unusable_share=0.05)
    yield "parallel_5k", bp5, pool5, {}, 4, 2.0
    bp20 = synthetic_blueprint(200, item_types=TYPES_100, max_items_per_element=1,
                               min_element_coverage=0.4, difficulty_tolerance=0.02, seed=2)
    pool20 = synthetic_pool(bp20, 20000, seed=2, unusable_share=0.05)
    yield "large_20k", bp20, pool20, {"enemy_groups": enemy_pairs(pool20, 500, seed=3, same_element=False)}, 10, 15.0
    bp_info = synthetic_blueprint(50, item_types=TYPES_100, max_items_per_element=3,
                                  min_element_coverage=0.5, difficulty_tolerance=0.02, seed=1)
    yield ("maximin_5k", bp_info, pool5,
           {"information": {"thetas": (-1.0, 0.0, 1.0)}, "mip_rel_gap": 0.01}, 4, 10.0)


def rule_summary(checks) -> dict[str, bool]:
    """Per rule: does it hold on every form (and across forms)?"""
    out: dict[str, bool] = {}
    for check in checks:
        out[check.rule] = out.get(check.rule, True) and check.ok
    return out


def spread(values) -> dict[str, float]:
    values = np.asarray(values, dtype=float)
    return {"mean": round(float(values.mean()), 4), "sd": round(float(values.std()), 4),
            "min": round(float(values.min()), 4), "max": round(float(values.max()), 4)}


# --------------------------------------------------------------------------------------------
# The peer way: random items per element, stratified by scope and type
# --------------------------------------------------------------------------------------------

def cell_quotas(spec) -> np.ndarray:
    """Items per (scope node, type): each node's count split over the types by largest
    remainder, then moved between nodes until every type total is exact."""
    type_counts = np.array([n for _, n in spec.type_counts])
    q = np.array([largest_remainder(type_counts, t.count) if t.count else np.zeros(len(type_counts), int)
                  for t in spec.scope_targets])
    for _ in range(10_000):
        diff = q.sum(axis=0) - type_counts
        over, under = np.flatnonzero(diff > 0), np.flatnonzero(diff < 0)
        if not len(over):
            break
        a, b = over[0], under[0]
        row = next(r for r in range(len(q)) if q[r, a] > 0)
        q[row, a] -= 1
        q[row, b] += 1
    return q


def peer_draw(pool, spec, rng, quotas, usable, by_cell) -> list[list[int]] | None:
    """One draw of ``spec.forms`` forms the peer way; None when a cell runs out of items."""
    used: set[int] = set()
    forms = []
    m = spec.max_items_per_element
    for _ in range(spec.forms):
        form: list[int] = []
        for s, target in enumerate(spec.scope_targets):
            per_element: Counter = Counter()
            for t, _ in enumerate(spec.type_counts):
                need = int(quotas[s, t])
                if not need:
                    continue
                cell = by_cell.get((s, t), np.array([], dtype=np.int64))
                taken = 0
                for row in rng.permutation(cell):
                    item = int(pool.ids[row])
                    if item in used or per_element[pool.element[row]] >= m:
                        continue
                    form.append(item)
                    used.add(item)
                    per_element[pool.element[row]] += 1
                    taken += 1
                    if taken == need:
                        break
                if taken < need:
                    return None
        forms.append(form)
    return forms


def peer(pool, spec, draws: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    quotas = cell_quotas(spec)
    usable = pool.approved & ~pool.retired & np.isfinite(pool.difficulty)
    scope_of = {e: s for s, t in enumerate(spec.scope_targets) for e in t.elements}
    type_of = {t: k for k, (t, _) in enumerate(spec.type_counts)}
    by_cell: dict[tuple[int, int], list[int]] = {}
    for row in np.flatnonzero(usable):
        key = (scope_of.get(pool.element[row], -1), type_of.get(pool.item_type[row], -1))
        by_cell.setdefault(key, []).append(row)
    by_cell = {k: np.array(v) for k, v in by_cell.items()}
    all_ok = forms_ok = forms_total = failed_draws = 0
    rule_ok: Counter = Counter()
    difficulties, information = [], []
    started = time.perf_counter()
    for _ in range(draws):
        forms = peer_draw(pool, spec, rng, quotas, usable, by_cell)
        if forms is None:
            failed_draws += 1
            continue
        checks = verify_forms(pool, spec, forms)
        all_ok += all(c.ok for c in checks)
        for rule, ok in rule_summary(checks).items():
            rule_ok[rule] += ok
        for f in range(len(forms)):
            forms_total += 1
            forms_ok += all(c.ok for c in checks if c.form == f)
        difficulties += [c.value for c in checks if c.rule == "difficulty"]
        for f in range(len(forms)):
            values = [c.value for c in checks if c.rule == "information" and c.form == f]
            if values:
                information.append(min(values))
    done = draws - failed_draws
    return {
        "draws": draws, "draws_without_enough_items": failed_draws,
        "share_draws_all_rules": round(all_ok / draws, 4),
        "share_forms_all_form_rules": round(forms_ok / max(forms_total, 1), 4),
        "share_draws_rule_holds": {rule: round(k / max(done, 1), 4) for rule, k in sorted(rule_ok.items())},
        "difficulty_of_forms": spread(difficulties) if difficulties else None,
        **({"information_min_of_forms": spread(information)} if information else {}),
        "seconds": round(time.perf_counter() - started, 3),
    }


# --------------------------------------------------------------------------------------------

def run_case(name, blueprint, pool, overrides, forms, target, draws) -> dict:
    spec = spec_from_blueprint(blueprint, forms=forms,
                               overrides={"seed": 2024, "time_limit": 120, **overrides})
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    result = assemble_forms(pool, spec)
    seconds = time.perf_counter() - started
    checks = verify_forms(pool, spec, result.forms)        # again, outside the engine
    rules = rule_summary(checks)
    out = {
        "items": len(pool), "elements": len(spec.elements), "forms": forms,
        "items_per_form": spec.item_count, "allocation_layer": spec.allocation_layer,
        "seconds": round(seconds, 3), "target_seconds": target, "under_target": seconds < target,
        "status": result.status, "gap": round(result.gap, 5),
        "all_rules_hold": all(c.ok for c in checks), "rules_hold": rules,
        "forms_all_rules": [all(c.ok for c in checks if c.form in (f, None)) for f in range(forms)],
        "difficulty_target": [spec.target_difficulty, spec.difficulty_tolerance],
        "difficulty_of_forms": spread(result.difficulty),
        "models": [{k: s[k] for k in ("stage", "forms", "seconds", "columns", "rows", "gap")}
                   for s in result.stages],
        "load_1min_before": round(load_before, 2),
    }
    if result.information:
        info = np.array(result.information)
        out["information_min_per_form"] = info.min(axis=1).round(3).tolist()
        out["information_min_of_forms"] = spread(info.min(axis=1))
        out["information_by_theta"] = info.mean(axis=0).round(3).tolist()
    if name == "parallel_5k":
        simultaneous = spec_from_blueprint(blueprint, forms=forms, overrides={
            "seed": 2024, "time_limit": 120, "strategy": "simultaneous", **overrides})
        started = time.perf_counter()
        other = assemble_forms(pool, simultaneous)
        out["simultaneous_model"] = {
            "seconds": round(time.perf_counter() - started, 3), "status": other.status,
            "all_rules_hold": all(c.ok for c in verify_forms(pool, simultaneous, other.forms)),
            "difficulty_of_forms": spread(other.difficulty),
            "columns": other.stages[0]["columns"]}
    if draws:
        out["peer_random_draw"] = peer(pool, spec, draws)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--draws", type=int, default=100, help="peer draws per blueprint")
    args = parser.parse_args()
    started = time.perf_counter()
    report = {
        "benchmark": "assembly", "python": platform.python_version(), "scipy": scipy.__version__,
        "numpy": np.__version__, "cpus": os.cpu_count(), "load_1min_start": round(os.getloadavg()[0], 2),
        "cases": {},
    }
    for name, blueprint, pool, overrides, forms, target in cases():
        report["cases"][name] = run_case(name, blueprint, pool, overrides, forms, target, args.draws)
    report["all_targets_met"] = all(c["under_target"] and c["all_rules_hold"] for c in report["cases"].values())
    report["load_1min_end"] = round(os.getloadavg()[0], 2)
    report["total_seconds"] = round(time.perf_counter() - started, 2)
    print(json.dumps(report, ensure_ascii=False, separators=(",", ":")))


if __name__ == "__main__":
    main()
