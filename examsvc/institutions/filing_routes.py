"""Filing pages: the public directory (no sign-in) and the regulator's workspace for applications,
publication batches, renewals, change requests, site filings, stop orders and bank audits."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from examsvc import clock
from examsvc.auth import Permission, permission_required
from examsvc.db import get_session, unit_of_work
from examsvc.errors import Forbidden, NotFound, ServiceError, ValidationFailed
from examsvc.institutions import filing, orders
from examsvc.institutions.bank_audit import EXPOSURE_PAPERS, STALENESS_SESSIONS, audit_institution
from examsvc.institutions.filing_models import (
    ChangeRequest, FilingApplication, FilingAttachment, FilingBatch, FilingObjection,
)
from examsvc.institutions.models import Institution
from examsvc.institutions.regions import LEAGUES_AND_CITIES

bp = Blueprint("filing", __name__, url_prefix="/filing")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def _actor() -> Any:
    return current_user._get_current_object()


def _date(name: str) -> date:
    try:
        return date.fromisoformat(request.form.get(name, ""))
    except ValueError:
        raise ValidationFailed("日期格式应为 YYYY-MM-DD", "a date must be YYYY-MM-DD", field=name) from None


def _institution(institution_id: int) -> Institution:
    institution = get_session().get(Institution, institution_id)
    if institution is None:
        raise NotFound(f"评价机构 {institution_id} 不存在", f"institution {institution_id} not found")
    return institution


def audit_options() -> dict[str, int]:
    return {"exposure_papers": int(current_app.config.get("BANK_AUDIT_EXPOSURE_PAPERS", EXPOSURE_PAPERS)),
            "staleness_sessions": int(current_app.config.get("BANK_AUDIT_STALENESS_SESSIONS", STALENESS_SESSIONS))}


def _scope_lines(text: str) -> list[list[str]]:
    """``4-03-02-01 4`` per line (or comma separated)."""
    pairs = []
    for line in text.replace(",", "\n").replace("，", "\n").splitlines():
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2:
            raise ValidationFailed(f"范围行格式应为“职业编码 等级”：{line}", f"a scope line is 'occupation level': {line}",
                                   field="scope")
        pairs.append(parts)
    return pairs


def _done(message: str, target: str) -> Any:
    flash(message)
    return redirect(target)


# --- public ------------------------------------------------------------------------------------

@bp.route("/directory")
def directory() -> Any:
    """The public directory of filed institutions (no sign-in)."""
    return render_template("institutions/directory.html", entries=filing.directory(get_session()),
                           today=clock.now().date())


# --- regulator workspace ---------------------------------------------------------------------

@bp.route("/")
@permission_required(Permission.REGULATE)
def workspace(error: ServiceError | None = None, status: int = 200) -> Any:
    session = get_session()
    applications = session.scalars(select(FilingApplication).order_by(FilingApplication.id.desc()).limit(200)).all()
    batches = session.scalars(select(FilingBatch).order_by(FilingBatch.id.desc()).limit(50)).all()
    changes = session.scalars(select(ChangeRequest).where(ChangeRequest.status == "pending")
                              .order_by(ChangeRequest.id)).all()
    institutions = session.scalars(select(Institution).order_by(Institution.code)).all()
    return render_template("institutions/filing_workspace.html", applications=applications, batches=batches,
                           changes=changes, institutions={i.id: i for i in institutions},
                           active_orders=[o for o in orders.list_orders(session) if o.lifted_at is None],
                           error=error, form=request.form, today=clock.now().date()), status


@bp.route("/applications/new", methods=["GET", "POST"])
@permission_required(Permission.REGULATE)
def new_application() -> Any:
    error = None
    if request.method == "POST":
        try:
            with unit_of_work() as session:
                conditions = {}
                for key in filing.CONDITIONS:
                    upload = request.files.get(f"condition_{key}")
                    digest = request.form.get(f"condition_{key}_sha256", "").strip()
                    if upload is not None and upload.filename:
                        digest = filing.store_attachment(session, upload.read(), upload.filename,
                                                         upload.mimetype or "", _actor())
                    conditions[key] = {"attachment": digest, "note": request.form.get(f"condition_{key}_note", "")}
                declarations = {key: filing.NOT_APPLICABLE for key in filing.PROHIBITIONS
                                if request.form.get(f"declare_{key}") == "1"}
                application = filing.submit_application(
                    session, applicant_name=request.form.get("applicant_name", ""),
                    kind=request.form.get("kind", ""), tier=request.form.get("tier", ""),
                    league_city=request.form.get("league_city") or None,
                    scope=_scope_lines(request.form.get("scope", "")), conditions=conditions,
                    declarations=declarations, actor=_actor())
            return _done(_("Application recorded."), url_for("filing.show_application", application_id=application.id))
        except ServiceError as exc:
            error = exc
    return render_template("institutions/filing_new.html", error=error, form=request.form,
                           conditions=filing.CONDITIONS, prohibitions=filing.PROHIBITIONS,
                           leagues=LEAGUES_AND_CITIES), 422 if error else 200


@bp.route("/applications/<int:application_id>")
@permission_required(Permission.REGULATE)
def show_application(application_id: int, error: ServiceError | None = None) -> Any:
    session = get_session()
    application = filing.get_application(session, application_id)
    institution = session.get(Institution, application.institution_id) if application.institution_id else None
    never = filing.never_certified(session, institution) if institution and application.purpose == "renewal" else []
    return render_template("institutions/filing_application.html", application=application, error=error,
                           methods=filing.EVALUATION_METHODS, missing=filing.missing_methods(application),
                           conditions=filing.CONDITIONS, prohibitions=filing.PROHIBITIONS, institution=institution,
                           never_certified=never,
                           open_batches=session.scalars(select(FilingBatch).where(FilingBatch.published_at.is_(None))
                                                        .order_by(FilingBatch.id)).all()), 422 if error else 200


def _application_action(application_id: int, act: Any, message: str) -> Any:
    try:
        with unit_of_work() as session:
            act(session, filing.get_application(session, application_id))
    except (Forbidden, NotFound):
        raise
    except ServiceError as exc:
        get_session().rollback()
        return show_application(application_id, error=exc)
    return _done(message, url_for("filing.show_application", application_id=application_id))


@bp.route("/applications/<int:application_id>/evaluate", methods=["POST"])
@permission_required(Permission.REGULATE)
def evaluate(application_id: int) -> Any:
    def act(session: Any, application: FilingApplication) -> None:
        score = request.form.get("score", type=float)
        if score is None:
            raise ValidationFailed("请填写评分", "a score is required", field="score")
        filing.record_evaluation(session, application, method=request.form.get("method", ""), score=score,
                                 notes=request.form.get("notes", ""), actor=_actor())
    return _application_action(application_id, act, _("Evaluation recorded."))


@bp.route("/applications/<int:application_id>/notice", methods=["POST"])
@permission_required(Permission.REGULATE)
def notice(application_id: int) -> Any:
    return _application_action(application_id, lambda s, a: filing.start_notice(
        s, a, start=_date("start"), end=_date("end"), actor=_actor()), _("Public notice started."))


@bp.route("/applications/<int:application_id>/objections", methods=["POST"])
@permission_required(Permission.REGULATE)
def objection(application_id: int) -> Any:
    return _application_action(application_id, lambda s, a: filing.record_objection(
        s, a, raised_by=request.form.get("raised_by", ""), text=request.form.get("text", ""),
        received_on=_date("received_on"), actor=_actor()), _("Objection recorded."))


@bp.route("/applications/<int:application_id>/objections/<int:objection_id>/resolve", methods=["POST"])
@permission_required(Permission.REGULATE)
def resolve(application_id: int, objection_id: int) -> Any:
    def act(session: Any, application: FilingApplication) -> None:
        found = session.get(FilingObjection, objection_id)
        if found is None or found.application_id != application.id:
            raise NotFound(f"异议 {objection_id} 不存在", f"objection {objection_id} not found")
        filing.resolve_objection(session, found, resolution=request.form.get("resolution", ""),
                                 upheld=request.form.get("upheld") == "1", actor=_actor())
    return _application_action(application_id, act, _("Objection resolved."))


@bp.route("/applications/<int:application_id>/reject", methods=["POST"])
@permission_required(Permission.REGULATE)
def reject(application_id: int) -> Any:
    return _application_action(application_id, lambda s, a: filing.reject_application(
        s, a, reason=request.form.get("reason", ""), actor=_actor()), _("Application rejected."))


@bp.route("/applications/<int:application_id>/renew", methods=["POST"])
@permission_required(Permission.REGULATE)
def grant_renewal(application_id: int) -> Any:
    return _application_action(application_id, lambda s, a: filing.grant_renewal(
        s, a, drop_occupations=request.form.getlist("drop"), actor=_actor()), _("Filing renewed for three years."))


@bp.route("/attachments/<sha256>")
@permission_required(Permission.REGULATE)
def attachment(sha256: str) -> Any:
    import io

    found = get_session().get(FilingAttachment, sha256)
    if found is None:
        abort(404)
    return send_file(io.BytesIO(found.data), mimetype=found.media_type, download_name=found.filename)


@bp.route("/batches", methods=["POST"])
@permission_required(Permission.REGULATE)
def create_batch() -> Any:
    try:
        with unit_of_work() as session:
            filing.create_batch(session, title=request.form.get("title", ""),
                                publication_date=_date("publication_date"), actor=_actor())
    except ServiceError as exc:
        get_session().rollback()
        return workspace(error=exc, status=exc.status)
    return _done(_("Batch created."), url_for("filing.workspace"))


@bp.route("/batches/<int:batch_id>/publish", methods=["POST"])
@permission_required(Permission.REGULATE)
def publish(batch_id: int) -> Any:
    try:
        with unit_of_work() as session:
            batch = session.get(FilingBatch, batch_id)
            if batch is None:
                raise NotFound(f"批次 {batch_id} 不存在", f"batch {batch_id} not found")
            published = filing.publish_batch(session, batch, request.form.getlist("application_id", type=int),
                                             _actor())
            codes = ", ".join(i.code for i in published)
    except NotFound:
        raise
    except ServiceError as exc:
        get_session().rollback()
        return workspace(error=exc, status=exc.status)
    return _done(_("Published: %(codes)s", codes=codes), url_for("filing.workspace"))


# --- one institution -------------------------------------------------------------------------

@bp.route("/institutions/<int:institution_id>")
@permission_required(Permission.REGULATE)
def institution_page(institution_id: int, error: ServiceError | None = None) -> Any:
    session = get_session()
    institution = _institution(institution_id)
    start, end = filing.renewal_window(institution)
    return render_template(
        "institutions/filing_institution.html", institution=institution, error=error, form=request.form,
        window=(start, end), today=clock.now().date(), never_certified=filing.never_certified(session, institution),
        changes=session.scalars(select(ChangeRequest).where(ChangeRequest.institution_id == institution_id)
                                .order_by(ChangeRequest.id.desc())).all(),
        sites=filing.site_filings(session, institution),
        applications=session.scalars(select(FilingApplication).where(
            FilingApplication.institution_id == institution_id).order_by(FilingApplication.id.desc())).all(),
        stop_orders=orders.list_orders(session, institution_id), leagues=LEAGUES_AND_CITIES,
        conditions=filing.CONDITIONS, prohibitions=filing.PROHIBITIONS), 422 if error else 200


def _institution_action(institution_id: int, act: Any, message: str) -> Any:
    try:
        with unit_of_work() as session:
            act(session, _institution(institution_id))
    except (Forbidden, NotFound):
        raise
    except ServiceError as exc:
        get_session().rollback()
        return institution_page(institution_id, error=exc)
    return _done(message, url_for("filing.institution_page", institution_id=institution_id))


@bp.route("/institutions/<int:institution_id>/renewal", methods=["POST"])
@permission_required(Permission.REGULATE)
def apply_renewal(institution_id: int) -> Any:
    def act(session: Any, institution: Institution) -> None:
        conditions = {key: {"attachment": request.form.get(f"condition_{key}_sha256", "").strip()}
                      for key in filing.CONDITIONS}
        declarations = {key: filing.NOT_APPLICABLE for key in filing.PROHIBITIONS
                        if request.form.get(f"declare_{key}") == "1"}
        filing.apply_for_renewal(session, institution, conditions=conditions, declarations=declarations,
                                 actor=_actor())
    return _institution_action(institution_id, act, _("Renewal application recorded."))


@bp.route("/institutions/<int:institution_id>/changes", methods=["POST"])
@permission_required(Permission.REGULATE)
def request_change(institution_id: int) -> Any:
    def act(session: Any, institution: Institution) -> None:
        kind = request.form.get("kind", "")
        changes: dict[str, Any] = {k: request.form.get(k, "") for k in filing.BASIC_FIELDS}
        if kind == "scope":
            changes = {"add": _scope_lines(request.form.get("add", "")),
                       "remove": _scope_lines(request.form.get("remove", ""))}
        filing.request_change(session, institution, kind=kind, changes=changes, reason=request.form.get("reason", ""),
                              actor=_actor())
    return _institution_action(institution_id, act, _("Change request recorded."))


@bp.route("/institutions/<int:institution_id>/changes/<int:change_id>/decide", methods=["POST"])
@permission_required(Permission.REGULATE)
def decide_change(institution_id: int, change_id: int) -> Any:
    def act(session: Any, institution: Institution) -> None:
        change = session.get(ChangeRequest, change_id)
        if change is None or change.institution_id != institution.id:
            raise NotFound(f"变更申请 {change_id} 不存在", f"change request {change_id} not found")
        filing.decide_change(session, change, approve=request.form.get("approve") == "1",
                             note=request.form.get("note", ""), actor=_actor())
    return _institution_action(institution_id, act, _("Decision recorded."))


@bp.route("/institutions/<int:institution_id>/sites", methods=["POST"])
@permission_required(Permission.REGULATE)
def file_site(institution_id: int) -> Any:
    return _institution_action(institution_id, lambda s, i: filing.file_site(
        s, i, request.form.get("league_city", ""), _actor()), _("Site filing recorded."))


@bp.route("/institutions/<int:institution_id>/sites/revoke", methods=["POST"])
@permission_required(Permission.REGULATE)
def revoke_site(institution_id: int) -> Any:
    return _institution_action(institution_id, lambda s, i: filing.revoke_site(
        s, i, request.form.get("league_city", ""), reason=request.form.get("reason", ""), actor=_actor()),
        _("Site filing revoked."))


@bp.route("/institutions/<int:institution_id>/orders", methods=["POST"])
@permission_required(Permission.REGULATE)
def issue_order(institution_id: int) -> Any:
    return _institution_action(institution_id, lambda s, i: orders.issue_stop_order(
        s, i, reference=request.form.get("reference", ""), reason=request.form.get("reason", ""), actor=_actor(),
        blueprint_id=request.form.get("blueprint_id", type=int)), _("Stop order issued."))


@bp.route("/institutions/<int:institution_id>/orders/<int:order_id>/lift", methods=["POST"])
@permission_required(Permission.REGULATE)
def lift_order(institution_id: int, order_id: int) -> Any:
    def act(session: Any, institution: Institution) -> None:
        order = orders.get_order(session, order_id)
        if order.institution_id != institution.id:
            raise NotFound(f"责令 {order_id} 不存在", f"stop order {order_id} not found")
        orders.lift_stop_order(session, order, note=request.form.get("note", ""), actor=_actor())
    return _institution_action(institution_id, act, _("Stop order lifted."))


@bp.route("/institutions/<int:institution_id>/bank-audit")
@permission_required(Permission.REGULATE)
def bank_audit(institution_id: int) -> Any:
    session = get_session()
    institution = _institution(institution_id)
    return render_template("institutions/bank_audit.html", institution=institution,
                           audits=audit_institution(session, institution, **audit_options()), options=audit_options(),
                           active=[o for o in orders.list_orders(session, institution_id) if o.lifted_at is None])
