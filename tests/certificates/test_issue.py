"""Issuing: numbers, the confirmed-pass and scope rules, every refusal changing nothing, immutability."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from examsvc import clock
from examsvc.audit.models import AuditEvent
from examsvc.certificates.models import Certificate, CertificateSerial
from examsvc.certificates.numbers import level_digit, parse_number
from examsvc.certificates.service import CannotIssue, issue_certificate, issue_certificates, issue_for_session, \
    pending_for_session
from examsvc.errors import Conflict, Forbidden, ServiceError, ValidationFailed
from examsvc.grading.models import ComponentScore, PassRecord
from examsvc.institutions.filing import decide_change, request_change
from examsvc.institutions.models import InstitutionStatus
from examsvc.institutions.service import set_status
from tests.certificates.builders import Passes, pass_records
from tests.conftest import count_rows

NUMBER = re.compile(r"^[YS]\d{12}\d{2}[1-5]\d{6}$")


def unchanged(session):
    """What a refused issue must leave as it was."""
    session.rollback()
    return (count_rows(session, Certificate), count_rows(session, AuditEvent),
            session.scalar(select(func.coalesce(func.sum(CertificateSerial.next_serial), 0))))


def test_a_confirmed_pass_gets_a_22_character_number_and_a_snapshot(app_context, session, cert_world):
    ids = cert_world["passes_a"].make(3, work_type="")
    records = pass_records(session, ids)
    certificate = issue_certificate(session, records[0], cert_world["admin_a"])
    session.commit()
    assert NUMBER.match(certificate.number) and len(certificate.number) == 22
    assert certificate.number == "S000015000001" + "26" + "4" + "000001"
    assert (certificate.institution_name, certificate.occupation_name, certificate.level) == ("甲评价机构", "中式烹调师", "4")
    assert certificate.issued_on.isoformat() == "2026-12-20" and certificate.id_masked.endswith(records[0].id_masked[-4:])
    assert certificate.scores == records[0].scores and certificate.issued_by == cert_world["admin_a"].id
    event = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event.action == "certificate.issue" and event.details["number"] == certificate.number
    more = issue_certificates(session, records[1:], cert_world["admin_a"])
    assert [c.serial for c in more] == [2, 3]


def test_serials_count_per_institution_year_and_level_in_beijing_time(app_context, session, cert_world):
    fours = Passes(session, cert_world["A"], cert_world["admin_a"].id, level="4")
    fives = Passes(session, cert_world["A"], cert_world["admin_a"].id, level="5")
    four = pass_records(session, fours.make(2))
    five = pass_records(session, fives.make(1))
    numbers = [c.number for c in issue_certificates(session, four + five, "cli")]
    assert numbers == ["S0000150000012640000" + "01", "S000015000001264000002", "S000015000001265000001"]
    # 16:30 UTC on New Year's Eve is already 2027 in Beijing: the year changes, the serial starts again.
    with clock.frozen(datetime(2026, 12, 31, 16, 30, tzinfo=timezone.utc)):
        next_year = issue_certificate(session, pass_records(session, fours.make(1))[0], "cli")
    assert next_year.number == "S000015000001274000001" and next_year.year == 2027


def test_issuing_for_a_fail_is_refused_and_changes_nothing(app_context, session, cert_world):
    failed = pass_records(session, cert_world["passes_a"].make(1, fail="skill"))[0]
    session.commit()
    before = unchanged(session)
    with pytest.raises(CannotIssue) as refused:
        issue_certificate(session, failed, cert_world["admin_a"])
    assert "未合格" in refused.value.message and "fail" in refused.value.message_en
    assert refused.value.status == 422 and refused.value.field == "scores"
    assert unchanged(session) == before


def test_a_second_issue_for_the_same_pass_is_refused_naming_the_certificate(app_context, session, cert_world):
    record = pass_records(session, cert_world["passes_a"].make(1))[0]
    first = issue_certificate(session, record, cert_world["admin_a"])
    session.commit()
    before = unchanged(session)
    with pytest.raises(Conflict) as refused:
        issue_certificate(session, record, cert_world["admin_a"])
    assert first.number in refused.value.message and refused.value.code == "certificate.already_issued"
    assert unchanged(session) == before
    with pytest.raises(Conflict):
        issue_certificates(session, [record, record], "cli")


def test_unconfirmed_results_and_other_institutions_scores_are_refused(app_context, session, cert_world):
    pending = Passes(session, cert_world["A"], cert_world["admin_a"].id, confirmed=False)
    record = pass_records(session, pending.make(1))[0]
    session.commit()
    with pytest.raises(CannotIssue) as refused:
        issue_certificate(session, record, "cli")
    assert refused.value.field == "confirmed_at" and "not confirmed" in refused.value.message_en
    session.rollback()
    # A pass record of A built on scores that B's session gave: who evaluates, certifies.
    b_passes = Passes(session, cert_world["B"], cert_world["admin_b"].id, occupation="6-18-01-01", level="3")
    b_record = pass_records(session, b_passes.make(1))[0]
    session.execute(update(PassRecord).where(PassRecord.id == record.id).values(score_ids=b_record.score_ids))
    session.expire_all()
    with pytest.raises(CannotIssue) as refused:
        issue_certificate(session, session.get(PassRecord, record.id), "cli")
    assert any(p.field == "institution" for p in refused.value.problems)


def test_outside_the_filed_scope_or_while_suspended_is_refused(app_context, session, cert_world):
    # A certified 车工 四级 while its filing covered it; the regulator has since taken it out of the scope.
    a, regulator = cert_world["A"], cert_world["regulator"]
    added = request_change(session, a, kind="scope", changes={"add": [["6-18-01-01", "4"]]}, reason="新增职业",
                           actor=regulator)
    decide_change(session, added, approve=True, note="同意", actor=regulator)
    outside = Passes(session, a, cert_world["admin_a"].id, occupation="6-18-01-01", level="4")
    held = pass_records(session, outside.make(1))[0]
    dropped = request_change(session, a, kind="scope", changes={"remove": [["6-18-01-01", "4"]]}, reason="不再开展",
                             actor=regulator)
    decide_change(session, dropped, approve=True, note="同意", actor=regulator)
    with pytest.raises(CannotIssue) as refused:
        issue_certificate(session, held, "cli")
    assert "备案范围" in refused.value.message and refused.value.field == "institution"
    session.rollback()
    record = pass_records(session, cert_world["passes_a"].make(1))[0]
    set_status(session, cert_world["A"], InstitutionStatus.SUSPENDED, "监管令 2026-08", cert_world["regulator"])
    with pytest.raises(CannotIssue) as refused:
        issue_certificate(session, record, "cli")
    assert "停止认定" in refused.value.message


def test_new_eight_levels_have_no_national_digit_and_are_refused_citing_the_rule(app_context, session, cert_world):
    special = Passes(session, cert_world["B"], cert_world["admin_b"].id, occupation="6-18-01-01", level="special")
    record = pass_records(session, special.make(1))[0]
    with pytest.raises(CannotIssue) as refused:
        issue_certificate(session, record, cert_world["admin_b"])
    assert "证书编号为 22 位" in refused.value.message and "level digit" in refused.value.message_en
    with pytest.raises(ValidationFailed):
        level_digit("apprentice")
    assert level_digit("四级/中级工") == 4


def test_an_employer_gets_y_numbers_and_admins_issue_only_for_their_institution(app_context, session, cert_world):
    b_passes = Passes(session, cert_world["B"], cert_world["admin_b"].id, occupation="6-18-01-01", level="3")
    record = pass_records(session, b_passes.make(1))[0]
    with pytest.raises(Forbidden):
        issue_certificate(session, record, cert_world["admin_a"])
    assert issue_certificate(session, record, cert_world["admin_b"]).number == "Y000015000002263000001"


def test_a_batch_is_all_or_nothing_and_lists_every_problem(app_context, session, cert_world):
    passes = cert_world["passes_a"]
    good = pass_records(session, passes.make(3))
    bad = pass_records(session, passes.make(2, fail="theory"))
    session.commit()
    before = unchanged(session)
    with pytest.raises(CannotIssue) as refused:
        issue_certificates(session, good + bad, "cli")
    assert {p.subject for p in refused.value.problems} == {f"pass record {r.id}" for r in bad}
    assert "1 more" in refused.value.message_en
    assert unchanged(session) == before


def test_issue_for_a_session_takes_its_pending_passes_once(app_context, session, cert_world):
    passes = cert_world["passes_a"]
    ids = passes.make(4)
    other = Passes(session, cert_world["A"], cert_world["admin_a"].id, level="5")
    other.make(2)
    theory = passes.sessions["theory"]
    issue_certificate(session, session.get(PassRecord, ids[0]), "cli")
    assert [r.id for r in pending_for_session(session, theory)] == ids[1:]
    issued = issue_for_session(session, theory, cert_world["admin_a"])
    assert [c.pass_record_id for c in issued] == ids[1:] and [c.serial for c in issued] == [2, 3, 4]
    event = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event.action == "certificate.issue_batch" and event.subject_type == "exam_sessions"
    assert [row[1] for row in event.details["certificates"]] == [c.number for c in issued]
    with pytest.raises(Conflict):
        issue_for_session(session, theory, cert_world["admin_a"])
    unconfirmed = Passes(session, cert_world["A"], cert_world["admin_a"].id, confirmed=False)
    unconfirmed.make(1)
    with pytest.raises(ValidationFailed) as refused:
        issue_for_session(session, unconfirmed.sessions["skill"], "cli")
    assert refused.value.code == "certificate.results_not_confirmed"


def test_a_score_lowered_after_the_pass_record_is_refused(app_context, session, cert_world):
    record = pass_records(session, cert_world["passes_a"].make(1))[0]
    session.execute(update(ComponentScore).where(ComponentScore.id == record.score_ids[0]).values(score=61.5))
    with pytest.raises(CannotIssue) as refused:
        issue_certificate(session, record, "cli")
    assert "not what the pass record says" in refused.value.message_en


def test_issued_certificates_never_change_and_are_never_deleted(app_context, session, cert_world):
    certificate = issue_certificate(session, pass_records(session, cert_world["passes_a"].make(1))[0], "cli")
    session.commit()
    certificate.name = "李四"
    with pytest.raises(Conflict) as refused:
        session.flush()
    assert refused.value.code == "certificate.immutable"
    session.rollback()
    session.delete(certificate)
    with pytest.raises(Conflict):
        session.flush()
    session.rollback()
    with pytest.raises(DBAPIError):  # the database's trigger, for whoever bypasses the ORM
        session.execute(text("UPDATE certificates SET name = '李四' WHERE id = :id"), {"id": certificate.id})
    session.rollback()
    assert session.get(Certificate, certificate.id).name == certificate.name


def test_the_unique_number_is_the_last_line_of_defence(app_context, session, cert_world):
    first, second = pass_records(session, cert_world["passes_a"].make(2))
    certificate = issue_certificate(session, first, "cli")
    session.commit()
    values = {c.name: getattr(certificate, c.name) for c in Certificate.__table__.columns if c.name != "id"}
    session.add(Certificate(**{**values, "pass_record_id": second.id, "serial": 99}))
    with pytest.raises(IntegrityError):
        session.flush()


@pytest.mark.parametrize("raw, expected", [
    ("S000015000001264000001", ("S000015000001", 26, 4, 1)),
    (" s0000 1500 0001 26 4 000001 ", ("S000015000001", 26, 4, 1)),
    ("".join(chr(ord(c) + 0xFEE0) for c in "S000015000001264000001"), ("S000015000001", 26, 4, 1)),
])
def test_numbers_are_read_in_the_forms_people_type(raw, expected):
    parsed = parse_number(raw)
    assert (parsed.institution_code, parsed.year2, parsed.level_digit, parsed.serial) == expected


@pytest.mark.parametrize("raw", ["", "S00001500000126400001", "S0000150000012640000011", "X000015000001264000001",
                                 "S000015000001266000001", "S000015000001260000001", "S00001500000126A000001",
                                 "<script>", "S000015000001264000001' OR 1=1"])
def test_malformed_numbers_are_refused_naming_the_rule(raw):
    with pytest.raises(ServiceError) as refused:
        parse_number(raw)
    assert refused.value.field == "number" and "22" in refused.value.message


def test_a_pass_awaits_its_certificate_under_one_session_only(app_context, session, cert_world):
    """A pass rests on a theory and a skill session; the issue page offers it once, under the latest."""
    from examsvc.certificates.service import sessions_awaiting

    passes = cert_world["passes_a"]
    passes.make(2, work_type="")
    theory, skill = passes.sessions["theory"], passes.sessions["skill"]
    assert {r.id for r in pending_for_session(session, theory)} == {r.id for r in pending_for_session(session, skill)}
    awaiting = sessions_awaiting(session, {passes.institution.id})
    assert len(awaiting) == 1 and awaiting[0][1] == 2
    assert awaiting[0][0].id in {theory.id, skill.id}
    issue_for_session(session, awaiting[0][0], cert_world["admin_a"])
    assert sessions_awaiting(session, {passes.institution.id}) == []
