"""Voiding: an authorised regulator with a reason; a revocation record for the upload data; the
certificate itself untouched and its number never handed out again."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from examsvc.audit.models import AuditEvent
from examsvc.certificates.models import Certificate, CertificateRevocation, CertificateVoid
from examsvc.certificates.service import issue_certificate, void_certificate
from examsvc.errors import Conflict, Forbidden, ValidationFailed
from tests.certificates.builders import pass_records
from tests.conftest import count_rows, make_user


@pytest.fixture
def issued(app_context, session, cert_world):
    records = pass_records(session, cert_world["passes_a"].make(2))
    certificate = issue_certificate(session, records[0], cert_world["admin_a"])
    session.commit()
    return certificate


def snapshot(certificate):
    return {c.name: getattr(certificate, c.name) for c in Certificate.__table__.columns}


def test_a_regulator_voids_with_a_reason_and_a_revocation_record_follows(session, cert_world, issued):
    before = snapshot(issued)
    void = void_certificate(session, issued, reason_category="candidate_misconduct", reason="替考，经调查属实",
                            case_reference="内人社监〔2026〕12号", actor=cert_world["regulator"])
    session.commit()
    assert (void.voided_on.isoformat(), void.authorised_by) == ("2026-12-20", cert_world["regulator"].id)
    revocation = session.scalar(select(CertificateRevocation))
    assert (revocation.number, revocation.void_id, revocation.reason_category) == (
        issued.number, void.id, "candidate_misconduct")
    session.expire_all()
    certificate = session.get(Certificate, issued.id)
    assert snapshot(certificate) == before and certificate.is_void
    event = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event.action == "certificate.void" and event.details["case_reference"] == "内人社监〔2026〕12号"
    with pytest.raises(Conflict) as again:
        void_certificate(session, certificate, reason_category="issued_in_error", reason="再次", case_reference=None,
                         actor=cert_world["regulator"])
    assert "2026-12-20" in again.value.message


def test_the_number_of_a_void_certificate_is_never_handed_out_again(session, cert_world, issued):
    void_certificate(session, issued, reason_category="issued_in_error", reason="错发", case_reference=None,
                     actor=cert_world["regulator"])
    records = pass_records(session, cert_world["passes_a"].make(1))
    assert issue_certificate(session, records[0], "cli").serial == issued.serial + 1


@pytest.mark.parametrize("category, reason, field", [
    ("", "理由", "reason_category"), ("made_up", "理由", "reason_category"), ("issued_in_error", "  ", "reason"),
    ("issued_in_error", "x" * 2001, "reason"),
])
def test_a_void_needs_a_category_and_a_reason(session, cert_world, issued, category, reason, field):
    with pytest.raises(ValidationFailed) as refused:
        void_certificate(session, issued, reason_category=category, reason=reason, case_reference=None,
                         actor=cert_world["regulator"])
    assert refused.value.field == field
    session.rollback()
    assert count_rows(session, CertificateVoid) == 0 and count_rows(session, CertificateRevocation) == 0


def test_only_an_authorised_regulator_voids(session, cert_world, world, issued):
    regulator_of_b = make_user(session, "regulator_b", "regulator", world["B"].id)
    for actor in (cert_world["admin_a"], "cli", None, regulator_of_b):
        with pytest.raises(Forbidden):
            void_certificate(session, issued, reason_category="issued_in_error", reason="错发", case_reference=None,
                             actor=actor)
    assert count_rows(session, CertificateVoid) == 0
