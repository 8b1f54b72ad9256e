"""The item bank's JSON API: blueprints, items, versions, transitions, checks, import jobs."""

from __future__ import annotations

from typing import Any

import io

from flask import current_app, send_file
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from examsvc.auth import Permission, permission_required
from examsvc.bank import imports, service
from examsvc.bank.coverage import coverage
from examsvc.bank.models import ExamBlueprint, Item, ItemVersion
from examsvc.db import get_session, unit_of_work
from examsvc.errors import NotFound, ValidationFailed
from itembank.blueprint import BlueprintError

bp = Blueprint("api_bank", __name__, url_prefix="/bank", description="Item bank (题库)")


def _user() -> Any:
    return current_user._get_current_object()


# --- schemas --------------------------------------------------------------------------------

class FindingSchema(Schema):
    rule = fields.String()
    severity = fields.String()
    field = fields.String()
    message = fields.String()
    message_en = fields.String()


class BlueprintSummarySchema(Schema):
    id = fields.Integer()
    occupation_code = fields.String()
    level = fields.String()
    component = fields.String()
    title = fields.String()
    latest_version = fields.Function(lambda b: b.latest.number)
    content_hash = fields.Function(lambda b: b.latest.content_hash)


class BlueprintDetailSchema(BlueprintSummarySchema):
    data = fields.Function(lambda b: b.latest.data)


class VersionSchema(Schema):
    id = fields.Integer()
    number = fields.Integer()
    parent_number = fields.Integer(allow_none=True)
    author_id = fields.Integer()
    created_at = fields.DateTime()
    status = fields.String()
    content_hash = fields.String()
    content = fields.Dict()
    acknowledged_warnings = fields.List(fields.String())
    reviews = fields.Function(lambda v: [{"reviewer_id": r.reviewer_id, "decision": r.decision, "comments": r.comments,
                                          "created_at": r.created_at.isoformat()} for r in v.reviews])


class ItemSchema(Schema):
    id = fields.Integer()
    blueprint_id = fields.Integer()
    element_code = fields.String()
    type = fields.String()
    created_by = fields.Integer()
    retired_at = fields.DateTime(allow_none=True)
    versions = fields.List(fields.Nested(VersionSchema))


class ItemListQuery(Schema):
    blueprint_id = fields.Integer(load_default=None)
    element = fields.String(load_default=None)
    type = fields.String(load_default=None)
    status = fields.String(load_default=None)
    author_id = fields.Integer(load_default=None)
    language = fields.String(load_default=None, validate=validate.OneOf(["zh", "mn"]))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))


class ItemCreateSchema(Schema):
    blueprint_id = fields.Integer(required=True)
    content = fields.Dict(required=True)


class ItemSaveSchema(Schema):
    content = fields.Dict(required=True)


class CheckSchema(Schema):
    blueprint_id = fields.Integer(required=True)
    content = fields.Dict(required=True)


class SubmitSchema(Schema):
    acknowledged = fields.List(fields.String(), load_default=list)


class ReviewSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["approve", "return"]))
    comments = fields.String(load_default="", validate=validate.Length(max=4000))


class RetireSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class DiffQuery(Schema):
    a = fields.Integer(required=True)
    b = fields.Integer(required=True)


class ChangeSchema(Schema):
    field = fields.String()
    old = fields.Raw(allow_none=True)
    new = fields.Raw(allow_none=True)


class ImportUploadSchema(Schema):
    blueprint_id = fields.Integer(required=True)
    format = fields.String(required=True, validate=validate.OneOf(["excel", "qti", "moodle_xml", "gift"]))
    default_element_code = fields.String(load_default="")


class FileSchema(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class ImportJobSchema(Schema):
    id = fields.Integer()
    blueprint_id = fields.Integer()
    format = fields.String()
    filename = fields.String()
    status = fields.String()
    rows_valid = fields.Integer()
    rows_invalid = fields.Integer()
    imported = fields.Integer()
    report = fields.Dict()


class ConfirmSchema(Schema):
    valid_rows_only = fields.Boolean(load_default=False)


class EnemyGroupSchema(Schema):
    item_ids = fields.List(fields.Integer(), required=True, validate=validate.Length(min=2))
    name = fields.String(load_default="")
    reason = fields.String(load_default="")


class CoverageSchema(Schema):
    approved_items = fields.Integer()
    minimum_per_element = fields.Integer()
    elements = fields.List(fields.Dict())
    key_balance = fields.Dict()
    difficulty = fields.Dict()
    near_duplicates = fields.List(fields.Dict())
    findings = fields.List(fields.Nested(FindingSchema))


# --- blueprints -----------------------------------------------------------------------------

@bp.route("/blueprints")
class Blueprints(MethodView):
    @bp.response(200, BlueprintSummarySchema(many=True))
    @permission_required(Permission.BANK_READ)
    def get(self) -> list[ExamBlueprint]:
        """Every blueprint with its latest version."""
        return service.list_blueprints(get_session())

    @bp.arguments(FileSchema, location="files")
    @bp.response(201, BlueprintDetailSchema)
    @permission_required(Permission.BANK_REVIEW)
    def post(self, files: dict[str, Any]) -> ExamBlueprint:
        """Load or revise a blueprint from a TOML or YAML file; every problem is reported at once."""
        upload = files["file"]
        try:
            with unit_of_work() as session:
                version, _created = service.upload_blueprint(session, upload.filename or "upload",
                                                             upload.read(service.MAX_BLUEPRINT_BYTES + 1), _user())
        except BlueprintError as exc:
            first = exc.errors[0]
            raise ValidationFailed(f"{first.path or first.file}：{first.message}（共{len(exc.errors)}处问题）",
                                   f"{first.path or first.file}: {first.message_en} ({len(exc.errors)} problem(s))",
                                   field=first.path or "file", code=f"blueprint.{first.rule}") from None
        return version.blueprint


def _blueprint(blueprint_id: int) -> ExamBlueprint:
    return service.get_blueprint(get_session(), blueprint_id)


@bp.route("/blueprints/<int:blueprint_id>")
class BlueprintById(MethodView):
    @bp.response(200, BlueprintDetailSchema)
    @permission_required(Permission.BANK_READ)
    def get(self, blueprint_id: int) -> ExamBlueprint:
        """One blueprint with the content of its latest version."""
        return _blueprint(blueprint_id)


@bp.route("/blueprints/<int:blueprint_id>/coverage")
class BlueprintCoverage(MethodView):
    @bp.response(200, CoverageSchema)
    @permission_required(Permission.BANK_READ)
    def get(self, blueprint_id: int) -> dict[str, Any]:
        """Approved items per element against the minimum, key balance, difficulty spread, near-duplicates."""
        result = coverage(get_session(), _blueprint(blueprint_id))
        report = result.report
        return {
            "approved_items": result.approved,
            "minimum_per_element": result.minimum,
            "elements": [{"code": c, "name": n, "importance": i, "approved": k, "short": s}
                         for c, n, i, k, s in result.rows()],
            "key_balance": {t: {"total": b.total, "shares": b.shares} for t, b in report.key_balance.items()},
            "difficulty": vars(report.difficulty),
            "near_duplicates": [vars(d) for d in report.near_duplicates],
            "findings": report.findings,
        }


# --- items ----------------------------------------------------------------------------------

@bp.route("/items")
class Items(MethodView):
    @bp.arguments(ItemListQuery, location="query")
    @bp.response(200, ItemSchema(many=True))
    @permission_required(Permission.BANK_READ)
    def get(self, query: dict[str, Any]) -> list[Item]:
        """Items filtered by blueprint, element, type, status of the latest version, author, language."""
        return service.list_items(get_session(), **query).items

    @bp.arguments(ItemCreateSchema)
    @bp.response(201, ItemSchema)
    @permission_required(Permission.BANK_WRITE)
    def post(self, body: dict[str, Any]) -> Item:
        """Create an item; its first version is a draft."""
        with unit_of_work() as session:
            return service.create_item(session, blueprint_id=body["blueprint_id"], content=body["content"],
                                       author=_user())


def _item(item_id: int) -> Item:
    return service.get_item(get_session(), item_id)


def _version(item: Item, number: int) -> ItemVersion:
    for version in item.versions:
        if version.number == number:
            return version
    raise NotFound(f"试题 {item.id} 没有第{number}版", f"item {item.id} has no version {number}", field="number")


@bp.route("/items/<int:item_id>")
class ItemById(MethodView):
    @bp.response(200, ItemSchema)
    @permission_required(Permission.BANK_READ)
    def get(self, item_id: int) -> Item:
        """An item with all its versions."""
        return _item(item_id)

    @bp.arguments(ItemSaveSchema)
    @bp.response(200, VersionSchema)
    @permission_required(Permission.BANK_WRITE)
    def put(self, body: dict[str, Any], item_id: int) -> ItemVersion:
        """Save an edit: a draft changes in place, anything later becomes a new version."""
        with unit_of_work() as session:
            return service.save_item(session, _item(item_id), body["content"], _user())


@bp.route("/items/<int:item_id>/versions/<int:number>")
class ItemVersionByNumber(MethodView):
    @bp.response(200, VersionSchema)
    @permission_required(Permission.BANK_READ)
    def get(self, item_id: int, number: int) -> ItemVersion:
        """One version of an item."""
        return _version(_item(item_id), number)


@bp.route("/items/<int:item_id>/diff")
class ItemDiff(MethodView):
    @bp.arguments(DiffQuery, location="query")
    @bp.response(200, ChangeSchema(many=True))
    @permission_required(Permission.BANK_READ)
    def get(self, query: dict[str, int], item_id: int) -> list[Any]:
        """Field-level differences between versions ``a`` and ``b``."""
        return service.version_diff(get_session(), item_id, query["a"], query["b"]).changes


@bp.route("/items/<int:item_id>/versions/<int:number>/submit")
class SubmitVersion(MethodView):
    @bp.arguments(SubmitSchema)
    @bp.response(200, VersionSchema)
    @permission_required(Permission.BANK_WRITE)
    def post(self, body: dict[str, Any], item_id: int, number: int) -> ItemVersion:
        """Submit a draft for review; every warning's rule code must be in ``acknowledged``."""
        with unit_of_work() as session:
            version = _version(_item(item_id), number)
            service.submit_version(session, version, _user(), body["acknowledged"])
            return version


@bp.route("/items/<int:item_id>/versions/<int:number>/review")
class ReviewVersion(MethodView):
    @bp.arguments(ReviewSchema)
    @bp.response(200, VersionSchema)
    @permission_required(Permission.BANK_REVIEW)
    def post(self, body: dict[str, Any], item_id: int, number: int) -> ItemVersion:
        """Approve or return a submitted version (never your own)."""
        with unit_of_work() as session:
            return service.review_version(session, _version(_item(item_id), number), _user(), body["decision"],
                                          body["comments"], current_app.config["BANK_APPROVALS_NEEDED"])


@bp.route("/items/<int:item_id>/retire")
class RetireItem(MethodView):
    @bp.arguments(RetireSchema)
    @bp.response(200, ItemSchema)
    @permission_required(Permission.BANK_WRITE)
    def post(self, body: dict[str, Any], item_id: int) -> Item:
        """Retire an item; papers that used it keep its versions."""
        with unit_of_work() as session:
            item = _item(item_id)
            service.retire_item(session, item, _user(), body["reason"])
            return item


@bp.route("/check")
class CheckContent(MethodView):
    @bp.arguments(CheckSchema)
    @bp.response(200, FindingSchema(many=True))
    @permission_required(Permission.BANK_WRITE)
    def post(self, body: dict[str, Any]) -> list[Any]:
        """The specification findings of unsaved content (for a live editor)."""
        return service.check_content(get_session(), body["blueprint_id"], body["content"])


@bp.route("/enemy-groups")
class EnemyGroups(MethodView):
    @bp.arguments(EnemyGroupSchema)
    @bp.response(201, EnemyGroupSchema)
    @permission_required(Permission.BANK_WRITE)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Items that must never appear in one paper together."""
        with unit_of_work() as session:
            group = service.create_enemy_group(session, body["item_ids"], body["name"], body["reason"], _user())
            return {"item_ids": [m.item_id for m in group.members], "name": group.name, "reason": group.reason}


class ExportQuery(Schema):
    format = fields.String(required=True, validate=validate.OneOf(["excel", "qti"]))
    approved_only = fields.Boolean(load_default=True)


@bp.route("/blueprints/<int:blueprint_id>/export")
class ExportBank(MethodView):
    @bp.arguments(ExportQuery, location="query")
    @bp.response(200, {"format": "binary", "type": "string"}, content_type="application/octet-stream")
    @permission_required(Permission.BANK_READ)
    def get(self, query: dict[str, Any], blueprint_id: int) -> Any:
        """The bank of a blueprint as an Excel file or a QTI 2.1 package (audited: it carries the keys)."""
        with unit_of_work() as session:
            blueprint, data = service.export_bank(session, blueprint_id, query["format"], _user(),
                                                  approved_only=query["approved_only"])
        suffix = "xlsx" if query["format"] == "excel" else "zip"
        return send_file(io.BytesIO(data), as_attachment=True,
                         download_name=f"bank-{blueprint.occupation_code}-L{blueprint.level}-{blueprint.component}.{suffix}")


# --- import jobs ----------------------------------------------------------------------------

@bp.route("/imports")
class ImportJobs(MethodView):
    @bp.arguments(ImportUploadSchema, location="form")
    @bp.arguments(FileSchema, location="files")
    @bp.response(201, ImportJobSchema)
    @permission_required(Permission.BANK_WRITE)
    def post(self, form: dict[str, Any], files: dict[str, Any]) -> Any:
        """Upload a file; it is validated row by row and kept until confirmed."""
        upload = files["file"]
        data = upload.read(imports.MAX_UPLOAD_BYTES + 1)
        with unit_of_work() as session:
            blueprint = service.get_blueprint(session, form["blueprint_id"])
            return imports.validate_import(session, blueprint, form["format"], upload.filename or "upload", data,
                                           _user(), form["default_element_code"])


@bp.route("/imports/<int:job_id>")
class ImportJobById(MethodView):
    @bp.response(200, ImportJobSchema)
    @permission_required(Permission.BANK_WRITE)
    def get(self, job_id: int) -> Any:
        """An import job with its row-by-row report."""
        return imports.get_job(get_session(), job_id)


@bp.route("/imports/<int:job_id>/confirm")
class ConfirmImport(MethodView):
    @bp.arguments(ConfirmSchema)
    @bp.response(200, ImportJobSchema)
    @permission_required(Permission.BANK_WRITE)
    def post(self, body: dict[str, Any], job_id: int) -> Any:
        """Import the validated items (with errors present, only when ``valid_rows_only``)."""
        with unit_of_work() as session:
            job = imports.get_job(session, job_id)
            imports.confirm_import(session, job, _user(), valid_rows_only=body["valid_rows_only"])
            return job
