"""The certificates JSON API under ``/api/v1/certificates``.

Institution admins (INSTITUTION_MANAGE) issue, list, download and export their own;
regulators (REGULATE) use ``/regulator/…`` to list and export every institution's and to void;
``/verify`` is public and rate limited.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from examsvc.auth import Permission, permission_required, require_permission
from examsvc.certificates import export, register, service
from examsvc.certificates.models import VOID_REASONS, Certificate
from examsvc.certificates.routes import certificate_for, export_download, export_filters, national_download, narrowed, \
    pdf_response
from examsvc.certificates.verification import verification_url
from examsvc.certificates.verify_routes import lookup
from examsvc.db import get_session, unit_of_work
from examsvc.errors import NotFound
from examsvc.grading.models import PassRecord
from examsvc.sessions.service import get_session_row
from itembank.levels import parse_level

bp = Blueprint("api_certificates", __name__, url_prefix="/certificates",
               description="Certificates (职业技能等级证书): issue, list, export, void, verify")


class VoidSchema(Schema):
    voided_on = fields.Date()
    reason_category = fields.String()
    reason = fields.String()
    case_reference = fields.String(allow_none=True)


class CertificateSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    pass_record_id = fields.Integer()
    institution_id = fields.Integer()
    institution_code = fields.String()
    institution_name = fields.String()
    occupation_code = fields.String()
    occupation_name = fields.String()
    work_type = fields.Function(lambda c: c.work_type or "--")
    level = fields.String()
    level_name = fields.Function(lambda c: parse_level(c.level).name_zh)
    name = fields.String()
    id_type = fields.String()
    id_masked = fields.String()
    scores = fields.Dict()
    issued_on = fields.Date()
    issued_at = fields.DateTime()
    status = fields.Function(lambda c: "void" if c.is_void else "valid")
    void = fields.Nested(VoidSchema, allow_none=True)
    verify_url = fields.Function(lambda c: verification_url(current_app.config["PUBLIC_BASE_URL"], c.number))


class PageSchema(Schema):
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    certificates = fields.List(fields.Nested(CertificateSchema))


class ListQuery(Schema):
    institution_id = fields.Integer(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(["valid", "void"]))
    search = fields.String(load_default=None, validate=validate.Length(max=40))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class IssueSchema(Schema):
    pass_record_id = fields.Integer(required=True)


class IssueSessionSchema(Schema):
    session_id = fields.Integer(required=True)


class IssuedCertificateSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    pass_record_id = fields.Integer()


class IssuedSchema(Schema):
    count = fields.Integer()
    certificates = fields.List(fields.Nested(IssuedCertificateSchema))


class VoidRequest(Schema):
    reason_category = fields.String(required=True, validate=validate.OneOf(list(VOID_REASONS)))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    case_reference = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100), metadata={
        "description": "required: the reference (JG-…) of an open supervision case of your jurisdiction against the "
                       "certificate's holder or institution"})


class ExportQuery(Schema):
    format = fields.String(load_default="xlsx", validate=validate.OneOf(["csv", "xlsx"]))
    institution_id = fields.Integer(load_default=None)
    issued_from = fields.Date(load_default=None)
    issued_to = fields.Date(load_default=None)


class ProblemSchema(Schema):
    subject = fields.String()
    field = fields.String()
    message = fields.String()
    message_en = fields.String()


class ReportSchema(Schema):
    checked = fields.Integer()
    issued = fields.Integer()
    revoked = fields.Integer()
    held_back = fields.Integer()
    problems = fields.List(fields.Nested(ProblemSchema))


class VerifyQuery(Schema):
    number = fields.String(required=True, validate=validate.Length(min=1, max=40))
    name = fields.String(load_default=None, validate=validate.Length(max=100))
    n = fields.String(load_default=None, validate=validate.Length(max=64), metadata={"description": "QR check code"})


class VerificationSchema(Schema):
    outcome = fields.String(metadata={"description": "valid | void | not_found"})
    number = fields.String()
    name = fields.String()
    id_masked = fields.String()
    occupation_code = fields.String()
    occupation_name = fields.String()
    work_type = fields.String()
    level = fields.String()
    level_en = fields.String()
    institution_name = fields.String()
    issued_on = fields.String(allow_none=True)
    voided_on = fields.String(allow_none=True)
    void_reason = fields.String()
    void_reason_zh = fields.String()
    void_reason_en = fields.String()


def _user() -> Any:
    return current_user._get_current_object()


def _page(audience: str, query: dict[str, Any]) -> Any:
    allowed = narrowed(audience, query["institution_id"])
    return service.list_certificates(get_session(), allowed, status=query["status"], search=query["search"],
                                     page=query["page"], per_page=query["per_page"])


# --- institution admins -----------------------------------------------------------------------

@bp.route("")
class Certificates(MethodView):
    @bp.arguments(ListQuery, location="query")
    @bp.response(200, PageSchema)
    @permission_required(Permission.INSTITUTION_MANAGE)
    def get(self, query: dict[str, Any]) -> Any:
        """Certificates of the institutions you manage, newest first."""
        return _page("institution", query)

    @bp.arguments(IssueSchema)
    @bp.response(201, CertificateSchema)
    @permission_required(Permission.INSTITUTION_MANAGE)
    def post(self, body: dict[str, Any]) -> Certificate:
        """Issue the certificate of one confirmed pass (refused for a fail or a second issue)."""
        with unit_of_work() as session:
            pass_record = session.get(PassRecord, body["pass_record_id"])
            if pass_record is None:
                raise NotFound(f"合格记录 {body['pass_record_id']} 不存在", f"pass record {body['pass_record_id']} not found",
                               field="pass_record_id")
            require_permission(current_user, Permission.INSTITUTION_MANAGE, pass_record.institution_id)
            return service.issue_certificate(session, pass_record, _user())


@bp.route("/issue-session")
class IssueSession(MethodView):
    @bp.arguments(IssueSessionSchema)
    @bp.response(201, IssuedSchema)
    @permission_required(Permission.INSTITUTION_MANAGE)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Issue every pending certificate of a session with confirmed results, all or nothing."""
        with unit_of_work() as session:
            exam_session = get_session_row(session, body["session_id"])
            require_permission(current_user, Permission.INSTITUTION_MANAGE, exam_session.institution_id)
            issued = service.issue_for_session(session, exam_session, _user())
        return {"count": len(issued), "certificates": issued}


@bp.route("/<int:certificate_id>")
class CertificateById(MethodView):
    @bp.response(200, CertificateSchema)
    @permission_required(Permission.INSTITUTION_MANAGE)
    def get(self, certificate_id: int) -> Certificate:
        """One certificate of an institution you manage (the ID number masked)."""
        return certificate_for("institution", certificate_id)


@bp.route("/<int:certificate_id>/pdf")
class CertificatePdf(MethodView):
    @bp.response(200, {"format": "binary", "type": "string"}, content_type="application/pdf")
    @permission_required(Permission.INSTITUTION_MANAGE)
    def get(self, certificate_id: int) -> Any:
        """The certificate as an A4 PDF (prints the full ID number; audited)."""
        return pdf_response(certificate_id)


def _report(audience: str, query: dict[str, Any]) -> export.ExportReport:
    ids = export_filters(audience, query["institution_id"], query["issued_from"], query["issued_to"])
    return register.masked_export(get_session(), ids, issued_from=query["issued_from"], issued_to=query["issued_to"])


def _file(audience: str, query: dict[str, Any]) -> Any:
    return export_download(audience, query["format"], query["institution_id"], query["issued_from"], query["issued_to"])


@bp.route("/export/check")
class ExportCheck(MethodView):
    @bp.arguments(ExportQuery, location="query")
    @bp.response(200, ReportSchema)
    @permission_required(Permission.INSTITUTION_MANAGE)
    def get(self, query: dict[str, Any]) -> Any:
        """Check the export of your institutions' certificate data without downloading it."""
        return _report("institution", query)


@bp.route("/export")
class Export(MethodView):
    @bp.arguments(ExportQuery, location="query")
    @bp.response(200, {"format": "binary", "type": "string"}, content_type="application/octet-stream")
    @permission_required(Permission.INSTITUTION_MANAGE)
    def get(self, query: dict[str, Any]) -> Any:
        """Certificate data of your institutions as Excel or CSV; records with problems are held back
        (their count is in the ``X-Held-Back`` header). Audited."""
        return _file("institution", query)


# --- regulators -------------------------------------------------------------------------------

@bp.route("/regulator")
class RegulatorCertificates(MethodView):
    @bp.arguments(ListQuery, location="query")
    @bp.response(200, PageSchema)
    @permission_required(Permission.REGULATE)
    def get(self, query: dict[str, Any]) -> Any:
        """Certificates of every institution you supervise, newest first."""
        return _page("regulator", query)


@bp.route("/regulator/<int:certificate_id>")
class RegulatorCertificateById(MethodView):
    @bp.response(200, CertificateSchema)
    @permission_required(Permission.REGULATE)
    def get(self, certificate_id: int) -> Certificate:
        """One certificate, with its void decision if any."""
        return certificate_for("regulator", certificate_id)


@bp.route("/regulator/<int:certificate_id>/void")
class VoidCertificate(MethodView):
    @bp.arguments(VoidRequest)
    @bp.response(200, CertificateSchema)
    @permission_required(Permission.REGULATE)
    def post(self, body: dict[str, Any], certificate_id: int) -> Certificate:
        """Declare a certificate void with a reason; adds a revocation record to the upload data."""
        with unit_of_work() as session:
            certificate = certificate_for("regulator", certificate_id)
            service.void_certificate(session, certificate, reason_category=body["reason_category"],
                                     reason=body["reason"], case_reference=body["case_reference"], actor=_user())
        return certificate


@bp.route("/regulator/export/check")
class RegulatorExportCheck(MethodView):
    @bp.arguments(ExportQuery, location="query")
    @bp.response(200, ReportSchema)
    @permission_required(Permission.REGULATE)
    def get(self, query: dict[str, Any]) -> Any:
        """Check the export of the certificate data you supervise without downloading it."""
        return _report("regulator", query)


@bp.route("/regulator/export")
class RegulatorExport(MethodView):
    @bp.arguments(ExportQuery, location="query")
    @bp.response(200, {"format": "binary", "type": "string"}, content_type="application/octet-stream")
    @permission_required(Permission.REGULATE)
    def get(self, query: dict[str, Any]) -> Any:
        """Certificate data of the institutions you supervise as Excel or CSV, ID numbers masked. Audited."""
        return _file("regulator", query)


class NationalQuery(Schema):
    format = fields.String(load_default="xlsx", validate=validate.OneOf(["csv", "xlsx"]))
    issued_from = fields.Date(load_default=None)
    issued_to = fields.Date(load_default=None)


@bp.route("/regulator/national-upload")
class NationalUpload(MethodView):
    @bp.arguments(NationalQuery, location="query")
    @bp.response(200, {"format": "binary", "type": "string"}, content_type="application/octet-stream")
    @permission_required(Permission.REGULATE)
    def get(self, query: dict[str, Any]) -> Any:
        """The region only: the accepted certificate data for the national platform, full ID numbers. Audited."""
        return national_download(query["format"], query["issued_from"], query["issued_to"])


# --- the public ---------------------------------------------------------------------------------

@bp.route("/verify")
class VerifyCertificate(MethodView):
    @bp.arguments(VerifyQuery, location="query")
    @bp.response(200, VerificationSchema)
    @bp.alt_response(429, description="too many look-ups from this address")
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Public: valid / void (with the date and reason category) / not found, by number plus the
        holder's name or the QR check code ``n``. Shows the ID number masked. Rate limited."""
        return lookup(query["number"], name=query["name"], tag=query["n"]).as_dict()
