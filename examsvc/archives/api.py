"""The archives JSON API under ``/api/v1/archives``: session archive packages and certificate data
batches (institution admins submit; regulators check, forward and accept)."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from examsvc.archives.package import verify_package
from examsvc.archives.routes import archive_download
from examsvc.auth import Permission, permission_required, permitted_institutions, require_permission
from examsvc.certificates import batches
from examsvc.db import get_session, unit_of_work
from examsvc.errors import NotFound, ValidationFailed
from examsvc.institutions.jurisdiction import visible_jurisdictions
from examsvc.institutions.models import Institution

bp = Blueprint("api_archives", __name__, url_prefix="/archives",
               description="Archives (档案) and certificate data batches (证书数据报送)")


class CertificateBatchSchema(Schema):
    id = fields.Integer()
    institution_id = fields.Integer()
    league_city = fields.String(allow_none=True)
    period_from = fields.String()
    period_to = fields.String()
    status = fields.String()
    issued = fields.Integer()
    revoked = fields.Integer()
    problems = fields.List(fields.Dict())
    note = fields.String()
    submitted_at = fields.String()
    checked_at = fields.String(allow_none=True)
    accepted_at = fields.String(allow_none=True)
    records = fields.List(fields.Dict())


class BatchSubmitSchema(Schema):
    institution_id = fields.Integer(required=True)
    period_from = fields.Date(required=True)
    period_to = fields.Date(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=500))


class ArchiveVerifySchema(Schema):
    ok = fields.Boolean()
    files = fields.Integer()
    manifest_hash = fields.String(allow_none=True)
    session_id = fields.Integer(allow_none=True)
    problems = fields.List(fields.Dict())


def _actor() -> Any:
    return current_user._get_current_object()


@bp.route("/sessions/<int:session_id>")
class SessionArchive(MethodView):
    @bp.response(200, {"format": "binary", "type": "string"}, content_type="application/zip")
    @permission_required(Permission.INSTITUTION_MANAGE)
    def get(self, session_id: int) -> Any:
        """The session's archive package (zip), for an admin of its institution."""
        return archive_download(session_id, Permission.INSTITUTION_MANAGE)


@bp.route("/regulator/sessions/<int:session_id>")
class RegulatorSessionArchive(MethodView):
    @bp.response(200, {"format": "binary", "type": "string"}, content_type="application/zip")
    @permission_required(Permission.REGULATE)
    def get(self, session_id: int) -> Any:
        """Any session's archive package (zip), for regulators."""
        return archive_download(session_id, Permission.REGULATE)


@bp.route("/verify")
class VerifyArchive(MethodView):
    @bp.response(200, ArchiveVerifySchema)
    @permission_required(Permission.REGULATE)
    def post(self) -> dict[str, Any]:
        """Verify an uploaded package (multipart field ``package``): every changed, missing or extra file."""
        upload = request.files.get("package")
        if upload is None:
            raise ValidationFailed("请上传档案包", "upload the package as the multipart field 'package'",
                                   field="package")
        report = verify_package(upload.read())
        return {"ok": report.ok, "files": report.files, "manifest_hash": report.manifest.get("manifest_hash"),
                "session_id": report.manifest.get("session_id"),
                "problems": [{"file": name, "problem": problem} for name, problem in report.problems]}


@bp.route("/certificate-batches")
class Batches(MethodView):
    @bp.response(200, CertificateBatchSchema(many=True))
    @permission_required(Permission.INSTITUTION_MANAGE)
    def get(self) -> list[dict[str, Any]]:
        """The batches of the institutions you manage."""
        allowed = permitted_institutions(current_user, Permission.INSTITUTION_MANAGE)
        return [batches.batch_dict(b) for b in batches.list_batches(get_session(), allowed)]

    @bp.arguments(BatchSubmitSchema)
    @bp.response(201, CertificateBatchSchema)
    @permission_required(Permission.INSTITUTION_MANAGE)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Submit the period's certificate data to the league/city regulator."""
        require_permission(current_user, Permission.INSTITUTION_MANAGE, body["institution_id"])
        with unit_of_work() as session:
            institution = session.get(Institution, body["institution_id"])
            if institution is None:
                raise NotFound("机构不存在", "no such institution", field="institution_id")
            batch = batches.submit_batch(session, institution, body["period_from"], body["period_to"], _actor(),
                                         note=body["note"])
            return batches.batch_dict(batch)


@bp.route("/regulator/certificate-batches")
class RegulatorBatches(MethodView):
    @bp.response(200, CertificateBatchSchema(many=True))
    @permission_required(Permission.REGULATE)
    def get(self) -> list[dict[str, Any]]:
        """Every institution's batches (``?status=``)."""
        return [batches.batch_dict(b) for b in batches.list_batches(get_session(), None, request.args.get("status"),
                                                                    visible_jurisdictions(current_user))]


def _decide(batch_id: int, step: Any) -> dict[str, Any]:
    with unit_of_work() as session:
        batch = batches.get_batch(session, batch_id)
        step(session, batch, _actor())
        return batches.batch_dict(batch)


@bp.route("/regulator/certificate-batches/<int:batch_id>/review")
class ReviewBatch(MethodView):
    @bp.response(200, CertificateBatchSchema)
    @permission_required(Permission.REGULATE)
    def post(self, batch_id: int) -> dict[str, Any]:
        """Run the checks: a batch with problems is returned with them, a clean one forwarded to the region."""
        return _decide(batch_id, batches.review_batch)


@bp.route("/regulator/certificate-batches/<int:batch_id>/accept")
class AcceptBatch(MethodView):
    @bp.response(200, CertificateBatchSchema)
    @permission_required(Permission.REGULATE)
    def post(self, batch_id: int) -> dict[str, Any]:
        """The region accepts a forwarded batch."""
        return _decide(batch_id, batches.accept_batch)
