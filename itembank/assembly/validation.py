"""Checks that an assembly specification can describe a paper at all, whatever the bank holds."""

from __future__ import annotations

import math
from dataclasses import fields, replace
from typing import Any

import numpy as np

from itembank.assembly.spec import (
    DIFFICULTY_WEIGHTINGS, EXPOSURE_ACTIONS, STRATEGIES, AssemblySpec, AssemblySpecError,
)
from itembank.errors import InvalidValue

__all__ = ["validate_spec", "with_options"]


def _problem(field_: str, rule: str, zh: str, en: str) -> InvalidValue:
    return InvalidValue(field_, f"assembly.{rule}", zh, en)


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) \
        and math.isfinite(value)


def validate_spec(spec: AssemblySpec) -> None:
    """Check that ``spec`` can describe a paper at all, whatever the bank holds.

    Raises
    ------
    AssemblySpecError
        With every problem: a non-positive time limit, counts that do not add up, bands that no
        integer count satisfies, coverage or per-element limits that contradict the length ...
    """
    p: list[InvalidValue] = []
    if not _is_number(spec.time_limit) or spec.time_limit <= 0:
        p.append(_problem("time_limit", "time_limit",
                          f"组卷时限必须为正数（秒），而不是 {spec.time_limit!r}",
                          f"the time limit must be a positive number of seconds, not "
                          f"{spec.time_limit!r}"))
    if not _is_int(spec.forms) or spec.forms < 1:
        p.append(_problem("forms", "forms", f"平行试卷套数至少为 1，而不是 {spec.forms!r}",
                          f"the number of forms must be at least 1, not {spec.forms!r}"))
    types = [t for t, _ in spec.type_counts]
    if len(set(types)) != len(types):
        p.append(_problem("type_counts", "type_duplicate", "题型重复", "an item type is listed twice"))
    if any(not _is_int(n) or n < 0 for _, n in spec.type_counts):
        p.append(_problem("type_counts", "type_count", "每种题型的题量必须是非负整数",
                          "each item type's count must be a non-negative integer"))
    items = spec.item_count if not p else 0
    if not p and items < 1:
        p.append(_problem("type_counts", "empty_paper", "试卷题量为 0", "the paper has no items"))
    if len(set(spec.elements)) != len(spec.elements) or not spec.elements:
        p.append(_problem("elements", "elements", "鉴定点为空或重复",
                          "the element list is empty or has duplicates"))
    known = set(spec.elements)
    allocated = sum(t.count for t in spec.scope_targets)
    if any(not _is_int(t.count) or t.count < 0 for t in spec.scope_targets):
        p.append(_problem("scope_targets", "scope_count", "鉴定范围题量必须是非负整数",
                          "scope counts must be non-negative integers"))
    elif items and allocated != items:
        p.append(_problem("scope_targets", "scope_total",
                          f"各鉴定范围题量合计 {allocated} 题，与试卷题量 {items} 题不符",
                          f"the scope counts add up to {allocated} items, the paper has {items}"))
    seen: set[str] = set()
    for target in spec.scope_targets:
        if not set(target.elements) <= known or seen & set(target.elements):
            p.append(_problem("scope_targets", "scope_elements",
                              f"鉴定范围 {target.code} 的鉴定点不在蓝图中或与其他范围重叠",
                              f"scope {target.code} has elements outside the blueprint or "
                              f"shared with another scope"))
        seen |= set(target.elements)
    m = spec.max_items_per_element
    if not _is_int(m) or m < 1:
        p.append(_problem("max_items_per_element", "max_per_element",
                          f"每个鉴定点最多题数必须是正整数，而不是 {m!r}",
                          f"max items per element must be a positive integer, not {m!r}"))
    else:
        for target in spec.scope_targets:
            if _is_int(target.count) and target.count > m * len(target.elements):
                p.append(_problem(
                    "scope_targets", "scope_capacity",
                    f"鉴定范围 {spec.name_of(target.code)} 需 {target.count} 题，但其 "
                    f"{len(target.elements)} 个鉴定点每点最多 {m} 题",
                    f"scope {target.code} needs {target.count} items but its "
                    f"{len(target.elements)} element(s) take at most {m} each"))
    cov = spec.min_element_coverage
    if not _is_number(cov) or not 0 < cov <= 1:
        p.append(_problem("min_element_coverage", "coverage",
                          f"鉴定点覆盖率应在 (0, 1] 之间，而不是 {cov!r}",
                          f"min element coverage must lie in (0, 1], not {cov!r}"))
    elif items and spec.coverage_needed > items:
        p.append(_problem(
            "min_element_coverage", "coverage_length",
            f"覆盖 {cov:.0%} 的鉴定点需要 {spec.coverage_needed} 个不同鉴定点，试卷只有 {items} 题",
            f"covering {cov:.0%} of {len(spec.elements)} elements needs "
            f"{spec.coverage_needed} distinct elements, but the paper has {items} items"))
    elif items and all(_is_int(t.count) for t in spec.scope_targets):
        reachable = sum(min(t.count, len(t.elements)) for t in spec.scope_targets)
        if reachable < spec.coverage_needed:
            p.append(_problem(
                "min_element_coverage", "coverage_allocation",
                f"按鉴定范围分配的题量最多覆盖 {reachable} 个鉴定点，少于要求的 {spec.coverage_needed} 个",
                f"the scope counts can cover at most {reachable} elements, fewer than the "
                f"{spec.coverage_needed} required"))
    t, tol = spec.target_difficulty, spec.difficulty_tolerance
    if not _is_number(t) or not 0 < t < 1:
        p.append(_problem("target_difficulty", "difficulty",
                          f"目标难度应在 0 与 1 之间（答对比例），而不是 {t!r}",
                          f"the target difficulty (proportion correct) must lie in (0, 1), not {t!r}"))
    if not _is_number(tol) or tol < 0:
        p.append(_problem("difficulty_tolerance", "difficulty_tolerance",
                          f"难度容差不能为负，而不是 {tol!r}",
                          f"the difficulty tolerance must be non-negative, not {tol!r}"))
    if spec.difficulty_weighting not in DIFFICULTY_WEIGHTINGS:
        p.append(_problem("difficulty_weighting", "difficulty_weighting",
                          "难度加权方式应为 points 或 items", "difficulty weighting is points or items"))
    if not _is_number(spec.difficulty_weight) or spec.difficulty_weight < 0:
        p.append(_problem("difficulty_weight", "difficulty_weight", "难度偏差权重不能为负",
                          "the difficulty deviation weight must be non-negative"))
    band = spec.key_balance_band
    if len(band) != 2 or not all(_is_number(b) for b in band) or not 0 <= band[0] <= band[1] <= 1:
        p.append(_problem("key_balance_band", "key_band",
                          f"答案分布区间应满足 0 ≤ 下限 ≤ 上限 ≤ 1，而不是 {band!r}",
                          f"the key balance band needs 0 <= low <= high <= 1, not {band!r}"))
    elif spec.single_choice_count:
        low, high = spec.key_count_bounds
        n, k = spec.single_choice_count, len(spec.key_letters)
        if low > high or k * low > n or k * high < n:
            p.append(_problem(
                "key_balance_band", "key_band_counts",
                f"{n} 道单选题无法使每个答案字母的比例都在 {band[0]:.0%}–{band[1]:.0%} 之间",
                f"{n} single-choice items cannot give every key letter a share in "
                f"{band[0]:.0%}-{band[1]:.0%} (each letter needs {low}-{high} items)"))
    if not _is_int(spec.max_overlap) or spec.max_overlap < 0:
        p.append(_problem("max_overlap", "max_overlap",
                          f"试卷间重复题数上限必须是非负整数，而不是 {spec.max_overlap!r}",
                          f"the maximum overlap must be a non-negative integer, not "
                          f"{spec.max_overlap!r}"))
    if not _is_number(spec.mip_rel_gap) or spec.mip_rel_gap < 0:
        p.append(_problem("mip_rel_gap", "mip_rel_gap", "最优性间隙不能为负",
                          "the relative gap must be non-negative"))
    if spec.strategy not in STRATEGIES:
        p.append(_problem("strategy", "strategy", f"求解方式应为 {'、'.join(STRATEGIES)} 之一",
                          f"strategy must be one of {', '.join(STRATEGIES)}"))
    if spec.seed is not None and (not _is_int(spec.seed) or spec.seed < 0):
        p.append(_problem("seed", "seed", "随机种子必须是非负整数",
                          "the seed must be a non-negative integer"))
    ex = spec.exposure
    if (not _is_int(ex.recent_sessions) or ex.recent_sessions < 0
            or ex.action not in EXPOSURE_ACTIONS or not _is_number(ex.penalty) or ex.penalty < 0
            or (ex.max_rate is not None and (not _is_number(ex.max_rate) or not 0 <= ex.max_rate <= 1))):
        p.append(_problem("exposure", "exposure",
                          "曝光控制参数无效（场次数非负、比例在 0–1 之间、方式为排除或惩罚）",
                          "invalid exposure policy (sessions >= 0, rate in [0, 1], action "
                          "exclude or penalise, penalty >= 0)"))
    info = spec.information
    if info is not None:
        thetas = tuple(info.thetas)
        if (not thetas or not all(_is_number(x) for x in thetas)
                or (info.weights and (len(info.weights) != len(thetas)
                                      or not all(_is_number(w) and w > 0 for w in info.weights)))
                or not _is_number(info.scaling) or info.scaling <= 0):
            p.append(_problem("information", "information",
                              "信息量目标需要至少一个能力点，权重为正且与能力点一一对应",
                              "the information target needs at least one ability point, and "
                              "positive weights matching them"))
    for group in spec.enemy_groups:
        if len(group) < 2:
            p.append(_problem("enemy_groups", "enemy_group", "互斥组至少包含两道试题",
                              "an enemy group needs at least two items"))
            break
    if p:
        raise AssemblySpecError(p)


def with_options(spec: AssemblySpec, **changes: Any) -> AssemblySpec:
    """A copy of ``spec`` with some fields replaced, validated."""
    names = {f.name for f in fields(AssemblySpec)}
    unknown = set(changes) - names
    if unknown:
        raise TypeError(f"unknown AssemblySpec fields: {sorted(unknown)}")
    new = replace(spec, **changes)
    validate_spec(new)
    return new
