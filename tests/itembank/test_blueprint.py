"""Exam blueprints (鉴定要素细目表 + paper specification): loading, rules, round trip, hashing."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itembank.blueprint import (
    Blueprint, BlueprintError, BlueprintLimits, Element, load_blueprint, parse_blueprint,
)
from itembank.errors import ItemBankError
from itembank.levels import Level

BLUEPRINTS = Path(__file__).resolve().parents[2] / "blueprints"
SHIPPED = {
    "4-03-02-01_L4_theory.toml": ("中式烹调师", Level.L4, "theory", 60),
    "4-04-05-05_L5_theory.toml": ("人工智能训练师", Level.L5, "theory", 40),
    "6-18-01-01_L4_skill.toml": ("车工", Level.L4, "skill", 40),
}


# --------------------------------------------------------------------------------------------
# Fixtures: small valid documents that each failing case breaks in one place
# --------------------------------------------------------------------------------------------

def _elements(scope_code: str, n: int, weight: float, importance: str = "X") -> list[dict]:
    return [{"code": f"{scope_code}-{i:03d}", "name": f"鉴定点 {scope_code}-{i:03d}",
             "weight": weight, "importance": importance} for i in range(1, n + 1)]


def theory_doc() -> dict:
    """中式烹调师 四级 theory: 2 layers, 10 elements of 10 %, 10 items."""
    return {
        "occupation_code": "4-03-02-01",
        "occupation_name": "中式烹调师",
        "level": "4",
        "component": "theory",
        "standard": "国家职业技能标准 中式烹调师 职业编码4-03-02-01 (2018年版)",
        "title": "测试蓝图",
        "scope": [
            {"code": "A", "name": "基本要求", "weight": 40, "children": [
                {"code": "A-01", "name": "职业道德", "weight": 40, "elements": _elements("A-01", 4, 10)},
            ]},
            {"code": "B", "name": "相关知识要求", "weight": 60, "children": [
                {"code": "B-01", "name": "菜肴制作", "weight": 60, "elements": _elements("B-01", 6, 10)},
            ]},
        ],
        "paper": {
            "duration_minutes": 90,
            "item_types": [{"type": "true_false", "count": 4, "points_each": 10},
                           {"type": "single_choice", "count": 6, "points_each": 10}],
        },
    }


def skill_doc() -> dict:
    """车工 四级 skill: same tree, two tasks of 60 + 40 points in 120 minutes."""
    doc = theory_doc()
    doc.update(occupation_code="6-18-01-01", occupation_name="车工", component="skill",
               standard="国家职业技能标准 车工 职业编码6-18-01-01 (2018年版)")
    doc["paper"] = {
        "duration_minutes": 120,
        "skill_tasks": [
            {"code": "T1", "title": "轴类零件车削", "element_codes": ["A-01-001", "B-01-002"],
             "time_minutes": 90, "points": 60, "materials": ["45 钢 φ45×120"],
             "rubric": [{"code": "R1", "description": "外圆 φ40 IT8 Ra1.6", "points": 40,
                         "deduction_rule": "超差不得分"},
                        {"code": "R2", "description": "安全文明生产", "points": 20}]},
            {"code": "T2", "title": "工艺卡编制", "element_codes": ["B-01-003"],
             "time_minutes": 30, "points": 40,
             "rubric": [{"code": "R1", "description": "加工顺序合理", "points": 40}]},
        ],
    }
    return doc


def problems(doc: dict, source: str = "case.toml", **kwargs) -> list[tuple[str, str]]:
    with pytest.raises(BlueprintError) as info:
        parse_blueprint(doc, source, **kwargs)
    assert all(error.file == source for error in info.value.errors)
    return [(error.path, error.rule) for error in info.value.errors]


# --------------------------------------------------------------------------------------------
# Shipped files
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_blueprint_loads(name):
    occupation, level, component, min_elements = SHIPPED[name]
    bp = load_blueprint(BLUEPRINTS / name)
    assert (bp.occupation_name, bp.level, bp.component) == (occupation, level, component)
    assert name.startswith(f"{bp.occupation_code}_L{bp.level.value}_{bp.component}")
    elements = bp.elements()
    assert len(elements) >= min_elements
    assert math.isclose(math.fsum(e.weight for e in elements), 100.0, abs_tol=1e-9)
    counts = bp.importance_counts()
    assert counts["X"] / len(elements) >= 0.80
    assert counts["Y"] / len(elements) <= 0.15 and counts["Z"] / len(elements) <= 0.05
    for element in elements:  # the code scheme: an element code extends its scope path
        assert element.code.startswith(element.scope_path[-1] + "-")
        assert 2 <= len(element.scope_path) <= 6
    paper = bp.paper
    assert paper.total_points == 100 and paper.pass_mark == 60
    if component == "theory":
        assert paper.duration_minutes >= 90
        assert math.isclose(sum(s.count * s.points_each for s in paper.item_types), 100)
        assert paper.item_count <= len(elements) * paper.max_items_per_element
    else:
        pools = paper.task_pools()  # a paper draws `draw` tasks of each module (each task its own without modules)
        assert paper.duration_minutes >= 60 and 2 <= paper.item_count <= 3
        assert math.isclose(sum(m.draw * tasks[0].points for m, tasks in pools), 100)
        assert sum(m.draw * tasks[0].time_minutes for m, tasks in pools) <= paper.duration_minutes
        for task in paper.skill_tasks:
            assert math.isclose(sum(c.points for c in task.rubric), task.points)
            assert all(code in bp.element_codes for code in task.element_codes)


def test_every_file_in_blueprints_folder_loads():
    files = sorted(p for p in BLUEPRINTS.iterdir() if p.suffix in (".toml", ".yaml", ".yml"))
    assert {p.name for p in files} >= set(SHIPPED)
    for path in files:
        load_blueprint(path)


def test_navigation_helpers():
    bp = load_blueprint(BLUEPRINTS / "6-18-01-01_L4_skill.toml")
    first = bp.elements()[0]
    assert bp.element_codes[0] == first.code == "A-01-001"
    assert bp.element(first.code) is first
    assert bp.scope_path("B-03-002") == ("B", "B-03") == bp.element("B-03-002").scope_path
    assert bp.scope_path("B-03") == ("B",) and bp.scope_path("B") == ()
    assert bp.scope_node("B-03").name == "螺纹加工"
    assert len(set(bp.element_codes)) == len(bp.element_codes)
    with pytest.raises(KeyError):
        bp.element("Z-99-999")
    with pytest.raises(KeyError):
        bp.scope_path("nope")


def test_element_weights_add_up_to_their_scope():
    bp = load_blueprint(BLUEPRINTS / "4-03-02-01_L4_theory.toml")

    def check(node):
        parts = node.children or node.elements
        assert math.isclose(math.fsum(p.weight for p in parts), node.weight, abs_tol=1e-9)
        for child in node.children:
            check(child)

    assert math.isclose(math.fsum(n.weight for n in bp.scope), 100.0)
    for node in bp.scope:
        check(node)


# --------------------------------------------------------------------------------------------
# Round trip and content hash
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_round_trip_to_dict_parse(name, tmp_path):
    bp = load_blueprint(BLUEPRINTS / name)
    again = parse_blueprint(bp.to_dict(), "round-trip")
    assert again == bp
    assert again.content_hash == bp.content_hash
    assert again.elements() == bp.elements()
    as_yaml = tmp_path / "copy.yaml"
    as_yaml.write_text(yaml.safe_dump(bp.to_dict(), allow_unicode=True), encoding="utf-8")
    from_yaml = load_blueprint(as_yaml)
    assert from_yaml == bp and from_yaml.content_hash == bp.content_hash


def test_round_trip_skill_doc_and_defaults_written_out():
    bp = parse_blueprint(skill_doc())
    data = bp.to_dict()
    assert data["paper"]["pass_mark"] == 60 and data["paper"]["key_balance_band"] == [0.15, 0.35]
    assert data["paper"]["skill_tasks"][1]["rubric"][0]["deduction_rule"] == ""
    assert parse_blueprint(data) == bp


def test_content_hash_stable_and_changes_with_a_revision():
    path = BLUEPRINTS / "4-04-05-05_L5_theory.toml"
    first, second = load_blueprint(path), load_blueprint(path)
    assert first is not second and first.content_hash == second.content_hash
    assert len(first.content_hash) == 64

    revised = first.to_dict()
    revised["scope"][1]["children"][1]["children"][0]["elements"][0]["name"] += "（修订）"
    assert parse_blueprint(revised).content_hash != first.content_hash

    pass_mark = first.to_dict()
    pass_mark["paper"]["pass_mark"] = 65
    assert parse_blueprint(pass_mark).content_hash != first.content_hash


def test_content_hash_ignores_layout_and_spelled_out_defaults():
    short = theory_doc()
    explicit = theory_doc()
    explicit["paper"].update(pass_mark=60, target_difficulty=0.65, total_points=100.0,
                             multiple_choice_scoring="all_or_nothing")
    explicit["level"] = "四级/中级工"
    assert parse_blueprint(short).content_hash == parse_blueprint(explicit).content_hash
    assert parse_blueprint(short) == parse_blueprint(explicit)


# --------------------------------------------------------------------------------------------
# Rules: each failing fixture names file, path and rule
# --------------------------------------------------------------------------------------------

def _set(path: str, value):
    """A mutation that sets the value at a dotted path like ``scope.0.children.0.weight``."""
    def mutate(doc):
        *parents, last = path.split(".")
        target = doc
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        if value is _DELETE:
            del target[int(last) if last.isdigit() else last]
        else:
            target[int(last) if last.isdigit() else last] = value
    return mutate


_DELETE = object()
E0 = "scope.0.children.0.elements.0"

THEORY_CASES = [
    # structure
    (_set("title", _DELETE), "title", "required"),
    (_set("colour", "red"), "colour", "unknown_field"),
    (_set(f"{E0}.weight", "10"), "scope[0].children[0].elements[0].weight", "type"),
    (_set("paper.duration_minutes", 90.5), "paper.duration_minutes", "type"),
    (_set("standard", "   "), "standard", "blank"),
    # header
    (_set("occupation_code", "4-03-02"), "occupation_code", "occupation_code"),
    (_set("occupation_code", "2-02-10-09"), "occupation_code", "occupation_code"),
    (_set("occupation_code", "4-99-99-99"), "occupation_code", "occupation_code"),
    (_set("occupation_name", "西式烹调师"), "occupation_name", "occupation_name"),
    (_set("level", "六级"), "level", "level_allowed"),
    (_set("component", "oral"), "component", "component"),
    (_set("component", "review"), "component", "component_allowed"),
    # tree
    (_set("scope.1.weight", 59), "scope", "weights_sum"),
    (_set("scope.0.children.0.weight", 39), "scope[0]", "weights_sum"),
    (_set(f"{E0}.weight", 9), "scope[0].children[0]", "weights_sum"),
    (_set(f"{E0}.weight", -10), "scope[0].children[0].elements[0].weight", "weight_positive"),
    (_set("scope.1.children.0.elements.5.code", "A-01-002"),
     "scope[1].children[0].elements[5].code", "code_unique"),
    (_set("scope.1.children.0.code", "A"), "scope[1].children[0].code", "code_unique"),
    (_set(f"{E0}.code", "B-01-009"), "scope[0].children[0].elements[0].code", "code_scheme"),
    (_set(f"{E0}.code", "A-01 001"), "scope[0].children[0].elements[0].code", "code_scheme"),
    (_set("scope.0.code", "A-1"), "scope[0].code", "code_scheme"),
    (_set("scope.0.children.0.children", [{"code": "A-01-01", "name": "x", "weight": 40,
                                           "elements": _elements("A-01-01", 4, 10)}]),
     "scope[0].children[0]", "node_shape"),
    (_set("scope.0.children.0.elements", []), "scope[0].children[0]", "node_shape"),
    (_set(f"{E0}.importance", "W"), "scope[0].children[0].elements[0].importance", "importance"),
    # paper
    (_set("paper.item_types.0.type", "essay"), "paper.item_types[0].type", "item_type"),
    (_set("paper.item_types.1.type", "true_false"), "paper.item_types[1].type", "item_type_unique"),
    (_set("paper.item_types.0.type", "skill_task"), "paper.item_types[0].type", "item_type_component"),
    (_set("paper.item_types", []), "paper.item_types", "item_type_component"),
    (_set("paper.skill_tasks", skill_doc()["paper"]["skill_tasks"]), "paper.skill_tasks",
     "item_type_component"),
    (_set("paper.item_types.0.points_each", 5), "paper.item_types", "counts_total"),
    (_set("paper.item_types.0.count", 0), "paper.item_types[0].count", "positive"),
    (_set("paper.total_points", 150), "paper.total_points", "total_points"),
    (_set("paper.pass_mark", 0), "paper.pass_mark", "pass_mark"),
    (_set("paper.duration_minutes", 60), "paper.duration_minutes", "duration_min"),
    (_set("paper.target_difficulty", 1.0), "paper.target_difficulty", "difficulty_range"),
    (_set("paper.difficulty_tolerance", 0), "paper.difficulty_tolerance", "difficulty_tolerance"),
    (_set("paper.min_element_coverage", 0), "paper.min_element_coverage", "coverage_range"),
    (_set("paper.min_element_coverage", 1.5), "paper.min_element_coverage", "coverage_range"),
    (_set("paper.max_items_per_element", 0), "paper.max_items_per_element", "items_per_element"),
    (_set("paper.min_approved_items_per_element", 0), "paper.min_approved_items_per_element",
     "approved_items_min"),
    (_set("paper.multiple_choice_scoring", "half"), "paper.multiple_choice_scoring", "mc_scoring"),
    (_set("paper.key_balance_band", [0.3, 0.2]), "paper.key_balance_band", "key_balance_band"),
    (_set("paper.key_balance_band", [0.3, 0.4]), "paper.key_balance_band", "key_balance_band"),
    (_set("paper.item_types", [{"type": "single_choice", "count": 20, "points_each": 5}]),
     "paper.item_types", "paper_feasible"),
    (_set("paper.item_types", [{"type": "single_choice", "count": 4, "points_each": 25}]),
     "paper.item_types", "paper_feasible"),
]


@pytest.mark.parametrize("mutate, path, rule", THEORY_CASES,
                         ids=[f"{rule}:{path}" for _, path, rule in THEORY_CASES])
def test_theory_rule_reports_file_path_and_rule(mutate, path, rule):
    doc = theory_doc()
    mutate(doc)
    assert (path, rule) in problems(doc, "bad-theory.toml")


SKILL_CASES = [
    (_set("paper.skill_tasks.1.points", 30), "paper.skill_tasks", "tasks_total"),
    (_set("paper.skill_tasks.0.rubric.1.points", 10), "paper.skill_tasks[0].rubric", "rubric_total"),
    (_set("paper.skill_tasks.0.rubric", []), "paper.skill_tasks[0].rubric", "rubric_total"),
    (_set("paper.skill_tasks.0.element_codes.1", "B-01-999"),
     "paper.skill_tasks[0].element_codes[1]", "task_elements"),
    (_set("paper.skill_tasks.1.element_codes", []), "paper.skill_tasks[1].element_codes",
     "task_elements"),
    (_set("paper.skill_tasks.1.time_minutes", 45), "paper.skill_tasks", "task_time"),
    (_set("paper.skill_tasks.1.time_minutes", 0), "paper.skill_tasks[1].time_minutes", "positive"),
    (_set("paper.skill_tasks.1.code", "T1"), "paper.skill_tasks[1].code", "code_unique"),
    (_set("paper.skill_tasks.0.rubric.1.code", "R1"), "paper.skill_tasks[0].rubric[1].code",
     "code_unique"),
    (_set("paper.skill_tasks", []), "paper.skill_tasks", "item_type_component"),
    (_set("paper.item_types", [{"type": "single_choice", "count": 2, "points_each": 50}]),
     "paper.item_types[0].type", "item_type_component"),
    (_set("paper.item_types", [{"type": "skill_task", "count": 3, "points_each": 25}]),
     "paper.item_types", "counts_total"),
    (_set("paper.duration_minutes", 50), "paper.duration_minutes", "duration_min"),
    (_set("paper.skill_tasks.0.rubric.0.deduction_rule", 5),
     "paper.skill_tasks[0].rubric[0].deduction_rule", "type"),
]


@pytest.mark.parametrize("mutate, path, rule", SKILL_CASES,
                         ids=[f"{rule}:{path}" for _, path, rule in SKILL_CASES])
def test_skill_rule_reports_file_path_and_rule(mutate, path, rule):
    doc = skill_doc()
    mutate(doc)
    assert (path, rule) in problems(doc, "bad-skill.toml")


def test_skill_item_types_may_list_the_tasks():
    doc = skill_doc()
    doc["paper"]["item_types"] = [{"type": "skill_task", "count": 2, "points_each": 50}]
    assert len(parse_blueprint(doc).paper.skill_tasks) == 2


def test_level_not_in_the_occupations_standard():
    doc = theory_doc()
    doc.update(occupation_code="6-02-01-02", occupation_name="糕点装饰师", level="5")
    assert ("level", "level_allowed") in problems(doc)


def test_review_component_for_technicians():
    doc = skill_doc()
    doc.update(level="2", component="review")
    doc["paper"]["duration_minutes"] = 30
    for task in doc["paper"]["skill_tasks"]:
        task["time_minutes"] = 15
    bp = parse_blueprint(doc)
    assert bp.component == "review" and bp.level is Level.L2
    doc["paper"]["duration_minutes"] = 10
    assert ("paper.duration_minutes", "duration_min") in problems(doc)


def test_depth_limits():
    shallow = theory_doc()
    shallow["scope"] = [{"code": "A", "name": "a", "weight": 100, "elements": _elements("A", 10, 10)}]
    assert ("scope[0]", "depth") in problems(shallow)

    deep = theory_doc()
    node = {"code": "A", "name": "L1", "weight": 100}
    deep["scope"] = [node]
    path = "scope[0]"
    for layer in range(2, 8):
        child = {"code": f"{node['code']}-{layer:02d}", "name": f"L{layer}", "weight": 100}
        node["children"] = [child]
        node, path = child, path + ".children[0]"
    node["elements"] = _elements(node["code"], 10, 10)
    assert (path, "depth") in problems(deep)          # layer 7 is one too many
    assert parse_blueprint(deep, limits=BlueprintLimits(max_scope_depth=7)).elements()


@pytest.mark.parametrize("importances", [["X"] * 7 + ["Y"] * 3,    # X 70 %
                                         ["X"] * 8 + ["Y"] * 2,    # Y 20 %
                                         ["X"] * 9 + ["Z"]])       # Z 10 %
def test_importance_shares(importances):
    doc = theory_doc()
    elements = [e for node in doc["scope"] for e in node["children"][0]["elements"]]
    for element, importance in zip(elements, importances):
        element["importance"] = importance
    assert ("scope", "importance_share") in problems(doc)
    lenient = BlueprintLimits(min_x_share=0.7, max_y_share=0.3, max_z_share=0.1)
    assert parse_blueprint(doc, limits=lenient).importance_counts()["X"] == importances.count("X")


def test_importance_share_at_the_boundary_passes():
    doc = theory_doc()  # 20 elements: 16 X (80 %), 3 Y (15 %), 1 Z (5 %)
    doc["scope"][0]["children"][0]["elements"] = _elements("A-01", 8, 5)
    b = _elements("B-01", 12, 5)
    for element, importance in zip(b[-4:], ["Y", "Y", "Y", "Z"]):
        element["importance"] = importance
    doc["scope"][1]["children"][0]["elements"] = b
    assert parse_blueprint(doc).importance_counts() == {"X": 16, "Y": 3, "Z": 1}


def test_duration_minimum_is_configurable():
    doc = theory_doc()
    doc["paper"]["duration_minutes"] = 60
    assert ("paper.duration_minutes", "duration_min") in problems(doc)
    limits = BlueprintLimits(min_duration_minutes={"theory": 60, "skill": 60, "review": 15})
    assert parse_blueprint(doc, limits=limits).paper.duration_minutes == 60


def test_several_problems_in_one_file_are_all_reported():
    doc = theory_doc()
    doc["level"] = "九级"
    doc["scope"][0]["weight"] = 45                                   # top layer 105, A's children 40
    doc["scope"][1]["children"][0]["elements"][2]["code"] = "A-01-001"
    doc["scope"][1]["children"][0]["elements"][3]["importance"] = "Q"
    doc["paper"]["duration_minutes"] = 45
    doc["paper"]["item_types"][1]["points_each"] = 9
    doc["paper"]["target_difficulty"] = 1.2
    doc["paper"]["extra"] = True
    with pytest.raises(BlueprintError) as info:
        parse_blueprint(doc, "many.toml")
    found = {(e.path, e.rule) for e in info.value.errors}
    assert found >= {
        ("level", "level_allowed"),
        ("scope", "weights_sum"),
        ("scope[0]", "weights_sum"),
        ("scope[1].children[0].elements[2].code", "code_unique"),
        ("scope[1].children[0].elements[3].importance", "importance"),
        ("paper.duration_minutes", "duration_min"),
        ("paper.item_types", "counts_total"),
        ("paper.target_difficulty", "difficulty_range"),
        ("paper.extra", "unknown_field"),
    }
    error = info.value
    assert isinstance(error, ItemBankError)
    assert len(error.errors) == len(found)
    assert all(e.file == "many.toml" and e.message and e.message_en for e in error.errors)
    text = str(error)
    assert "many.toml: scope[0]: [weights_sum]" in text and "[duration_min]" in text
    assert "B-01" not in [e.path for e in error.errors]
    assert any("A-01-001" in e.message for e in error.errors if e.rule == "code_unique")


def test_weights_sum_message_names_the_scope_code():
    doc = theory_doc()
    doc["scope"][1]["children"][0]["elements"][0]["weight"] = 11
    with pytest.raises(BlueprintError) as info:
        parse_blueprint(doc)
    (error,) = info.value.errors
    assert error.rule == "weights_sum" and "B-01" in error.message and "B-01" in error.message_en


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------

def test_load_yaml_and_toml_agree(tmp_path):
    doc = skill_doc()
    (tmp_path / "b.yml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    bp = load_blueprint(tmp_path / "b.yml")
    assert isinstance(bp, Blueprint) and bp == parse_blueprint(doc)
    assert isinstance(bp.elements()[0], Element)


def test_file_problems_name_the_file(tmp_path):
    bad_toml = tmp_path / "broken.toml"
    bad_toml.write_text('title = "unterminated\n', encoding="utf-8")
    with pytest.raises(BlueprintError) as info:
        load_blueprint(bad_toml)
    assert [(e.file, e.rule) for e in info.value.errors] == [(str(bad_toml), "syntax")]

    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(BlueprintError) as info:
        load_blueprint(listing)
    assert [(e.path, e.rule) for e in info.value.errors] == [("", "type")]

    with pytest.raises(BlueprintError) as info:
        load_blueprint(tmp_path / "blueprint.json")
    assert info.value.rules == {"file_format"}

    wrong = tmp_path / "wrong.toml"
    wrong.write_text((BLUEPRINTS / "6-18-01-01_L4_skill.toml").read_text("utf-8")
                     .replace("duration_minutes = 240", "duration_minutes = 200"), encoding="utf-8")
    with pytest.raises(BlueprintError) as info:
        load_blueprint(wrong)
    assert [(e.file, e.path, e.rule) for e in info.value.errors] == [
        (str(wrong), "paper.skill_tasks", "task_time")]


# --------------------------------------------------------------------------------------------
# Property: correct weight partitions validate; any perturbation is reported at its node
# --------------------------------------------------------------------------------------------

@st.composite
def weight_trees(draw):
    """A random scope tree whose weights (in quarters of a percent) add up layer by layer.

    Returns the blueprint data and, for every node and element, ``(path, parent_path,
    is_scope)``; the parent path of a top-layer node is ``"scope"``.
    """
    max_depth = draw(st.integers(2, 4))
    nodes: list[tuple[list, str, str, bool]] = []

    def partition(units: int, most: int) -> list[int]:
        n = draw(st.integers(1, min(most, units)))
        cuts = sorted(draw(st.lists(st.integers(1, units - 1), min_size=n - 1, max_size=n - 1,
                                    unique=True))) if n > 1 else []
        bounds = [0, *cuts, units]
        return [b - a for a, b in zip(bounds, bounds[1:])]

    def build(code: str, units: int, depth: int, path: str, parent_path: str) -> dict:
        node = {"code": code, "name": f"范围 {code}", "weight": units / 4}
        nodes.append((node, path, parent_path, True))
        if depth >= 2 and (depth == max_depth or draw(st.booleans())):
            node["elements"] = []
            for i, part in enumerate(partition(units, 4), 1):
                element = {"code": f"{code}-{i:03d}", "name": f"鉴定点 {code}-{i:03d}",
                           "weight": part / 4, "importance": "X"}
                node["elements"].append(element)
                nodes.append((element, f"{path}.elements[{i - 1}]", path, False))
        else:
            node["children"] = [
                build(f"{code}-{i:02d}", part, depth + 1, f"{path}.children[{i - 1}]", path)
                for i, part in enumerate(partition(units, 3), 1)]
        return node

    doc = theory_doc()
    doc["scope"] = [build(chr(ord("A") + i), part, 1, f"scope[{i}]", "scope")
                    for i, part in enumerate(partition(400, 3))]
    doc["paper"]["item_types"] = [{"type": "single_choice", "count": 1, "points_each": 100}]
    doc["paper"]["min_element_coverage"] = 0.001
    return doc, nodes


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=weight_trees(), data=st.data())
def test_weight_partitions_validate_and_perturbations_are_located(tree, data):
    doc, nodes = tree
    bp = parse_blueprint(copy.deepcopy(doc), "random.toml")
    assert math.isclose(math.fsum(e.weight for e in bp.elements()), 100.0, abs_tol=1e-9)
    assert len(bp.elements()) == sum(1 for *_, is_scope in nodes if not is_scope)

    index = data.draw(st.integers(0, len(nodes) - 1), label="node")
    delta = data.draw(st.sampled_from([0.25, -0.25, 1.0, 0.001, -0.001, 1e-5, 3.5]), label="delta")
    node, path, parent_path, is_scope = nodes[index]
    node["weight"] += delta
    with pytest.raises(BlueprintError) as info:
        parse_blueprint(doc, "random.toml")
    found = {(e.path, e.rule) for e in info.value.errors}
    expected = {(parent_path, "weights_sum")}
    if is_scope:  # its own children no longer add up to it either
        expected.add((path, "weights_sum"))
    assert expected <= found
    assert found - expected <= {(f"{path}.weight", "weight_positive")}
