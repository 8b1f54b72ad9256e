"""Real-browser fixtures: Debian's Chromium driven by Playwright against the app served in a thread.

Playwright's own browser downloads are never used: the tests launch ``/usr/bin/chromium`` (or
``CHROMIUM_PATH``). When it is missing the browser tests are skipped with a message saying so,
except in CI (``CI`` set) or with ``EXAMSVC_REQUIRE_BROWSER=1``, where that is a failure (as for
PostgreSQL in tests/conftest.py).

The exam used here is built like tests/delivery's, from a bank whose items carry explanations and
Mongolian variants, so that a test can look for every secret in what the browser received.
"""

from __future__ import annotations

import json
import os
import random
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from examsvc import clock
from examsvc.bank.models import Item, ItemVersion
from examsvc.bank.service import blueprint_of, load_blueprint_file
from examsvc.delivery.service import check_in
from examsvc.papers.models import PaperItem
from examsvc.papers.service import lock_paper, run_assembly, start_assembly
from examsvc.sessions.service import assign_staff, open_session, plan_session, register_candidate
from itembank.items import build_content, content_hash, content_to_dict
from tests.bank.conftest import THEORY_L4
from tests.conftest import make_user
from tests.delivery.conftest import EXAM_DAY, resident_id, site_filed

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
TYPES = ("true_false", "single_choice", "single_choice", "multiple_choice")
NAMES = ("乌兰其其格", "张秀英", "李建国", "巴特尔")
MN_STEM = "ᠬᠣᠭᠣᠯᠠ ᠶᠢᠨ ᠠᠰᠠᠭᠤᠯᠲᠠ"   # "a question about food"
MN_OPTION = "ᠰᠣᠩᠭᠤᠯᠲᠠ"               # "choice"


def browser_required() -> bool:
    return bool(os.environ.get("CI")) or os.environ.get("EXAMSVC_REQUIRE_BROWSER") == "1"


@pytest.fixture(scope="session")
def chromium():
    if not CHROMIUM.exists():
        missing = (f"Chromium is not installed at {CHROMIUM}; install it with `apt-get install chromium` "
                   "(or set CHROMIUM_PATH).")
        if browser_required():
            pytest.fail("CI requires the browser tests. " + missing, pytrace=False)
        pytest.skip(missing + " The browser tests are SKIPPED.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_server(app):
    """The app on 127.0.0.1:<free port>, plain HTTP, jobs run at once; yields its base URL."""
    app.config.update(SESSION_COOKIE_SECURE=False, JOBS_EAGER=True, SERVER_NAME=None)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


class Received:
    """Every response body the browser received, as text (JSON decoded so that Chinese and
    Mongolian appear as themselves, not as \\u escapes)."""

    def __init__(self):
        self.bodies: list[tuple[str, str]] = []
        self.unread: list[tuple[str, str]] = []

    def __call__(self, response) -> None:
        if 300 <= response.status < 400:
            return  # a redirect has no body to read
        try:
            raw = response.body()
        except Exception as exc:  # noqa: BLE001 - recorded and asserted on below
            self.unread.append((response.url, str(exc)))
            return
        text = raw.decode("utf-8", errors="replace")
        if "json" in (response.headers.get("content-type") or ""):
            text = json.dumps(json.loads(text), ensure_ascii=False)
        self.bodies.append((response.url, text))

    def containing(self, secret: str) -> list[str]:
        return [url for url, text in self.bodies if secret in text]


@pytest.fixture
def page_factory(chromium):
    """New pages in fresh browser contexts; every response of every page is recorded."""
    contexts = []

    def new_page(**context_options):
        context = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}, **context_options)
        contexts.append(context)
        page = context.new_page()
        page.received = Received()
        page.on("response", page.received)
        page.set_default_timeout(15_000)
        return page

    yield new_page
    for context in contexts:
        context.close()


def seed_bank_with_secrets(session, version, author, *, seed=11):
    """Approved items with explanations and Mongolian variants; returns the secrets by version id."""
    rng = random.Random(seed)
    now = clock.now()
    secrets = {}
    for code in blueprint_of(version).element_codes:
        for n, item_type in enumerate(TYPES):
            count = 0 if item_type == "true_false" else 4 if item_type == "single_choice" else 5
            key = {"true_false": rng.choice("TF"), "single_choice": rng.choice("ABCD"),
                   "multiple_choice": "".join(sorted(rng.sample("ABCDE", 2)))}[item_type]
            explanation = f"解析{code}第{n}题：正确答案是{key}"
            zh = {"stem": f"<p>关于<b>{code}</b>的第{n}题（　）。</p>",
                  "options": [("ABCDE"[j], f"{code}选项{j}-{n}") for j in range(count)], "explanation": explanation}
            mn = {"stem": f"<p>{MN_STEM} {code}-{n}</p>",
                  "options": [("ABCDE"[j], f"{MN_OPTION} {j}-{n}") for j in range(count)],
                  "explanation": f"ᠲᠠᠢᠯᠪᠣᠷᠢ {code}-{n} {key}"}
            content = build_content(type=item_type, element_code=code, key=key, zh=zh, mn=mn,
                                    difficulty_estimate=round(rng.uniform(0.45, 0.85), 2), source=f"来源{code}-{n}")
            item = Item(blueprint=version.blueprint, element_code=code, type=item_type, created_by=author.id,
                        created_at=now)
            stored = ItemVersion(number=1, author_id=author.id, created_at=now, content=content_to_dict(content),
                                 content_hash=content_hash(content), status="approved", acknowledged_warnings=[])
            item.versions.append(stored)
            session.add(item)
            session.flush()
            secrets[stored.id] = {"key": key, "explanations": [explanation, stored.content["mn"]["explanation"]],
                                  "stems": [f"关于<b>{code}</b>的第{n}题", f"{MN_STEM} {code}-{n}"],
                                  "source": f"来源{code}-{n}"}
    return secrets


def build_exam(app, session, world, *, layout="paged", mongolian=False):
    """An open session of institution A on EXAM_DAY with two locked forms and four checked-in
    candidates; candidate 0 sits in Mongolian when ``mongolian``."""
    with app.app_context():
        return _build_exam(session, world, layout, mongolian)


def _build_exam(session, world, layout, mongolian):
    version, _ = load_blueprint_file(session, THEORY_L4, "test")
    admin = make_user(session, "admin_a", "institution_admin", world["A"].id)
    writer = make_user(session, "writer_b", "item_writer")
    secrets = seed_bank_with_secrets(session, version, writer)
    session.commit()
    run = start_assembly(session, institution=world["A"], blueprint_version=version, forms=2,
                         overrides={"seed": 1, "time_limit": 30}, actor=admin)
    run_assembly(session, run)
    papers = [lock_paper(session, p, admin) for p in run.papers]
    exam_session = plan_session(
        session, institution=world["A"], blueprint=version.blueprint, title="2026年12月中式烹调师四级理论",
        exam_date=EXAM_DAY.date(), window_start=EXAM_DAY - timedelta(minutes=30),
        window_end=EXAM_DAY + timedelta(minutes=30), rooms=[("第一考场", 30)], paper_ids=[p.id for p in papers],
        languages=["zh", "mn"] if mongolian else ["zh"], layout=layout, league_city=site_filed(session, world["A"]),
        actor=admin)
    invigilators = [make_user(session, f"inv{i}", "invigilator", world["A"].id) for i in (1, 2)]
    for user in invigilators:
        assign_staff(session, exam_session, user, "invigilator", exam_session.rooms[0].id, admin)
    candidates = [register_candidate(session, exam_session, name=name, id_type="resident_id",
                                     id_number=resident_id(i + 1),
                                     exam_language="mn" if mongolian and i == 0 else "zh", actor=admin)
                  for i, name in enumerate(NAMES)]
    with clock.frozen(EXAM_DAY - timedelta(days=1)):
        open_session(session, exam_session, admin)
    for candidate in candidates:
        check_in(session, candidate, invigilators[0])
    session.commit()
    forms = {}
    for paper in papers:
        forms[paper.id] = {row.item_version_id for row in session.query(PaperItem).filter_by(paper_id=paper.id)}
    return {"session_id": exam_session.id, "papers": forms, "secrets": secrets,
            "candidates": [{"id": c.id, "name": c.name, "ticket": c.ticket_number, "id_number": resident_id(i + 1)}
                           for i, c in enumerate(candidates)],
            "invigilator_id": invigilators[0].id}
