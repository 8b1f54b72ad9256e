"""The exam sessions' pages (认定场次): the list, the plan form, a session with its readiness and the
Open button, staff assignment, candidates (one by one or from Excel), printable admission tickets.
Candidates and tickets are in :mod:`examsvc.sessions.candidate_routes`, the invigilator console
in :mod:`examsvc.sessions.console_routes`, both on this blueprint.

Handlers parse the form, call one service function inside ``unit_of_work`` and render; a
:class:`ServiceError` re-renders the page with the message and the field it names, and the unit of
work has rolled everything back by then. Which session a user may touch is decided by the
service's ``require_view`` / ``require_manage`` / ``require_console`` with the session's institution.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from examsvc import clock
from examsvc.accounts.models import User
from examsvc.app import current_locale
from examsvc.auth import Permission, has_permission, permission_required
from examsvc.bank.models import ExamBlueprint
from examsvc.db import get_session, unit_of_work
from examsvc.errors import NotFound, ServiceError, ValidationFailed
from examsvc.institutions.models import Institution
from examsvc.institutions.regions import LEAGUES_AND_CITIES
from examsvc.sessions import console, queries, service
from examsvc.sessions.models import ExamSession, SessionStatus

bp = Blueprint("sessions", __name__, url_prefix="/sessions")
EMPTY_ROOM_ROWS = 2


def init_app(app: Flask) -> None:
    from examsvc.sessions import candidate_routes, console_routes  # noqa: F401  (they add their routes to bp)
    from examsvc.sessions import material_routes  # adds the review materials' routes to bp, and its own

    app.register_blueprint(bp)
    material_routes.init_app(app)


def _actor() -> Any:
    return current_user._get_current_object()


def _zh() -> bool:
    return current_locale().startswith("zh")


def localised(obj: Any) -> str:
    """A message (error, problem, row error) in the page's language."""
    return obj.message if _zh() or not getattr(obj, "message_en", "") else obj.message_en


def field_label(field: str | None) -> str:
    names = {"institution_id": _("Institution"), "institution": _("Institution"), "blueprint_id": _("Blueprint"),
             "title": _("Session title"), "exam_date": _("Exam date"), "window_start": _("Start window opens"),
             "window_end": _("Start window closes"), "duration_minutes": _("Duration (minutes)"),
             "rooms": _("Exam rooms"), "paper_ids": _("Locked papers"), "languages": _("Exam languages"),
             "layout": _("Layout"), "league_city": _("League or city"), "session": _("Exam session"), "status": _("Status"), "user_id": _("Staff member"),
             "role": _("Post"), "room_id": _("Exam room"), "assignment_id": _("Assignment"), "name": _("Name"),
             "id_type": _("ID type"), "id_number": _("ID number"), "gender": _("Gender"), "employer": _("Employer"),
             "phone": _("Phone"), "exam_language": _("Exam language"), "password": _("Exam password"),
             "image": _("Photo"), "photo": _("Photo"), "file": _("File"), "candidate_id": _("Candidate"),
             "action": _("Action"), "minutes": _("Extra minutes"), "reason": _("Reason"), "text": _("Log entry"),
             "confirm": _("Confirmation"), "check_in": _("Check-in"), "attempt": _("Attempt")}
    return names.get(field or "", field or "")


def session_status_names() -> dict[str, str]:
    return {"planned": _("Planned"), "open": _("Open"), "closed": _("Closed")}


def staff_role_names() -> dict[str, str]:
    return {"invigilator": _("Invigilator"), "examiner": _("Examiner"),
            "internal_supervisor": _("Internal quality supervisor")}


def roster_status_names() -> dict[str, str]:
    return {"not_signed_in": _("Not signed in"), "checked_in": _("Checked in"), "in_progress": _("In progress"),
            "paused": _("Paused"), "submitted": _("Handed in"), "expired": _("Time expired"),
            "terminated": _("Exam terminated"), "absent": _("Absent")}


def incident_kind_names() -> dict[str, str]:
    return {"note": _("Log entry"), "check_in": _("Check-in"), "pause": _("Pause"), "resume": _("Resume"),
            "extra_time": _("Extra time"), "terminate": _("Terminated"), "close": _("Session ended"),
            "absent": _("Absent")}


def language_name(code: str) -> str:
    names = service.LANGUAGES.get(code)
    return (names[0] if _zh() else names[1]) if names else code


def id_type_name(code: str) -> str:
    names = service.ID_TYPES.get(code)
    return (names[0] if _zh() else names[1]) if names else code


def local(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time as the service's time zone shows it (Beijing by default)."""
    return clock.local_time(moment).strftime(fmt) if moment else ""


def may_manage(exam_session: ExamSession) -> bool:
    return has_permission(current_user, Permission.INSTITUTION_MANAGE, exam_session.institution_id)


def may_run_console(exam_session: ExamSession) -> bool:
    return any(s.user_id == current_user.id and s.role == "invigilator" for s in exam_session.staff) and \
        has_permission(current_user, Permission.SESSION_INVIGILATE, exam_session.institution_id)


@bp.context_processor
def _sessions_globals() -> dict[str, Any]:
    return {"field_label": field_label, "localised": localised, "session_status_names": session_status_names(),
            "staff_role_names": staff_role_names(), "roster_status_names": roster_status_names(),
            "incident_kind_names": incident_kind_names(), "language_name": language_name,
            "id_type_name": id_type_name, "local": local, "may_manage": may_manage,
            "may_run_console": may_run_console,
            "may_close_session": lambda exam_session: service.may_close_session(current_user, exam_session),
            "LANGUAGES": service.LANGUAGES, "ID_TYPES": service.ID_TYPES,
            "is_panel": lambda exam_session: service.is_panel_session(get_session(), exam_session),
            "is_panel_blueprint": service.is_panel_blueprint,
            "can_plan": has_permission(current_user, Permission.INSTITUTION_MANAGE)}


def load_session(session_id: int, need: str = "view") -> ExamSession:
    """The session, once the current user may ``view``, ``manage`` or run the ``console`` of it."""
    exam_session = service.get_session_row(get_session(), session_id)
    check = {"view": service.require_view, "manage": service.require_manage, "console": service.require_console}
    check[need](current_user, exam_session)
    return exam_session


# --- list and plan --------------------------------------------------------------------------

@bp.route("/")
@permission_required(Permission.INSTITUTION_VIEW)
def list_sessions() -> Any:
    status = request.args.get("status") or None
    return render_template("sessions/list.html", rows=queries.list_sessions(get_session(), current_user, status=status),
                           status=status)


def local_datetime(day: date, text: str, field: str) -> datetime:
    """``HH:MM`` on ``day`` in the service's time zone, as UTC."""
    try:
        moment = time.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed("时间格式应为 时:分，如 08:30", "a time is written HH:MM, e.g. 08:30", field=field) from None
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    return datetime.combine(day, moment, tzinfo=zone).astimezone(ZoneInfo("UTC"))


def _int(text: str | None, field: str, zh: str, en: str) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdecimal():
        raise ValidationFailed(zh, en, field=field)
    return int(text)


def plan_details(form: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`service.plan_session_for` arguments from the plan form's fields."""
    try:
        exam_date = date.fromisoformat((form.get("exam_date") or "").strip())
    except ValueError:
        raise ValidationFailed("请填写考试日期", "the exam date is required (YYYY-MM-DD)", field="exam_date") from None
    rooms = []
    for name, capacity in zip(form.getlist("room_name"), form.getlist("room_capacity")):
        if not name.strip() and not capacity.strip():
            continue
        seats = _int(capacity, "rooms", "考场容量应为正整数", "a room's capacity is a whole number")
        rooms.append((name, seats or 0))
    return {
        "institution_id": _int(form.get("institution_id"), "institution_id", "请选择评价机构", "choose an institution"),
        "blueprint_id": _int(form.get("blueprint_id"), "blueprint_id", "请选择考核细目表", "choose a blueprint"),
        "title": form.get("title", ""), "exam_date": exam_date,
        "window_start": local_datetime(exam_date, form.get("window_start", ""), "window_start"),
        "window_end": local_datetime(exam_date, form.get("window_end", ""), "window_end"),
        "duration_minutes": _int(form.get("duration_minutes"), "duration_minutes", "考试时长应为分钟数（整数）",
                                 "the duration is a whole number of minutes"),
        "rooms": rooms,
        "paper_ids": [n for n in (_int(p, "paper_ids", "试卷编号无效", "invalid paper id")
                                  for p in form.getlist("paper_ids")) if n is not None],
        "languages": form.getlist("languages"), "auto_check_in": form.get("auto_check_in") == "1",
        "layout": form.get("layout", "paged"), "league_city": (form.get("league_city") or "").strip() or None,
    }


def _plan_page(form: Mapping[str, Any] | None = None, error: ServiceError | None = None, status: int = 200) -> Any:
    today = clock.local_time(clock.now()).date()
    choices = queries.planning_choices(get_session(), current_user, today)
    form = form or {}
    names = form.getlist("room_name") if hasattr(form, "getlist") else []
    capacities = form.getlist("room_capacity") if hasattr(form, "getlist") else []
    rooms = list(zip(names, capacities)) + [("", "")] * EMPTY_ROOM_ROWS
    chosen = {"papers": set(form.getlist("paper_ids")) if hasattr(form, "getlist") else set(),
              "languages": set(form.getlist("languages")) if hasattr(form, "getlist") else {"zh"}}
    return render_template("sessions/plan.html", choices=choices, form=form, rooms=rooms, chosen=chosen,
                           error=error, today=today), status


@bp.route("/new")
@permission_required(Permission.INSTITUTION_MANAGE)
def plan_form() -> Any:
    return _plan_page()


@bp.route("/", methods=["POST"])
@permission_required(Permission.INSTITUTION_MANAGE)
def create_session() -> Any:
    try:
        details = plan_details(request.form)
        with unit_of_work() as session:
            exam_session = service.plan_session_for(session, actor=_actor(), **details)
    except ServiceError as exc:
        return _plan_page(request.form, exc, exc.status)
    flash(_("Session %(title)s planned. Assign staff and register candidates next.", title=exam_session.title))
    return redirect(url_for("sessions.show_session", session_id=exam_session.id))


# --- one session ----------------------------------------------------------------------------

def _session_page(exam_session: ExamSession, error: ServiceError | None = None, status: int = 200) -> Any:
    session = get_session()
    counts = queries.candidate_counts(session, exam_session)
    rosters = {}
    if exam_session.status != SessionStatus.PLANNED.value:
        rosters = {room.id: console.status_counts(console.roster(session, exam_session, room.id))
                   for room in exam_session.rooms}
    from examsvc.papers.models import Paper

    papers = [session.get(Paper, sp.paper_id) for sp in exam_session.papers]
    return render_template(
        "sessions/session.html", exam_session=exam_session, error=error, counts=counts, rosters=rosters,
        papers=papers, institution=session.get(Institution, exam_session.institution_id),
        blueprint=session.get(ExamBlueprint, exam_session.blueprint_id),
        staff_users=queries.staff_users(session, exam_session), places=LEAGUES_AND_CITIES,
        problems=service.readiness(session, exam_session) if exam_session.status == "planned" else [],
        notices=service.notices(session, exam_session)), status


@bp.route("/<int:session_id>")
@permission_required(Permission.INSTITUTION_VIEW)
def show_session(session_id: int) -> Any:
    return _session_page(load_session(session_id))


@bp.route("/<int:session_id>/open", methods=["POST"])
@permission_required(Permission.INSTITUTION_MANAGE)
def open_session(session_id: int) -> Any:
    load_session(session_id, "manage")
    try:
        with unit_of_work() as session:
            service.open_session(session, service.get_session_row(session, session_id), _actor())
    except ServiceError as exc:
        return _session_page(service.get_session_row(get_session(), session_id), exc, exc.status)
    flash(_("The session is open: candidates may sign in during the start window."))
    return redirect(url_for("sessions.show_session", session_id=session_id))


@bp.route("/<int:session_id>/location", methods=["POST"])
@permission_required(Permission.INSTITUTION_MANAGE)
def set_location(session_id: int) -> Any:
    load_session(session_id, "manage")
    try:
        with unit_of_work() as session:
            service.set_location(session, service.get_session_row(session, session_id),
                                 request.form.get("league_city"), _actor())
    except ServiceError as exc:
        return _session_page(service.get_session_row(get_session(), session_id), exc, exc.status)
    flash(_("The session's place is saved."))
    return redirect(url_for("sessions.show_session", session_id=session_id))


def close_and_report(session_id: int, need: str, back: str) -> Any:
    """End the session (the console and the session page share this), after the confirmation box."""
    exam_session = load_session(session_id, need)
    service.require_close_session(current_user, exam_session)  # one room's invigilator: 403, not a flash
    try:
        if request.form.get("confirm") != "1":
            raise ValidationFailed("请勾选确认后再结束考试", "tick the confirmation to end the session", field="confirm")
        with unit_of_work() as session:
            report = console.close_session(session, exam_session, _actor())
    except ServiceError as exc:
        flash(_("Not ended: %(message)s", message=localised(exc)))
        return redirect(back)
    flash(_("The session has ended: %(submitted)s submitted, %(expired)s closed at the deadline or now, "
            "%(terminated)s terminated, %(absent)s absent.", submitted=report.submitted, expired=report.expired,
            terminated=report.terminated, absent=report.absent))
    return redirect(url_for("sessions.show_session", session_id=session_id))


@bp.route("/<int:session_id>/close", methods=["POST"])
@permission_required(Permission.INSTITUTION_MANAGE)
def close_session(session_id: int) -> Any:
    return close_and_report(session_id, "manage", url_for("sessions.show_session", session_id=session_id))


# --- staff ----------------------------------------------------------------------------------

def _staff_page(exam_session: ExamSession, error: ServiceError | None = None, form: Mapping[str, str] | None = None,
                status: int = 200) -> Any:
    session = get_session()
    return render_template("sessions/staff.html", exam_session=exam_session, error=error, form=form or {},
                           eligible=queries.eligible_staff(session, exam_session),
                           staff_users=queries.staff_users(session, exam_session),
                           counts=queries.candidate_counts(session, exam_session),
                           problems=service.readiness(session, exam_session)), status


@bp.route("/<int:session_id>/staff")
@permission_required(Permission.INSTITUTION_MANAGE)
def staff_page(session_id: int) -> Any:
    return _staff_page(load_session(session_id, "manage"))


@bp.route("/<int:session_id>/staff", methods=["POST"])
@permission_required(Permission.INSTITUTION_MANAGE)
def assign_staff(session_id: int) -> Any:
    exam_session = load_session(session_id, "manage")
    form = request.form
    try:
        user_id = _int(form.get("user_id"), "user_id", "请选择人员", "choose a staff member")
        user = get_session().get(User, user_id) if user_id is not None else None
        if user is None:
            raise ValidationFailed("请选择人员", "choose a staff member", field="user_id")
        room_id = _int(form.get("room_id"), "room_id", "请选择考场", "choose a room")
        with unit_of_work() as session:
            service.assign_staff(session, exam_session, user, form.get("role", ""), room_id, _actor())
    except ServiceError as exc:
        return _staff_page(service.get_session_row(get_session(), session_id), exc, form, exc.status)
    flash(_("%(name)s assigned as %(role)s.", name=user.display_name,
            role=staff_role_names().get(form.get("role", ""), "")))
    return redirect(url_for("sessions.staff_page", session_id=session_id))


@bp.route("/<int:session_id>/staff/<int:assignment_id>/remove", methods=["POST"])
@permission_required(Permission.INSTITUTION_MANAGE)
def remove_staff(session_id: int, assignment_id: int) -> Any:
    exam_session = load_session(session_id, "manage")
    try:
        with unit_of_work() as session:
            service.remove_staff(session, exam_session, assignment_id, _actor())
    except NotFound:
        raise
    except ServiceError as exc:
        return _staff_page(service.get_session_row(get_session(), session_id), exc, status=exc.status)
    flash(_("Assignment removed."))
    return redirect(url_for("sessions.staff_page", session_id=session_id))
