"""Ending the whole session over HTTP (issue 13): an invigilator of one room gets 403 naming the rule
from the console's form and from the API, and the console shows the button only to those who may
use it; the institution's admin ends the session (from the session page)."""

from sqlalchemy import select

from examsvc import clock
from examsvc.accounts.models import User
from examsvc.accounts.service import issue_api_token
from examsvc.sessions.models import ExamSession
from tests.conftest import csrf_token_from, login
from tests.delivery.conftest import EXAM_DAY
from tests.delivery.test_close_session_rule import two_rooms
from tests.papers.conftest import papers_world  # noqa: F401  (fixture)

END_BUTTON = "sessions/{}/console/close"


def _signed_in(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def _post(client, url, data):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data}, headers={"Accept-Language": "en"})


def _bearer(session, username):
    token = issue_api_token(session, session.scalar(select(User).where(User.username == username)), days=1)
    session.commit()
    return {"Authorization": f"Bearer {token}", "Accept-Language": "en"}


def _status(session, ident):
    session.expire_all()
    return session.get(ExamSession, ident).status


def test_one_rooms_invigilator_gets_403_and_no_button_the_admin_ends_the_session(app, session, papers_world):
    with app.app_context():
        exam_session, inv1, _, _ = two_rooms(session, papers_world)
        sid, room = exam_session.id, exam_session.rooms[0].id
    inv = _signed_in(app, inv1.username)
    with clock.frozen(EXAM_DAY):
        page = inv.get(f"/sessions/{sid}/rooms/{room}/console").get_data(as_text=True)
        assert page and END_BUTTON.format(sid) not in page and "全部考场" in page
        refused = _post(inv, f"/sessions/{sid}/console/close", {"room_id": room, "confirm": "1"})
        assert refused.status_code == 403 and "every room" in refused.get_data(as_text=True)
        api = app.test_client().post(f"/api/v1/sessions/{sid}/close", headers=_bearer(session, inv1.username))
        assert api.status_code == 403
        assert api.get_json()["field"] == "session" and "every room" in api.get_json()["message"]
        assert _status(session, sid) == "open"
        admin = _signed_in(app, papers_world["admin"].username)
        assert f'action="/sessions/{sid}/close"' in admin.get(f"/sessions/{sid}").get_data(as_text=True)
        assert _post(admin, f"/sessions/{sid}/close", {"confirm": "1"}).status_code == 302
    assert _status(session, sid) == "closed"
