"""The exam sessions JSON API: sessions, staff, candidates (one or an Excel import), the room roster
and the invigilator console's actions. The same service calls as the pages; ID numbers go in,
only masked ones come out."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from examsvc.accounts.models import User
from examsvc.auth import Permission, permission_required
from examsvc.db import get_session, unit_of_work
from examsvc.errors import ValidationFailed
from examsvc.institutions.regions import LEAGUES_AND_CITIES
from examsvc.sessions import candidates_import, console, queries, service
from examsvc.sessions.models import ExamSession

bp = Blueprint("api_sessions", __name__, url_prefix="/sessions",
               description="Exam sessions (认定场次), candidates and the invigilator console")


class SessionRoomSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    capacity = fields.Integer(required=True, validate=validate.Range(min=1, max=1000))


class StaffAssignmentSchema(Schema):
    id = fields.Integer(dump_only=True)
    user_id = fields.Integer(required=True)
    role = fields.String(required=True, validate=validate.OneOf(["invigilator", "examiner", "internal_supervisor"]))
    room_id = fields.Integer(load_default=None, allow_none=True)


class SessionSchema(Schema):
    id = fields.Integer()
    institution_id = fields.Integer()
    blueprint_id = fields.Integer()
    title = fields.String()
    league_city = fields.String(allow_none=True, metadata={"description": "where it is held (盟市, seed Art. 12)"})
    exam_date = fields.Date()
    window_start = fields.DateTime()
    window_end = fields.DateTime()
    duration_minutes = fields.Integer()
    languages = fields.List(fields.String())
    auto_check_in = fields.Boolean()
    layout = fields.String()
    status = fields.String()
    opened_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    rooms = fields.List(fields.Nested(SessionRoomSchema))
    paper_ids = fields.Function(lambda s: [p.paper_id for p in s.papers])
    staff = fields.List(fields.Nested(StaffAssignmentSchema))


class ReadinessProblemSchema(Schema):
    code = fields.String()
    message = fields.String()
    message_en = fields.String()


class SessionDetailSchema(SessionSchema):
    problems = fields.List(fields.Nested(ReadinessProblemSchema))
    notices = fields.List(fields.Nested(ReadinessProblemSchema), metadata={
        "description": "what does not stop the session opening but needs attention (综合评审 materials missing)"})


class SessionPlanSchema(Schema):
    institution_id = fields.Integer(required=True)
    blueprint_id = fields.Integer(required=True)
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    exam_date = fields.Date(required=True)
    window_start = fields.AwareDateTime(required=True)
    window_end = fields.AwareDateTime(required=True)
    rooms = fields.List(fields.Nested(SessionRoomSchema), required=True, validate=validate.Length(min=1, max=100))
    paper_ids = fields.List(fields.Integer(), required=True)
    languages = fields.List(fields.String(), load_default=lambda: ["zh"])
    duration_minutes = fields.Integer(load_default=None, allow_none=True)
    auto_check_in = fields.Boolean(load_default=False)
    layout = fields.String(load_default="paged", validate=validate.OneOf(["paged", "scrolling"]))
    league_city = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32), metadata={
        "description": "league/city (盟市) where the session is held: default a league/city institution's own; "
                       "required of a region-level institution, which needs an approved site filing there (Art. 12)",
        "enum": list(LEAGUES_AND_CITIES)})


class SessionLocationSchema(Schema):
    league_city = fields.String(required=True, validate=validate.Length(min=1, max=32),
                                metadata={"enum": list(LEAGUES_AND_CITIES)})


class CandidateSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True)
    id_type = fields.String(required=True, validate=validate.OneOf(list(service.ID_TYPES)))
    id_number = fields.String(required=True, load_only=True)
    id_masked = fields.String(dump_only=True)
    gender = fields.String(load_default=None, allow_none=True)
    employer = fields.String(load_default="")
    phone = fields.String(load_default="")
    exam_language = fields.String(load_default="zh")
    password = fields.String(load_default=None, allow_none=True, load_only=True)
    ticket_number = fields.String(dump_only=True)
    room_id = fields.Integer(dump_only=True, allow_none=True)
    seat = fields.Integer(dump_only=True, allow_none=True)
    checked_in_at = fields.DateTime(dump_only=True, allow_none=True)
    registered_at = fields.DateTime(dump_only=True)


class CandidateImportFormSchema(Schema):
    valid_rows_only = fields.Boolean(load_default=False)


class CandidateFileSchema(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class CandidateRowErrorSchema(Schema):
    row = fields.Raw()
    column = fields.String()
    message = fields.String()
    message_en = fields.String()


class CandidateImportReportSchema(Schema):
    rows = fields.Integer()
    valid_rows = fields.Integer()
    error_rows = fields.Integer()
    imported = fields.Integer()
    tickets = fields.List(fields.String())
    errors = fields.List(fields.Nested(CandidateRowErrorSchema))


class RosterRowSchema(Schema):
    candidate_id = fields.Integer()
    name = fields.String()
    ticket_number = fields.String()
    seat = fields.Integer(allow_none=True)
    id_masked = fields.String()
    exam_language = fields.String()
    status = fields.String()
    answered = fields.Integer()
    items = fields.Integer()
    remaining_seconds = fields.Integer(allow_none=True)
    last_activity_at = fields.DateTime(allow_none=True)
    checked_in_at = fields.DateTime(allow_none=True)
    extra_seconds = fields.Integer()
    closed_reason = fields.String(allow_none=True)


class ConsoleActionSchema(Schema):
    action = fields.String(required=True, validate=validate.OneOf(console.ACTIONS))
    minutes = fields.Integer(load_default=None, allow_none=True)
    reason = fields.String(load_default="", validate=validate.Length(max=500))


class RoomActionSchema(Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=500))


class RoomActionResultSchema(Schema):
    count = fields.Integer()


class IncidentNoteSchema(Schema):
    text = fields.String(required=True)
    room_id = fields.Integer(load_default=None, allow_none=True)
    candidate_id = fields.Integer(load_default=None, allow_none=True)


class IncidentSchema(Schema):
    id = fields.Integer(attribute="incident.id")
    kind = fields.String(attribute="incident.kind")
    text = fields.String(attribute="incident.text")
    room_id = fields.Integer(attribute="incident.room_id", allow_none=True)
    candidate_id = fields.Integer(attribute="incident.candidate_id", allow_none=True)
    recorded_at = fields.DateTime(attribute="incident.recorded_at")
    recorded_by = fields.String()
    candidate_name = fields.String(allow_none=True)
    ticket_number = fields.String(allow_none=True)


class CloseReportSchema(Schema):
    submitted = fields.Integer()
    expired = fields.Integer()
    terminated = fields.Integer()
    closed_now = fields.Integer()
    absent = fields.Integer()


def _user() -> Any:
    return current_user._get_current_object()


def _session(session_id: int, need: str) -> ExamSession:
    exam_session = service.get_session_row(get_session(), session_id)
    {"view": service.require_view, "manage": service.require_manage,
     "console": service.require_console}[need](current_user, exam_session)
    return exam_session


class _Detail:
    """A session with its readiness problems, for :class:`SessionDetailSchema`."""

    def __init__(self, exam_session: ExamSession):
        self._session = exam_session
        self.problems = (service.readiness(get_session(), exam_session)
                         if exam_session.status == "planned" else [])
        self.notices = service.notices(get_session(), exam_session)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


def _detail(exam_session: ExamSession) -> _Detail:
    return _Detail(exam_session)


@bp.route("")
class Sessions(MethodView):
    @bp.response(200, SessionSchema(many=True))
    @permission_required(Permission.INSTITUTION_VIEW)
    def get(self) -> list[ExamSession]:
        """Sessions of the institutions the caller may see, newest exam date first."""
        return [row.session for row in queries.list_sessions(get_session(), current_user)]

    @bp.arguments(SessionPlanSchema)
    @bp.response(201, SessionDetailSchema)
    @permission_required(Permission.INSTITUTION_MANAGE)
    def post(self, body: dict[str, Any]) -> Any:
        """Plan a session for an occupation and level the institution may certify on the exam date."""
        body["rooms"] = [(r["name"], r["capacity"]) for r in body["rooms"]]
        with unit_of_work() as session:
            exam_session = service.plan_session_for(session, actor=_user(), **body)
        return _detail(exam_session)


@bp.route("/<int:session_id>")
class SessionById(MethodView):
    @bp.response(200, SessionDetailSchema)
    @permission_required(Permission.INSTITUTION_VIEW)
    def get(self, session_id: int) -> Any:
        """A session with its rooms, papers, staff and, while planned, the rules it still breaks."""
        return _detail(_session(session_id, "view"))


@bp.route("/<int:session_id>/open")
class OpenSession(MethodView):
    @bp.response(200, SessionDetailSchema)
    @permission_required(Permission.INSTITUTION_MANAGE)
    def post(self, session_id: int) -> Any:
        """Open the session (开考); refused, naming the broken rules, while any is broken."""
        with unit_of_work() as session:
            exam_session = service.open_session(session, _session(session_id, "manage"), _user())
        return _detail(exam_session)


@bp.route("/<int:session_id>/location")
class SessionLocation(MethodView):
    @bp.arguments(SessionLocationSchema)
    @bp.response(200, SessionDetailSchema)
    @permission_required(Permission.INSTITUTION_MANAGE)
    def post(self, body: dict[str, Any], session_id: int) -> Any:
        """Move a planned session to another league/city where the institution may work (Art. 12)."""
        with unit_of_work() as session:
            exam_session = service.set_location(session, _session(session_id, "manage"), body["league_city"], _user())
        return _detail(exam_session)


@bp.route("/<int:session_id>/close")
class CloseSession(MethodView):
    @bp.response(200, CloseReportSchema)
    @permission_required(Permission.SESSION_INVIGILATE)
    def post(self, session_id: int) -> Any:
        """End the session (结束): running and paused attempts are closed with their answers kept."""
        with unit_of_work() as session:
            return console.close_session(session, _session(session_id, "console"), _user())


@bp.route("/<int:session_id>/staff")
class Staff(MethodView):
    @bp.arguments(StaffAssignmentSchema)
    @bp.response(201, StaffAssignmentSchema)
    @permission_required(Permission.INSTITUTION_MANAGE)
    def post(self, body: dict[str, Any], session_id: int) -> Any:
        """Assign an invigilator (to a room), an examiner or an internal quality supervisor."""
        exam_session = _session(session_id, "manage")
        user = get_session().get(User, body["user_id"])
        if user is None:
            raise ValidationFailed("人员不存在", "no such user", field="user_id")
        with unit_of_work() as session:
            return service.assign_staff(session, exam_session, user, body["role"], body["room_id"], _user())


@bp.route("/<int:session_id>/staff/<int:assignment_id>")
class StaffById(MethodView):
    @bp.response(204)
    @permission_required(Permission.INSTITUTION_MANAGE)
    def delete(self, session_id: int, assignment_id: int) -> None:
        """Remove an assignment."""
        with unit_of_work() as session:
            service.remove_staff(session, _session(session_id, "manage"), assignment_id, _user())


@bp.route("/<int:session_id>/candidates")
class Candidates(MethodView):
    @bp.response(200, CandidateSchema(many=True))
    @permission_required(Permission.INSTITUTION_MANAGE)
    def get(self, session_id: int) -> Any:
        """The session's candidates by room and seat; ID numbers masked."""
        return queries.candidates_of(get_session(), _session(session_id, "manage"))

    @bp.arguments(CandidateSchema)
    @bp.response(201, CandidateSchema)
    @permission_required(Permission.INSTITUTION_MANAGE)
    def post(self, body: dict[str, Any], session_id: int) -> Any:
        """Register one candidate: a ticket number unique in the session and the next free seat."""
        exam_session = _session(session_id, "manage")
        with unit_of_work() as session:
            return service.register_candidate(session, exam_session, actor=_user(), **body)


@bp.route("/<int:session_id>/candidates/import")
class ImportCandidates(MethodView):
    @bp.arguments(CandidateImportFormSchema, location="form")
    @bp.arguments(CandidateFileSchema, location="files")
    @bp.response(200, CandidateImportReportSchema)
    @bp.alt_response(422, schema=CandidateImportReportSchema)
    @permission_required(Permission.INSTITUTION_MANAGE)
    def post(self, form: dict[str, Any], files: dict[str, Any], session_id: int) -> Any:
        """Register the candidates of an Excel sheet; with any bad row, nothing (422 with the report)
        unless ``valid_rows_only``."""
        exam_session = _session(session_id, "manage")
        data = files["file"].read(candidates_import.MAX_BYTES + 1)
        with unit_of_work() as session:
            report = candidates_import.import_candidates(session, exam_session, data, _user(),
                                                         valid_rows_only=form["valid_rows_only"])
            result = report.to_dict()
        return result, (422 if report.errors and not report.imported else 200)


@bp.route("/<int:session_id>/rooms/<int:room_id>/roster")
class Roster(MethodView):
    @bp.response(200, RosterRowSchema(many=True))
    @permission_required(Permission.SESSION_INVIGILATE)
    def get(self, session_id: int, room_id: int) -> Any:
        """The room's candidates with live status, answered count, time left and last activity."""
        return console.roster(get_session(), _session(session_id, "console"), room_id, viewer=current_user)


@bp.route("/<int:session_id>/candidates/<int:candidate_id>/actions")
class CandidateAction(MethodView):
    @bp.arguments(ConsoleActionSchema)
    @bp.response(200, RosterRowSchema)
    @permission_required(Permission.SESSION_INVIGILATE)
    def post(self, body: dict[str, Any], session_id: int, candidate_id: int) -> Any:
        """Check in, pause, resume, grant extra time (minutes and a reason) or terminate (a reason)."""
        exam_session = _session(session_id, "console")
        with unit_of_work() as session:
            candidate = console.act(session, exam_session, _user(), candidate_id, body["action"],
                                    minutes=body["minutes"], reason=body["reason"])
            rows = console.roster(session, exam_session, candidate.room_id) if candidate.room_id else []
        return next(r for r in rows if r.candidate_id == candidate_id) if rows else None


def _room_action(session_id: int, room_id: int, reason: str, run: Any) -> dict[str, int]:
    exam_session = _session(session_id, "console")
    with unit_of_work() as session:
        return {"count": run(session, exam_session, room_id, _user(), reason)}


@bp.route("/<int:session_id>/rooms/<int:room_id>/pause")
class PauseRoom(MethodView):
    @bp.arguments(RoomActionSchema)
    @bp.response(200, RoomActionResultSchema)
    @permission_required(Permission.SESSION_INVIGILATE)
    def post(self, body: dict[str, Any], session_id: int, room_id: int) -> Any:
        """Pause every attempt in progress in the room; returns how many."""
        return _room_action(session_id, room_id, body["reason"], console.pause_room)


@bp.route("/<int:session_id>/rooms/<int:room_id>/resume")
class ResumeRoom(MethodView):
    @bp.arguments(RoomActionSchema)
    @bp.response(200, RoomActionResultSchema)
    @permission_required(Permission.SESSION_INVIGILATE)
    def post(self, body: dict[str, Any], session_id: int, room_id: int) -> Any:
        """Resume every paused attempt in the room (paused time is not counted); returns how many."""
        return _room_action(session_id, room_id, body["reason"], console.resume_room)


@bp.route("/<int:session_id>/incidents")
class Incidents(MethodView):
    @bp.response(200, IncidentSchema(many=True))
    @permission_required(Permission.SESSION_INVIGILATE)
    def get(self, session_id: int) -> Any:
        """The incident log (考场记录), newest first."""
        return console.incident_log(get_session(), _session(session_id, "console"))

    @bp.arguments(IncidentNoteSchema)
    @bp.response(201, IncidentSchema)
    @permission_required(Permission.SESSION_INVIGILATE)
    def post(self, body: dict[str, Any], session_id: int) -> Any:
        """Record a note about the session, a room or a candidate."""
        exam_session = _session(session_id, "console")
        with unit_of_work() as session:
            incident = console.record_note(session, exam_session, _user(), body["text"], room_id=body["room_id"],
                                           candidate_id=body["candidate_id"])
            return next(e for e in console.incident_log(session, exam_session) if e.incident.id == incident.id)
