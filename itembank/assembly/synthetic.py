"""Seeded synthetic blueprints and item pools, for tests, benchmarks and notebooks.

The blueprint is a two-layer scope tree (``A``, ``A-01`` ...) with random weights that add up
exactly as a real one (top layer 100, children to their parent); the pool spreads items over the
elements, draws difficulties from a Beta distribution around the target, single-choice keys
uniformly, and 3PL parameters consistent with the difficulty. Nothing here is a real bank.
"""

from __future__ import annotations

import numpy as np

from itembank.assembly.pool import ItemPool
from itembank.blueprint import Blueprint, Element, ItemTypeSpec, PaperSpec, ScopeNode
from itembank.levels import parse_level

__all__ = ["synthetic_blueprint", "synthetic_pool", "enemy_pairs"]


def _split(total: float, parts: int, rng: np.random.Generator) -> list[float]:
    """``parts`` positive weights summing to ``total`` (rounded to 1e-6, the last one absorbs)."""
    shares = rng.dirichlet(np.full(parts, 8.0))
    values = [round(float(total * s), 6) for s in shares[:-1]]
    values.append(round(total - sum(values), 6))
    return values


def synthetic_blueprint(elements: int = 50, *, top: int = 4, children: int = 5,
                        item_types: tuple[tuple[str, int, float], ...] = (
                            ("true_false", 20, 1.0), ("single_choice", 60, 1.0),
                            ("multiple_choice", 20, 1.0)),
                        target_difficulty: float = 0.65, difficulty_tolerance: float = 0.05,
                        min_element_coverage: float = 0.5, max_items_per_element: int = 1,
                        seed: int = 0) -> Blueprint:
    """A theory blueprint with ``top × children`` leaf scopes holding ``elements`` elements.

    Element codes are ``A-01-001``; weights are random (seeded) and add up like a real
    blueprint's. ``item_types`` are ``(type, count, points_each)``.
    """
    rng = np.random.default_rng(seed)
    leaves = top * children
    per_leaf = np.full(leaves, elements // leaves)
    per_leaf[: elements % leaves] += 1
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    nodes, k = [], 0
    for i, top_weight in enumerate(_split(100.0, top, rng)):
        code = letters[i]
        kids = []
        for j, weight in enumerate(_split(top_weight, children, rng)):
            sub = f"{code}-{j + 1:02d}"
            count = int(per_leaf[k])
            k += 1
            weights = _split(weight, count, rng) if count else []
            kids.append(ScopeNode(sub, f"范围 {sub}", weight, elements=tuple(
                Element(f"{sub}-{e + 1:03d}", f"鉴定点 {sub}-{e + 1:03d}", w, "X", (code, sub))
                for e, w in enumerate(weights))))
        nodes.append(ScopeNode(code, f"范围 {code}", top_weight, children=tuple(kids)))
    total = sum(n * p for _, n, p in item_types)
    paper = PaperSpec(duration_minutes=90,
                      item_types=tuple(ItemTypeSpec(t, n, p) for t, n, p in item_types),
                      total_points=total, target_difficulty=target_difficulty,
                      difficulty_tolerance=difficulty_tolerance,
                      min_element_coverage=min_element_coverage,
                      max_items_per_element=max_items_per_element)
    return Blueprint(occupation_code="4-03-02-01", occupation_name="合成职业", level=parse_level("4"),
                     component="theory", standard="synthetic", title="synthetic blueprint",
                     scope=tuple(nodes), paper=paper)


def synthetic_pool(blueprint: Blueprint, items: int, *, seed: int = 0,
                   mean_difficulty: float = 0.65, concentration: float = 10.0,
                   irt: bool = True, unusable_share: float = 0.0,
                   calibrated_share: float = 0.5) -> ItemPool:
    """``items`` items over the blueprint's elements (round-robin, then shuffled) with types in
    the paper's proportions.

    Difficulty ~ Beta(μκ, (1-μ)κ) with mean ``mean_difficulty`` and concentration ``κ``;
    single-choice keys uniform over A-D; 3PL ``a ~ LogNormal(0, 0.3)``,
    ``b = -logit(p) / 1.2 + N(0, 0.3)``, ``c = 0.2`` for choice items, 0 for true/false.
    ``unusable_share`` of the items are made not approved or retired (half each).
    """
    rng = np.random.default_rng(seed)
    codes = np.array(blueprint.element_codes)
    element = codes[np.arange(items) % len(codes)]
    rng.shuffle(element)
    types = [s.type for s in blueprint.paper.item_types]
    share = np.array([s.count for s in blueprint.paper.item_types], float)
    item_type = np.array(types)[rng.choice(len(types), size=items, p=share / share.sum())]
    mu, kappa = mean_difficulty, concentration
    p = np.clip(rng.beta(mu * kappa, (1 - mu) * kappa, size=items), 0.02, 0.98)
    key = np.where(item_type == "single_choice", np.array(list("ABCD"))[rng.integers(0, 4, items)], "")
    unusable = rng.random(items) < unusable_share
    half = rng.random(items) < 0.5
    pool = dict(ids=np.arange(1, items + 1), item_type=item_type, element=element, difficulty=p,
                calibrated=rng.random(items) < calibrated_share, key=key,
                approved=~(unusable & half), retired=unusable & ~half)
    if irt:
        pool.update(irt_a=np.exp(rng.normal(0.0, 0.3, items)),
                    irt_b=-np.log(p / (1 - p)) / 1.2 + rng.normal(0.0, 0.3, items),
                    irt_c=np.where(item_type == "true_false", 0.0, 0.2))
    return ItemPool(**pool)


def enemy_pairs(pool: ItemPool, pairs: int, *, seed: int = 0, same_element: bool = True) -> list[frozenset[int]]:
    """``pairs`` distinct enemy pairs, by default of items of the same element (the usual case:
    one item gives away another's answer)."""
    rng = np.random.default_rng(seed)
    out: set[frozenset[int]] = set()
    by_element: dict[str, np.ndarray] = {}
    if same_element:
        order = np.argsort(pool.element, kind="stable")
        codes, starts = np.unique(pool.element[order], return_index=True)
        for code, group in zip(codes, np.split(order, starts[1:])):
            by_element[code] = pool.ids[group]
    keys = list(by_element)
    while len(out) < pairs:
        if same_element:
            ids = by_element[keys[rng.integers(len(keys))]]
            if len(ids) < 2:
                continue
            a, b = rng.choice(ids, 2, replace=False)
        else:
            a, b = rng.choice(pool.ids, 2, replace=False)
        out.add(frozenset({int(a), int(b)}))
    return sorted(out, key=sorted)
