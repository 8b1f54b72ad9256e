"""Pages shared by every area: home per role, language switch, health check, error pages.

Errors are mapped to HTTP here, once: a :class:`ServiceError` or an HTTP error becomes a JSON body
``{"code", "message", "field"}`` under ``/api/`` and an error page elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import text
from werkzeug.exceptions import HTTPException

from examsvc.app import current_locale
from examsvc.auth import ROLE_NAMES, Permission, Role, has_permission, permitted_institutions
from examsvc.db import get_session
from examsvc.errors import ServiceError
from itembank.levels import parse_level

bp = Blueprint("web", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_error_handler(ServiceError, _service_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.context_processor(_template_globals)

    @app.after_request
    def _security_headers(response: Any) -> Any:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response


STATUS_NAMES = {
    "active": ("正常", "Active"),
    "suspended": ("已责令停止认定", "Ordered to stop certifying"),
    "terminated": ("已终止", "Terminated"),
}


def _template_globals() -> dict[str, Any]:
    zh = current_locale().startswith("zh")

    def level_name(value: str) -> str:
        level = parse_level(value)
        return level.name_zh if zh else level.name_en

    def status_name(value: str) -> str:
        names = STATUS_NAMES.get(value)
        return (names[0] if zh else names[1]) if names else value

    return {"current_locale": current_locale(), "ROLE_NAMES": ROLE_NAMES, "Role": Role,
            "level_name": level_name, "status_name": status_name}


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/exam/api/")) or request.path == "/healthz"


def error_response(status: int, code: str, message: str, message_en: str, field: str | None = None) -> Any:
    if _wants_json():
        zh = current_locale().startswith("zh")
        response = jsonify(code=code, message=message if zh else message_en, field=field)
        response.status_code = status
        return response
    return render_template("errors/error.html", status=status, message=message if current_locale().startswith("zh")
                           else message_en), status


def _service_error(exc: ServiceError) -> Any:
    return error_response(exc.status, exc.code, exc.message, exc.message_en, exc.field)


def _csrf_error(exc: CSRFError) -> Any:
    return error_response(400, "csrf", "表单已失效或来源不明，请刷新页面后重试", f"CSRF check failed: {exc.description}",
                          "csrf_token")


_HTTP_MESSAGES = {
    400: ("请求格式错误", "bad request"),
    401: ("请先登录", "authentication required"),
    403: ("没有权限", "forbidden"),
    404: ("页面不存在", "not found"),
    405: ("不支持该请求方法", "method not allowed"),
    413: ("提交的数据过大", "request body too large"),
    500: ("服务器内部错误", "internal server error"),
}


def _http_error(exc: HTTPException) -> Any:
    status = exc.code or 500
    zh, en = _HTTP_MESSAGES.get(status, (exc.name, exc.name))
    return error_response(status, exc.name.lower().replace(" ", "_"), zh, en)


@dataclass(frozen=True)
class Task:
    """A thing a role can do today, shown on its home page as a real link."""

    title: str
    url: str
    description: str


def tasks_for(user: Any) -> list[Task]:
    tasks: list[Task] = []
    if has_permission(user, Permission.INSTITUTION_VIEW) or has_permission(user, Permission.REGULATE):
        tasks.append(Task(_("Institutions"), url_for("institutions.list_institutions"),
                          _("Filed institutions, their scope and validity")))
    if has_permission(user, Permission.REGULATE):
        tasks.append(Task(_("Filing and supervision"), url_for("filing.workspace"),
                          _("Filing applications, publication batches, renewals, changes, stop orders and bank audits")))
    if has_permission(user, Permission.BANK_WRITE):
        tasks.append(Task(_("Write an item"), url_for("bank.new_item"),
                          _("A new item against a blueprint element, checked against the writing spec as you type")))
        tasks.append(Task(_("My items"), url_for("bank.list_items", author_id=user.id),
                          _("Your drafts, items under review and items returned to you")))
        tasks.append(Task(_("Import items"), url_for("bank.import_form"),
                          _("An Excel template (or QTI, Moodle XML, GIFT) checked row by row before anything is stored")))
    if has_permission(user, Permission.BANK_REVIEW):
        tasks.append(Task(_("Review queue"), url_for("bank.review_queue"),
                          _("Submitted item versions waiting for your decision")))
    if has_permission(user, Permission.BANK_READ):
        tasks.append(Task(_("Item bank"), url_for("bank.list_items"),
                          _("Items by blueprint, element, type, status, author and language")))
        tasks.append(Task(_("Bank coverage"), url_for("bank.list_blueprints"),
                          _("Blueprints, and approved items per element against the minimum")))
    if has_permission(user, Permission.INSTITUTION_MANAGE):
        tasks.append(Task(_("Assemble papers"), url_for("papers.assemble_form"),
                          _("Parallel forms from the approved bank for a blueprint your institution is filed for")))
    if has_permission(user, Permission.INSTITUTION_VIEW):
        tasks.append(Task(_("Papers"), url_for("papers.list_papers"),
                          _("Assembled papers, their reports against the blueprint, locking and printing")))
    if has_permission(user, Permission.INSTITUTION_VIEW):
        tasks.append(Task(_("Exam sessions"), url_for("sessions.list_sessions"),
                          _("Sessions (认定场次): rooms, staff, candidates, admission tickets and the invigilator console")))
    if has_permission(user, Permission.SESSION_INVIGILATE):
        tasks.append(Task(_("Invigilate"), url_for("sessions.list_sessions", status="open"),
                          _("Open sessions you are assigned to, and each room's console")))
    if has_permission(user, Permission.GRADING_SCORE):
        tasks.append(Task(_("My scoring"), url_for("grading.score_list"),
                          _("Skill tasks and comprehensive reviews to score by rubric, and resolutions as chief examiner")))
    if has_permission(user, Permission.INSTITUTION_MANAGE):
        tasks.append(Task(_("Results"), url_for("results.list_sessions"),
                          _("Tally per session, publication with a notice period, reviews, confirmation and export")))
        tasks.append(Task(_("Examiner cards"), url_for("grading.list_examiners"),
                          _("Examiners' cards, grades and validity")))
    if has_permission(user, Permission.REGULATE):
        tasks.append(Task(_("Violation cases"), url_for("supervision.list_cases"),
                          _("Reports, cases, notices, decisions, objection deadlines in working days, reviews and sanctions")))
        tasks.append(Task(_("Supervisors and inspections"), url_for("people.people"),
                          _("Supervisor cards, the examiner registry, random draws, inspections and credit grades")))
    if has_permission(user, Permission.SESSION_SUPERVISE):
        tasks.append(Task(_("Supervision findings"), url_for("people.my_findings"),
                          _("Sessions and inspections you were drawn for, and the checklist to file findings")))
    if has_permission(user, Permission.AUDIT_VIEW):
        tasks.append(Task(_("Audit trail"), url_for("audit.list_events"), _("Every recorded action, and a check of the chain")))
    if has_permission(user, Permission.INSTITUTION_MANAGE):
        tasks.append(Task(_("Certificates"), url_for("certificates.list_certificates"),
                          _("Issue certificates for confirmed passes, download PDFs, export for upload")))
    if has_permission(user, Permission.REGULATE):
        tasks.append(Task(_("Certificates (regulator)"), url_for("certificates.regulator_list"),
                          _("Every institution's certificates, voiding with a case reference, export")))
    if has_permission(user, Permission.INSTITUTION_VIEW):
        tasks.append(Task(_("Item analysis"), url_for("analysis.list_runs"),
                          _("Statistics of confirmed sessions: difficulty, discrimination, distractors, DIF, flags")))
    if has_permission(user, Permission.REGULATE):
        tasks.append(Task(_("Bank quality"), url_for("analysis.quality_overview"),
                          _("Flagged items per blueprint from the item analyses")))
    if has_permission(user, Permission.USERS_MANAGE):
        tasks.append(Task(_("Users"), url_for("accounts_admin.list_users"), _("Accounts and their roles")))
    return tasks


@bp.route("/")
def home() -> Any:
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login"))
    institutions = permitted_institutions(current_user, Permission.INSTITUTION_VIEW)
    return render_template("home.html", tasks=tasks_for(current_user), scoped_institutions=institutions)


@bp.route("/language", methods=["POST"])
def set_language() -> Any:
    chosen = request.form.get("locale", "")
    if chosen in current_app.config["LANGUAGES"]:
        session["locale"] = chosen
    target = request.referrer or url_for("web.home")
    return redirect(target if target.startswith(request.host_url) else url_for("web.home"))


@bp.route("/healthz")
def healthz() -> Any:
    try:
        get_session().execute(text("SELECT 1"))
    except Exception as exc:  # any database failure makes the instance unhealthy
        current_app.logger.error("health check failed: %s", exc)
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
