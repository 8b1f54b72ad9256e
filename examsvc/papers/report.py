"""The report of one paper: what it holds against what the blueprint asks, and how it overlaps."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from examsvc.bank.models import BlueprintVersion, ItemVersion
from examsvc.bank.service import blueprint_of
from examsvc.papers.models import Paper, PaperItem, PaperStatus
from examsvc.papers.skill import TASK_COMPONENTS, task_report
from itembank.assembly import item_information, spec_from_blueprint

THETA_GRID = [round(x, 1) for x in np.linspace(-3, 3, 13)]


def paper_report(session: Session, paper: Paper) -> dict[str, Any]:
    """Counts per type and scope against the blueprint, difficulty, key balance, information,
    overlap with sibling forms and with papers already locked or used for the same blueprint.
    A skill or review paper reports its modules and tasks instead (:func:`task_report`)."""
    version = session.get(BlueprintVersion, paper.blueprint_version_id)
    blueprint = blueprint_of(version)
    if blueprint.component in TASK_COMPONENTS:
        return task_report(session, paper, blueprint)
    spec = spec_from_blueprint(blueprint, forms=1,
                               overrides={k: v for k, v in paper.run.params.get("overrides", {}).items()
                                          if k in {"type_counts", "allocation_layer"}})
    contents = {v.id: v.content for v in session.scalars(
        select(ItemVersion).where(ItemVersion.id.in_([i.item_version_id for i in paper.items])))}
    items = paper.items
    types = Counter(i.item_type for i in items)
    elements = Counter(i.element_code for i in items)
    scopes = []
    for target in spec.scope_targets:
        actual = sum(elements[e] for e in target.elements)
        scopes.append({"code": target.code, "name": target.name, "target": target.count, "actual": actual,
                       "ok": actual == target.count})
    estimates = [(contents[i.item_version_id].get("difficulty_estimate"), i.points) for i in items]
    known = [(d, p) for d, p in estimates if d is not None]
    mean_difficulty = (sum(d * p for d, p in known) / sum(p for _, p in known)) if known else None
    keys = Counter(i.key[0] for i in items if i.item_type == "single_choice" and i.key)
    single = sum(keys.values())
    siblings = {}
    for other in paper.run.papers:
        if other.id != paper.id:
            siblings[other.form_label] = len({i.item_version_id for i in other.items}
                                             & {i.item_version_id for i in items})
    item_ids = {session.get(ItemVersion, i.item_version_id).item_id for i in items}
    earlier = session.execute(
        select(Paper.id, ItemVersion.item_id).join(PaperItem, PaperItem.paper_id == Paper.id)
        .join(ItemVersion, ItemVersion.id == PaperItem.item_version_id)
        .where(Paper.run_id != paper.run_id, Paper.blueprint_version_id.in_(
            select(BlueprintVersion.id).where(BlueprintVersion.blueprint_id == version.blueprint_id)),
            Paper.status.in_([PaperStatus.LOCKED.value, PaperStatus.USED.value]))).all()
    used_before = {item_id for _, item_id in earlier if item_id in item_ids}
    return {
        "items": len(items),
        "points": sum(i.points for i in items),
        "type_counts": [{"type": t, "target": c, "actual": types.get(t, 0), "ok": types.get(t, 0) == c}
                        for t, c in spec.type_counts],
        "scopes": scopes,
        "elements_covered": len(elements),
        "elements_needed": spec.coverage_needed,
        "max_per_element": max(elements.values()) if elements else 0,
        "difficulty": {"mean": round(mean_difficulty, 4) if mean_difficulty is not None else None,
                       "target": spec.target_difficulty, "tolerance": spec.difficulty_tolerance,
                       "calibrated_items": 0},
        "key_balance": {letter: round(keys.get(letter, 0) / single, 4) if single else 0.0 for letter in "ABCD"},
        "key_band": list(spec.key_balance_band),
        "information": _information(known),
        "overlap_with_siblings": siblings,
        "items_used_in_earlier_papers": len(used_before),
        "earlier_papers": len({paper_id for paper_id, item_id in earlier if item_id in item_ids}),
    }


def _information(known: list[tuple[float, float]]) -> dict[str, Any] | None:
    """Test information over a theta grid.

    Until items are calibrated, each item is taken as a Rasch item whose difficulty matches its
    proportion correct p at theta = 0: b = ln((1 - p) / p). The curve is then an approximation
    and is labelled so (``basis = "rasch_from_p"``).
    """
    p = np.clip(np.array([d for d, _ in known], dtype=float), 0.02, 0.98)
    if not len(p):
        return None
    b = np.log((1 - p) / p)
    info = item_information(np.ones_like(b), b, np.zeros_like(b), np.array(THETA_GRID)).sum(axis=0)
    return {"theta": THETA_GRID, "information": [round(float(x), 4) for x in info],
            "sem": [round(float(1 / np.sqrt(x)), 4) if x > 0 else None for x in info], "basis": "rasch_from_p"}
