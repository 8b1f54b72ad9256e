"""Pages of people and supervision: the regulator's registries and draws, inspection plans and
credit grades; the supervisor's checklist; the public page of published inspection results."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from examsvc.accounts.models import User
from examsvc.auth import Permission, permission_required
from examsvc.db import get_session, unit_of_work
from examsvc.errors import NotFound, ServiceError
from examsvc.institutions.models import Institution
from examsvc.sessions.models import ExamSession
from examsvc.supervision import credit, draws, inspections, registry
from examsvc.supervision.people_models import Draw
from examsvc.supervision.routes import _message, _zh, parse_date, parse_int

bp = Blueprint("people", __name__)


def init_app(app: Flask) -> None:
    credit.check_settings(app.config)
    app.register_blueprint(bp)


def _actor() -> Any:
    return current_user._get_current_object()


def _names() -> dict[str, Any]:
    zh = _zh()
    session = get_session()
    return {
        "checklist": {k: (v[0] if zh else v[1]) for k, v in inspections.CHECKLIST.items()},
        "kind_names": {"routine": _("Routine inspection"), "special": _("Special inspection")},
        "institution_names": dict(session.execute(select(Institution.id, Institution.name)).all()),
        "user_names": dict(session.execute(select(User.id, User.display_name)).all()),
        "jurisdictions": registry.JURISDICTIONS,
    }


# --- registries and draws ------------------------------------------------------------------------

def _people_page(error: ServiceError | None = None, status: int = 200, form: Any = None) -> Any:
    session = get_session()
    return render_template("supervision/people/people.html", cards=registry.supervisor_cards(session),
                           settings=registry.registry_settings(session), session_draws=draws.session_draws(session),
                           rerun=draws.rerun_draw, error=error, message=_message(error) if error else None,
                           form=form or {}, **_names()), status


@bp.route("/supervision/people")
@permission_required(Permission.REGULATE)
def people() -> Any:
    return _people_page()


@bp.route("/supervision/people/cards", methods=["POST"])
@permission_required(Permission.REGULATE)
def register_card() -> Any:
    form = request.form
    try:
        with unit_of_work() as session:
            holder = session.scalar(select(User).where(User.username == form.get("username", "").strip()))
            if holder is None:
                raise NotFound("用户不存在", "no such user", field="username")
            registry.register_supervisor_card(session, holder=holder, card_number=form.get("card_number", ""),
                                              valid_from=parse_date(form.get("valid_from"), "valid_from"),
                                              valid_until=parse_date(form.get("valid_until"), "valid_until"),
                                              jurisdiction=form.get("jurisdiction", ""),
                                              training_note=form.get("training_note", ""), actor=_actor())
    except ServiceError as exc:
        return _people_page(exc, exc.status, form)
    flash(_("Supervisor card registered."))
    return redirect(url_for("people.people"))


@bp.route("/supervision/people/registry", methods=["POST"])
@permission_required(Permission.REGULATE)
def switch_registry() -> Any:
    try:
        with unit_of_work() as session:
            registry.set_examiner_registry(session, request.form.get("jurisdiction", ""),
                                           request.form.get("on") == "1", _actor())
    except ServiceError as exc:
        return _people_page(exc, exc.status)
    flash(_("Examiner registry setting saved."))
    return redirect(url_for("people.people"))


@bp.route("/supervision/people/dispatch", methods=["POST"])
@permission_required(Permission.REGULATE)
def dispatch() -> Any:
    form = request.form
    try:
        with unit_of_work() as session:
            exam_session = session.get(ExamSession, parse_int(form.get("session_id"), "session_id"))
            if exam_session is None:
                raise NotFound("场次不存在", "no such session", field="session_id")
            row = draws.dispatch_to_session(session, exam_session, parse_int(form.get("k"), "k"),
                                            form.get("seed") or None, _actor())
    except ServiceError as exc:
        return _people_page(exc, exc.status, form)
    flash(_("Supervisors drawn with seed %(seed)s.", seed=row.seed))
    return redirect(url_for("people.people"))


# --- inspections -----------------------------------------------------------------------------

def _plans_page(error: ServiceError | None = None, status: int = 200, form: Any = None) -> Any:
    return render_template("supervision/people/plans.html", plans=inspections.list_plans(get_session()), error=error,
                           message=_message(error) if error else None, form=form or {}, **_names()), status


@bp.route("/supervision/inspections")
@permission_required(Permission.REGULATE)
def plans() -> Any:
    return _plans_page()


@bp.route("/supervision/inspections", methods=["POST"])
@permission_required(Permission.REGULATE)
def create_plan() -> Any:
    form = request.form
    try:
        with unit_of_work() as session:
            plan = inspections.create_plan(session, title=form.get("title", ""), kind=form.get("kind", ""),
                                           institution_count=parse_int(form.get("institution_count"), "institution_count"),
                                           team_size=parse_int(form.get("team_size"), "team_size"),
                                           matters=form.get("matters", ""), jurisdiction=form.get("jurisdiction", ""),
                                           seed=form.get("seed") or None, weighted=form.get("weighted") == "1",
                                           actor=_actor())
    except ServiceError as exc:
        return _plans_page(exc, exc.status, form)
    return redirect(url_for("people.show_plan", plan_id=plan.id))


def _plan_page(plan_id: int, error: ServiceError | None = None, status: int = 200) -> Any:
    session = get_session()
    plan = inspections.get_plan(session, plan_id)
    institutions, team = inspections.plan_draws(session, plan)
    return render_template("supervision/people/plan.html", plan=plan, institutions=institutions, team=team,
                           findings=inspections.plan_findings(session, plan), rerun=draws.rerun_draw, error=error,
                           message=_message(error) if error else None, **_names()), status


@bp.route("/supervision/inspections/<int:plan_id>")
@permission_required(Permission.REGULATE)
def show_plan(plan_id: int) -> Any:
    return _plan_page(plan_id)


@bp.route("/supervision/inspections/<int:plan_id>/publish", methods=["POST"])
@permission_required(Permission.REGULATE)
def publish_plan(plan_id: int) -> Any:
    try:
        with unit_of_work() as session:
            inspections.publish_plan(session, inspections.get_plan(session, plan_id), request.form.get("summary", ""),
                                     _actor())
    except ServiceError as exc:
        if isinstance(exc, NotFound):
            raise
        return _plan_page(plan_id, exc, exc.status)
    flash(_("Inspection results published."))
    return redirect(url_for("people.show_plan", plan_id=plan_id))


@bp.route("/supervision/credit")
@permission_required(Permission.REGULATE)
def credit_grades() -> Any:
    session = get_session()
    return render_template("supervision/people/credit.html", rows=credit.credit_table(session, current_app.config),
                           overdue=credit.overdue(session, current_app.config), config=current_app.config, **_names())


# --- the supervisor's checklist ----------------------------------------------------------------

def _mine_page(error: ServiceError | None = None, status: int = 200, form: Any = None) -> Any:
    session = get_session()
    mine = [d for d in session.scalars(select(Draw).where(Draw.kind == "supervisors").order_by(Draw.id.desc()))
            if current_user.id in d.result]
    plan_of = {p.team_draw_id: p for p in inspections.list_plans(session)}
    return render_template("supervision/people/mine.html", mine=mine, plan_of=plan_of,
                           findings=inspections.findings_of(session, supervisor_id=current_user.id), error=error,
                           message=_message(error) if error else None, form=form or {}, **_names()), status


@bp.route("/supervision/my-findings")
@permission_required(Permission.SESSION_SUPERVISE)
def my_findings() -> Any:
    return _mine_page()


@bp.route("/supervision/my-findings", methods=["POST"])
@permission_required(Permission.SESSION_SUPERVISE)
def file_finding() -> Any:
    form = request.form
    items = {key: {"ok": form.get(f"{key}_ok") == "1" if form.get(f"{key}_ok") in {"0", "1"} else None,
                   "note": form.get(f"{key}_note", "")} for key in inspections.CHECKLIST}
    try:
        with unit_of_work() as session:
            exam_session = session.get(ExamSession, parse_int(form.get("session_id"), "session_id"))
            if exam_session is None:
                raise NotFound("场次不存在", "no such session", field="session_id")
            plan_id = (form.get("plan_id") or "").strip()
            plan = inspections.get_plan(session, parse_int(plan_id, "plan_id")) if plan_id else None
            inspections.file_finding(session, exam_session=exam_session, items=items, plan=plan, actor=_actor())
    except ServiceError as exc:
        return _mine_page(exc, exc.status, form)
    flash(_("Findings filed."))
    return redirect(url_for("people.my_findings"))


# --- public --------------------------------------------------------------------------------------

@bp.route("/supervision/findings")
def public_findings() -> Any:
    """Published inspection results (一公开): plans, their draws and the findings, for anyone."""
    session = get_session()
    published = []
    for plan in inspections.list_plans(session, published_only=True):
        institutions, team = inspections.plan_draws(session, plan)
        published.append((plan, institutions, team, inspections.plan_findings(session, plan)))
    return render_template("supervision/people/public.html", published=published, **_names())
