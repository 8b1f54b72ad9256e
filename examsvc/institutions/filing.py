"""Filing (备案) workflow: application → expert evaluation → public notice → publication in a batch.

Also renewals (seed Art. 15-16), change requests (Art. 13-14, 17-18) and site filings (Art. 12).
Applications arrive in writing (书面申请); the receiving regulator records them and every later step.

What is enforced: an application names its Art. 9 conditions each with an attached document and
declares every Art. 10 prohibition "not applicable"; notice needs the four evaluation methods
(report, document review, site visit, Q&A); publication needs the notice over and every objection
resolved and none upheld; a renewal is applied for in the three months before expiry and may drop
only occupations never certified. Site filings decide where a region-level institution may hold
sessions (:func:`may_work_in`), which session planning and opening check (Art. 12).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Iterable, Mapping

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from examsvc import clock
from examsvc.audit.service import record
from examsvc.errors import Conflict, NotFound, ValidationFailed
from examsvc.institutions.filing_models import (
    ApplicationStatus, ChangeRequest, CodeCounter, FilingApplication, FilingAttachment, FilingBatch,
    FilingEvaluation, FilingObjection, SiteFiling,
)
from examsvc.institutions.jurisdiction import REGION, jurisdiction_of, require_covers, require_region
from examsvc.institutions.models import Institution, InstitutionStatus, Tier
from examsvc.institutions.regions import LEAGUES_AND_CITIES
from examsvc.institutions.service import _scope_entry, filing_valid_until, register_institution, set_status
from examsvc.notifications import hooks as notifications
from itembank.errors import InvalidValue
from itembank.levels import parse_institution_kind

#: Art. 9 conditions: each needs a supporting document. ``kind_specific`` is (五) for the applicant's kind.
CONDITIONS: dict[str, tuple[str, str]] = {
    "legal_person": ("依法登记的独立法人，财务和管理制度规范，社会信用良好", "Registered independent legal person, sound finance and management, good credit"),
    "organisation": ("专门机构、专职人员、专家团队、场地设备（含视频监控）和安全措施", "Dedicated unit, staff, experts, premises and equipment (with video surveillance), safety"),
    "non_profit": ("社会效益优先，不以营利为目的，经费保障稳定", "Public benefit first, not for profit, stable funding"),
    "quality_control": ("完善的质量管控措施，自愿接受监督", "Quality control measures, accepts supervision"),
    "kind_specific": ("用人单位或社会培训评价组织的特定条件", "Conditions specific to an employer or a social training-evaluation organisation"),
}
#: Art. 10 prohibitions: the applicant declares each "not applicable".
PROHIBITIONS: dict[str, tuple[str, str]] = {
    "government_body": ("政府及其所属部门、未脱钩社会团体", "Government body, its institutions or attached associations"),
    "violations": ("机构及法定代表人在培训评价领域有违法违规及失信行为", "Violations or dishonesty in training or evaluation"),
    "annual_review": ("3年内民政部门年审不合格", "Failed a civil-affairs annual review within 3 years"),
    "illegal_organisation": ("在非法社会组织名单内", "Listed as an illegal social organisation"),
    "abnormal_business": ("3年内在企业经营异常目录内", "Listed for abnormal business operation within 3 years"),
    "bad_record": ("在人才评价领域有不良记录", "Bad record in talent evaluation"),
}
NOT_APPLICABLE = "not_applicable"
#: Art. 11 evaluation methods; the first four are required before public notice.
REQUIRED_METHODS = ("report", "document_review", "site_visit", "qa")
EVALUATION_METHODS = REQUIRED_METHODS + ("technical_check", "interview")
RENEWAL_WINDOW_MONTHS = 3
ATTACHMENT_TYPES = {"application/pdf", "image/png", "image/jpeg"}
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
ARCHIVE_DUTIES: tuple[tuple[str, str, str], ...] = (  # Art. 18 (and Art. 30's retention periods)
    ("archive_records", "做好资料存档（纸质≥3年，电子≥5年）", "Archive records (paper ≥ 3 years, electronic ≥ 5 years)"),
    ("issue_certificates", "完成已合格人员的证书核发", "Issue the certificates of people who already passed"),
    ("upload_certificate_data", "完成证书数据上传与维护", "Upload and maintain certificate data"),
    ("data_custody", "对资料、数据缺失或泄露承担主体责任", "Answer for any loss or leak of records and data"),
)


def _bad(field: str, zh: str, en: str) -> ValidationFailed:
    return ValidationFailed(zh, en, field=field)


def _user_id(actor: Any) -> int | None:
    return getattr(actor, "id", None)


# --- attachments ---------------------------------------------------------------------------

def _require_receiver(actor: Any, application: FilingApplication) -> None:
    """The regulator that receives the application (Art. 7-8): the region for region-level applicants,
    the league/city for its own."""
    where = application.league_city if application.tier == Tier.LEAGUE_CITY.value and application.league_city else REGION
    require_covers(actor, where, "该备案申请", "this filing application")


def store_attachment(session: Session, data: bytes, filename: str, media_type: str, actor: Any) -> str:
    """Keep a document once by its SHA-256; return the hash an application refers to."""
    if media_type not in ATTACHMENT_TYPES:
        raise _bad("file", "附件须为 PDF、PNG 或 JPEG", "an attachment must be a PDF, PNG or JPEG")
    if not data or len(data) > MAX_ATTACHMENT_BYTES:
        raise _bad("file", "附件为空或超过20MB", "the attachment is empty or larger than 20 MB")
    if media_type == "application/pdf" and not data.startswith(b"%PDF"):
        raise _bad("file", "文件不是 PDF", "the file is not a PDF")
    digest = hashlib.sha256(data).hexdigest()
    if session.get(FilingAttachment, digest) is None:
        session.add(FilingAttachment(sha256=digest, filename=filename[:255] or "attachment", media_type=media_type,
                                     size=len(data), data=data, uploaded_by=_user_id(actor), uploaded_at=clock.now()))
        session.flush()
        record(session, actor, "filing.attachment", ("filing_attachment", None), {"sha256": digest, "size": len(data)})
    return digest


# --- applications --------------------------------------------------------------------------

def _check_conditions(session: Session, conditions: Mapping[str, Any]) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    for key in CONDITIONS:
        entry = conditions.get(key)
        attachment = entry.get("attachment") if isinstance(entry, Mapping) else None
        if not attachment or session.get(FilingAttachment, attachment) is None:
            raise _bad(f"conditions.{key}", f"第九条条件“{CONDITIONS[key][0]}”缺少证明材料",
                       f"Art. 9 condition {key!r} needs an attached document")
        checked[key] = {"attachment": attachment, "note": str(entry.get("note", ""))[:500]}
    unknown = set(conditions) - set(CONDITIONS)
    if unknown:
        raise _bad("conditions", f"未知条件 {sorted(unknown)}", f"unknown conditions {sorted(unknown)}")
    return checked


def _check_declarations(declarations: Mapping[str, str]) -> dict[str, str]:
    for key in PROHIBITIONS:
        if declarations.get(key) != NOT_APPLICABLE:
            raise _bad(f"declarations.{key}", f"须声明不存在第十条禁止情形“{PROHIBITIONS[key][0]}”",
                       f"Art. 10 prohibition {key!r} must be declared not applicable")
    return {key: NOT_APPLICABLE for key in PROHIBITIONS}


def _check_scope(session: Session, kind: str, scope: Iterable[Iterable[str]]) -> list[list[str]]:
    pairs: list[list[str]] = []
    for pair in scope:
        occupation_code, level = list(pair)
        entry = _scope_entry(session, kind, str(occupation_code), str(level))
        if [entry.occupation_code, entry.level] not in pairs:
            pairs.append([entry.occupation_code, entry.level])
    if not pairs:
        raise _bad("scope", "须申报至少一个职业等级", "apply for at least one occupation and level")
    return pairs


def submit_application(session: Session, *, applicant_name: str, kind: str, tier: str, league_city: str | None,
                       scope: Iterable[Iterable[str]], conditions: Mapping[str, Any],
                       declarations: Mapping[str, str], actor: Any) -> FilingApplication:
    """Record a new filing application after the first review (初审) of its materials."""
    try:
        parsed_kind = parse_institution_kind(kind)
    except InvalidValue as exc:
        raise ValidationFailed.from_invalid_value(exc) from None
    name = applicant_name.strip()
    if not name or len(name) > 200:
        raise _bad("applicant_name", "申报单位名称不能为空且不超过200字", "the applicant's name is required (≤ 200)")
    if tier not in {t.value for t in Tier}:
        raise _bad("tier", f"未知层级 {tier}", f"tier must be region or league_city, got {tier!r}")
    if tier == Tier.LEAGUE_CITY.value and league_city not in LEAGUES_AND_CITIES:
        raise _bad("league_city", "盟市级机构须注明所在盟市", "a league/city institution needs its league or city")
    application = FilingApplication(
        purpose="new", applicant_name=name, kind=parsed_kind.value, tier=tier,
        league_city=league_city if tier == Tier.LEAGUE_CITY.value else None,
        requested_scope=_check_scope(session, parsed_kind.value, scope),
        conditions=_check_conditions(session, conditions), declarations=_check_declarations(declarations),
        status=ApplicationStatus.SUBMITTED.value, dropped_occupations=[],
        submitted_by=_user_id(actor), submitted_at=clock.now())
    session.add(application)
    session.flush()
    record(session, actor, "filing.submit", application, {"applicant": name, "scope": application.requested_scope})
    return application


def get_application(session: Session, application_id: int) -> FilingApplication:
    application = session.get(FilingApplication, application_id)
    if application is None:
        raise NotFound(f"备案申请 {application_id} 不存在", f"filing application {application_id} not found")
    return application


def _require_status(application: FilingApplication, *allowed: ApplicationStatus) -> None:
    if application.status not in {s.value for s in allowed}:
        raise Conflict(f"申请当前状态为 {application.status}，不能进行此操作",
                       f"the application is {application.status}: not allowed now", field="status")


def record_evaluation(session: Session, application: FilingApplication, *, method: str, score: float, notes: str,
                      actor: Any) -> FilingEvaluation:
    """Record one expert evaluation step (seed Art. 11) with its score (0-100) and notes."""
    _require_receiver(actor, application)
    _require_status(application, ApplicationStatus.SUBMITTED, ApplicationStatus.EVALUATED)
    if method not in EVALUATION_METHODS:
        raise _bad("method", f"未知评估方式 {method}", f"method must be one of {', '.join(EVALUATION_METHODS)}")
    if not 0 <= score <= 100:
        raise _bad("score", "评分应在0-100之间", "score must be between 0 and 100")
    evaluation = FilingEvaluation(method=method, score=float(score), notes=notes.strip(), evaluator_id=_user_id(actor),
                                  recorded_at=clock.now())
    application.evaluations.append(evaluation)
    application.status = ApplicationStatus.EVALUATED.value
    session.flush()
    record(session, actor, "filing.evaluate", application, {"method": method, "score": score})
    return evaluation


def missing_methods(application: FilingApplication) -> list[str]:
    done = {e.method for e in application.evaluations}
    return [m for m in REQUIRED_METHODS if m not in done]


def start_notice(session: Session, application: FilingApplication, *, start: date, end: date, actor: Any) -> None:
    """Put an evaluated new application under public notice (公示) from ``start`` to ``end``."""
    _require_receiver(actor, application)
    _require_status(application, ApplicationStatus.EVALUATED)
    if application.purpose != "new":
        raise Conflict("续期申请不经公示", "a renewal is not put under notice", field="purpose")
    missing = missing_methods(application)
    if missing:
        raise _bad("evaluations", f"尚缺评估：{'、'.join(missing)}", f"evaluation still missing: {', '.join(missing)}")
    if end < start:
        raise _bad("notice_end", "公示结束日期不能早于开始日期", "the notice cannot end before it starts")
    application.notice_start, application.notice_end = start, end
    application.status = ApplicationStatus.NOTICE.value
    record(session, actor, "filing.notice", application, {"start": start.isoformat(), "end": end.isoformat()})


def record_objection(session: Session, application: FilingApplication, *, raised_by: str, text: str,
                     received_on: date, actor: Any) -> FilingObjection:
    """An objection received during the notice period."""
    _require_status(application, ApplicationStatus.NOTICE)
    if not text.strip():
        raise _bad("text", "异议内容不能为空", "the objection's text is required")
    assert application.notice_start and application.notice_end
    if not application.notice_start <= received_on <= application.notice_end:
        raise _bad("received_on", "异议须在公示期内提出", "an objection must be received during the notice period")
    objection = FilingObjection(raised_by=raised_by.strip()[:200] or "匿名", text=text.strip(), received_on=received_on,
                                recorded_by=_user_id(actor))
    application.objections.append(objection)
    session.flush()
    record(session, actor, "filing.objection", application, {"objection": objection.id, "raised_by": objection.raised_by})
    return objection


def resolve_objection(session: Session, objection: FilingObjection, *, resolution: str, upheld: bool,
                      actor: Any) -> None:
    """Resolve an objection; an upheld one keeps the application from publication."""
    _require_receiver(actor, get_application(session, objection.application_id))
    if objection.resolved_at is not None:
        raise Conflict("异议已处理", "the objection is already resolved", field="objection")
    if not resolution.strip():
        raise _bad("resolution", "须说明处理结果", "a resolution is required")
    objection.resolution, objection.upheld = resolution.strip(), upheld
    objection.resolved_by, objection.resolved_at = _user_id(actor), clock.now()
    record(session, actor, "filing.objection_resolved", ("filing_application", objection.application_id),
           {"objection": objection.id, "upheld": upheld})


def reject_application(session: Session, application: FilingApplication, *, reason: str, actor: Any) -> None:
    _require_receiver(actor, application)
    _require_status(application, ApplicationStatus.SUBMITTED, ApplicationStatus.EVALUATED, ApplicationStatus.NOTICE)
    if not reason.strip():
        raise _bad("reason", "须说明不予备案的理由", "a reason is required")
    application.status, application.reason = ApplicationStatus.REJECTED.value, reason.strip()[:500]
    application.decided_by, application.decided_at = _user_id(actor), clock.now()
    record(session, actor, "filing.reject", application, {"reason": application.reason})
    notifications.application_rejected(session, application, actor)


# --- publication ---------------------------------------------------------------------------

def create_batch(session: Session, *, title: str, publication_date: date, actor: Any) -> FilingBatch:
    """A publication batch; outside April and October it is marked off-cycle (seed Art. 11)."""
    require_region(actor, "评价机构目录的发布", "publishing the directory of institutions")
    if not title.strip():
        raise _bad("title", "批次名称不能为空", "a title is required")
    batch = FilingBatch(title=title.strip()[:200], publication_date=publication_date,
                        off_cycle=publication_date.month not in (4, 10), created_by=_user_id(actor),
                        created_at=clock.now())
    session.add(batch)
    session.flush()
    record(session, actor, "filing.batch", batch, {"publication_date": publication_date.isoformat()})
    return batch


def publication_problems(application: FilingApplication, publication_date: date) -> list[str]:
    """Why ``application`` cannot be published on ``publication_date`` (empty when it can)."""
    problems = []
    if application.status != ApplicationStatus.NOTICE.value:
        problems.append(f"application {application.id} is {application.status}, not under notice")
    elif application.notice_end is None or application.notice_end >= publication_date:
        problems.append(f"the notice of application {application.id} is not over before publication")
    for objection in application.objections:
        if objection.resolved_at is None:
            problems.append(f"objection {objection.id} is not resolved")
        elif objection.upheld:
            problems.append(f"objection {objection.id} was upheld")
    return problems


def allocate_serials(session: Session, count: int) -> int:
    """Reserve ``count`` consecutive 6-digit serials; return the first (locks the counter row)."""
    counter = session.get(CodeCounter, "province", with_for_update=True)
    if counter is None:
        codes = session.scalars(select(Institution.code)).all()
        highest = max((int(c[-6:]) for c in codes if c[-6:].isdecimal()), default=0)
        try:
            with session.begin_nested():
                session.add(CodeCounter(name="province", last_serial=highest))
        except IntegrityError:  # another publisher created it first
            pass
        counter = session.get(CodeCounter, "province", with_for_update=True, populate_existing=True)
    assert counter is not None
    session.execute(update(CodeCounter).where(CodeCounter.name == "province")
                    .values(last_serial=CodeCounter.last_serial + count))
    session.refresh(counter)
    if counter.last_serial > 999_999:
        raise Conflict("机构序号已用完", "institution serials are exhausted", field="code")
    return counter.last_serial - count + 1


def institution_code(kind: str, serial: int) -> str:
    """S/Y, ``0000`` (filed with the province), ``15`` (Inner Mongolia), a 6-digit serial."""
    return f"{parse_institution_kind(kind).code_prefix}000015{serial:06d}"


def publish_batch(session: Session, batch: FilingBatch, application_ids: Iterable[int],
                  actor: Any) -> list[Institution]:
    """Publish applications in ``batch``: all or nothing, codes assigned in the order given."""
    require_region(actor, "评价机构目录的发布", "publishing the directory of institutions")
    if batch.published_at is not None:
        raise Conflict("该批次已公布", "the batch is already published", field="batch")
    applications = [get_application(session, i) for i in dict.fromkeys(application_ids)]
    if not applications:
        raise _bad("application_ids", "请选择要公布的申请", "choose the applications to publish")
    problems = [p for a in applications for p in publication_problems(a, batch.publication_date)]
    if problems:
        raise _bad("application_ids", "；".join(problems), "; ".join(problems))
    first = allocate_serials(session, len(applications))
    institutions = []
    for offset, application in enumerate(applications):
        serial = first + offset
        while session.scalar(select(Institution.id).where(Institution.code == institution_code(application.kind, serial))):
            serial = allocate_serials(session, 1)  # a code registered by hand: skip it
        institution = register_institution(
            session, code=institution_code(application.kind, serial), name=application.applicant_name,
            kind=application.kind, tier=application.tier, league_city=application.league_city,
            published_on=batch.publication_date, scope=[tuple(p) for p in application.requested_scope], actor=actor)
        application.institution_id, application.batch_id = institution.id, batch.id
        application.status = ApplicationStatus.PUBLISHED.value
        application.decided_by, application.decided_at = _user_id(actor), clock.now()
        institutions.append(institution)
    batch.published_at = clock.now()
    record(session, actor, "filing.publish", batch, {"institutions": [i.code for i in institutions]})
    return institutions


# --- renewal (Art. 15-16) ------------------------------------------------------------------

def renewal_window(institution: Institution) -> tuple[date, date]:
    """The days a renewal may be applied for: the last three months of the filing."""
    end = institution.valid_until
    month = end.month - RENEWAL_WINDOW_MONTHS
    year = end.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    day = min(end.day, [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30,
                        31, 31, 30, 31, 30, 31][month - 1])
    return date(year, month, day), end


def certified_occupations(session: Session, institution: Institution) -> set[str]:
    """Occupations ``institution`` has certified: a pass record, or a session that was held."""
    from examsvc.bank.models import ExamBlueprint
    from examsvc.grading.models import PassRecord
    from examsvc.sessions.models import ExamSession, SessionStatus

    passed = set(session.scalars(select(PassRecord.occupation_code).where(PassRecord.institution_id == institution.id)))
    held = set(session.scalars(
        select(ExamBlueprint.occupation_code).join(ExamSession, ExamSession.blueprint_id == ExamBlueprint.id)
        .where(ExamSession.institution_id == institution.id, ExamSession.status != SessionStatus.PLANNED.value)))
    return passed | held


def never_certified(session: Session, institution: Institution) -> list[str]:
    """Occupations in the scope the institution never certified: a renewal may drop them (Art. 16)."""
    done = certified_occupations(session, institution)
    return sorted({e.occupation_code for e in institution.scope} - done)


def apply_for_renewal(session: Session, institution: Institution, *, conditions: Mapping[str, Any],
                      declarations: Mapping[str, str], actor: Any, today: date | None = None) -> FilingApplication:
    """A renewal application, within the three months before the filing expires, recorded by the
    regulator of the institution's jurisdiction (Art. 7-8: the region for a region-level one)."""
    require_covers(actor, jurisdiction_of(institution), "该机构的备案续期", "this institution's renewal")
    today = today or clock.now().date()
    if institution.status == InstitutionStatus.TERMINATED.value:
        raise Conflict("备案已终止，不能续期", "a terminated filing cannot be renewed", field="institution")
    start, end = renewal_window(institution)
    if not start <= today <= end:
        raise _bad("institution", f"续期申请须在{start}至{end}之间提出",
                   f"a renewal is applied for between {start} and {end}")
    pending = session.scalar(select(FilingApplication.id).where(
        FilingApplication.institution_id == institution.id, FilingApplication.purpose == "renewal",
        FilingApplication.status.in_([ApplicationStatus.SUBMITTED.value, ApplicationStatus.EVALUATED.value])))
    if pending is not None:
        raise Conflict(f"已有续期申请 {pending} 在办理中", f"renewal application {pending} is already pending",
                       field="institution")
    application = FilingApplication(
        purpose="renewal", applicant_name=institution.name, kind=institution.kind, tier=institution.tier,
        league_city=institution.league_city,
        requested_scope=[[e.occupation_code, e.level] for e in institution.scope],
        conditions=_check_conditions(session, conditions), declarations=_check_declarations(declarations),
        status=ApplicationStatus.SUBMITTED.value, institution_id=institution.id, dropped_occupations=[],
        submitted_by=_user_id(actor), submitted_at=clock.now())
    session.add(application)
    session.flush()
    record(session, actor, "filing.renewal_submit", application, {"institution": institution.code})
    return application


def grant_renewal(session: Session, application: FilingApplication, *, drop_occupations: Iterable[str] = (),
                  actor: Any) -> Institution:
    """Extend the filing by three years after the renewal evaluation, dropping occupations never certified."""
    _require_receiver(actor, application)
    _require_status(application, ApplicationStatus.EVALUATED)
    if application.purpose != "renewal" or application.institution_id is None:
        raise Conflict("不是续期申请", "not a renewal application", field="purpose")
    institution = session.get(Institution, application.institution_id)
    assert institution is not None
    drop = sorted(set(drop_occupations))
    allowed = set(never_certified(session, institution))
    wrong = [code for code in drop if code not in allowed]
    if wrong:
        raise _bad("drop_occupations", f"只能取消从未开展认定的职业：{'、'.join(wrong)}已开展或不在范围内",
                   f"only occupations never certified may be dropped: {', '.join(wrong)}")
    if drop and len({e.occupation_code for e in institution.scope} - set(drop)) == 0:
        raise _bad("drop_occupations", "不能取消全部职业", "a renewal cannot drop every occupation")
    for entry in [e for e in institution.scope if e.occupation_code in drop]:
        institution.scope.remove(entry)
    old = institution.valid_until
    institution.valid_until = filing_valid_until(old + timedelta(days=1))
    application.dropped_occupations = drop
    application.status = ApplicationStatus.PUBLISHED.value
    application.decided_by, application.decided_at = _user_id(actor), clock.now()
    session.flush()
    record(session, actor, "filing.renew", institution, {"from": old.isoformat(),
                                                        "to": institution.valid_until.isoformat(), "dropped": drop})
    notifications.renewal_granted(session, institution, application, actor)
    return institution


# --- changes (Art. 13-14) and termination (Art. 17-18) -------------------------------------

BASIC_FIELDS = ("name", "contact", "phone", "address")


def request_change(session: Session, institution: Institution, *, kind: str, changes: Mapping[str, Any],
                   reason: str, actor: Any) -> ChangeRequest:
    """A written request: ``basic`` {name, contact, phone, address}, ``scope`` {add: [[o, l]], remove:
    [[o, l]]}, or ``termination`` (voluntary end of the filing)."""
    if institution.status == InstitutionStatus.TERMINATED.value:
        raise Conflict("备案已终止", "the filing is terminated", field="institution")
    if not reason.strip():
        raise _bad("reason", "须说明变更理由", "a reason is required")
    if kind == "basic":
        data = {k: str(changes[k]).strip() for k in BASIC_FIELDS if str(changes.get(k) or "").strip()}
        if not data:
            raise _bad("changes", f"请填写要变更的基础信息（{', '.join(BASIC_FIELDS)}）",
                       f"name at least one of {', '.join(BASIC_FIELDS)}")
        if len(data.get("name", "")) > 200:
            raise _bad("changes.name", "名称不超过200字", "the name has at most 200 characters")
    elif kind == "scope":
        add = _check_scope(session, institution.kind, changes.get("add") or []) if changes.get("add") else []
        current = {(e.occupation_code, e.level) for e in institution.scope}
        remove = [[str(o), str(lv)] for o, lv in (changes.get("remove") or [])]
        if any(tuple(p) not in current for p in remove):
            raise _bad("changes.remove", "要取消的职业等级不在备案范围内", "a pair to remove is not in the scope")
        if any(tuple(p) in current for p in add):
            raise _bad("changes.add", "要增加的职业等级已在备案范围内", "a pair to add is already in the scope")
        if not add and not remove:
            raise _bad("changes", "请填写要增加或取消的职业等级", "name pairs to add or remove")
        if len(current) - len(remove) + len(add) < 1:
            raise _bad("changes.remove", "备案范围不能为空", "the scope cannot become empty")
        data = {"add": add, "remove": remove}
    elif kind == "termination":
        data = {"archive_duties": [{"key": k, "zh": zh, "en": en, "done": False} for k, zh, en in ARCHIVE_DUTIES]}
    else:
        raise _bad("kind", "变更类型应为基础信息、范围或终止", "kind must be basic, scope or termination")
    change = ChangeRequest(institution_id=institution.id, kind=kind, changes=data, reason=reason.strip()[:500],
                           status="pending", requested_by=_user_id(actor), requested_at=clock.now())
    session.add(change)
    session.flush()
    record(session, actor, "institution.change_request", change, {"kind": kind, "changes": data})
    return change


def decide_change(session: Session, change: ChangeRequest, *, approve: bool, note: str, actor: Any) -> ChangeRequest:
    """Approve (and apply) or reject a change request; a termination sets the status terminated."""
    require_covers(actor, jurisdiction_of(session.get(Institution, change.institution_id)), "该机构的变更",
                   "this institution's change")
    if change.status != "pending":
        raise Conflict("该申请已处理", "the request is already decided", field="status")
    institution = session.get(Institution, change.institution_id)
    assert institution is not None
    if approve:
        if change.kind == "basic" and "name" in change.changes:
            institution.name = change.changes["name"]
        elif change.kind == "scope":
            current = {(e.occupation_code, e.level): e for e in institution.scope}
            for occupation_code, level in change.changes["remove"]:
                institution.scope.remove(current[(occupation_code, level)])
            session.flush()
            for occupation_code, level in change.changes["add"]:
                institution.scope.append(_scope_entry(session, institution.kind, occupation_code, level))
        elif change.kind == "termination":
            set_status(session, institution, InstitutionStatus.TERMINATED,
                       f"自愿终止（变更申请 {change.id}）：{change.reason}", actor)
    change.status = "approved" if approve else "rejected"
    change.decided_by, change.decided_at, change.decision_note = _user_id(actor), clock.now(), note.strip()[:500] or None
    session.flush()
    record(session, actor, "institution.change_decided", change, {"approve": approve, "kind": change.kind})
    notifications.change_decided(session, institution, change, actor)
    return change


def mark_archive_duty(session: Session, change: ChangeRequest, key: str, actor: Any) -> None:
    """Tick off one archive duty (Art. 18) of an approved termination."""
    if change.kind != "termination" or change.status != "approved":
        raise Conflict("只有已批准的终止申请有存档义务", "only an approved termination has archive duties", field="kind")
    duties = [dict(d) for d in change.changes["archive_duties"]]
    if key not in {d["key"] for d in duties}:
        raise _bad("key", f"未知义务 {key}", f"unknown duty {key}")
    for duty in duties:
        if duty["key"] == key:
            duty["done"] = True
    change.changes = {**change.changes, "archive_duties": duties}
    record(session, actor, "institution.archive_duty", change, {"key": key})


# --- site filings (Art. 12) ----------------------------------------------------------------

def file_site(session: Session, institution: Institution, league_city: str, actor: Any) -> SiteFiling:
    """Record a region-level institution's approved site filing in a league or city."""
    if institution.tier != Tier.REGION.value:
        raise _bad("institution", "盟市级机构在本盟市开展认定，无需站点备案",
                   "a league/city institution works in its own league/city: no site filing")
    if league_city not in LEAGUES_AND_CITIES:
        raise _bad("league_city", "未知盟市", "unknown league or city")
    require_covers(actor, league_city, f"{league_city}的站点备案", f"a site filing in {league_city}")
    existing = session.scalar(select(SiteFiling).where(SiteFiling.institution_id == institution.id,
                                                       SiteFiling.league_city == league_city))
    if existing is not None and existing.revoked_at is None:
        raise Conflict("该盟市站点已备案", "the site is already filed", field="league_city")
    if existing is not None:
        existing.revoked_at, existing.approved_at, existing.approved_by = None, clock.now(), _user_id(actor)
        site = existing
    else:
        site = SiteFiling(institution_id=institution.id, league_city=league_city, approved_by=_user_id(actor),
                          approved_at=clock.now())
        session.add(site)
    session.flush()
    record(session, actor, "institution.site_filing", institution, {"league_city": league_city})
    return site


def site_filings(session: Session, institution: Institution) -> list[SiteFiling]:
    return list(session.scalars(select(SiteFiling).where(SiteFiling.institution_id == institution.id)
                                .order_by(SiteFiling.league_city)))


def revoke_site(session: Session, institution: Institution, league_city: str, *, reason: str, actor: Any) -> SiteFiling:
    """The league/city withdraws a site filing: sessions there can no longer open (Art. 12)."""
    site = session.scalar(select(SiteFiling).where(SiteFiling.institution_id == institution.id,
                                                   SiteFiling.league_city == league_city,
                                                   SiteFiling.revoked_at.is_(None)))
    if site is None:
        raise NotFound(f"{institution.name}在{league_city}没有有效的站点备案",
                       f"{institution.code} has no site filing in force in {league_city}", field="league_city")
    require_covers(actor, league_city, f"{league_city}的站点备案", f"a site filing in {league_city}")
    reason = (reason or "").strip()
    if not reason or len(reason) > 500:
        raise _bad("reason", "须说明撤销理由（不超过500字）", "a reason of at most 500 characters is required")
    site.revoked_at = clock.now()
    session.flush()
    record(session, actor, "institution.site_filing_revoked", institution, {"league_city": league_city,
                                                                           "reason": reason})
    notifications.site_revoked(session, institution, league_city, reason, actor)
    return site


def may_work_in(session: Session, institution: Institution, league_city: str) -> bool:
    """Whether ``institution`` may hold sessions in ``league_city`` (planning and opening a session check it)."""
    if institution.tier == Tier.LEAGUE_CITY.value:
        return institution.league_city == league_city
    return session.scalar(select(func.count()).select_from(SiteFiling).where(
        SiteFiling.institution_id == institution.id, SiteFiling.league_city == league_city,
        SiteFiling.revoked_at.is_(None))) > 0


@dataclass(frozen=True)
class DirectoryEntry:
    institution: Institution
    scope: list[tuple[str, str, str]]  # occupation code, occupation name, level
    sites: list[str]


def directory(session: Session) -> list[DirectoryEntry]:
    """The public directory: every filed institution with its scope, validity, status and sites."""
    from examsvc.reference.models import Occupation

    names = dict(session.execute(select(Occupation.code, Occupation.name)).all())
    sites: dict[int, list[str]] = {}
    for site in session.scalars(select(SiteFiling).where(SiteFiling.revoked_at.is_(None))
                                .order_by(SiteFiling.league_city)):
        sites.setdefault(site.institution_id, []).append(site.league_city)
    return [DirectoryEntry(i, [(e.occupation_code, names.get(e.occupation_code, ""), e.level) for e in i.scope],
                           sites.get(i.id, []))
            for i in session.scalars(select(Institution).order_by(Institution.code))]

