"""Drawing task sets of skill papers from module pools (draw_task_sets)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from itembank.assembly.tasks import TaskDrawError, draw_task_sets
from itembank.blueprint import SkillModule, SkillTask, load_blueprint

BLUEPRINTS = Path(__file__).resolve().parents[2] / "blueprints"


def _pools(sizes_and_draws: list[tuple[int, int]]) -> list[tuple[SkillModule, tuple[SkillTask, ...]]]:
    pools = []
    for m, (size, draw) in enumerate(sizes_and_draws):
        code = f"M{m + 1}"
        pools.append((SkillModule(code, f"模块{m + 1}", draw),
                      tuple(SkillTask(f"{code}-T{i}", "t", ("A",), 10, 10.0, module=code) for i in range(size))))
    return pools


@st.composite
def draws(draw):
    modules = draw(st.lists(st.tuples(st.integers(1, 6), st.integers(1, 3)), min_size=1, max_size=4))
    modules = [(size, min(d, size)) for size, d in modules]
    return _pools(modules), draw(st.integers(1, 4)), draw(st.integers(0, 2**32))


@given(draws())
def test_sets_are_reproducible_complete_and_disjoint_where_the_pools_allow(case):
    pools, forms, seed = case
    feasible = all(len(pool) >= module.draw * forms for module, pool in pools)
    if not feasible:
        with pytest.raises(TaskDrawError) as info:
            draw_task_sets(pools, forms, seed)
        short = {r.module for r in info.value.reasons}
        assert short == {m.code for m, pool in pools if len(pool) < m.draw * forms}
        sets = draw_task_sets(pools, forms, seed, allow_overlap=True)
    else:
        sets = draw_task_sets(pools, forms, seed)
    assert sets == draw_task_sets(pools, forms, seed, allow_overlap=not feasible)
    assert len(sets) == forms
    for chosen in sets:
        assert len({t.code for t in chosen}) == len(chosen)  # never a task twice in one set
        per_module = Counter(t.module for t in chosen)
        assert per_module == {m.code: m.draw for m, _ in pools}
        assert [t.module for t in chosen] == sorted((t.module for t in chosen), key=lambda c: int(c[1:]))
    uses = Counter(t.code for chosen in sets for t in chosen)
    for module, pool in pools:
        counts = [uses[t.code] for t in pool]
        if feasible:
            assert max(counts) <= 1
        else:  # overlap spread evenly over the pool
            assert max(counts) - min(counts) <= 1


def test_different_seeds_draw_different_sets():
    pools = _pools([(6, 1), (6, 2)])
    seen = {tuple(t.code for t in draw_task_sets(pools, 1, seed)[0]) for seed in range(20)}
    assert len(seen) > 5


def test_reasons_name_module_pool_and_need_in_both_languages():
    pools = _pools([(3, 1), (3, 2)])
    with pytest.raises(TaskDrawError) as info:
        draw_task_sets(pools, 2, seed=1)
    (reason,) = info.value.reasons
    assert (reason.module, reason.have, reason.need) == ("M2", 3, 4)
    assert "模块 M2（模块2）" in reason.message and "3 道" in reason.message and "4 道" in reason.message
    assert "module M2" in reason.message_en and "holds 3" in reason.message_en and "= 4" in reason.message_en
    assert info.value.message_en == reason.message_en


def test_a_draw_larger_than_the_pool_is_refused_even_with_overlap():
    with pytest.raises(TaskDrawError) as info:
        draw_task_sets(_pools([(1, 2)]), 1, seed=0, allow_overlap=True)
    assert (info.value.reasons[0].have, info.value.reasons[0].need) == (1, 2)
    with pytest.raises(ValueError):
        draw_task_sets(_pools([(2, 1)]), 0, seed=0)


def test_shipped_skill_blueprint_gives_two_sets_without_overlap():
    paper = load_blueprint(BLUEPRINTS / "6-18-01-01_L4_skill.toml").paper
    first, second = draw_task_sets(paper.task_pools(), 2, seed=2026)
    assert not {t.code for t in first} & {t.code for t in second}
    for chosen in (first, second):
        assert sum(t.points for t in chosen) == paper.total_points
        assert sum(t.time_minutes for t in chosen) <= paper.duration_minutes
    with pytest.raises(TaskDrawError):
        draw_task_sets(paper.task_pools(), 3, seed=2026)
