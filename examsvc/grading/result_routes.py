"""Results pages: the institution's sessions and their tally, scoring, publication with a notice
period (公示), reviews (复核), confirmation and export; the chief examiner, recusals and absences of
a panel-scored session; and the candidate's own results with the review request form.

Candidates are not staff accounts: they sign in here with admission ticket and ID number, which
stores the same signed-session key as the exam room (``exam_candidate``), and
:func:`examsvc.delivery.routes.candidate_required` guards their pages.
"""

from __future__ import annotations

import io
from typing import Any, Mapping

from flask import (
    Blueprint, Flask, current_app, flash, jsonify, redirect, render_template, request, send_file, session as cookie, url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from examsvc.accounts.models import User
from examsvc.auth import Permission, permission_required, permitted_institutions
from examsvc.bank.models import ExamBlueprint
from examsvc.db import get_session, unit_of_work
from examsvc.delivery.routes import SESSION_KEY, candidate_required
from examsvc.audit.service import record
from examsvc.errors import NotFound, ServiceError, ValidationFailed
from examsvc.grading import examiners, panel, reports, results
from examsvc.grading.models import ResultPublication, ReviewRequest
from examsvc.grading.routes import actor, candidate_of, exam_session_for, nav_globals, parse_id
from examsvc.grading.service import score_session
from examsvc.institutions.models import Institution
from examsvc.sessions.models import Candidate, ExamSession, StaffAssignment, StaffRole

bp = Blueprint("results", __name__, url_prefix="/results")
candidate_api = Blueprint("results_candidate_api", __name__, url_prefix="/exam/api/results")
EXPORT_TYPES = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(candidate_api)


def component_names() -> dict[str, str]:
    return {"theory": _("Theory"), "skill": _("Skill"), "review": _("Comprehensive review")}


def method_names() -> dict[str, str]:
    return {"auto": _("Automatic"), "examiners": _("Examiners"), "absent": _("Absent"), "terminated": _("Terminated")}


def review_status_names() -> dict[str, str]:
    return {"open": _("Awaiting decision"), "upheld": _("Score upheld"), "changed": _("Score changed")}


@bp.context_processor
def _results_globals() -> dict[str, Any]:
    return {**nav_globals(), "component_names": component_names(), "method_names": method_names(),
            "review_status_names": review_status_names()}


# --- the institution's side -------------------------------------------------------------------

@bp.route("/")
@permission_required(Permission.INSTITUTION_MANAGE)
def list_sessions() -> Any:
    session = get_session()
    allowed = permitted_institutions(current_user, Permission.INSTITUTION_MANAGE)
    query = (select(ExamSession, Institution.name, ExamBlueprint, ResultPublication)
             .join(Institution, Institution.id == ExamSession.institution_id)
             .join(ExamBlueprint, ExamBlueprint.id == ExamSession.blueprint_id)
             .outerjoin(ResultPublication, ResultPublication.session_id == ExamSession.id)
             .order_by(ExamSession.exam_date.desc(), ExamSession.id.desc()))
    if allowed is not None:
        query = query.where(ExamSession.institution_id.in_(allowed))
    return render_template("grading/sessions.html", rows=session.execute(query).all())


def _session_page(session_id: int, error: ServiceError | None = None, status: int = 200) -> Any:
    session = get_session()
    exam_session = exam_session_for(session_id, Permission.INSTITUTION_MANAGE)
    blueprint = session.get(ExamBlueprint, exam_session.blueprint_id)
    tally = reports.tally(session, exam_session)
    publication = reports.publication_of(session, exam_session)
    board, staff, chief = None, [], None
    if blueprint.component in panel.PANEL_COMPONENTS:
        board = {row.candidate.id: row for row in panel.board(session, exam_session)}
        staff = list(session.scalars(select(User).join(StaffAssignment, StaffAssignment.user_id == User.id).where(
            StaffAssignment.session_id == exam_session.id, StaffAssignment.role == StaffRole.EXAMINER.value)
            .order_by(User.username)))
        chief = examiners.chief_of(session, exam_session)
    return render_template(
        "grading/session.html", exam_session=exam_session, blueprint=blueprint, tally=tally, publication=publication,
        notice_open=reports.notice_open(publication), board=board, staff=staff, chief=chief, error=error,
        can_manage=True,
        default_notice_days=current_app.config["RESULT_NOTICE_DAYS"]), status


@bp.route("/sessions/<int:session_id>")
@permission_required(Permission.INSTITUTION_MANAGE)
def show_session(session_id: int) -> Any:
    return _session_page(session_id)


def _managed_action(session_id: int, action: Any, done: str) -> Any:
    """Run ``action(db, exam_session)`` for an institution admin of the session; re-render on refusal."""
    try:
        with unit_of_work() as session:
            exam_session = exam_session_for(session_id, Permission.INSTITUTION_MANAGE)
            action(session, exam_session)
    except ServiceError as exc:
        return _session_page(session_id, exc, exc.status)
    flash(done)
    return redirect(url_for("results.show_session", session_id=session_id))


@bp.route("/sessions/<int:session_id>/score", methods=["POST"])
@permission_required(Permission.INSTITUTION_MANAGE)
def score(session_id: int) -> Any:
    return _managed_action(session_id, lambda db, s: score_session(db, s, actor()), _("Theory answers scored."))


def _notice_days(form: Mapping[str, str]) -> int | None:
    text = (form.get("notice_days") or "").strip()
    if not text:
        return None
    if not text.isdecimal():
        raise ValidationFailed("公示天数应为整数", "the notice period is a whole number of days", field="notice_days")
    return int(text)


@bp.route("/sessions/<int:session_id>/publish", methods=["POST"])
@permission_required(Permission.INSTITUTION_MANAGE)
def publish(session_id: int) -> Any:
    return _managed_action(session_id, lambda db, s: results.publish_results(db, s, actor(), _notice_days(request.form)),
                           _("Results published for the notice period."))


@bp.route("/sessions/<int:session_id>/confirm", methods=["POST"])
@permission_required(Permission.INSTITUTION_MANAGE)
def confirm(session_id: int) -> Any:
    return _managed_action(session_id, lambda db, s: results.confirm_results(db, s, actor()), _("Results confirmed."))


@bp.route("/sessions/<int:session_id>/chief", methods=["POST"])
@permission_required(Permission.INSTITUTION_MANAGE)
def designate_chief(session_id: int) -> Any:
    def action(db: Any, exam_session: ExamSession) -> None:
        examiners.designate_chief(db, exam_session, examiners.get_user(db, parse_id(request.form, "user_id")), actor())

    return _managed_action(session_id, action, _("Chief examiner designated."))


@bp.route("/sessions/<int:session_id>/candidates/<int:candidate_id>/absent", methods=["POST"])
@permission_required(Permission.INSTITUTION_MANAGE)
def mark_absent(session_id: int, candidate_id: int) -> Any:
    return _managed_action(session_id, lambda db, s: panel.mark_absent(db, candidate_of(s, candidate_id), actor()),
                           _("Candidate recorded absent."))


@bp.route("/sessions/<int:session_id>/conflicts", methods=["POST"])
@permission_required(Permission.INSTITUTION_MANAGE)
def declare_conflict(session_id: int) -> Any:
    def action(db: Any, exam_session: ExamSession) -> None:
        examiners.declare_conflict(db, examiner=examiners.get_user(db, parse_id(request.form, "examiner_id")),
                                   candidate=candidate_of(exam_session, parse_id(request.form, "candidate_id")),
                                   kind=request.form.get("kind", ""), note=request.form.get("note", ""), actor=actor())

    return _managed_action(session_id, action, _("Conflict recorded: the examiner no longer scores this candidate."))


@bp.route("/reviews/<int:review_id>/decide", methods=["POST"])
@permission_required(Permission.INSTITUTION_MANAGE)
def decide_review(review_id: int) -> Any:
    session = get_session()
    review = session.get(ReviewRequest, review_id)
    if review is None:
        raise NotFound("复核申请不存在", "review request not found", field="review_id")
    session_id = results.get_score(session, review.score_id).session_id

    def action(db: Any, exam_session: ExamSession) -> None:
        text = (request.form.get("new_score") or "").strip()
        try:
            new_score = float(text) if text else None
        except ValueError:
            raise ValidationFailed("新成绩应为数字", "the new score is a number", field="new_score") from None
        results.decide_review(db, review, actor(), request.form.get("decision", ""), new_score)

    return _managed_action(session_id, action, _("Review decided."))


@bp.route("/sessions/<int:session_id>/export.<fmt>")
@permission_required(Permission.INSTITUTION_MANAGE)
def export(session_id: int, fmt: str) -> Any:
    exam_session = exam_session_for(session_id, Permission.INSTITUTION_MANAGE)
    if fmt not in EXPORT_TYPES:
        raise ValidationFailed("导出格式应为 csv 或 xlsx", "the export format is csv or xlsx", field="format")
    with unit_of_work() as session:
        data = reports.export_results(reports.tally(session, exam_session), fmt)
        record(session, actor(), "results.export", exam_session, {"format": fmt})
    return send_file(io.BytesIO(data), mimetype=EXPORT_TYPES[fmt], as_attachment=True,
                     download_name=f"results-{exam_session.exam_date:%Y%m%d}-{exam_session.id}.{fmt}")


# --- the candidate's side ---------------------------------------------------------------------

@bp.route("/sign-in", methods=["GET", "POST"])
def candidate_sign_in() -> Any:
    """Candidates sign in with ticket and ID number to see their published results, whatever the session's state."""
    if request.method == "GET":
        return render_template("grading/candidate_sign_in.html")
    ticket = request.form.get("ticket_number", "")
    try:
        with unit_of_work() as session:
            candidate = reports.identify_candidate(session, ticket_number=ticket,
                                                   id_number=request.form.get("id_number", ""),
                                                   password=request.form.get("password", ""))
            candidate_id = candidate.id
    except ServiceError as exc:
        return render_template("grading/candidate_sign_in.html", error=exc, ticket_number=ticket), exc.status
    cookie.clear()  # a shared computer: no staff login survives into the candidate's pages
    cookie[SESSION_KEY] = {"candidate_id": candidate_id}
    return redirect(url_for("results.mine"))


def _mine_page(candidate_id: int, error: ServiceError | None = None, status: int = 200) -> Any:
    session = get_session()
    candidate = session.get(Candidate, candidate_id)
    return render_template("grading/mine.html", candidate=candidate, results=reports.own_results(session, candidate),
                           error=error), status


@bp.route("/mine")
@candidate_required
def mine(candidate_id: int) -> Any:
    return _mine_page(candidate_id)


@bp.route("/mine/reviews", methods=["POST"])
@candidate_required
def request_review(candidate_id: int) -> Any:
    try:
        with unit_of_work() as session:
            candidate = session.get(Candidate, candidate_id)
            score = reports.own_score(session, candidate, parse_id(request.form, "score_id"))
            results.request_review(session, score, request.form.get("reason", ""))
    except ServiceError as exc:
        return _mine_page(candidate_id, exc, exc.status)
    flash(_("Your review request was received."))
    return redirect(url_for("results.mine"))


def own_result_json(result: reports.OwnResult) -> dict[str, Any]:
    return {"score_id": result.score.id, "session_id": result.exam_session.id, "title": result.exam_session.title,
            "exam_date": result.exam_session.exam_date.isoformat(), "occupation_code": result.blueprint.occupation_code,
            "level": result.blueprint.level, "component": result.blueprint.component, "score": result.score.score,
            "passed": result.score.passed, "method": result.score.method,
            "tasks": {code: task.get("value") for code, task in (result.score.details.get("tasks") or {}).items()},
            "notice_until": result.publication.notice_until.isoformat(),
            "confirmed": result.publication.confirmed_at is not None,
            "may_request_review": result.may_request_review,
            "reviews": [{"id": r.id, "status": r.status, "reason": r.reason, "decision": r.decision,
                         "requested_at": r.requested_at.isoformat()} for r in result.reviews]}


@candidate_api.route("")
@candidate_required
def mine_json(candidate_id: int) -> Any:
    session = get_session()
    candidate = session.get(Candidate, candidate_id)
    return jsonify(results=[own_result_json(r) for r in reports.own_results(session, candidate)])


@candidate_api.route("/reviews", methods=["POST"])
@candidate_required
def request_review_json(candidate_id: int) -> Any:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed("请求体应为JSON对象", "the body must be a JSON object", field="body")
    score_id = body.get("score_id")
    if not isinstance(score_id, int) or isinstance(score_id, bool):
        raise ValidationFailed("成绩编号无效", "score_id must be an integer", field="score_id")
    with unit_of_work() as session:
        candidate = session.get(Candidate, candidate_id)
        review = results.request_review(session, reports.own_score(session, candidate, score_id),
                                        str(body.get("reason") or ""))
        payload = {"id": review.id, "status": review.status, "requested_at": review.requested_at.isoformat()}
    return jsonify(payload), 201
