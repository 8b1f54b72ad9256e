"""A bank big enough to assemble the shipped 中式烹调师 四级 theory paper (90 items, 149 elements)."""

import random

import pytest

from examsvc import clock
from examsvc.bank.models import Item, ItemVersion
from examsvc.bank.service import blueprint_of, load_blueprint_file
from examsvc.reference.service import load_occupations
from itembank.items import build_content, content_hash, content_to_dict
from tests.bank.conftest import THEORY_L4
from tests.conftest import make_user

TYPES = ("true_false", "single_choice", "single_choice", "multiple_choice")


def seed_approved_bank(session, version, author, *, per_element=TYPES, seed=7):
    """Approved items straight into the tables (the workflow is tested elsewhere)."""
    rng = random.Random(seed)
    blueprint = version.blueprint
    now = clock.now()
    for code in blueprint_of(version).element_codes:
        for n, item_type in enumerate(per_element):
            options = [] if item_type == "true_false" else [
                ("ABCDE"[j], f"{code}选项{j}-{n}") for j in range(4 if item_type == "single_choice" else 5)]
            key = {"true_false": rng.choice("TF"), "single_choice": rng.choice("ABCD"),
                   "multiple_choice": "".join(sorted(rng.sample("ABCDE", 2)))}[item_type]
            content = build_content(type=item_type, element_code=code, key=key,
                                    zh={"stem": f"关于{code}的第{n}题（　）。", "options": options},
                                    difficulty_estimate=round(rng.uniform(0.45, 0.85), 2))
            item = Item(blueprint=blueprint, element_code=code, type=item_type, created_by=author.id, created_at=now)
            item.versions.append(ItemVersion(number=1, author_id=author.id, created_at=now,
                                             content=content_to_dict(content), content_hash=content_hash(content),
                                             status="approved", acknowledged_warnings=[]))
            session.add(item)
    session.flush()


@pytest.fixture
def papers_world(session, world):
    version, _ = load_blueprint_file(session, THEORY_L4, "test")
    admin = make_user(session, "admin_a", "institution_admin", world["A"].id)
    writer = make_user(session, "writer_p", "item_writer")
    seed_approved_bank(session, version, writer)
    session.commit()
    return {"version": version, "admin": admin, "writer": writer, **world}
