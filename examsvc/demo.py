"""Demo data: the occupation catalogue, two institutions and one account per role."""

from __future__ import annotations

from datetime import date

from flask import Flask
from sqlalchemy import inspect, select

import tomllib
from pathlib import Path

from examsvc.accounts.models import User
from examsvc.accounts.service import create_user
from examsvc.auth import Role
from examsvc.db import check_connection, unit_of_work
from examsvc.institutions.service import register_institution
from examsvc.migrate import upgrade
from examsvc.reference.service import load_occupations

DEMO_PASSWORD = "examsvc-demo"


class DemoError(Exception):
    pass


#: (username, display name, role, institution key or None)
DEMO_USERS = [
    ("writer", "王命题", Role.ITEM_WRITER, None),
    ("reviewer", "李审题", Role.ITEM_REVIEWER, None),
    ("inst_admin", "赵机构", Role.INSTITUTION_ADMIN, "A"),
    ("invigilator", "钱监考", Role.INVIGILATOR, "A"),
    ("examiner", "孙考评", Role.EXAMINER, "A"),
    ("supervisor", "周督导", Role.QUALITY_SUPERVISOR, "A"),
    ("regulator", "吴监管", Role.REGULATOR, None),
    ("candidate", "郑参评", Role.CANDIDATE, None),
    ("sysadmin", "冯管理", Role.SYSADMIN, None),
    ("inst_admin_b", "陈机构", Role.INSTITUTION_ADMIN, "B"),
]


def load_demo(app: Flask) -> list[tuple[str, str, str]]:
    """Migrate an empty database and fill it; refuse a database that already holds data."""
    engine = app.extensions["examsvc.engine"]
    check_connection(engine)  # a ConfigError of one line when the database cannot be reached
    tables = set(inspect(engine).get_table_names())
    if "users" in tables:
        with unit_of_work() as session:
            if session.scalar(select(User.id).limit(1)) is not None:
                raise DemoError(
                    f"the database {engine.url.render_as_string()} already holds data; the demo only fills an empty "
                    "database. Serve it with `examsvc run`, or point EXAMSVC_DATABASE_URL elsewhere.")
    upgrade(app)
    with unit_of_work() as session:
        load_occupations(session, actor="demo")
        institutions = {
            "A": register_institution(
                session, code="S000015000001", name="内蒙古职业技能鉴定示范中心", kind="social_organisation",
                tier="region", league_city=None, published_on=date(2025, 4, 15),
                scope=[("4-03-02-01", "4"), ("4-03-02-01", "5"), ("4-04-05-05", "5"), ("6-18-01-01", "4")],
                actor="demo"),
            "B": register_institution(
                session, code="Y000015000002", name="包头钢铁职业技能等级认定中心", kind="employer",
                tier="league_city", league_city="包头市", published_on=date(2024, 10, 20),
                scope=[("6-18-01-01", "3"), ("6-18-01-01", "2")], actor="demo"),
        }
        accounts, users = [], {}
        for username, name, role, key in DEMO_USERS:
            institution = institutions[key] if key else None
            users[username] = create_user(session, username=username, password=DEMO_PASSWORD, display_name=name,
                                          roles=[(role.value, institution.id if institution else None)], actor="demo")
            accounts.append((username, role.value, institution.name if institution else ""))
        _load_bank(session, users["writer"], users["reviewer"])
    return accounts


BLUEPRINTS = Path(__file__).resolve().parent.parent / "blueprints"
DEMO_ITEMS = Path(__file__).resolve().parent / "demo_data" / "items_4-03-02-01_L4_theory.toml"


def _load_bank(session, writer: User, reviewer: User) -> None:
    """The shipped blueprints and a few items in every workflow state."""
    from examsvc.bank.service import create_item, findings_for, load_blueprint_file, review_version, submit_version
    from itembank.items import content_from_dict

    versions = {path.name: load_blueprint_file(session, path, "demo")[0] for path in sorted(BLUEPRINTS.glob("*.toml"))}
    blueprint = versions["4-03-02-01_L4_theory.toml"].blueprint
    with DEMO_ITEMS.open("rb") as handle:
        rows = tomllib.load(handle)["items"]
    for row in rows:
        content = {"type": row["type"], "element_code": row["element_code"], "key": row["key"],
                   "difficulty_estimate": row["difficulty_estimate"], "source": "示例题库",
                   "zh": {"stem": row["stem"], "explanation": row["explanation"],
                          "options": [("ABCDE"[i], text) for i, text in enumerate(row.get("options", []))]}}
        item = create_item(session, blueprint_id=blueprint.id, content=content, author=writer)
        if row["status"] == "draft":
            continue
        warnings = {f.rule for f in findings_for(content_from_dict(item.latest.content), blueprint)
                    if f.severity == "warning"}
        submit_version(session, item.latest, writer, warnings)
        if row["status"] == "approved":
            review_version(session, item.latest, reviewer, "approve", "")
        elif row["status"] == "returned":
            review_version(session, item.latest, reviewer, "return", row["return_comments"])
