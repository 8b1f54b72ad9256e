"""From a blueprint to an assembly specification: item counts per scope node from the weights.

A blueprint gives weights in percent of the whole component; a paper has a fixed number of items.
:func:`spec_from_blueprint` turns the weights into item counts per scope node (鉴定范围) with the
largest-remainder rule (:func:`largest_remainder`) and copies the paper specification's numbers
(difficulty band, coverage, items per element, key balance), which overrides may change.

Which layer gets the counts
---------------------------
Per-element counts are often impossible: the 中式烹调师 四级 blueprint has 149 elements and a
90-item paper used at most once per element. So the paper's items are apportioned to the
**deepest layer of the tree whose node count does not exceed the paper's item count**, the
elements counting as the deepest layer of all. A layer is a cut of the tree: the scope nodes at
that depth plus the leaf scope nodes above it, so every element lies under exactly one node of
the layer. Within a node the elements are free, subject to the at-most-``m``-per-element and
minimum-coverage rules. The 149-element blueprint is cut at its third scope layer (17 nodes);
a 50-element blueprint with a 100-item paper gets exact per-element counts.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from itembank.assembly.spec import (
    AssemblySpec, AssemblySpecError, ExposurePolicy, InformationTarget, ScopeTarget,
)
from itembank.assembly.validation import validate_spec
from itembank.errors import InvalidValue

__all__ = ["largest_remainder", "spec_from_blueprint", "OVERRIDE_KEYS"]


# --------------------------------------------------------------------------------------------
# Largest remainder
# --------------------------------------------------------------------------------------------

def largest_remainder(weights: Sequence[float], total: int,
                      caps: Sequence[int] | None = None) -> np.ndarray:
    r"""Apportion ``total`` seats to ``weights`` by the largest-remainder (Hamilton) rule.

    Each part has the quota :math:`q_i = T\, w_i / \sum_j w_j` and first gets
    :math:`\lfloor q_i \rfloor`; the :math:`T - \sum_i \lfloor q_i \rfloor` seats left go one each
    to the parts with the largest remainders :math:`q_i - \lfloor q_i \rfloor`. Ties are broken
    by the larger weight, then by the earlier position, so the result is deterministic and does
    not depend on float noise below :math:`10^{-9}`. Every part gets :math:`\lfloor q_i \rfloor`
    or :math:`\lceil q_i \rceil` (the quota rule) and the counts add up to ``total`` exactly
    (Balinski & Young, *Fair Representation*, 2nd ed. 2001, ch. 2).

    With ``caps``, a part whose count exceeds its cap is fixed at the cap and the remaining
    seats are apportioned again among the other parts, until no cap is exceeded.

    Parameters
    ----------
    weights : sequence of float, shape (n,)
        Non-negative; at least one positive when ``total > 0``.
    total : int
        Seats to apportion, ``>= 0``.
    caps : sequence of int, shape (n,), optional
        Most seats per part.

    Returns
    -------
    numpy.ndarray of int, shape (n,)

    Raises
    ------
    ValueError
        For negative weights or total, all-zero weights with ``total > 0``, or caps adding up
        to less than ``total``.
    """
    w = np.asarray(weights, dtype=float)
    if total < 0 or np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError("weights and total must be non-negative and finite")
    counts = np.zeros(len(w), dtype=np.int64)
    if total == 0:
        return counts
    limit = None if caps is None else np.asarray(caps, dtype=np.int64)
    if limit is not None and limit.sum() < total:
        raise ValueError(f"the caps add up to {int(limit.sum())}, fewer than {total}")
    free = np.ones(len(w), dtype=bool) if limit is None else limit > 0
    left = total
    while True:
        idx = np.flatnonzero(free)
        part = w[idx]
        if part.sum() <= 0:
            if limit is None:
                raise ValueError("all weights are zero")
            # Zero-weight parts still take seats, in order, when the positive ones are full.
            part = np.ones(len(idx))
        quota = part / part.sum() * left
        base = np.floor(quota + 1e-9).astype(np.int64)
        remainder = np.round(quota - base, 9)
        seats = left - int(base.sum())
        # lexsort sorts by the last key first: remainder desc, weight desc, position asc.
        order = np.lexsort((idx, -part, -remainder))
        base[order[:seats]] += 1
        counts[idx] = base
        if limit is None:
            return counts
        over = idx[base > limit[idx]]
        if len(over) == 0:
            return counts
        counts[over] = limit[over]
        free[over] = False
        left = total - int(counts[~free].sum())


# --------------------------------------------------------------------------------------------
# From a blueprint
# --------------------------------------------------------------------------------------------

#: Keys :func:`spec_from_blueprint` accepts in ``overrides``.
OVERRIDE_KEYS = frozenset({
    "type_counts", "target_difficulty", "difficulty_tolerance", "difficulty_weighting",
    "difficulty_weight", "min_element_coverage", "max_items_per_element", "key_balance_band",
    "max_overlap", "enemy_groups", "exposure", "information", "seed", "time_limit",
    "mip_rel_gap", "allocation_layer", "strategy",
})


def _layers(blueprint) -> list[list[tuple[str, str, tuple[str, ...], float]]]:
    """Every cut of the tree as ``(code, name, element codes, weight)`` lists, top first; the
    last is the element layer."""
    def elements_under(node) -> tuple[str, ...]:
        if node.elements:
            return tuple(e.code for e in node.elements)
        return tuple(code for child in node.children for code in elements_under(child))

    def cut(nodes, depth):
        out = []
        for node in nodes:
            if depth == 0 or not node.children:
                out.append((node.code, node.name, elements_under(node), float(node.weight)))
            else:
                out.extend(cut(node.children, depth - 1))
        return out

    def height(node) -> int:
        return 1 + max((height(c) for c in node.children), default=0)

    depth = max(height(node) for node in blueprint.scope)
    layers = [cut(blueprint.scope, d) for d in range(depth)]
    layers.append([(e.code, e.name, (e.code,), float(e.weight)) for e in blueprint.elements()])
    return layers


def _allocate(blueprint, items: int, per_element: int, layer: Any) -> tuple[tuple[ScopeTarget, ...], str]:
    layers = _layers(blueprint)
    if layer is None:
        chosen = max(i for i, nodes in enumerate(layers) if len(nodes) <= items) \
            if any(len(nodes) <= items for nodes in layers) else 0
    elif layer == "elements":
        chosen = len(layers) - 1
    else:
        chosen = int(layer) - 1
        if not 0 <= chosen < len(layers) - 1:
            raise AssemblySpecError([InvalidValue(
                "allocation_layer", "assembly.allocation_layer",
                f"分配层应为 1 至 {len(layers) - 1} 或 \"elements\"，而不是 {layer!r}",
                f"allocation_layer must be 1 to {len(layers) - 1} or \"elements\", not {layer!r}")])
    nodes = layers[chosen]
    caps = [per_element * len(elements) for _, _, elements, _ in nodes]
    try:
        counts = largest_remainder([w for *_, w in nodes], items, caps)
    except ValueError:
        raise AssemblySpecError([InvalidValue(
            "max_items_per_element", "assembly.capacity",
            f"每个鉴定点最多 {per_element} 题，{len(blueprint.elements())} 个鉴定点最多组成 "
            f"{sum(caps)} 题，不够 {items} 题",
            f"at most {per_element} item(s) per element over {len(blueprint.elements())} "
            f"elements make {sum(caps)} items, fewer than the paper's {items}")]) from None
    targets = tuple(ScopeTarget(code, name, elements, int(count), weight)
                    for (code, name, elements, weight), count in zip(nodes, counts))
    label = ("elements" if chosen == len(layers) - 1 else f"scope depth {chosen + 1}")
    return targets, f"{label} ({len(nodes)} nodes)"


def spec_from_blueprint(blueprint, *, forms: int = 1,
                        overrides: Mapping[str, Any] | None = None) -> AssemblySpec:
    """Derive the assembly specification of a theory blueprint.

    Parameters
    ----------
    blueprint : itembank.blueprint.Blueprint
    forms : int
        Parallel forms to assemble together.
    overrides : mapping, optional
        Replace numbers of the paper specification or set assembly options; keys in
        :data:`OVERRIDE_KEYS`. ``type_counts`` is a mapping ``{type: count}`` over the
        blueprint's types (points per item stay the blueprint's, and the total must still be
        the paper's total points); ``allocation_layer`` is a scope depth (1 = top layer) or
        ``"elements"``; ``exposure`` and ``information`` take an :class:`ExposurePolicy` /
        :class:`InformationTarget` or a mapping of their fields; ``enemy_groups`` an iterable
        of iterables of item ids.

    Returns
    -------
    AssemblySpec
        Validated with :func:`validate_spec`. The items per scope node come from the
        largest-remainder rule on the deepest layer that fits (module docstring), each node
        capped at ``max_items_per_element`` × its elements.

    Raises
    ------
    AssemblySpecError
        Listing every problem: unknown override keys, counts that do not add up to the paper's
        points, a coverage or per-element limit that no paper of this length can meet, a time
        limit that is not positive, ...
    """
    overrides = dict(overrides or {})
    problems: list[InvalidValue] = []
    unknown = sorted(set(overrides) - OVERRIDE_KEYS)
    if unknown:
        problems.append(InvalidValue("overrides", "assembly.override_unknown",
                                     f"未知的组卷参数：{', '.join(unknown)}",
                                     f"unknown assembly override(s): {', '.join(unknown)}"))
    paper = blueprint.paper
    types = [(s.type, s.count, s.points_each) for s in paper.item_types if s.type != "skill_task"]
    if not types:
        raise AssemblySpecError(problems + [InvalidValue(
            "item_types", "assembly.no_item_types",
            "该蓝图的试卷结构没有可组卷的题型（操作技能试卷由任务组成）",
            "the blueprint's paper specification has no item types to assemble "
            "(skill papers are made of tasks)")])
    counts = overrides.get("type_counts")
    if counts is not None:
        counts = dict(counts)
        extra = sorted(set(counts) - {t for t, _, _ in types})
        if extra:
            problems.append(InvalidValue(
                "type_counts", "assembly.type_unknown",
                f"蓝图没有题型 {', '.join(extra)}",
                f"the blueprint has no item type {', '.join(extra)}"))
        types = [(t, counts.get(t, n), p) for t, n, p in types]
        if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for _, n, _ in types):
            problems.append(InvalidValue("type_counts", "assembly.type_count",
                                         "每种题型的题量必须是非负整数",
                                         "each item type's count must be a non-negative integer"))
            raise AssemblySpecError(problems)
        points = sum(n * p for _, n, p in types)
        if abs(points - paper.total_points) > 1e-6:
            problems.append(InvalidValue(
                "type_counts", "assembly.points_total",
                f"调整后的题量合计 {points:g} 分，试卷满分为 {paper.total_points:g} 分",
                f"the overridden counts give {points:g} points; the paper is out of "
                f"{paper.total_points:g}"))
    items = sum(n for _, n, _ in types)
    per_element = overrides.get("max_items_per_element", paper.max_items_per_element)
    if not isinstance(per_element, int) or isinstance(per_element, bool) or per_element < 1:
        problems.append(InvalidValue("max_items_per_element", "assembly.max_per_element",
                                     f"每个鉴定点最多题数必须是正整数，而不是 {per_element!r}",
                                     f"max items per element must be a positive integer, not {per_element!r}"))
    if not isinstance(forms, int) or isinstance(forms, bool) or forms < 1:
        problems.append(InvalidValue("forms", "assembly.forms", f"平行试卷套数至少为 1，而不是 {forms!r}",
                                     f"the number of forms must be at least 1, not {forms!r}"))
    if problems:
        raise AssemblySpecError(problems)
    targets, label = _allocate(blueprint, items, per_element, overrides.get("allocation_layer"))
    names = {code: name for layer in _layers(blueprint) for code, name, _, _ in layer}

    exposure = overrides.get("exposure", ExposurePolicy())
    if isinstance(exposure, Mapping):
        exposure = ExposurePolicy(**exposure)
    information = overrides.get("information")
    if isinstance(information, Mapping):
        information = InformationTarget(**{k: tuple(v) if isinstance(v, (list, tuple)) else v
                                           for k, v in information.items()})
    spec = AssemblySpec(
        type_counts=tuple((t, n) for t, n, _ in types),
        type_points=tuple((t, float(p)) for t, _, p in types),
        scope_targets=targets,
        elements=blueprint.element_codes,
        min_element_coverage=overrides.get("min_element_coverage", paper.min_element_coverage),
        max_items_per_element=per_element,
        target_difficulty=overrides.get("target_difficulty", paper.target_difficulty),
        difficulty_tolerance=overrides.get("difficulty_tolerance", paper.difficulty_tolerance),
        difficulty_weighting=overrides.get("difficulty_weighting", "points"),
        difficulty_weight=overrides.get("difficulty_weight", 1.0),
        key_balance_band=tuple(overrides.get("key_balance_band", paper.key_balance_band)),
        enemy_groups=tuple(frozenset(int(i) for i in g) for g in overrides.get("enemy_groups", ())),
        forms=forms,
        max_overlap=overrides.get("max_overlap", 0),
        exposure=exposure,
        information=information,
        seed=overrides.get("seed"),
        time_limit=overrides.get("time_limit", 60.0),
        mip_rel_gap=overrides.get("mip_rel_gap", 0.01),
        strategy=overrides.get("strategy", "auto"),
        allocation_layer=label,
        scope_names=names,
    )
    validate_spec(spec)
    return spec
