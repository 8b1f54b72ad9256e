"""The invigilator console's pages (监考台), on the ``sessions`` blueprint: a room's roster with live
status (refreshed from a small JSON endpoint), per-candidate actions, the room-wide pause and
resume, notes and the incident log, and ending the session.

Every handler declares SESSION_INVIGILATE; :func:`console.require_console` inside each service
call then admits only invigilators assigned to the session (and to the room).
"""

from __future__ import annotations

from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from examsvc.auth import Permission, permission_required
from examsvc.db import get_session, unit_of_work
from examsvc.errors import Forbidden, ServiceError, ValidationFailed
from examsvc.sessions import console, service
from examsvc.sessions.models import ExamSession
from examsvc.sessions.routes import (
    _actor, bp, close_and_report, load_session, localised, roster_status_names,
)


def my_rooms(exam_session: ExamSession) -> list[Any]:
    """The rooms the current user may run: their assigned rooms (admins: every room)."""
    assigned = {s.room_id for s in exam_session.staff if s.user_id == current_user.id and s.role == "invigilator"}
    rooms = [r for r in exam_session.rooms if r.id in assigned]
    return rooms or list(exam_session.rooms)


def _console_page(exam_session: ExamSession, room_id: int, error: ServiceError | None = None,
                  error_candidate: int | None = None, status: int = 200) -> Any:
    session = get_session()
    room = service.get_room(exam_session, room_id)
    rows = console.roster(session, exam_session, room_id, viewer=current_user)
    return render_template("sessions/console.html", exam_session=exam_session, room=room, rows=rows,
                           counts=console.status_counts(rows), rooms=my_rooms(exam_session),
                           log=console.incident_log(session, exam_session, room_id), error=error,
                           error_candidate=error_candidate), status


@bp.route("/<int:session_id>/console")
@permission_required(Permission.SESSION_INVIGILATE)
def console_home(session_id: int) -> Any:
    exam_session = load_session(session_id, "console")
    return redirect(url_for("sessions.console_room", session_id=session_id, room_id=my_rooms(exam_session)[0].id))


@bp.route("/<int:session_id>/rooms/<int:room_id>/console")
@permission_required(Permission.SESSION_INVIGILATE)
def console_room(session_id: int, room_id: int) -> Any:
    exam_session = load_session(session_id, "console")
    service.require_console(current_user, exam_session, service.get_room(exam_session, room_id).id)
    return _console_page(exam_session, room_id)


@bp.route("/<int:session_id>/rooms/<int:room_id>/roster.json")
@permission_required(Permission.SESSION_INVIGILATE)
def roster_json(session_id: int, room_id: int) -> Any:
    """The live roster for the console's periodic refresh."""
    try:
        exam_session = load_session(session_id, "console")
        rows = console.roster(get_session(), exam_session, room_id, viewer=current_user)
    except ServiceError as exc:
        return jsonify(code=exc.code, message=localised(exc), field=exc.field), exc.status
    names = roster_status_names()
    return jsonify(session_status=exam_session.status, counts=console.status_counts(rows),
                   rows=[{**row.to_dict(), "status_name": names[row.status]} for row in rows])


def _after(session_id: int, room_id: int, run: Any, done: str, candidate_id: int | None = None) -> Any:
    """Run one console action; success goes back to the room, a refusal re-renders it with the message."""
    exam_session = load_session(session_id, "console")
    try:
        service.get_room(exam_session, room_id)
        with unit_of_work() as session:
            run(session, exam_session)
    except Forbidden:
        raise
    except ServiceError as exc:
        return _console_page(service.get_session_row(get_session(), session_id), room_id, exc, candidate_id,
                             exc.status)
    if done:
        flash(done)
    return redirect(url_for("sessions.console_room", session_id=session_id, room_id=room_id))


def _minutes(text: str | None) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdecimal():
        raise ValidationFailed("延长时间应为分钟数（整数）", "extra time is a whole number of minutes", field="minutes")
    return int(text)


@bp.route("/<int:session_id>/rooms/<int:room_id>/candidates/<int:candidate_id>/action", methods=["POST"])
@permission_required(Permission.SESSION_INVIGILATE)
def console_action(session_id: int, room_id: int, candidate_id: int) -> Any:
    form = request.form
    action = form.get("action", "")

    def run(session: Any, exam_session: ExamSession) -> None:
        if action == "terminate" and form.get("confirm") != "1":
            raise ValidationFailed("终止考试须勾选确认", "tick the confirmation to terminate the exam", field="confirm")
        candidate = service.find_candidate(session, session_id, candidate_id)
        if candidate.room_id != room_id:
            raise ValidationFailed("该考生不在本考场", "the candidate is not in this room", field="candidate_id")
        console.act(session, exam_session, _actor(), candidate_id, action, minutes=_minutes(form.get("minutes")),
                    reason=form.get("reason", ""))

    done = {"check_in": _("Checked in."), "pause": _("Paused."), "resume": _("Resumed."),
            "extra_time": _("Extra time granted."), "terminate": _("The exam was terminated."),
            "absent": _("Recorded absent: the candidate scores 0.")}
    return _after(session_id, room_id, run, done.get(action, ""), candidate_id)


@bp.route("/<int:session_id>/rooms/<int:room_id>/pause", methods=["POST"])
@permission_required(Permission.SESSION_INVIGILATE)
def pause_room(session_id: int, room_id: int) -> Any:
    count: list[int] = []

    def run(session: Any, exam_session: ExamSession) -> None:
        count.append(console.pause_room(session, exam_session, room_id, _actor(), request.form.get("reason", "")))

    response = _after(session_id, room_id, run, "")
    if count:
        flash(_("%(n)s exams in this room paused; their time stands still until resumed.", n=count[0]))
    return response


@bp.route("/<int:session_id>/rooms/<int:room_id>/resume", methods=["POST"])
@permission_required(Permission.SESSION_INVIGILATE)
def resume_room(session_id: int, room_id: int) -> Any:
    count: list[int] = []

    def run(session: Any, exam_session: ExamSession) -> None:
        count.append(console.resume_room(session, exam_session, room_id, _actor(), request.form.get("reason", "")))

    response = _after(session_id, room_id, run, "")
    if count:
        flash(_("%(n)s exams in this room resumed; the paused time was added to their deadlines.", n=count[0]))
    return response


@bp.route("/<int:session_id>/rooms/<int:room_id>/notes", methods=["POST"])
@permission_required(Permission.SESSION_INVIGILATE)
def add_note(session_id: int, room_id: int) -> Any:
    candidate_id = request.form.get("candidate_id", type=int)

    def run(session: Any, exam_session: ExamSession) -> None:
        console.record_note(session, exam_session, _actor(), request.form.get("text", ""),
                            room_id=None if candidate_id else room_id, candidate_id=candidate_id)

    return _after(session_id, room_id, run, _("Note recorded in the incident log."))


@bp.route("/<int:session_id>/console/close", methods=["POST"])
@permission_required(Permission.SESSION_INVIGILATE)
def console_close(session_id: int) -> Any:
    room_id = request.form.get("room_id", type=int)
    back = (url_for("sessions.console_room", session_id=session_id, room_id=room_id) if room_id
            else url_for("sessions.console_home", session_id=session_id))
    return close_and_report(session_id, "console", back)
