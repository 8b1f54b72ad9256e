"""The grading pages by role: the examiner's blind scoring screen, the chief's resolutions, the
institution's results (publish, reviews, confirm, export), and the candidate's own results."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from examsvc import clock
from examsvc.grading.models import ComponentScore, ExaminerScore, ResultPublication, ReviewRequest
from tests.conftest import count_rows, csrf_headers, login, make_user
from tests.delivery.conftest import resident_id
from tests.grading.conftest import EXAM_DAY, TASK_POINTS

EN = {"Accept-Language": "en"}
T03 = {"score-T03-R01": "4", "score-T03-R02": "3", "score-T03-R03": "1.5", "confirm": "yes"}


def _signed_in(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def _post(client, url, data):
    return client.post(url, data={**data, "csrf_token": csrf_headers(client)["X-CSRFToken"]}, headers=EN)


def _candidate_url(panel, index=0):
    return f"/grading/sessions/{panel['session'].id}/candidates/{panel['candidates'][index].id}"


def _score_everything(app, session, panel, index, totals_by_task):
    from examsvc.grading.panel import panel_tasks, submit_scores
    from tests.grading.conftest import rubric_scores

    with app.app_context():
        candidate = session.get(type(panel["candidates"][index]), panel["candidates"][index].id)
        tasks = panel_tasks(session, panel["session"])
        for code, totals in totals_by_task.items():
            for examiner, total in zip(panel["examiners"], totals):
                submit_scores(session, candidate, code, examiner, rubric_scores(tasks[code], total))
        session.commit()


def test_the_examiner_scores_by_rubric_on_their_own_screen_and_others_stay_hidden(app, session, panel):
    e1 = _signed_in(app, "exam1")
    listing = e1.get("/grading/", headers=EN).get_data(as_text=True)
    assert panel["session"].title in listing and "考生1" in listing and "To score" in listing
    page = e1.get(_candidate_url(panel), headers=EN).get_data(as_text=True)
    assert 'name="score-T01-R01"' in page and "尺寸超差不得分" in page
    done = _post(e1, f"{_candidate_url(panel)}/tasks/T03", T03)
    assert done.status_code == 302
    assert session.scalar(select(ExaminerScore.total)) == 8.5
    mine = e1.get(_candidate_url(panel), headers=EN).get_data(as_text=True)
    assert "Your scores are in: 8.5 points" in mine
    e2 = _signed_in(app, "exam2")
    theirs = e2.get(_candidate_url(panel), headers=EN).get_data(as_text=True)
    assert "Examiners who have scored: 1 of 3" in theirs and "8.5" not in theirs
    assert 'name="score-T03-R01"' in theirs  # e2 still scores T03 on their own


def test_scores_outside_the_rubric_are_refused_on_the_page_and_nothing_is_stored(app, session, panel):
    e1 = _signed_in(app, "exam1")
    refused = _post(e1, f"{_candidate_url(panel)}/tasks/T03", {**T03, "score-T03-R01": "5"})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "T03-R01: points lie between 0 and 4" in text and 'aria-invalid="true"' in text
    unconfirmed = _post(e1, f"{_candidate_url(panel)}/tasks/T03", {**T03, "confirm": ""})
    assert unconfirmed.status_code == 422
    assert count_rows(session, ExaminerScore) == 0


def test_an_ineligible_examiner_is_told_which_rule_refuses(app, session, panel):
    from examsvc.sessions.service import assign_staff

    with app.app_context():
        stranger = make_user(session, "nocard", "examiner", panel["A"].id)
        assign_staff(session, panel["session"], stranger, "examiner", None, panel["admin"])
        session.commit()
    client = _signed_in(app, "nocard")
    page = client.get(_candidate_url(panel), headers=EN).get_data(as_text=True)
    assert "holds no examiner card (Art. 25)" in page and 'name="score-T03-R01"' not in page
    refused = _post(client, f"{_candidate_url(panel)}/tasks/T03", T03)
    assert refused.status_code == 403 and "holds no examiner card" in refused.get_data(as_text=True)
    assert count_rows(session, ExaminerScore) == 0


def test_the_chief_examiner_resolves_a_wide_spread_with_a_reason(app, session, panel):
    _score_everything(app, session, panel, 0, {"T01": (40, 50, 55), "T02": (20, 20, 20), "T03": (6, 6, 6)})
    e1 = _signed_in(app, "exam1")
    assert "Nothing waits for a resolution" in e1.get("/grading/resolutions", headers=EN).get_data(as_text=True)
    assert _post(e1, f"{_candidate_url(panel)}/tasks/T01/resolve",
                 {"resolved_total": "50", "reason": "x"}).status_code == 403
    chief = _signed_in(app, "chief")
    pending = chief.get("/grading/resolutions", headers=EN).get_data(as_text=True)
    assert "考生1" in pending and "40, 50, 55" in pending
    assert 'name="resolved_total"' in chief.get(_candidate_url(panel), headers=EN).get_data(as_text=True)
    no_reason = _post(chief, f"{_candidate_url(panel)}/tasks/T01/resolve", {"resolved_total": "50", "reason": ""})
    assert no_reason.status_code == 422
    assert _post(chief, f"{_candidate_url(panel)}/tasks/T01/resolve",
                 {"resolved_total": "50", "reason": "复测后按评分标准"}).status_code == 302
    assert session.scalar(select(ComponentScore.score)) == 76.0


@pytest.mark.parametrize("username, role, where", [
    ("inv_a", "invigilator", "A"), ("admin_other", "institution_admin", "A"), ("exam_b", "examiner", "B"),
    ("regulator", "regulator", None), ("writer", "item_writer", None),
])
def test_other_roles_get_403_on_the_examiner_screens(app, session, panel, username, role, where):
    make_user(session, username, role, panel[where].id if where else None)
    client = _signed_in(app, username)
    for url in ("/grading/", "/grading/resolutions", _candidate_url(panel)):
        expected = 403
        if role == "examiner" and url in ("/grading/", "/grading/resolutions"):
            expected = 200  # an examiner of B has their own (empty) screens, but never A's candidates
        assert client.get(url).status_code == expected, (username, url)
    assert _post(client, f"{_candidate_url(panel)}/tasks/T03", T03).status_code == 403
    assert count_rows(session, ExaminerScore) == 0


def test_examiners_do_not_see_the_institution_results_pages(app, panel):
    e1 = _signed_in(app, "exam1")
    for url in ("/results/", f"/results/sessions/{panel['session'].id}", "/grading/examiners",
                f"/results/sessions/{panel['session'].id}/export.csv"):
        assert e1.get(url).status_code == 403, url


def _publish(client, panel, days=5):
    return _post(client, f"/results/sessions/{panel['session'].id}/publish", {"notice_days": str(days)})


def test_the_institution_tallies_publishes_decides_reviews_confirms_and_exports(app, session, panel):
    admin = _signed_in(app, "admin_a")
    url = f"/results/sessions/{panel['session'].id}"
    with clock.frozen(EXAM_DAY) as frozen:
        _score_everything(app, session, panel, 0, {"T01": (48, 48, 48), "T02": (24, 24, 24), "T03": (8, 8, 8)})
        _score_everything(app, session, panel, 1, {"T01": (30, 30, 30), "T02": (15, 15, 15), "T03": (5, 5, 5)})
        refused = _publish(admin, panel)
        assert refused.status_code == 422 and "1 candidate(s) have no score yet" in refused.get_data(as_text=True)
        assert _post(admin, f"{url}/candidates/{panel['candidates'][2].id}/absent", {}).status_code == 302
        page = admin.get(url, headers=EN).get_data(as_text=True)
        assert "考生1" in page and "80.00" in page and "50.00" in page and "Record absent" not in page
        assert _publish(admin, panel).status_code == 302
        publication = session.scalar(select(ResultPublication))
        assert publication.notice_until == EXAM_DAY.date() + timedelta(days=5)
        with app.app_context():
            from examsvc.grading.results import request_review

            low = session.scalar(select(ComponentScore).where(ComponentScore.candidate_id == panel["candidates"][1].id))
            request_review(session, low, "T02 评分有误")
            session.commit()
        review = session.scalar(select(ReviewRequest))
        assert "T02 评分有误" in admin.get(url, headers=EN).get_data(as_text=True)
        frozen.advance(timedelta(days=6))
        assert _post(admin, f"{url}/confirm", {}).status_code == 409  # the review is still open
        assert _post(admin, f"/results/reviews/{review.id}/decide",
                     {"decision": "复核后改为62分", "new_score": "62"}).status_code == 302
        assert _post(admin, f"{url}/confirm", {}).status_code == 302
    session.expire_all()
    assert session.scalar(select(ComponentScore.score).where(ComponentScore.id == review.score_id)) == 62
    exported = admin.get(f"{url}/export.csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.get_data().decode("utf-8-sig"))))
    assert rows[0][:2] == ["准考证号", "姓名"] and len(rows) == 4
    assert [r[5] for r in rows[1:]] == ["80.0", "62.0", "0.0"]
    workbook = load_workbook(io.BytesIO(admin.get(f"{url}/export.xlsx").get_data()))
    assert workbook.active["B2"].value == "考生1" and workbook.active.max_row == 4
    assert admin.get(f"{url}/export.pdf").status_code == 422


def test_an_institution_admin_of_b_gets_403_on_a_results(app, session, panel):
    make_user(session, "admin_b", "institution_admin", panel["B"].id)
    client = _signed_in(app, "admin_b")
    assert client.get(f"/results/sessions/{panel['session'].id}").status_code == 403
    assert _publish(client, panel).status_code == 403
    assert "操作技能" not in client.get("/results/").get_data(as_text=True)


def test_the_institution_records_cards(app, session, panel):
    admin = _signed_in(app, "admin_a")
    page = admin.get("/grading/examiners", headers=EN).get_data(as_text=True)
    assert "KP-EXAM1" in page
    new = make_user(session, "exam9", "examiner", panel["A"].id)
    form = {"institution_id": str(panel["A"].id), "user_id": str(new.id), "card_number": "kp 2026 009",
            "grade": "examiner", "valid_from": "2026-01-01", "valid_until": "2027-12-31", "employer": "某厂"}
    assert _post(admin, "/grading/examiners/cards", form).status_code == 302
    duplicate = _post(admin, "/grading/examiners/cards", form)
    assert duplicate.status_code == 409 and "KP2026009 is already registered" in duplicate.get_data(as_text=True)
    bad = _post(admin, "/grading/examiners/cards", {**form, "card_number": "x2", "valid_until": "2025-01-01"})
    assert bad.status_code == 422


# --- the candidate --------------------------------------------------------------------------

def _candidate_client(app, panel, index=0):
    client = app.test_client()
    response = client.post("/results/sign-in", data={
        "ticket_number": panel["candidates"][index].ticket_number, "id_number": resident_id(index + 1),
        "csrf_token": csrf_headers(client)["X-CSRFToken"]}, headers=EN)
    assert response.status_code == 302 and response.headers["Location"].endswith("/results/mine")
    return client


def _published(app, session, panel):
    _score_everything(app, session, panel, 0, {"T01": (48, 48, 48), "T02": (24, 24, 24), "T03": (8, 8, 8)})
    _score_everything(app, session, panel, 1, {"T01": (30, 30, 30), "T02": (15, 15, 15), "T03": (5, 5, 5)})
    with app.app_context():
        from examsvc.grading.panel import mark_absent
        from examsvc.grading.results import publish_results

        mark_absent(session, panel["candidates"][2], panel["admin"])
        publish_results(session, panel["session"], panel["admin"], notice_days=5)
        session.commit()


def test_a_candidate_sees_only_their_own_results_once_published(app, session, panel):
    wrong = app.test_client().post("/results/sign-in", data={
        "ticket_number": panel["candidates"][0].ticket_number, "id_number": resident_id(2),
        "csrf_token": csrf_headers(app.test_client())["X-CSRFToken"]})
    assert wrong.status_code in (400, 401)
    client = _candidate_client(app, panel, 1)
    assert "No results are published for you yet" in client.get("/results/mine", headers=EN).get_data(as_text=True)
    with clock.frozen(EXAM_DAY):
        _published(app, session, panel)
        page = client.get("/results/mine", headers=EN).get_data(as_text=True)
    assert "考生2" in page and "50.00" in page and "Fail" in page
    assert "考生1" not in page and "80.00" not in page
    assert all(code in page for code in TASK_POINTS)
    with clock.frozen(EXAM_DAY):
        data = client.get("/exam/api/results").get_json()["results"]
    assert [(r["score"], r["passed"], r["component"]) for r in data] == [(50.0, False, "skill")]
    assert data[0]["tasks"] == {"T01": 30.0, "T02": 15.0, "T03": 5.0} and data[0]["may_request_review"]


def test_a_candidate_requests_a_review_during_the_notice_period_only(app, session, panel):
    client = _candidate_client(app, panel, 1)
    with clock.frozen(EXAM_DAY) as frozen:
        _published(app, session, panel)
        mine = session.scalar(select(ComponentScore).where(ComponentScore.candidate_id == panel["candidates"][1].id))
        other = session.scalar(select(ComponentScore).where(ComponentScore.candidate_id == panel["candidates"][0].id))
        token = csrf_headers(client)["X-CSRFToken"]
        assert client.post("/results/mine/reviews", data={"score_id": other.id, "reason": "x", "csrf_token": token},
                           headers=EN).status_code == 404
        empty = client.post("/results/mine/reviews", data={"score_id": mine.id, "reason": " ", "csrf_token": token},
                            headers=EN)
        assert empty.status_code == 422 and count_rows(session, ReviewRequest) == 0
        done = client.post("/results/mine/reviews", data={"score_id": mine.id, "reason": "T01 偏心距复测",
                                                          "csrf_token": token}, headers=EN)
        assert done.status_code == 302
        page = client.get("/results/mine", headers=EN).get_data(as_text=True)
        assert "T01 偏心距复测" in page and "Request a review" not in page  # one open request at a time
        frozen.advance(timedelta(days=7))
        late = client.post("/exam/api/results/reviews", json={"score_id": mine.id, "reason": "再次申请"},
                           headers={**EN, "X-CSRFToken": token})
        assert late.status_code == 409 and late.get_json()["field"] == "score_id"
        assert count_rows(session, ReviewRequest) == 1


def test_staff_and_visitors_are_sent_to_the_candidate_sign_in(app, panel):
    visitor = app.test_client()
    assert visitor.get("/results/mine").headers["Location"].endswith("/exam/sign-in")
    assert visitor.get("/exam/api/results").status_code == 401
    assert "ticket_number" in visitor.get("/results/sign-in").get_data(as_text=True)
    admin = _signed_in(app, "admin_a")
    assert admin.get("/results/mine").status_code == 302
