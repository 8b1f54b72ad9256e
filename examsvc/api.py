"""The JSON API under ``/api/v1`` (flask-smorest) and its OpenAPI document.

Authentication is a session cookie (with the CSRF header on changes) or ``Authorization: Bearer``
with a token from ``POST /api/v1/tokens``. Errors share one shape with the rest of the service:
``{"code", "message", "field"}`` where ``field`` names the offending input.
"""

from __future__ import annotations

from typing import Any

from apispec import BasePlugin
from flask import Flask, current_app
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Api, Blueprint
from marshmallow import Schema, fields, validate
from werkzeug.exceptions import HTTPException

from examsvc import clock
from examsvc.accounts.models import User
from examsvc.accounts.service import authenticate, issue_api_token
from examsvc.audit.service import verify_chain
from examsvc.auth import Permission, ROLE_PERMISSIONS, Role, permission_required
from examsvc.db import get_session, unit_of_work
from examsvc.errors import NotFound, ServiceError
from examsvc.institutions.models import Institution
from examsvc.institutions.routes import visible_institutions
from examsvc.institutions.service import can_certify


class ServiceApi(Api):
    """flask-smorest with the service's error shape for validation errors."""

    def handle_http_exception(self, error: HTTPException) -> Any:  # type: ignore[override]
        # flask-smorest registers this for every HTTPException of the app, pages included, so it
        # hands everything but its own validation errors back to the one mapping in examsvc.web.
        from examsvc.web import _http_error, error_response

        messages = getattr(error, "data", {}).get("messages") if hasattr(error, "data") else None
        if error.code == 422 and messages:
            field, message = _first_problem(messages)
            return error_response(422, "validation_failed", f"{field}：{message}", f"{field}: {message}", field)
        return _http_error(error)


def _first_problem(messages: dict[str, Any]) -> tuple[str, str]:
    """The first failing field of a webargs error dict, e.g. ``{"json": {"username": ["..."]}}``."""
    path: list[str] = []
    node: Any = messages
    if isinstance(node, dict) and len(node) == 1 and next(iter(node)) in {"json", "query", "form", "headers", "files"}:
        node = next(iter(node.values()))
    while isinstance(node, dict) and node:
        key = next(iter(node))
        path.append(str(key))
        node = node[key]
    text = node[0] if isinstance(node, list) and node else str(node)
    return ".".join(path) or "body", str(text)


class FormFieldsBesideFiles(BasePlugin):
    """Document form fields sent beside a file upload inside the multipart request body.

    flask-smorest documents only one request body per view; a second ``arguments(location="form")``
    next to ``location="files"`` comes out as Swagger 2 ``in: formData`` parameters, which make the
    OpenAPI 3 document invalid. This moves them into the ``multipart/form-data`` body's schema.
    """

    def operation_helper(self, path: str | None = None, operations: dict | None = None, **kwargs: Any) -> None:
        for operation in (operations or {}).values():
            form = [p for p in operation.get("parameters", []) if isinstance(p, dict) and p.get("in") == "formData"]
            if not form:
                continue
            operation["parameters"] = [p for p in operation["parameters"] if p not in form]
            if not operation["parameters"]:
                del operation["parameters"]
            fields: dict[str, Any] = {"type": "object", "properties": {p["name"]: p.get("schema", {}) for p in form}}
            required = [p["name"] for p in form if p.get("required")]
            if required:
                fields["required"] = required
            body = operation.setdefault("requestBody", {"required": True, "content": {}})
            content = body.setdefault("content", {}).setdefault("multipart/form-data", {})
            content["schema"] = {"allOf": [content["schema"], fields]} if "schema" in content else fields


api = ServiceApi(spec_kwargs={"extra_plugins": [FormFieldsBesideFiles()]})


def init_app(app: Flask) -> None:
    api.init_app(app)
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    from examsvc.analysis.api import bp as analysis_bp
    from examsvc.bank.api import bp as bank_bp
    from examsvc.grading.api import bp as grading_bp
    from examsvc.grading.results_api import bp as results_bp
    from examsvc.certificates.api import bp as certificates_bp
    from examsvc.institutions.filing_api import bp as filing_bp
    from examsvc.papers.api import bp as papers_bp
    from examsvc.supervision.api import bp as cases_bp, calendar_bp
    from examsvc.supervision.people_api import bp as people_bp
    from examsvc.sessions.api import bp as sessions_bp
    from examsvc.sessions.materials_api import bp as materials_bp
    from examsvc.archives.api import bp as archives_bp
    from examsvc.notifications.api import bp as notifications_bp

    for blueprint in (tokens_bp, me_bp, analysis_bp, institutions_bp, audit_bp, bank_bp, papers_bp, sessions_bp, certificates_bp, grading_bp, results_bp, cases_bp, calendar_bp, people_bp, filing_bp, archives_bp, notifications_bp, materials_bp):
        api.register_blueprint(blueprint, url_prefix=f"/api/v1{blueprint.url_prefix or ''}")


class ServiceErrorSchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    field = fields.String(allow_none=True)


# --- tokens ---------------------------------------------------------------------------------

tokens_bp = Blueprint("api_tokens", __name__, url_prefix="/tokens", description="API tokens")


class TokenRequest(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256), load_only=True)
    name = fields.String(load_default="", validate=validate.Length(max=100))


class TokenResponse(Schema):
    token = fields.String()
    expires_in_days = fields.Integer()


@tokens_bp.route("")
class Tokens(MethodView):
    @tokens_bp.arguments(TokenRequest)
    @tokens_bp.response(201, TokenResponse)
    @tokens_bp.alt_response(401, schema=ServiceErrorSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Exchange a username and password for a bearer token (lockout rules apply)."""
        days = current_app.config["API_TOKEN_DAYS"]
        with unit_of_work() as session:
            outcome = authenticate(session, body["username"], body["password"],
                                   max_failures=current_app.config["LOGIN_MAX_FAILURES"],
                                   lock_minutes=current_app.config["LOGIN_LOCK_MINUTES"])
            token = issue_api_token(session, outcome.user, days=days, name=body["name"]) if outcome.ok else None
        if token is None:
            locked = outcome.reason == "locked"
            raise ServiceError("账户已锁定" if locked else "用户名或密码错误",
                               "account locked" if locked else "wrong username or password",
                               field="password", code="locked" if locked else "bad_credentials").with_status(401)
        return {"token": token, "expires_in_days": days}


# --- me -------------------------------------------------------------------------------------

me_bp = Blueprint("api_me", __name__, url_prefix="/me", description="The signed-in user")


class GrantSchema(Schema):
    role = fields.String()
    institution_id = fields.Integer(allow_none=True)
    permissions = fields.List(fields.String())


class MeSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    grants = fields.List(fields.Nested(GrantSchema))


@me_bp.route("")
class Me(MethodView):
    @me_bp.response(200, MeSchema)
    @me_bp.alt_response(401, schema=ServiceErrorSchema)
    def get(self) -> dict[str, Any]:
        """Who the request is authenticated as, and the roles it holds."""
        if not current_user.is_authenticated:
            raise ServiceError("请先登录", "authentication required", code="unauthenticated").with_status(401)
        user: User = current_user
        return {
            "id": user.id, "username": user.username, "display_name": user.display_name,
            "grants": [{"role": g.role, "institution_id": g.institution_id,
                        "permissions": sorted(p.value for p in ROLE_PERMISSIONS[Role(g.role)])} for g in user.grants],
        }


# --- institutions ---------------------------------------------------------------------------

institutions_bp = Blueprint("api_institutions", __name__, url_prefix="/institutions", description="Institutions")


class ScopeSchema(Schema):
    occupation_code = fields.String()
    level = fields.String()


class InstitutionSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    kind = fields.String()
    tier = fields.String()
    league_city = fields.String(allow_none=True)
    published_on = fields.Date()
    valid_until = fields.Date()
    status = fields.String()
    status_reason = fields.String(allow_none=True)
    scope = fields.List(fields.Nested(ScopeSchema))


class CanCertifyQuery(Schema):
    occupation_code = fields.String(required=True)
    level = fields.String(required=True)
    on_date = fields.Date(load_default=None)


class DecisionSchema(Schema):
    allowed = fields.Boolean()
    code = fields.String()
    reason = fields.String()
    reason_en = fields.String()


@institutions_bp.route("")
class Institutions(MethodView):
    @institutions_bp.response(200, InstitutionSchema(many=True))
    @permission_required(Permission.INSTITUTION_VIEW)
    def get(self) -> list[Institution]:
        """Institutions the caller may see (regulators: all; institution staff: their own)."""
        return visible_institutions(current_user)


def _institution(institution_id: int) -> Institution:
    institution = get_session().get(Institution, institution_id)
    if institution is None:
        raise NotFound(f"评价机构 {institution_id} 不存在", f"institution {institution_id} not found", field="institution_id")
    return institution


@institutions_bp.route("/<int:institution_id>")
class InstitutionById(MethodView):
    @institutions_bp.response(200, InstitutionSchema)
    @permission_required(Permission.INSTITUTION_VIEW, institution_arg="institution_id")
    def get(self, institution_id: int) -> Institution:
        """One institution with its filed scope."""
        return _institution(institution_id)


@institutions_bp.route("/<int:institution_id>/can-certify")
class CanCertify(MethodView):
    @institutions_bp.arguments(CanCertifyQuery, location="query")
    @institutions_bp.response(200, DecisionSchema)
    @permission_required(Permission.INSTITUTION_VIEW, institution_arg="institution_id")
    def get(self, query: dict[str, Any], institution_id: int) -> Any:
        """Whether the institution may certify an occupation and level on a date (default today)."""
        decision = can_certify(_institution(institution_id), query["occupation_code"], query["level"],
                               query["on_date"] or clock.now().date())
        return decision


# --- audit ----------------------------------------------------------------------------------

audit_bp = Blueprint("api_audit", __name__, url_prefix="/audit", description="Audit trail")


class ChainSchema(Schema):
    ok = fields.Boolean()
    events = fields.Integer()
    head_hash = fields.String()
    broken_seq = fields.Integer(allow_none=True)
    problem = fields.String(allow_none=True)


@audit_bp.route("/verify")
class AuditVerify(MethodView):
    @audit_bp.response(200, ChainSchema)
    @permission_required(Permission.AUDIT_VIEW)
    def get(self) -> Any:
        """Walk the hash chain and report the first broken event, if any."""
        return verify_chain(get_session())
