"""Skill and review papers (操作技能/综合评审试卷): tasks drawn from the blueprint's module pools.

Such a paper is a :class:`Paper` with :class:`PaperTask` rows and no items. Each row holds the
whole task as drawn (``task_to_dict``), so the paper, its task book and its score sheets never
change with a later blueprint version. Drawing is seeded (``itembank.assembly.tasks``): the run
records its seed, and the same blueprint, forms and seed give the same task sets.
"""

from __future__ import annotations

import secrets
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from examsvc.bank.models import BlueprintVersion
from examsvc.errors import ValidationFailed
from examsvc.papers.models import Paper, PaperStatus, PaperTask
from itembank.assembly.tasks import draw_task_sets
from itembank.blueprint import Blueprint, SkillTask, task_from_dict, task_to_dict

#: Components whose papers are drawn tasks scored by a panel (操作技能, 综合评审).
TASK_COMPONENTS = ("skill", "review")
#: What a task draw may be told: the seed, and whether sets may share tasks.
TASK_OVERRIDES = ("seed", "allow_overlap")
_MAX_SEED = 2**31 - 1


def task_overrides(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The checked overrides of a task draw, with a seed chosen now when none is given (so the
    run records what reproduces it)."""
    unknown = sorted(set(overrides) - set(TASK_OVERRIDES))
    if unknown:
        raise ValidationFailed(f"操作技能组卷只能设定随机种子和是否允许重复（不能设定 {'、'.join(unknown)}）",
                               f"a task draw takes only seed and allow_overlap, not {', '.join(unknown)}",
                               field="overrides")
    seed = overrides.get("seed")
    if seed is None:
        seed = secrets.randbelow(_MAX_SEED)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= _MAX_SEED:
        raise ValidationFailed(f"随机种子应为 0-{_MAX_SEED} 的整数", f"seed must be a whole number 0-{_MAX_SEED}",
                               field="seed")
    allow = overrides.get("allow_overlap", False)
    if not isinstance(allow, bool):
        raise ValidationFailed("是否允许重复应为 true 或 false", "allow_overlap must be true or false",
                               field="allow_overlap")
    return {"seed": seed, "allow_overlap": allow}


def draw_sets(blueprint: Blueprint, forms: int, overrides: Mapping[str, Any]) -> list[list[SkillTask]]:
    """The run's task sets; raises ``TaskDrawError`` with the reasons when the pools are short."""
    return draw_task_sets(blueprint.paper.task_pools(), forms, overrides["seed"],
                          allow_overlap=overrides.get("allow_overlap", False))


def task_rows(tasks: list[SkillTask]) -> list[PaperTask]:
    return [PaperTask(position=position, module_code=task.module or task.code, task_code=task.code,
                      points=float(task.points), content=task_to_dict(task))
            for position, task in enumerate(tasks, start=1)]


def paper_tasks(session: Session, paper: Paper) -> list[SkillTask]:
    """The tasks of a skill or review paper from its snapshot, in position order (empty for a
    theory paper)."""
    rows = session.scalars(select(PaperTask).where(PaperTask.paper_id == paper.id).order_by(PaperTask.position))
    return [task_from_dict(row.content) for row in rows]


def task_snapshot(paper: Paper) -> list[list[Any]]:
    """What a lock seals of a skill paper: each position with its module, points and whole task."""
    return [[t.position, t.module_code, t.points, t.content] for t in paper.tasks]


def task_report(session: Session, paper: Paper, blueprint: Blueprint) -> dict[str, Any]:
    """Modules (what the blueprint asks, what the paper drew), tasks with time, points, equipment,
    materials and vetoes, and overlap with sibling forms and earlier locked or used papers."""
    tasks = [task_from_dict(t.content) for t in paper.tasks]
    modules = [{"code": module.code, "name": module.name, "draw": module.draw, "pool": len(pool),
                "drawn": [t.code for t in tasks if (t.module or t.code) == module.code],
                "ok": sum((t.module or t.code) == module.code for t in tasks) == module.draw}
               for module, pool in blueprint.paper.task_pools()]
    codes = {t.code for t in tasks}
    siblings = {other.form_label: len(codes & {t.task_code for t in other.tasks})
                for other in paper.run.papers if other.id != paper.id}
    earlier = session.execute(
        select(PaperTask.paper_id, PaperTask.task_code).join(Paper, Paper.id == PaperTask.paper_id)
        .where(Paper.run_id != paper.run_id, PaperTask.task_code.in_(codes),
               Paper.blueprint_version_id.in_(select(BlueprintVersion.id).where(
                   BlueprintVersion.blueprint_id == _blueprint_id(session, paper))),
               Paper.status.in_([PaperStatus.LOCKED.value, PaperStatus.USED.value]))).all()
    return {
        "kind": "tasks",
        "tasks": len(tasks),
        "points": sum(t.points for t in tasks),
        "time_minutes": sum(t.time_minutes for t in tasks),
        "duration_minutes": blueprint.paper.duration_minutes,
        "modules": modules,
        "task_list": [{"code": t.code, "module": t.module, "title": t.title, "points": t.points,
                       "time_minutes": t.time_minutes, "equipment": list(t.equipment),
                       "materials": list(t.materials), "vetoes": list(t.vetoes),
                       "criteria": len(t.rubric)} for t in tasks],
        "overlap_with_siblings": siblings,
        "tasks_used_in_earlier_papers": len({code for _, code in earlier}),
        "earlier_papers": len({paper_id for paper_id, _ in earlier}),
    }


def _blueprint_id(session: Session, paper: Paper) -> int:
    return session.get(BlueprintVersion, paper.blueprint_version_id).blueprint_id
