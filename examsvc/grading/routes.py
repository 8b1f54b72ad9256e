"""Examiners' pages: the sessions and candidates they score, the rubric form per task (blind until
the panel is complete), recusal, the chief examiner's resolutions, and the card registry.

Handlers parse the form, call one service function inside ``unit_of_work`` and render; a
:class:`ServiceError` re-renders the page with the message and the status it carries. The
institution pages (results, publication, reviews) and the candidate's own results are in
:mod:`examsvc.grading.result_routes`.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Mapping

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from examsvc.accounts.models import RoleGrant, User
from examsvc.app import current_locale
from examsvc.auth import (
    Permission, Role, has_permission, permission_required, permitted_institutions, require_permission,
)
from examsvc.db import get_session, unit_of_work
from examsvc.errors import NotFound, ServiceError, ValidationFailed
from examsvc.grading import examiners, panel
from examsvc.grading.models import ExaminerCard
from examsvc.institutions.models import Institution
from examsvc.sessions.models import Candidate, ExamSession

bp = Blueprint("grading", __name__, url_prefix="/grading")


def init_app(app: Flask) -> None:
    from examsvc.grading import result_routes

    examiners.check_settings(app.config)
    app.register_blueprint(bp)
    result_routes.init_app(app)


def actor() -> Any:
    return current_user._get_current_object()


def localised(obj: Any) -> str:
    """An error or eligibility decision in the page's language."""
    zh = current_locale().startswith("zh")
    if hasattr(obj, "reason"):
        return obj.reason if zh else obj.reason_en
    return obj.message if zh or not getattr(obj, "message_en", "") else obj.message_en


def grade_names() -> dict[str, str]:
    return {"examiner": _("Examiner (levels 5-3)"), "senior_examiner": _("Senior examiner (every level)")}


def conflict_kinds() -> dict[str, str]:
    return {"same_employer": _("Same employer"), "relative": _("Relative"), "own_student": _("Own student"),
            "other": _("Other interest")}


def nav_globals() -> dict[str, Any]:
    """What the grading pages' navigation offers: scoring to examiners, results and cards to admins."""
    return {"localised": localised, "may_score": has_permission(current_user, Permission.GRADING_SCORE),
            "may_manage": has_permission(current_user, Permission.INSTITUTION_MANAGE)}


@bp.context_processor
def _grading_globals() -> dict[str, Any]:
    return {**nav_globals(), "grade_names": grade_names(), "conflict_kinds": conflict_kinds()}


def exam_session_for(session_id: int, permission: Permission) -> ExamSession:
    """The session, once the user holds ``permission`` in its institution (404 before 403)."""
    exam_session = get_session().get(ExamSession, session_id)
    if exam_session is None:
        raise NotFound(f"认定场次 {session_id} 不存在", f"exam session {session_id} not found", field="session_id")
    require_permission(current_user, permission, exam_session.institution_id)
    return exam_session


def candidate_of(exam_session: ExamSession, candidate_id: int) -> Candidate:
    candidate = get_session().get(Candidate, candidate_id)
    if candidate is None or candidate.session_id != exam_session.id:
        raise NotFound("考生不存在", "candidate not found", field="candidate_id")
    return candidate


# --- the examiner's screen ------------------------------------------------------------------

@bp.route("/")
@permission_required(Permission.GRADING_SCORE)
def score_list() -> Any:
    """The sessions the examiner is assigned to, each with its candidates and where scoring stands."""
    session = get_session()
    user = actor()
    sessions = []
    for exam_session in examiners.examiner_sessions(session, user):
        try:
            rows = panel.board(session, exam_session, user)
        except ValidationFailed:
            continue  # a theory session: scored automatically
        chief = examiners.chief_of(session, exam_session)
        sessions.append((exam_session, examiners.standing(session, exam_session, user), rows,
                         chief is not None and chief.user_id == user.id))
    return render_template("grading/score_list.html", sessions=sessions)


def _candidate_page(session_id: int, candidate_id: int, *, error: ServiceError | None = None,
                    form: Mapping[str, str] | None = None, task_code: str | None = None, status: int = 200) -> Any:
    session = get_session()
    user = actor()
    exam_session = exam_session_for(session_id, Permission.GRADING_SCORE)
    candidate = candidate_of(exam_session, candidate_id)
    states = panel.task_states(session, candidate, user)
    chief = examiners.chief_of(session, exam_session)
    return render_template("grading/candidate.html", exam_session=exam_session, candidate=candidate, states=states,
                           eligibility=examiners.eligibility(session, exam_session, candidate, user),
                           is_chief=chief is not None and chief.user_id == user.id,
                           settings=panel.panel_settings(), error=error, form=form or {}, error_task=task_code), status


@bp.route("/sessions/<int:session_id>/candidates/<int:candidate_id>")
@permission_required(Permission.GRADING_SCORE)
def score_candidate(session_id: int, candidate_id: int) -> Any:
    return _candidate_page(session_id, candidate_id)


def rubric_form(form: Mapping[str, str]) -> dict[str, str]:
    """``score-<criterion>`` fields as {criterion: text}; the service checks them against the rubric."""
    return {name[len("score-"):]: value for name, value in form.items() if name.startswith("score-")}


@bp.route("/sessions/<int:session_id>/candidates/<int:candidate_id>/tasks/<task_code>", methods=["POST"])
@permission_required(Permission.GRADING_SCORE)
def submit_task(session_id: int, candidate_id: int, task_code: str) -> Any:
    try:
        with unit_of_work() as session:
            exam_session = exam_session_for(session_id, Permission.GRADING_SCORE)
            candidate = candidate_of(exam_session, candidate_id)
            if request.form.get("confirm") != "yes":
                raise ValidationFailed("请确认评分提交后不能修改", "confirm that submitted scores are final", field="confirm")
            row = panel.submit_scores(session, candidate, task_code, actor(), rubric_form(request.form),
                                      request.form.getlist("veto"), request.form.get("veto_note", ""))
    except ServiceError as exc:
        return _candidate_page(session_id, candidate_id, error=exc, form=request.form, task_code=task_code,
                               status=exc.status)
    if row.vetoes:
        flash(_("Task %(task)s vetoed: it scores 0 points from you.", task=task_code))
    else:
        flash(_("Scores of task %(task)s submitted: %(total)s points.", task=task_code, total=f"{row.total:g}"))
    return redirect(url_for("grading.score_candidate", session_id=session_id, candidate_id=candidate_id))


@bp.route("/sessions/<int:session_id>/candidates/<int:candidate_id>/conflict", methods=["POST"])
@permission_required(Permission.GRADING_SCORE)
def declare_conflict(session_id: int, candidate_id: int) -> Any:
    try:
        with unit_of_work() as session:
            exam_session = exam_session_for(session_id, Permission.GRADING_SCORE)
            candidate = candidate_of(exam_session, candidate_id)
            examiners.declare_conflict(session, examiner=actor(), candidate=candidate,
                                       kind=request.form.get("kind", ""), note=request.form.get("note", ""),
                                       actor=actor())
    except ServiceError as exc:
        return _candidate_page(session_id, candidate_id, error=exc, status=exc.status)
    flash(_("Conflict declared: you no longer score this candidate."))
    return redirect(url_for("grading.score_list"))


# --- the chief examiner -----------------------------------------------------------------------

@bp.route("/resolutions")
@permission_required(Permission.GRADING_SCORE)
def resolutions() -> Any:
    """Tasks whose examiners' totals spread too far, in the sessions the user is chief examiner of."""
    session = get_session()
    user = actor()
    pending = []
    for exam_session in examiners.examiner_sessions(session, user):
        chief = examiners.chief_of(session, exam_session)
        if chief is None or chief.user_id != user.id:
            continue
        try:
            rows = panel.board(session, exam_session, user)
        except ValidationFailed:
            continue
        for row in rows:
            for state in row.tasks:
                if state.needs_resolution:
                    pending.append((exam_session, row.candidate, state))
    return render_template("grading/resolutions.html", pending=pending, settings=panel.panel_settings())


@bp.route("/sessions/<int:session_id>/candidates/<int:candidate_id>/tasks/<task_code>/resolve", methods=["POST"])
@permission_required(Permission.GRADING_SCORE)
def resolve(session_id: int, candidate_id: int, task_code: str) -> Any:
    try:
        with unit_of_work() as session:
            exam_session = exam_session_for(session_id, Permission.GRADING_SCORE)
            candidate = candidate_of(exam_session, candidate_id)
            panel.resolve_task(session, candidate, task_code, actor(), request.form.get("resolved_total", ""),
                               request.form.get("reason", ""))
    except ServiceError as exc:
        return _candidate_page(session_id, candidate_id, error=exc, form=request.form, task_code=task_code,
                               status=exc.status)
    flash(_("Task %(task)s resolved.", task=task_code))
    return redirect(url_for("grading.score_candidate", session_id=session_id, candidate_id=candidate_id))


# --- the card registry ------------------------------------------------------------------------

def visible_cards(user: Any) -> list[tuple[ExaminerCard, User]]:
    """Cards recorded by the user's institutions, or held by examiners of them."""
    allowed = permitted_institutions(user, Permission.INSTITUTION_MANAGE)
    query = select(ExaminerCard, User).join(User, User.id == ExaminerCard.user_id)
    if allowed is not None:
        holders = select(RoleGrant.user_id).where(RoleGrant.role == Role.EXAMINER.value,
                                                  RoleGrant.institution_id.in_(allowed))
        query = query.where(ExaminerCard.institution_id.in_(allowed) | ExaminerCard.user_id.in_(holders))
    return [(card, user) for card, user in get_session().execute(query.order_by(User.username, ExaminerCard.valid_until))]


def _examiners_page(error: ServiceError | None = None, form: Mapping[str, str] | None = None,
                    status: int = 200) -> Any:
    session = get_session()
    managed = permitted_institutions(current_user, Permission.INSTITUTION_MANAGE)
    institutions = list(session.scalars(select(Institution).order_by(Institution.code)))
    if managed is not None:
        institutions = [i for i in institutions if i.id in managed]
    candidates: list[tuple[Institution, User]] = []
    for institution in institutions:
        for user in session.scalars(select(User).join(RoleGrant).where(
                RoleGrant.role == Role.EXAMINER.value, RoleGrant.institution_id == institution.id)
                .order_by(User.username)):
            candidates.append((institution, user))
    return render_template("grading/examiners.html", cards=visible_cards(current_user), holders=candidates,
                           error=error, form=form or {}), status


@bp.route("/examiners")
@permission_required(Permission.INSTITUTION_MANAGE)
def list_examiners() -> Any:
    return _examiners_page()


def parse_date(form: Mapping[str, str], name: str) -> date:
    try:
        return date.fromisoformat((form.get(name) or "").strip())
    except ValueError:
        raise ValidationFailed("日期格式应为 YYYY-MM-DD", "a date is written YYYY-MM-DD", field=name) from None


def parse_id(form: Mapping[str, str], name: str) -> int:
    text = (form.get(name) or "").strip()
    if not text.isdecimal():
        raise ValidationFailed("请选择", "choose one", field=name)
    return int(text)


@bp.route("/examiners/cards", methods=["POST"])
@permission_required(Permission.INSTITUTION_MANAGE)
def register_card() -> Any:
    form = request.form
    try:
        with unit_of_work() as session:
            institution_id = parse_id(form, "institution_id")
            require_permission(current_user, Permission.INSTITUTION_MANAGE, institution_id)
            holder = examiners.get_user(session, parse_id(form, "user_id"))
            examiners.register_card(session, holder=holder, card_number=form.get("card_number", ""),
                                    grade=form.get("grade", ""), valid_from=parse_date(form, "valid_from"),
                                    valid_until=parse_date(form, "valid_until"), institution_id=institution_id,
                                    jurisdiction=form.get("jurisdiction", ""), employer=form.get("employer", ""),
                                    training_note=form.get("training_note", ""), actor=actor())
    except ServiceError as exc:
        return _examiners_page(exc, form, exc.status)
    flash(_("Examiner card recorded."))
    return redirect(url_for("grading.list_examiners"))
