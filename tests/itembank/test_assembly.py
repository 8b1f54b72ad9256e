"""Automated test assembly (自动组卷): allocation, the integer programme, verification, reasons.

Every solved case is judged twice: by :func:`verify_forms` and by an independent recount written
here from the pool's arrays, so a bug shared by the engine and its verifier still fails.
"""

from __future__ import annotations

import math
from collections import Counter
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itembank.assembly import (
    AssemblyInfeasible, AssemblySpecError, AssemblyTimeLimit, Conflict, ExposurePolicy,
    InformationTarget, ItemPool, Shortfall, assemble_forms, item_information, largest_remainder,
    spec_from_blueprint, validate_spec, verify_forms, with_options,
)
from itembank.assembly import assemble as assemble_module
from itembank.assembly.model import Solution
from itembank.assembly.synthetic import enemy_pairs, synthetic_blueprint, synthetic_pool
from itembank.blueprint import load_blueprint
from itembank.errors import InvalidValue, ItemBankError

BLUEPRINTS = Path(__file__).resolve().parents[2] / "blueprints"
SMALL_TYPES = (("true_false", 4, 1.0), ("single_choice", 12, 1.0), ("multiple_choice", 4, 1.0))


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_blueprint():
    """20 elements under 4 leaf scopes, 20-item papers, at most 2 items per element."""
    return synthetic_blueprint(20, top=2, children=2, item_types=SMALL_TYPES,
                               max_items_per_element=2, difficulty_tolerance=0.03, seed=4)


@pytest.fixture(scope="module")
def small_pool(small_blueprint):
    return synthetic_pool(small_blueprint, 600, seed=1, unusable_share=0.1)


@pytest.fixture(scope="module")
def scope_blueprint():
    """60 elements, 20-item papers, one item per element: counts go to the 4 leaf scopes."""
    return synthetic_blueprint(60, top=2, children=2, item_types=SMALL_TYPES,
                               max_items_per_element=1, min_element_coverage=0.3,
                               difficulty_tolerance=0.03, seed=5)


@pytest.fixture(scope="module")
def scope_pool(scope_blueprint):
    return synthetic_pool(scope_blueprint, 900, seed=2)


def tiny_bank(per_element=(2, 2, 2, 2, 2, 2, 1, 1)):
    """8 elements, 8-item papers (2 true/false, 4 single choice keyed A, B, C, D, 2 multiple
    choice), every item of difficulty 0.65: element k holds ``per_element[k]`` items."""
    blueprint = synthetic_blueprint(8, top=2, children=2,
                                    item_types=(("true_false", 2, 1.0), ("single_choice", 4, 1.0),
                                                ("multiple_choice", 2, 1.0)), max_items_per_element=1)
    codes = blueprint.element_codes
    types = ["true_false"] * 2 + ["single_choice"] * 4 + ["multiple_choice"] * 2
    keys = ["", "", "A", "B", "C", "D", "", ""]
    rows = [(k, j) for k, count in enumerate(per_element) for j in range(count)]
    pool = ItemPool(ids=[100 * (k + 1) + j for k, j in rows], item_type=[types[k] for k, _ in rows],
                    element=[codes[k] for k, _ in rows], difficulty=[0.65] * len(rows),
                    key=[keys[k] for k, _ in rows])
    return blueprint, pool


def spec_for(blueprint, forms=1, **overrides):
    overrides.setdefault("seed", 11)
    overrides.setdefault("time_limit", 20)
    return spec_from_blueprint(blueprint, forms=forms, overrides=overrides)


def recount(pool: ItemPool, spec, forms) -> None:
    """Check every rule from the raw arrays, without :func:`verify_forms`."""
    where = {int(i): k for k, i in enumerate(pool.ids)}
    element_scope = {e: t for t in spec.scope_targets for e in t.elements}
    seen_pairs = []
    for form in forms:
        assert len(form) == len(set(form)) == spec.item_count
        rows = [where[i] for i in form]
        assert all(pool.approved[r] and not pool.retired[r] for r in rows)
        types = Counter(pool.item_type[r] for r in rows)
        assert types == Counter({t: n for t, n in spec.type_counts if n})
        scopes = Counter(element_scope[pool.element[r]].code for r in rows)
        assert scopes == Counter({t.code: t.count for t in spec.scope_targets if t.count})
        elements = Counter(pool.element[r] for r in rows)
        assert max(elements.values()) <= spec.max_items_per_element
        assert len(elements) >= math.ceil(spec.min_element_coverage * len(spec.elements) - 1e-9)
        points = [spec.points_of(pool.item_type[r]) if spec.difficulty_weighting == "points" else 1.0
                  for r in rows]
        mean = sum(w * pool.difficulty[r] for w, r in zip(points, rows)) / sum(points)
        assert abs(mean - spec.target_difficulty) <= spec.difficulty_tolerance + 1e-9
        keys = Counter(pool.key[r] for r in rows if pool.item_type[r] == "single_choice")
        n_sc = types["single_choice"]
        low, high = spec.key_balance_band
        for letter in "ABCD":
            assert low * n_sc - 1e-9 <= keys[letter] <= high * n_sc + 1e-9
        for group in spec.enemy_groups:
            assert len(group & set(form)) <= 1
        seen_pairs.append(set(form))
    for a, b in combinations(seen_pairs, 2):
        assert len(a & b) <= spec.max_overlap


def assert_all_ok(pool, spec, forms):
    failed = [str(check) for check in verify_forms(pool, spec, forms) if not check.ok]
    assert failed == []
    recount(pool, spec, forms)


# --------------------------------------------------------------------------------------------
# Largest remainder
# --------------------------------------------------------------------------------------------

def test_largest_remainder_known_values():
    # Quotas 3.5, 2.1, 1.4: floors 3, 2, 1 and the one seat left to the largest remainder.
    assert largest_remainder([5, 3, 2], 7).tolist() == [4, 2, 1]
    # Equal remainders: the larger weight wins, then the earlier position.
    assert largest_remainder([1, 3], 2).tolist() == [0, 2]
    assert largest_remainder([1, 1, 2, 2], 3).tolist() == [1, 0, 1, 1]
    assert largest_remainder([1, 1, 1], 2).tolist() == [1, 1, 0]
    # Float noise below 1e-9 does not decide a tie.
    assert largest_remainder([0.1 + 0.2, 0.3], 1).tolist() == [1, 0]
    assert largest_remainder([2, 1], 0).tolist() == [0, 0]


def test_largest_remainder_caps_reapportion_the_excess():
    # Uncapped: [4, 1, 1]; the first part is capped at 2 and its 2 extra seats go to the rest.
    assert largest_remainder([4, 1, 1], 6).tolist() == [4, 1, 1]
    assert largest_remainder([4, 1, 1], 6, caps=[2, 5, 5]).tolist() == [2, 2, 2]
    with pytest.raises(ValueError):
        largest_remainder([1, 1], 5, caps=[2, 2])
    with pytest.raises(ValueError):
        largest_remainder([0, 0], 1)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=40), st.integers(0, 300))
def test_largest_remainder_properties(weights, total):
    if sum(weights) <= 0:
        weights = [w + 1 for w in weights]
    counts = largest_remainder(weights, total)
    assert counts.sum() == total
    quotas = np.array(weights) / sum(weights) * total
    assert np.all(counts >= np.floor(quotas - 1e-6)) and np.all(counts <= np.ceil(quotas + 1e-6))
    assert counts.tolist() == largest_remainder(list(weights), total).tolist()   # deterministic


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(0.01, 50, allow_nan=False), st.integers(0, 6)), min_size=1,
                max_size=30), st.integers(0, 100))
def test_largest_remainder_with_caps_properties(parts, total):
    weights, caps = zip(*parts)
    total = min(total, sum(caps))
    counts = largest_remainder(weights, total, caps=caps)
    assert counts.sum() == total
    assert np.all(counts <= np.array(caps)) and np.all(counts >= 0)


# --------------------------------------------------------------------------------------------
# Spec from a blueprint, bad input
# --------------------------------------------------------------------------------------------

def test_shipped_blueprint_is_cut_at_the_deepest_scope_layer_that_fits():
    blueprint = load_blueprint(BLUEPRINTS / "4-03-02-01_L4_theory.toml")
    spec = spec_from_blueprint(blueprint, forms=2)
    # 149 elements > 90 items; the third scope layer has 17 nodes.
    assert spec.allocation_layer == "scope depth 3 (17 nodes)"
    assert sum(t.count for t in spec.scope_targets) == spec.item_count == 90
    for target in spec.scope_targets:
        quota = target.weight * 90 / 100
        assert math.floor(quota + 1e-9) <= target.count <= math.ceil(quota - 1e-9)
    assert spec.coverage_needed == 75 and spec.max_items_per_element == 1
    assert dict(spec.type_points)["multiple_choice"] == 2.0


def test_elements_layer_when_the_elements_fit(small_blueprint):
    spec = spec_from_blueprint(small_blueprint)
    assert spec.allocation_layer == "elements (20 nodes)"
    assert all(t.elements == (t.code,) and t.count <= 2 for t in spec.scope_targets)
    top = spec_from_blueprint(small_blueprint, overrides={"allocation_layer": 1})
    assert [t.code for t in top.scope_targets] == ["A", "B"]


def test_uneven_tree_layers_are_cuts():
    from itembank.blueprint import Blueprint, Element, ItemTypeSpec, PaperSpec, ScopeNode
    from itembank.levels import Level

    def elements(code, n, weight):
        return tuple(Element(f"{code}-{i:03d}", "", weight / n, "X") for i in range(1, n + 1))

    scope = (ScopeNode("A", "", 60, children=(
                ScopeNode("A-01", "", 20, elements=elements("A-01", 4, 20)),
                ScopeNode("A-02", "", 40, children=(
                    ScopeNode("A-02-01", "", 25, elements=elements("A-02-01", 5, 25)),
                    ScopeNode("A-02-02", "", 15, elements=elements("A-02-02", 3, 15)))))),
             ScopeNode("B", "", 40, elements=elements("B", 6, 40)))
    paper = PaperSpec(duration_minutes=90, item_types=(ItemTypeSpec("true_false", 10, 10.0),),
                      min_element_coverage=0.3)
    blueprint = Blueprint("4-03-02-01", "x", Level.L4, "theory", "s", "t", scope, paper)
    spec = spec_from_blueprint(blueprint)
    # 18 elements > 10 items; the deepest cut is A-01, A-02-01, A-02-02 and the leaf B.
    assert spec.allocation_layer == "scope depth 3 (4 nodes)"
    assert [(t.code, t.count, len(t.elements)) for t in spec.scope_targets] == [
        ("A-01", 2, 4), ("A-02-01", 3, 5), ("A-02-02", 1, 3), ("B", 4, 6)]
    spec = spec_from_blueprint(blueprint, overrides={"allocation_layer": 2})
    assert [t.code for t in spec.scope_targets] == ["A-01", "A-02", "B"]


def test_shipped_blueprint_assembles_from_a_synthetic_bank():
    blueprint = load_blueprint(BLUEPRINTS / "4-03-02-01_L4_theory.toml")
    pool = synthetic_pool(blueprint, 149 * 6, seed=3)
    for weighting in ("points", "items"):
        spec = spec_for(blueprint, forms=2, difficulty_weighting=weighting)
        result = assemble_forms(pool, spec)
        assert_all_ok(pool, spec, result.forms)
        assert all(len(form) == 90 for form in result.forms)


def test_skill_blueprint_has_nothing_to_assemble():
    blueprint = load_blueprint(BLUEPRINTS / "6-18-01-01_L4_skill.toml")
    with pytest.raises(AssemblySpecError) as caught:
        spec_from_blueprint(blueprint)
    assert caught.value.code == "assembly.no_item_types"


def test_contradictory_overrides_are_all_reported(small_blueprint):
    with pytest.raises(AssemblySpecError) as caught:
        spec_from_blueprint(small_blueprint, overrides={"type_counts": {"true_false": 9}, "colour": 1})
    codes = {p.code for p in caught.value.problems}
    assert codes == {"assembly.override_unknown", "assembly.points_total"}
    assert "25 points" in caught.value.message_en and "20" in caught.value.message_en
    with pytest.raises(AssemblySpecError) as caught:
        spec_for(small_blueprint, key_balance_band=(0.3, 0.2), difficulty_tolerance=-0.1,
                 min_element_coverage=1.5)
    assert {p.field for p in caught.value.problems} == {
        "key_balance_band", "difficulty_tolerance", "min_element_coverage"}
    assert isinstance(caught.value, InvalidValue) and isinstance(caught.value, ItemBankError)
    for forms, overrides, code in ((0, {}, "assembly.forms"),
                                   (1, {"max_items_per_element": "2"}, "assembly.max_per_element"),
                                   (1, {"allocation_layer": 7}, "assembly.allocation_layer"),
                                   (1, {"strategy": "guess"}, "assembly.strategy")):
        with pytest.raises(AssemblySpecError) as caught:
            spec_from_blueprint(small_blueprint, forms=forms, overrides=overrides)
        assert caught.value.code == code


def test_counts_that_cannot_add_up(small_blueprint):
    spec = spec_for(small_blueprint)
    targets = list(spec.scope_targets)
    targets[0] = type(targets[0])(targets[0].code, "", targets[0].elements, targets[0].count + 1)
    with pytest.raises(AssemblySpecError) as caught:
        with_options(spec, scope_targets=tuple(targets))
    assert caught.value.code == "assembly.scope_total"
    assert any(t.count == 0 for t in spec.scope_targets)
    with pytest.raises(AssemblySpecError) as caught:
        spec_for(small_blueprint, min_element_coverage=1.0, max_items_per_element=2)
    # 20 elements, 20 items: covering all is possible only with one item each, but the
    # element counts give some elements 2 and others none.
    assert caught.value.code == "assembly.coverage_allocation"
    blueprint = load_blueprint(BLUEPRINTS / "4-03-02-01_L4_theory.toml")
    with pytest.raises(AssemblySpecError) as caught:
        spec_from_blueprint(blueprint, overrides={"min_element_coverage": 0.9})
    assert caught.value.code == "assembly.coverage_length"
    assert "135" in caught.value.message_en and "90 items" in caught.value.message_en


@pytest.mark.parametrize("limit", [0, -1, float("nan")])
def test_time_limit_must_be_positive(small_blueprint, small_pool, limit):
    with pytest.raises(AssemblySpecError) as caught:
        spec_for(small_blueprint, time_limit=limit)
    assert caught.value.code == "assembly.time_limit"
    assert "时限" in caught.value.message and "time limit" in caught.value.message_en
    # A spec built by hand is validated again before anything is solved.
    spec = spec_for(small_blueprint)
    object.__setattr__(spec, "time_limit", limit)
    with pytest.raises(AssemblySpecError):
        assemble_forms(small_pool, spec)


def test_item_pool_rejects_bad_arrays():
    with pytest.raises(InvalidValue):
        ItemPool(ids=[1, 1], item_type=["true_false"] * 2, element=["A-01-001"] * 2, difficulty=[0.5, 0.5])
    with pytest.raises(InvalidValue):
        ItemPool(ids=[1], item_type=["true_false"], element=["A-01-001"], difficulty=[1.5])
    with pytest.raises(InvalidValue):
        ItemPool(ids=[1, 2], item_type=["true_false"], element=["A-01-001"] * 2, difficulty=[0.5, 0.5])
    pool = ItemPool.from_records([{"id": 7, "item_type": "single_choice", "element": "A", "difficulty": 0.4,
                                   "key": "B"}, {"id": 8, "item_type": "true_false", "element": "A"}])
    assert pool.key.tolist() == ["B", ""] and math.isnan(pool.difficulty[1])


# --------------------------------------------------------------------------------------------
# Assembled forms satisfy every rule
# --------------------------------------------------------------------------------------------

def test_every_rule_holds_on_a_synthetic_bank(small_blueprint, small_pool):
    spec = spec_for(small_blueprint, forms=3)
    result = assemble_forms(small_pool, spec)
    assert result.status == "optimal" and result.ok and result.seed == 11
    assert len(result.forms) == 3
    assert [s["stage"] for s in result.stages] == ["union", "split", "split"]
    assert_all_ok(small_pool, spec, result.forms)
    assert result.excluded["not_approved"] + result.excluded["retired"] > 0
    for form, mean in zip(result.forms, result.difficulty):
        assert abs(mean - spec.target_difficulty) <= spec.difficulty_tolerance
    # Deterministic order: the spec's types, then the blueprint's element order, then id.
    type_rank = {t: k for k, (t, _) in enumerate(spec.type_counts)}
    where = {int(i): k for k, i in enumerate(small_pool.ids)}
    for form in result.forms:
        keys = [(type_rank[small_pool.item_type[where[i]]],
                 spec.elements.index(small_pool.element[where[i]]), i) for i in form]
        assert keys == sorted(keys)


def test_scope_layer_allocation_and_coverage(scope_blueprint, scope_pool):
    spec = spec_for(scope_blueprint, forms=2, strategy="simultaneous")
    assert spec.allocation_layer.startswith("scope depth 2")
    result = assemble_forms(scope_pool, spec)
    assert [s["stage"] for s in result.stages] == ["simultaneous"]
    assert_all_ok(scope_pool, spec, result.forms)


def test_coverage_with_several_items_per_element(scope_blueprint, scope_pool):
    spec = spec_for(scope_blueprint, forms=2, max_items_per_element=3, min_element_coverage=0.25)
    result = assemble_forms(scope_pool, spec)
    assert_all_ok(scope_pool, spec, result.forms)
    assert {c.rule for c in result.checks} >= {"coverage", "element_max", "key_balance", "overlap"}


def test_enemies_never_stand_together(small_blueprint, small_pool):
    groups = enemy_pairs(small_pool, 150, seed=2)
    # Plus bigger groups: every single-choice item of four elements.
    for code in small_blueprint.element_codes[:4]:
        members = small_pool.ids[(small_pool.element == code) & (small_pool.item_type == "single_choice")]
        groups.append(frozenset(int(i) for i in members))
    spec = spec_for(small_blueprint, forms=3, enemy_groups=groups)
    result = assemble_forms(small_pool, spec)
    assert_all_ok(small_pool, spec, result.forms)
    for form in result.forms:
        assert all(len(set(form) & group) <= 1 for group in groups)


def test_no_overlap_by_default_and_configured_overlap():
    blueprint, pool = tiny_bank()
    # Elements 7 and 8 have one item each: two forms without shared items are impossible.
    with pytest.raises(AssemblyInfeasible) as caught:
        assemble_forms(pool, spec_for(blueprint, forms=2))
    short = caught.value.explanations
    assert all(isinstance(s, Shortfall) for s in short)
    assert {(s.rule, s.type, s.element, s.have, s.need) for s in short} == {
        ("type_count", "multiple_choice", None, 2, 4),
        ("scope_count", None, blueprint.element_codes[6], 1, 2),
        ("scope_count", None, blueprint.element_codes[7], 1, 2)}
    assert all("2 forms" in s.message_en and "2 套" in s.message for s in short)
    spec = spec_for(blueprint, forms=2, max_overlap=2)
    result = assemble_forms(pool, spec)
    assert_all_ok(pool, spec, result.forms)
    assert len(set(result.forms[0]) & set(result.forms[1])) == 2
    # One shared item is not enough: the solver proves it and the relaxation names the rule.
    with pytest.raises(AssemblyInfeasible) as caught:
        assemble_forms(pool, spec_for(blueprint, forms=2, max_overlap=1))
    conflict = caught.value.explanations[0]
    assert isinstance(conflict, Conflict) and conflict.rules[0] == "overlap"
    assert conflict.have == 2 and conflict.need == 1
    assert "重复" in conflict.message and "share at most 1" in conflict.message_en


def test_exposure_exclusion(small_blueprint, small_pool):
    rng = np.random.default_rng(5)
    recent = np.where(rng.random(len(small_pool)) < 0.3, 1.0, np.inf)
    pool = ItemPool(**{**_arrays(small_pool), "sessions_since_use": recent})
    spec = spec_for(small_blueprint, forms=2, exposure=ExposurePolicy(recent_sessions=2))
    result = assemble_forms(pool, spec)
    assert result.excluded["exposure"] > 0
    used = np.isin(pool.ids, np.concatenate(result.forms))
    assert not np.any(used & np.isfinite(recent))
    assert_all_ok(pool, spec, result.forms)
    # Penalised instead of excluded: the bank is ample, so no flagged item is needed.
    rates = rng.random(len(small_pool)) * 0.4
    pool = ItemPool(**{**_arrays(small_pool), "exposure_rate": rates})
    spec = spec_for(small_blueprint, exposure={"max_rate": 0.2, "action": "penalise"})
    result = assemble_forms(pool, spec)
    assert result.excluded["exposure"] == 0
    assert np.all(rates[np.isin(pool.ids, result.forms[0])] <= 0.2)
    # Excluded items are a rule: verify_forms flags a form that uses one.
    strict = with_options(spec, exposure=ExposurePolicy(max_rate=0.2))
    eligible = next(c for c in verify_forms(pool, strict, [pool.ids[rates > 0.2][:20].tolist()])
                    if c.rule == "eligible")
    assert not eligible.ok


def test_exposure_exclusion_can_leave_an_element_short():
    blueprint, pool = tiny_bank()
    recent = np.where(np.isin(pool.ids, [100, 101]), 1.0, np.inf)   # both items of element 1
    pool = ItemPool(**{**_arrays(pool), "sessions_since_use": recent})
    assert assemble_forms(pool, spec_for(blueprint, exposure=ExposurePolicy(recent_sessions=0))).ok
    with pytest.raises(AssemblyInfeasible) as caught:
        assemble_forms(pool, spec_for(blueprint, exposure=ExposurePolicy(recent_sessions=3)))
    reasons = caught.value.explanations
    element = next(r for r in reasons if r.rule == "scope_count")
    assert (element.element, element.have, element.need) == (blueprint.element_codes[0], 0, 1)
    # The message says why the bank's two items of the element do not count.
    assert "2 recently used or over-exposed" in caught.value.message_en
    assert "2 道近期已使用或曝光率过高" in caught.value.message


def _arrays(pool: ItemPool) -> dict:
    return {name: getattr(pool, name) for name in (
        "ids", "item_type", "element", "difficulty", "calibrated", "key", "approved", "retired",
        "irt_a", "irt_b", "irt_c", "sessions_since_use", "exposure_rate")}


def test_only_approved_unretired_items(small_blueprint, small_pool):
    result = assemble_forms(small_pool, spec_for(small_blueprint, forms=2))
    used = np.isin(small_pool.ids, np.concatenate(result.forms))
    assert np.all(small_pool.approved[used]) and not np.any(small_pool.retired[used])


# --------------------------------------------------------------------------------------------
# Seeds
# --------------------------------------------------------------------------------------------

def test_seeds_are_reproducible_and_different_seeds_differ(small_blueprint, small_pool):
    first = assemble_forms(small_pool, spec_for(small_blueprint, forms=2, seed=3))
    again = assemble_forms(small_pool, spec_for(small_blueprint, forms=2, seed=3))
    other = assemble_forms(small_pool, spec_for(small_blueprint, forms=2, seed=4))
    assert first.forms == again.forms
    assert first.forms != other.forms
    # The caller's row order does not matter either.
    order = np.random.default_rng(0).permutation(len(small_pool))
    shuffled = ItemPool(**{k: (v[order] if v is not None else None) for k, v in _arrays(small_pool).items()})
    assert assemble_forms(shuffled, spec_for(small_blueprint, forms=2, seed=3)).forms == first.forms


def test_without_a_seed_the_result_reports_the_one_drawn(small_blueprint, small_pool):
    spec = spec_from_blueprint(small_blueprint, overrides={"time_limit": 20})
    result = assemble_forms(small_pool, spec)
    repeat = assemble_forms(small_pool, with_options(spec, seed=result.seed))
    assert repeat.forms == result.forms


# --------------------------------------------------------------------------------------------
# Information
# --------------------------------------------------------------------------------------------

def test_item_information_matches_the_textbook_form():
    a, b, c = np.array([1.0, 1.5, 0.8]), np.array([0.0, 0.5, -1.0]), np.array([0.0, 0.2, 0.25])
    theta = np.array([-1.0, 0.0, 1.2])
    got = item_information(a, b, c, theta, scaling=1.7)
    # Lord (1980) eq. 5-19 in the other common form: D²a²(1-c) / ((c + e^L)(1 + e^-L)²).
    L = 1.7 * a[:, None] * (theta[None, :] - b[:, None])
    expected = 1.7 ** 2 * a[:, None] ** 2 * (1 - c[:, None]) / ((c[:, None] + np.exp(L)) * (1 + np.exp(-L)) ** 2)
    assert np.allclose(got, expected)
    assert item_information(np.array([1.0]), np.array([0.0]), np.array([0.0]), np.array([0.0]))[0, 0] == pytest.approx(0.25)
    assert item_information(np.array([np.nan]), np.array([0.0]), np.array([0.0]), np.array([0.0]))[0, 0] == 0


def test_maximin_information_beats_random_forms(small_blueprint, small_pool):
    thetas = (-1.0, 0.0, 1.0)
    base = spec_for(small_blueprint, forms=2)
    plain = assemble_forms(small_pool, base)
    spec = with_options(base, information=InformationTarget(thetas))
    best = assemble_forms(small_pool, spec)
    assert_all_ok(small_pool, spec, best.forms)
    info = small_pool.information(thetas)
    where = {int(i): k for k, i in enumerate(small_pool.ids)}

    def worst(forms):
        return min(info[[where[i] for i in form]].sum(axis=0).min() for form in forms)

    assert worst(best.forms) > worst(plain.forms) * 1.1
    assert np.allclose(np.min(best.information), worst(best.forms), atol=1e-5)


# --------------------------------------------------------------------------------------------
# Reasons in domain words
# --------------------------------------------------------------------------------------------

def test_empty_bank(small_blueprint):
    empty = ItemPool(ids=[], item_type=[], element=[], difficulty=[])
    with pytest.raises(AssemblyInfeasible) as caught:
        assemble_forms(empty, spec_for(small_blueprint, forms=2))
    reasons = caught.value.explanations
    assert [(r.rule, r.type, r.have, r.need) for r in reasons] == [
        ("pool", "true_false", 0, 8), ("pool", "single_choice", 0, 24), ("pool", "multiple_choice", 0, 8)]
    assert "单选题" in reasons[1].message and "no usable approved single-choice" in reasons[1].message_en


def test_unapproved_bank_says_why_items_were_left_out(small_blueprint, small_pool):
    pool = ItemPool(**{**_arrays(small_pool), "approved": np.zeros(len(small_pool), bool)})
    with pytest.raises(AssemblyInfeasible) as caught:
        assemble_forms(pool, spec_for(small_blueprint))
    assert "not approved" in caught.value.message_en and "未审核通过" in caught.value.message


def test_one_element_short(small_blueprint, small_pool):
    spec = spec_for(small_blueprint, forms=2)
    target = next(t for t in spec.scope_targets if t.count == 2)
    keep = np.flatnonzero(small_pool.element == target.code)[:3]
    drop = (small_pool.element == target.code) & ~np.isin(np.arange(len(small_pool)), keep)
    pool = ItemPool(**{**_arrays(small_pool), "retired": small_pool.retired | drop})
    have = int(np.sum((pool.element == target.code) & pool.approved & ~pool.retired))
    with pytest.raises(AssemblyInfeasible) as caught:
        assemble_forms(pool, spec)
    (reason,) = caught.value.explanations
    assert isinstance(reason, Shortfall) and reason.rule == "scope_count"
    assert (reason.element, reason.have, reason.need) == (target.code, have, 4)
    assert target.code in reason.message and "需要 4 道" in reason.message
    assert f"the bank has {have}" in reason.message_en


def test_difficulty_unreachable_with_the_banks_mean(small_blueprint):
    hard = synthetic_pool(small_blueprint, 600, seed=1, mean_difficulty=0.42, concentration=80)
    with pytest.raises(AssemblyInfeasible) as caught:
        assemble_forms(hard, spec_for(small_blueprint))
    (conflict,) = caught.value.explanations
    assert isinstance(conflict, Conflict) and conflict.rules[0] == "difficulty"
    assert conflict.have < conflict.need == pytest.approx(0.62)
    assert "0.65 ± 0.03" in conflict.message_en and "average 0.4" in conflict.message_en
    assert conflict.type is not None and conflict.scope is not None
    assert "难度 0.65 ± 0.03 无法满足" in conflict.message


def test_key_balance_and_difficulty_conflict_found_by_the_relaxation():
    # Counting alone passes. The only item keyed D is very hard; the key balance (exactly one
    # of each letter among 4 single-choice items) forces it in, and the difficulty band cannot
    # hold with it.
    blueprint, pool = tiny_bank()
    keys = np.where(pool.ids == 600, "D", np.where(pool.ids == 601, "C", pool.key))
    difficulty = np.where(pool.ids == 600, 0.05, 0.7)
    pool = ItemPool(**{**_arrays(pool), "key": keys, "difficulty": difficulty})
    spec = spec_for(blueprint, target_difficulty=0.695, difficulty_tolerance=0.01)
    with pytest.raises(AssemblyInfeasible) as caught:
        assemble_forms(pool, spec)
    conflicts = caught.value.explanations
    assert all(isinstance(c, Conflict) and c.rules == ("key_balance", "difficulty") for c in conflicts)
    assert any("keyed D" in c.message_en and "答案为 D" in c.message for c in conflicts)
    assert "the difficulty band" in conflicts[0].message_en


def test_enemy_conflict_is_named():
    # Each form needs one item of every element; the enemy group holds both items of the
    # elements 3 and 4, so a paper cannot take one of each.
    blueprint, pool = tiny_bank()
    assert assemble_forms(pool, spec_for(blueprint, enemy_groups=[{300, 301}])).ok
    with pytest.raises(AssemblyInfeasible) as caught:
        assemble_forms(pool, spec_for(blueprint, enemy_groups=[{300, 301, 400, 401}]))
    (conflict,) = caught.value.explanations
    assert conflict.rules[0] == "enemy" and conflict.have == 2 and conflict.need == 1
    assert "300, 301, 400, 401" in conflict.message_en and "互斥组" in conflict.message
    # Two forms: already the union of both is impossible, and is what gets explained.
    with pytest.raises(AssemblyInfeasible) as caught:
        assemble_forms(pool, spec_for(blueprint, forms=2, max_overlap=8,
                                      enemy_groups=[{300, 301, 400, 401}]))
    (conflict,) = caught.value.explanations
    assert conflict.rules[0] == "enemy" and (conflict.have, conflict.need) == (2, 1)
    tiny2 = tiny_bank((4,) * 8)
    with pytest.raises(AssemblyInfeasible) as caught:
        assemble_forms(tiny2[1], spec_for(tiny2[0], forms=2, enemy_groups=[
            {300, 301, 302, 303, 400, 401, 402, 403}]))
    (conflict,) = caught.value.explanations
    assert conflict.rules[0] == "enemy" and (conflict.have, conflict.need) == (4, 2)
    assert "the 2 forms together" in conflict.message_en and "2 套试卷合计" in conflict.message


# --------------------------------------------------------------------------------------------
# Time limits
# --------------------------------------------------------------------------------------------

def test_time_limited_run_is_marked(small_blueprint, small_pool, monkeypatch):
    real = assemble_module.solve

    def stopped_early(model, **kwargs):
        sol = real(model, **kwargs)
        return Solution(1, sol.x, sol.objective, 0.05, sol.seconds, "Time limit reached.")

    monkeypatch.setattr(assemble_module, "solve", stopped_early)
    spec = spec_for(small_blueprint, forms=2)
    result = assemble_forms(small_pool, spec)
    assert result.status == "feasible_time_limit" and result.gap == 0.05
    assert_all_ok(small_pool, spec, result.forms)

    def nothing_found(model, **kwargs):
        return Solution(1, None, None, None, 0.0, "Time limit reached.")

    monkeypatch.setattr(assemble_module, "solve", nothing_found)
    with pytest.raises(AssemblyTimeLimit) as caught:
        assemble_forms(small_pool, spec)
    assert "20 s" in caught.value.message_en and "20 秒" in caught.value.message


def test_real_time_limit_returns_feasible_forms_or_a_clear_error():
    # Maximin information with a zero gap on 2,000 items is not proved optimal in one second;
    # HiGHS stops with the best forms found (or, on a very busy machine, with none).
    blueprint = synthetic_blueprint(50, max_items_per_element=3, difficulty_tolerance=0.02, seed=1)
    pool = synthetic_pool(blueprint, 2000, seed=1)
    spec = spec_for(blueprint, information={"thetas": (-1.0, 0.0, 1.0)}, mip_rel_gap=0.0, time_limit=1.0)
    try:
        result = assemble_forms(pool, spec)
    except AssemblyTimeLimit as exc:
        assert "1 s" in exc.message_en
    else:
        assert result.status == "feasible_time_limit" or result.gap == 0
        assert result.seconds < 3
        assert_all_ok(pool, spec, result.forms)


# --------------------------------------------------------------------------------------------
# The verifier itself
# --------------------------------------------------------------------------------------------

def test_verify_forms_catches_broken_forms(small_blueprint, small_pool):
    spec = spec_for(small_blueprint, forms=2, enemy_groups=[{1, 2}])
    good = assemble_forms(small_pool, spec).forms
    failures = lambda forms: {c.rule for c in verify_forms(small_pool, spec, forms) if not c.ok}  # noqa: E731
    assert failures(good) == set()
    assert "items" in failures([good[0][:-1], good[1]])
    assert "items" in failures([good[0][:-1] + [good[0][0]], good[1]])
    assert "overlap" in failures([good[0], good[0]])
    assert "items" in failures([good[0][:-1] + [999_999], good[1]])
    unapproved = int(small_pool.ids[~small_pool.approved][0])
    assert "eligible" in failures([good[0][:-1] + [unapproved], good[1]])
    assert "enemy" in failures([[1, 2] + good[0][2:], good[1]])


def test_validate_spec_accepts_what_spec_from_blueprint_builds(small_blueprint):
    validate_spec(spec_for(small_blueprint, forms=3, max_overlap=2,
                           exposure={"recent_sessions": 2, "max_rate": 0.3, "action": "penalise"},
                           information={"thetas": [0.0], "weights": [1.0]}))
