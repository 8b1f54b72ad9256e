"""Skill task pools (模块): the module rules of a blueprint, task pools, and the lossless task
snapshot (task_to_dict / task_from_dict)."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from itembank.blueprint import (
    RubricCriterion, SkillModule, SkillTask, parse_blueprint, task_from_dict, task_to_dict,
)
from tests.itembank.test_blueprint import problems, skill_doc


def _task(code: str, module: str, points: float, minutes: int, elements=("B-01-001",)) -> dict:
    return {"code": code, "title": f"试题 {code}", "element_codes": list(elements), "time_minutes": minutes,
            "points": points, "module": module, "equipment": ["CA6140 车床"], "vetoes": ["撞刀"],
            "rubric": [{"code": "R1", "description": "尺寸", "points": points}]}


def pooled_doc() -> dict:
    """Two modules: M1 draws 1 of 2 tasks of 60 points / 90 min, M2 draws 2 of 3 tasks of 20 / 15."""
    doc = skill_doc()
    doc["paper"]["modules"] = [{"code": "M1", "name": "车削加工", "draw": 1},
                               {"code": "M2", "name": "精度检验", "draw": 2}]
    doc["paper"]["skill_tasks"] = [_task("T1", "M1", 60, 90), _task("T2", "M1", 60, 90),
                                   _task("T3", "M2", 20, 15), _task("T4", "M2", 20, 15),
                                   _task("T5", "M2", 20, 15)]
    return doc


def test_pooled_blueprint_loads_with_its_pools():
    paper = parse_blueprint(pooled_doc()).paper
    assert paper.skill_modules == (SkillModule("M1", "车削加工", 1), SkillModule("M2", "精度检验", 2))
    pools = paper.task_pools()
    assert [(m.code, [t.code for t in tasks]) for m, tasks in pools] == [("M1", ["T1", "T2"]),
                                                                          ("M2", ["T3", "T4", "T5"])]
    assert paper.item_count == 3
    assert paper.skill_tasks[0].equipment == ("CA6140 车床",) and paper.skill_tasks[0].vetoes == ("撞刀",)


def test_without_modules_every_task_is_its_own_module():
    paper = parse_blueprint(skill_doc()).paper
    assert paper.skill_modules == ()
    assert [(m.code, m.draw, [t.code for t in tasks]) for m, tasks in paper.task_pools()] == [
        ("T1", 1, ["T1"]), ("T2", 1, ["T2"])]
    assert paper.item_count == 2


def test_pooled_blueprint_round_trips_and_the_hash_of_a_plain_one_is_unchanged():
    pooled = parse_blueprint(pooled_doc())
    assert parse_blueprint(pooled.to_dict()) == pooled
    plain = parse_blueprint(skill_doc()).to_dict()
    assert "modules" not in plain["paper"]  # a blueprint without modules hashes as before modules existed
    assert not {"module", "equipment", "vetoes"} & set(plain["paper"]["skill_tasks"][0])


def _set(path: str, value):
    def mutate(doc):
        target = doc
        *head, last = path.split(".")
        for key in head:
            target = target[int(key)] if key.isdigit() else target[key]
        target[int(last) if last.isdigit() else last] = value
    return mutate


MODULE_CASES = [
    (_set("paper.modules.1.code", "M1"), "paper.modules[1].code", "code_unique"),
    (_set("paper.skill_tasks.2.module", "M9"), "paper.skill_tasks[2].module", "task_module"),
    (_set("paper.skill_tasks.2.module", ""), "paper.skill_tasks[2].module", "task_module"),
    (_set("paper.modules.1.draw", 4), "paper.modules[1].draw", "module_draw"),
    (_set("paper.modules.1.draw", 0), "paper.modules[1].draw", "module_draw"),
    (_set("paper.skill_tasks.1.time_minutes", 80), "paper.modules[0]", "module_uniform"),
    (_set("paper.skill_tasks.4.points", 10), "paper.modules[1]", "module_uniform"),
    (_set("paper.modules.0.draw", 2), "paper.modules", "tasks_total"),
    (_set("paper.duration_minutes", 100), "paper.skill_tasks", "task_time"),
    (_set("paper.modules.0.name", " "), "paper.modules[0].name", "blank"),
    (_set("paper.modules.0.draw", "1"), "paper.modules[0].draw", "type"),
    (_set("paper.skill_tasks.0.vetoes", [""]), "paper.skill_tasks[0].vetoes[0]", "blank"),
    (_set("paper.skill_tasks.0.equipment", "车床"), "paper.skill_tasks[0].equipment", "type"),
    (_set("paper.item_types", [{"type": "skill_task", "count": 5, "points_each": 20}]),
     "paper.item_types", "counts_total"),
]


@pytest.mark.parametrize("mutate, path, rule", MODULE_CASES, ids=[f"{r}:{p}" for _, p, r in MODULE_CASES])
def test_module_rule_names_the_path(mutate, path, rule):
    doc = pooled_doc()
    mutate(doc)
    assert (path, rule) in problems(doc, "pooled.toml")


def test_module_messages_are_chinese_and_english_and_name_the_module():
    doc = pooled_doc()
    doc["paper"]["modules"][1]["draw"] = 4
    with pytest.raises(Exception) as info:
        parse_blueprint(doc, "pooled.toml")
    problem = next(e for e in info.value.errors if e.rule == "module_draw")
    assert "模块 M2" in problem.message and "3" in problem.message
    assert "module M2" in problem.message_en and "3 in its pool" in problem.message_en


def test_a_module_on_a_task_needs_declared_modules_and_theory_has_none():
    doc = skill_doc()
    doc["paper"]["skill_tasks"][0]["module"] = "M1"
    assert ("paper.skill_tasks[0].module", "task_module") in problems(doc)
    from tests.itembank.test_blueprint import theory_doc
    theory = theory_doc()
    theory["paper"]["modules"] = [{"code": "M1", "name": "x", "draw": 1}]
    assert ("paper.modules", "item_type_component") in problems(theory)


def test_item_types_count_the_drawn_tasks():
    doc = pooled_doc()
    doc["paper"]["item_types"] = [{"type": "skill_task", "count": 3, "points_each": 100 / 3}]
    assert parse_blueprint(doc).paper.item_count == 3


# --- task_to_dict / task_from_dict ------------------------------------------------------------

_text = st.text(min_size=1, max_size=12)
_points = st.floats(min_value=0.25, max_value=100, allow_nan=False, allow_infinity=False)


@st.composite
def tasks(draw) -> SkillTask:
    rubric = tuple(RubricCriterion(draw(_text), draw(_text), draw(_points), draw(st.text(max_size=12)))
                   for _ in range(draw(st.integers(0, 4))))
    return SkillTask(code=draw(_text), title=draw(_text), element_codes=tuple(draw(st.lists(_text, max_size=4))),
                     time_minutes=draw(st.integers(1, 600)), points=draw(_points),
                     materials=tuple(draw(st.lists(_text, max_size=3))), rubric=rubric,
                     module=draw(st.text(max_size=6)), equipment=tuple(draw(st.lists(_text, max_size=3))),
                     vetoes=tuple(draw(st.lists(_text, max_size=3))))


@given(tasks())
def test_task_dict_round_trip_is_lossless_through_json(task):
    data = task_to_dict(task)
    assert task_from_dict(data) == task
    assert task_from_dict(json.loads(json.dumps(data, ensure_ascii=False))) == task
    assert task_to_dict(task_from_dict(copy.deepcopy(data))) == data


def test_task_from_dict_reads_a_snapshot_without_the_optional_fields():
    task = task_from_dict({"code": "T1", "title": "t", "element_codes": ["A"], "time_minutes": 5, "points": 10,
                           "rubric": [{"code": "R1", "description": "d", "points": 10}]})
    assert (task.module, task.equipment, task.vetoes, task.materials) == ("", (), (), ())
    assert task.rubric[0].deduction_rule == ""
