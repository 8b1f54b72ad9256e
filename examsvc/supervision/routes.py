"""Pages: the public report form (Art. 42) and the regulator's workspace (case list, case file with
its timeline and next steps, the working-day calendar).

Handlers parse the form, call one service function in a unit of work and redirect; a refused step
shows the case page again with the reason. A late objection is committed (it stays on file) and
then shown as refused with its deadline.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from examsvc.app import current_locale
from examsvc.auth import Permission, client_address, permission_required
from examsvc.db import get_session, unit_of_work
from examsvc.errors import Forbidden, NotFound, ServiceError, ValidationFailed
from examsvc.institutions.jurisdiction import JURISDICTIONS, REGION, next_level, visible_jurisdictions
from examsvc.supervision import service
from examsvc.supervision.models import STATUSES, SUBJECT_KINDS

bp = Blueprint("supervision", __name__)

#: Public reports per client address and window (Art. 42 form), unless configured otherwise.
REPORT_RATE_LIMIT = 5
REPORT_RATE_WINDOW_SECONDS = 3600


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def _actor() -> Any:
    return current_user._get_current_object()


def _zh() -> bool:
    return current_locale().startswith("zh")


def _message(exc: ServiceError) -> str:
    return exc.message if _zh() else exc.message_en


def parse_date(value: str | None, field: str) -> date:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        raise ValidationFailed("日期格式应为 YYYY-MM-DD", "a date is written YYYY-MM-DD", field=field) from None


def parse_int(value: str | None, field: str) -> int:
    try:
        return int((value or "").strip())
    except ValueError:
        raise ValidationFailed("须为整数", "a whole number is required", field=field) from None


def _lines(value: str | None) -> list[str]:
    return [line.strip() for line in (value or "").replace("，", "\n").replace(",", "\n").splitlines() if line.strip()]


def _names() -> dict[str, Any]:
    zh = _zh()
    return {
        "jurisdictions": JURISDICTIONS,
        "sanction_names": {k: (v[1] if zh else v[2]) for k, v in service.SANCTION_KINDS.items()},
        "subject_names": {"candidate": _("Candidate"), "staff": _("Staff member"), "institution": _("Institution")},
        "status_names": {"reported": _("Reported"), "open": _("Open"), "proposed": _("Decision proposed"),
                         "notified": _("Party notified"), "decided": _("Decided"), "objected": _("Objection under review"),
                         "reviewed": _("Reviewed"), "appealed": _("Appealed"),
                         "appeal_decided": _("Appeal decided"), "dismissed": _("Dismissed")},
        "event_names": {"reported": _("Report received"), "opened": _("Case opened"),
                        "proposed_decision": _("Proposed decision"), "notice_sent": _("Notice sent"),
                        "statement_received": _("Statement received"), "decision": _("Decision"),
                        "objection": _("Objection"), "review_decision": _("Review decision"),
                        "appealed": _("Appeal"), "appeal_decision": _("Appeal decision"),
                        "sanction_executed": _("Sanction executed"),
                        "dismissed": _("Dismissed")},
        "source_names": {"finding": _("Finding"), "public_report": _("Public report"), "regulator": _("Regulator")},
        "zh": zh,
    }


# --- public report (Art. 42) -----------------------------------------------------------------

def _report_page(error: ServiceError | None = None, status: int = 200, form: Any = None, reference: str | None = None) -> Any:
    return render_template("supervision/report.html", error=error, message=_message(error) if error else None,
                           form=form or {}, reference=reference, **_names()), status, {"Cache-Control": "no-store"}


@bp.route("/report")
def report_form() -> Any:
    return _report_page()


@bp.route("/report", methods=["POST"])
def report_submit() -> Any:
    config = current_app.config
    form = request.form
    try:
        with unit_of_work() as session:  # the count is committed on its own, even when the report is refused
            service.count_report(session, client_address(),
                                 limit=config.get("SUPERVISION_REPORT_RATE_LIMIT", REPORT_RATE_LIMIT),
                                 window_seconds=config.get("SUPERVISION_REPORT_RATE_WINDOW_SECONDS",
                                                           REPORT_RATE_WINDOW_SECONDS))
        with unit_of_work() as session:
            case = service.submit_public_report(session, subject_kind=form.get("subject_kind", ""),
                                                subject_label=form.get("subject_label", ""), facts=form.get("facts", ""),
                                                reporter_name=form.get("reporter_name", ""),
                                                reporter_contact=form.get("reporter_contact", ""))
    except ServiceError as exc:
        return _report_page(exc, exc.status, form)
    return _report_page(reference=case.reference)


# --- regulator workspace ---------------------------------------------------------------------

@bp.route("/supervision/cases")
@permission_required(Permission.REGULATE)
def list_cases() -> Any:
    status = request.args.get("status") or None
    if status not in (None, *STATUSES):
        status = None
    found = service.list_cases(get_session(), status, jurisdictions=visible_jurisdictions(current_user))
    today = service.beijing_today()
    return render_template("supervision/list.html", cases=found, status=status, statuses=STATUSES, today=today,
                           overdue={c.id for c in found if service.overdue(c, today)}, **_names())


def _new_page(error: ServiceError | None = None, status: int = 200, form: Any = None) -> Any:
    return render_template("supervision/new.html", error=error, message=_message(error) if error else None,
                           form=form or {}, subject_kinds=SUBJECT_KINDS, **_names()), status


@bp.route("/supervision/cases/new")
@permission_required(Permission.REGULATE)
def new_case() -> Any:
    return _new_page()


@bp.route("/supervision/cases/new", methods=["POST"])
@permission_required(Permission.REGULATE)
def create_case() -> Any:
    form = request.form
    try:
        with unit_of_work() as session:
            case = service.open_case(session, subject_kind=form.get("subject_kind", ""),
                                     subject_id=parse_int(form.get("subject_id"), "subject_id"),
                                     source=form.get("source", ""), facts=form.get("facts", ""),
                                     jurisdiction=form.get("jurisdiction", ""), actor=_actor())
    except (Forbidden, NotFound) as exc:
        if isinstance(exc, NotFound) and exc.field == "subject_id":
            return _new_page(exc, 422, form)
        raise
    except ServiceError as exc:
        return _new_page(exc, exc.status, form)
    flash(_("Case %(reference)s opened.", reference=case.reference))
    return redirect(url_for("supervision.show_case", case_id=case.id))


def _case_page(case_id: int, error: ServiceError | None = None, status: int = 200, form: Any = None,
               action: str | None = None) -> Any:
    session = get_session()
    case = service.visible_case(session, case_id, current_user)
    return render_template("supervision/case.html", case=case, actions=service.next_actions(case),
                           pending=service.pending_sanctions(case), ordered=service.effective_sanctions(case),
                           error=error, message=_message(error) if error else None, form=form or {}, failed=action,
                           today=service.beijing_today(), next_level=next_level(case.jurisdiction or REGION),
                           **_names()), status


@bp.route("/supervision/cases/<int:case_id>")
@permission_required(Permission.REGULATE)
def show_case(case_id: int) -> Any:
    return _case_page(case_id)


def _run_step(session: Any, case: Any, action: str, form: Any) -> Any:
    actor = _actor()
    if action == "accept":
        return service.accept_report(session, case, subject_id=parse_int(form.get("subject_id"), "subject_id"),
                                     subject_kind=form.get("subject_kind") or None,
                                     jurisdiction=form.get("jurisdiction", ""), actor=actor)
    if action == "dismiss":
        return service.dismiss_case(session, case, reason=form.get("reason", ""), actor=actor)
    if action == "propose":
        return service.propose_decision(session, case, facts=form.get("facts", ""), reasons=form.get("reasons", ""),
                                        basis=_lines(form.get("basis")), sanctions=form.getlist("sanctions"), actor=actor)
    if action == "notice":
        return service.send_notice(session, case, sent_on=parse_date(form.get("sent_on"), "sent_on"),
                                   statement_days=parse_int(form.get("statement_days") or str(service.DEFAULT_STATEMENT_DAYS),
                                                            "statement_days"), actor=actor)
    if action == "statement":
        return service.record_statement(session, case, received_on=parse_date(form.get("received_on"), "received_on"),
                                        text=form.get("text", ""), actor=actor)
    if action == "decide":
        return service.decide(session, case, decision=form.get("decision", ""), basis=_lines(form.get("basis")),
                              sanctions=form.getlist("sanctions"), delivery=form.get("delivery", ""),
                              delivered_on=parse_date(form.get("delivered_on"), "delivered_on"), actor=actor)
    if action == "objection":
        return service.file_objection(session, case, filed_on=parse_date(form.get("filed_on"), "filed_on"),
                                      text=form.get("text", ""), actor=actor)
    if action == "review":
        return service.review_decision(session, case, outcome=form.get("outcome", ""), text=form.get("text", ""),
                                       decided_on=parse_date(form.get("decided_on"), "decided_on"),
                                       sanctions=form.getlist("sanctions"), actor=actor)
    if action == "appeal":
        return service.appeal(session, case, filed_on=parse_date(form.get("filed_on"), "filed_on"),
                              authority=form.get("authority", ""), text=form.get("text", ""), actor=actor)
    if action == "appeal_decision":
        return service.decide_appeal(session, case, outcome=form.get("outcome", ""), text=form.get("text", ""),
                                     decided_on=parse_date(form.get("decided_on"), "decided_on"),
                                     sanctions=form.getlist("sanctions"), actor=actor)
    if action == "sanction":
        due = form.get("due_on", "").strip()
        return service.execute_sanction(session, case, form.get("kind", ""), actor=actor, note=form.get("note", ""),
                                        due_on=parse_date(due, "due_on") if due else None,
                                        amount=form.get("amount", ""))
    raise NotFound(f"未知步骤 {action}", f"unknown step {action}", field="action")


@bp.route("/supervision/cases/<int:case_id>/steps/<action>", methods=["POST"])
@permission_required(Permission.REGULATE)
def case_step(case_id: int, action: str) -> Any:
    try:
        with unit_of_work() as session:
            case = service.get_case(session, case_id)
            result = _run_step(session, case, action, request.form)
        if action == "objection" and not result.details["accepted"]:
            raise service.late_objection_error(case, result)
    except (Forbidden, NotFound):
        raise
    except ServiceError as exc:
        return _case_page(case_id, exc, exc.status, request.form, action)
    flash(_("Recorded."))
    return redirect(url_for("supervision.show_case", case_id=case_id))


# --- calendar --------------------------------------------------------------------------------

def _calendar_page(error: ServiceError | None = None, status: int = 200, form: Any = None) -> Any:
    from sqlalchemy import select

    from examsvc.supervision.models import CalendarOverride
    from examsvc.supervision.workdays import package_knows

    rows = list(get_session().scalars(select(CalendarOverride).order_by(CalendarOverride.day)))
    year = service.beijing_today().year
    coverage = [(y, package_knows(y), any(r.day.year == y for r in rows)) for y in range(year - 1, year + 3)]
    try:
        service.require_calendar_keeper(_actor())
        keeper = True
    except Forbidden:
        keeper = False
    return render_template("supervision/calendar.html", rows=rows, coverage=coverage, error=error, keeper=keeper,
                           message=_message(error) if error else None, form=form or {}, **_names()), status


def parse_calendar_lines(text: str) -> list[tuple[date, bool]]:
    """Lines ``2027-01-01 holiday`` or ``2027-01-02 workday`` (休 / 班 also accepted)."""
    days = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        kind = parts[1].lower() if len(parts) > 1 else ""
        if kind not in ("holiday", "workday", "休", "班"):
            raise ValidationFailed(f"第{number}行：须写明 holiday（休）或 workday（班）",
                                   f"line {number}: say holiday or workday after the date", field="days")
        days.append((parse_date(parts[0], "days"), kind in ("workday", "班")))
    return days


@bp.route("/supervision/calendar")
@permission_required(Permission.REGULATE)
def calendar() -> Any:
    return _calendar_page()


@bp.route("/supervision/calendar", methods=["POST"])
@permission_required(Permission.REGULATE)
def add_calendar_days() -> Any:
    try:
        with unit_of_work() as session:
            rows = service.add_calendar_days(session, parse_calendar_lines(request.form.get("days", "")),
                                             request.form.get("note", ""), _actor())
    except (Forbidden, NotFound):
        raise
    except ServiceError as exc:
        return _calendar_page(exc, exc.status, request.form)
    flash(_("%(count)s days entered.", count=len(rows)))
    return redirect(url_for("supervision.calendar"))


@bp.route("/supervision/calendar/<day>/remove", methods=["POST"])
@permission_required(Permission.REGULATE)
def remove_calendar_day(day: str) -> Any:
    """The region takes an entered day off the calendar (recorded deadlines keep their value)."""
    service.require_calendar_keeper(_actor())
    try:
        with unit_of_work() as session:
            service.remove_calendar_day(session, parse_date(day, "day"), _actor())
    except (Forbidden, NotFound):
        raise
    except ServiceError as exc:
        return _calendar_page(exc, exc.status)
    flash(_("The day was removed from the calendar; deadlines already recorded keep their value."))
    return redirect(url_for("supervision.calendar"))
