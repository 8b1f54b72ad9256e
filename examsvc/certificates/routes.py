"""Certificate pages: institution admins issue, list, download and export their own certificates;
regulators list and export every institution's and declare certificates void.

The two audiences have their own URLs (``/certificates/…`` needs INSTITUTION_MANAGE,
``/certificates/regulator/…`` needs REGULATE) that share the views below, so each route declares
exactly the permission that opens it. Pages show the ID number masked; only the certificate PDF
prints it in full, and every download of personal data is on the audit trail.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any, Mapping

from flask import Blueprint, Flask, current_app, flash, make_response, redirect, render_template, request, send_file, \
    url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from examsvc.app import current_locale
from examsvc.audit.service import record
from examsvc.auth import Permission, permission_required, require_permission
from examsvc.certificates import export, register, service
from examsvc.certificates.models import VOID_REASONS, Certificate
from examsvc.certificates.pdf import certificate_document, certificate_pdf
from examsvc.certificates.verification import verification_url
from examsvc.db import get_session, unit_of_work
from examsvc.errors import Forbidden, NotFound, ServiceError, ValidationFailed
from examsvc.institutions.jurisdiction import jurisdiction_of, require_covers, visible_jurisdictions
from examsvc.institutions.models import Institution
from examsvc.sessions.service import ID_TYPES, get_session_row

bp = Blueprint("certificates", __name__, url_prefix="/certificates")

#: The two audiences: the permission that opens their pages and the endpoints their links use.
AUDIENCES: dict[str, dict[str, Any]] = {
    "institution": {"permission": Permission.INSTITUTION_MANAGE, "list": "certificates.list_certificates",
                    "show": "certificates.show_certificate", "export": "certificates.export_form",
                    "export_file": "certificates.export_file"},
    "regulator": {"permission": Permission.REGULATE, "list": "certificates.regulator_list",
                  "show": "certificates.regulator_show", "export": "certificates.regulator_export_form",
                  "export_file": "certificates.regulator_export_file"},
}


def init_app(app: Flask) -> None:
    from examsvc.certificates import verify_routes

    app.register_blueprint(bp)
    verify_routes.init_app(app)


def _actor() -> Any:
    return current_user._get_current_object()


def _zh() -> bool:
    return current_locale().startswith("zh")


def pair(names: tuple[str, str]) -> str:
    """The Chinese or English one of a (zh, en) pair, by the page's language."""
    return names[0] if _zh() else names[1]


def localised(error: Any) -> str:
    return error.message if _zh() else error.message_en


@bp.context_processor
def _certificate_globals() -> dict[str, Any]:
    return {"pair": pair, "localised": localised, "void_reasons": VOID_REASONS, "id_types": ID_TYPES,
            "component_names": service.COMPONENT_NAMES,
            "field_names": {"number": _("Certificate number"), "name": _("Name"), "level": _("Level"),
                            "scores": _("Scores"), "score_ids": _("Scores"), "institution": _("Institution"),
                            "confirmed_at": _("Confirmation"), "occupation_code": _("Occupation code"),
                            "id_number": _("ID number"), "id_type": _("ID type"),
                            "institution_code": _("Institution code"), "pass_record_id": _("Pass record"),
                            "session_id": _("Exam session"), "reason": _("Reason"),
                            "reason_category": _("Reason category"), "case_reference": _("Case reference"),
                            "confirm": _("Confirmation"), "issued_from": _("From"), "issued_to": _("To")}}


def institutions_of(audience: str) -> set[int] | None:
    """Institutions whose certificates the signed-in user sees as ``audience`` (None: all); a
    league/city regulator sees its jurisdiction's (:func:`register.visible_institutions`)."""
    return register.visible_institutions(get_session(), current_user, AUDIENCES[audience]["permission"])


def certificate_for(audience: str, certificate_id: int) -> Certificate:
    """The certificate, once the user holds the audience's permission in its institution (404 before 403)."""
    certificate = service.get_certificate(get_session(), certificate_id)
    require_permission(current_user, AUDIENCES[audience]["permission"], certificate.institution_id)
    if audience == "regulator":
        register.require_regulates(get_session(), current_user, certificate)
    return certificate


def _institution_choices(audience: str) -> list[Institution]:
    query = select(Institution).order_by(Institution.code)
    allowed = institutions_of(audience)
    if allowed is not None:
        query = query.where(Institution.id.in_(allowed))
    return list(get_session().scalars(query))


# --- list and detail ------------------------------------------------------------------------------

def _list_page(audience: str) -> Any:
    chosen = request.args.get("institution_id", type=int)
    allowed = narrowed(audience, chosen)
    status = request.args.get("status") if request.args.get("status") in {"valid", "void"} else None
    page = service.list_certificates(get_session(), allowed, status=status, search=request.args.get("q"),
                                     page=request.args.get("page", 1, type=int))
    return render_template("certificates/list.html", page=page, audience=audience, views=AUDIENCES[audience],
                           institutions=_institution_choices(audience), chosen=chosen, status=status,
                           q=request.args.get("q", ""))


@bp.route("/")
@permission_required(Permission.INSTITUTION_MANAGE)
def list_certificates() -> Any:
    return _list_page("institution")


@bp.route("/regulator/")
@permission_required(Permission.REGULATE)
def regulator_list() -> Any:
    return _list_page("regulator")


def _detail_page(audience: str, certificate_id: int, error: ServiceError | None = None, status: int = 200,
                 form: Mapping[str, str] | None = None) -> Any:
    certificate = certificate_for(audience, certificate_id)
    link = verification_url(current_app.config["PUBLIC_BASE_URL"], certificate.number)
    return render_template("certificates/detail.html", certificate=certificate, audience=audience,
                           views=AUDIENCES[audience], verify_link=link, error=error, form=form or {}), status


@bp.route("/<int:certificate_id>")
@permission_required(Permission.INSTITUTION_MANAGE)
def show_certificate(certificate_id: int) -> Any:
    return _detail_page("institution", certificate_id)


@bp.route("/regulator/<int:certificate_id>")
@permission_required(Permission.REGULATE)
def regulator_show(certificate_id: int) -> Any:
    return _detail_page("regulator", certificate_id)


def pdf_response(certificate_id: int, audience: str = "institution") -> Any:
    """The certificate's PDF (it prints the full ID number: the download is audited)."""
    with unit_of_work() as session:
        certificate = certificate_for(audience, certificate_id)
        document = certificate_document(session, certificate, current_app.config["PUBLIC_BASE_URL"])
        record(session, _actor(), "certificate.pdf", certificate, {"number": certificate.number})
    response = make_response(certificate_pdf(document))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="certificate-{document.number}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<int:certificate_id>/certificate.pdf")
@permission_required(Permission.INSTITUTION_MANAGE)
def certificate_pdf_download(certificate_id: int) -> Any:
    return pdf_response(certificate_id)


# --- issuing ----------------------------------------------------------------------------------

def _issue_page(error: ServiceError | None = None, status: int = 200) -> Any:
    awaiting = service.sessions_awaiting(get_session(), institutions_of("institution"))
    return render_template("certificates/issue.html", awaiting=awaiting, error=error, audience="institution",
                           views=AUDIENCES["institution"], problems=getattr(error, "problems", [])), status


@bp.route("/issue")
@permission_required(Permission.INSTITUTION_MANAGE)
def issue_form() -> Any:
    return _issue_page()


@bp.route("/issue", methods=["POST"])
@permission_required(Permission.INSTITUTION_MANAGE)
def issue() -> Any:
    try:
        session_id = request.form.get("session_id", type=int)
        if session_id is None:
            raise ValidationFailed("请选择认定场次", "choose an exam session", field="session_id")
        if request.form.get("confirm") != "1":
            raise ValidationFailed("请勾选确认后再发证：证书一经颁发不可更改", "tick the box to confirm: an issued "
                                   "certificate never changes", field="confirm")
        with unit_of_work() as session:
            exam_session = get_session_row(session, session_id)
            require_permission(current_user, Permission.INSTITUTION_MANAGE, exam_session.institution_id)
            issued = service.issue_for_session(session, exam_session, _actor())
    except (Forbidden, NotFound):
        raise
    except ServiceError as exc:
        return _issue_page(exc, exc.status)
    flash(_("%(count)s certificates issued, numbers %(first)s to %(last)s.", count=len(issued),
            first=issued[0].number, last=issued[-1].number))
    return redirect(url_for("certificates.list_certificates"))


# --- export -----------------------------------------------------------------------------------

def _date(name: str) -> date | None:
    text = (request.args.get(name) or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(f"{name} 应为日期（YYYY-MM-DD）", f"{name} must be a date (YYYY-MM-DD)", field=name) from None


def export_filters(audience: str, institution_id: int | None, issued_from: date | None, issued_to: date | None
                   ) -> set[int] | None:
    """The institutions an export covers, after the permission check for a chosen one."""
    if issued_from and issued_to and issued_from > issued_to:
        raise ValidationFailed("起始日期晚于截止日期", "the start date is after the end date", field="issued_from")
    return narrowed(audience, institution_id)


def narrowed(audience: str, institution_id: int | None) -> set[int] | None:
    """What a list or an export covers: everything the user sees, or the one institution chosen
    after the permission and jurisdiction checks."""
    allowed = institutions_of(audience)
    if institution_id is None:
        return allowed
    require_permission(current_user, AUDIENCES[audience]["permission"], institution_id)
    if allowed is not None and institution_id not in allowed:
        institution = get_session().get(Institution, institution_id)
        if institution is None:
            raise NotFound(f"机构 {institution_id} 不存在", f"no institution {institution_id}", field="institution_id")
        require_covers(current_user, jurisdiction_of(institution), "该机构的证书", "this institution's certificates")
    return {institution_id}


def _export_page(audience: str) -> Any:
    report, error, status = None, None, 200
    if request.args.get("check"):
        try:
            ids = export_filters(audience, request.args.get("institution_id", type=int), _date("issued_from"),
                                 _date("issued_to"))
            report = register.masked_export(get_session(), ids, issued_from=_date("issued_from"),
                                            issued_to=_date("issued_to"))
        except Forbidden:
            raise
        except ServiceError as exc:
            error, status = exc, exc.status
    national = audience == "regulator" and visible_jurisdictions(current_user) is None
    return render_template("certificates/export.html", audience=audience, views=AUDIENCES[audience], report=report,
                           error=error, institutions=_institution_choices(audience), args=request.args,
                           national=national), status


def export_download(audience: str, fmt: str, institution_id: int | None, issued_from: date | None,
                    issued_to: date | None) -> Any:
    """Build, check, audit and send the export file, ID numbers masked (shared by the pages and the API)."""
    if fmt not in {"csv", "xlsx"}:
        raise ValidationFailed("格式应为 csv 或 xlsx", "format must be csv or xlsx", field="format")
    with unit_of_work() as session:
        ids = export_filters(audience, institution_id, issued_from, issued_to)
        report = register.masked_export(session, ids, issued_from=issued_from, issued_to=issued_to)
        export.record_export(session, _actor(), report, fmt, ids, issued_from, issued_to)
    return _send_export(report, fmt, issued_from, issued_to)


def national_download(fmt: str, issued_from: date | None, issued_to: date | None) -> Any:
    """The region's national upload file (accepted batches, full ID numbers), audited."""
    if fmt not in {"csv", "xlsx"}:
        raise ValidationFailed("格式应为 csv 或 xlsx", "format must be csv or xlsx", field="format")
    if issued_from and issued_to and issued_from > issued_to:
        raise ValidationFailed("起始日期晚于截止日期", "the start date is after the end date", field="issued_from")
    with unit_of_work() as session:
        report = register.national_upload(session, _actor(), issued_from=issued_from, issued_to=issued_to)
        export.record_export(session, _actor(), report, fmt, None, issued_from, issued_to, full_ids=True)
    return _send_export(report, fmt, issued_from, issued_to, "national-upload")


def _send_export(report: export.ExportReport, fmt: str, issued_from: date | None, issued_to: date | None,
                 stem: str = "certificates") -> Any:
    data = export.export_csv(report) if fmt == "csv" else export.export_xlsx(report)
    mimetype = "text/csv" if fmt == "csv" else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    period = "-".join(d.isoformat() for d in (issued_from, issued_to) if d) or "all"
    response = send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True,
                         download_name=f"{stem}-{period}.{fmt}")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Held-Back"] = str(report.held_back)
    return response


def _export_file(audience: str) -> Any:
    return export_download(audience, request.args.get("format", "xlsx"), request.args.get("institution_id", type=int),
                           _date("issued_from"), _date("issued_to"))


@bp.route("/export")
@permission_required(Permission.INSTITUTION_MANAGE)
def export_form() -> Any:
    return _export_page("institution")


@bp.route("/export/file")
@permission_required(Permission.INSTITUTION_MANAGE)
def export_file() -> Any:
    return _export_file("institution")


@bp.route("/regulator/export")
@permission_required(Permission.REGULATE)
def regulator_export_form() -> Any:
    return _export_page("regulator")


@bp.route("/regulator/export/file")
@permission_required(Permission.REGULATE)
def regulator_export_file() -> Any:
    return _export_file("regulator")


@bp.route("/regulator/national-upload/file")
@permission_required(Permission.REGULATE)
def national_upload_file() -> Any:
    """The region only (the service refuses a league/city)."""
    return national_download(request.args.get("format", "xlsx"), _date("issued_from"), _date("issued_to"))


# --- voiding ----------------------------------------------------------------------------------

@bp.route("/regulator/<int:certificate_id>/void", methods=["POST"])
@permission_required(Permission.REGULATE)
def void(certificate_id: int) -> Any:
    try:
        if request.form.get("confirm") != "1":
            raise ValidationFailed("请勾选确认：作废决定不可撤回", "tick the box to confirm: voiding cannot be undone",
                                   field="confirm")
        with unit_of_work() as session:
            certificate = certificate_for("regulator", certificate_id)
            service.void_certificate(session, certificate, reason_category=request.form.get("reason_category", ""),
                                     reason=request.form.get("reason", ""),
                                     case_reference=request.form.get("case_reference"), actor=_actor())
    except (Forbidden, NotFound) as exc:
        if exc.field == "case_reference":  # a case of another jurisdiction: say so on the form
            return _detail_page("regulator", certificate_id, exc, exc.status, request.form)
        raise
    except ServiceError as exc:
        return _detail_page("regulator", certificate_id, exc, exc.status, request.form)
    flash(_("The certificate is declared void; a revocation record was added to the upload data."))
    return redirect(url_for("certificates.regulator_show", certificate_id=certificate_id))
