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


#: (username, display name, role, institution key, or a regulator's league/city, or None)
DEMO_USERS = [
    ("writer", "王命题", Role.ITEM_WRITER, None),
    ("reviewer", "李审题", Role.ITEM_REVIEWER, None),
    ("inst_admin", "赵机构", Role.INSTITUTION_ADMIN, "A"),
    ("invigilator", "钱监考", Role.INVIGILATOR, "A"),
    ("inv2", "刘监考", Role.INVIGILATOR, "A"),
    ("examiner", "孙考评", Role.EXAMINER, "A"),
    ("examiner2", "白考评", Role.EXAMINER, "A"),
    ("examiner3", "包考评", Role.EXAMINER, "A"),
    ("supervisor", "周督导", Role.QUALITY_SUPERVISOR, "A"),
    ("regulator", "吴监管", Role.REGULATOR, None),
    ("regulator_bt", "郝监管", Role.REGULATOR, "包头市"),
    ("candidate", "郑参评", Role.CANDIDATE, None),
    ("sysadmin", "冯管理", Role.SYSADMIN, None),
    ("inst_admin_b", "陈机构", Role.INSTITUTION_ADMIN, "B"),
    ("invigilator_b", "韩监考", Role.INVIGILATOR, "B"),
    ("inv2_b", "其木格", Role.INVIGILATOR, "B"),
    ("examiner_b1", "杨考评", Role.EXAMINER, "B"),
    ("examiner_b2", "斯琴", Role.EXAMINER, "B"),
    ("examiner_b3", "马考评", Role.EXAMINER, "B"),
]

#: Examiner cards (考评员证卡): examiners of A score levels 5-3, B's senior examiners every level.
DEMO_CARDS = {"examiner": "examiner", "examiner2": "examiner", "examiner3": "examiner",
              "examiner_b1": "senior_examiner", "examiner_b2": "senior_examiner", "examiner_b3": "senior_examiner"}


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
    from examsvc import clock
    from examsvc.demo_history import at, history_start, load_history

    today = clock.local_time(clock.now()).date()
    with unit_of_work() as session, at(history_start(today), 9):
        accounts, institutions, users = _load_setup(session)
        notes = load_history(session, institutions, users, today)
    with unit_of_work() as session:
        institutions = {key: session.get(type(row), row.id) for key, row in institutions.items()}
        users = {name: session.get(User, row.id) for name, row in users.items()}
        app.extensions["examsvc.demo_notes"] = notes + _load_session_demo(session, institutions["A"], users)
    return accounts


def _load_setup(session) -> tuple[list[tuple[str, str, str]], dict, dict[str, User]]:
    """The catalogue, institutions, accounts, examiner cards, blueprints, the bank and A's site filing."""
    from examsvc.grading.examiners import register_card
    from examsvc.institutions.filing import file_site

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
        jurisdiction = key if role is Role.REGULATOR else None
        institution = institutions[key] if key and not jurisdiction else None
        users[username] = create_user(session, username=username, password=DEMO_PASSWORD, display_name=name,
                                      roles=[(role.value, institution.id if institution else None)],
                                      jurisdiction=jurisdiction, actor="demo")
        accounts.append((username, role.value, institution.name if institution else jurisdiction or ""))
    for number, (username, grade) in enumerate(DEMO_CARDS.items(), start=1):
        institution = institutions["A" if grade == "examiner" else "B"]
        register_card(session, holder=users[username], card_number=f"KP-DEMO-{number:04d}", grade=grade,
                      valid_from=date(2025, 1, 1), valid_until=date(2029, 12, 31), institution_id=institution.id,
                      employer="", actor=users["inst_admin" if grade == "examiner" else "inst_admin_b"])
    _load_bank(session, users["writer"], users["reviewer"])
    # A region-level institution holds sessions where it has a site filing (站点备案, seed Art. 12).
    file_site(session, institutions["A"], "呼和浩特市", users["regulator"])
    return accounts, institutions, users


BLUEPRINTS = Path(__file__).resolve().parent.parent / "blueprints"
DEMO_ITEMS = Path(__file__).resolve().parent / "demo_data" / "items_4-03-02-01_L4_theory.toml"


def _load_bank(session, writer: User, reviewer: User) -> None:
    """The shipped blueprints and a few items in every workflow state."""
    from examsvc.bank.service import create_item, findings_for, load_blueprint_file, review_version, submit_version
    from itembank.items import content_from_dict

    versions = {path.name: load_blueprint_file(session, path, "demo")[0] for path in sorted(BLUEPRINTS.glob("*.toml"))}
    for name in ("4-03-02-01_L4_theory.toml", "6-18-01-01_L2_theory.toml"):
        _demo_items(session, versions[name], writer, reviewer)
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


# --- an open exam session to try the exam room -------------------------------------------------

DEMO_CANDIDATES = (("张明", "15010219900307001"), ("李娜", "15020319921115002"), ("王强", "15040219880620003"))


def _demo_items(session, version, writer: User, reviewer: User) -> int:
    """Generated items, written, submitted and approved through the bank's workflow: one single choice
    and one true/false or multiple choice per element, so that the blueprint's paper can be
    assembled. Marked 示例 in stem and source."""
    import random

    from examsvc.bank.service import blueprint_of, create_item, findings_for, review_version, submit_version
    from itembank.items import build_content, content_from_dict, content_to_dict

    model = blueprint_of(version)
    rng, count = random.Random(2026), 0
    for n, element in enumerate(model.elements()):
        name = element.name
        for item_type in ("single_choice", "true_false" if n % 3 else "multiple_choice"):
            if item_type == "true_false":
                key, options = rng.choice("TF"), []
                stem = f"【示例】“{name}”是本职业{model.level.name_zh}理论知识要求掌握的内容。（　）" if key == "T" else \
                    f"【示例】“{name}”与{model.occupation_name}的日常工作无关，可以不了解。（　）"
            elif item_type == "single_choice":
                key = "ABCD"[n % 4]
                texts = [f"与“{name}”无关的做法{i}" for i in range(3)]
                texts.insert("ABCD".index(key), f"符合“{name}”要求的做法")
                stem, options = f"【示例】下列关于“{name}”的说法，正确的是（　）。", texts
            else:
                key = "".join(sorted(rng.sample("ABCDE", 2)))
                texts = [f"符合“{name}”要求的做法{i}" if "ABCDE"[i] in key else f"违反“{name}”要求的做法{i}"
                         for i in range(5)]
                stem, options = f"【示例】下列关于“{name}”的做法，正确的有（　）。", texts
            content = build_content(type=item_type, element_code=element.code, key=key, source="示例题库（自动生成）",
                                    zh={"stem": stem, "options": [("ABCDE"[i], t) for i, t in enumerate(options)],
                                        "explanation": "示例数据，仅用于体验考试流程。"},
                                    difficulty_estimate=round(rng.uniform(0.55, 0.75), 2))
            item = create_item(session, blueprint_id=version.blueprint_id, content=content_to_dict(content),
                               author=writer)
            warnings = {f.rule for f in findings_for(content_from_dict(item.latest.content), item.blueprint)
                        if f.severity == "warning"}
            submit_version(session, item.latest, writer, warnings)
            review_version(session, item.latest, reviewer, "approve", "示例数据")
            count += 1
    return count


def _load_session_demo(session, institution, users: dict[str, User]) -> list[str]:
    """Lock an assembled paper and open a session with auto check-in whose start window is now,
    so that a new user can sign in at /exam/sign-in; returns the lines to print."""
    from datetime import datetime, time, timedelta

    from examsvc import clock
    from examsvc.bank.models import BlueprintVersion, ExamBlueprint
    from examsvc.papers.service import lock_paper, run_assembly, start_assembly
    from examsvc.sessions.service import assign_staff, open_session, plan_session, register_candidate
    from itembank.identifiers import resident_id_check_character

    blueprint = session.scalar(select(ExamBlueprint).where(ExamBlueprint.occupation_code == "4-03-02-01",
                                                           ExamBlueprint.level == "4",
                                                           ExamBlueprint.component == "theory"))
    version = session.get(BlueprintVersion, blueprint.latest.id)
    admin = users["inst_admin"]
    run = start_assembly(session, institution=institution, blueprint_version=version, forms=1,
                         overrides={"seed": 1, "time_limit": 60}, actor=admin)
    run_assembly(session, run)
    if run.status != "done":
        return [f"Exam room demo skipped: the demo bank could not be assembled ({run.outcome})."]
    paper = lock_paper(session, run.papers[0], admin)
    now = clock.local_time(clock.now())
    day = now.date()
    start = max(now - timedelta(minutes=30), datetime.combine(day, time(0, 0), now.tzinfo))
    end = min(now + timedelta(hours=4), datetime.combine(day, time(23, 59), now.tzinfo))
    exam_session = plan_session(session, institution=institution, blueprint=blueprint,
                                title=f"【示例】{day:%Y年%m月%d日} 中式烹调师四级 理论知识", exam_date=day,
                                window_start=start, window_end=end, rooms=[("第一考场", 30)], paper_ids=[paper.id],
                                auto_check_in=True, league_city="呼和浩特市", actor=admin)
    for name in ("invigilator", "inv2"):
        assign_staff(session, exam_session, users[name], "invigilator", exam_session.rooms[0].id, admin)
    lines = ["", f"Exam room demo: session “{exam_session.title}”, start window {start:%H:%M}-{end:%H:%M} "
             f"({now.tzname()}), automatic check-in. Sign in at /exam/sign-in with:"]
    for name, first17 in DEMO_CANDIDATES:
        id_number = first17 + resident_id_check_character(first17)
        candidate = register_candidate(session, exam_session, name=name, id_type="resident_id", id_number=id_number,
                                       employer="示例饭店", actor=admin)
        lines.append(f"  ticket {candidate.ticket_number}  ID number {id_number}  ({name}, seat {candidate.seat})")
    open_session(session, exam_session, admin)
    lines.append("Invigilators `invigilator` and `inv2` run the room at /sessions/ (console); "
                 "`inst_admin` prints the admission tickets there.")
    return lines
