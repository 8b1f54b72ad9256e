"""Fixtures for the item bank: the shipped 中式烹调师 四级 theory blueprint, a writer, two reviewers."""

from pathlib import Path

import pytest

from examsvc.bank.service import blueprint_of, load_blueprint_file
from examsvc.reference.service import load_occupations
from tests.conftest import make_user

ROOT = Path(__file__).resolve().parents[2]
THEORY_L4 = ROOT / "blueprints" / "4-03-02-01_L4_theory.toml"


@pytest.fixture
def bank(session):
    load_occupations(session)
    version, _ = load_blueprint_file(session, THEORY_L4, "test")
    session.commit()
    codes = blueprint_of(version).element_codes
    return {
        "blueprint": version.blueprint,
        "version": version,
        "codes": codes,
        "writer": make_user(session, "writer1", "item_writer"),
        "writer2": make_user(session, "writer2", "item_writer"),
        "reviewer": make_user(session, "reviewer1", "item_reviewer"),
        "reviewer2": make_user(session, "reviewer2", "item_reviewer"),
    }


def single_choice(element_code: str, stem: str = "下列原料中，属于植物性原料的是（　）。", key: str = "B") -> dict:
    return {
        "type": "single_choice",
        "element_code": element_code,
        "key": key,
        "zh": {"stem": stem,
               "options": [("A", "猪肉"), ("B", "白菜"), ("C", "鲤鱼"), ("D", "鸡蛋")],
               "explanation": "白菜是蔬菜，属于植物性原料。"},
        "difficulty_estimate": 0.7,
        "source": "自编",
    }
