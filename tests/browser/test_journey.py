"""The certification journey in a real browser, from an empty database to a verified certificate.

Everything happens through the UI, each person in their own browser context. The only things done
outside the browser are what an operator does on the server: ``examsvc db upgrade`` (schema and the
occupation catalogue) and ``examsvc create-user`` for the first system administrator. Every other
account, the institution's filing, the bank, the papers, the sessions and the results are made on
screen. The server's clock is frozen on today's date at 10:00 Beijing time (so the exam window is
open whatever the hour of the run) and moved forward only to let the notice period (公示) pass.

Steps (each one timed; the timings are printed at the end of the test):

1. setup — ``examsvc db upgrade`` and ``examsvc create-user`` for the sysadmin (CLI, in-process)
2. accounts — the sysadmin creates both regulators, the item writer and the reviewer
3. filing — the 呼和浩特市 regulator records the filing application (Art. 9 documents, Art. 10
   declarations, scope 6-18-01-01 level 4), four evaluations and the public notice; the region's
   regulator publishes it in a batch, which assigns the institution its code
4. staff accounts — the sysadmin creates the institution's admin, invigilators and examiners
5. blueprints — the reviewer uploads the tiny theory blueprint and the small skill blueprint
   (tests/browser/data/) on the bank's blueprint page
6. items — the item writer drafts the theory items (one per element) and submits them
7. review — the reviewer approves each of them
8. theory paper — the institution admin assembles a theory paper and locks it
9. theory session — plans it (today, one room, automatic check-in), assigns two invigilators and
   registers the candidates; then opens it
10. exam — each candidate signs in with ticket and ID number and sits the exam in the browser;
    the admin ends the session
11. theory scored — the admin scores the theory answers
12. published — the results are published with a one-day notice period
13. notice passes — the clock moves two days on
14. confirmed — the admin confirms the results
"""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from examsvc import clock
from examsvc.cli import cli
from tests.conftest import PASSWORD
from tests.delivery.conftest import resident_id

pytestmark = [pytest.mark.browser, pytest.mark.journey]

DATA = Path(__file__).parent / "data"
THEORY_BLUEPRINT = DATA / "journey_6-18-01-01_L4_theory.toml"
SKILL_BLUEPRINT = DATA / "journey_6-18-01-01_L4_skill.toml"
BEIJING = timezone(timedelta(hours=8))
CITY = "呼和浩特市"
INSTITUTION = "呼和浩特市车工技能评价中心"
# One item per element of the tiny theory blueprint: (element, stem, options A-D, key).
ITEMS = [
    ("A-01-001", "车床运转中测量工件尺寸的正确做法是（　）。",
     ("停车后再测量", "低速时测量", "戴手套测量", "用目测代替测量"), "A"),
    ("A-01-002", "车削时操作者应当佩戴的劳动保护用品是（　）。",
     ("手套", "防护眼镜", "围巾", "拖鞋"), "B"),
    ("B-01-001", "粗车时选择切削用量，首先应选取尽可能大的（　）。",
     ("切削速度", "进给量", "背吃刀量", "主轴转速"), "C"),
    ("B-01-002", "普通螺纹的牙型角是（　）。",
     ("30°", "40°", "55°", "60°"), "D"),
]
CANDIDATES = [("王建军", resident_id(1)), ("其木格", resident_id(2))]
TINY_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


class Timings:
    """Each step's wall-clock time, printed as a table when the journey ends."""

    def __init__(self):
        self.steps: list[tuple[str, float]] = []

    @contextmanager
    def step(self, name: str):
        started = time.perf_counter()
        yield
        self.steps.append((name, time.perf_counter() - started))

    def table(self) -> str:
        width = max(len(name) for name, _ in self.steps)
        lines = [f"{name:<{width}}  {seconds:7.2f} s" for name, seconds in self.steps]
        total = sum(seconds for _, seconds in self.steps)
        return "\n".join(["journey steps:", *lines, f"{'total':<{width}}  {total:7.2f} s"])


@pytest.fixture
def timings(record_property, capsys):
    recorded = Timings()
    yield recorded
    if recorded.steps:
        record_property("journey_steps", {name: round(seconds, 2) for name, seconds in recorded.steps})
        with capsys.disabled():
            print("\n" + recorded.table())


class Actor:
    """One person at their own browser: signs in, follows links, fills and submits forms."""

    def __init__(self, page, base: str, username: str):
        self.page, self.base, self.username = page, base, username

    def go(self, path: str) -> None:
        response = self.page.goto(self.base + path)
        assert response is not None and response.status < 400, (path, response and response.status)

    def sign_in(self) -> "Actor":
        self.go("/login")
        self.page.fill("#username", self.username)
        self.page.fill("#password", PASSWORD)
        self.page.click("main form button[type=submit]")
        self.page.wait_for_load_state()
        assert "/login" not in self.page.url, f"{self.username} could not sign in: {self.page.inner_text('main')}"
        return self

    def submit(self, button, *, expect: str | None = None) -> None:
        """Click a submit button; the page that answers shows no error (and ``expect``, when given)."""
        with self.page.expect_navigation():
            (self.page.locator(button) if isinstance(button, str) else button).click()
        errors = self.page.locator(".error[role=alert]:not(#readiness), p.error.bad")
        assert errors.count() == 0, f"{self.username} at {self.page.url}: {errors.first.inner_text()}"
        if expect is not None:
            assert expect in self.page.inner_text("body"), (expect, self.page.url, self.page.inner_text("main"))


def beijing_today() -> date:
    return datetime.now(BEIJING).date()


@pytest.fixture
def journey_app(app):
    """The app with the schema's reference data loaded and the first sysadmin created, as an operator
    does on a fresh server (``examsvc db upgrade``, ``examsvc create-user``)."""
    runner = app.test_cli_runner()
    result = runner.invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 0 and "Occupation catalogue" in result.output, result.output
    result = runner.invoke(cli, ["create-user", "--username", "sysadmin", "--name", "系统管理员", "--role", "sysadmin",
                                 "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    return app


def create_users(admin: Actor, users: list[tuple[str, str, str, str | None, str | None]]) -> None:
    """(username, name, role, institution label or None, jurisdiction or None) on the users page."""
    admin.go("/admin/users/")
    for username, name, role, institution, jurisdiction in users:
        page = admin.page
        page.fill("#username", username)
        page.fill("#display_name", name)
        page.fill("#password", PASSWORD)
        page.select_option("#role", role)
        if institution:
            page.select_option("#institution_id", label=institution)
        if jurisdiction:
            page.select_option("#jurisdiction", jurisdiction)
        admin.submit("main form button[type=submit]", expect=username)


def test_from_an_empty_database_to_a_verified_certificate(journey_app, live_server, page_factory, timings):
    app, base = journey_app, live_server
    today = beijing_today()
    start = datetime(today.year, today.month, today.day, 10, 0, tzinfo=BEIJING)

    def actor(username: str) -> Actor:
        return Actor(page_factory(), base, username).sign_in()

    with clock.frozen(start) as server_clock:
        with timings.step("1-2 accounts: sysadmin creates regulators, writer, reviewer"):
            sysadmin = actor("sysadmin")
            create_users(sysadmin, [
                ("reg_region", "自治区监管员", "regulator", None, "自治区"),
                ("reg_city", "呼和浩特监管员", "regulator", None, CITY),
                ("writer", "命题员", "item_writer", None, None),
                ("reviewer", "审题员", "item_reviewer", None, None),
            ])

        with timings.step("3 filing: application, evaluations, notice, publication"):
            code = file_institution(actor("reg_city"), actor("reg_region"), today)

        with timings.step("4 institution staff accounts"):
            label = f"{code} {INSTITUTION}"
            create_users(sysadmin, [
                ("inst_admin", "机构管理员", "institution_admin", label, None),
                ("inv1", "监考一", "invigilator", label, None),
                ("inv2", "监考二", "invigilator", label, None),
            ])

        reviewer = actor("reviewer")
        with timings.step("5 blueprints uploaded on the bank's blueprint page"):
            for path in (THEORY_BLUEPRINT, SKILL_BLUEPRINT):
                reviewer.go("/bank/blueprints")
                reviewer.page.set_input_files("input[type=file][name=file]", str(path))
                reviewer.submit(reviewer.page.locator("form[enctype='multipart/form-data'] button[type=submit]"),
                                expect="旅程测试细目表")
            blueprints = blueprint_ids(reviewer)

        writer = actor("writer")
        with timings.step("6 item writer drafts and submits the theory items"):
            for element, stem, options, key in ITEMS:
                draft_item(writer, blueprints["theory"], element, stem, options, key)

        with timings.step("7 reviewer approves the items"):
            for _ in ITEMS:
                reviewer.go("/bank/review")
                reviewer.submit(reviewer.page.locator("button[name=decision][value=approve]").first, expect="审题通过")
            reviewer.go("/bank/review")
            assert reviewer.page.locator("button[name=decision][value=approve]").count() == 0

        admin = actor("inst_admin")
        with timings.step("8 theory paper assembled and locked"):
            theory_paper = assemble_and_lock(admin, "理论知识 旅程测试细目表")

        with timings.step("9 theory session planned, staffed, candidates registered, opened"):
            session_id = plan_session(admin, today, "理论知识 旅程测试细目表", theory_paper, "2026年车工四级理论知识（旅程）")
            for invigilator in ("监考一", "监考二"):
                assign_staff(admin, session_id, "invigilator", invigilator, room="第一考场")
            tickets = register_candidates(admin, session_id)
            admin.go(f"/sessions/{session_id}")
            admin.submit("form[action$='/open'] button[type=submit]")
            assert admin.page.locator("main .pill.open").count() == 1, admin.page.inner_text("main")

        with timings.step("10 candidates sit the theory exam in the browser; session ended"):
            server_clock.advance(timedelta(minutes=5))
            # the first answers every item right, the second only half of them (fails the theory)
            for (name, id_number), right in zip(CANDIDATES, (4, 2)):
                sit_exam(page_factory(), base, tickets[name], id_number, right)
            server_clock.advance(timedelta(minutes=30))
            end_session(admin, session_id)

        with timings.step("11 theory scored"):
            admin.go(f"/results/sessions/{session_id}")
            admin.submit("form[action$='/score'] button[type=submit]")
            assert score_rows(admin.page) == {"王建军": ("100.00", "合格"), "其木格": ("50.00", "不合格")}

        with timings.step("12 results published (notice 1 day)"):
            admin.page.fill("#notice_days", "1")
            admin.submit("form[action$='/publish'] button[type=submit]", expect="公示期至")

        with timings.step("13-14 notice period passes; results confirmed"):
            admin.go(f"/results/sessions/{session_id}")
            server_clock.advance(timedelta(days=2))
            admin.submit("form[action$='/confirm'] button[type=submit]", expect="成绩已确认")


# --- steps ---------------------------------------------------------------------------------------

def file_institution(city: Actor, region: Actor, today: date) -> str:
    """The league/city regulator records and evaluates the application and puts it under notice; the
    region publishes it. Returns the institution's code."""
    page = city.page
    city.go("/filing/applications/new")
    page.fill("input[name=applicant_name]", INSTITUTION)
    page.select_option("select[name=kind]", "social_organisation")
    page.select_option("select[name=tier]", "league_city")
    page.select_option("select[name=league_city]", CITY)
    page.fill("textarea[name=scope]", "6-18-01-01 4")
    for upload in page.locator("input[type=file]").all():
        name = upload.get_attribute("name")
        upload.set_input_files({"name": f"{name}.pdf", "mimeType": "application/pdf", "buffer": TINY_PDF})
    for box in page.locator("input[type=checkbox][name^=declare_]").all():
        box.check()
    city.submit("main form button[type=submit]")
    application_url = page.url
    for method in ("report", "document_review", "site_visit", "qa"):
        page.select_option("select[name=method]", method)
        page.fill("input[name=score]", "90")
        page.fill("input[name=notes]", f"{method} 合格")
        city.submit("form[action$='/evaluate'] button[type=submit]")
    page.fill("input[name=start]", (today - timedelta(days=10)).isoformat())
    page.fill("input[name=end]", (today - timedelta(days=1)).isoformat())
    city.submit("form[action$='/notice'] button[type=submit]")
    assert page.url == application_url

    page = region.page
    region.go("/filing/")
    page.fill("input[name=title]", f"{today.year}年第X批评价机构目录")
    page.fill("input[name=publication_date]", today.isoformat())
    region.submit("form[action$='/filing/batches'] button[type=submit]")
    page.locator("input[name=application_id]").filter(has=None).first.check()
    region.submit("form[action*='/publish'] button[type=submit]", expect="S0000150")
    match = re.search(r"S000015\d{6}", page.inner_text("main"))
    assert match, page.inner_text("main")
    return match.group(0)


def blueprint_ids(viewer: Actor) -> dict[str, int]:
    """The ids of the two journey blueprints, from the coverage links of the blueprint page."""
    ids = {}
    for row in viewer.page.locator("tr", has_text="旅程测试细目表").all():
        href = row.locator("a[href*='/coverage']").first.get_attribute("href")
        component = "theory" if "理论知识" in row.inner_text() else "skill"
        ids[component] = int(re.search(r"/blueprints/(\d+)/coverage", href).group(1))
    assert set(ids) == {"theory", "skill"}, ids
    return ids


def draft_item(writer: Actor, blueprint_id: int, element: str, stem: str, options: tuple[str, ...], key: str) -> None:
    page = writer.page
    writer.go(f"/bank/items/new?blueprint_id={blueprint_id}")
    page.select_option("#type", "single_choice")
    page.select_option("#element_code", element)
    page.fill("#key", key)
    page.fill("#difficulty_estimate", "0.65")
    page.fill("#source", "国家职业技能标准 车工（2018年版）")
    page.fill("[id='zh.stem']", stem)
    for letter, text in zip("ABCD", options):
        page.fill(f"[id='zh.options.{letter}']", text)
    page.fill("[id='zh.explanation']", f"正确答案为{key}。")
    writer.submit("#item-form button[type=submit]")
    for box in page.locator("input[name=acknowledged]").all():
        box.check()
    writer.submit(page.locator("form[action$='/submit'] button[type=submit]"))


def assemble_and_lock(admin: Actor, blueprint_title: str) -> int:
    page = admin.page
    admin.go("/papers/assemble")
    option = page.locator(f"#blueprint_version_id optgroup[label*='{blueprint_title}'] option").first
    page.select_option("#blueprint_version_id", option.get_attribute("value"))
    page.fill("#seed", "7")
    admin.submit("form[action$='/papers/assemble'] button[type=submit]")
    page.wait_for_selector("a[href*='/papers/']:not([href*='assemble']):not([href*='runs'])")
    link = page.locator("main table a[href^='/papers/']").first
    paper_id = int(re.search(r"/papers/(\d+)", link.get_attribute("href")).group(1))
    admin.go(f"/papers/{paper_id}")
    page.locator("form[action$='/lock'] input[name=confirm]").check()
    admin.submit("form[action$='/lock'] button[type=submit]")
    return paper_id


def plan_session(admin: Actor, day: date, blueprint_title: str, paper_id: int, title: str) -> int:
    page = admin.page
    admin.go("/sessions/new")
    page.select_option("#league_city", CITY)
    option = page.locator("#blueprint_id option", has_text=blueprint_title).first
    page.select_option("#blueprint_id", option.get_attribute("value"))
    page.locator(f"input[name=paper_ids][value='{paper_id}']").check()
    page.fill("#title", title)
    page.fill("#exam_date", day.isoformat())
    page.fill("#window_start", "09:30")
    page.fill("#window_end", "11:30")
    page.locator("input[name=room_name]").first.fill("第一考场")
    page.locator("input[name=room_capacity]").first.fill("10")
    page.locator("input[name=auto_check_in]").check()
    admin.submit("#plan-form button[type=submit]")
    return int(re.search(r"/sessions/(\d+)", page.url).group(1))


def assign_staff(admin: Actor, session_id: int, role: str, name: str, room: str | None = None) -> None:
    page = admin.page
    admin.go(f"/sessions/{session_id}/staff")
    user = page.locator(f"#user-{role} option", has_text=name).first.get_attribute("value")
    page.select_option(f"#user-{role}", user)
    if room is not None:
        room_id = page.locator(f"#room-{role} option", has_text=room).first.get_attribute("value")
        page.select_option(f"#room-{role}", room_id)
    admin.submit(page.locator(f"form:has(#user-{role}) button[type=submit]"))


def register_candidates(admin: Actor, session_id: int) -> dict[str, str]:
    page = admin.page
    for name, id_number in CANDIDATES:
        admin.go(f"/sessions/{session_id}/candidates")
        page.fill("#name", name)
        page.select_option("#id_type", "resident_id")
        page.fill("#id_number", id_number)
        admin.submit("form[action$='/candidates'] button[type=submit]")
    admin.go(f"/sessions/{session_id}/tickets")
    return {name: page.locator("article.ticket", has_text=name).locator(".number").inner_text().strip()
            for name, _ in CANDIDATES}


def sit_exam(page, base: str, ticket: str, id_number: str, right: int) -> None:
    """Sign in with the admission ticket, answer ``right`` items correctly and the rest wrongly, hand in."""
    keys = {stem: key for _, stem, _, key in ITEMS}
    page.goto(f"{base}/exam/sign-in")
    page.fill("#ticket_number", ticket)
    page.fill("#id_number", id_number)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/exam/")
    page.wait_for_selector("#exam-items .exam-item", state="attached")
    items = page.locator("article.exam-item")
    assert items.count() == len(ITEMS)
    for n in range(items.count()):
        page.locator("#exam-grid button").nth(n).click()
        item = items.nth(n)
        item.wait_for(state="visible")
        stem = next(s for s in keys if s.rstrip("（　）。") in item.inner_text())
        key = keys[stem] if n < right else ("B" if keys[stem] != "B" else "C")
        item.locator(f"input[value='{key}']").check()
        page.wait_for_selector(f"#{item.get_attribute('id')}[data-save-state=saved]", state="attached")
    page.click("#exam-submit")
    page.click("#exam-confirm-ok")
    page.wait_for_selector("#exam-closed", state="visible")


def score_rows(page) -> dict[str, tuple[str, str]]:
    """Candidate name -> (score, result) from the results page."""
    rows = {}
    for name, _ in CANDIDATES:
        row = page.locator("tr", has_text=name).last
        rows[name] = (row.locator("td.num").last.inner_text().strip(), row.locator(".pill").last.inner_text().strip())
    return rows


def end_session(admin: Actor, session_id: int) -> None:
    page = admin.page
    admin.go(f"/sessions/{session_id}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("form[action$='/close'] input[name=confirm]").check()
    admin.submit("form[action$='/close'] button[type=submit]")
