"""The exam room over HTTP: candidate sign-in, the room page, state, answer saves, submit.

Candidates are not staff accounts: signing in with the ticket number stores the candidate and
attempt ids in the signed session cookie; every request is checked against that attempt only, so
no candidate can read or write another's attempt. The JSON endpoints answer ``{code, message,
field}`` on refusal like the rest of the API.
"""

from __future__ import annotations

from functools import wraps
from typing import Any, Callable

from flask import Blueprint, Flask, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from examsvc.db import get_session, unit_of_work
from examsvc.delivery import service
from examsvc.delivery.models import Attempt
from examsvc.delivery.view import attempt_view
from examsvc.errors import ServiceError, ValidationFailed
from examsvc.sessions.models import Candidate, ExamSession

bp = Blueprint("exam", __name__, url_prefix="/exam")
SESSION_KEY = "exam_candidate"


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def candidate_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Only a signed-in candidate, and only with their own attempt."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        signed = session.get(SESSION_KEY)
        if not signed:
            if request.path.startswith("/exam/api/"):
                return jsonify(code="unauthenticated", message=_("Please sign in to the exam."), field=None), 401
            return redirect(url_for("exam.sign_in"))
        return view(signed["candidate_id"], *args, **kwargs)

    wrapper.candidate_required = True  # type: ignore[attr-defined]
    return wrapper


def _attempt(candidate_id: int) -> Attempt:
    from sqlalchemy import select

    attempt = get_session().scalar(select(Attempt).where(Attempt.candidate_id == candidate_id))
    if attempt is None:
        raise ValidationFailed("考试尚未开始", "the exam has not started", field="attempt", code="not_started")
    return attempt


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Any:
    if request.method == "GET":
        return render_template("exam/sign_in.html")
    ticket = request.form.get("ticket_number", "")
    try:
        with unit_of_work() as db:
            candidate = service.sign_in(db, ticket_number=ticket, id_number=request.form.get("id_number", ""),
                                        password=request.form.get("password", ""))
            service.start_or_resume(db, candidate)
            candidate_id = candidate.id
    except ServiceError as exc:
        return render_template("exam/sign_in.html", error=exc, ticket_number=ticket), exc.status
    session.clear()  # a shared exam computer: no staff login survives into the exam
    session[SESSION_KEY] = {"candidate_id": candidate_id}
    return redirect(url_for("exam.room"))


@bp.route("/sign-out", methods=["POST"])
def sign_out() -> Any:
    session.pop(SESSION_KEY, None)
    return redirect(url_for("exam.sign_in"))


@bp.route("/")
@candidate_required
def room(candidate_id: int) -> Any:
    db = get_session()
    candidate = db.get(Candidate, candidate_id)
    exam_session = db.get(ExamSession, candidate.session_id)
    return render_template("exam/room.html", candidate=candidate, exam_session=exam_session)


@bp.route("/api/state")
@candidate_required
def state(candidate_id: int) -> Any:
    with unit_of_work() as db:
        attempt = service.settle(db, _attempt(candidate_id))
        view = attempt_view(db, attempt)
    return jsonify(view)


@bp.route("/api/ping")
@candidate_required
def ping(candidate_id: int) -> Any:
    with unit_of_work() as db:
        attempt = service.settle(db, _attempt(candidate_id))
        return jsonify(status=attempt.status, remaining_seconds=service.remaining_seconds(attempt),
                       last_seq=attempt.last_seq)


@bp.route("/api/answers", methods=["POST"])
@candidate_required
def save(candidate_id: int) -> Any:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed("请求体应为JSON对象", "the body must be a JSON object", field="body")
    position, seq = body.get("position"), body.get("seq")
    if not isinstance(position, int) or isinstance(position, bool):
        raise ValidationFailed("题号无效", "position must be an integer", field="position")
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise ValidationFailed("序号无效", "seq must be an integer", field="seq")
    with unit_of_work() as db:
        result = service.save_answer(db, candidate_id, position=position, response=body.get("response"),
                                     flagged=bool(body.get("flagged", False)), seq=seq)
    return jsonify(outcome=result.outcome, position=result.position, seq=result.seq,
                   remaining_seconds=result.remaining_seconds)


@bp.route("/api/submit", methods=["POST"])
@candidate_required
def submit(candidate_id: int) -> Any:
    with unit_of_work() as db:
        attempt = service.submit(db, _attempt(candidate_id))
        return jsonify(status=attempt.status, closed_at=attempt.closed_at.isoformat() if attempt.closed_at else None)
