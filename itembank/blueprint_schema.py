"""Validation of exam blueprint data (鉴定要素细目表 + paper specification).

Two passes over the plain data read from a blueprint file, and every problem of both is kept:

1. :func:`load_structure` — marshmallow 4 schemas: field names, types, required fields and the
   closed vocabularies (component, importance, item type, scoring rule).
2. :func:`check_rules` — the rules of the domain (weights, codes, depth, importance shares,
   points, durations, ...), run on the *raw* data and tolerant of the structural errors found by
   pass 1, so a file with a misspelled key *and* weights that do not add up reports both.

Each problem is a :class:`BlueprintProblem` with a path such as
``scope[1].children[0].elements[3].weight`` (list indices from 0, as in the file) and a short
rule id. The numbers of the rules are module-level defaults gathered in :class:`BlueprintLimits`;
pass another instance to override them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from marshmallow import Schema, ValidationError, fields, validate

from itembank.errors import InvalidValue
from itembank.levels import FIVE_LEVELS, Level, parse_level
from itembank.occupations import Occupation, get_occupation

# --------------------------------------------------------------------------------------------
# Vocabularies and defaults (shared/domain.md; [practice] and [configurable] numbers)
# --------------------------------------------------------------------------------------------

#: Exam components: 理论知识, 操作技能, 综合评审.
COMPONENTS = ("theory", "skill", "review")
#: Importance of an element (鉴定点重要程度): X core, Y general, Z auxiliary.
IMPORTANCE_LEVELS = ("X", "Y", "Z")
#: Item types; the first three are theory types (判断, 单选, 多选).
ITEM_TYPES = ("true_false", "single_choice", "multiple_choice", "skill_task")
THEORY_ITEM_TYPES = ITEM_TYPES[:3]
#: How a multiple-choice item is scored: all keys or nothing, or partial credit.
MC_SCORING_RULES = ("all_or_nothing", "partial")

#: Tolerance when weights or points are compared with the sum they must reach.
WEIGHT_TOLERANCE = 1e-6
#: Scope layers (鉴定范围) above the elements: 2 to 6.
MIN_SCOPE_DEPTH = 2
MAX_SCOPE_DEPTH = 6
#: Importance shares over the elements [practice]: X ≥ 80 %, Y ≤ 15 %, Z ≤ 5 %.
MIN_X_SHARE = 0.80
MAX_Y_SHARE = 0.15
MAX_Z_SHARE = 0.05
#: Shortest duration per component in minutes [practice; configurable].
MIN_DURATION_MINUTES: Mapping[str, int] = MappingProxyType({"theory": 90, "skill": 60, "review": 15})
#: Every component is scored out of 100 [practice].
TOTAL_POINTS = 100.0
#: The top scope layer adds up to 100 %.
TOTAL_WEIGHT = 100.0
#: Lowest level that has a 综合评审 (review) component: 二级/技师.
REVIEW_FROM_LEVEL = Level.L2

# Paper specification defaults (used when a file leaves the field out).
DEFAULT_PASS_MARK = 60.0
DEFAULT_TARGET_DIFFICULTY = 0.65
DEFAULT_DIFFICULTY_TOLERANCE = 0.05
DEFAULT_MIN_ELEMENT_COVERAGE = 0.5
DEFAULT_MAX_ITEMS_PER_ELEMENT = 1
DEFAULT_MIN_APPROVED_ITEMS_PER_ELEMENT = 4
DEFAULT_MC_SCORING = "all_or_nothing"
DEFAULT_KEY_BALANCE_BAND = (0.15, 0.35)
#: Options of a single-choice item (A-D); the key balance band must allow shares summing to 1.
SINGLE_CHOICE_OPTIONS = 4

_CODE_RE = re.compile(r"[A-Za-z0-9]+(?:[-.][A-Za-z0-9]+)*")


@dataclass(frozen=True)
class BlueprintLimits:
    """The numbers the rules check against; the defaults are the module constants.

    Parameters
    ----------
    min_x_share, max_y_share, max_z_share : float
        Importance shares over the elements (count of elements, not weight).
    min_duration_minutes : mapping of str to int
        Shortest duration per component.
    min_scope_depth, max_scope_depth : int
        Scope layers above the elements.
    weight_tolerance : float
        Absolute tolerance for sums of weights and points.
    total_points : float
        What every component is scored out of.
    """

    min_x_share: float = MIN_X_SHARE
    max_y_share: float = MAX_Y_SHARE
    max_z_share: float = MAX_Z_SHARE
    min_duration_minutes: Mapping[str, int] = field(default_factory=lambda: MIN_DURATION_MINUTES)
    min_scope_depth: int = MIN_SCOPE_DEPTH
    max_scope_depth: int = MAX_SCOPE_DEPTH
    weight_tolerance: float = WEIGHT_TOLERANCE
    total_points: float = TOTAL_POINTS


DEFAULT_LIMITS = BlueprintLimits()


@dataclass(frozen=True)
class BlueprintProblem:
    """One problem found in a blueprint.

    Attributes
    ----------
    file : str
        The source the data came from (a path, or what the caller passed).
    path : str
        Where in the data, e.g. ``"scope[1].children[0].elements[3].weight"``; ``""`` for the
        whole document.
    rule : str
        Short stable id of the rule, e.g. ``"weights_sum"``; tests and callers branch on it.
    message : str
        Chinese message; it names the codes involved (``鉴定范围 B-02``, ``鉴定点 B-02-01-003``).
    message_en : str
        English message.
    """

    file: str
    path: str
    rule: str
    message: str
    message_en: str = ""

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: [{self.rule}] {self.message_en or self.message}"


# --------------------------------------------------------------------------------------------
# Pass 1: structure (marshmallow 4)
# --------------------------------------------------------------------------------------------

class _Number(fields.Float):
    """A number as TOML/YAML/JSON write it: text and booleans are refused (Float coerces them)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class _Text(fields.String):
    """Non-blank text, stripped."""

    default_error_messages = {"blank": "Must not be blank."}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text:
            raise self.make_error("blank")
        return text


def _int(**kwargs) -> fields.Integer:
    return fields.Integer(strict=True, **kwargs)


class ElementSchema(Schema):
    """A 鉴定点: ``{code, name, weight, importance}``."""

    code = _Text(required=True)
    name = _Text(required=True)
    weight = _Number(required=True)
    importance = fields.String(required=True, validate=validate.OneOf(IMPORTANCE_LEVELS))


class ScopeNodeSchema(Schema):
    """A 鉴定范围 node: ``{code, name, weight}`` plus ``children`` or ``elements``."""

    code = _Text(required=True)
    name = _Text(required=True)
    weight = _Number(required=True)
    children = fields.List(fields.Nested(lambda: ScopeNodeSchema()), load_default=list)
    elements = fields.List(fields.Nested(ElementSchema), load_default=list)


class ItemTypeSpecSchema(Schema):
    """``{type, count, points_each}``."""

    type = fields.String(required=True, validate=validate.OneOf(ITEM_TYPES))
    count = _int(required=True)
    points_each = _Number(required=True)


class RubricCriterionSchema(Schema):
    """A line of a scoring record (评分记录表)."""

    code = _Text(required=True)
    description = _Text(required=True)
    points = _Number(required=True)
    deduction_rule = fields.String(load_default="")


class SkillTaskSchema(Schema):
    """An operational task (操作技能试题) with its rubric."""

    code = _Text(required=True)
    title = _Text(required=True)
    element_codes = fields.List(_Text(), required=True)
    time_minutes = _int(required=True)
    points = _Number(required=True)
    materials = fields.List(_Text(), load_default=list)
    rubric = fields.List(fields.Nested(RubricCriterionSchema), required=True)
    module = _Text(load_default="")
    equipment = fields.List(_Text(), load_default=list)
    vetoes = fields.List(_Text(), load_default=list)


class SkillModuleSchema(Schema):
    """A module (模块) of tasks: ``{code, name, draw}``; a paper draws ``draw`` of its tasks."""

    code = _Text(required=True)
    name = _Text(required=True)
    draw = _int(load_default=1)


class PaperSpecSchema(Schema):
    """The paper specification; left-out fields take the module defaults."""

    item_types = fields.List(fields.Nested(ItemTypeSpecSchema), load_default=list)
    total_points = _Number(load_default=TOTAL_POINTS)
    duration_minutes = _int(required=True)
    pass_mark = _Number(load_default=DEFAULT_PASS_MARK)
    target_difficulty = _Number(load_default=DEFAULT_TARGET_DIFFICULTY)
    difficulty_tolerance = _Number(load_default=DEFAULT_DIFFICULTY_TOLERANCE)
    min_element_coverage = _Number(load_default=DEFAULT_MIN_ELEMENT_COVERAGE)
    max_items_per_element = _int(load_default=DEFAULT_MAX_ITEMS_PER_ELEMENT)
    min_approved_items_per_element = _int(load_default=DEFAULT_MIN_APPROVED_ITEMS_PER_ELEMENT)
    multiple_choice_scoring = fields.String(load_default=DEFAULT_MC_SCORING,
                                            validate=validate.OneOf(MC_SCORING_RULES))
    key_balance_band = fields.Tuple((_Number(), _Number()), load_default=DEFAULT_KEY_BALANCE_BAND)
    skill_tasks = fields.List(fields.Nested(SkillTaskSchema), load_default=list)
    modules = fields.List(fields.Nested(SkillModuleSchema), load_default=list)


class BlueprintSchema(Schema):
    """The whole blueprint document."""

    occupation_code = _Text(required=True)
    occupation_name = _Text(required=True)
    work_type = fields.String(load_default="")
    level = fields.Raw(required=True)  # "4", 4, "四级/中级工" ...: parsed by the rules pass
    component = fields.String(required=True, validate=validate.OneOf(COMPONENTS))
    standard = _Text(required=True)
    title = _Text(required=True)
    scope = fields.List(fields.Nested(ScopeNodeSchema), required=True)
    paper = fields.Nested(PaperSpecSchema, required=True)


# Which rule a marshmallow message stands for; a closed-vocabulary field names its own rule.
_MESSAGE_RULES = {
    fields.Field.default_error_messages["required"]: "required",
    fields.Field.default_error_messages["null"]: "required",
    Schema._default_error_messages["unknown"]: "unknown_field",
    _Text.default_error_messages["blank"]: "blank",
}
_FIELD_RULES = {"component": "component", "importance": "importance", "type": "item_type",
                "multiple_choice_scoring": "mc_scoring"}
_RULE_ZH = {"required": "缺少必填字段", "unknown_field": "未知字段", "blank": "不能为空",
            "type": "类型或格式不正确", "component": "考核类别只能是 theory、skill、review 之一",
            "importance": "重要程度只能是 X、Y、Z 之一",
            "item_type": "题型只能是 true_false、single_choice、multiple_choice、skill_task 之一",
            "mc_scoring": "多选题计分方式只能是 all_or_nothing 或 partial"}


def _flatten(messages: Any, path: str = "") -> Iterable[tuple[str, str]]:
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "_schema":
                yield from _flatten(value, path)
            elif isinstance(key, int):
                yield from _flatten(value, f"{path}[{key}]")
            else:
                yield from _flatten(value, f"{path}.{key}" if path else str(key))
    elif isinstance(messages, list):
        for message in messages:
            yield from _flatten(message, path)
    else:
        yield path, str(messages)


def load_structure(data: Any) -> tuple[dict | None, list[tuple[str, str, str, str]]]:
    """Check the structure of blueprint data with :class:`BlueprintSchema`.

    Parameters
    ----------
    data : Any
        What the file parser produced; should be a mapping.

    Returns
    -------
    loaded : dict or None
        The loaded data with defaults filled in, or ``None`` if there were errors.
    problems : list of (path, rule, message, message_en)
        Every structural problem.
    """
    if not isinstance(data, Mapping):
        return None, [("", "type", "蓝图文件的顶层应为键值表", "the top of a blueprint must be a table")]
    try:
        return BlueprintSchema().load(dict(data)), []
    except ValidationError as exc:
        problems = []
        for path, message in _flatten(exc.messages):
            rule = _MESSAGE_RULES.get(message)
            if rule is None:
                rule = _FIELD_RULES.get(path.rsplit(".", 1)[-1], "type")
            problems.append((path, rule, f"{_RULE_ZH[rule]}：{message}", message))
        return None, problems


# --------------------------------------------------------------------------------------------
# Pass 2: domain rules on the raw data
# --------------------------------------------------------------------------------------------

def _num(value: Any) -> float | None:
    """A finite number as float, else ``None`` (pass 1 reports the type)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _int_value(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _dicts(value: Any) -> list[tuple[int, Mapping]]:
    if not isinstance(value, list):
        return []
    return [(i, v) for i, v in enumerate(value) if isinstance(v, Mapping)]


def _fmt(x: float) -> str:
    return f"{x:.6g}"


class _Checker:
    def __init__(self, limits: BlueprintLimits, occupations: Iterable[Occupation] | None):
        self.limits = limits
        self.occupations = occupations
        self.problems: list[tuple[str, str, str, str]] = []
        self.codes: dict[str, str] = {}          # code -> path where first seen
        self.elements: list[tuple[str, str]] = []  # (code, importance) in order

    def add(self, path: str, rule: str, message: str, message_en: str) -> None:
        self.problems.append((path, rule, message, message_en))

    def close(self, total: float, expected: float) -> bool:
        return abs(total - expected) <= self.limits.weight_tolerance

    # -- header -------------------------------------------------------------------------------
    def header(self, data: Mapping) -> tuple[Level | None, str | None, Occupation | None]:
        occupation = None
        code = data.get("occupation_code")
        if isinstance(code, str):
            try:
                occupation = get_occupation(code, self.occupations)
            except InvalidValue as exc:
                self.add("occupation_code", "occupation_code", exc.message, exc.message_en)
        name = data.get("occupation_name")
        if occupation is not None and isinstance(name, str) and name.strip() != occupation.name:
            self.add("occupation_name", "occupation_name",
                     f"职业名称「{name}」与职业编码 {occupation.code} 的名称「{occupation.name}」不一致",
                     f"occupation name {name!r} does not match {occupation.code} ({occupation.name})")
        level = None
        if "level" in data:
            try:
                level = parse_level(data["level"])
            except InvalidValue as exc:
                self.add("level", "level_allowed", exc.message, exc.message_en)
        if level is not None and occupation is not None and level in FIVE_LEVELS \
                and level not in occupation.levels:
            self.add("level", "level_allowed",
                     f"{occupation.name}（{occupation.code}）的国家职业技能标准未设{level.name_zh}",
                     f"the national standard of {occupation.code} has no level {level.value}")
        component = data.get("component")
        component = component if component in COMPONENTS else None
        if component == "review" and level is not None and level.rank < REVIEW_FROM_LEVEL.rank:
            self.add("component", "component_allowed",
                     f"综合评审只用于二级/技师及以上，{level.name_zh}没有综合评审",
                     f"a review component exists from level 2 up, not for level {level.value}")
        return level, component, occupation

    # -- scope tree ---------------------------------------------------------------------------
    def code(self, node: Mapping, path: str, parent_code: str | None, kind_zh: str) -> str | None:
        code = node.get("code")
        if not isinstance(code, str) or not code.strip():
            return None
        code = code.strip()
        if not _CODE_RE.fullmatch(code):
            self.add(f"{path}.code", "code_scheme",
                     f"{kind_zh}代码「{code}」只能由字母、数字和分隔符 - 或 . 组成",
                     f"code {code!r} may only contain letters, digits and '-' or '.' separators")
        elif parent_code is not None and _CODE_RE.fullmatch(parent_code):
            rest = code[len(parent_code) + 1:]
            if not (code[:len(parent_code)] == parent_code and code[len(parent_code):][:1] in "-."
                    and rest and "-" not in rest and "." not in rest):
                self.add(f"{path}.code", "code_scheme",
                         f"{kind_zh}代码「{code}」应由上级代码「{parent_code}」加一段组成，如 {parent_code}-01",
                         f"code {code!r} must extend its parent's code {parent_code!r} by one "
                         f"segment, e.g. {parent_code}-01")
        elif parent_code is None and ("-" in code or "." in code):
            self.add(f"{path}.code", "code_scheme",
                     f"第一层鉴定范围代码「{code}」不应含分隔符",
                     f"a top-layer code {code!r} has no separator")
        if code in self.codes:
            self.add(f"{path}.code", "code_unique",
                     f"代码 {code} 重复（首次出现于 {self.codes[code]}）",
                     f"code {code} is used again (first at {self.codes[code]})")
        else:
            self.codes[code] = path
        return code

    def weights(self, items: list[tuple[int, Mapping]], count: int, list_path: str,
                owner_path: str, expected: float | None, owner_zh: str, owner_en: str) -> None:
        values = []
        for i, item in items:
            weight = _num(item.get("weight"))
            if weight is not None and weight <= 0:
                self.add(f"{list_path}[{i}].weight", "weight_positive",
                         f"比重应大于 0，实为 {_fmt(weight)}", f"weight must be > 0, got {_fmt(weight)}")
            values.append(weight)
        if expected is None or len(values) != count or None in values or count == 0:
            return  # a missing or malformed weight is reported by pass 1
        total = math.fsum(values)
        if not self.close(total, expected):
            self.add(owner_path, "weights_sum",
                     f"{owner_zh}的下级比重之和为 {_fmt(total)}，应为 {_fmt(expected)}",
                     f"the weights under {owner_en} add up to {_fmt(total)}, expected {_fmt(expected)}")

    def scope(self, nodes: Any, path: str, depth: int, parent_code: str | None) -> None:
        for i, node in _dicts(nodes):
            node_path = f"{path}[{i}]"
            code = self.code(node, node_path, parent_code, "鉴定范围")
            label_zh, label_en = f"鉴定范围 {code or node_path}", f"scope {code or node_path}"
            children, elements = node.get("children"), node.get("elements")
            has_children = isinstance(children, list) and len(children) > 0
            has_elements = isinstance(elements, list) and len(elements) > 0
            if has_children and has_elements:
                self.add(node_path, "node_shape", f"{label_zh} 不能同时有下级范围和鉴定点",
                         f"{label_en} has both children and elements")
            elif not has_children and not has_elements:
                self.add(node_path, "node_shape", f"{label_zh} 没有下级范围也没有鉴定点",
                         f"{label_en} has neither children nor elements")
            if depth == self.limits.max_scope_depth + 1:
                self.add(node_path, "depth",
                         f"{label_zh} 位于第 {depth} 层，鉴定范围最多 {self.limits.max_scope_depth} 层",
                         f"{label_en} is at layer {depth}; at most "
                         f"{self.limits.max_scope_depth} scope layers")
            weight = _num(node.get("weight"))
            if has_children:
                self.weights(_dicts(children), len(children), f"{node_path}.children", node_path,
                             weight, label_zh, label_en)
                self.scope(children, f"{node_path}.children", depth + 1, code)
            if has_elements:
                if depth < self.limits.min_scope_depth:
                    self.add(node_path, "depth",
                             f"{label_zh} 的鉴定点位于第 {depth} 层之下，鉴定范围至少 "
                             f"{self.limits.min_scope_depth} 层",
                             f"elements under {label_en} sit below layer {depth}; at least "
                             f"{self.limits.min_scope_depth} scope layers")
                self.weights(_dicts(elements), len(elements), f"{node_path}.elements", node_path,
                             weight, label_zh, label_en)
                for j, element in _dicts(elements):
                    element_code = self.code(element, f"{node_path}.elements[{j}]", code, "鉴定点")
                    importance = element.get("importance")
                    if element_code is not None:
                        self.elements.append((element_code, importance))

    def importance(self) -> None:
        counted = [imp for _, imp in self.elements if imp in IMPORTANCE_LEVELS]
        n = len(counted)
        if n == 0:
            return
        eps = 1e-9
        for letter, bound, at_least in (("X", self.limits.min_x_share, True),
                                        ("Y", self.limits.max_y_share, False),
                                        ("Z", self.limits.max_z_share, False)):
            k = counted.count(letter)
            share = k / n
            if (share < bound - eps) if at_least else (share > bound + eps):
                word_zh, word_en = ("不少于", "at least") if at_least else ("不超过", "at most")
                self.add("scope", "importance_share",
                         f"重要程度 {letter} 的鉴定点占 {share:.1%}（{k}/{n}），应{word_zh} {bound:.0%}",
                         f"{letter} elements are {share:.1%} ({k} of {n}); {word_en} {bound:.0%} required")

    # -- paper --------------------------------------------------------------------------------
    def paper(self, paper: Any, component: str | None) -> None:
        if not isinstance(paper, Mapping):
            return
        lim = self.limits

        def value(key, default):
            return paper[key] if key in paper else default

        total = _num(value("total_points", TOTAL_POINTS))
        if total is not None and not self.close(total, lim.total_points):
            self.add("paper.total_points", "total_points",
                     f"满分应为 {_fmt(lim.total_points)} 分，实为 {_fmt(total)}",
                     f"a component is scored out of {_fmt(lim.total_points)}, got {_fmt(total)}")
        pass_mark = _num(value("pass_mark", DEFAULT_PASS_MARK))
        if pass_mark is not None and total is not None and not 0 < pass_mark <= total:
            self.add("paper.pass_mark", "pass_mark", f"合格分数线应在 0 到 {_fmt(total)} 之间",
                     f"pass mark must be in (0, {_fmt(total)}]")
        duration = _int_value(paper.get("duration_minutes"))
        minimum = lim.min_duration_minutes.get(component) if component else None
        if duration is not None and minimum is not None and duration < minimum:
            self.add("paper.duration_minutes", "duration_min",
                     f"考核时长 {duration} 分钟，{component} 至少 {minimum} 分钟",
                     f"duration {duration} min is below the {minimum} min minimum for {component}")
        target = _num(value("target_difficulty", DEFAULT_TARGET_DIFFICULTY))
        if target is not None and not 0 < target < 1:
            self.add("paper.target_difficulty", "difficulty_range",
                     "目标难度（通过率）应在 0 与 1 之间", "target difficulty must be in (0, 1)")
        tolerance = _num(value("difficulty_tolerance", DEFAULT_DIFFICULTY_TOLERANCE))
        if tolerance is not None and not 0 < tolerance < 0.5:
            self.add("paper.difficulty_tolerance", "difficulty_tolerance",
                     "难度容差应大于 0 且小于 0.5", "difficulty tolerance must be in (0, 0.5)")
        coverage = _num(value("min_element_coverage", DEFAULT_MIN_ELEMENT_COVERAGE))
        if coverage is not None and not 0 < coverage <= 1:
            self.add("paper.min_element_coverage", "coverage_range",
                     "鉴定点覆盖率应大于 0 且不超过 1", "element coverage must be in (0, 1]")
        per_element = _int_value(value("max_items_per_element", DEFAULT_MAX_ITEMS_PER_ELEMENT))
        if per_element is not None and per_element < 1:
            self.add("paper.max_items_per_element", "items_per_element",
                     "每个鉴定点最多出题数应至少为 1", "max items per element must be at least 1")
        approved = _int_value(value("min_approved_items_per_element",
                                    DEFAULT_MIN_APPROVED_ITEMS_PER_ELEMENT))
        if approved is not None and approved < 1:
            self.add("paper.min_approved_items_per_element", "approved_items_min",
                     "每个鉴定点的最少已审定试题数应至少为 1",
                     "min approved items per element must be at least 1")
        self.key_band(value("key_balance_band", DEFAULT_KEY_BALANCE_BAND))
        count = self.item_types(paper.get("item_types", []), component, total)
        tasks = paper.get("skill_tasks", [])
        modules = paper.get("modules", [])
        if component == "theory":
            if isinstance(tasks, list) and tasks:
                self.add("paper.skill_tasks", "item_type_component",
                         "理论知识考核不应有操作技能试题", "a theory paper has no skill tasks")
            if isinstance(modules, list) and modules:
                self.add("paper.modules", "item_type_component",
                         "理论知识考核不应有操作技能模块", "a theory paper has no task modules")
            n = len(self.elements)
            if count and n and per_element is not None and per_element >= 1 \
                    and count > n * per_element:
                self.add("paper.item_types", "paper_feasible",
                         f"试卷共 {count} 题，超过 {n} 个鉴定点 × 每点最多 {per_element} 题",
                         f"{count} items exceed {n} elements x {per_element} item(s) each")
            if count and n and coverage is not None and 0 < coverage <= 1 \
                    and count < math.ceil(coverage * n - 1e-9):
                self.add("paper.item_types", "paper_feasible",
                         f"试卷共 {count} 题，无法覆盖 {coverage:.0%} 的鉴定点（{n} 个）",
                         f"{count} items cannot cover {coverage:.0%} of {n} elements")
        elif component in ("skill", "review"):
            if isinstance(modules, list) and modules:
                task_count = self.modules(modules, tasks, total, duration)
            else:
                task_count = self.skill_tasks(tasks, total, duration)
            if count is not None and count and task_count is not None and count != task_count:
                self.add("paper.item_types", "counts_total",
                         f"题型表列出 {count} 道操作题，实有 {task_count} 道",
                         f"item types list {count} task(s), the paper has {task_count}")

    def key_band(self, band: Any) -> None:
        if not isinstance(band, (list, tuple)) or len(band) != 2:
            return
        low, high = _num(band[0]), _num(band[1])
        if low is None or high is None:
            return
        if not (0 <= low <= high <= 1 and low * SINGLE_CHOICE_OPTIONS <= 1 <= high * SINGLE_CHOICE_OPTIONS):
            self.add("paper.key_balance_band", "key_balance_band",
                     f"答案分布区间 ({_fmt(low)}, {_fmt(high)}) 不可行：应 0 ≤ 下限 ≤ 上限 ≤ 1，"
                     f"且 4 个选项的占比能合计为 1",
                     f"key balance band ({_fmt(low)}, {_fmt(high)}) is infeasible: need "
                     f"0 <= low <= high <= 1 and four option shares able to sum to 1")

    def item_types(self, specs: Any, component: str | None, total: float | None) -> int | None:
        entries = _dicts(specs)
        if component == "theory" and isinstance(specs, list) and not specs:
            self.add("paper.item_types", "item_type_component", "理论知识试卷应列出题型、题量和分值",
                     "a theory paper lists its item types, counts and points")
        seen: set[str] = set()
        products, count = [], 0
        for i, spec in entries:
            path = f"paper.item_types[{i}]"
            kind = spec.get("type")
            if kind in ITEM_TYPES:
                if kind in seen:
                    self.add(f"{path}.type", "item_type_unique", f"题型 {kind} 重复",
                             f"item type {kind} is listed twice")
                seen.add(kind)
                if component == "theory" and kind == "skill_task":
                    self.add(f"{path}.type", "item_type_component", "理论知识试卷不能含操作技能题",
                             "a theory paper has no skill_task items")
                if component in ("skill", "review") and kind != "skill_task":
                    self.add(f"{path}.type", "item_type_component",
                             f"操作技能/综合评审试卷不能含 {kind} 题",
                             f"a {component} paper has skill tasks only, not {kind}")
            n, points = _int_value(spec.get("count")), _num(spec.get("points_each"))
            if n is not None and n < 1:
                self.add(f"{path}.count", "positive", "题量应至少为 1", "count must be at least 1")
            if points is not None and points <= 0:
                self.add(f"{path}.points_each", "positive", "每题分值应大于 0",
                         "points each must be > 0")
            products.append(None if n is None or points is None else n * points)
            count += n or 0
        if entries and len(entries) == len(specs) and None not in products and total is not None:
            points_sum = math.fsum(products)
            if not self.close(points_sum, total):
                self.add("paper.item_types", "counts_total",
                         f"各题型题量 × 分值之和为 {_fmt(points_sum)}，应为 {_fmt(total)}",
                         f"counts x points add up to {_fmt(points_sum)}, expected {_fmt(total)}")
        return count

    def skill_tasks(self, tasks: Any, total: float | None, duration: int | None) -> int | None:
        """Tasks without modules: every task is on the paper."""
        values = self.task_list(tasks, module_codes=None)
        if values is None:
            return None
        complete = len(values) == len(tasks)
        points = [p for p, _ in values.values()]
        if complete and None not in points and total is not None:
            points_sum = math.fsum(points)
            if not self.close(points_sum, total):
                self.add("paper.skill_tasks", "tasks_total",
                         f"各试题配分之和为 {_fmt(points_sum)}，应为 {_fmt(total)}",
                         f"task points add up to {_fmt(points_sum)}, expected {_fmt(total)}")
        self.paper_time([t for _, t in values.values()] if complete else [None], duration)
        return len(tasks)

    def paper_time(self, times: list[int | None], duration: int | None) -> None:
        if not times or None in times or duration is None or sum(times) <= duration:
            return
        self.add("paper.skill_tasks", "task_time",
                 f"各试题考核时间合计 {sum(times)} 分钟，超过考核时长 {duration} 分钟",
                 f"task times add up to {sum(times)} min, more than the {duration} min duration")

    def modules(self, modules: list, tasks: Any, total: float | None, duration: int | None) -> int | None:
        """Task pools: module codes unique, each task in a declared module, one module's tasks
        alike in points and time, ``1 <= draw <= pool size``, and per paper ``sum(draw x points)``
        equal to the total and ``sum(draw x time)`` within the duration."""
        declared: set[str] = set()
        for i, module in _dicts(modules):
            code = module.get("code")
            if isinstance(code, str) and code.strip():
                if code.strip() in declared:
                    self.add(f"paper.modules[{i}].code", "code_unique", f"模块代码 {code} 重复",
                             f"module code {code} is used twice")
                declared.add(code.strip())
        values = self.task_list(tasks, module_codes=declared)
        if values is None:
            return None
        per_paper = [self.module(i, module, tasks, values) for i, module in _dicts(modules)]
        complete = len(per_paper) == len(modules) and all(None not in entry for entry in per_paper)
        if complete and total is not None:
            points_sum = math.fsum(d * p for d, p, _ in per_paper)
            if not self.close(points_sum, total):
                self.add("paper.modules", "tasks_total",
                         f"各模块抽题数 × 试题配分之和为 {_fmt(points_sum)}，应为 {_fmt(total)}",
                         f"draw x task points over the modules add up to {_fmt(points_sum)}, "
                         f"expected {_fmt(total)}")
        self.paper_time([d * t for d, _, t in per_paper] if complete else [None], duration)
        return sum(d for d, _, _ in per_paper if d is not None)

    def module(self, i: int, module: Mapping, tasks: list, values: dict[int, tuple[float | None, int | None]]
               ) -> tuple[int | None, float | None, int | None]:
        """Checks one module's draw and pool; returns (draw, points, time) of one drawn task,
        ``None`` where unknown or inconsistent."""
        code = module.get("code")
        code = code.strip() if isinstance(code, str) else code
        pool = [j for j, task in _dicts(tasks)
                if isinstance(task.get("module"), str) and task["module"].strip() == code]
        draw = _int_value(module.get("draw", 1))
        if draw is not None and not 1 <= draw <= len(pool):
            self.add(f"paper.modules[{i}].draw", "module_draw",
                     f"模块 {code} 抽取 {draw} 道题，应至少 1 道且不超过其题库中的 {len(pool)} 道",
                     f"module {code} draws {draw} task(s): at least 1 and at most the "
                     f"{len(pool)} in its pool")
        points = {values[j][0] for j in pool if j in values} - {None}
        times = {values[j][1] for j in pool if j in values} - {None}
        if len(points) > 1 or len(times) > 1:
            names = "、".join(str(tasks[j].get("code")) for j in pool)
            self.add(f"paper.modules[{i}]", "module_uniform",
                     f"模块 {code} 的试题（{names}）配分或考核时间不一致，不能互换",
                     f"the tasks of module {code} ({names}) differ in points or time, so they "
                     f"are not interchangeable")
            return draw, None, None
        return draw, next(iter(points), None), next(iter(times), None)

    def task_list(self, tasks: Any, module_codes: set[str] | None
                  ) -> dict[int, tuple[float | None, int | None]] | None:
        """Checks of each task on its own; returns ``{index: (points, time)}`` of the tasks that
        are tables (``None`` where a value is malformed), or ``None`` when ``tasks`` is not a list.

        ``module_codes``: the declared modules, or ``None`` when the blueprint declares none."""
        if not isinstance(tasks, list):
            return None
        if not tasks:
            self.add("paper.skill_tasks", "item_type_component", "操作技能/综合评审试卷应列出考核试题",
                     "a skill or review paper lists its tasks")
            return {}
        element_codes = {code for code, _ in self.elements}
        codes: set[str] = set()
        values: dict[int, tuple[float | None, int | None]] = {}
        for i, task in _dicts(tasks):
            path = f"paper.skill_tasks[{i}]"
            code = task.get("code")
            if isinstance(code, str):
                if code in codes:
                    self.add(f"{path}.code", "code_unique", f"试题代码 {code} 重复",
                             f"task code {code} is used twice")
                codes.add(code)
            refs = task.get("element_codes")
            if isinstance(refs, list):
                if not refs:
                    self.add(f"{path}.element_codes", "task_elements", f"试题 {code} 未对应任何鉴定点",
                             f"task {code} covers no element")
                for j, ref in enumerate(refs):
                    if isinstance(ref, str) and ref.strip() not in element_codes:
                        self.add(f"{path}.element_codes[{j}]", "task_elements",
                                 f"试题 {code} 引用的鉴定点 {ref} 不存在",
                                 f"task {code} refers to unknown element {ref}")
            time, task_points = _int_value(task.get("time_minutes")), _num(task.get("points"))
            if time is not None and time <= 0:
                self.add(f"{path}.time_minutes", "positive", "考核时间应大于 0",
                         "time must be > 0")
            if task_points is not None and task_points <= 0:
                self.add(f"{path}.points", "positive", "配分应大于 0", "points must be > 0")
            values[i] = (task_points, time)
            self.rubric(task.get("rubric"), path, code, task_points)
            self.task_module(task.get("module", ""), path, code, module_codes)
        return values

    def task_module(self, module: Any, path: str, code: Any, module_codes: set[str] | None) -> None:
        if not isinstance(module, str):
            return
        if module_codes is None:
            if module.strip():
                self.add(f"{path}.module", "task_module",
                         f"试题 {code} 属于模块 {module}，但蓝图未列出任何模块（paper.modules）",
                         f"task {code} names module {module} but the blueprint declares no modules "
                         f"(paper.modules)")
        elif module.strip() not in module_codes:
            self.add(f"{path}.module", "task_module",
                     f"试题 {code} 应属于已列出的模块之一（{'、'.join(sorted(module_codes))}）",
                     f"task {code} must name one of the declared modules "
                     f"({', '.join(sorted(module_codes))})")

    def rubric(self, rubric: Any, task_path: str, task_code: Any, task_points: float | None) -> None:
        if not isinstance(rubric, list):
            return
        if not rubric:
            self.add(f"{task_path}.rubric", "rubric_total", f"试题 {task_code} 没有评分项",
                     f"task {task_code} has no rubric criteria")
            return
        codes: set[str] = set()
        points = []
        for k, criterion in _dicts(rubric):
            path = f"{task_path}.rubric[{k}]"
            code = criterion.get("code")
            if isinstance(code, str):
                if code in codes:
                    self.add(f"{path}.code", "code_unique", f"评分项代码 {code} 重复",
                             f"criterion code {code} is used twice")
                codes.add(code)
            value = _num(criterion.get("points"))
            if value is not None and value <= 0:
                self.add(f"{path}.points", "positive", "评分项配分应大于 0",
                         "criterion points must be > 0")
            points.append(value)
        if len(points) == len(rubric) and None not in points and task_points is not None:
            points_sum = math.fsum(points)
            if not self.close(points_sum, task_points):
                self.add(f"{task_path}.rubric", "rubric_total",
                         f"试题 {task_code} 评分项配分之和为 {_fmt(points_sum)}，应为 {_fmt(task_points)}",
                         f"rubric of task {task_code} adds up to {_fmt(points_sum)}, "
                         f"expected {_fmt(task_points)}")


def check_rules(data: Any, limits: BlueprintLimits = DEFAULT_LIMITS,
                occupations: Iterable[Occupation] | None = None) -> list[tuple[str, str, str, str]]:
    """Check the domain rules of blueprint data.

    Runs on the raw data and skips a value that pass 1 reports as malformed, so the two passes
    never report the same value twice and together report everything.

    Parameters
    ----------
    data : Any
        The raw blueprint data (a mapping as read from the file).
    limits : BlueprintLimits
        The numbers to check against.
    occupations : iterable of Occupation, optional
        The catalogue of occupations; default: the one shipped with :mod:`itembank`.

    Returns
    -------
    list of (path, rule, message, message_en)
    """
    if not isinstance(data, Mapping):
        return []
    checker = _Checker(limits, list(occupations) if occupations is not None else None)
    _, component, _ = checker.header(data)
    scope = data.get("scope")
    if isinstance(scope, list):
        if not scope:
            checker.add("scope", "node_shape", "蓝图没有鉴定范围", "the blueprint has no scope")
        checker.weights(_dicts(scope), len(scope), "scope", "scope", TOTAL_WEIGHT,
                        "第一层鉴定范围", "the top layer")
        checker.scope(scope, "scope", 1, None)
        checker.importance()
    checker.paper(data.get("paper"), component)
    return checker.problems
