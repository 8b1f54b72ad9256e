"""Exam blueprints: the 鉴定要素细目表 of one occupation, level and component, with its paper
specification.

A blueprint is a tree of scope layers (鉴定范围, 2-6 deep) whose leaves are elements (鉴定点). Every
node and every element has a weight in percent of the whole component: the top layer adds up to
100 and the weights under any node add up to that node's weight, down to the elements. Each
element also has an importance, X (core), Y (general) or Z (auxiliary).

Codes are hierarchical: a top-layer scope has a one-segment code (``"A"`` or ``"1"``), and every
child scope or element extends its parent's code by one segment after ``-`` or ``.``
(``"A-01"``, ``"A-01-02"``, ``"A-01-02-003"``; or ``"1.2.3"``). So an element code is unique in
the blueprint and names its own path. The shipped files use letters for the top layer, two
digits per scope layer below and three digits for the element.

Files are TOML (read with :mod:`tomllib`) or YAML; :func:`load_blueprint` reads one and
:func:`parse_blueprint` validates plain data. Every problem found is reported at once in a
:class:`BlueprintError`; see :mod:`itembank.blueprint_schema` for the rules and their ids.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import yaml

from itembank.blueprint_schema import (
    COMPONENTS, DEFAULT_DIFFICULTY_TOLERANCE, DEFAULT_KEY_BALANCE_BAND, DEFAULT_LIMITS,
    DEFAULT_MAX_ITEMS_PER_ELEMENT, DEFAULT_MC_SCORING, DEFAULT_MIN_APPROVED_ITEMS_PER_ELEMENT,
    DEFAULT_MIN_ELEMENT_COVERAGE, DEFAULT_PASS_MARK, DEFAULT_TARGET_DIFFICULTY, IMPORTANCE_LEVELS,
    ITEM_TYPES, MAX_SCOPE_DEPTH, MAX_Y_SHARE, MAX_Z_SHARE, MIN_DURATION_MINUTES, MIN_SCOPE_DEPTH,
    MIN_X_SHARE, TOTAL_POINTS, WEIGHT_TOLERANCE, BlueprintLimits, BlueprintProblem, check_rules,
    load_structure,
)
from itembank.errors import ItemBankError
from itembank.levels import Level, parse_level
from itembank.occupations import Occupation

__all__ = [
    "Blueprint", "BlueprintError", "BlueprintLimits", "BlueprintProblem", "Element",
    "ItemTypeSpec", "PaperSpec", "RubricCriterion", "ScopeNode", "SkillModule", "SkillTask",
    "load_blueprint", "parse_blueprint", "task_from_dict", "task_to_dict", "BLUEPRINT_SUFFIXES", "COMPONENTS", "DEFAULT_LIMITS",
    "IMPORTANCE_LEVELS", "ITEM_TYPES", "MIN_X_SHARE", "MAX_Y_SHARE", "MAX_Z_SHARE",
    "MIN_DURATION_MINUTES", "MIN_SCOPE_DEPTH", "MAX_SCOPE_DEPTH", "WEIGHT_TOLERANCE",
]

#: File suffixes :func:`load_blueprint` reads.
BLUEPRINT_SUFFIXES = (".toml", ".yaml", ".yml")


class BlueprintError(ItemBankError):
    """A blueprint that breaks one or more rules.

    Attributes
    ----------
    errors : list of BlueprintProblem
        Every problem found, structural ones first, in document order.
    """

    def __init__(self, errors: Iterable[BlueprintProblem]):
        self.errors: list[BlueprintProblem] = list(errors)
        super().__init__(f"{len(self.errors)} problem(s) in the blueprint:\n"
                         + "\n".join(f"  {error}" for error in self.errors))

    @property
    def rules(self) -> set[str]:
        """The rule ids of all problems, handy in tests and logs."""
        return {error.rule for error in self.errors}


@dataclass(frozen=True)
class Element:
    """An element (鉴定点).

    Attributes
    ----------
    code, name : str
    weight : float
        Percent of the whole component.
    importance : {"X", "Y", "Z"}
        Core, general or auxiliary.
    scope_path : tuple of str
        Codes of the scope nodes above the element, top layer first (derived, not stored).
    """

    code: str
    name: str
    weight: float
    importance: str
    scope_path: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScopeNode:
    """A scope node (鉴定范围) holding either child nodes or elements.

    Attributes
    ----------
    code, name : str
    weight : float
        Percent of the whole component; the sum of the children's or elements' weights.
    children : tuple of ScopeNode
    elements : tuple of Element
    """

    code: str
    name: str
    weight: float
    children: tuple[ScopeNode, ...] = ()
    elements: tuple[Element, ...] = ()


@dataclass(frozen=True)
class ItemTypeSpec:
    """How many items of one type a paper has and what each is worth.

    ``type`` is one of ``"true_false"`` (判断), ``"single_choice"`` (单选),
    ``"multiple_choice"`` (多选), ``"skill_task"`` (操作技能).
    """

    type: str
    count: int
    points_each: float


@dataclass(frozen=True)
class RubricCriterion:
    """A line of a skill task's scoring record (评分记录表).

    ``deduction_rule`` says how points are lost, e.g. "超差 0.01 扣 2 分，超差 0.02 以上不得分".
    """

    code: str
    description: str
    points: float
    deduction_rule: str = ""


@dataclass(frozen=True)
class SkillTask:
    """An operational task (操作技能试题) or a part of a 综合评审.

    Attributes
    ----------
    code, title : str
    element_codes : tuple of str
        The elements the task assesses; each exists in the blueprint.
    time_minutes : int
    points : float
        Equal to the sum of the rubric's points.
    materials : tuple of str
        Stock, tools and gauges prepared for the candidate (备料, 工量具).
    rubric : tuple of RubricCriterion
    module : str
        Code of the :class:`SkillModule` whose pool holds the task; ``""`` when the blueprint
        declares no modules.
    equipment : tuple of str
        The workstation and its machines (工位、设备清单).
    vetoes : tuple of str
        Veto items (否决项): safety breaches (撞刀、未停车测量 ...) that zero the whole task.
    """

    code: str
    title: str
    element_codes: tuple[str, ...]
    time_minutes: int
    points: float
    materials: tuple[str, ...] = ()
    rubric: tuple[RubricCriterion, ...] = ()
    module: str = ""
    equipment: tuple[str, ...] = ()
    vetoes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SkillModule:
    """A module (模块) of a skill or review paper: a pool of interchangeable tasks of equal
    points and time, of which a paper draws ``draw``.

    TOML: ``[[paper.modules]] code = "M1" name = "车削加工" draw = 1``.
    """

    code: str
    name: str
    draw: int = 1


@dataclass(frozen=True)
class PaperSpec:
    """The paper specification of a component.

    Attributes
    ----------
    duration_minutes : int
        At least 90 (theory), 60 (skill) or 15 (review) by default.
    item_types : tuple of ItemTypeSpec
        Theory: counts x points add up to ``total_points``. Skill and review: empty, or
        ``skill_task`` entries whose counts add up to the number of tasks.
    total_points : float
        100: every component is scored out of 100.
    pass_mark : float
        60 by default; each component must reach it on its own.
    target_difficulty, difficulty_tolerance : float
        Wanted mean proportion correct of a paper, and the accepted deviation.
    min_element_coverage : float
        Share of the elements a theory paper covers at least (0, 1].
    max_items_per_element : int
        How often a paper may use one element.
    min_approved_items_per_element : int
        Approved items the bank holds per element before a paper can be assembled.
    multiple_choice_scoring : {"all_or_nothing", "partial"}
    key_balance_band : (float, float)
        Each key letter's share among the choice items must lie in this band.
    skill_tasks : tuple of SkillTask
        The tasks of a skill or review component: without modules every task is on each
        paper and their points add up to ``total_points``; with modules they form the task pools.
    skill_modules : tuple of SkillModule
        The modules a paper draws its tasks from; ``sum(draw x points)`` is ``total_points``.
    """

    duration_minutes: int
    item_types: tuple[ItemTypeSpec, ...] = ()
    total_points: float = TOTAL_POINTS
    pass_mark: float = DEFAULT_PASS_MARK
    target_difficulty: float = DEFAULT_TARGET_DIFFICULTY
    difficulty_tolerance: float = DEFAULT_DIFFICULTY_TOLERANCE
    min_element_coverage: float = DEFAULT_MIN_ELEMENT_COVERAGE
    max_items_per_element: int = DEFAULT_MAX_ITEMS_PER_ELEMENT
    min_approved_items_per_element: int = DEFAULT_MIN_APPROVED_ITEMS_PER_ELEMENT
    multiple_choice_scoring: str = DEFAULT_MC_SCORING
    key_balance_band: tuple[float, float] = DEFAULT_KEY_BALANCE_BAND
    skill_tasks: tuple[SkillTask, ...] = ()
    skill_modules: tuple[SkillModule, ...] = ()

    @property
    def item_count(self) -> int:
        """Number of items (or tasks) of one paper."""
        return (sum(spec.count for spec in self.item_types)
                or sum(module.draw for module, _ in self.task_pools()))

    def task_pools(self) -> list[tuple[SkillModule, tuple[SkillTask, ...]]]:
        """Each module with its pool of tasks, in document order.

        A blueprint without modules draws every task: each task is then a module of its own
        (code and name of the task, draw 1).
        """
        if not self.skill_modules:
            return [(SkillModule(task.code, task.title, 1), (task,)) for task in self.skill_tasks]
        return [(module, tuple(t for t in self.skill_tasks if t.module == module.code))
                for module in self.skill_modules]


@dataclass(frozen=True)
class Blueprint:
    """An exam blueprint: 鉴定要素细目表 plus paper specification of one occupation, level and
    component.

    Attributes
    ----------
    occupation_code, occupation_name : str
        From the occupational classification, e.g. ``"4-03-02-01"``, ``"中式烹调师"``.
    level : Level
    component : {"theory", "skill", "review"}
        理论知识, 操作技能 or 综合评审.
    standard : str
        The national occupational skill standard followed, with its edition.
    title : str
    scope : tuple of ScopeNode
        The top scope layer.
    paper : PaperSpec
    work_type : str
        The work type (工种) under the occupation, ``""`` if none.
    """

    occupation_code: str
    occupation_name: str
    level: Level
    component: str
    standard: str
    title: str
    scope: tuple[ScopeNode, ...]
    paper: PaperSpec
    work_type: str = ""

    # -- navigation ---------------------------------------------------------------------------
    @cached_property
    def _index(self) -> tuple[dict[str, Element], dict[str, tuple[ScopeNode, tuple[str, ...]]]]:
        elements: dict[str, Element] = {}
        nodes: dict[str, tuple[ScopeNode, tuple[str, ...]]] = {}
        for node, above in _walk(self.scope, ()):
            nodes[node.code] = (node, above)
            for element in node.elements:
                elements[element.code] = element
        return elements, nodes

    def elements(self) -> tuple[Element, ...]:
        """All elements in document order; each carries its ``scope_path``."""
        return tuple(self._index[0].values())

    @property
    def element_codes(self) -> tuple[str, ...]:
        """The codes of :meth:`elements`, in order."""
        return tuple(self._index[0])

    def element(self, code: str) -> Element:
        """The element with ``code``; raises :class:`KeyError` if there is none."""
        return self._index[0][code]

    def scope_node(self, code: str) -> ScopeNode:
        """The scope node with ``code``; raises :class:`KeyError` if there is none."""
        return self._index[1][code][0]

    def scope_path(self, code: str) -> tuple[str, ...]:
        """Codes of the scope nodes above an element or scope node, top layer first.

        Raises
        ------
        KeyError
            If ``code`` is neither an element nor a scope node of the blueprint.
        """
        elements, nodes = self._index
        if code in elements:
            return elements[code].scope_path
        return nodes[code][1]

    def importance_counts(self) -> dict[str, int]:
        """Number of elements per importance letter, e.g. ``{"X": 130, "Y": 14, "Z": 6}``."""
        counts = dict.fromkeys(IMPORTANCE_LEVELS, 0)
        for element in self.elements():
            counts[element.importance] += 1
        return counts

    # -- serialisation ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain data (lists, dicts, str, numbers) that :func:`parse_blueprint` reads back to an
        equal blueprint; every default is written out."""
        paper = self.paper
        return {
            "occupation_code": self.occupation_code,
            "occupation_name": self.occupation_name,
            "work_type": self.work_type,
            "level": self.level.value,
            "component": self.component,
            "standard": self.standard,
            "title": self.title,
            "scope": [_node_to_dict(node) for node in self.scope],
            "paper": {
                "item_types": [{"type": s.type, "count": s.count, "points_each": s.points_each}
                               for s in paper.item_types],
                "total_points": paper.total_points,
                "duration_minutes": paper.duration_minutes,
                "pass_mark": paper.pass_mark,
                "target_difficulty": paper.target_difficulty,
                "difficulty_tolerance": paper.difficulty_tolerance,
                "min_element_coverage": paper.min_element_coverage,
                "max_items_per_element": paper.max_items_per_element,
                "min_approved_items_per_element": paper.min_approved_items_per_element,
                "multiple_choice_scoring": paper.multiple_choice_scoring,
                "key_balance_band": list(paper.key_balance_band),
                "skill_tasks": [task_to_dict(task) for task in paper.skill_tasks],
                **({"modules": [{"code": m.code, "name": m.name, "draw": m.draw}
                                for m in paper.skill_modules]} if paper.skill_modules else {}),
            },
        }

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 (hex) of the canonical JSON of :meth:`to_dict` (keys sorted, UTF-8, no
        spaces): equal for two loads of the same content, whatever the file's layout."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False,
                               separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _walk(nodes: Iterable[ScopeNode], above: tuple[str, ...]) -> Iterator[tuple[ScopeNode, tuple[str, ...]]]:
    for node in nodes:
        yield node, above
        yield from _walk(node.children, above + (node.code,))


def _node_to_dict(node: ScopeNode) -> dict[str, Any]:
    data: dict[str, Any] = {"code": node.code, "name": node.name, "weight": node.weight}
    if node.children:
        data["children"] = [_node_to_dict(child) for child in node.children]
    else:
        data["elements"] = [{"code": e.code, "name": e.name, "weight": e.weight,
                             "importance": e.importance} for e in node.elements]
    return data


#: Task fields written only when set, so that the content hash of a blueprint that does not use
#: them is the same as before they existed (an unchanged file is not a new version).
_OPTIONAL_TASK_FIELDS = ("module", "equipment", "vetoes")


def task_to_dict(task: SkillTask) -> dict[str, Any]:
    """Plain data (JSON-ready) of a task that :func:`task_from_dict` reads back to an equal task.

    Used by :meth:`Blueprint.to_dict` and for the task snapshots of a skill paper.
    ``module``, ``equipment`` and ``vetoes`` are left out when empty.
    """
    data: dict[str, Any] = {
        "code": task.code, "title": task.title, "element_codes": list(task.element_codes),
        "time_minutes": task.time_minutes, "points": task.points,
        "materials": list(task.materials),
        "rubric": [{"code": c.code, "description": c.description, "points": c.points,
                    "deduction_rule": c.deduction_rule} for c in task.rubric],
    }
    optional = {"module": task.module, "equipment": list(task.equipment), "vetoes": list(task.vetoes)}
    data.update({key: optional[key] for key in _OPTIONAL_TASK_FIELDS if optional[key]})
    return data


def task_from_dict(data: Mapping[str, Any]) -> SkillTask:
    """The task :func:`task_to_dict` wrote (or a validated blueprint's task data).

    The data is trusted: blueprint files are validated by :func:`parse_blueprint` first.
    """
    return SkillTask(
        code=data["code"], title=data["title"], element_codes=tuple(data["element_codes"]),
        time_minutes=data["time_minutes"], points=data["points"],
        materials=tuple(data.get("materials", ())),
        rubric=tuple(RubricCriterion(c["code"], c["description"], c["points"], c.get("deduction_rule", ""))
                     for c in data["rubric"]),
        module=data.get("module", ""), equipment=tuple(data.get("equipment", ())),
        vetoes=tuple(data.get("vetoes", ())))


# --------------------------------------------------------------------------------------------
# Building from validated data
# --------------------------------------------------------------------------------------------

def _build_node(data: Mapping[str, Any], above: tuple[str, ...]) -> ScopeNode:
    path = above + (data["code"],)
    return ScopeNode(
        code=data["code"], name=data["name"], weight=data["weight"],
        children=tuple(_build_node(child, path) for child in data["children"]),
        elements=tuple(Element(e["code"], e["name"], e["weight"], e["importance"], path)
                       for e in data["elements"]),
    )


def _build(data: Mapping[str, Any]) -> Blueprint:
    paper = data["paper"]
    return Blueprint(
        occupation_code=data["occupation_code"],
        occupation_name=data["occupation_name"],
        level=parse_level(data["level"]),
        component=data["component"],
        standard=data["standard"],
        title=data["title"],
        scope=tuple(_build_node(node, ()) for node in data["scope"]),
        work_type=data["work_type"].strip(),
        paper=PaperSpec(
            duration_minutes=paper["duration_minutes"],
            item_types=tuple(ItemTypeSpec(s["type"], s["count"], s["points_each"])
                             for s in paper["item_types"]),
            total_points=paper["total_points"],
            pass_mark=paper["pass_mark"],
            target_difficulty=paper["target_difficulty"],
            difficulty_tolerance=paper["difficulty_tolerance"],
            min_element_coverage=paper["min_element_coverage"],
            max_items_per_element=paper["max_items_per_element"],
            min_approved_items_per_element=paper["min_approved_items_per_element"],
            multiple_choice_scoring=paper["multiple_choice_scoring"],
            key_balance_band=tuple(paper["key_balance_band"]),
            skill_tasks=tuple(task_from_dict(t) for t in paper["skill_tasks"]),
            skill_modules=tuple(SkillModule(m["code"], m["name"], m["draw"]) for m in paper["modules"]),
        ),
    )


def parse_blueprint(data: Mapping[str, Any], source: str = "<data>", *,
                    limits: BlueprintLimits = DEFAULT_LIMITS,
                    occupations: Iterable[Occupation] | None = None) -> Blueprint:
    """Validate blueprint data and build a :class:`Blueprint`.

    Parameters
    ----------
    data : mapping
        Plain data as read from TOML or YAML, or from :meth:`Blueprint.to_dict`.
    source : str
        Named in every problem as its ``file``.
    limits : BlueprintLimits, optional
        Override the numbers of the rules (importance shares, minimum durations, depth ...).
    occupations : iterable of Occupation, optional
        The occupation catalogue; default: the one shipped with :mod:`itembank`.

    Returns
    -------
    Blueprint

    Raises
    ------
    BlueprintError
        Listing every structural and rule problem at once.
    """
    loaded, structural = load_structure(data)
    problems = structural + check_rules(data, limits, occupations)
    if problems:
        raise BlueprintError(BlueprintProblem(source, *problem) for problem in problems)
    assert loaded is not None
    return _build(loaded)


def read_blueprint_data(path: str | os.PathLike) -> Any:
    """Read the plain data of a blueprint file (``.toml``, ``.yaml`` or ``.yml``).

    Raises
    ------
    BlueprintError
        Rule ``"file_format"`` for another suffix, ``"syntax"`` for a file that does not parse.
    OSError
        If the file cannot be read.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in BLUEPRINT_SUFFIXES:
        raise BlueprintError([BlueprintProblem(
            str(path), "", "file_format", f"蓝图文件应为 TOML 或 YAML（{suffix or '无后缀'}）",
            f"a blueprint file is .toml, .yaml or .yml, not {suffix or 'without suffix'}")])
    try:
        if suffix == ".toml":
            with path.open("rb") as stream:
                return tomllib.load(stream)
        with path.open(encoding="utf-8") as stream:
            return yaml.safe_load(stream)
    except (tomllib.TOMLDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise BlueprintError([BlueprintProblem(str(path), "", "syntax", f"文件无法解析：{exc}",
                                               f"the file does not parse: {exc}")]) from exc


def load_blueprint(path: str | os.PathLike, *, limits: BlueprintLimits = DEFAULT_LIMITS,
                   occupations: Iterable[Occupation] | None = None) -> Blueprint:
    """Read and validate a blueprint file.

    Parameters
    ----------
    path : path-like
        A ``.toml`` (read with :mod:`tomllib`), ``.yaml`` or ``.yml`` file.
    limits, occupations
        As for :func:`parse_blueprint`.

    Returns
    -------
    Blueprint

    Raises
    ------
    BlueprintError
        With every problem; each names ``str(path)`` as its file.
    """
    return parse_blueprint(read_blueprint_data(path), str(path), limits=limits,
                           occupations=occupations)
