"""Voiding: an authorised regulator with a reason; a revocation record for the upload data; the
certificate itself untouched and its number never handed out again."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from examsvc.audit.models import AuditEvent
from examsvc.certificates.models import Certificate, CertificateRevocation, CertificateVoid
from examsvc.certificates.service import issue_certificate, void_certificate
from examsvc.errors import Conflict, Forbidden, ValidationFailed
from tests.certificates.builders import pass_records, void_case
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
    reference = void_case(session, issued, cert_world["regulator"])
    void = void_certificate(session, issued, reason_category="candidate_misconduct", reason="替考，经调查属实",
                            case_reference=reference, actor=cert_world["regulator"])
    session.commit()
    assert (void.voided_on.isoformat(), void.authorised_by) == ("2026-12-20", cert_world["regulator"].id)
    revocation = session.scalar(select(CertificateRevocation))
    assert (revocation.number, revocation.void_id, revocation.reason_category) == (
        issued.number, void.id, "candidate_misconduct")
    session.expire_all()
    certificate = session.get(Certificate, issued.id)
    assert snapshot(certificate) == before and certificate.is_void
    event = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event.action == "certificate.void" and event.details["case_reference"] == reference
    with pytest.raises(Conflict) as again:
        void_certificate(session, certificate, reason_category="issued_in_error", reason="再次", case_reference=None,
                         actor=cert_world["regulator"])
    assert "2026-12-20" in again.value.message


def test_the_number_of_a_void_certificate_is_never_handed_out_again(session, cert_world, issued):
    void_certificate(session, issued, reason_category="issued_in_error", reason="错发",
                     case_reference=void_case(session, issued, cert_world["regulator"]), actor=cert_world["regulator"])
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


# --- issue 13: the regulator's jurisdiction and the case a voiding rests on (seed Art. 7-8, 43-44) ---

def league_regulator(session, username: str, jurisdiction: str):
    from examsvc.accounts.service import create_user
    from tests.conftest import PASSWORD

    user = create_user(session, username=username, password=PASSWORD, display_name=username,
                       roles=[("regulator", None)], jurisdiction=jurisdiction)
    session.commit()
    return user


@pytest.fixture
def issued_b(app_context, session, cert_world):
    """A certificate of B, a 包头市 institution."""
    from tests.certificates.builders import Passes

    b_passes = Passes(session, cert_world["B"], cert_world["admin_b"].id, occupation="6-18-01-01", level="3")
    certificate = issue_certificate(session, pass_records(session, b_passes.make(1))[0], cert_world["admin_b"])
    session.commit()
    return certificate


def test_a_league_city_regulator_voids_only_certificates_of_its_own_institutions(session, cert_world, issued_b,
                                                                                 issued):
    hohhot = league_regulator(session, "reg_hohhot", "呼和浩特市")
    baotou = league_regulator(session, "reg_baotou", "包头市")
    reference = void_case(session, issued_b, baotou)
    for actor, certificate in ((hohhot, issued_b), (baotou, issued)):  # 包头市's institution; a region-level one
        with pytest.raises(Forbidden) as refused:
            void_certificate(session, certificate, reason_category="issued_in_error", reason="错发",
                             case_reference=reference, actor=actor)
        assert (refused.value.field, refused.value.code) == ("certificate", "outside_jurisdiction")
    session.rollback()
    assert count_rows(session, CertificateVoid) == 0
    void = void_certificate(session, issued_b, reason_category="issued_in_error", reason="错发",
                            case_reference=reference, actor=baotou)
    assert (void.case_reference, void.authorised_by) == (reference, baotou.id)


def test_a_voiding_names_an_existing_open_case_of_the_holder_or_the_institution(session, cert_world, issued,
                                                                                issued_b):
    from examsvc.sessions.models import Candidate
    from examsvc.supervision import service as cases

    regulator, baotou = cert_world["regulator"], league_regulator(session, "reg_baotou", "包头市")
    case_of_b = void_case(session, issued_b, regulator)            # opened by the region, against B
    region_case = cases.open_case(session, subject_kind="institution", subject_id=cert_world["B"].id,
                                  source="regulator", facts="区级立案", jurisdiction="自治区", actor=regulator)
    dismissed = cases.open_case(session, subject_kind="institution", subject_id=cert_world["A"].id, source="regulator",
                                facts="经查不实", actor=regulator)
    cases.dismiss_case(session, dismissed, reason="不属实", actor=regulator)
    session.commit()

    def refused(certificate, reference, actor=regulator, error=ValidationFailed):
        with pytest.raises(error) as caught:
            void_certificate(session, certificate, reason_category="issued_in_error", reason="错发",
                             case_reference=reference, actor=actor)
        session.rollback()
        return caught.value.field

    assert refused(issued, None) == "case_reference"                 # no case at all
    assert refused(issued, "   ") == "case_reference"
    assert refused(issued, "内人社监〔2026〕12号") == "case_reference"  # free text, not a case
    assert refused(issued, "x" * 101) == "case_reference"
    assert refused(issued, case_of_b) == "case_reference"             # a case against another institution
    assert refused(issued, dismissed.reference) == "case_reference"   # a dismissed case
    assert refused(issued_b, region_case.reference, baotou, Forbidden) == "case_reference"  # the region's case
    assert count_rows(session, CertificateVoid) == 0
    # A case against the holder: the candidate whose pass the certificate rests on.
    holder = session.scalar(select(Candidate).where(Candidate.id_digest == issued.id_digest).order_by(Candidate.id))
    against_holder = cases.open_case(session, subject_kind="candidate", subject_id=holder.id, source="regulator",
                                     facts="替考", actor=regulator)
    void = void_certificate(session, issued, reason_category="candidate_misconduct", reason="替考",
                            case_reference=against_holder.reference, actor=regulator)
    assert void.case_reference == against_holder.reference
