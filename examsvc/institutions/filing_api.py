"""The filing JSON API under ``/api/v1/filing``: the public directory, and for regulators the
application workflow, batches, renewals, change requests, stop orders and bank audits."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from examsvc.auth import Permission, permission_required
from examsvc.db import get_session, unit_of_work
from examsvc.errors import NotFound
from examsvc.institutions import filing, orders
from examsvc.institutions.bank_audit import audit_institution
from examsvc.institutions.filing_models import ChangeRequest, FilingApplication, FilingBatch, FilingObjection
from examsvc.institutions.models import Institution
from examsvc.institutions.regions import LEAGUES_AND_CITIES

bp = Blueprint("api_filing", __name__, url_prefix="/filing", description="Institution filing and supervision")


def _actor() -> Any:
    return current_user._get_current_object()


def _institution(session: Any, institution_id: int) -> Institution:
    institution = session.get(Institution, institution_id)
    if institution is None:
        raise NotFound(f"评价机构 {institution_id} 不存在", f"institution {institution_id} not found")
    return institution


def _row(session: Any, model: Any, row_id: int, what: str) -> Any:
    row = session.get(model, row_id)
    if row is None:
        raise NotFound(f"{what} {row_id} 不存在", f"{what} {row_id} not found")
    return row


# --- schemas ---------------------------------------------------------------------------------

class FilingScopeNameSchema(Schema):
    occupation_code = fields.String()
    occupation_name = fields.String()
    level = fields.String()


class FilingDirectorySchema(Schema):
    code = fields.String()
    name = fields.String()
    kind = fields.String()
    tier = fields.String()
    league_city = fields.String(allow_none=True)
    published_on = fields.Date()
    valid_until = fields.Date()
    status = fields.String()
    scope = fields.List(fields.Nested(FilingScopeNameSchema))
    sites = fields.List(fields.String())


class FilingEvaluationSchema(Schema):
    id = fields.Integer()
    method = fields.String(required=True, validate=validate.OneOf(filing.EVALUATION_METHODS))
    score = fields.Float(required=True)
    notes = fields.String(load_default="")
    recorded_at = fields.DateTime(dump_only=True)


class FilingObjectionSchema(Schema):
    id = fields.Integer(dump_only=True)
    raised_by = fields.String(load_default="")
    text = fields.String(required=True)
    received_on = fields.Date(required=True)
    resolution = fields.String(dump_only=True, allow_none=True)
    upheld = fields.Boolean(dump_only=True, allow_none=True)


class FilingApplicationSchema(Schema):
    id = fields.Integer(dump_only=True)
    purpose = fields.String(dump_only=True)
    applicant_name = fields.String(required=True)
    kind = fields.String(required=True)
    tier = fields.String(required=True)
    league_city = fields.String(allow_none=True, load_default=None)
    requested_scope = fields.List(fields.List(fields.String(), validate=validate.Length(equal=2)), required=True)
    conditions = fields.Dict(keys=fields.String(), values=fields.Dict(), required=True)
    declarations = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    status = fields.String(dump_only=True)
    reason = fields.String(dump_only=True, allow_none=True)
    notice_start = fields.Date(dump_only=True, allow_none=True)
    notice_end = fields.Date(dump_only=True, allow_none=True)
    batch_id = fields.Integer(dump_only=True, allow_none=True)
    institution_id = fields.Integer(dump_only=True, allow_none=True)
    dropped_occupations = fields.List(fields.String(), dump_only=True)
    evaluations = fields.List(fields.Nested(FilingEvaluationSchema), dump_only=True)
    objections = fields.List(fields.Nested(FilingObjectionSchema), dump_only=True)


class FilingNoticeSchema(Schema):
    start = fields.Date(required=True)
    end = fields.Date(required=True)


class FilingResolutionSchema(Schema):
    resolution = fields.String(required=True)
    upheld = fields.Boolean(required=True)


class FilingReasonSchema(Schema):
    reason = fields.String(required=True)


class FilingBatchSchema(Schema):
    id = fields.Integer(dump_only=True)
    title = fields.String(required=True)
    publication_date = fields.Date(required=True)
    off_cycle = fields.Boolean(dump_only=True)
    published_at = fields.DateTime(dump_only=True, allow_none=True)


class FilingPublishSchema(Schema):
    application_ids = fields.List(fields.Integer(), required=True)


class FilingPublishedSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()


class FilingRenewalSchema(Schema):
    conditions = fields.Dict(keys=fields.String(), values=fields.Dict(), required=True)
    declarations = fields.Dict(keys=fields.String(), values=fields.String(), required=True)


class FilingGrantSchema(Schema):
    drop_occupations = fields.List(fields.String(), load_default=list)


class FilingChangeSchema(Schema):
    id = fields.Integer(dump_only=True)
    institution_id = fields.Integer(dump_only=True)
    kind = fields.String(required=True, validate=validate.OneOf(["basic", "scope", "termination"]))
    changes = fields.Dict(load_default=dict)
    reason = fields.String(required=True)
    status = fields.String(dump_only=True)
    decision_note = fields.String(dump_only=True, allow_none=True)


class FilingDecisionSchema(Schema):
    approve = fields.Boolean(required=True)
    note = fields.String(load_default="")


class FilingStopOrderSchema(Schema):
    id = fields.Integer(dump_only=True)
    institution_id = fields.Integer(dump_only=True)
    reference = fields.String(required=True)
    reason = fields.String(required=True)
    blueprint_id = fields.Integer(allow_none=True, load_default=None)
    issued_at = fields.DateTime(dump_only=True)
    lifted_at = fields.DateTime(dump_only=True, allow_none=True)
    lift_note = fields.String(dump_only=True, allow_none=True)


class FilingLiftSchema(Schema):
    note = fields.String(load_default="")


class FilingSiteSchema(Schema):
    id = fields.Integer(dump_only=True)
    institution_id = fields.Integer(dump_only=True)
    league_city = fields.String(required=True, validate=validate.OneOf(LEAGUES_AND_CITIES))
    approved_at = fields.DateTime(dump_only=True)
    revoked_at = fields.DateTime(dump_only=True, allow_none=True)


class FilingSiteRevocationSchema(Schema):
    league_city = fields.String(required=True, validate=validate.OneOf(LEAGUES_AND_CITIES))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class FilingShortfallSchema(Schema):
    element_code = fields.String()
    element_name = fields.String()
    approved = fields.Integer()
    minimum = fields.Integer()


class FilingBlueprintAuditSchema(Schema):
    blueprint_id = fields.Integer()
    title = fields.String()
    occupation_code = fields.String()
    level = fields.String()
    component = fields.String()
    approved = fields.Integer()
    minimum = fields.Integer()
    shortfalls = fields.List(fields.Nested(FilingShortfallSchema))
    errors = fields.Integer()
    warnings = fields.Integer()
    flagged_items = fields.List(fields.Integer(), allow_none=True)
    exposed_items = fields.Dict(keys=fields.String(), values=fields.Integer())
    sessions_considered = fields.Integer()
    consumed_items = fields.Integer()
    added_items = fields.Integer()
    stale = fields.Boolean()
    ok = fields.Boolean()
    problem = fields.String(allow_none=True)


# --- public ----------------------------------------------------------------------------------

@bp.route("/directory")
class Directory(MethodView):
    @bp.response(200, FilingDirectorySchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """The public directory of filed institutions: scope, validity and status (no sign-in)."""
        return [{**{k: getattr(e.institution, k) for k in ("code", "name", "kind", "tier", "league_city",
                                                           "published_on", "valid_until", "status")},
                 "scope": [{"occupation_code": c, "occupation_name": n, "level": lv} for c, n, lv in e.scope],
                 "sites": e.sites} for e in filing.directory(get_session())]


# --- applications ----------------------------------------------------------------------------

@bp.route("/applications")
class Applications(MethodView):
    @bp.response(200, FilingApplicationSchema(many=True))
    @permission_required(Permission.REGULATE)
    def get(self) -> Any:
        """Filing applications, newest first."""
        from sqlalchemy import select

        return get_session().scalars(select(FilingApplication).order_by(FilingApplication.id.desc()).limit(500)).all()

    @bp.arguments(FilingApplicationSchema)
    @bp.response(201, FilingApplicationSchema)
    @permission_required(Permission.REGULATE)
    def post(self, body: dict[str, Any]) -> Any:
        """Record a new application: Art. 9 conditions name attachment hashes, Art. 10 declarations are all
        ``not_applicable``."""
        with unit_of_work() as session:
            application = filing.submit_application(
                session, applicant_name=body["applicant_name"], kind=body["kind"], tier=body["tier"],
                league_city=body["league_city"], scope=body["requested_scope"], conditions=body["conditions"],
                declarations=body["declarations"], actor=_actor())
        return application


@bp.route("/applications/<int:application_id>")
class ApplicationDetail(MethodView):
    @bp.response(200, FilingApplicationSchema)
    @permission_required(Permission.REGULATE)
    def get(self, application_id: int) -> Any:
        return filing.get_application(get_session(), application_id)


def _on_application(application_id: int, act: Any) -> Any:
    with unit_of_work() as session:
        application = filing.get_application(session, application_id)
        act(session, application)
    return application


@bp.route("/applications/<int:application_id>/evaluations")
class Evaluations(MethodView):
    @bp.arguments(FilingEvaluationSchema)
    @bp.response(201, FilingApplicationSchema)
    @permission_required(Permission.REGULATE)
    def post(self, body: dict[str, Any], application_id: int) -> Any:
        """Record an expert evaluation step (report, document_review, site_visit, qa ...)."""
        return _on_application(application_id, lambda s, a: filing.record_evaluation(
            s, a, method=body["method"], score=body["score"], notes=body["notes"], actor=_actor()))


@bp.route("/applications/<int:application_id>/notice")
class Notice(MethodView):
    @bp.arguments(FilingNoticeSchema)
    @bp.response(200, FilingApplicationSchema)
    @permission_required(Permission.REGULATE)
    def post(self, body: dict[str, Any], application_id: int) -> Any:
        """Start the public notice (公示)."""
        return _on_application(application_id, lambda s, a: filing.start_notice(
            s, a, start=body["start"], end=body["end"], actor=_actor()))


@bp.route("/applications/<int:application_id>/objections")
class Objections(MethodView):
    @bp.arguments(FilingObjectionSchema)
    @bp.response(201, FilingApplicationSchema)
    @permission_required(Permission.REGULATE)
    def post(self, body: dict[str, Any], application_id: int) -> Any:
        """Record an objection received during the notice."""
        return _on_application(application_id, lambda s, a: filing.record_objection(
            s, a, raised_by=body["raised_by"], text=body["text"], received_on=body["received_on"], actor=_actor()))


@bp.route("/applications/<int:application_id>/objections/<int:objection_id>/resolution")
class ObjectionResolution(MethodView):
    @bp.arguments(FilingResolutionSchema)
    @bp.response(200, FilingApplicationSchema)
    @permission_required(Permission.REGULATE)
    def post(self, body: dict[str, Any], application_id: int, objection_id: int) -> Any:
        def act(session: Any, application: FilingApplication) -> None:
            objection = _row(session, FilingObjection, objection_id, "objection")
            if objection.application_id != application.id:
                raise NotFound(f"异议 {objection_id} 不存在", f"objection {objection_id} not found")
            filing.resolve_objection(session, objection, resolution=body["resolution"], upheld=body["upheld"],
                                     actor=_actor())
        return _on_application(application_id, act)


@bp.route("/applications/<int:application_id>/rejection")
class Rejection(MethodView):
    @bp.arguments(FilingReasonSchema)
    @bp.response(200, FilingApplicationSchema)
    @permission_required(Permission.REGULATE)
    def post(self, body: dict[str, Any], application_id: int) -> Any:
        return _on_application(application_id, lambda s, a: filing.reject_application(
            s, a, reason=body["reason"], actor=_actor()))


@bp.route("/applications/<int:application_id>/renewal-grant")
class RenewalGrant(MethodView):
    @bp.arguments(FilingGrantSchema)
    @bp.response(200, FilingApplicationSchema)
    @permission_required(Permission.REGULATE)
    def post(self, body: dict[str, Any], application_id: int) -> Any:
        """Grant an evaluated renewal: three more years, dropping occupations never certified."""
        return _on_application(application_id, lambda s, a: filing.grant_renewal(
            s, a, drop_occupations=body["drop_occupations"], actor=_actor()))


# --- batches ---------------------------------------------------------------------------------

@bp.route("/batches")
class Batches(MethodView):
    @bp.arguments(FilingBatchSchema)
    @bp.response(201, FilingBatchSchema)
    @permission_required(Permission.REGULATE)
    def post(self, body: dict[str, Any]) -> Any:
        with unit_of_work() as session:
            batch = filing.create_batch(session, title=body["title"], publication_date=body["publication_date"],
                                        actor=_actor())
        return batch


@bp.route("/batches/<int:batch_id>/publication")
class Publication(MethodView):
    @bp.arguments(FilingPublishSchema)
    @bp.response(200, FilingPublishedSchema(many=True))
    @permission_required(Permission.REGULATE)
    def post(self, body: dict[str, Any], batch_id: int) -> Any:
        """Publish applications under notice: codes assigned in the order given, all or nothing."""
        with unit_of_work() as session:
            batch = _row(session, FilingBatch, batch_id, "batch")
            published = filing.publish_batch(session, batch, body["application_ids"], _actor())
        return published


# --- one institution -------------------------------------------------------------------------

@bp.route("/institutions/<int:institution_id>/renewals")
class Renewals(MethodView):
    @bp.arguments(FilingRenewalSchema)
    @bp.response(201, FilingApplicationSchema)
    @permission_required(Permission.REGULATE)
    def post(self, body: dict[str, Any], institution_id: int) -> Any:
        """A renewal application, in the three months before the filing expires."""
        with unit_of_work() as session:
            application = filing.apply_for_renewal(session, _institution(session, institution_id),
                                                   conditions=body["conditions"], declarations=body["declarations"],
                                                   actor=_actor())
        return application


@bp.route("/institutions/<int:institution_id>/changes")
class Changes(MethodView):
    @bp.arguments(FilingChangeSchema)
    @bp.response(201, FilingChangeSchema)
    @permission_required(Permission.REGULATE)
    def post(self, body: dict[str, Any], institution_id: int) -> Any:
        """A change of basic information, of scope, or a voluntary termination; applied when approved."""
        with unit_of_work() as session:
            change = filing.request_change(session, _institution(session, institution_id), kind=body["kind"],
                                           changes=body["changes"], reason=body["reason"], actor=_actor())
        return change


@bp.route("/changes/<int:change_id>/decision")
class ChangeDecision(MethodView):
    @bp.arguments(FilingDecisionSchema)
    @bp.response(200, FilingChangeSchema)
    @permission_required(Permission.REGULATE)
    def post(self, body: dict[str, Any], change_id: int) -> Any:
        with unit_of_work() as session:
            change = filing.decide_change(session, _row(session, ChangeRequest, change_id, "change request"),
                                          approve=body["approve"], note=body["note"], actor=_actor())
        return change


@bp.route("/institutions/<int:institution_id>/stop-orders")
class StopOrders(MethodView):
    @bp.response(200, FilingStopOrderSchema(many=True))
    @permission_required(Permission.REGULATE)
    def get(self, institution_id: int) -> Any:
        session = get_session()
        return orders.list_orders(session, _institution(session, institution_id).id)

    @bp.arguments(FilingStopOrderSchema)
    @bp.response(201, FilingStopOrderSchema)
    @permission_required(Permission.REGULATE)
    def post(self, body: dict[str, Any], institution_id: int) -> Any:
        """Order the institution to stop certifying (seed Art. 34) until the order is lifted."""
        with unit_of_work() as session:
            order = orders.issue_stop_order(session, _institution(session, institution_id), reference=body["reference"],
                                            reason=body["reason"], blueprint_id=body["blueprint_id"], actor=_actor())
        return order


@bp.route("/stop-orders/<int:order_id>/lift")
class LiftOrder(MethodView):
    @bp.arguments(FilingLiftSchema)
    @bp.response(200, FilingStopOrderSchema)
    @permission_required(Permission.REGULATE)
    def post(self, body: dict[str, Any], order_id: int) -> Any:
        with unit_of_work() as session:
            order = orders.lift_stop_order(session, orders.get_order(session, order_id), note=body["note"],
                                           actor=_actor())
        return order


@bp.route("/institutions/<int:institution_id>/sites")
class Sites(MethodView):
    @bp.response(200, FilingSiteSchema(many=True))
    @permission_required(Permission.REGULATE)
    def get(self, institution_id: int) -> Any:
        """The institution's site filings in leagues and cities (seed Art. 12), revoked ones included."""
        session = get_session()
        return filing.site_filings(session, _institution(session, institution_id))

    @bp.arguments(FilingSiteSchema)
    @bp.response(201, FilingSiteSchema)
    @permission_required(Permission.REGULATE)
    def post(self, body: dict[str, Any], institution_id: int) -> Any:
        """File a region-level institution's site in a league/city (that league/city's regulator, or the region)."""
        with unit_of_work() as session:
            return filing.file_site(session, _institution(session, institution_id), body["league_city"], _actor())


@bp.route("/institutions/<int:institution_id>/sites/revoke")
class RevokeSite(MethodView):
    @bp.arguments(FilingSiteRevocationSchema)
    @bp.response(200, FilingSiteSchema)
    @permission_required(Permission.REGULATE)
    def post(self, body: dict[str, Any], institution_id: int) -> Any:
        """Withdraw a site filing: the institution's sessions there can no longer open."""
        with unit_of_work() as session:
            return filing.revoke_site(session, _institution(session, institution_id), body["league_city"],
                                      reason=body["reason"], actor=_actor())


@bp.route("/institutions/<int:institution_id>/bank-audit")
class BankAudit(MethodView):
    @bp.response(200, FilingBlueprintAuditSchema(many=True))
    @permission_required(Permission.REGULATE)
    def get(self, institution_id: int) -> Any:
        """The bank audit of every blueprint in the institution's scope."""
        from examsvc.institutions.filing_routes import audit_options

        session = get_session()
        return audit_institution(session, _institution(session, institution_id), **audit_options())
