"""The exam room in a real browser: a candidate signs in, answers, reloads, loses the network,
continues and submits while an invigilator grants extra time; nothing secret ever reaches the
browser; Mongolian is written vertically.

The server's clock is frozen at the exam day (it decides every deadline) and moved by the test;
the page's own clock is Playwright's, so that the 30-second re-synchronisation can be reached
without waiting for it.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from examsvc import clock
from examsvc.accounts.models import User
from examsvc.db import unit_of_work
from examsvc.delivery.models import Answer, Attempt
from examsvc.delivery.service import grant_extra_time
from tests.browser.conftest import build_exam
from tests.delivery.conftest import EXAM_DAY

pytestmark = pytest.mark.browser
DURATION = 90 * 60  # the blueprint's 90 minutes
SLACK = 10  # seconds the page's own countdown may have run since the server's figure (a loaded machine)
SCREENSHOTS = "/tmp"
SHOWN_AT_LEAST = """minimum => {
  const [h, m, s] = document.querySelector('#exam-remaining').textContent.split(':').map(Number);
  return h * 3600 + m * 60 + s >= minimum;
}"""


def sign_in(page, base, candidate):
    page.goto(f"{base}/exam/sign-in")
    page.fill("#ticket_number", candidate["ticket"])
    page.fill("#id_number", candidate["id_number"])
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/exam/")
    page.wait_for_selector("#exam-items .exam-item", state="attached")


def seconds_shown(page) -> int:
    hours, minutes, seconds = map(int, page.inner_text("#exam-remaining").split(":"))
    return hours * 3600 + minutes * 60 + seconds


def item_number(page, item_type: str, nth: int = 0) -> int:
    element_id = page.locator(f"article.exam-item[data-type={item_type}]").nth(nth).get_attribute("id")
    return int(element_id.removeprefix("item-"))


def go_to(page, number: int) -> None:
    page.locator("#exam-grid button").nth(number - 1).click()
    page.wait_for_selector(f"#item-{number}", state="visible")


def choose(page, number: int, *display_labels: str) -> list[str]:
    """Tick options by their displayed letters (A., B. ... or 对/错); returns the original letters."""
    values = []
    for label in display_labels:
        option = page.locator(f"#item-{number} label.option", has=page.locator(".option-label", has_text=label))
        option.locator("input").check()
        values.append(option.locator("input").get_attribute("value"))
    return sorted(values)


def checked_values(page, number: int) -> list[str]:
    return sorted(page.locator(f"#item-{number} input").evaluate_all(
        "inputs => inputs.filter(i => i.checked).map(i => i.value)"))


def stored_answers(app, attempt_id: int) -> dict[int, tuple[list[str], bool]]:
    with app.app_context(), unit_of_work() as db:
        return {a.position: (list(a.response), a.flagged)
                for a in db.scalars(select(Answer).where(Answer.attempt_id == attempt_id))}


def position_of(page, number: int) -> int:
    return int(page.get_attribute(f"#item-{number}", "data-position"))


def the_attempt(app, candidate_id: int) -> Attempt:
    with app.app_context(), unit_of_work() as db:
        attempt = db.scalar(select(Attempt).where(Attempt.candidate_id == candidate_id))
        db.expunge(attempt)
        return attempt


def assert_nothing_secret_was_received(page, exam, me) -> None:
    received = page.received
    assert not received.unread, f"response bodies that could not be read: {received.unread}"
    assert any("/exam/api/state" in url for url, _ in received.bodies)
    attempt_paper = None
    for url, text in received.bodies:
        if "/exam/api/state" in url:
            assert not re.search(r'"(key|keys|explanation|difficulty\w*|element_code|source|answer_key)"\s*:', text), url
    mine = set()
    for paper_id, versions in exam["papers"].items():
        shown = [url for v in versions for url in received.containing(exam["secrets"][v]["stems"][0])
                 + received.containing(exam["secrets"][v]["stems"][1])]
        if shown:
            attempt_paper = paper_id
            mine = versions
    assert attempt_paper is not None, "the candidate's own items never arrived"
    for version_id, secret in exam["secrets"].items():
        for explanation in secret["explanations"]:
            assert not received.containing(explanation), f"explanation of item version {version_id} reached the browser"
        assert not received.containing(secret["source"]), f"source of item version {version_id} reached the browser"
        if version_id not in mine:  # an item outside the candidate's form
            for stem in secret["stems"]:
                assert not received.containing(stem), f"item version {version_id} is not on this candidate's form"
    for other in exam["candidates"]:
        assert not received.containing(other["id_number"]), "an ID number reached the browser"
        if other["id"] != me["id"]:
            assert not received.containing(other["name"]) and not received.containing(other["ticket"]), other


def test_a_candidate_answers_reloads_goes_offline_gets_extra_time_and_submits(app, session, world, live_server,
                                                                              page_factory):
    exam = build_exam(app, session, world, layout="paged")
    me = exam["candidates"][0]
    with clock.frozen(EXAM_DAY) as server_clock:
        page = page_factory()
        page.clock.install()
        sign_in(page, live_server, me)
        attempt = the_attempt(app, me["id"])
        assert DURATION - SLACK <= seconds_shown(page) <= DURATION
        assert page.is_visible("#exam-prev") and page.locator("article.exam-item:visible").count() == 1

        # single, multiple and true/false answers, one flagged for review: each confirmed by the server
        single, multiple, true_false = (item_number(page, t) for t in ("single_choice", "multiple_choice",
                                                                       "true_false"))
        expected = {}
        go_to(page, single)
        expected[single] = choose(page, single, "C.")
        go_to(page, multiple)
        expected[multiple] = choose(page, multiple, "A.", "D.")
        page.click(f"#item-{multiple} .flag-toggle")
        go_to(page, true_false)
        expected[true_false] = choose(page, true_false, "错")
        for number in expected:
            page.wait_for_selector(f"#item-{number}[data-save-state=saved]", state="attached")
        assert page.inner_text(f"#item-{true_false} .item-status") == "已保存"
        assert page.inner_text("#exam-count-answered") == "3" and page.inner_text("#exam-count-flagged") == "1"
        stored = stored_answers(app, attempt.id)
        assert {position_of(page, n): stored[position_of(page, n)][0] for n in expected} == {
            position_of(page, n): v for n, v in expected.items()}
        assert stored[position_of(page, multiple)][1] is True
        page.screenshot(path=f"{SCREENSHOTS}/exam-room-paged.png", full_page=True)

        # ten minutes later (server time) the candidate reloads: same answers, the server's time
        server_clock.advance(timedelta(minutes=10))
        page.reload()
        page.wait_for_selector(f"#item-{single}[data-save-state=saved]", state="attached")
        for number, values in expected.items():
            assert checked_values(page, number) == values
        assert page.get_attribute(f"#item-{multiple} .flag-toggle", "aria-pressed") == "true"
        assert DURATION - 600 - SLACK <= seconds_shown(page) <= DURATION - 600

        # the network drops: the change waits, marked unsaved, and is sent when it returns
        second_single = item_number(page, "single_choice", 1)
        go_to(page, second_single)
        page.context.set_offline(True)
        offline_choice = choose(page, second_single, "B.")
        page.wait_for_selector(f"#item-{second_single}[data-save-state=unsaved]", state="attached")
        assert page.inner_text(f"#item-{second_single} .item-status") == "未保存（网络中断，将自动重试）"
        assert page.is_visible("#exam-notice")
        page.screenshot(path=f"{SCREENSHOTS}/exam-room-offline.png")
        assert position_of(page, second_single) not in stored_answers(app, attempt.id)
        page.context.set_offline(False)
        page.wait_for_selector(f"#item-{second_single}[data-save-state=saved]", state="attached")
        assert stored_answers(app, attempt.id)[position_of(page, second_single)] == (offline_choice, False)
        assert page.is_hidden("#exam-notice")

        # the invigilator grants five minutes; the next re-synchronisation shows them
        with app.app_context(), unit_of_work() as db:
            grant_extra_time(db, db.get(Attempt, attempt.id), db.get(User, exam["invigilator_id"]), 5,
                             "考场网络故障补时")
        before = seconds_shown(page)
        page.clock.fast_forward(31_000)
        page.wait_for_function(SHOWN_AT_LEAST, arg=before + 250)
        after = seconds_shown(page)
        assert DURATION - 600 + 300 - SLACK <= after <= DURATION - 600 + 300 and after > before + 250

        # submit: the dialog counts what is unanswered and flagged; the server closes the attempt
        page.click("#exam-submit")
        summary = page.inner_text("#exam-confirm-summary")
        page.screenshot(path=f"{SCREENSHOTS}/exam-room-confirm.png")
        total = page.locator("article.exam-item").count()
        assert f"未答 {total - 4} 题" in summary and "标记待查 1 题" in summary
        page.click("#exam-confirm-ok")
        page.wait_for_selector("#exam-closed", state="visible")
        assert "您已交卷" in page.inner_text("#exam-closed")
        assert "已确认保存的答案全部保留" in page.inner_text("#exam-closed")
        page.screenshot(path=f"{SCREENSHOTS}/exam-room-submitted.png")
        assert the_attempt(app, me["id"]).status == "submitted"
        page.reload()  # a closed attempt stays closed
        page.wait_for_selector("#exam-closed", state="visible")
        assert len(stored_answers(app, attempt.id)) == 4

    assert_nothing_secret_was_received(page, exam, me)


def test_mongolian_is_written_vertically_for_a_mongolian_candidate_and_chinese_stays_horizontal(
        app, session, world, live_server, page_factory):
    exam = build_exam(app, session, world, layout="scrolling", mongolian=True)
    mongolian, chinese = exam["candidates"][0], exam["candidates"][1]
    with clock.frozen(EXAM_DAY):
        page = page_factory()
        sign_in(page, live_server, mongolian)
        total = page.locator("article.exam-item").count()
        assert page.locator("article.exam-item:visible").count() == total  # one scrolling paper
        assert page.is_hidden("#exam-pager")
        text = page.locator("#item-1 .item-text")
        style = text.evaluate("e => { const s = getComputedStyle(e); return [s.writingMode, s.textOrientation, "
                              "s.fontFamily, e.lang]; }")
        assert style[:2] == ["vertical-lr", "mixed"] and "Noto Sans Mongolian" in style[2] and style[3] == "mn-Mong"
        assert re.search("[\u1800-\u18af]", page.inner_text("#item-1 .item-stem"))
        box = page.locator("#item-1 .item-stem").bounding_box()
        assert box["height"] > 2 * box["width"], box  # a column of text running top to bottom
        number = item_number(page, "single_choice")
        page.locator(f"#item-{number}").scroll_into_view_if_needed()
        choose(page, number, "B.")
        page.wait_for_selector(f"#item-{number}[data-save-state=saved]", state="attached")
        page.locator(f"#item-{number}").evaluate("e => e.scrollIntoView({block: 'start'})")
        page.screenshot(path=f"{SCREENSHOTS}/exam-room-scrolling-mongolian.png")
        assert_nothing_secret_was_received(page, exam, mongolian)

        other = page_factory()
        sign_in(other, live_server, chinese)
        assert other.locator("#item-1 .item-text").evaluate("e => getComputedStyle(e).writingMode") == "horizontal-tb"
        assert not re.search("[\u1800-\u18af]", other.inner_text("#exam-items"))
        other.screenshot(path=f"{SCREENSHOTS}/exam-room-scrolling.png")
        assert_nothing_secret_was_received(other, exam, chinese)


def test_at_the_deadline_the_server_closes_the_attempt_and_a_later_answer_is_refused_clearly(
        app, session, world, live_server, page_factory):
    from examsvc.delivery.service import close_expired

    exam = build_exam(app, session, world)
    me = exam["candidates"][0]
    with clock.frozen(EXAM_DAY) as server_clock:
        page = page_factory()
        sign_in(page, live_server, me)
        attempt = the_attempt(app, me["id"])
        first, second = item_number(page, "true_false", 0), item_number(page, "true_false", 1)
        go_to(page, first)
        kept = choose(page, first, "对")
        page.wait_for_selector(f"#item-{first}[data-save-state=saved]", state="attached")
        # the deadline passes; the job runner's sweep closes the attempt, browser or not
        server_clock.advance(timedelta(minutes=91))
        with app.app_context(), unit_of_work() as db:
            assert close_expired(db) == 1
        go_to(page, second)
        choose(page, second, "错")
        page.wait_for_selector("#exam-closed", state="visible")
        page.wait_for_selector("#exam-closed-reason:has-text('考试时间已到')")  # asked of the server
        closed = page.inner_text("#exam-closed")
        assert "考试时间已到" in closed and "已确认保存的答案全部保留" in closed and "有 1 处修改未经服务器确认" in closed
        assert page.inner_text("#exam-remaining") == "00:00:00"
    assert the_attempt(app, me["id"]).status == "expired"
    assert stored_answers(app, attempt.id) == {position_of(page, first): (kept, False)}


def test_an_older_tab_never_overwrites_the_answer_a_newer_one_saved(app, session, world, live_server, page_factory):
    exam = build_exam(app, session, world)
    me = exam["candidates"][0]
    with clock.frozen(EXAM_DAY):
        older = page_factory()
        sign_in(older, live_server, me)
        attempt = the_attempt(app, me["id"])
        newer = older.context.new_page()  # same browser, same sign-in: a second tab
        newer.goto(f"{live_server}/exam/")
        newer.wait_for_selector("#exam-items .exam-item", state="attached")
        number = item_number(older, "single_choice")
        position = position_of(older, number)
        go_to(newer, number)
        wanted = choose(newer, number, "D.")
        newer.wait_for_selector(f"#item-{number}[data-save-state=saved]", state="attached")
        go_to(older, number)
        choose(older, number, "A.")  # the same sequence number as the newer tab's save
        older.wait_for_selector("#exam-notice:has-text('另一个页面已保存了更新的答案')")
        older.wait_for_function(f"() => document.querySelector('#item-{number} input[value=\"{wanted[0]}\"]').checked")
        assert stored_answers(app, attempt.id)[position] == (wanted, False)
        # having caught up, the older tab's next change is the newest and is kept
        again = choose(older, number, "B.")
        older.wait_for_selector(f"#item-{number}[data-save-state=saved]", state="attached")
        assert stored_answers(app, attempt.id)[position] == (again, False)


def test_a_paused_exam_shows_the_pause_stops_the_clock_and_continues_when_resumed(
        app, session, world, live_server, page_factory):
    from examsvc.delivery.service import pause, resume

    exam = build_exam(app, session, world)
    me = exam["candidates"][0]
    with clock.frozen(EXAM_DAY) as server_clock:
        page = page_factory()
        page.clock.install()
        sign_in(page, live_server, me)
        attempt = the_attempt(app, me["id"])
        with app.app_context(), unit_of_work() as db:
            pause(db, db.get(Attempt, attempt.id), db.get(User, exam["invigilator_id"]), "考生身体不适")
        page.clock.fast_forward(31_000)  # the next re-synchronisation learns of the pause
        page.wait_for_selector("#exam-paused", state="visible")
        assert "考试已暂停" in page.inner_text("#exam-paused")
        assert page.is_disabled("#exam-submit")
        shown = page.inner_text("#exam-remaining")
        server_clock.advance(timedelta(minutes=3))
        page.clock.fast_forward(6_000)
        assert page.inner_text("#exam-remaining") == shown  # paused time does not count
        with app.app_context(), unit_of_work() as db:
            resume(db, db.get(Attempt, attempt.id), db.get(User, exam["invigilator_id"]))
        page.clock.fast_forward(6_000)  # while paused the page asks every few seconds
        page.wait_for_selector("#exam-paused", state="hidden")
        number = item_number(page, "true_false")
        go_to(page, number)
        choose(page, number, "对")
        page.wait_for_selector(f"#item-{number}[data-save-state=saved]", state="attached")
        assert DURATION - SLACK <= seconds_shown(page) <= DURATION



def test_the_console_asks_before_terminating_an_exam_or_ending_the_session(
        app, session, world, live_server, page_factory):
    """终止考试 and 结束考试 ask in a browser dialog; dismissing it changes nothing, accepting it acts.
    (Their forms hold a checkbox named ``confirm``, which shadowed ``confirm()`` in the inline
    handlers: "confirm is not a function", and no dialog at all.)"""
    from examsvc.sessions.models import ExamSession
    from tests.conftest import PASSWORD

    exam = build_exam(app, session, world)
    me = exam["candidates"][0]

    def session_status() -> str:
        with app.app_context(), unit_of_work() as db:
            return db.get(ExamSession, exam["session_id"]).status

    with clock.frozen(EXAM_DAY + timedelta(minutes=1)):
        sign_in(page_factory(), live_server, me)
        with app.app_context(), unit_of_work() as db:
            room_id = db.get(ExamSession, exam["session_id"]).rooms[0].id
            invigilator = db.get(User, exam["invigilator_id"]).username
        console = page_factory()
        errors, dialogs, answer = [], [], {"accept": False}
        console.on("pageerror", lambda error: errors.append(str(error)))

        def on_dialog(dialog):
            dialogs.append((dialog.type, dialog.message))
            dialog.accept() if answer["accept"] else dialog.dismiss()

        console.on("dialog", on_dialog)
        console.goto(f"{live_server}/login")
        console.fill("#username", invigilator)
        console.fill("#password", PASSWORD)
        with console.expect_navigation():
            console.click("main form button[type=submit]")
        url = f"{live_server}/sessions/{exam['session_id']}/rooms/{room_id}/console"

        def fill_terminate():
            console.goto(url)
            console.click("details:has(input[name=action][value=terminate]) summary")
            form = console.locator("form:has(input[name=action][value=terminate])")
            form.locator("input[name=reason]").fill("携带手机")
            form.locator("input[name=confirm]").check()
            return form.locator("button[type=submit]")

        fill_terminate().click()  # dismissed: no request, the exam goes on
        console.wait_for_timeout(500)
        assert dialogs == [("confirm", "确定因违纪终止该考生的考试吗？此操作不能撤销。")], (dialogs, errors)
        assert the_attempt(app, me["id"]).status == "in_progress"
        answer["accept"] = True
        button = fill_terminate()
        with console.expect_navigation():
            button.click()
        assert len(dialogs) == 2 and the_attempt(app, me["id"]).status == "terminated"

        def end_session_button():
            console.goto(url)
            form = console.locator("form:has(input[name=room_id])")
            form.locator("input[name=confirm]").check()
            return form.locator("button[type=submit]")

        answer["accept"] = False
        end_session_button().click()  # dismissed: the session stays open
        console.wait_for_timeout(500)
        assert dialogs[2] == ("confirm", "确定现在结束考试吗？所有仍在作答的考试将收卷，已作答的答案保留。"), dialogs
        assert session_status() == "open"
        answer["accept"] = True
        button = end_session_button()
        with console.expect_navigation():
            button.click()
        assert len(dialogs) == 4 and session_status() == "closed"
        assert not errors, errors
