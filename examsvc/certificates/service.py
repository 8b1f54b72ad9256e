"""Issuing and voiding certificates (颁发、宣布作废).

A certificate is issued only from a :class:`~examsvc.grading.models.PassRecord` whose scores
are confirmed passes, by the institution that evaluated, within its filed scope on the issue
date (seed Art. 19, 28: 谁评价、谁发证、谁负责), and only once per pass record. Several pass records
are issued all or nothing: every record is checked first and one refusal lists every problem.
Voiding needs a reason, its category, a regulator of the institution's jurisdiction and an open
supervision case against the holder or the institution (seed Art. 43-44); it adds a
void decision and a revocation record for the upload data and never touches the certificate.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable, Sequence

from sqlalchemy import bindparam, func, insert, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from examsvc import clock
from examsvc.audit.service import record
from examsvc.auth import Permission, require_permission
from examsvc.certificates.models import (
    VOID_REASONS, Certificate, CertificateRevocation, CertificateVoid,
)
from examsvc.certificates.numbers import allocate_serials, beijing_date, format_number, level_digit
from examsvc.errors import Conflict, Forbidden, NotFound, ServiceError, ValidationFailed
from examsvc.grading.models import ComponentScore, PassRecord, ResultPublication
from examsvc.grading.results import required_components
from examsvc.institutions.jurisdiction import covers, jurisdiction_of
from examsvc.institutions.models import Institution
from examsvc.institutions.service import can_certify
from examsvc.reference.models import Occupation
from examsvc.sessions.models import ExamSession
from itembank.errors import InvalidValue
from itembank.levels import parse_level

COMPONENT_NAMES = {"theory": ("理论知识", "Theory"), "skill": ("操作技能", "Skill"), "review": ("综合评审", "Review")}
_CHUNK = 5000  # ids per IN (...) list


@dataclass(frozen=True)
class Problem:
    """Why one pass record (or certificate) cannot be issued (or exported)."""

    subject: str          # "pass record 12" or a certificate number
    field: str
    message: str
    message_en: str


class CannotIssue(ValidationFailed):
    """A refusal that lists every problem found; ``message`` names the first one."""

    code = "certificate.cannot_issue"

    def __init__(self, problems: Sequence[Problem]):
        first = problems[0]
        more = f"（另有 {len(problems) - 1} 个问题）" if len(problems) > 1 else ""
        more_en = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        super().__init__(f"不能颁发证书：{first.subject}：{first.message}{more}",
                         f"cannot issue: {first.subject}: {first.message_en}{more_en}", field=first.field)
        self.problems = list(problems)


def ids_in(column: Any, ids: Iterable[int]) -> Iterable[Any]:
    """``column IN (...)`` conditions covering ``ids``, a few thousand at a time.

    The integers are written into the SQL (``literal_execute``) rather than bound one parameter
    each: the driver then has no thousands of placeholders to parse, and SQLite no parameter
    limit to meet. Only for integer ids, which cannot carry SQL.
    """
    ordered = sorted({int(i) for i in ids})
    for start in range(0, len(ordered), _CHUNK):
        yield column.in_(bindparam(None, ordered[start:start + _CHUNK], expanding=True, literal_execute=True))


# --- the confirmed-pass check (also used by the export) -------------------------------------------

def pass_problems(session: Session, records: Sequence[PassRecord]) -> dict[int, list[Problem]]:
    """Problems of each pass record that keep it from being a confirmed pass of its institution.

    Every referenced score must exist, be a pass, match the pass record, belong to a session of the
    record's institution whose results are confirmed; together they must cover every component the
    level requires. Loads what it needs in a few queries, whatever the number of records.
    """
    score_ids = {sid for r in records for sid in (r.score_ids or [])}
    scores: dict[int, Any] = {}
    for condition in ids_in(ComponentScore.id, score_ids):
        for row in session.execute(select(ComponentScore.id, ComponentScore.session_id, ComponentScore.component,
                                          ComponentScore.score, ComponentScore.passed).where(condition)):
            scores[row.id] = row
    session_ids = {s.session_id for s in scores.values()}
    owners: dict[int, int] = {}
    confirmed: dict[int, Any] = {}
    for condition in ids_in(ExamSession.id, session_ids):
        owners.update(session.execute(select(ExamSession.id, ExamSession.institution_id).where(condition)).all())
    for condition in ids_in(ResultPublication.session_id, session_ids):
        confirmed.update(session.execute(select(ResultPublication.session_id, ResultPublication.confirmed_at)
                                         .where(condition)).all())
    now = clock.now()
    found: dict[int, list[Problem]] = {}
    for pass_record in records:
        subject = f"pass record {pass_record.id}"
        problems: list[Problem] = []

        def problem(field: str, zh: str, en: str) -> None:
            problems.append(Problem(subject, field, zh, en))

        try:
            level = parse_level(pass_record.level)
        except InvalidValue as exc:
            problem("level", exc.message, exc.message_en)
            found[pass_record.id] = problems
            continue
        if not pass_record.score_ids:
            problem("score_ids", "合格记录没有关联任何成绩", "the pass record refers to no scores")
        covered: set[str] = set()
        for sid in pass_record.score_ids or []:
            row = scores.get(sid)
            if row is None:
                problem("score_ids", f"成绩 {sid} 不存在", f"score {sid} does not exist")
                continue
            zh_name, en_name = COMPONENT_NAMES.get(row.component, (row.component, row.component))
            if not row.passed:
                problem("scores", f"{zh_name}成绩 {row.score:g} 分，未合格：不合格者不发证",
                        f"{en_name} score {row.score:g} is a fail: no certificate for a fail")
            elif pass_record.scores.get(row.component) is not None and \
                    abs(float(pass_record.scores[row.component]) - row.score) > 1e-9:
                problem("scores", f"{zh_name}成绩已改为 {row.score:g} 分，与合格记录不符",
                        f"the {en_name} score is now {row.score:g}, not what the pass record says")
            if owners.get(row.session_id) != pass_record.institution_id:
                problem("institution", f"成绩 {sid} 不是本机构评价的（谁评价、谁发证）",
                        f"score {sid} was not evaluated by this institution (who evaluates, certifies)")
            if confirmed.get(row.session_id) is None:
                problem("confirmed_at", f"场次 {row.session_id} 的成绩尚未确认（公示期满后确认）",
                        f"the results of session {row.session_id} are not confirmed yet")
            covered.add(row.component)  # a failed one is reported above
        missing = sorted(required_components(level) - covered)
        if missing and pass_record.score_ids:
            names = "、".join(COMPONENT_NAMES[c][0] for c in missing)
            problem("scores", f"{level.name_zh}还须{names}合格", f"{level.name_en} also needs a pass in "
                    + ", ".join(COMPONENT_NAMES[c][1] for c in missing))
        if pass_record.confirmed_at is None or pass_record.confirmed_at > now:
            problem("confirmed_at", "成绩尚未确认", "the results are not confirmed")
        if problems:
            found[pass_record.id] = problems
    return found


# --- issuing ---------------------------------------------------------------------------------

def issue_certificate(session: Session, pass_record: PassRecord, actor: Any) -> Certificate:
    """Issue the certificate of one confirmed pass (the results code calls this on confirmation).

    ``actor`` is the user issuing (who must manage the pass record's institution) or a system
    name such as ``"cli"``. Raises :class:`CannotIssue` (422) for a record that is not a
    confirmed pass within the institution's scope, :class:`~examsvc.errors.Conflict` (409) for
    a second issue of the same pass. Nothing is written when it raises.
    """
    return session.get(Certificate, issue_certificates(session, [pass_record], actor)[0].id)


@dataclass(frozen=True)
class Issued:
    """What a batch issue reports of each certificate (load the row for the rest)."""

    id: int
    number: str
    pass_record_id: int
    serial: int


def issue_certificates(session: Session, records: Sequence[PassRecord], actor: Any,
                       subject: Any = None) -> list[Issued]:
    """Issue one certificate per pass record, all or nothing, numbers in the order given.

    Serials are reserved in one block per (institution, year, level digit), counters locked in
    a fixed order so that concurrent issuers cannot deadlock. One audit event covers the batch
    (``certificate.issue`` for one record, ``certificate.issue_batch`` with every number else).
    The rows are written with one executemany and not loaded back: a batch of ten thousand
    answers with their ids and numbers.
    """
    if not records:
        return []
    ids = [r.id for r in records]
    if len(set(ids)) != len(ids):
        duplicate = next(i for i in ids if ids.count(i) > 1)
        raise Conflict(f"合格记录 {duplicate} 重复出现，一个合格记录只发一本证书",
                       f"pass record {duplicate} appears twice: one certificate per pass", field="pass_record_id",
                       code="certificate.already_issued")
    if session.get_bind().dialect.name == "sqlite":
        # Take SQLite's write lock before reading: a read transaction that later writes fails
        # outright if another issuer committed in between (PostgreSQL queues on the counter row).
        session.execute(text("UPDATE certificate_serials SET next_serial = next_serial WHERE 0"))
    _refuse_issued(session, ids)
    if actor is not None and not isinstance(actor, str):
        for institution_id in sorted({r.institution_id for r in records}):
            require_permission(actor, Permission.INSTITUTION_MANAGE, institution_id)
    now = clock.now()
    issued_on = beijing_date(now)
    problems = [p for found in pass_problems(session, records).values() for p in found]
    institutions, occupations, digits = _context(session, records, issued_on, problems)
    if problems:
        raise CannotIssue(problems)

    groups: dict[tuple[int, int], list[PassRecord]] = defaultdict(list)
    for pass_record in records:
        groups[(pass_record.institution_id, digits[pass_record.level])].append(pass_record)
    serials: dict[int, int] = {}
    for (institution_id, digit), members in sorted(groups.items()):
        first = allocate_serials(session, institution_id, issued_on.year, digit, len(members))
        serials.update({r.id: first + offset for offset, r in enumerate(members)})

    user_id = None if actor is None or isinstance(actor, str) else actor.id
    rows = []
    for pass_record in records:
        institution = institutions[pass_record.institution_id]
        digit, serial = digits[pass_record.level], serials[pass_record.id]
        rows.append(dict(
            number=format_number(institution.code, issued_on.year, digit, serial), pass_record_id=pass_record.id,
            institution_id=institution.id, institution_code=institution.code, institution_name=institution.name,
            occupation_code=pass_record.occupation_code, occupation_name=occupations[pass_record.occupation_code],
            work_type=(pass_record.work_type or "").strip(), level=parse_level(pass_record.level).value,
            year=issued_on.year, level_digit=digit, serial=serial, name=pass_record.name.strip(),
            id_type=pass_record.id_type, id_cipher=pass_record.id_cipher, id_digest=pass_record.id_digest,
            id_masked=pass_record.id_masked, photo_sha256=pass_record.photo_sha256, scores=dict(pass_record.scores),
            issued_on=issued_on, issued_at=now, issued_by=user_id))
    try:
        # A plain executemany: psycopg pipelines it with one cached statement, where a multi-row
        # INSERT ... RETURNING of 24 columns per row is re-parsed for every page of rows.
        session.execute(insert(Certificate.__table__), rows)
    except IntegrityError:  # a concurrent issuer got there first: the unique constraints hold the line
        raise Conflict("证书已由另一操作同时颁发，请刷新后查看", "the certificate was issued concurrently by another request",
                       field="pass_record_id", code="certificate.already_issued") from None
    by_pass = {row.pass_record_id: Issued(row.id, row.number, row.pass_record_id, row.serial)
               for condition in ids_in(Certificate.pass_record_id, ids)
               for row in session.execute(select(Certificate.id, Certificate.number, Certificate.pass_record_id,
                                                 Certificate.serial).where(condition))}
    certificates = [by_pass[i] for i in ids]
    if len(certificates) == 1:
        c = certificates[0]
        record(session, actor, "certificate.issue", ("certificates", c.id),
               {"number": c.number, "pass_record_id": c.pass_record_id})
    else:
        record(session, actor, "certificate.issue_batch", subject or ("certificates", None),
               {"count": len(certificates),
                "certificates": [[c.id, c.number, c.pass_record_id] for c in certificates]})
    return certificates


def _refuse_issued(session: Session, pass_record_ids: list[int]) -> None:
    for condition in ids_in(Certificate.pass_record_id, pass_record_ids):
        existing = session.execute(select(Certificate.pass_record_id, Certificate.number)
                                   .where(condition).limit(1)).first()
        if existing is not None:
            raise Conflict(f"合格记录 {existing.pass_record_id} 已颁发证书 {existing.number}，不能重复颁发",
                           f"pass record {existing.pass_record_id} already has certificate {existing.number}: "
                           "a pass gets one certificate", field="pass_record_id", code="certificate.already_issued")


def _context(session: Session, records: Sequence[PassRecord], issued_on: date,
             problems: list[Problem]) -> tuple[dict[int, Institution], dict[str, str], dict[str, int]]:
    """Institutions, occupation names and level digits of ``records``; adds the scope problems."""
    institutions = {i.id: i for i in session.scalars(
        select(Institution).where(Institution.id.in_({r.institution_id for r in records})))}
    occupations = dict(session.execute(select(Occupation.code, Occupation.name).where(
        Occupation.code.in_({r.occupation_code for r in records}))).all())
    digits: dict[str, int] = {}
    decisions: dict[tuple[int, str, str], Any] = {}
    for pass_record in records:
        subject = f"pass record {pass_record.id}"
        try:
            if pass_record.level not in digits:
                digits[pass_record.level] = level_digit(pass_record.level)
        except ServiceError as exc:
            problems.append(Problem(subject, "level", exc.message, exc.message_en))
            continue
        institution = institutions[pass_record.institution_id]
        key = (institution.id, pass_record.occupation_code, pass_record.level)
        if key not in decisions:
            decisions[key] = can_certify(institution, pass_record.occupation_code, pass_record.level, issued_on)
        decision = decisions[key]
        if not decision:
            problems.append(Problem(subject, "institution", decision.reason, decision.reason_en))
        elif pass_record.occupation_code not in occupations:
            problems.append(Problem(subject, "occupation_code", f"职业 {pass_record.occupation_code} 不在职业目录中",
                                    f"occupation {pass_record.occupation_code} is not in the catalogue"))
        if not pass_record.name.strip():
            problems.append(Problem(subject, "name", "姓名为空", "the name is empty"))
    return institutions, occupations, digits


def pending_for_session(session: Session, exam_session: ExamSession) -> list[Any]:
    """Pass records built on this session's scores that have no certificate yet, oldest first.

    Returned as plain rows with the pass record's columns (what issuing reads), not ORM objects:
    a session of ten thousand then costs no identity map of ten thousand.
    """
    score_ids = set(session.scalars(select(ComponentScore.id).where(ComponentScore.session_id == exam_session.id)))
    if not score_ids:
        return []
    issued = select(Certificate.pass_record_id)
    matched = [pass_id for pass_id, ids in session.execute(
        select(PassRecord.id, PassRecord.score_ids).where(PassRecord.institution_id == exam_session.institution_id,
                                                          PassRecord.id.not_in(issued)))
               if score_ids.intersection(ids or [])]
    table = PassRecord.__table__
    return [row for condition in ids_in(table.c.id, matched)
            for row in session.execute(select(table).where(condition).order_by(table.c.id))]


def issue_for_session(session: Session, exam_session: ExamSession, actor: Any) -> list[Issued]:
    """Issue every pending certificate of a session whose results are confirmed, all or nothing."""
    publication = session.scalar(select(ResultPublication).where(ResultPublication.session_id == exam_session.id))
    if publication is None or publication.confirmed_at is None:
        raise ValidationFailed(f"场次 {exam_session.id} 的成绩尚未确认，不能发证",
                               f"the results of session {exam_session.id} are not confirmed yet: no certificates",
                               field="session_id", code="certificate.results_not_confirmed")
    records = pending_for_session(session, exam_session)
    if not records:
        raise Conflict(f"场次 {exam_session.id} 没有待发的证书", f"session {exam_session.id} has no certificates to issue",
                       field="session_id", code="certificate.nothing_to_issue")
    return issue_certificates(session, records, actor, subject=exam_session)


def sessions_awaiting(session: Session, institution_ids: set[int] | None) -> list[tuple[ExamSession, int]]:
    """Sessions with confirmed results and how many of their pass records still lack a certificate.

    A pass record rests on one session per component; it is counted once, under its latest session
    (the one whose result completed it), so theory and skill do not both offer the same certificate."""
    query = (select(ExamSession).join(ResultPublication, ResultPublication.session_id == ExamSession.id)
             .where(ResultPublication.confirmed_at.is_not(None))
             .order_by(ExamSession.exam_date.desc(), ExamSession.id.desc()))
    if institution_ids is not None:
        query = query.where(ExamSession.institution_id.in_(institution_ids))
    found, counted = [], set()
    for exam_session in session.scalars(query.limit(200)):
        pending = {row.id for row in pending_for_session(session, exam_session)} - counted
        counted |= pending
        if pending:
            found.append((exam_session, len(pending)))
    return found


# --- voiding ---------------------------------------------------------------------------------

def void_certificate(session: Session, certificate: Certificate, *, reason_category: str, reason: str,
                     case_reference: str | None, actor: Any) -> CertificateVoid:
    """Declare ``certificate`` void (宣布证书作废) and record its revocation for the upload data.

    Only a regulator whose jurisdiction covers the certificate's institution may (seed Art. 7-8,
    43: each level acts within its filing authority, by :func:`~examsvc.institutions.jurisdiction.covers`),
    and only on a supervision case (Art. 43-44): ``case_reference`` names an existing
    :class:`~examsvc.supervision.models.Case`, triaged and not dismissed, of a jurisdiction the
    regulator covers, against the certificate's holder (a candidate of the same ID) or its
    institution. The reason and its category are required.
    """
    if actor is None or isinstance(actor, str):
        raise Forbidden("证书作废须由授权的评价监管部门人员决定", "only an authorised regulator may void a certificate",
                        field="actor")
    require_permission(actor, Permission.REGULATE, certificate.institution_id)
    institution = session.get(Institution, certificate.institution_id)
    where = jurisdiction_of(institution)
    if not covers(actor, where):
        raise Forbidden(f"证书 {certificate.number} 由{where}的机构颁发，其作废属{where}评价监管部门管辖",
                        f"certificate {certificate.number} was issued by an institution of {where}: "
                        f"voiding it is for the regulator of {where}", field="certificate", code="outside_jurisdiction")
    if reason_category not in VOID_REASONS:
        raise ValidationFailed("请选择作废原因类别", f"choose a reason category: {', '.join(VOID_REASONS)}",
                               field="reason_category")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("须写明作废理由", "a reason is required", field="reason")
    if len(reason) > 2000:
        raise ValidationFailed("作废理由不能超过2000个字符", "the reason may have at most 2000 characters", field="reason")
    existing = session.scalar(select(CertificateVoid).where(CertificateVoid.certificate_id == certificate.id))
    if existing is not None:
        raise Conflict(f"证书 {certificate.number} 已于 {existing.voided_on} 宣布作废",
                       f"certificate {certificate.number} was declared void on {existing.voided_on}",
                       field="certificate", code="certificate.already_void")
    case_reference = _void_case(session, certificate, case_reference, actor).reference
    now = clock.now()
    void = CertificateVoid(certificate_id=certificate.id, reason_category=reason_category, reason=reason,
                           case_reference=case_reference, authorised_by=actor.id, voided_on=beijing_date(now),
                           voided_at=now)
    session.add(void)
    session.flush()
    session.add(CertificateRevocation(certificate_id=certificate.id, void_id=void.id, number=certificate.number,
                                      institution_id=certificate.institution_id, reason_category=reason_category,
                                      revoked_on=void.voided_on, created_at=now))
    session.flush()
    record(session, actor, "certificate.void", certificate,
           {"number": certificate.number, "reason_category": reason_category, "reason": reason,
            "case_reference": case_reference})
    session.expire(certificate, ["void"])
    return void


def _void_case(session: Session, certificate: Certificate, case_reference: str | None, actor: Any) -> Any:
    """The supervision case a voiding rests on (Art. 43-44), or a refusal naming ``case_reference``."""
    from examsvc.sessions.models import Candidate
    from examsvc.supervision.models import Case

    reference = (case_reference or "").strip()
    if not reference:
        raise ValidationFailed("证书作废须依据违纪违规处理案件，请填写案件编号",
                               "a voiding rests on a supervision case: give its case reference", field="case_reference")
    if len(reference) > 100:
        raise ValidationFailed("案件编号不能超过100个字符", "the case reference may have at most 100 characters",
                               field="case_reference")
    case = session.scalar(select(Case).where(Case.reference == reference))
    if case is None:
        raise ValidationFailed(f"案件 {reference} 不存在", f"case {reference} does not exist", field="case_reference")
    if not case.jurisdiction or case.subject_id is None or case.status in ("reported", "dismissed"):
        raise ValidationFailed(f"案件 {reference} 未立案或已撤销，不能作为作废依据",
                               f"case {reference} is not open (not yet accepted, or dismissed): no voiding on it",
                               field="case_reference")
    if not covers(actor, case.jurisdiction):
        raise Forbidden(f"案件 {reference} 属{case.jurisdiction}评价监管部门管辖",
                        f"case {reference} is for the regulator of {case.jurisdiction}", field="case_reference",
                        code="outside_jurisdiction")
    if case.subject_kind == "institution":
        concerns = case.subject_id == certificate.institution_id
    elif case.subject_kind == "candidate":
        concerns = session.scalar(select(Candidate.id_digest).where(Candidate.id == case.subject_id)) \
            == certificate.id_digest
    else:
        concerns = False
    if not concerns:
        raise ValidationFailed(f"案件 {reference} 不涉及证书 {certificate.number} 的持证人或颁证机构",
                               f"case {reference} concerns neither the holder nor the institution of certificate "
                               f"{certificate.number}", field="case_reference")
    return case


# --- reading ---------------------------------------------------------------------------------

def get_certificate(session: Session, certificate_id: int) -> Certificate:
    certificate = session.get(Certificate, certificate_id)
    if certificate is None:
        raise NotFound(f"证书 {certificate_id} 不存在", f"certificate {certificate_id} not found", field="certificate_id")
    return certificate


@dataclass(frozen=True)
class Page:
    certificates: list[Certificate]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def list_certificates(session: Session, institution_ids: set[int] | None, *, status: str | None = None,
                      search: str | None = None, page: int = 1, per_page: int = 50) -> Page:
    """Certificates of ``institution_ids`` (``None``: all), newest first, a page at a time.

    ``status`` is ``valid`` or ``void``; ``search`` matches the start of a number or part of a name.
    """
    query = select(Certificate)
    if institution_ids is not None:
        query = query.where(Certificate.institution_id.in_(institution_ids))
    voided = select(CertificateVoid.certificate_id)
    if status == "void":
        query = query.where(Certificate.id.in_(voided))
    elif status == "valid":
        query = query.where(Certificate.id.not_in(voided))
    if search and search.strip():
        text = search.strip()
        query = query.where(or_(Certificate.number.startswith(text.upper(), autoescape=True),
                                Certificate.name.contains(text, autoescape=True)))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = max(1, page)
    rows = session.scalars(query.order_by(Certificate.id.desc()).offset((page - 1) * per_page).limit(per_page))
    return Page(list(rows), total, page, per_page)
