"""The certification journey in a real browser, from an empty database to a verified certificate.

Everything happens through the UI, each person in their own browser context. The only things done
outside the browser are what an operator does on the server: ``examsvc db upgrade`` (schema and the
occupation catalogue) and ``examsvc create-user`` for the first system administrator. Every other
account, the institution's filing, the bank, the papers, the sessions and the results are made on
screen. The server's clock is frozen on today's date at 10:00 Beijing time (so the exam window is
open whatever the hour of the run) and moved forward only to let the notice period (公示) pass.

Steps (each one timed; the timings are printed at the end of the test and recorded as the
``journey_steps`` property of the test in a JUnit report):

1. setup — ``examsvc db upgrade`` and ``examsvc create-user`` for the sysadmin (CLI, in-process)
2. accounts — the sysadmin creates both regulators, the item writer and the reviewer
3. filing — the 呼和浩特市 regulator records the filing application (Art. 9 documents, Art. 10
   declarations, scope 6-18-01-01 level 4), four evaluations and the public notice; the region's
   regulator publishes it in a batch, which assigns the institution its code
4. staff — the sysadmin creates the institution's admin, two invigilators and three examiners;
   the admin records the examiners' cards (考评员证卡)
5. blueprints — the reviewer uploads a tiny theory blueprint and a small skill blueprint
   (tests/browser/data/) on the bank's blueprint page
6. items — the item writer drafts the four theory items (one per element) and submits them
7. review — the reviewer approves each of them
8. papers — the institution admin assembles and locks a theory paper and a skill paper (one task
   drawn from each module's pool); the skill paper's 考核任务书 and 评分记录表 PDFs are read back
9. sessions — plans a theory session (automatic check-in) and a skill session, assigns two
   invigilators to each and three examiners to the skill session, registers both candidates in
   each and opens both
10. exam — each candidate signs in with ticket and ID number and sits the theory exam in the
    browser (one answers all four items right, the other two); the admin ends the session
11. skill scoring — each examiner scores each candidate's drawn tasks on screen, rubric line by
    rubric line; the admin ends the skill session
12. theory scored — the admin scores the theory answers (100 and 50)
13. published — the results of both sessions are published with a one-day notice period
14. notice passes, confirmed — the clock moves two days on and the admin confirms both sessions
15. certificates issued — one certificate (the candidate who passed both components)
16. PDF — the certificate PDF is downloaded and read back with pdftotext
17. verification — the public verifies it by number and name, and by the URL scanned (zbarimg)
    from the QR code on the PDF page rendered by pdftoppm
18. batch — the institution submits the certificate data batch; the 呼和浩特市 regulator checks
    and forwards it; the region accepts it
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from examsvc import clock
from examsvc.cli import cli
from tests.browser.conftest import browser_required
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
THEORY_TITLE = "理论知识 旅程测试细目表"
SKILL_TITLE = "操作技能 旅程测试细目表"
# What every examiner awards each candidate: per drawn task (module M1's, then M2's), per rubric criterion.
SKILL_SCORES = {"王建军": [[36, 18], [27, 9]],   # 90
                "其木格": [[30, 12], [20, 8]]}   # 70
TINY_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


class Timings:
    """Each step's wall-clock time, printed as a table when the journey ends; with
    ``JOURNEY_SCREENSHOTS=DIR`` also what the last page acted on showed at the end of each step
    (``DIR/NN.png``), for seeing what a new user sees."""

    def __init__(self, screenshots: Path | None = None):
        self.steps: list[tuple[str, float]] = []
        self.screenshots, self.last_page = screenshots, None

    @contextmanager
    def step(self, name: str):
        started = time.perf_counter()
        yield
        self.steps.append((name, time.perf_counter() - started))
        if self.screenshots is not None and self.last_page is not None:
            self.screenshots.mkdir(parents=True, exist_ok=True)
            self.last_page.screenshot(path=str(self.screenshots / f"{len(self.steps):02d}.png"), full_page=True)

    def table(self) -> str:
        width = max(len(name) for name, _ in self.steps)
        lines = [f"{name:<{width}}  {seconds:7.2f} s" for name, seconds in self.steps]
        total = sum(seconds for _, seconds in self.steps)
        return "\n".join(["journey steps:", *lines, f"{'total':<{width}}  {total:7.2f} s"])


@pytest.fixture
def timings(record_property, capsys, request):
    folder = os.environ.get("JOURNEY_SCREENSHOTS")
    recorded = Timings(Path(folder) / request.node.callspec.id if folder else None)
    yield recorded
    if recorded.steps:
        record_property("journey_steps", {name: round(seconds, 2) for name, seconds in recorded.steps})
        with capsys.disabled():
            print("\n" + recorded.table())


class Actor:
    """One person at their own browser: signs in, follows links, fills and submits forms."""

    def __init__(self, page, base: str, username: str, timings: Timings):
        self.page, self.base, self.username, self.timings = page, base, username, timings

    def go(self, path: str) -> None:
        self.timings.last_page = self.page
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
        self.timings.last_page = self.page
        with self.page.expect_navigation():
            (self.page.locator(button) if isinstance(button, str) else button).click()
        errors = self.page.locator(".error[role=alert]:not(#readiness), p.error.bad")
        assert errors.count() == 0, f"{self.username} at {self.page.url}: {errors.first.inner_text()}"
        if expect is not None:
            assert expect in self.page.inner_text("body"), (expect, self.page.url, self.page.inner_text("main"))


def beijing_today() -> date:
    return datetime.now(BEIJING).date()


@pytest.fixture
def journey_app(app, timings):
    """The app with the schema's reference data loaded and the first sysadmin created, as an operator
    does on a fresh server (``examsvc db upgrade``, ``examsvc create-user``)."""
    with timings.step("1 setup: examsvc db upgrade, examsvc create-user (sysadmin)"):
        runner = app.test_cli_runner()
        result = runner.invoke(cli, ["db", "upgrade"])
        assert result.exit_code == 0 and "Occupation catalogue" in result.output, result.output
        result = runner.invoke(cli, ["create-user", "--username", "sysadmin", "--name", "系统管理员", "--role",
                                     "sysadmin", "--password", PASSWORD])
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


def test_from_an_empty_database_to_a_verified_certificate(journey_app, live_server, page_factory, timings, tmp_path):
    app, base = journey_app, live_server
    app.config["PUBLIC_BASE_URL"] = base  # the address the public reaches the service at (QR codes)
    missing = [tool for tool in ("pdftotext", "pdftoppm", "zbarimg") if not shutil.which(tool)]
    if missing:
        message = f"{', '.join(missing)} not installed (apt-get install poppler-utils zbar-tools)"
        if browser_required():
            pytest.fail("CI requires the journey: " + message, pytrace=False)
        pytest.skip(message + ": the journey is SKIPPED")
    today = beijing_today()
    start = datetime(today.year, today.month, today.day, 10, 0, tzinfo=BEIJING)

    def actor(username: str) -> Actor:
        return Actor(page_factory(), base, username, timings).sign_in()

    with clock.frozen(start) as server_clock:
        with timings.step("2 accounts: sysadmin creates both regulators, writer, reviewer"):
            sysadmin = actor("sysadmin")
            create_users(sysadmin, [
                ("reg_region", "自治区监管员", "regulator", None, "自治区"),
                ("reg_city", "呼和浩特监管员", "regulator", None, CITY),
                ("writer", "命题员", "item_writer", None, None),
                ("reviewer", "审题员", "item_reviewer", None, None),
            ])

        with timings.step("3 filing: application, evaluations, notice, publication"):
            code = file_institution(actor("reg_city"), actor("reg_region"), today)

        with timings.step("4 institution staff accounts; examiner cards recorded by the institution"):
            label = f"{code} {INSTITUTION}"
            create_users(sysadmin, [
                ("inst_admin", "机构管理员", "institution_admin", label, None),
                ("inv1", "监考一", "invigilator", label, None),
                ("inv2", "监考二", "invigilator", label, None),
                *[(f"ex{n}", f"考评员{n}", "examiner", label, None) for n in (1, 2, 3)],
            ])
            admin = actor("inst_admin")
            for n in (1, 2, 3):
                register_examiner_card(admin, f"考评员{n}", f"KP-JOURNEY-{n:04d}", today)

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

        with timings.step("8 theory paper and skill paper assembled and locked"):
            theory_paper = assemble_and_lock(admin, THEORY_TITLE)
            skill_paper = assemble_and_lock(admin, SKILL_TITLE)
            admin.go(f"/papers/{skill_paper}")
            text = admin.page.inner_text("main")
            # one task of module M1 (T01 or T02, drawn) and module M2's only task
            assert ("T01" in text) != ("T02" in text) and "T03" in text and "外螺纹车削" in text, text
            # 考核任务书 for candidates (no rubric) and 评分记录表 for examiners, printed with CJK text
            for link, rubric in (("task-book.pdf", False), ("score-sheets.pdf", True)):
                printed = pdf_text(admin, admin.page.locator(f"a[href$='/{link}']").get_attribute("href"),
                                   tmp_path / link)
                assert "外螺纹车削" in printed and ("螺纹环规检验不合格不得分" in printed) == rubric, (link, printed)

        with timings.step("9 theory and skill sessions planned, staffed, candidates registered, opened"):
            theory = plan_session(admin, today, THEORY_TITLE, theory_paper, "2026年车工四级理论知识（旅程）")
            skill = plan_session(admin, today, SKILL_TITLE, skill_paper, "2026年车工四级操作技能（旅程）",
                                 auto_check_in=False)
            for session_id in (theory, skill):
                for invigilator in ("监考一", "监考二"):
                    assign_staff(admin, session_id, "invigilator", invigilator, room="第一考场")
            for n in (1, 2, 3):
                assign_staff(admin, skill, "examiner", f"考评员{n}")
            tickets = register_candidates(admin, theory)
            register_candidates(admin, skill)
            for session_id in (theory, skill):
                admin.go(f"/sessions/{session_id}")
                admin.submit("form[action$='/open'] button[type=submit]")
                assert admin.page.locator("main .pill.open").count() == 1, admin.page.inner_text("main")

        with timings.step("10 candidates sit the theory exam in the browser; session ended"):
            server_clock.advance(timedelta(minutes=5))
            # the first answers every item right, the second only half of them (fails the theory)
            for (name, id_number), right in zip(CANDIDATES, (4, 2)):
                sit_exam(page_factory(), base, tickets[name], id_number, right)
            server_clock.advance(timedelta(minutes=30))
            end_session(admin, theory)

        with timings.step("11 examiners score the skill tasks on screen; skill session ended"):
            for n in (1, 2, 3):
                examiner = actor(f"ex{n}")
                for name, _ in CANDIDATES:
                    score_tasks(examiner, skill, name, SKILL_SCORES[name])
            end_session(admin, skill)
            admin.go(f"/results/sessions/{skill}")
            assert score_rows(admin.page) == {"王建军": ("90.00", "合格"), "其木格": ("70.00", "合格")}

        with timings.step("12 theory scored"):
            admin.go(f"/results/sessions/{theory}")
            admin.submit("form[action$='/score'] button[type=submit]")
            assert score_rows(admin.page) == {"王建军": ("100.00", "合格"), "其木格": ("50.00", "不合格")}

        with timings.step("13 results of both sessions published (notice 1 day)"):
            for session_id in (theory, skill):
                admin.go(f"/results/sessions/{session_id}")
                admin.page.fill("#notice_days", "1")
                admin.submit("form[action$='/publish'] button[type=submit]", expect="公示期至")

        with timings.step("14 notice period passes; both confirmed"):
            server_clock.advance(timedelta(days=2))
            for session_id in (theory, skill):
                admin.go(f"/results/sessions/{session_id}")
                admin.submit("form[action$='/confirm'] button[type=submit]", expect="成绩已确认")

        with timings.step("15 certificates issued"):
            # the pass record rests on both sessions' scores; it is offered once, under the later session
            admin.go("/certificates/issue")
            rows = admin.page.locator("tr", has_text="（旅程）")
            assert [row.locator("td.num").inner_text().strip() for row in rows.all()] == ["1"], \
                admin.page.inner_text("main")
            row = admin.page.locator("tr", has_text="操作技能（旅程）")
            row.locator("input[name=confirm]").check()
            admin.submit(row.locator("button[type=submit]"), expect="已颁发 1 本证书")
            listed = admin.page.inner_text("main")
            admin.go("/certificates/issue")
            assert admin.page.locator("tr", has_text="（旅程）").count() == 0, admin.page.inner_text("main")
            admin.go("/certificates/")
            assert "王建军" in listed and "其木格" not in listed, listed

        with timings.step("16 certificate PDF downloaded and read back"):
            row = admin.page.locator("tr", has_text="王建军")
            number = row.locator("a code").inner_text().strip()
            with admin.page.expect_navigation():
                row.locator("a").first.click()
            assert number.startswith(code), number
            detail = admin.page.inner_text("main")
            assert "理论知识 100" in detail and "操作技能 90" in detail, detail
            pdf = tmp_path / "certificate.pdf"
            text = pdf_text(admin, admin.page.locator("a[href$='certificate.pdf']").get_attribute("href"), pdf)
            for expected in ("王建军", number, "车工", "四级", INSTITUTION):
                assert expected in text.replace(" ", ""), (expected, text)

        with timings.step("17 public verification by number and through the QR code's URL"):
            public = page_factory()
            public.goto(f"{base}/verify")
            public.fill("#number", number)
            public.fill("#name", "王建军")
            public.click("main form button[type=submit]")
            public.wait_for_load_state()
            assert public.inner_text(".verdict").strip() == "有效", public.inner_text("main")
            subprocess.run(["pdftoppm", "-png", "-r", "200", "-singlefile", str(pdf), str(tmp_path / "page")],
                           check=True)
            scanned = subprocess.run(["zbarimg", "-q", "--raw", str(tmp_path / "page.png")], capture_output=True,
                                     text=True).stdout.strip()
            assert scanned.startswith(f"{base}/verify/{number}?n="), scanned
            other = page_factory()
            response = other.goto(scanned)
            assert response.status == 200 and other.inner_text(".verdict").strip() == "有效", other.inner_text("main")
            assert number in other.inner_text("main") and "车工" in other.inner_text("main")
            timings.last_page = other

        with timings.step("18 certificate data batch: checked by the league/city, accepted by the region"):
            admin.go("/certificate-batches/")
            admin.page.fill("#period_from", today.isoformat())
            admin.page.fill("#period_to", (today + timedelta(days=2)).isoformat())
            admin.submit("main form button[type=submit]", expect="已报送评价监管部门")
            batch_url = admin.page.url.replace("/certificate-batches/", "/certificate-batches/regulator/")
            assert number in admin.page.inner_text("main")
            city = actor("reg_city")
            city.go(batch_url.removeprefix(base))
            city.submit("form[action$='/review'] button[type=submit]", expect="批次已上报自治区")
            region = actor("reg_region")
            region.go(batch_url.removeprefix(base))
            region.submit("form[action$='/accept'] button[type=submit]", expect="批次已接收")


# --- steps ---------------------------------------------------------------------------------------

def pdf_text(viewer: Actor, href: str, path: Path) -> str:
    """Download a PDF in the viewer's browser session to ``path``; its text as pdftotext reads it."""
    response = viewer.page.request.get(viewer.base + href)
    assert response.status == 200 and response.headers["content-type"] == "application/pdf", (href, response.status)
    path.write_bytes(response.body())
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


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
    city.submit("form[action$='/notice'] button[type=submit]", expect="公示中")
    assert page.url == application_url

    page = region.page
    region.go("/filing/")
    page.fill("input[name=title]", f"{today.year}年第X批评价机构目录")
    page.fill("input[name=publication_date]", today.isoformat())
    region.submit("form[action$='/filing/batches'] button[type=submit]")
    page.locator("label", has_text=INSTITUTION).locator("input[name=application_id]").check()
    region.submit("form[action*='/publish'] button[type=submit]", expect="S0000150")
    assert page.locator("tr", has_text=INSTITUTION).first.locator("td", has_text="已公布").count() == 1
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


def plan_session(admin: Actor, day: date, blueprint_title: str, paper_id: int, title: str, *,
                 auto_check_in: bool = True) -> int:
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
    if auto_check_in:
        page.locator("input[name=auto_check_in]").check()
    admin.submit("#plan-form button[type=submit]")
    return int(re.search(r"/sessions/(\d+)", page.url).group(1))


def register_examiner_card(admin: Actor, name: str, number: str, today: date) -> None:
    page = admin.page
    admin.go("/grading/examiners")
    holder = page.locator("#holder option", has_text=name).first.get_attribute("value")
    page.select_option("#holder", holder)
    page.fill("#card_number", number)
    page.select_option("#grade", "examiner")
    page.fill("#valid_from", (today - timedelta(days=365)).isoformat())
    page.fill("#valid_until", (today + timedelta(days=3 * 365)).isoformat())
    page.fill("#jurisdiction", CITY)
    admin.submit(page.locator("form[action$='/examiners/cards'] button[type=submit]"), expect=number)


def score_tasks(examiner: Actor, session_id: int, name: str, scores: list[list[int]]) -> None:
    """An examiner opens the candidate from their scoring list and scores each drawn task's rubric on screen,
    in paper order."""
    page = examiner.page
    examiner.go("/grading/")
    page.locator(f"a[href*='/grading/sessions/{session_id}/candidates/']", has_text=name).click()
    page.wait_for_load_state()
    candidate_url = page.url
    actions = [form.get_attribute("action") for form in page.locator("form[action*='/tasks/']").all()]
    assert len(actions) == len(scores), actions
    for action, points in zip(actions, scores):
        examiner.go(candidate_url.removeprefix(examiner.base))
        form = page.locator(f"form[action='{action}']")
        inputs = form.locator("input.points")
        assert inputs.count() == len(points)
        for n, value in enumerate(points):
            inputs.nth(n).fill(str(value))
        form.locator("input[name=confirm]").check()
        examiner.submit(form.locator("button[type=submit]"), expect=f"{sum(points)} 分")


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
    assert "您已交卷" in page.inner_text("#exam-closed")


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
