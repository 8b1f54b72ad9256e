"""The upload export: every record checked, planted bad records held back and reported, revocations
included, Excel and CSV that read back, formulas never smuggled in."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from examsvc.audit.models import AuditEvent
from examsvc.certificates.export import COLUMNS, build_export, export_csv, export_xlsx, record_export
from examsvc.certificates.models import Certificate
from examsvc.certificates.numbers import format_number
from examsvc.certificates.service import issue_certificates, void_certificate
from examsvc.grading.models import ComponentScore
from examsvc.protect import protect_id, reveal_id
from tests.certificates.builders import pass_records, void_case


def plant(session, like: Certificate, pass_record_id: int, number_serial: int, **changes) -> Certificate:
    """A certificate written straight into the table, as a bug or an import might have."""
    values = {c.name: getattr(like, c.name) for c in Certificate.__table__.columns if c.name != "id"}
    values.update(pass_record_id=pass_record_id, serial=number_serial,
                  number=format_number(like.institution_code, like.year, like.level_digit, number_serial))
    values.update(changes)
    certificate = Certificate(**values)
    session.add(certificate)
    session.flush()
    return certificate


@pytest.fixture
def planted(app_context, session, cert_world):
    passes = cert_world["passes_a"]
    records = pass_records(session, passes.make(6, names=["张三", "李四", "王五", "赵六", "=HYPERLINK(\"x\")", "钱七"]))
    good = [session.get(Certificate, c.id) for c in issue_certificates(session, records[:5], cert_world["admin_a"])]
    bad_id = protect_id("resident_id", "150102198001019999")  # check character wrong
    wrong_id = plant(session, good[0], records[5].id, 900001, name="孙八", id_cipher=bad_id.cipher,
                     id_digest=bad_id.digest, id_masked=bad_id.masked)
    # The third pass's skill score was lowered to a fail after issue (a review, say).
    session.execute(update(ComponentScore).where(ComponentScore.id == records[2].score_ids[1])
                    .values(score=50.0, passed=False))
    void_certificate(session, good[1], reason_category="candidate_misconduct", reason="替考",
                     case_reference=void_case(session, good[1], cert_world["regulator"]), actor=cert_world["regulator"])
    session.commit()
    return {"good": good, "wrong_id": wrong_id, "records": records}


def test_every_record_is_checked_and_bad_ones_are_held_back_with_the_reason(session, planted):
    good = planted["good"]
    report = build_export(session, None)
    assert report.checked == 7 and report.issued == 4 and report.revoked == 1 and report.held_back == 2
    problems = {(p.subject, p.field) for p in report.problems}
    assert (planted["wrong_id"].number, "id_number") in problems
    assert (good[2].number, "scores") in problems
    exported = [r["number"] for r in report.rows if r["record_type"] == "发证"]
    assert exported == [good[0].number, good[1].number, good[3].number, good[4].number]
    revocation = next(r for r in report.rows if r["record_type"] == "撤销")
    assert (revocation["number"], revocation["revoke_reason"], revocation["revoked_on"]) == (
        good[1].number, "参评人员违纪违规", "2026-12-20")
    first = report.rows[0]
    assert first["id_number"] == reveal_id(good[0].id_cipher) and first["level"] == "四级/中级工"
    assert first["work_type"] == "--" and first["occupation_code"] == "4-03-02-01" and first["theory"] is not None


def test_duplicates_and_inconsistent_numbers_are_reported(session, cert_world, planted):
    good = planted["good"]
    extra = pass_records(session, cert_world["passes_a"].make(2))
    twin = plant(session, good[0], extra[0].id, 900002)  # the same person, occupation and level again
    odd = plant(session, good[3], extra[1].id, 900003, serial=900004, id_digest="0" * 64)
    assert odd.number.endswith("900003")
    session.commit()
    report = build_export(session, None)
    subjects = {p.subject for p in report.problems if "another valid certificate" in p.message_en}
    assert subjects == {good[0].number, twin.number}
    odd_problems = {p.field for p in report.problems if p.subject == odd.number}
    assert odd_problems == {"number", "id_number"}  # serial not the number's, ID not its digest


def test_csv_and_excel_read_back_with_chinese_headers_and_no_formulas(session, planted):
    report = build_export(session, None)
    data = export_csv(report)
    assert data.startswith("\ufeff".encode("utf-8"))
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == [header for _key, header in COLUMNS] and len(rows) == 1 + len(report.rows)
    by_number = {row[1]: row for row in rows[1:] if row[0] == "发证"}
    assert by_number[planted["good"][4].number][2] == "'=HYPERLINK(\"x\")"
    assert by_number[planted["good"][0].number][4] == reveal_id(planted["good"][0].id_cipher)
    workbook = load_workbook(io.BytesIO(export_xlsx(report)))
    assert workbook.sheetnames == ["证书数据", "问题报告"]
    sheet = workbook["证书数据"]
    assert sheet.max_row == 1 + len(report.rows)
    names = [cell.value for cell in sheet["C"][1:]]
    assert "'=HYPERLINK(\"x\")" in names and all(cell.data_type != "f" for cell in sheet["C"])
    assert workbook["问题报告"].max_row == 1 + len(report.problems)


def test_a_period_and_an_institution_limit_the_export_and_the_export_is_audited(session, cert_world, planted):
    assert build_export(session, {cert_world["B"].id}).checked == 0
    later = build_export(session, None, issued_from=date(2026, 12, 21))
    assert later.checked == 0 and later.rows == []
    report = build_export(session, {cert_world["A"].id}, issued_from=date(2026, 12, 20), issued_to=date(2026, 12, 20))
    record_export(session, cert_world["regulator"], report, "csv", None, date(2026, 12, 20), None)
    event = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event.action == "certificate.export" and event.details["held_back"] == 2
    assert event.details["numbers_held_back"] == sorted({p.subject for p in report.problems})
