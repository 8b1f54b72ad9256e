"""Every role against every route: found from ``app.url_map``, so a route added later is covered too.

A protected view declares its permission with :func:`examsvc.auth.permission_required`, which
leaves ``required_permission`` (and ``institution_arg``) on the view function, or on each method
of a flask-smorest ``MethodView``. A route that declares nothing must be on one of the two lists
below, on purpose; otherwise this test fails and names it.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from werkzeug.routing import BuildError

from examsvc.accounts.models import User
from examsvc.accounts.service import issue_api_token
from examsvc.auth import INSTITUTION_ROLES, ROLE_PERMISSIONS, Permission, Role
from tests.conftest import csrf_headers, login, make_user

#: Reachable without signing in.
PUBLIC = {
    "static",
    "accounts.login",
    "web.set_language",
    "web.healthz",
    "api-docs.openapi_json",
    "api_tokens.Tokens",        # exchanges a password for a token
    "exam.sign_in",             # candidates sign in with ticket and ID number
    "exam.sign_out",
    "results.candidate_sign_in",  # candidates sign in with ticket and ID number to see their results
    "verify.verify_form",       # the public verifies certificates (rate limited)
    "verify.verify_lookup",
    "verify.verify_link",
    "api_certificates.VerifyCertificate",
    "filing.directory",         # the public directory of filed institutions
    "api_filing.Directory",
    "supervision.report_form",  # the public reports violations (Art. 42; anonymous allowed, rate limited)
    "supervision.report_submit",
    "people.public_findings",   # published inspection results (Art. 38, "one public")
}
#: Any signed-in user, whatever the role; signed-out users are sent to sign in.
SIGNED_IN = {
    "web.home",
    "accounts.logout",
    "api_me.Me",
    "notifications.list_notifications",   # one's own notifications only (another user's: 404)
    "notifications.read_all",
    "notifications.read_one",
    "api_notifications.Notifications",
    "api_notifications.NotificationRead",
    "api_notifications.NotificationsReadAll",
}


@dataclass(frozen=True)
class Route:
    endpoint: str
    rule: str
    method: str
    permission: Permission | None
    institution_arg: str | None
    candidate_only: bool = False  # the exam room: a signed-in candidate's own attempt, never staff

    @property
    def is_api(self) -> bool:
        return self.rule.startswith("/api/") or self.rule.startswith("/exam/api/")

    def __str__(self) -> str:
        return f"{self.method} {self.rule} ({self.endpoint})"


def discover_routes(app) -> list[Route]:
    found = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        view_class = getattr(view, "view_class", None)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            handler = getattr(view_class, method.lower()) if view_class is not None else view
            found.append(Route(rule.endpoint, rule.rule, method, getattr(handler, "required_permission", None),
                               getattr(handler, "institution_arg", None),
                               bool(getattr(handler, "candidate_required", False))))
    return found


def url_for_route(app, route: Route, institution_id: int | None) -> str:
    """The route's URL; the institution argument names ``institution_id``, any other argument is 1
    (a row that does not exist: allowed roles then get 404, which still is not 403)."""
    rule = next(r for r in app.url_map.iter_rules(route.endpoint) if r.rule == route.rule)
    values = {name: 1 for name in rule.arguments}
    if route.institution_arg:
        values[route.institution_arg] = institution_id
    try:
        return app.url_map.bind("localhost").build(route.endpoint, values, method=route.method)
    except BuildError as exc:  # pragma: no cover - a converter that 1 does not satisfy
        pytest.fail(f"teach the permission matrix to build {route}: {exc}")


@dataclass(frozen=True)
class Principal:
    role: Role
    institution: str | None     # "A" for a grant scoped to institution A, None for a global grant
    username: str


def principals() -> list[Principal]:
    everyone = [Principal(role, None, f"{role.value}_all") for role in Role if role not in INSTITUTION_ROLES]
    return everyone + [Principal(role, "A", f"{role.value}_a") for role in Role]


def allowed(principal: Principal, route: Route, target: str | None) -> bool:
    """The policy, read from the role table: the permission, and for an institution's route, a grant there."""
    if route.permission not in ROLE_PERMISSIONS[principal.role]:
        return False
    return route.institution_arg is None or principal.institution in (None, target)


def targets(route: Route) -> list[str | None]:
    return ["A", "B"] if route.institution_arg else [None]


def is_sign_in_prompt(route: Route, response) -> bool:
    if route.is_api:
        return response.status_code == 401 and response.get_json()["code"] == "unauthenticated"
    sign_in = "/exam/sign-in" if route.candidate_only else "/login"
    return response.status_code == 302 and urlsplit(response.headers["Location"]).path == sign_in


def request(client, route: Route, url: str, headers: dict[str, str]):
    """``headers`` carry the credentials (a bearer token) or the CSRF token of a changing request."""
    return client.open(url, method=route.method, headers=headers)


@pytest.fixture
def routes(app) -> list[Route]:
    return discover_routes(app)


@pytest.fixture
def signed_up(session, world) -> dict[str, int]:
    ids = {key: institution.id for key, institution in world.items()}
    for principal in principals():
        make_user(session, principal.username, principal.role.value,
                  ids[principal.institution] if principal.institution else None)
    return ids


def undeclared(routes: list[Route]) -> list[str]:
    return sorted({str(r) for r in routes
                   if r.permission is None and not r.candidate_only and r.endpoint not in PUBLIC | SIGNED_IN})


def test_every_route_declares_a_permission_or_is_listed_as_open(routes):
    assert undeclared(routes) == [], "protect these with @permission_required, or list them in PUBLIC or SIGNED_IN"
    endpoints = {r.endpoint for r in routes}
    assert (PUBLIC | SIGNED_IN) <= endpoints, f"stale entries: {sorted((PUBLIC | SIGNED_IN) - endpoints)}"
    declared_open = {r.endpoint for r in routes if r.permission is not None} & (PUBLIC | SIGNED_IN)
    assert declared_open == set(), "an endpoint cannot be both protected and listed as open"


def test_a_route_added_later_is_found_and_an_unprotected_one_is_reported(app):
    from examsvc.auth import permission_required

    @permission_required(Permission.REGULATE, institution_arg="institution_id")
    def later(institution_id: int) -> str:
        return "ok"

    app.add_url_rule("/later/<int:institution_id>", "later", later)
    app.add_url_rule("/forgotten", "forgotten", lambda: "oops")
    routes = discover_routes(app)
    assert Route("later", "/later/<int:institution_id>", "GET", Permission.REGULATE, "institution_id") in routes
    assert undeclared(routes) == ["GET /forgotten (forgotten)"]


def test_the_matrix_sees_the_routes_created_so_far(routes):
    seen = {(r.endpoint, r.method): (r.permission, r.institution_arg) for r in routes}
    assert seen[("audit.list_events", "GET")] == (Permission.AUDIT_VIEW, None)
    assert seen[("institutions.show_institution", "GET")] == (Permission.INSTITUTION_VIEW, "institution_id")
    assert seen[("accounts_admin.add_user", "POST")] == (Permission.USERS_MANAGE, None)
    assert seen[("api_institutions.CanCertify", "GET")] == (Permission.INSTITUTION_VIEW, "institution_id")
    assert seen[("api_audit.AuditVerify", "GET")] == (Permission.AUDIT_VIEW, None)
    # a skill paper's task book (as its printable paper) and score sheets (as its key); the service checks per paper
    assert seen[("papers.task_book_pdf", "GET")] == (Permission.INSTITUTION_VIEW, None)
    assert seen[("papers.score_sheets_pdf", "GET")] == (Permission.INSTITUTION_VIEW, None)


def test_signed_out_visitors_are_asked_to_sign_in_everywhere_but_the_open_routes(app, client, routes, signed_up):
    headers = csrf_headers(client)
    for route in routes:
        if route.endpoint == "static":
            continue
        for target in targets(route):
            url = url_for_route(app, route, signed_up.get(target))
            response = request(client, route, url, headers)
            if route.endpoint in PUBLIC:
                # (a sign-in form posted empty answers 401 with the form again: not a sign-in prompt)
                assert not is_sign_in_prompt(route, response) and response.status_code != 403, route
            else:
                assert is_sign_in_prompt(route, response), f"{route} answered {response.status_code} to a visitor"
            assert response.status_code < 500, route


def _check_principal(app, client, route_list, signed_up, principal, headers, how):
    problems = []
    for route in route_list:
        if route.endpoint in PUBLIC or route.endpoint == "accounts.logout":  # sign-out: tests/web/test_pages.py
            continue
        for target in targets(route):
            url = url_for_route(app, route, signed_up.get(target))
            response = request(client, route, url, headers)
            if route.candidate_only:  # staff are no candidates: the exam room asks them to sign in as one
                if not is_sign_in_prompt(route, response):
                    problems.append(f"{principal.username} via {how}: {route} answered {response.status_code}, "
                                    "expected the candidate sign-in prompt")
                continue
            if route.permission is None or allowed(principal, route, target):
                ok = response.status_code not in (401, 403) and response.status_code < 500 \
                    and not is_sign_in_prompt(route, response)
                expected = "allowed"
            else:
                ok = response.status_code == 403 and (not route.is_api or response.get_json()["code"] == "forbidden")
                expected = "403"
            if not ok:
                problems.append(f"{principal.username} via {how}: {route} on {target or '-'} "
                                f"expected {expected}, got {response.status_code}")
    return problems


def test_every_role_against_every_protected_route_with_a_session(app, routes, signed_up):
    problems = []
    for principal in principals():
        client = app.test_client()
        assert login(client, principal.username).status_code == 302
        checked = routes
        if principal.institution and principal.role not in INSTITUTION_ROLES:
            # A scoped grant of a role that is global by nature differs only where an institution is named.
            checked = [r for r in routes if r.institution_arg]
        problems += _check_principal(app, client, checked, signed_up, principal, csrf_headers(client), "session")
    assert not problems, "\n".join(problems)


def test_every_role_against_every_protected_api_route_with_a_token(app, session, routes, signed_up):
    api_routes = [r for r in routes if r.is_api]
    problems = []
    # One principal per role is enough here: scoping is the session matrix's business.
    for principal in [p for p in principals() if (p.institution is not None) == (p.role in INSTITUTION_ROLES)]:
        user = session.scalar(select(User).where(User.username == principal.username))
        token = issue_api_token(session, user, days=1)
        session.commit()
        client = app.test_client()
        problems += _check_principal(app, client, api_routes, signed_up, principal,
                                     {"Authorization": f"Bearer {token}"}, "token")
    assert not problems, "\n".join(problems)


def test_institution_staff_of_a_get_403_on_b(app, routes, signed_up):
    """The matrix above covers this; spelled out once for the rule of the issue."""
    client = app.test_client()
    login(client, "institution_admin_a")
    scoped = [r for r in routes if r.institution_arg and r.method == "GET"]
    assert scoped, "no route takes an institution yet"
    for route in scoped:
        assert request(client, route, url_for_route(app, route, signed_up["B"]), {}).status_code == 403, route
        assert request(client, route, url_for_route(app, route, signed_up["A"]), {}).status_code != 403, route


def test_the_review_materials_routes_declare_their_permissions(routes):
    """Review materials (综合评审材料): the declared permission turns away roles that never qualify; the
    service then decides per candidate (tests/materials)."""
    seen = {(r.endpoint, r.method): (r.permission, r.institution_arg, r.candidate_only) for r in routes}
    view, manage = (Permission.INSTITUTION_VIEW, None, False), (Permission.INSTITUTION_MANAGE, None, False)
    candidate = (None, None, True)
    assert seen[("sessions.materials_page", "GET")] == view
    assert seen[("sessions.download_material", "GET")] == view
    assert seen[("sessions.upload_material", "POST")] == manage
    assert seen[("sessions.delete_material", "POST")] == manage
    assert seen[("api_materials.SessionMaterials", "GET")] == view
    assert seen[("api_materials.CandidateMaterials", "GET")] == view
    assert seen[("api_materials.CandidateMaterials", "POST")] == manage
    assert seen[("api_materials.MaterialById", "GET")] == view
    assert seen[("api_materials.MaterialById", "DELETE")] == manage
    for endpoint, method in [("my_materials.mine", "GET"), ("my_materials.upload_mine", "POST"),
                             ("my_materials.delete_mine", "POST"), ("my_materials.download_mine", "GET"),
                             ("my_materials_api.mine_json", "GET"), ("my_materials_api.upload_mine_json", "POST"),
                             ("my_materials_api.delete_mine_json", "DELETE")]:
        assert seen[(endpoint, method)] == candidate, endpoint


def test_the_calendar_removal_routes_declare_their_permissions(routes):
    """Issue 13: removing a working-day calendar entry; REGULATE opens it, the service lets only the region act."""
    seen = {(r.endpoint, r.method): (r.permission, r.institution_arg) for r in routes}
    assert seen[("supervision.remove_calendar_day", "POST")] == (Permission.REGULATE, None)
    assert seen[("api_calendar.CalendarDayById", "DELETE")] == (Permission.REGULATE, None)


def test_the_national_upload_routes_declare_their_permissions(routes):
    """Issue 13: the national upload export (full ID numbers); REGULATE opens it, the service lets only the region."""
    seen = {(r.endpoint, r.method): (r.permission, r.institution_arg) for r in routes}
    assert seen[("certificates.national_upload_file", "GET")] == (Permission.REGULATE, None)
    assert seen[("api_certificates.NationalUpload", "GET")] == (Permission.REGULATE, None)
