"""The exam room over HTTP: only your own attempt, clear refusals, nothing secret in any response."""

from datetime import timedelta

import pytest

from examsvc import clock
from examsvc.delivery.models import Answer
from examsvc.delivery.service import check_in
from examsvc.db import unit_of_work
from tests.conftest import csrf_token_from
from tests.delivery.conftest import EXAM_DAY, resident_id


def _sign_in(client, candidate, index):
    token = csrf_token_from(client.get("/exam/sign-in").get_data(as_text=True))
    response = client.post("/exam/sign-in", data={"ticket_number": candidate.ticket_number,
                                                  "id_number": resident_id(index + 1), "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get("/exam/").get_data(as_text=True)
    return {"X-CSRFToken": csrf_token_from(page.replace('data-csrf="', 'name="csrf_token" value="'))}


@pytest.fixture
def checked_in(app, session, exam):
    with app.app_context():
        for candidate in exam["candidates"]:
            check_in(session, candidate, exam["invigilators"][0])
        session.commit()
    return exam


def test_a_candidate_answers_reloads_and_submits(app, client, session, checked_in):
    with clock.frozen(EXAM_DAY) as frozen:
        headers = _sign_in(client, checked_in["candidates"][0], 0)
        state = client.get("/exam/api/state").get_json()
        assert state["status"] == "in_progress" and state["remaining_seconds"] == 90 * 60
        body = client.get("/exam/api/state").get_data(as_text=True)
        assert '"key"' not in body and "explanation" not in body and "difficulty" not in body
        item = next(i for i in state["items"] if i["type"] == "single_choice")
        choice = item["options"][2]["value"]
        saved = client.post("/exam/api/answers", json={"position": item["position"], "response": [choice],
                                                       "seq": 1}, headers=headers)
        assert saved.status_code == 200 and saved.get_json()["outcome"] == "saved"
        again = client.post("/exam/api/answers", json={"position": item["position"], "response": [choice],
                                                       "seq": 1}, headers=headers)
        assert again.get_json()["outcome"] == "duplicate"
        frozen.advance(timedelta(minutes=5))
        reloaded = next(i for i in client.get("/exam/api/state").get_json()["items"] if i["position"] == item["position"])
        assert reloaded["response"] == [choice]
        submitted = client.post("/exam/api/submit", headers=headers)
        assert submitted.status_code == 200 and submitted.get_json()["status"] == "submitted"
        assert client.post("/exam/api/submit", headers=headers).get_json()["status"] == "submitted"
        late = client.post("/exam/api/answers", json={"position": item["position"], "response": [], "seq": 2},
                           headers=headers)
        assert late.status_code == 409 and late.get_json()["code"] == "attempt_closed"


@pytest.mark.parametrize("body, status, field", [
    ({"position": 1, "response": ["A"], "seq": "x"}, 422, "seq"),
    ({"position": "1", "response": ["A"], "seq": 1}, 422, "position"),
    ({"position": 99999, "response": [], "seq": 1}, 422, "position"),
    ({"position": 1, "response": "T", "seq": 1}, 422, "response"),
    ([1, 2], 422, "body"),
])
def test_malformed_saves_are_refused_with_the_field_and_nothing_is_stored(client, session, checked_in, body, status,
                                                                          field):
    with clock.frozen(EXAM_DAY):
        headers = _sign_in(client, checked_in["candidates"][0], 0)
        response = client.post("/exam/api/answers", json=body, headers=headers)
    assert response.status_code == status and response.get_json()["field"] == field
    assert session.query(Answer).count() == 0


def test_no_session_no_csrf_and_oversized_bodies_are_refused(app, client, checked_in):
    assert client.get("/exam/api/state").status_code == 401
    assert client.post("/exam/api/answers", json={}).status_code in (400, 401)
    with clock.frozen(EXAM_DAY):
        headers = _sign_in(client, checked_in["candidates"][0], 0)
        assert client.post("/exam/api/answers", json={"position": 1, "response": [], "seq": 1}).status_code == 400
        app.config["MAX_CONTENT_LENGTH"] = 10_000
        huge = client.post("/exam/api/answers", data=b"{" + b" " * 20_000 + b"}", headers={
            **headers, "Content-Type": "application/json"})
        assert huge.status_code == 413


def test_a_candidate_only_ever_reaches_their_own_attempt(app, client, session, checked_in):
    with clock.frozen(EXAM_DAY):
        other = app.test_client()
        _sign_in(other, checked_in["candidates"][1], 1)
        theirs = other.get("/exam/api/state").get_json()
        headers = _sign_in(client, checked_in["candidates"][0], 0)
        mine = client.get("/exam/api/state").get_json()
        assert mine["attempt_id"] != theirs["attempt_id"]
        # the body names no attempt: whatever a client sends, the cookie's candidate decides
        response = client.post("/exam/api/answers", json={"attempt_id": theirs["attempt_id"], "position": 1,
                                                          "response": [], "seq": 1}, headers=headers)
        assert response.status_code in (200, 422)
    with app.app_context(), unit_of_work() as db:
        assert db.query(Answer).filter_by(attempt_id=theirs["attempt_id"]).count() == 0


def test_wrong_ticket_or_id_and_a_ticket_of_a_closed_session_are_refused(client, session, checked_in):
    token = csrf_token_from(client.get("/exam/sign-in").get_data(as_text=True))
    candidate = checked_in["candidates"][0]
    with clock.frozen(EXAM_DAY):
        wrong = client.post("/exam/sign-in", data={"ticket_number": candidate.ticket_number,
                                                   "id_number": resident_id(2), "csrf_token": token})
        assert wrong.status_code == 401 and "准考证号或证件号码不正确" in wrong.get_data(as_text=True)
    with clock.frozen(EXAM_DAY + timedelta(days=1)):
        late = client.post("/exam/sign-in", data={"ticket_number": candidate.ticket_number,
                                                  "id_number": resident_id(1), "csrf_token": token})
        assert late.status_code == 403


def test_paper_text_is_cached_per_app_so_a_new_database_reusing_paper_ids_shows_its_own_text(
        app, client, session, checked_in, database_url, tmp_path):
    """Paper ids repeat across databases (and across tests, which wipe one): the text cache must
    belong to the app on its database, not to the process."""
    from examsvc import create_app
    from examsvc.bank.models import ItemVersion
    from examsvc.delivery.models import Attempt
    from examsvc.papers.models import PaperItem
    from tests.conftest import test_config

    with clock.frozen(EXAM_DAY):
        _sign_in(client, checked_in["candidates"][0], 0)
        first = client.get("/exam/api/state").get_json()["items"][0]
        attempt = session.query(Attempt).one()
        version = session.get(ItemVersion, session.query(PaperItem.item_version_id).filter_by(
            paper_id=attempt.paper_id, position=first["position"]).scalar())
        version.content = {**version.content, "zh": {**version.content["zh"], "stem": "另一个数据库里的题干"}}
        session.commit()
        other = create_app(test_config(database_url, tmp_path / "instance"))  # same data key
        try:
            other_client = other.test_client()
            _sign_in(other_client, checked_in["candidates"][0], 0)
            shown = next(i for i in other_client.get("/exam/api/state").get_json()["items"]
                         if i["position"] == first["position"])
        finally:
            other.extensions["examsvc.engine"].dispose()
    assert shown["stem"] == "另一个数据库里的题干"


def test_the_room_page_hands_its_script_the_ui_strings_in_the_page_language(client, checked_in):
    import json
    import re

    with clock.frozen(EXAM_DAY):
        _sign_in(client, checked_in["candidates"][0], 0)
        chinese = client.get("/exam/").get_data(as_text=True)
        english = client.get("/exam/", headers={"Accept-Language": "en"}).get_data(as_text=True)

    def strings(page):
        return json.loads(re.search(r'<script type="application/json" id="exam-strings">(.*?)</script>', page,
                                    re.S).group(1))

    assert strings(chinese)["saved"] == "已保存" and strings(chinese)["unsaved_offline"] == "未保存（网络中断，将自动重试）"
    assert strings(english)["saved"] == "Answer saved"
    assert 'data-layout="paged"' in chinese
    for asset in ("exam.js", "exam.css"):
        assert f"/static/{asset}" in chinese
        assert client.get(f"/static/{asset}").status_code == 200
