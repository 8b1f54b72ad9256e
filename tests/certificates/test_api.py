"""The certificates API: issue one or a session, refusals in the one error shape, PDF, export, void,
and the public verification."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from examsvc.certificates.models import Certificate
from tests.certificates.builders import pass_records, void_case
from tests.conftest import PASSWORD, count_rows


def token(client, username):
    response = client.post("/api/v1/tokens", json={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def error(response, status, code, field=None):
    body = response.get_json()
    assert response.status_code == status and body["code"] == code, body
    assert set(body) == {"code", "message", "field"} and (field is None or body["field"] == field), body
    return body


def test_issue_list_read_and_download_and_every_bad_input_refused(app, client, session, cert_world):
    with app.app_context():
        good, second = cert_world["passes_a"].make(2)
        failed = cert_world["passes_a"].make(1, fail="theory")[0]
    session.commit()
    admin = token(client, "admin_a")
    issued = client.post("/api/v1/certificates", json={"pass_record_id": good}, headers=admin)
    assert issued.status_code == 201, issued.get_json()
    body = issued.get_json()
    assert body["number"] == "S000015000001264000001" and body["status"] == "valid" and body["work_type"] == "--"
    assert body["level_name"] == "四级/中级工" and "*" in body["id_masked"] and "id_cipher" not in body
    assert body["verify_url"].startswith("http://127.0.0.1:5000/verify/S000015000001264000001?n=")
    error(client.post("/api/v1/certificates", json={"pass_record_id": good}, headers=admin), 409,
          "certificate.already_issued", "pass_record_id")
    refused = error(client.post("/api/v1/certificates", json={"pass_record_id": failed}, headers=admin), 422,
                    "certificate.cannot_issue", "scores")
    assert "未合格" in refused["message"]
    error(client.post("/api/v1/certificates", json={"pass_record_id": 999}, headers=admin), 404, "not_found")
    error(client.post("/api/v1/certificates", json={}, headers=admin), 422, "validation_failed", "pass_record_id")
    error(client.post("/api/v1/certificates", json={"pass_record_id": second}, headers=token(client, "admin_b")),
          403, "forbidden")
    assert count_rows(session, Certificate) == 1
    listing = client.get("/api/v1/certificates?status=valid", headers=admin).get_json()
    assert listing["total"] == 1 and listing["certificates"][0]["number"] == body["number"]
    assert client.get("/api/v1/certificates", headers=token(client, "admin_b")).get_json()["total"] == 0
    one = client.get(f"/api/v1/certificates/{body['id']}", headers=admin)
    assert one.status_code == 200 and one.get_json()["scores"] == body["scores"]
    pdf = client.get(f"/api/v1/certificates/{body['id']}/pdf", headers=admin)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data[:4] == b"%PDF"
    error(client.get(f"/api/v1/certificates/{body['id']}", headers=token(client, "admin_b")), 403, "forbidden")


def test_issue_a_session_export_and_void(app, client, session, cert_world):
    with app.app_context():
        cert_world["passes_a"].make(3)
    session.commit()
    admin = token(client, "admin_a")
    theory = cert_world["passes_a"].sessions["theory"].id
    issued = client.post("/api/v1/certificates/issue-session", json={"session_id": theory}, headers=admin)
    assert issued.status_code == 201 and issued.get_json()["count"] == 3
    error(client.post("/api/v1/certificates/issue-session", json={"session_id": theory}, headers=admin), 409,
          "certificate.nothing_to_issue", "session_id")
    report = client.get("/api/v1/certificates/export/check", headers=admin).get_json()
    assert (report["checked"], report["issued"], report["held_back"], report["problems"]) == (3, 3, 0, [])
    exported = client.get("/api/v1/certificates/export?format=csv", headers=admin)
    assert exported.status_code == 200 and exported.headers["X-Held-Back"] == "0"
    assert len(list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig"))))) == 4
    error(client.get("/api/v1/certificates/export?format=pdf", headers=admin), 422, "validation_failed", "format")
    regulator = token(client, "regulator")
    first = issued.get_json()["certificates"][0]
    void_url = f"/api/v1/certificates/regulator/{first['id']}/void"
    error(client.post(void_url, json={"reason_category": "made_up", "reason": "x"}, headers=regulator), 422,
          "validation_failed", "reason_category")
    error(client.post(void_url, json={"reason_category": "issued_in_error", "reason": "错发"}, headers=admin), 403,
          "forbidden")
    error(client.post(void_url, json={"reason_category": "issued_in_error", "reason": "错发"}, headers=regulator), 422,
          "validation_failed", "case_reference")  # a voiding rests on a case
    with app.app_context():
        reference = void_case(session, session.get(Certificate, first["id"]), cert_world["regulator"])
    voided = client.post(void_url, json={"reason_category": "issued_in_error", "reason": "错发",
                                         "case_reference": reference}, headers=regulator)
    assert voided.status_code == 200, voided.get_json()
    assert voided.get_json()["status"] == "void" and voided.get_json()["void"]["case_reference"] == reference
    error(client.post(void_url, json={"reason_category": "issued_in_error", "reason": "again"}, headers=regulator),
          409, "certificate.already_void")
    all_of_them = client.get("/api/v1/certificates/regulator?status=void", headers=regulator).get_json()
    assert [c["number"] for c in all_of_them["certificates"]] == [first["number"]]
    assert client.get("/api/v1/certificates/regulator/export/check", headers=regulator).get_json()["revoked"] == 1
    workbook = client.get("/api/v1/certificates/regulator/export?format=xlsx", headers=regulator)
    assert workbook.status_code == 200 and workbook.data[:2] == b"PK"


def test_public_verification_over_the_api(app, client, session, cert_world):
    with app.app_context():
        record = pass_records(session, cert_world["passes_a"].make(1, names=["王小明"]))[0]
    session.commit()
    client.post("/api/v1/certificates", json={"pass_record_id": record.id}, headers=token(client, "admin_a"))
    number = session.scalar(select(Certificate.number))
    anonymous = app.test_client()
    found = anonymous.get(f"/api/v1/certificates/verify?number={number}&name=王小明")
    assert found.status_code == 200 and found.get_json()["outcome"] == "valid"
    assert found.get_json()["id_masked"] == record.id_masked
    assert anonymous.get(f"/api/v1/certificates/verify?number={number}&name=王小").get_json() == {
        "outcome": "not_found", "number": number}
    error(anonymous.get("/api/v1/certificates/verify?number=123&name=王小明"), 422, "certificate_number.format", "number")
    error(anonymous.get(f"/api/v1/certificates/verify?number={number}"), 422, "verification.name_required", "name")


def test_a_league_city_regulator_voids_only_its_own_institutions_certificates_on_its_own_case(
        app, client, session, cert_world):
    """Issue 13: 呼和浩特市 voided a certificate of a 包头市 institution, on free text for a case."""
    from examsvc.accounts.service import create_user
    from examsvc.certificates.models import CertificateVoid
    from examsvc.certificates.service import issue_certificate
    from examsvc.supervision.service import open_case
    from tests.certificates.builders import Passes

    made = {name: create_user(session, username=name, password=PASSWORD, display_name=name,
                              roles=[("regulator", None)], jurisdiction=where)
            for name, where in (("reg_hohhot", "呼和浩特市"), ("reg_baotou", "包头市"))}
    with app.app_context():
        b_passes = Passes(session, cert_world["B"], cert_world["admin_b"].id, occupation="6-18-01-01", level="3")
        certificate = issue_certificate(session, pass_records(session, b_passes.make(1))[0], cert_world["admin_b"])
        region_case = open_case(session, subject_kind="institution", subject_id=cert_world["B"].id,
                                source="regulator", facts="区级立案", jurisdiction="自治区", actor=cert_world["regulator"])
        session.commit()
        own_case = void_case(session, certificate, made["reg_baotou"])
    url = f"/api/v1/certificates/regulator/{certificate.id}/void"
    body = {"reason_category": "issued_in_error", "reason": "错发"}
    hohhot, baotou = token(client, "reg_hohhot"), token(client, "reg_baotou")
    refused = client.post(url, json={**body, "case_reference": own_case}, headers=hohhot)
    assert refused.status_code == 403 and refused.get_json()["code"] == "outside_jurisdiction", refused.get_json()
    error(client.post(url, json=body, headers=baotou), 422, "validation_failed", "case_reference")
    error(client.post(url, json={**body, "case_reference": "内人社监〔2026〕12号"}, headers=baotou), 422,
          "validation_failed", "case_reference")
    error(client.post(url, json={**body, "case_reference": region_case.reference}, headers=baotou), 403,
          "outside_jurisdiction", "case_reference")
    assert count_rows(session, CertificateVoid) == 0
    voided = client.post(url, json={**body, "case_reference": own_case}, headers=baotou)
    assert voided.status_code == 200 and voided.get_json()["void"]["case_reference"] == own_case, voided.get_json()
