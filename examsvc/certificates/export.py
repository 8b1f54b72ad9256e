"""Certificate data for upload to the national platform and the regulator (seed Art. 29, 40).

One row per certificate issued in the period (记录类型 发证) and per revocation recorded in it
(撤销): the certificate's fields, the occupation code and the component scores, as Excel or CSV.
Every record is checked first (ID number, institution and occupation codes, number format and
consistency, pass still confirmed, no duplicates); a record with a problem is held back and
listed in the report (and in the workbook's 问题报告 sheet), so what goes out is clean.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable

from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from examsvc.audit.service import record
from examsvc.certificates.models import VOID_REASONS, Certificate, CertificateRevocation, CertificateVoid
from examsvc.certificates.numbers import NUMBER_PATTERN
from examsvc.certificates.service import Problem, ids_in, pass_problems
from examsvc.errors import ConfigError, ServiceError
from examsvc.grading.models import PassRecord
from examsvc.institutions.models import Institution
from examsvc.protect import id_digest, reveal_id
from examsvc.reference.models import Occupation
from examsvc.sessions.service import ID_TYPES, normalise_identity
from itembank.errors import InvalidValue
from itembank.identifiers import validate_institution_code
from itembank.levels import parse_level
from itembank.occupations import validate_occupation_code

COLUMNS: tuple[tuple[str, str], ...] = (
    ("record_type", "记录类型"), ("number", "证书编号"), ("name", "姓名"), ("id_type", "证件类型"),
    ("id_number", "证件号码"), ("occupation_code", "职业编码"), ("occupation_name", "职业名称"), ("work_type", "工种"),
    ("level", "职业技能等级"), ("level_digit", "等级代码"), ("institution_code", "评价机构代码"),
    ("institution_name", "评价机构名称"), ("issued_on", "发证日期"), ("theory", "理论知识成绩"),
    ("skill", "操作技能成绩"), ("review", "综合评审成绩"), ("revoked_on", "撤销日期"), ("revoke_reason", "撤销原因"),
)
ISSUE, REVOKE = "发证", "撤销"
_NUMBER = re.compile(NUMBER_PATTERN)


@dataclass
class ExportReport:
    """The rows that passed every check, and the problems of those held back."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    checked: int = 0

    @property
    def held_back(self) -> int:
        return len({p.subject for p in self.problems})

    @property
    def issued(self) -> int:
        return sum(1 for r in self.rows if r["record_type"] == ISSUE)

    @property
    def revoked(self) -> int:
        return sum(1 for r in self.rows if r["record_type"] == REVOKE)


def build_export(session: Session, institution_ids: set[int] | None, *, issued_from: date | None = None,
                 issued_to: date | None = None, full_ids: bool = True, accepted_only: bool = False) -> ExportReport:
    """Check and assemble the upload rows of ``institution_ids`` (``None``: every institution) for
    certificates issued, and revocations recorded, between the two dates (inclusive). Reveals ID
    numbers to check them: needs an app context.

    ``full_ids=False`` puts the masked ID number in the rows (every export but the national upload,
    issue 13 item 5); who gets which is decided in :mod:`examsvc.certificates.register`, the only
    place that calls this for a user. ``accepted_only`` keeps the records of batches the region
    accepted (seed Art. 40)."""
    certificate_query = select(Certificate)
    revocation_query = select(CertificateRevocation)
    if accepted_only:
        from examsvc.certificates.batch_models import CertificateBatch, CertificateBatchRecord

        accepted = (select(CertificateBatchRecord).join(CertificateBatch, CertificateBatch.id == CertificateBatchRecord.batch_id)
                    .where(CertificateBatch.status == "accepted"))
        certificate_query = certificate_query.where(Certificate.id.in_(
            accepted.where(CertificateBatchRecord.record_type == "issue")
            .with_only_columns(CertificateBatchRecord.certificate_id)))
        revocation_query = revocation_query.where(CertificateRevocation.id.in_(
            accepted.where(CertificateBatchRecord.record_type == "revoke")
            .with_only_columns(CertificateBatchRecord.revocation_id)))
    certificates = list(session.scalars(_period(certificate_query, Certificate.institution_id, Certificate.issued_on,
                                                institution_ids, issued_from, issued_to).order_by(Certificate.id)))
    revocations = list(session.scalars(_period(revocation_query, CertificateRevocation.institution_id,
                                               CertificateRevocation.revoked_on, institution_ids, issued_from, issued_to)
                                       .order_by(CertificateRevocation.id)))
    revoked_certificates = {c.id: c for c in _by_ids(session, Certificate, {r.certificate_id for r in revocations})}
    report = ExportReport(checked=len(certificates) + len(revocations))
    checker = _Checker(session, certificates)
    for certificate in certificates:
        problems = checker.check(certificate)
        if problems:
            report.problems.extend(problems)
        else:
            report.rows.append(_row(certificate, ISSUE,
                                    checker.id_numbers[certificate.id] if full_ids else certificate.id_masked))
    for revocation in revocations:
        certificate = revoked_certificates[revocation.certificate_id]
        if not _NUMBER.fullmatch(revocation.number) or revocation.number != certificate.number:
            report.problems.append(Problem(revocation.number, "number", "撤销记录的证书编号格式不正确或与证书不符",
                                           "the revocation's certificate number is malformed or not the certificate's"))
            continue
        row = _row(certificate, REVOKE, checker.reveal(certificate) if full_ids else certificate.id_masked)
        row.update(revoked_on=revocation.revoked_on.isoformat(),
                   revoke_reason=VOID_REASONS.get(revocation.reason_category, (revocation.reason_category,))[0])
        report.rows.append(row)
    return report


def _period(query: Any, institution_column: Any, date_column: Any, institution_ids: set[int] | None,
            start: date | None, end: date | None) -> Any:
    if institution_ids is not None:
        query = query.where(institution_column.in_(institution_ids))
    if start is not None:
        query = query.where(date_column >= start)
    if end is not None:
        query = query.where(date_column <= end)
    return query


def _by_ids(session: Session, model: Any, ids: Iterable[int]) -> list[Any]:
    return [row for condition in ids_in(model.id, ids) for row in session.scalars(select(model).where(condition))]


class _Checker:
    """The checks of one export, with what they need loaded once."""

    def __init__(self, session: Session, certificates: list[Certificate]):
        self.session = session
        self.id_numbers: dict[int, str] = {}
        self.kinds = dict(session.execute(select(Institution.id, Institution.kind)).all())
        self.catalogue = set(session.scalars(select(Occupation.code)))
        pass_records = _by_ids(session, PassRecord, {c.pass_record_id for c in certificates})
        self.pass_problems = pass_problems(session, pass_records)
        self.numbers = Counter(c.number for c in certificates)
        voided = select(CertificateVoid.certificate_id)
        self.repeated = set(session.execute(
            select(Certificate.id_digest, Certificate.occupation_code, Certificate.level)
            .where(Certificate.id.not_in(voided))
            .group_by(Certificate.id_digest, Certificate.occupation_code, Certificate.level)
            .having(func.count() > 1)).all())

    def reveal(self, certificate: Certificate) -> str:
        try:
            return reveal_id(certificate.id_cipher)
        except ConfigError:
            return ""

    def check(self, c: Certificate) -> list[Problem]:
        problems: list[Problem] = []

        def problem(field_name: str, zh: str, en: str) -> None:
            problems.append(Problem(c.number, field_name, zh, en))

        if not _NUMBER.fullmatch(c.number):
            problem("number", "证书编号格式不正确（应为 22 位：机构代码+年份+等级代码+6 位顺序号）",
                    "malformed certificate number (22 characters: institution code, year, level digit, 6-digit serial)")
        elif (c.number[:13], int(c.number[13:15]), int(c.number[15]), int(c.number[16:])) != (
                c.institution_code, c.year % 100, c.level_digit, c.serial):
            problem("number", "证书编号与机构代码、发证年份、等级或顺序号不符",
                    "the number does not match the institution code, issue year, level or serial")
        if self.numbers[c.number] > 1:
            problem("number", "证书编号重复", "duplicate certificate number")
        try:
            validate_institution_code(c.institution_code, self.kinds.get(c.institution_id))
        except InvalidValue as exc:
            problem("institution_code", exc.message, exc.message_en)
        try:
            validate_occupation_code(c.occupation_code)
            if c.occupation_code not in self.catalogue:
                problem("occupation_code", f"职业编码 {c.occupation_code} 不在职业目录中",
                        f"occupation code {c.occupation_code} is not in the catalogue")
        except InvalidValue as exc:
            problem("occupation_code", exc.message, exc.message_en)
        try:
            if parse_level(c.level).certificate_digit != c.level_digit:
                problem("level", "等级与等级代码不符", "the level does not match its digit")
        except InvalidValue as exc:
            problem("level", exc.message, exc.message_en)
        if not c.name.strip():
            problem("name", "姓名为空", "the name is empty")
        self._check_identity(c, problem)
        for found in self.pass_problems.get(c.pass_record_id, []):
            problem(found.field, found.message, found.message_en)
        if (c.id_digest, c.occupation_code, c.level) in self.repeated:
            problem("id_number", "同一人同一职业等级有多本有效证书", "the same person holds another valid certificate "
                    "for this occupation and level")
        return problems

    def _check_identity(self, c: Certificate, problem: Any) -> None:
        if c.id_type not in ID_TYPES:
            problem("id_type", f"未知证件类型 {c.id_type}", f"unknown ID type {c.id_type!r}")
            return
        revealed = self.reveal(c)
        if not revealed:
            problem("id_number", "证件号码无法解密", "the ID number cannot be decrypted with this instance's key")
            return
        try:
            normalised = normalise_identity(c.id_type, revealed)
        except ServiceError as exc:
            problem("id_number", exc.message, exc.message_en)
            return
        if id_digest(normalised) != c.id_digest:
            problem("id_number", "证件号码与其摘要不符（数据被改动）", "the ID number does not match its digest (altered data)")
            return
        self.id_numbers[c.id] = normalised


def _row(c: Certificate, record_type: str, id_number: str) -> dict[str, Any]:
    level = parse_level(c.level)
    return {"record_type": record_type, "number": c.number, "name": c.name,
            "id_type": ID_TYPES.get(c.id_type, (c.id_type,))[0], "id_number": id_number,
            "occupation_code": c.occupation_code, "occupation_name": c.occupation_name,
            "work_type": c.work_type or "--", "level": level.name_zh, "level_digit": c.level_digit,
            "institution_code": c.institution_code, "institution_name": c.institution_name,
            "issued_on": c.issued_on.isoformat(), "theory": c.scores.get("theory"), "skill": c.scores.get("skill"),
            "review": c.scores.get("review"), "revoked_on": "", "revoke_reason": ""}


# --- files -----------------------------------------------------------------------------------

def _safe_text(value: Any) -> Any:
    """Keep spreadsheet programs from reading a value as a formula (CSV injection)."""
    if isinstance(value, str) and value and value[0] in "=+@\t\r" or (
            isinstance(value, str) and value.startswith("-") and value != "--"):
        return "'" + value
    return value


def export_csv(report: ExportReport) -> bytes:
    """UTF-8 with a byte-order mark (so that Excel reads the Chinese), Chinese headers."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([header for _key, header in COLUMNS])
    for row in report.rows:
        writer.writerow(["" if row[key] is None else _safe_text(row[key]) for key, _header in COLUMNS])
    return buffer.getvalue().encode("utf-8-sig")


def export_xlsx(report: ExportReport) -> bytes:
    """A workbook: 证书数据 (the rows) and 问题报告 (the records held back and why)."""
    workbook = Workbook(write_only=True)
    data = workbook.create_sheet("证书数据")
    data.append([header for _key, header in COLUMNS])
    for row in report.rows:
        data.append([_text_cell(row[key]) for key, _header in COLUMNS])
    problems = workbook.create_sheet("问题报告")
    problems.append(["证书编号", "字段", "问题", "Problem"])
    for p in report.problems:
        problems.append([_text_cell(p.subject), p.field, _text_cell(p.message), _text_cell(p.message_en)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _text_cell(value: Any) -> Any:
    # openpyxl writes a string that starts with "=" as a formula: store it as text instead.
    return _safe_text(value) if isinstance(value, str) else value


def record_export(session: Session, actor: Any, report: ExportReport, fmt: str, institution_ids: set[int] | None,
                  issued_from: date | None, issued_to: date | None, *, full_ids: bool = False) -> None:
    """Put the export on the audit trail: who took which certificate data out, and what was held back
    (``certificate.national_export`` when the rows carried full ID numbers)."""
    record(session, actor, "certificate.national_export" if full_ids else "certificate.export", ("certificates", None),
           {"full_ids": full_ids, "format": fmt, "institutions": "all" if institution_ids is None else sorted(institution_ids),
            "from": issued_from.isoformat() if issued_from else None, "to": issued_to.isoformat() if issued_to else None,
            "issued": report.issued, "revoked": report.revoked, "held_back": report.held_back,
            "numbers_held_back": sorted({p.subject for p in report.problems})[:200]})
