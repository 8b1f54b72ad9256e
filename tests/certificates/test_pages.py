"""Certificate pages: institution admins issue, list, download and export their own; regulators
see every institution's and void; each refusal says why on the page."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from sqlalchemy import select

from examsvc.audit.models import AuditEvent
from examsvc.certificates.models import Certificate, CertificateVoid
from tests.certificates.builders import void_case
from tests.conftest import count_rows, csrf_token_from, login

EN = {"Accept-Language": "en"}


def signed_in(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def post(client, url, data=None, **kwargs):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **(data or {})}, **kwargs)


def last_action(session):
    session.expire_all()
    return session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq.desc())).first()


def test_an_admin_issues_a_session_lists_downloads_and_cannot_see_another_institution(app, session, cert_world):
    with app.app_context():
        ids = cert_world["passes_a"].make(3)
    session.commit()
    admin = signed_in(app, "admin_a")
    form = admin.get("/certificates/issue").get_data(as_text=True)
    theory = cert_world["passes_a"].sessions["theory"]
    assert "颁发 3 本证书" in form and theory.title in form
    unconfirmed = post(admin, "/certificates/issue", {"session_id": theory.id})
    assert unconfirmed.status_code == 422 and "请勾选确认" in unconfirmed.get_data(as_text=True)
    assert count_rows(session, Certificate) == 0
    done = post(admin, "/certificates/issue", {"session_id": theory.id, "confirm": "1"}, follow_redirects=True)
    page = done.get_data(as_text=True)
    assert done.status_code == 200 and "已颁发 3 本证书" in page and "S000015000001264000003" in page
    again = post(admin, "/certificates/issue", {"session_id": theory.id, "confirm": "1"})
    assert again.status_code == 409 and "没有待发的证书" in again.get_data(as_text=True)
    certificate = session.scalar(select(Certificate).order_by(Certificate.id))
    detail = admin.get(f"/certificates/{certificate.id}").get_data(as_text=True)
    assert certificate.id_masked in detail and "/verify/" in detail and "宣布作废" not in detail
    pdf = admin.get(f"/certificates/{certificate.id}/certificate.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert pdf.headers["Cache-Control"] == "no-store" and last_action(session) == "certificate.pdf"
    other = signed_in(app, "admin_b")
    assert other.get(f"/certificates/{certificate.id}").status_code == 403
    assert other.get(f"/certificates/{certificate.id}/certificate.pdf").status_code == 403
    assert "S000015000001" not in other.get("/certificates/").get_data(as_text=True)
    assert other.get(f"/certificates/?institution_id={cert_world['A'].id}").status_code == 403
    assert admin.get("/certificates/regulator/").status_code == 403


def test_a_failed_batch_lists_its_problems_on_the_page(app, session, cert_world):
    with app.app_context():
        cert_world["passes_a"].make(2)
        cert_world["passes_a"].make(1, fail="skill")
    session.commit()
    admin = signed_in(app, "admin_a")
    refused = post(admin, "/certificates/issue", {"session_id": cert_world["passes_a"].sessions["skill"].id,
                                                  "confirm": "1"}, headers=EN)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "no certificate for a fail" in page and "Problems found" in page
    assert count_rows(session, Certificate) == 0


def test_a_regulator_sees_every_institution_and_voids_with_a_reason(app, session, cert_world):
    with app.app_context():
        cert_world["passes_a"].make(2)
    session.commit()
    post(signed_in(app, "admin_a"), "/certificates/issue",
         {"session_id": cert_world["passes_a"].sessions["theory"].id, "confirm": "1"})
    certificate = session.scalar(select(Certificate).order_by(Certificate.id))
    regulator = signed_in(app, "regulator")
    listing = regulator.get("/certificates/regulator/?status=valid").get_data(as_text=True)
    assert certificate.number in listing and "共 2 本证书" in listing
    assert regulator.get("/certificates/").status_code == 403
    detail = regulator.get(f"/certificates/regulator/{certificate.id}").get_data(as_text=True)
    assert "宣布作废" in detail and "下载证书" not in detail
    url = f"/certificates/regulator/{certificate.id}/void"
    missing = post(regulator, url, {"reason_category": "candidate_misconduct", "reason": " ", "confirm": "1"})
    assert missing.status_code == 422 and "须写明作废理由" in missing.get_data(as_text=True)
    assert count_rows(session, CertificateVoid) == 0
    with app.app_context():
        reference = void_case(session, certificate, cert_world["regulator"])
    done = post(regulator, url, {"reason_category": "candidate_misconduct", "reason": "替考",
                                 "case_reference": reference, "confirm": "1"}, follow_redirects=True)
    page = done.get_data(as_text=True)
    assert "证书已宣布作废" in page and reference in page and "参评人员违纪违规" in page
    assert last_action(session) == "certificate.void"
    assert "已作废" in signed_in(app, "admin_a").get("/certificates/?status=void").get_data(as_text=True)
    assert post(regulator, url, {"reason_category": "issued_in_error", "reason": "x", "confirm": "1"}).status_code == 409


def test_the_export_page_checks_first_then_downloads_audited_files(app, session, cert_world):
    with app.app_context():
        cert_world["passes_a"].make(2)
    session.commit()
    admin = signed_in(app, "admin_a")
    post(admin, "/certificates/issue", {"session_id": cert_world["passes_a"].sessions["theory"].id, "confirm": "1"})
    check = admin.get("/certificates/export?check=1&issued_from=2026-12-01&issued_to=2026-12-31")
    page = check.get_data(as_text=True)
    assert check.status_code == 200 and "共核验 2 条记录" in page and "format=csv" in page
    bad = admin.get("/certificates/export?check=1&issued_from=2026-13-01")
    assert bad.status_code == 422 and "issued_from" in bad.get_data(as_text=True)
    workbook = admin.get("/certificates/export/file?format=xlsx&issued_from=2026-12-01")
    assert workbook.status_code == 200 and workbook.headers["X-Held-Back"] == "0"
    assert load_workbook(io.BytesIO(workbook.data))["证书数据"].max_row == 3
    assert last_action(session) == "certificate.export"
    data = admin.get("/certificates/export/file?format=csv").data.decode("utf-8-sig")
    assert data.count("\r\n") == 3 and "S000015000001264000002" in data
    assert signed_in(app, "admin_b").get(f"/certificates/export/file?institution_id={cert_world['A'].id}").status_code == 403
    regulator = signed_in(app, "regulator")
    assert "共核验 2 条记录" in regulator.get("/certificates/regulator/export?check=1").get_data(as_text=True)
    assert regulator.get("/certificates/regulator/export/file?format=csv").status_code == 200


def test_pages_speak_english_on_request(app, session, cert_world):
    admin = signed_in(app, "admin_a")
    for url in ("/certificates/", "/certificates/issue", "/certificates/export"):
        page = admin.get(url, headers=EN).get_data(as_text=True)
        assert "Certificates" in page and "证书" not in page.split("<main>")[1], url
    public = app.test_client().get("/verify", headers=EN).get_data(as_text=True)
    assert "Verify a certificate" in public and "Holder's name" in public


def test_the_void_form_refuses_another_jurisdictions_certificate_and_case_naming_the_field(app, session, cert_world):
    """Issue 13: voiding from the page follows the jurisdiction and names an existing case."""
    from examsvc.accounts.service import create_user
    from examsvc.certificates.service import issue_certificate
    from examsvc.supervision.service import open_case
    from tests.certificates.builders import Passes, pass_records
    from tests.conftest import PASSWORD

    for name, where in (("reg_hohhot", "呼和浩特市"), ("reg_baotou", "包头市")):
        create_user(session, username=name, password=PASSWORD, display_name=name, roles=[("regulator", None)],
                    jurisdiction=where)
    with app.app_context():
        b_passes = Passes(session, cert_world["B"], cert_world["admin_b"].id, occupation="6-18-01-01", level="3")
        certificate = issue_certificate(session, pass_records(session, b_passes.make(1))[0], cert_world["admin_b"])
        region_case = open_case(session, subject_kind="institution", subject_id=cert_world["B"].id,
                                source="regulator", facts="区级立案", jurisdiction="自治区", actor=cert_world["regulator"])
        session.commit()
    url = f"/certificates/regulator/{certificate.id}/void"
    form = {"reason_category": "issued_in_error", "reason": "错发", "confirm": "1"}
    hohhot, baotou = signed_in(app, "reg_hohhot"), signed_in(app, "reg_baotou")
    assert post(hohhot, url, {**form, "case_reference": region_case.reference}).status_code == 403
    missing = post(baotou, url, form, headers=EN)
    assert missing.status_code == 422 and "a voiding rests on a supervision case" in missing.get_data(as_text=True)
    theirs = post(baotou, url, {**form, "case_reference": region_case.reference})
    page = theirs.get_data(as_text=True)
    assert theirs.status_code == 403 and f"案件 {region_case.reference} 属自治区评价监管部门管辖" in page
    assert 'id="case_reference"' in page  # the form is shown again, with the error
    assert count_rows(session, CertificateVoid) == 0
