"""Pages: sign-in with lockout, sign-out, CSRF, cookies, audit of every sign-in, home per role, health."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from examsvc import clock, create_app
from examsvc.accounts.models import User
from examsvc.audit.models import AuditEvent
from examsvc.auth import INSTITUTION_ROLES, Role
from tests.conftest import PASSWORD, count_rows, csrf_headers, csrf_token_from, login, make_user, test_config

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
CLIENT_ADDRESS = "203.0.113.9"


def audit_trail(session) -> list[AuditEvent]:
    session.expire_all()
    return list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def at_address(client, address: str):
    client.environ_base["REMOTE_ADDR"] = address
    return client


def path_of(response) -> str:
    return urlsplit(response.headers["Location"]).path


@pytest.fixture
def client(app):
    """A browser at a known address."""
    return at_address(app.test_client(), CLIENT_ADDRESS)


# --- signing in -----------------------------------------------------------------------------------

def test_sign_in_sets_a_secure_session_cookie_and_opens_the_home_page(client, session):
    make_user(session, "amy", "regulator")
    assert "csrf_token" in client.get("/login").get_data(as_text=True)
    response = login(client, "amy")
    assert response.status_code == 302 and path_of(response) == "/"
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("examsvc_session="))
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
    assert "httponly" in attributes and "secure" in attributes
    assert attributes["samesite"].lower() == "samesite=lax"
    home = client.get("/")
    assert home.status_code == 200 and "amy" in home.get_data(as_text=True)


def test_cookie_flags_follow_the_configuration(database_url, tmp_path, session):
    make_user(session, "amy", "regulator")
    app = create_app({**test_config(database_url, tmp_path / "i"), "SESSION_COOKIE_SECURE": False})
    response = login(app.test_client(), "amy")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("examsvc_session="))
    assert "Secure" not in cookie and "HttpOnly" in cookie
    app.extensions["examsvc.engine"].dispose()


def test_wrong_password_is_refused_with_a_message_and_audited_with_the_address(client, session):
    make_user(session, "amy", "regulator")
    response = login(client, "amy", "not-the-password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert path_of(client.get("/")) == "/login"
    failed = audit_trail(session)[-1]
    assert (failed.action, failed.details["reason"], failed.remote_addr) == ("login.failed", "bad_password",
                                                                            CLIENT_ADDRESS)


def test_every_sign_in_and_the_lock_are_audited_with_the_client_address(client, session):
    make_user(session, "amy", "regulator")
    before = len(audit_trail(session))
    login(client, "nobody")
    login(client, "amy", "not-the-password")
    login(client, "amy")
    events = audit_trail(session)[before:]
    assert [(e.action, e.remote_addr) for e in events] == [
        ("login.failed", CLIENT_ADDRESS), ("login.failed", CLIENT_ADDRESS), ("login.success", CLIENT_ADDRESS)]
    assert events[0].details == {"username": "nobody", "reason": "unknown"}


def test_lockout_after_five_failures_for_fifteen_minutes(client, session):
    make_user(session, "bob", "candidate")
    with clock.frozen(T0) as frozen:
        for _ in range(4):
            assert "用户名或密码错误" in login(client, "bob", "wrong-password").get_data(as_text=True)
        fifth = login(client, "bob", "wrong-password")
        assert fifth.status_code == 401 and "账户已锁定" in fifth.get_data(as_text=True)
        refused = login(client, "bob")                       # the right password, while locked
        assert refused.status_code == 401 and "账户已锁定" in refused.get_data(as_text=True)
        assert path_of(client.get("/")) == "/login"
        trail = audit_trail(session)
        lock = next(e for e in trail if e.action == "account.locked")
        assert lock.remote_addr == CLIENT_ADDRESS and lock.details["until"] == (T0 + timedelta(minutes=15)).isoformat()
        assert trail[-1].action == "login.refused_locked" and trail[-1].remote_addr == CLIENT_ADDRESS
        frozen.advance(timedelta(minutes=15))
        assert login(client, "bob").status_code == 302
    assert client.get("/").status_code == 200


def test_lockout_threshold_is_configurable(database_url, tmp_path, session):
    make_user(session, "bob", "candidate")
    app = create_app({**test_config(database_url, tmp_path / "i"), "LOGIN_MAX_FAILURES": 2})
    client = app.test_client()
    login(client, "bob", "wrong-password")
    assert "账户已锁定" in login(client, "bob", "wrong-password").get_data(as_text=True)
    app.extensions["examsvc.engine"].dispose()


def test_empty_form_asks_for_both_fields_and_touches_nothing(client, session):
    make_user(session, "amy", "regulator")
    before = count_rows(session, AuditEvent)
    response = login(client, "   ", "")
    assert response.status_code == 401 and "请输入用户名和密码" in response.get_data(as_text=True)
    assert count_rows(session, AuditEvent) == before


@pytest.mark.parametrize(("next_url", "lands_on"), [
    ("/institutions/", "/institutions/"),
    ("//evil.example/phish", "/"),
    ("https://evil.example/", "/"),
    ("/\\evil.example", "/"),
])
def test_sign_in_returns_to_a_same_site_page_only(client, session, next_url, lands_on):
    make_user(session, "amy", "regulator")
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": "amy", "password": PASSWORD, "csrf_token": token,
                                           "next": next_url})
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.netloc in ("", "localhost") and location.path == lands_on


def test_a_protected_page_sends_visitors_to_sign_in_and_back(client, session):
    make_user(session, "amy", "regulator")
    response = client.get("/institutions/")
    assert path_of(response) == "/login"
    assert parse_qs(urlsplit(response.headers["Location"]).query)["next"] == ["/institutions/"]


# --- signing out ------------------------------------------------------------------------------------

def test_sign_out_ends_the_session_and_is_audited(client, session):
    make_user(session, "amy", "regulator")
    login(client, "amy")
    assert client.get("/logout").status_code == 405           # a link cannot sign anyone out
    response = client.post("/logout", headers=csrf_headers(client))
    assert response.status_code == 302 and path_of(response) == "/login"
    assert path_of(client.get("/")) == "/login"
    event = audit_trail(session)[-1]
    assert (event.action, event.actor, event.remote_addr) == ("logout", "amy", CLIENT_ADDRESS)


# --- CSRF -------------------------------------------------------------------------------------------

def test_sign_in_without_a_csrf_token_is_refused_before_the_password_is_checked(client, session):
    make_user(session, "amy", "regulator")
    before = count_rows(session, AuditEvent)
    client.get("/login")
    response = client.post("/login", data={"username": "amy", "password": PASSWORD})
    assert response.status_code == 400 and "表单已失效" in response.get_data(as_text=True)
    assert path_of(client.get("/")) == "/login"
    assert count_rows(session, AuditEvent) == before


def test_a_csrf_token_of_another_session_is_refused(app, client, session):
    make_user(session, "amy", "regulator")
    other = app.test_client()
    foreign = csrf_token_from(other.get("/login").get_data(as_text=True))
    client.get("/login")
    response = client.post("/login", data={"username": "amy", "password": PASSWORD, "csrf_token": foreign})
    assert response.status_code == 400


def test_sign_out_without_a_csrf_token_is_refused(client, session):
    make_user(session, "amy", "regulator")
    login(client, "amy")
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200                  # still signed in


def test_a_state_changing_form_without_a_csrf_token_changes_nothing(client, session):
    make_user(session, "root", "sysadmin")
    login(client, "root")
    users = count_rows(session, User)
    form = {"username": "forged", "display_name": "伪造", "password": PASSWORD, "role": "sysadmin"}
    assert client.post("/admin/users/", data=form).status_code == 400
    assert count_rows(session, User) == users
    response = client.post("/admin/users/", data={**form, "csrf_token": csrf_headers(client)["X-CSRFToken"]})
    assert response.status_code == 302 and count_rows(session, User) == users + 1


def test_language_switch_needs_a_csrf_token(client):
    assert client.post("/language", data={"locale": "en"}).status_code == 400
    token = csrf_headers(client)["X-CSRFToken"]
    response = client.post("/language", data={"locale": "en", "csrf_token": token},
                           headers={"Referer": "https://evil.example/"})
    assert response.status_code == 302 and path_of(response) == "/"   # never back to another site
    assert 'lang="en"' in client.get("/login").get_data(as_text=True)


# --- pages per role ---------------------------------------------------------------------------------

def test_each_role_home_page_links_only_to_pages_it_can_open(app, session, world):
    for role in Role:
        institution = world["A"].id if role in INSTITUTION_ROLES else None
        make_user(session, f"home_{role.value}", role.value, institution)
    for role in Role:
        client = app.test_client()
        login(client, f"home_{role.value}")
        home = client.get("/")
        assert home.status_code == 200
        html = home.get_data(as_text=True)
        links = re.findall(r'<a class="card" href="([^"]+)"', html)
        if role is Role.CANDIDATE:
            assert links == [] and "暂无可办理事项" in html, role
        else:
            assert links, f"{role.value} has nothing to do"
        for link in links:
            assert client.get(link).status_code == 200, f"{role.value}: {link}"


def test_institution_lists_are_scoped(app, session, world):
    make_user(session, "admin_a", "institution_admin", world["A"].id)
    make_user(session, "regulator", "regulator")
    scoped, everywhere = app.test_client(), app.test_client()
    login(scoped, "admin_a")
    login(everywhere, "regulator")
    page = scoped.get("/institutions/").get_data(as_text=True)
    assert world["A"].code in page and world["B"].code not in page
    page = everywhere.get("/institutions/").get_data(as_text=True)
    assert world["A"].code in page and world["B"].code in page
    assert everywhere.get("/institutions/999999").status_code == 404
    assert scoped.get(f"/institutions/{world['B'].id}").status_code == 403


def test_error_pages_are_pages_in_the_ui_language_and_security_headers_are_set(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "页面不存在" in response.get_data(as_text=True)
    english = client.get("/no-such-page", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "not found" in english and "页面不存在" not in english
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


# --- client address behind a proxy ---------------------------------------------------------------------

@pytest.mark.parametrize(("proxies", "recorded"), [(0, "10.0.0.2"), (1, "198.51.100.7")])
def test_the_client_address_trusts_only_the_configured_proxies(database_url, tmp_path, session, proxies, recorded):
    make_user(session, "amy", "regulator")
    app = create_app({**test_config(database_url, tmp_path / "i"), "PROXY_COUNT": proxies})
    client = at_address(app.test_client(), "10.0.0.2")
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"username": "amy", "password": PASSWORD, "csrf_token": token},
                headers={"X-Forwarded-For": "198.51.100.7"})
    assert audit_trail(session)[-1].remote_addr == recorded
    app.extensions["examsvc.engine"].dispose()


# --- health -------------------------------------------------------------------------------------------

def test_healthz_reports_a_reachable_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok", "database": "ok"}


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://postgres@127.0.0.1:1/nothing_listens_here",
    "sqlite:////nonexistent-directory/examsvc.sqlite3",
])
def test_healthz_is_503_when_the_database_is_down(tmp_path, url):
    app = create_app({**test_config(url, tmp_path / "instance"), "DATABASE_CONNECT_TIMEOUT": 2})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "unreachable"}


@pytest.mark.parametrize(("form", "status", "named"), [
    ({"username": "taken"}, 409, "username"),
    ({"password": "short"}, 422, "password"),
    ({"role": "invigilator"}, 422, "institution"),
    ({"institution_id": "A"}, 422, "institution"),
])
def test_the_user_form_names_the_problem_and_writes_nothing(client, session, form, status, named):
    make_user(session, "root", "sysadmin")
    make_user(session, "taken", "candidate")
    login(client, "root")
    users = count_rows(session, User)
    data = {"username": "newcomer", "display_name": "新人", "password": PASSWORD, "role": "candidate",
            "institution_id": "", "csrf_token": csrf_headers(client)["X-CSRFToken"], **form}
    response = client.post("/admin/users/", data=data)
    assert response.status_code == status
    assert re.search(rf'<p class="error" role="alert">{named}：', response.get_data(as_text=True))
    assert count_rows(session, User) == users


def test_the_lock_message_shows_the_end_in_beijing_time(client, session):
    make_user(session, "lin", "candidate")
    at = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
    with clock.frozen(at):
        for _ in range(5):
            page = login(client, "lin", "wrong-password").get_data(as_text=True)
    assert "10:15" in page and "02:15" not in page
