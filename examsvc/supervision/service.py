"""Violation cases from opening to appeal (seed Art. 42-49), and the sanctions the platform carries out.

The steps, in the only order the service allows::

    reported ──accept──▶ open ──propose──▶ proposed ──notice──▶ notified ──decide──▶ decided
        (public report)   (finding, regulator)   (Art. 46: facts, reasons,      (Art. 47: written
                                                  basis, right to state)          or announced)
    decided ──objection within the window──▶ objected ──review──▶ reviewed ──appeal──▶ appealed
    reported/open/proposed/notified ──dismiss──▶ dismissed

Statements (陈述和申辩) are received while the case is ``notified``; the decision waits for one or
for the end of the statement period. The objection window is 5 working days from receipt of a
written decision or 35 from its announcement (Art. 48), counted by :mod:`.workdays`; an objection
after it is kept on the timeline as refused, naming the deadline. Sanctions listed in the decision
(or the review that amended it) are carried out while the decision stands. Nothing is deleted and
every step is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from examsvc import clock
from examsvc.audit.service import record
from examsvc.auth import Permission, require_permission
from examsvc.errors import Conflict, NotFound, ServiceError, ValidationFailed
from examsvc.notifications import hooks as notifications
from examsvc.institutions.jurisdiction import (
    REGION, jurisdiction_of, next_level, parse_jurisdiction, require_covers, require_region,
)
from examsvc.supervision import workdays
from examsvc.supervision.sanctions import carry_out
from examsvc.supervision.models import (
    SOURCES, SUBJECT_KINDS, CalendarOverride, Case, CaseEvent, ReportCounter, Sanction,
)

BEIJING = ZoneInfo("Asia/Shanghai")

#: Sanctions the platform carries out, and the subjects each applies to (Art. 44, 45).
SANCTION_KINDS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "cancel_results": (("candidate",), "取消认定结果", "Cancel the results"),
    "void_certificates": (("candidate",), "宣布证书作废并撤销上传数据", "Void certificates and revoke their uploaded data"),
    "recover_subsidy": (("candidate", "staff", "institution"), "追回补贴资金", "Recover subsidies"),
    "interview": (("institution",), "约谈主要负责人", "Interview the head of the institution"),
    "rectification": (("institution",), "限期整改", "Rectification within a deadline"),
    "suspend": (("institution",), "责令停止认定", "Order to stop certifying"),
    "terminate_filing": (("institution",), "终止备案", "Terminate the filing"),
}
REVIEW_OUTCOMES = ("upheld", "amended", "withdrawn")
DELIVERIES = ("written", "announced")
#: Default statement period after the notice (Art. 46 names none; the regulator may choose).
DEFAULT_STATEMENT_DAYS = 5


class ObjectionTooLate(Conflict):
    code = "case.objection_late"


class TooManyReports(ServiceError):
    status = 429
    code = "rate_limited"


def beijing_today() -> date:
    return clock.now().astimezone(BEIJING).date()


# --- calendar -------------------------------------------------------------------------------

def calendar_overrides(session: Session) -> dict[date, bool]:
    return {row.day: row.is_workday for row in session.scalars(select(CalendarOverride))}


#: The working-day calendar is one for the whole region: every jurisdiction's statutory deadlines
#: (Art. 46-48) count on it, so only the region's regulator changes it (issue 13, item 1).
CALENDAR_RULE = ("工作日日历（法定节假日和调休上班日）全区统一，各辖区的法定期限均据此计算，其调整",
                 "the working-day calendar (holidays and make-up working days) is one for the whole region and "
                 "every jurisdiction's statutory deadlines count on it; changing it")


def require_calendar_keeper(actor: Any) -> None:
    """Refuse anyone but the region's regulator, naming the rule (a league/city cannot change it)."""
    require_permission(actor, Permission.REGULATE)
    require_region(actor, *CALENDAR_RULE)


def add_calendar_days(session: Session, days: Iterable[tuple[date, bool]], note: str, actor: Any) -> list[CalendarOverride]:
    """Enter holidays (``False``) and make-up working days (``True``); a day already entered is refused.
    Region only (:func:`require_calendar_keeper`)."""
    require_calendar_keeper(actor)
    existing = calendar_overrides(session)
    rows = []
    for day, is_workday in days:
        if day in existing:
            raise Conflict(f"{day} 已录入", f"{day} is already entered", field="day")
        row = CalendarOverride(day=day, is_workday=is_workday, note=(note or "").strip()[:200],
                               created_by=actor.id, created_at=clock.now())
        session.add(row)
        rows.append(row)
        existing[day] = is_workday
    if not rows:
        raise ValidationFailed("请至少录入一天", "enter at least one day", field="days")
    session.flush()
    record(session, actor, "calendar.override", ("calendar", None),
           {"days": {d.isoformat(): w for d, w in days}, "note": note})
    return rows


def remove_calendar_day(session: Session, day: date, actor: Any) -> CalendarOverride:
    """Take an entered day off the calendar (region only); audited with what it was.

    Nothing is recomputed retroactively: a deadline computed earlier was recorded when it was
    computed (a case's statement deadline at the notice, its objection deadline at the decision)
    and keeps its value. Only deadlines computed afterwards (the next notice or decision, the
    deadline look-up) count on the calendar as it then stands; for a year the built-in calendar
    does not know, removing a year's last entry makes that year unknown again.
    """
    require_calendar_keeper(actor)
    row = session.scalar(select(CalendarOverride).where(CalendarOverride.day == day))
    if row is None:
        raise NotFound(f"{day} 未录入工作日日历", f"{day} is not entered in the working-day calendar", field="day")
    details = {"day": day.isoformat(), "is_workday": row.is_workday, "note": row.note}
    session.delete(row)
    session.flush()
    record(session, actor, "calendar.remove", ("calendar", None), details)
    return row


def add_working_days(session: Session, start: date, n: int) -> date:
    """:func:`workdays.add_working_days` with the administrators' calendar entries."""
    return workdays.add_working_days(start, n, calendar_overrides(session))


# --- reading --------------------------------------------------------------------------------

def get_case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"案件 {case_id} 不存在", f"case {case_id} not found", field="case_id")
    return case


def visible_case(session: Session, case_id: int, viewer: Any) -> Case:
    """A case as a regulator may see it: only of a jurisdiction it covers (or not yet triaged)."""
    case = get_case(session, case_id)
    if case.jurisdiction:
        require_covers(viewer, case.jurisdiction, f"案件 {case.reference}", f"case {case.reference}")
    return case


def list_cases(session: Session, status: str | None = None, limit: int = 200,
               jurisdictions: set[str] | None = None) -> list[Case]:
    """Newest first; with ``jurisdictions``, only their cases and reports not yet triaged."""
    query = select(Case).order_by(Case.id.desc()).limit(limit)
    if jurisdictions is not None:
        query = query.where(Case.jurisdiction.in_({"", *jurisdictions}))
    if status:
        query = query.where(Case.status == status)
    return list(session.scalars(query))


def last_event(case: Case, kind: str) -> CaseEvent | None:
    return next((e for e in reversed(case.events) if e.kind == kind), None)


def effective_sanctions(case: Case) -> list[str]:
    """The sanctions the standing decision orders: the decision's, or the review's (or the appeal's)
    when that amended it."""
    review = last_event(case, "appeal_decision") or last_event(case, "review_decision")
    if review is not None and review.details["outcome"] == "withdrawn":
        return []
    if review is not None and review.details["outcome"] == "amended":
        return list(review.details.get("sanctions", []))
    decision = last_event(case, "decision")
    return list(decision.details.get("sanctions", [])) if decision else []


@dataclass(frozen=True)
class NextAction:
    name: str
    zh: str
    en: str


_ACTIONS = {
    "reported": [NextAction("accept", "受理并立案", "Accept and open"), NextAction("dismiss", "不予立案", "Dismiss")],
    "open": [NextAction("propose", "拟作出处理决定", "Propose a decision"), NextAction("dismiss", "撤销案件", "Dismiss")],
    "proposed": [NextAction("notice", "告知拟处理决定", "Send the notice"), NextAction("dismiss", "撤销案件", "Dismiss")],
    "notified": [NextAction("statement", "记录陈述申辩", "Record a statement"), NextAction("decide", "作出处理决定", "Decide"),
                 NextAction("dismiss", "撤销案件", "Dismiss")],
    "decided": [NextAction("objection", "记录异议", "Record an objection"), NextAction("sanction", "执行处理", "Execute a sanction")],
    "objected": [NextAction("review", "作出复核决定", "Review decision")],
    "reviewed": [NextAction("appeal", "记录申诉", "Record an appeal"), NextAction("sanction", "执行处理", "Execute a sanction")],
    "appealed": [NextAction("appeal_decision", "作出申诉处理决定", "Decide the appeal"),
                 NextAction("sanction", "执行处理", "Execute a sanction")],
    "appeal_decided": [NextAction("sanction", "执行处理", "Execute a sanction")],
    "dismissed": [],
}


def next_actions(case: Case) -> list[NextAction]:
    actions = list(_ACTIONS.get(case.status, []))
    if case.status == "appealed" and appeal_authority(case) != REGION:
        actions = [a for a in actions if a.name != "appeal_decision"]  # the ministry decides, elsewhere
    if any(a.name == "sanction" for a in actions) and not pending_sanctions(case):
        actions = [a for a in actions if a.name != "sanction"]
    return actions


def pending_sanctions(case: Case) -> list[str]:
    """Ordered sanctions not carried out yet (a pending record does not count as carried out)."""
    if case.status not in ("decided", "reviewed", "appealed", "appeal_decided"):
        return []
    done = {s.kind for s in case.sanctions if s.status == "executed"}
    return [kind for kind in effective_sanctions(case) if kind not in done]


# --- steps ----------------------------------------------------------------------------------

def _text(value: str | None, field: str, name_zh: str, name_en: str, limit: int = 10000, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed(f"须填写{name_zh}", f"{name_en} is required", field=field)
    if len(value) > limit:
        raise ValidationFailed(f"{name_zh}不能超过{limit}个字符", f"{name_en} may have at most {limit} characters", field=field)
    return value


def _require_status(case: Case, *allowed: str, step_en: str, step_zh: str) -> None:
    if case.status not in allowed:
        raise Conflict(f"案件 {case.reference} 当前状态为 {case.status}，不能{step_zh}",
                       f"case {case.reference} is {case.status}: cannot {step_en} now (needs {' or '.join(allowed)})",
                       field="status", code="case.wrong_step")


def _append(session: Session, case: Case, kind: str, details: dict[str, Any], actor: Any,
            on_date: date | None = None) -> CaseEvent:
    seq = (session.scalar(select(func.max(CaseEvent.seq)).where(CaseEvent.case_id == case.id)) or 0) + 1
    now = clock.now()
    event = CaseEvent(case_id=case.id, seq=seq, kind=kind, on_date=on_date, details=details,
                      recorded_by=None if actor is None or isinstance(actor, str) else actor.id, recorded_at=now)
    session.add(event)
    case.updated_at = now
    session.flush()
    session.expire(case, ["events", "sanctions"])
    record(session, actor, f"case.{kind}", case, {"reference": case.reference, **details,
                                                   **({"on_date": on_date.isoformat()} if on_date else {})})
    return event


def _require_regulator(actor: Any, case: Case) -> None:
    """A regulator of the case's jurisdiction (a report not yet triaged has none: any regulator)."""
    require_permission(actor, Permission.REGULATE)
    if case.jurisdiction:
        require_covers(actor, case.jurisdiction, f"案件 {case.reference}", f"case {case.reference}")


def _subject_jurisdictions(session: Session, kind: str, subject_id: int) -> list[str]:
    """Where a case against the subject may be handled (Art. 43, "按照备案权限（包括站点备案）"):
    first the home jurisdiction (a candidate's: where the session was held; otherwise the
    institution's), then every league/city where the institution holds a site filing."""
    from examsvc.institutions.filing import site_filings
    from examsvc.institutions.models import Institution

    institution_id: int | None = subject_id if kind == "institution" else None
    place = None
    if kind == "candidate":
        from examsvc.sessions.models import Candidate, ExamSession

        institution_id, place = session.execute(select(ExamSession.institution_id, ExamSession.league_city).join(
            Candidate, Candidate.session_id == ExamSession.id).where(Candidate.id == subject_id)).one()
    elif kind == "staff":
        from examsvc.accounts.models import RoleGrant

        institution_id = session.scalar(select(RoleGrant.institution_id).where(
            RoleGrant.user_id == subject_id, RoleGrant.institution_id.is_not(None)).order_by(RoleGrant.id))
    institution = session.get(Institution, institution_id) if institution_id is not None else None
    if institution is None:
        return [REGION]
    home = [place] if place else [jurisdiction_of(institution)]
    sites = [s.league_city for s in site_filings(session, institution) if s.revoked_at is None]
    return list(dict.fromkeys([*home, jurisdiction_of(institution), *sites]))


def _jurisdiction_for(session: Session, kind: str, subject_id: int, given: str, actor: Any) -> str:
    """The case's jurisdiction: the given one if the subject may be handled there (the region always
    may), else the subject's home; the actor must cover it."""
    possible = _subject_jurisdictions(session, kind, subject_id)
    jurisdiction = parse_jurisdiction(given) if given.strip() else possible[0]
    if jurisdiction not in (*possible, REGION):
        raise ValidationFailed(f"当事人不属{jurisdiction}管辖（可为：{'、'.join(possible)}）",
                               f"the subject is not within {jurisdiction} (possible: {', '.join(possible)})",
                               field="jurisdiction")
    require_covers(actor, jurisdiction, "该当事人的违纪违规处理", "a case against this subject")
    return jurisdiction


def _new_reference(session: Session) -> str:
    year = beijing_today().year
    prefix = f"JG-{year}-"
    count = session.scalar(select(func.count()).select_from(Case).where(Case.reference.like(prefix + "%"))) or 0
    return f"{prefix}{count + 1:06d}"


def _check_subject(session: Session, kind: str, subject_id: int | None) -> str:
    """The subject's label; the subject must exist."""
    if kind not in SUBJECT_KINDS:
        raise ValidationFailed("当事人类别无效", f"subject kind must be one of {', '.join(SUBJECT_KINDS)}", field="subject_kind")
    if subject_id is None:
        raise ValidationFailed("须指明当事人", "the subject is required", field="subject_id")
    if kind == "institution":
        from examsvc.institutions.models import Institution

        row = session.get(Institution, subject_id)
        label = f"{row.name}（{row.code}）" if row else None
    elif kind == "candidate":
        from examsvc.sessions.models import Candidate

        row = session.get(Candidate, subject_id)
        label = f"{row.name}（{row.id_masked}）" if row else None
    else:
        from examsvc.accounts.models import User

        row = session.get(User, subject_id)
        label = f"{row.display_name}（{row.username}）" if row else None
    if label is None:
        raise NotFound(f"当事人 {kind} {subject_id} 不存在", f"{kind} {subject_id} not found", field="subject_id")
    return label


def open_case(session: Session, *, subject_kind: str, subject_id: int, source: str, facts: str,
              jurisdiction: str = "", actor: Any) -> Case:
    """Open a case from a finding or on a regulator's own initiative (立案)."""
    require_permission(actor, Permission.REGULATE)
    if source not in SOURCES or source == "public_report":
        raise ValidationFailed("案件来源无效", "source must be finding or regulator (public reports come through the form)",
                               field="source")
    label = _check_subject(session, subject_kind, subject_id)
    where = _jurisdiction_for(session, subject_kind, subject_id, jurisdiction, actor)
    now = clock.now()
    case = Case(reference=_new_reference(session), subject_kind=subject_kind, subject_id=subject_id, subject_label=label,
                source=source, facts=_text(facts, "facts", "事实", "facts"), jurisdiction=where,
                status="open", opened_by=actor.id, opened_at=now, updated_at=now)
    session.add(case)
    session.flush()
    _append(session, case, "opened", {"source": source, "subject_kind": subject_kind, "subject_id": subject_id,
                                      "subject": label}, actor, beijing_today())
    return case


def count_report(session: Session, client: str | None, *, limit: int, window_seconds: int) -> int:
    """Count one public report of ``client`` in the current fixed window (one upsert); refuse beyond ``limit``."""
    now = int(clock.now().timestamp())
    window_start = now - now % window_seconds
    table = ReportCounter.__table__
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(table).values(client=(client or "unknown")[:64], window_start=window_start, hits=1)
    hits = session.execute(statement.on_conflict_do_update(
        index_elements=["client", "window_start"], set_={"hits": table.c.hits + 1}).returning(table.c.hits)).scalar_one()
    session.execute(delete(table).where(table.c.window_start < window_start))
    if hits > limit:
        minutes = max(1, -(-(window_start + window_seconds - now) // 60))
        raise TooManyReports(f"举报过于频繁：每 {window_seconds // 60} 分钟最多 {limit} 次，请 {minutes} 分钟后再试",
                             f"too many reports: at most {limit} per {window_seconds // 60} minutes; "
                             f"try again in {minutes} minute(s)", field="facts")
    return hits


def submit_public_report(session: Session, *, subject_kind: str, subject_label: str, facts: str,
                         reporter_name: str = "", reporter_contact: str = "") -> Case:
    """A report from the public (Art. 42), anonymous if the reporter wishes: a case to triage."""
    if subject_kind not in SUBJECT_KINDS:
        raise ValidationFailed("请选择被举报对象类别", f"subject kind must be one of {', '.join(SUBJECT_KINDS)}",
                               field="subject_kind")
    label = _text(subject_label, "subject_label", "被举报对象", "who is reported", 200)
    now = clock.now()
    case = Case(reference=_new_reference(session), subject_kind=subject_kind, subject_id=None, subject_label=label,
                source="public_report", facts=_text(facts, "facts", "举报内容", "facts", 5000),
                status="reported",
                reporter_name=_text(reporter_name, "reporter_name", "姓名", "name", 100, required=False),
                reporter_contact=_text(reporter_contact, "reporter_contact", "联系方式", "contact", 200, required=False),
                opened_by=None, opened_at=now, updated_at=now)
    session.add(case)
    session.flush()
    _append(session, case, "reported", {"subject_kind": subject_kind, "subject": label,
                                        "anonymous": not case.reporter_name}, None, beijing_today())
    return case


def accept_report(session: Session, case: Case, *, subject_id: int, subject_kind: str | None = None,
                  jurisdiction: str = "", actor: Any) -> Case:
    """Triage a public report into an open case against an identified subject."""
    _require_regulator(actor, case)
    _require_status(case, "reported", step_en="accept it", step_zh="受理")
    kind = subject_kind or case.subject_kind
    label = _check_subject(session, kind, subject_id)
    case.subject_kind, case.subject_id, case.subject_label = kind, subject_id, label
    case.jurisdiction = _jurisdiction_for(session, kind, subject_id, jurisdiction, actor)
    case.status = "open"
    _append(session, case, "opened", {"source": "public_report", "subject_kind": kind, "subject_id": subject_id,
                                      "subject": label}, actor, beijing_today())
    return case


def dismiss_case(session: Session, case: Case, *, reason: str, actor: Any) -> Case:
    _require_regulator(actor, case)
    _require_status(case, "reported", "open", "proposed", "notified", step_en="dismiss it", step_zh="撤销")
    reason = _text(reason, "reason", "理由", "reason", 2000)
    case.status = "dismissed"
    _append(session, case, "dismissed", {"reason": reason}, actor, beijing_today())
    return case


def _sanction_list(case: Case, sanctions: Iterable[str]) -> list[str]:
    chosen = []
    for kind in sanctions:
        if kind not in SANCTION_KINDS:
            raise ValidationFailed(f"未知处理措施 {kind}", f"unknown sanction {kind}", field="sanctions")
        if case.subject_kind not in SANCTION_KINDS[kind][0]:
            raise ValidationFailed(f"“{SANCTION_KINDS[kind][1]}”不适用于该当事人",
                                   f"{kind} does not apply to the subject ({case.subject_kind})", field="sanctions")
        if kind not in chosen:
            chosen.append(kind)
    return chosen


def propose_decision(session: Session, case: Case, *, facts: str, reasons: str, basis: list[str],
                     sanctions: list[str], actor: Any) -> CaseEvent:
    """The proposed decision (拟作出的处理决定) with its facts, reasons and legal basis."""
    _require_regulator(actor, case)
    _require_status(case, "open", step_en="propose a decision", step_zh="拟作出处理决定")
    basis = [b.strip() for b in basis if b and b.strip()]
    if not basis:
        raise ValidationFailed("须写明依据（条款）", "the legal basis (articles) is required", field="basis")
    details = {"facts": _text(facts, "facts", "事实", "facts"), "reasons": _text(reasons, "reasons", "理由", "reasons"),
               "basis": basis, "sanctions": _sanction_list(case, sanctions)}
    case.status = "proposed"
    return _append(session, case, "proposed_decision", details, actor, beijing_today())


def send_notice(session: Session, case: Case, *, sent_on: date, statement_days: int = DEFAULT_STATEMENT_DAYS,
                actor: Any) -> CaseEvent:
    """Tell the party the proposed decision and its right to state and defend (Art. 46)."""
    _require_regulator(actor, case)
    _require_status(case, "proposed", step_en="send the notice", step_zh="告知")
    if not 1 <= statement_days <= 60:
        raise ValidationFailed("陈述申辩期限须为1至60个工作日", "the statement period is 1 to 60 working days",
                               field="statement_days")
    deadline = add_working_days(session, sent_on, statement_days)
    proposal = last_event(case, "proposed_decision")
    assert proposal is not None
    case.status, case.statement_deadline = "notified", deadline
    event = _append(session, case, "notice_sent",
                    {"right_to_state_and_defend": True, "statement_days": statement_days,
                     "statement_deadline": deadline.isoformat(), "proposal_seq": proposal.seq}, actor, sent_on)
    notifications.case_notice(session, case, event, actor)
    return event


def record_statement(session: Session, case: Case, *, received_on: date, text: str, actor: Any) -> CaseEvent:
    """A statement or defence (陈述、申辩) received from the party."""
    _require_regulator(actor, case)
    _require_status(case, "notified", step_en="record a statement", step_zh="记录陈述申辩")
    return _append(session, case, "statement_received", {"text": _text(text, "text", "陈述申辩内容", "statement")},
                   actor, received_on)


def decide(session: Session, case: Case, *, decision: str, basis: list[str], sanctions: list[str], delivery: str,
           delivered_on: date, actor: Any) -> CaseEvent:
    """The decision, delivered in writing (received on ``delivered_on``) or announced (Art. 47).

    Waits for a statement or for the end of the statement period; computes the objection
    deadline (Art. 48) and refuses when the calendar of its year is not known yet.
    """
    _require_regulator(actor, case)
    _require_status(case, "notified", step_en="decide", step_zh="作出处理决定")
    if delivery not in DELIVERIES:
        raise ValidationFailed("送达方式须为书面送达或公告", "delivery must be written or announced", field="delivery")
    today = beijing_today()
    heard = last_event(case, "statement_received") is not None
    if not heard and case.statement_deadline is not None and today <= case.statement_deadline:
        raise Conflict(f"当事人陈述申辩期限至 {case.statement_deadline}，期满或收到陈述申辩后方可作出决定",
                       f"the party may state and defend until {case.statement_deadline}: decide after that "
                       f"or after receiving a statement", field="status", code="case.statement_pending")
    if delivered_on > today:
        raise ValidationFailed("送达或公告日期不能晚于今天", "the delivery date cannot be in the future", field="delivered_on")
    basis = [b.strip() for b in basis if b and b.strip()]
    if not basis:
        raise ValidationFailed("须写明依据（条款）", "the legal basis (articles) is required", field="basis")
    deadline = workdays.objection_deadline(delivery, delivered_on, calendar_overrides(session))
    details = {"decision": _text(decision, "decision", "处理决定", "decision"), "basis": basis,
               "sanctions": _sanction_list(case, sanctions), "delivery": delivery,
               "delivered_on": delivered_on.isoformat(), "objection_deadline": deadline.isoformat(),
               "objection_days": workdays.OBJECTION_DAYS_WRITTEN if delivery == "written"
               else workdays.OBJECTION_DAYS_ANNOUNCED}
    case.status, case.objection_deadline = "decided", deadline
    event = _append(session, case, "decision", details, actor, delivered_on)
    notifications.case_decision(session, case, event, actor)
    return event


def file_objection(session: Session, case: Case, *, filed_on: date, text: str, actor: Any) -> CaseEvent:
    """A written objection (异议) to the decision; one after the deadline is kept as refused.

    Returns the event: ``details["accepted"]`` says which. Callers answer a refused one with
    :func:`late_objection_error` after committing, so that the refusal stays on file.
    """
    _require_regulator(actor, case)
    _require_status(case, "decided", step_en="record an objection", step_zh="记录异议")
    decision = last_event(case, "decision")
    assert decision is not None and case.objection_deadline is not None
    if filed_on < decision.on_date:
        raise ValidationFailed("异议日期不能早于决定送达或公告日期", "an objection cannot predate the decision's delivery",
                               field="filed_on")
    if filed_on > beijing_today():
        raise ValidationFailed("异议日期不能晚于今天", "the objection date cannot be in the future", field="filed_on")
    text = _text(text, "text", "异议内容", "objection")
    accepted = filed_on <= case.objection_deadline
    details = {"text": text, "accepted": accepted, "deadline": case.objection_deadline.isoformat()}
    if accepted:
        case.status = "objected"
    return _append(session, case, "objection", details, actor, filed_on)


def late_objection_error(case: Case, event: CaseEvent) -> ObjectionTooLate:
    deadline = event.details["deadline"]
    return ObjectionTooLate(f"异议期限已于 {deadline} 届满（{event.on_date} 提出），不予受理；已记录在案",
                            f"the objection period ended on {deadline} (objection of {event.on_date}): refused, "
                            f"and kept on file in case {case.reference}", field="filed_on")


def _outcome(case: Case, outcome: str, text: str, sanctions: list[str] | None, name_zh: str, name_en: str
             ) -> dict[str, Any]:
    """What a review or an appeal decides: the decision upheld, amended (new sanctions) or withdrawn."""
    if outcome not in REVIEW_OUTCOMES:
        raise ValidationFailed(f"{name_zh}结论须为维持、变更或撤销", "outcome must be upheld, amended or withdrawn",
                               field="outcome")
    details: dict[str, Any] = {"outcome": outcome, "text": _text(text, "text", name_zh, name_en)}
    if outcome == "amended":
        details["sanctions"] = _sanction_list(case, sanctions or [])
    done = {s.kind for s in case.sanctions if s.status == "executed"}
    if outcome != "upheld" and done:
        details["already_executed"] = sorted(done)  # to be undone outside the platform; kept on file
    return details


def review_decision(session: Session, case: Case, *, outcome: str, text: str, decided_on: date,
                    sanctions: list[str] | None = None, actor: Any) -> CaseEvent:
    """The review decision (复核决定) on an objection: upheld, amended (new sanctions) or withdrawn."""
    _require_regulator(actor, case)
    _require_status(case, "objected", step_en="decide the review", step_zh="作出复核决定")
    details = _outcome(case, outcome, text, sanctions, "复核决定", "review decision")
    case.status = "reviewed"
    event = _append(session, case, "review_decision", details, actor, decided_on)
    notifications.case_review(session, case, event, actor)
    return event


def appeal(session: Session, case: Case, *, filed_on: date, text: str, actor: Any, authority: str = "") -> CaseEvent:
    """An appeal (申诉) to the next-level regulator against the review decision (Art. 48): a
    league/city's case goes to the region, the region's to the ministry (outside the platform)."""
    _require_regulator(actor, case)
    _require_status(case, "reviewed", step_en="record an appeal", step_zh="记录申诉")
    case.status = "appealed"
    return _append(session, case, "appealed",
                   {"authority": _text(authority or next_level(case.jurisdiction or REGION), "authority",
                                       "受理申诉的上一级监管部门", "appeal authority", 200),
                    "text": _text(text, "text", "申诉内容", "appeal")}, actor, filed_on)


def appeal_authority(case: Case) -> str | None:
    appealed = last_event(case, "appealed")
    return appealed.details["authority"] if appealed is not None else None


def decide_appeal(session: Session, case: Case, *, outcome: str, text: str, decided_on: date,
                  sanctions: list[str] | None = None, actor: Any) -> CaseEvent:
    """The region's decision on an appeal against a league/city's review decision (Art. 48).

    An appeal against the region's own review goes to the ministry, outside the platform: its
    outcome is not recorded here.
    """
    require_permission(actor, Permission.REGULATE)
    _require_status(case, "appealed", step_en="decide the appeal", step_zh="作出申诉处理决定")
    authority = appeal_authority(case)
    if authority != REGION:
        raise Conflict(f"该申诉由{authority}处理，不在本平台作出决定",
                       f"the appeal is for {authority}, outside this platform", field="action")
    require_region(actor, "申诉的处理", "deciding an appeal")
    details = _outcome(case, outcome, text, sanctions, "申诉处理决定", "appeal decision")
    case.status = "appeal_decided"
    event = _append(session, case, "appeal_decision", details, actor, decided_on)
    notifications.case_appeal_decision(session, case, event, actor)
    return event


# --- sanctions ------------------------------------------------------------------------------

def execute_sanction(session: Session, case: Case, kind: str, *, actor: Any, note: str = "",
                     due_on: date | None = None, amount: str = "") -> Sanction:
    """Carry out one sanction the standing decision orders, on the platform's own records."""
    _require_regulator(actor, case)
    _require_status(case, "decided", "reviewed", "appealed", "appeal_decided", step_en="execute a sanction",
                    step_zh="执行处理")
    if kind not in effective_sanctions(case):
        raise Conflict(f"处理决定未包含“{SANCTION_KINDS.get(kind, (0, kind))[1]}”",
                       f"the standing decision does not order {kind}", field="kind", code="case.not_ordered")
    if any(s.kind == kind and s.status == "executed" for s in case.sanctions):
        raise Conflict("该处理已执行", f"{kind} was already executed", field="kind", code="case.already_executed")
    note = _text(note, "note", "说明", "note", 2000, required=False)
    if kind == "rectification" and due_on is None:
        raise ValidationFailed("须写明整改期限", "a rectification deadline is required", field="due_on")
    reason = f"案件 {case.reference}：{SANCTION_KINDS[kind][1]}"
    outcome = carry_out(kind, session, case, reason, actor)
    sanction = Sanction(case_id=case.id, kind=kind, status=outcome.status, targets=outcome.targets, due_on=due_on,
                        amount=(amount or "").strip()[:40], note="；".join(x for x in (note, outcome.note) if x),
                        executed_by=actor.id, executed_at=clock.now())
    session.add(sanction)
    session.flush()
    for change in outcome.links:  # score changes point to the sanction that made them
        change.source_id = sanction.id
    _append(session, case, "sanction_executed",
            {"kind": kind, "sanction_id": sanction.id, "status": sanction.status, "targets": sanction.targets,
             "note": sanction.note, **({"due_on": due_on.isoformat()} if due_on else {}),
             **({"amount": sanction.amount} if sanction.amount else {})}, actor, beijing_today())
    return sanction


def overdue(case: Case, today: date | None = None) -> bool:
    """Whether the case waits on a deadline that has passed (statement period or objection window)."""
    today = today or beijing_today()
    deadline = case.statement_deadline if case.status == "notified" else (
        case.objection_deadline if case.status == "decided" else None)
    return deadline is not None and today > deadline


__all__ = ["SANCTION_KINDS", "add_working_days", "open_case", "submit_public_report", "accept_report", "dismiss_case",
           "propose_decision", "send_notice", "record_statement", "decide", "file_objection", "review_decision",
           "appeal", "decide_appeal", "execute_sanction"]
