"""Certificate data batches: a planted bad record returns the batch with the problem, a clean batch
is forwarded and accepted, revocations travel in a later batch, and who may do what."""

from datetime import date

import pytest
from sqlalchemy import select

from examsvc.audit.models import AuditEvent
from examsvc.certificates.models import Certificate
from examsvc.certificates.numbers import format_number
from examsvc.certificates.batches import accept_batch, review_batch, submit_batch
from examsvc.certificates.service import issue_certificates, void_certificate
from examsvc.errors import Conflict, Forbidden, ValidationFailed
from examsvc.protect import protect_id
from tests.certificates.builders import pass_records, void_case
from tests.certificates.conftest import app_context, cert_world, issue_day  # noqa: F401  (fixtures)
from tests.conftest import csrf_headers, login

DAY = date(2026, 12, 20)


def _issue(session, cert_world):
    records = pass_records(session, cert_world["passes_a"].make(3))
    issued = issue_certificates(session, records, cert_world["admin_a"])
    session.commit()
    return [session.get(Certificate, i.id) for i in issued]


def plant(session, like: Certificate, pass_record_id: int, serial: int, **changes) -> Certificate:
    """A certificate written straight into the table, as a bug or an import might have."""
    values = {c.name: getattr(like, c.name) for c in Certificate.__table__.columns if c.name != "id"}
    values.update(pass_record_id=pass_record_id, serial=serial,
                  number=format_number(like.institution_code, like.year, like.level_digit, serial), **changes)
    certificate = Certificate(**values)
    session.add(certificate)
    session.flush()
    return certificate


@pytest.fixture
def issued(app_context, session, cert_world):  # noqa: F811
    return _issue(session, cert_world)


def test_a_bad_record_returns_the_batch_with_the_problem_then_a_clean_batch_is_forwarded(session, cert_world, issued):
    w = cert_world
    extra = pass_records(session, w["passes_a"].make(1))[0]
    bad_id = protect_id("resident_id", "150102198001019999")  # wrong check character
    bad = plant(session, issued[0], extra.id, 900001, name="孙八", id_cipher=bad_id.cipher, id_digest=bad_id.digest,
                id_masked=bad_id.masked)
    batch = submit_batch(session, w["A"], DAY, DAY, w["admin_a"])
    assert (batch.status, batch.issued_count, batch.league_city) == ("submitted", 4, None)
    review_batch(session, batch, w["regulator"])
    assert batch.status == "returned"
    assert {(p["subject"], p["field"]) for p in batch.problems} == {(bad.number, "id_number")}
    session.commit()
    with pytest.raises(Conflict):
        accept_batch(session, batch, w["regulator"])
    again = submit_batch(session, w["A"], date(2026, 12, 1), DAY, w["admin_a"])
    assert again.issued_count == 4  # a returned batch frees its records for the next one


def test_a_clean_batch_is_forwarded_accepted_and_revocations_travel_later(session, cert_world, issued):
    w = cert_world
    batch = submit_batch(session, w["A"], DAY, DAY, w["admin_a"], note="十二月")
    review_batch(session, batch, w["regulator"])
    assert batch.status == "forwarded" and batch.problems == []
    accept_batch(session, batch, w["regulator"])
    assert batch.status == "accepted"
    with pytest.raises(ValidationFailed):
        submit_batch(session, w["A"], DAY, DAY, w["admin_a"])  # nothing left to report
    void_certificate(session, issued[1], reason_category="candidate_misconduct", reason="替考",
                     case_reference=void_case(session, issued[1], w["regulator"]), actor=w["regulator"])
    later = submit_batch(session, w["A"], DAY, DAY, w["admin_a"])
    assert (later.issued_count, later.revoked_count) == (0, 1)
    assert [(r.record_type, r.number) for r in later.records] == [("revoke", issued[1].number)]
    review_batch(session, later, w["regulator"])
    assert later.status == "forwarded"
    session.commit()
    actions = [e.action for e in session.scalars(select(AuditEvent).where(
        AuditEvent.action.like("certificate_batch.%")).order_by(AuditEvent.seq))]
    assert actions == ["certificate_batch.submit", "certificate_batch.forward", "certificate_batch.accept",
                       "certificate_batch.submit", "certificate_batch.forward"]


def test_only_the_institution_submits_and_only_regulators_check(session, cert_world, issued):
    w = cert_world
    with pytest.raises(Forbidden):
        submit_batch(session, w["A"], DAY, DAY, w["admin_b"])
    with pytest.raises(Forbidden):
        submit_batch(session, w["A"], DAY, DAY, w["regulator"])
    batch = submit_batch(session, w["A"], DAY, DAY, w["admin_a"])
    with pytest.raises(Forbidden):
        review_batch(session, batch, w["admin_a"])


def test_batch_pages_and_archive_pages_by_role(app, client, session, cert_world):  # noqa: F811
    w = cert_world
    with app.app_context():
        _issue(session, w)
    login(client, "admin_b")
    answer = client.post("/certificate-batches/", data={"institution_id": w["A"].id, "period_from": "2026-12-20",
                                                         "period_to": "2026-12-20"}, headers=csrf_headers(client))
    assert answer.status_code == 403
    login(client, "admin_a")
    answer = client.post("/certificate-batches/", data={"institution_id": w["A"].id, "period_from": "2026-12-20",
                                                         "period_to": "2026-12-20"}, headers=csrf_headers(client))
    assert answer.status_code == 302
    batch_id = int(answer.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    assert client.get(f"/certificate-batches/{batch_id}").status_code == 200
    assert client.get("/certificate-batches/regulator/").status_code == 403
    assert client.get("/archives/verify").status_code == 403
    login(client, "regulator")
    answer = client.post(f"/api/v1/archives/regulator/certificate-batches/{batch_id}/review",
                         headers=csrf_headers(client))
    assert answer.status_code == 200 and answer.get_json()["status"] == "forwarded"
    page = client.get(f"/certificate-batches/regulator/{batch_id}")
    assert page.status_code == 200
    assert client.get("/archives/verify").status_code == 200


def test_a_refused_batch_is_shown_as_an_error_not_as_a_success(app, client, session, cert_world):  # noqa: F811
    """The batch pages report a refusal by flashing it as an error: it must not look like the green success."""
    w = cert_world
    with app.app_context():
        _issue(session, w)
    login(client, "admin_a")
    data = {"institution_id": w["A"].id, "period_from": "2026-12-20", "period_to": "2026-12-20"}
    assert client.post("/certificate-batches/", data=data, headers=csrf_headers(client)).status_code == 302
    again = client.post("/certificate-batches/", data=data, headers=csrf_headers(client), follow_redirects=True)
    html = again.get_data(as_text=True)
    assert '<p class="error" role="alert">该期间没有未报送的证书数据</p>' in html, html
    assert '<p class="flash">该期间没有未报送的证书数据' not in html
