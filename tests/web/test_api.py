"""The JSON API: its OpenAPI document, tokens, one error shape naming the field, session + CSRF rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import jsonify
from flask_login import current_user
from openapi_spec_validator import validate
from sqlalchemy import select, text

from examsvc import clock
from examsvc.audit.models import AuditEvent
from tests.conftest import PASSWORD, csrf_headers, login, make_user

ERROR_KEYS = {"code", "message", "field"}
T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


def get_token(client, username: str, password: str = PASSWORD):
    return client.post("/api/v1/tokens", json={"username": username, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response, status: int, code: str, field: str | None = None) -> dict:
    body = response.get_json()
    assert response.status_code == status, body
    assert set(body) == ERROR_KEYS, body
    assert body["code"] == code and body["field"] == field and body["message"], body
    return body


# --- the OpenAPI document ------------------------------------------------------------------------------

def test_openapi_document_is_served_and_valid(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = response.get_json()
    validate(document)                                   # raises on an invalid OpenAPI 3 document
    assert document["openapi"].startswith("3.")
    assert {"/api/v1/tokens", "/api/v1/me", "/api/v1/institutions/{institution_id}/can-certify",
            "/api/v1/audit/verify"} <= set(document["paths"])
    assert document["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    can_certify = document["paths"]["/api/v1/institutions/{institution_id}/can-certify"]["get"]
    assert {p["name"] for p in can_certify["parameters"]} >= {"occupation_code", "level", "on_date"}


# --- tokens -------------------------------------------------------------------------------------------

def test_a_script_gets_a_token_without_any_cookie_and_uses_it(client, session):
    make_user(session, "reg", "regulator")
    response = get_token(client, "reg")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["expires_in_days"] == 30 and len(body["token"]) >= 32
    assert "Set-Cookie" not in response.headers
    me = client.get("/api/v1/me", headers=bearer(body["token"]))
    assert me.status_code == 200
    assert me.get_json()["username"] == "reg"
    assert me.get_json()["grants"][0]["role"] == "regulator"
    assert "audit.view" in me.get_json()["grants"][0]["permissions"]


def test_token_request_without_password_names_the_field(client):
    body = assert_error(client.post("/api/v1/tokens", json={"username": "reg"}), 422, "validation_failed", "password")
    assert "password" in body["message"]
    assert_error(client.post("/api/v1/tokens", json={"password": "x"}), 422, "validation_failed", "username")


def test_wrong_password_is_401_naming_the_password_and_audited(client, session):
    make_user(session, "reg", "regulator")
    client.environ_base["REMOTE_ADDR"] = "203.0.113.5"
    assert_error(get_token(client, "reg", "wrong-password"), 401, "bad_credentials", "password")
    event = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert (event.action, event.remote_addr) == ("login.failed", "203.0.113.5")


def test_token_requests_count_towards_the_lockout(client, session):
    make_user(session, "reg", "regulator")
    with clock.frozen(T0):
        for _ in range(4):
            assert_error(get_token(client, "reg", "wrong-password"), 401, "bad_credentials", "password")
        assert_error(get_token(client, "reg", "wrong-password"), 401, "locked", "password")
        assert_error(get_token(client, "reg"), 401, "locked", "password")


def test_a_bad_or_expired_token_is_401(client, session):
    make_user(session, "reg", "regulator")
    with clock.frozen(T0) as frozen:
        token = get_token(client, "reg").get_json()["token"]
        assert_error(client.get("/api/v1/me", headers=bearer(token[:-2])), 401, "unauthenticated")
        frozen.advance(timedelta(days=30))
        assert_error(client.get("/api/v1/me", headers=bearer(token)), 401, "unauthenticated")
        assert_error(client.get("/api/v1/institutions", headers=bearer(token)), 401, "unauthenticated")


def test_a_request_with_a_bearer_token_is_that_token_s_user_only(client, session):
    """The CSRF check is skipped for bearer requests, so the session cookie must not count there."""
    make_user(session, "reg", "regulator")
    make_user(session, "cand", "candidate")
    token = get_token(client, "cand").get_json()["token"]
    login(client, "reg")                                         # the browser holds reg's session
    assert client.get("/api/v1/me").get_json()["username"] == "reg"
    assert client.get("/api/v1/me", headers=bearer(token)).get_json()["username"] == "cand"
    assert_error(client.get("/api/v1/me", headers=bearer("forged")), 401, "unauthenticated")
    assert_error(client.get("/api/v1/audit/verify", headers=bearer("forged")), 401, "unauthenticated")


def test_a_bearer_token_works_beside_an_anonymous_session_cookie(client, session):
    """A client that fetched a page holds a session with only a CSRF token: the token still counts."""
    make_user(session, "cand", "candidate")
    token = get_token(client, "cand").get_json()["token"]
    client.get("/login")
    assert client.get("/api/v1/me", headers=bearer(token)).get_json()["username"] == "cand"


# --- errors: one shape, naming the field ----------------------------------------------------------------

def test_visitors_get_401_json(client):
    body = assert_error(client.get("/api/v1/institutions"), 401, "unauthenticated")
    assert body["message"] == "请先登录"
    english = client.get("/api/v1/institutions", headers={"Accept-Language": "en"})
    assert assert_error(english, 401, "unauthenticated")["message"] == "authentication required"


def test_scope_errors_and_unknown_rows(client, session, world):
    make_user(session, "admin_a", "institution_admin", world["A"].id)
    make_user(session, "reg", "regulator")
    admin_a = bearer(get_token(client, "admin_a").get_json()["token"])
    regulator = bearer(get_token(client, "reg").get_json()["token"])
    listed = client.get("/api/v1/institutions", headers=admin_a).get_json()
    assert [i["code"] for i in listed] == [world["A"].code]
    assert len(client.get("/api/v1/institutions", headers=regulator).get_json()) == 2
    body = assert_error(client.get(f"/api/v1/institutions/{world['B'].id}", headers=admin_a), 403, "forbidden")
    assert "institution.view" in body["message"]
    assert client.get(f"/api/v1/institutions/{world['A'].id}", headers=admin_a).get_json()["code"] == world["A"].code
    assert_error(client.get("/api/v1/institutions/999999", headers=regulator), 404, "not_found", "institution_id")
    assert_error(client.get("/api/v1/no-such-thing", headers=regulator), 404, "not_found")


def test_can_certify_over_http(client, session, world):
    make_user(session, "admin_a", "institution_admin", world["A"].id)
    headers = bearer(get_token(client, "admin_a").get_json()["token"])
    url = f"/api/v1/institutions/{world['A'].id}/can-certify"
    allowed = client.get(url, query_string={"occupation_code": "4-03-02-01", "level": "4", "on_date": "2026-06-01"},
                         headers=headers)
    assert allowed.status_code == 200 and allowed.get_json()["allowed"] is True
    expired = client.get(url, query_string={"occupation_code": "4-03-02-01", "level": "4", "on_date": "2028-04-15"},
                         headers=headers).get_json()
    assert expired["allowed"] is False and expired["code"] == "expired" and expired["reason"]
    assert_error(client.get(url, query_string={"occupation_code": "4-03-02-01"}, headers=headers),
                 422, "validation_failed", "level")
    assert_error(client.get(url, query_string={"occupation_code": "4-03-02-01", "level": "4", "on_date": "June"},
                            headers=headers), 422, "validation_failed", "on_date")


# --- session + CSRF on API changes without a bearer token -----------------------------------------------

@pytest.fixture
def probe(app):
    """A changing API route, to test the rules every API POST gets."""

    def whoami():
        return jsonify(user=current_user.username if current_user.is_authenticated else None)

    app.add_url_rule("/api/v1/_probe", "api_probe", whoami, methods=["POST"])
    return "/api/v1/_probe"


def test_api_posts_with_a_session_need_the_csrf_header(client, session, probe):
    make_user(session, "reg", "regulator")
    login(client, "reg")
    assert_error(client.post(probe, json={}), 400, "csrf", "csrf_token")
    assert client.post(probe, json={}, headers=csrf_headers(client)).get_json() == {"user": "reg"}


def test_api_posts_with_a_bearer_token_need_no_csrf(client, session, probe):
    make_user(session, "reg", "regulator")
    token = get_token(client, "reg").get_json()["token"]
    assert client.post(probe, json={}, headers=bearer(token)).get_json() == {"user": "reg"}


def test_audit_chain_check_over_http(client, session, world):
    make_user(session, "reg", "regulator")
    headers = bearer(get_token(client, "reg").get_json()["token"])
    report = client.get("/api/v1/audit/verify", headers=headers).get_json()
    assert report["ok"] is True and report["events"] >= 4 and report["broken_seq"] is None
    session.execute(text("DELETE FROM audit_events WHERE seq = 2"))
    session.commit()
    report = client.get("/api/v1/audit/verify", headers=headers).get_json()
    assert report["ok"] is False and report["broken_seq"] == 3 and "event 2 is missing" in report["problem"]
