"""JSON API of violation cases under ``/api/v1/cases`` and the working-day calendar (regulators only)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from examsvc.auth import Permission, permission_required
from examsvc.db import get_session, unit_of_work
from examsvc.errors import NotFound, ValidationFailed
from examsvc.institutions.jurisdiction import visible_jurisdictions
from examsvc.supervision import service
from examsvc.supervision.models import SOURCES, STATUSES, SUBJECT_KINDS

bp = Blueprint("api_cases", __name__, url_prefix="/cases", description="Violation cases (seed Art. 43-49)")
calendar_bp = Blueprint("api_calendar", __name__, url_prefix="/calendar", description="Chinese working days")

STEPS = ("accept", "dismiss", "propose", "notice", "statement", "decide", "objection", "review", "appeal",
         "appeal_decision", "sanction")


class EventSchema(Schema):
    seq = fields.Integer()
    kind = fields.String()
    on_date = fields.Date(allow_none=True)
    details = fields.Dict()
    recorded_by = fields.Integer(allow_none=True)
    recorded_at = fields.DateTime()


class SanctionSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    status = fields.String()
    targets = fields.List(fields.Raw())
    due_on = fields.Date(allow_none=True)
    amount = fields.String()
    note = fields.String()
    executed_at = fields.DateTime()


class CaseSchema(Schema):
    id = fields.Integer()
    reference = fields.String()
    subject_kind = fields.String()
    subject_id = fields.Integer(allow_none=True)
    subject_label = fields.String()
    source = fields.String()
    facts = fields.String()
    jurisdiction = fields.String()
    status = fields.String()
    statement_deadline = fields.Date(allow_none=True)
    objection_deadline = fields.Date(allow_none=True)
    opened_at = fields.DateTime()


class CaseDetailSchema(CaseSchema):
    events = fields.List(fields.Nested(EventSchema))
    sanctions = fields.List(fields.Nested(SanctionSchema))
    next_actions = fields.List(fields.String())
    pending_sanctions = fields.List(fields.String())


class CaseListQuery(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))


class OpenCaseRequest(Schema):
    subject_kind = fields.String(required=True, validate=validate.OneOf(SUBJECT_KINDS))
    subject_id = fields.Integer(required=True)
    source = fields.String(required=True, validate=validate.OneOf([s for s in SOURCES if s != "public_report"]))
    facts = fields.String(required=True, validate=validate.Length(min=1, max=10000))
    jurisdiction = fields.String(load_default="", validate=validate.Length(max=100))


class StepRequest(Schema):
    """The fields of one step; which are required depends on the step (the service says which is missing)."""

    subject_kind = fields.String(load_default=None, validate=validate.OneOf(SUBJECT_KINDS))
    subject_id = fields.Integer(load_default=None)
    jurisdiction = fields.String(load_default="")
    reason = fields.String(load_default="")
    facts = fields.String(load_default="")
    reasons = fields.String(load_default="")
    basis = fields.List(fields.String(), load_default=list)
    sanctions = fields.List(fields.String(validate=validate.OneOf(list(service.SANCTION_KINDS))), load_default=list)
    sent_on = fields.Date(load_default=None)
    statement_days = fields.Integer(load_default=service.DEFAULT_STATEMENT_DAYS)
    received_on = fields.Date(load_default=None)
    text = fields.String(load_default="")
    decision = fields.String(load_default="")
    delivery = fields.String(load_default=None, validate=validate.OneOf(service.DELIVERIES))
    delivered_on = fields.Date(load_default=None)
    filed_on = fields.Date(load_default=None)
    outcome = fields.String(load_default=None, validate=validate.OneOf(service.REVIEW_OUTCOMES))
    decided_on = fields.Date(load_default=None)
    authority = fields.String(load_default="")
    kind = fields.String(load_default=None, validate=validate.OneOf(list(service.SANCTION_KINDS)))
    note = fields.String(load_default="")
    due_on = fields.Date(load_default=None)
    amount = fields.String(load_default="", validate=validate.Length(max=40))


class DeadlineQuery(Schema):
    start = fields.Date(required=True, metadata={"description": "day of receipt or announcement (not counted)"})
    days = fields.Integer(required=True, validate=validate.Range(min=1, max=366))


class DeadlineSchema(Schema):
    start = fields.Date()
    days = fields.Integer()
    deadline = fields.Date()


class CalendarDay(Schema):
    day = fields.Date(required=True)
    is_workday = fields.Boolean(required=True)


class CalendarRequest(Schema):
    days = fields.List(fields.Nested(CalendarDay), required=True, validate=validate.Length(min=1, max=400))
    note = fields.String(load_default="", validate=validate.Length(max=200))


class CalendarResponse(Schema):
    entered = fields.Integer()


def _day(text: str) -> Any:
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed("日期应为 YYYY-MM-DD", "the day must be a date (YYYY-MM-DD)", field="day") from None


def _detail(case: Any) -> dict[str, Any]:
    data = {column.name: getattr(case, column.name) for column in case.__table__.columns}
    data.update(events=case.events, sanctions=case.sanctions,
                next_actions=[a.name for a in service.next_actions(case)],
                pending_sanctions=service.pending_sanctions(case))
    return data


def _required(body: dict[str, Any], name: str) -> Any:
    from examsvc.errors import ValidationFailed

    if body.get(name) is None:
        raise ValidationFailed(f"缺少 {name}", f"{name} is required for this step", field=name)
    return body[name]


def _run(session: Any, case: Any, action: str, body: dict[str, Any]) -> Any:
    actor = current_user._get_current_object()
    if action == "accept":
        return service.accept_report(session, case, subject_id=_required(body, "subject_id"),
                                     subject_kind=body["subject_kind"], jurisdiction=body["jurisdiction"], actor=actor)
    if action == "dismiss":
        return service.dismiss_case(session, case, reason=body["reason"], actor=actor)
    if action == "propose":
        return service.propose_decision(session, case, facts=body["facts"], reasons=body["reasons"], basis=body["basis"],
                                        sanctions=body["sanctions"], actor=actor)
    if action == "notice":
        return service.send_notice(session, case, sent_on=_required(body, "sent_on"),
                                   statement_days=body["statement_days"], actor=actor)
    if action == "statement":
        return service.record_statement(session, case, received_on=_required(body, "received_on"), text=body["text"],
                                        actor=actor)
    if action == "decide":
        return service.decide(session, case, decision=body["decision"], basis=body["basis"], sanctions=body["sanctions"],
                              delivery=_required(body, "delivery"), delivered_on=_required(body, "delivered_on"),
                              actor=actor)
    if action == "objection":
        return service.file_objection(session, case, filed_on=_required(body, "filed_on"), text=body["text"], actor=actor)
    if action == "review":
        return service.review_decision(session, case, outcome=_required(body, "outcome"), text=body["text"],
                                       decided_on=_required(body, "decided_on"), sanctions=body["sanctions"], actor=actor)
    if action == "appeal":
        return service.appeal(session, case, filed_on=_required(body, "filed_on"), authority=body["authority"],
                              text=body["text"], actor=actor)
    if action == "appeal_decision":
        return service.decide_appeal(session, case, outcome=_required(body, "outcome"), text=body["text"],
                                     decided_on=_required(body, "decided_on"), sanctions=body["sanctions"], actor=actor)
    return service.execute_sanction(session, case, _required(body, "kind"), actor=actor, note=body["note"],
                                    due_on=body["due_on"], amount=body["amount"])


@bp.route("")
class Cases(MethodView):
    @bp.arguments(CaseListQuery, location="query")
    @bp.response(200, CaseSchema(many=True))
    @permission_required(Permission.REGULATE)
    def get(self, query: dict[str, Any]) -> Any:
        """Cases, newest first, optionally of one status."""
        return service.list_cases(get_session(), query["status"], jurisdictions=visible_jurisdictions(current_user))

    @bp.arguments(OpenCaseRequest)
    @bp.response(201, CaseDetailSchema)
    @permission_required(Permission.REGULATE)
    def post(self, body: dict[str, Any]) -> Any:
        """Open a case from a finding or on the regulator's initiative."""
        with unit_of_work() as session:
            case = service.open_case(session, actor=current_user._get_current_object(), **body)
        return _detail(service.get_case(get_session(), case.id))


@bp.route("/<int:case_id>")
class CaseById(MethodView):
    @bp.response(200, CaseDetailSchema)
    @permission_required(Permission.REGULATE)
    def get(self, case_id: int) -> Any:
        """One case with its timeline, sanctions and the steps allowed next."""
        return _detail(service.visible_case(get_session(), case_id, current_user))


@bp.route("/<int:case_id>/steps/<action>")
class CaseStep(MethodView):
    @bp.arguments(StepRequest)
    @bp.response(200, CaseDetailSchema)
    @permission_required(Permission.REGULATE)
    def post(self, body: dict[str, Any], case_id: int, action: str) -> Any:
        """Take one step (accept, dismiss, propose, notice, statement, decide, objection, review, appeal,
        appeal_decision, sanction).

        A late objection is kept on the case file and answered 409 naming the deadline.
        """
        if action not in STEPS:
            raise NotFound(f"未知步骤 {action}", f"unknown step {action}; one of {', '.join(STEPS)}", field="action")
        with unit_of_work() as session:
            case = service.get_case(session, case_id)
            result = _run(session, case, action, body)
        if action == "objection" and not result.details["accepted"]:
            raise service.late_objection_error(case, result)
        return _detail(service.get_case(get_session(), case_id))


@calendar_bp.route("/deadline")
class Deadline(MethodView):
    @calendar_bp.arguments(DeadlineQuery, location="query")
    @calendar_bp.response(200, DeadlineSchema)
    @permission_required(Permission.REGULATE)
    def get(self, query: dict[str, Any]) -> Any:
        """The last day of a period of ``days`` working days after ``start`` (422 for a year not known yet)."""
        return {**query, "deadline": service.add_working_days(get_session(), query["start"], query["days"])}


@calendar_bp.route("/days")
class CalendarDays(MethodView):
    @calendar_bp.arguments(CalendarRequest)
    @calendar_bp.response(201, CalendarResponse)
    @permission_required(Permission.REGULATE)
    def post(self, body: dict[str, Any]) -> Any:
        """Enter holidays and make-up working days (for a year the built-in calendar does not know)."""
        with unit_of_work() as session:
            rows = service.add_calendar_days(session, [(d["day"], d["is_workday"]) for d in body["days"]], body["note"],
                                             current_user._get_current_object())
        return {"entered": len(rows)}


@calendar_bp.route("/days/<day>")
class CalendarDayById(MethodView):
    @calendar_bp.response(204)
    @permission_required(Permission.REGULATE)
    def delete(self, day: str) -> None:
        """Remove an entered day (region only; audited). Deadlines already recorded keep their value."""
        actor = current_user._get_current_object()
        service.require_calendar_keeper(actor)
        with unit_of_work() as session:
            service.remove_calendar_day(session, _day(day), actor)
