"""Reading and marking: one's own only (another user's is 404), over the service, the API, the page and the CLI."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from examsvc.accounts.service import issue_api_token
from examsvc.errors import NotFound, ValidationFailed
from examsvc.notifications import service
from examsvc.notifications.models import Notification
from tests.cli.test_cli import examsvc  # noqa: F401  (the in-process runner fixture)
from tests.conftest import csrf_headers, csrf_token_from, login


def _send(session, people, n: int = 2) -> list[Notification]:
    sent = []
    for i in range(n):
        sent += service.notify_institution(session, people["A"].id, "test.kind", f"通知{i}", f"Notice {i}",
                                           f"正文{i}\n第二行", f"Body {i}", f"/institutions/{people['A'].id}",
                                           ("test", i), actor=people["regulator"])
    session.commit()
    return sent


def test_service_lists_newest_first_counts_unread_and_marks_only_ones_own(session, people, frozen_now):
    from datetime import timedelta

    first = _send(session, people, 1)
    frozen_now.advance(timedelta(minutes=1))
    second = _send(session, people, 1)
    admin_a, admin_b = people["admin_a"], people["admin_b"]
    mine = service.list_for_user(session, admin_a.id)
    assert [n.subject_zh for n in mine] == ["通知0", "通知0"] and mine[0].id > mine[1].id
    assert service.unread_count(session, admin_a.id) == 2 and service.unread_count(session, admin_b.id) == 0
    theirs = next(n for n in first + second if n.recipient_id == people["admin_a2"].id)
    with pytest.raises(NotFound):
        service.mark_read(session, admin_a, theirs.id)
    with pytest.raises(NotFound):
        service.get_own(session, admin_b, mine[0].id)
    service.mark_read(session, admin_a, mine[0].id)
    session.commit()
    assert service.unread_count(session, admin_a.id) == 1
    assert [n.id for n in service.list_for_user(session, admin_a.id, unread_only=True)] == [mine[1].id]
    assert service.mark_all_read(session, admin_a) == 1
    session.commit()
    assert service.unread_count(session, admin_a.id) == 0 and service.unread_count(session, people["admin_a2"].id) == 2


def test_notify_user_and_links_stay_inside_the_site(session, people):
    one = service.notify_user(session, people["examiner_a"].id, "test.kind", "你好", "Hello", "正文", "Body")
    assert one.link is None and one.institution_id is None
    for link in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        with pytest.raises(ValidationFailed):
            service.notify_user(session, people["examiner_a"].id, "test.kind", "你好", "Hello", "正文", "Body", link)
    with pytest.raises(NotFound):
        service.notify_user(session, 9999, "test.kind", "你好", "Hello", "正文", "Body")


def test_api_lists_own_filters_unread_and_refuses_anothers(app, client, session, people):
    sent = _send(session, people)
    theirs = next(n for n in sent if n.recipient_id == people["admin_a2"].id)
    assert client.get("/api/v1/notifications").status_code == 401
    assert client.post("/api/v1/notifications/read-all", headers=csrf_headers(client)).status_code == 401

    token = issue_api_token(session, people["admin_a"], days=1)
    session.commit()
    auth = {"Authorization": f"Bearer {token}"}
    client = app.test_client()  # a token client of its own, without the visitor's session cookie
    listed = client.get("/api/v1/notifications", headers=auth).get_json()
    assert listed["unread"] == 2 and [n["subject"] for n in listed["notifications"]] == ["通知1", "通知0"]
    assert all("recipient_id" not in n for n in listed["notifications"])
    english = client.get("/api/v1/notifications", headers={**auth, "Accept-Language": "en"}).get_json()
    assert english["notifications"][0]["subject"] == "Notice 1"
    first = listed["notifications"][0]["id"]
    refused = client.post(f"/api/v1/notifications/{theirs.id}/read", headers=auth)
    assert refused.status_code == 404 and refused.get_json()["code"] == "not_found"
    done = client.post(f"/api/v1/notifications/{first}/read", headers=auth)
    assert done.status_code == 200 and done.get_json()["read_at"] is not None
    unread = client.get("/api/v1/notifications?unread=1", headers=auth).get_json()
    assert unread["unread"] == 1 and len(unread["notifications"]) == 1 and unread["notifications"][0]["id"] != first
    assert client.post("/api/v1/notifications/read-all", headers=auth).get_json() == {"marked": 1}
    session.expire_all()
    assert session.get(Notification, theirs.id).read_at is None  # the other admin's stay unread


def test_the_page_badge_and_mark_all_read(app, client, session, people):
    sent = _send(session, people)
    assert client.get("/notifications").headers["Location"].startswith("/login")
    assert login(client, "admin_a").status_code == 302
    home = client.get("/").get_data(as_text=True)
    assert 'id="notifications-badge"' in home and '<span class="nav-badge" title="未读通知">2</span>' in home
    page = client.get("/notifications").get_data(as_text=True)
    assert "通知1" in page and "通知0" in page and page.count("● 未读") == 2 and "第二行" in page
    assert f'href="/institutions/{people["A"].id}"' in page
    theirs = next(n for n in sent if n.recipient_id == people["admin_a2"].id)
    token = csrf_token_from(page)
    assert client.post(f"/notifications/{theirs.id}/read", data={"csrf_token": token}).status_code == 404
    assert client.post("/notifications/read-all").status_code == 400  # no CSRF token
    done = client.post("/notifications/read-all", data={"csrf_token": token}, follow_redirects=True)
    text = done.get_data(as_text=True)
    assert done.status_code == 200 and "已将 2 条通知标为已读" in text and "● 未读" not in text
    assert 'class="nav-badge"' not in client.get("/").get_data(as_text=True)
    english = client.get("/notifications", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Notice 1" in english


def test_cli_lists_a_users_notifications(examsvc, database_url, session, people):  # noqa: F811
    sent = _send(session, people)
    mine = [n for n in sent if n.recipient_id == people["admin_a"].id]
    service.mark_read(session, people["admin_a"], mine[0].id)
    session.commit()
    shown = examsvc("notifications", "list", "--user", "admin_a", database_url=database_url)
    assert shown.code == 0, shown.err
    assert "admin_a: 1 unread, 2 shown" in shown.out and "通知1" in shown.out and "第二行" in shown.out
    assert f"-> /institutions/{people['A'].id}" in shown.out
    unread = examsvc("notifications", "list", "--user", "admin_a", "--unread", database_url=database_url)
    assert "通知1" in unread.out and "通知0" not in unread.out
    missing = examsvc("notifications", "list", "--user", "nobody", database_url=database_url)
    assert missing.code != 0 and "nobody" in missing.err
