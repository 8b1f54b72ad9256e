"""Drawing the tasks of skill and review papers (操作技能/综合评审抽题) from a blueprint's task pools.

A skill blueprint groups interchangeable tasks in modules (:meth:`PaperSpec.task_pools`); a paper
takes ``draw`` tasks of each module. Parallel sets for several sittings share no task as long as
every module's pool holds ``draw x forms`` tasks; otherwise the draw is refused with the reasons,
module by module, unless overlap is allowed, in which case the tasks are spread as evenly as the
pool allows.

The draw is a seeded shuffle (:class:`random.Random`), so the same pools, forms and seed give the
same sets on every machine and Python version.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Sequence

from itembank.blueprint import SkillModule, SkillTask
from itembank.errors import ItemBankError

__all__ = ["TaskDrawError", "TaskShortfall", "draw_task_sets"]

TaskPools = Sequence[tuple[SkillModule, Sequence[SkillTask]]]


@dataclass(frozen=True)
class TaskShortfall:
    """A module whose pool cannot give every set its own tasks (or any set its draw).

    Attributes
    ----------
    module, module_name : str
    have : int
        Tasks in the module's pool.
    need : int
        Tasks the sets need without overlap: ``draw x forms`` (``draw`` when even one set is
        impossible).
    message, message_en : str
    """

    module: str
    module_name: str
    have: int
    need: int
    message: str
    message_en: str

    def __str__(self) -> str:
        return self.message_en


class TaskDrawError(ItemBankError):
    """The pools cannot give the sets asked for; ``reasons`` names each short module."""

    def __init__(self, reasons: Sequence[TaskShortfall]):
        self.reasons = list(reasons)
        super().__init__(self.reasons)

    @property
    def message(self) -> str:
        return "；".join(r.message for r in self.reasons)

    @property
    def message_en(self) -> str:
        return "; ".join(r.message_en for r in self.reasons)

    def __str__(self) -> str:
        return self.message_en


def _shortfall(module: SkillModule, have: int, forms: int, allow_overlap: bool) -> TaskShortfall | None:
    label = f"{module.code}（{module.name}）"
    if have < module.draw or module.draw < 1:
        return TaskShortfall(module.code, module.name, have, module.draw,
                             f"模块 {label} 每套抽 {module.draw} 道题，题库只有 {have} 道",
                             f"module {module.code} ({module.name}) draws {module.draw} task(s) per set "
                             f"but its pool holds {have}")
    need = module.draw * forms
    if have < need and not allow_overlap:
        return TaskShortfall(module.code, module.name, have, need,
                             f"模块 {label} 题库只有 {have} 道题，{forms} 套互不重复的试题需要 "
                             f"{forms} × {module.draw} = {need} 道；请补充试题、减少套数或允许重复",
                             f"module {module.code} ({module.name}) holds {have} task(s); {forms} sets "
                             f"without overlap need {forms} x {module.draw} = {need}; add tasks, ask for "
                             f"fewer sets or allow overlap")
    return None


def draw_task_sets(pools: TaskPools, forms: int, seed: int, allow_overlap: bool = False) -> list[list[SkillTask]]:
    """Draw ``forms`` parallel task sets, ``draw`` tasks of each module per set.

    Parameters
    ----------
    pools : sequence of (SkillModule, sequence of SkillTask)
        As :meth:`itembank.blueprint.PaperSpec.task_pools` returns them.
    forms : int
        Number of parallel sets (one per sitting), at least 1.
    seed : int
        Seeds the shuffle; equal inputs give equal sets.
    allow_overlap : bool
        When a pool holds fewer than ``draw x forms`` tasks, reuse tasks across sets (each task
        at most ``ceil(draw x forms / pool)`` times, never twice in one set) instead of refusing.

    Returns
    -------
    list of list of SkillTask
        One list per set: the modules in order, within a module the pool's order.

    Raises
    ------
    TaskDrawError
        Naming every module whose pool is too small.
    ValueError
        If ``forms`` is below 1.
    """
    if forms < 1:
        raise ValueError(f"forms must be at least 1, got {forms}")
    reasons = [r for module, pool in pools if (r := _shortfall(module, len(pool), forms, allow_overlap))]
    if reasons:
        raise TaskDrawError(reasons)
    rng = random.Random(seed)
    sets: list[list[SkillTask]] = [[] for _ in range(forms)]
    for module, pool in pools:
        order = list(range(len(pool)))
        rng.shuffle(order)
        for form, chosen in enumerate(sets):
            # Consecutive slices of one shuffle: disjoint while the pool lasts, then wrapping
            # round it evenly; draw <= pool size keeps one set free of repeats.
            picked = {order[(form * module.draw + k) % len(pool)] for k in range(module.draw)}
            chosen.extend(pool[i] for i in sorted(picked))
    return sets
