"""Public verification: valid / void / not found, names must match, never the full ID number, forged
and malformed input refused, and a rate limit that every app server shares through the database."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from examsvc import create_app
from examsvc.certificates.models import Certificate, VerificationCounter
from examsvc.certificates.service import issue_certificate, void_certificate
from examsvc.certificates.verification import (
    TooManyLookups, count_lookup, normalise_name, qr_tag, verification_url, verify,
)
from examsvc.errors import ValidationFailed
from examsvc.protect import reveal_id
from tests.certificates.builders import pass_records, void_case
from tests.conftest import count_rows, csrf_headers, test_config


@pytest.fixture
def issued(app, session, cert_world):
    with app.app_context():
        records = pass_records(session, cert_world["passes_a"].make(2, names=["张三", "Li Lei"]))
        certificates = [issue_certificate(session, r, "cli") for r in records]
        session.commit()
        full_id = reveal_id(certificates[0].id_cipher)
    return {"certificates": certificates, "full_id": full_id}


def test_valid_by_number_and_name_shows_the_masked_id_only(app_context, session, issued):
    certificate = issued["certificates"][0]
    result = verify(session, certificate.number, name=" 张 三 ")
    assert result.outcome == "valid" and result.id_masked == certificate.id_masked
    body = result.as_dict()
    assert body["level"] == "四级/中级工" and body["work_type"] == "--" and body["institution_name"] == "甲评价机构"
    assert issued["full_id"] not in str(body) and "*" in body["id_masked"]
    assert verify(session, issued["certificates"][1].number, name="li lei").outcome == "valid"


def test_a_wrong_name_or_an_unknown_number_is_not_found_and_reveals_nothing(app_context, session, issued):
    certificate = issued["certificates"][0]
    wrong = verify(session, certificate.number, name="李四")
    assert wrong.outcome == "not_found" and wrong.as_dict() == {"outcome": "not_found", "number": certificate.number}
    forged_serial = certificate.number[:-6] + "999999"
    assert verify(session, forged_serial, name="张三").outcome == "not_found"


def test_void_shows_the_date_and_the_reason_category(app_context, session, cert_world, issued):
    certificate = issued["certificates"][0]
    reference = void_case(session, certificate, cert_world["regulator"])
    void_certificate(session, certificate, reason_category="false_information", reason="学历材料造假（内部说明）",
                     case_reference=reference, actor=cert_world["regulator"])
    session.commit()
    body = verify(session, certificate.number, name="张三").as_dict()
    assert body["outcome"] == "void" and body["voided_on"] == "2026-12-20"
    assert body["void_reason"] == "false_information" and body["void_reason_zh"] == "提供虚假材料或信息"
    assert "内部说明" not in str(body) and reference not in str(body)  # the category is public, the details are not


def test_the_qr_link_stands_in_for_the_name_and_a_forged_one_is_refused(app_context, session, issued):
    certificate = issued["certificates"][0]
    url = verification_url("https://certs.example.cn/", certificate.number)
    assert url == f"https://certs.example.cn/verify/{certificate.number}?n={qr_tag(certificate.number)}"
    assert verify(session, certificate.number, tag=qr_tag(certificate.number)).outcome == "valid"
    with pytest.raises(ValidationFailed) as forged:
        verify(session, certificate.number, tag="0" * 16)
    assert forged.value.code == "verification.forged"
    other = issued["certificates"][1].number
    with pytest.raises(ValidationFailed):  # a real tag of another certificate does not fit this number
        verify(session, certificate.number, tag=qr_tag(other))
    with pytest.raises(ValidationFailed) as no_name:
        verify(session, certificate.number)
    assert no_name.value.field == "name"
    assert normalise_name("Ｌｉ　Ｌｅｉ") == "lilei"


def test_the_rate_limit_counts_per_address_in_fixed_windows(app_context, session, issue_day):
    for expected in (1, 2, 3):
        assert count_lookup(session, "203.0.113.5", limit=3, window_seconds=600) == expected
    with pytest.raises(TooManyLookups) as limited:
        count_lookup(session, "203.0.113.5", limit=3, window_seconds=600)
    assert limited.value.status == 429 and "3" in limited.value.message
    assert count_lookup(session, "198.51.100.7", limit=3, window_seconds=600) == 1  # another address
    issue_day.advance(timedelta(seconds=600))
    assert count_lookup(session, "203.0.113.5", limit=3, window_seconds=600) == 1  # a new window
    assert session.scalar(select(func.count()).select_from(VerificationCounter)) == 1  # ended windows deleted


def test_pages_answer_and_two_app_servers_share_one_limit(app, client, session, database_url, tmp_path, issued):
    app.config.update(VERIFY_RATE_LIMIT=4)
    other_server = create_app({**test_config(database_url, tmp_path / "instance"), "VERIFY_RATE_LIMIT": 4})
    other = other_server.test_client()
    certificate = issued["certificates"][0]
    headers = csrf_headers(client)
    page = client.post("/verify", data={"number": certificate.number, "name": "张三"}, headers=headers)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "有效" in html and certificate.id_masked in html and issued["full_id"] not in html
    assert other.get(f"/api/v1/certificates/verify?number={certificate.number}&name=张三").get_json()["outcome"] == "valid"
    malformed = client.post("/verify", data={"number": "S0000-forged", "name": "张三"}, headers=headers)
    assert malformed.status_code == 422 and "证书编号格式不正确" in malformed.get_data(as_text=True)
    forged = other.get(f"/api/v1/certificates/verify?number={certificate.number}&n=ffffffffffffffff")
    assert forged.status_code == 422 and forged.get_json()["code"] == "verification.forged"
    limited = client.post("/verify", data={"number": certificate.number, "name": "张三"}, headers=headers)
    assert limited.status_code == 429 and "查验过于频繁" in limited.get_data(as_text=True)
    api_limited = other.get(f"/api/v1/certificates/verify?number={certificate.number}&name=张三")
    assert api_limited.status_code == 429 and api_limited.get_json()["code"] == "rate_limited"
    assert count_rows(session, Certificate) == 2  # nothing but the counters changed
    other_server.extensions["examsvc.engine"].dispose()


def test_the_qr_link_opens_the_page(app, client, session, issued):
    certificate = issued["certificates"][0]
    with app.app_context():
        url = verification_url(app.config["PUBLIC_BASE_URL"], certificate.number)
    parts = urlsplit(url)
    assert url.startswith("http://127.0.0.1:5000/verify/")
    page = client.get(f"{parts.path}?{parts.query}", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "Valid" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    bare = client.get(parts.path)
    assert bare.status_code == 200 and certificate.number in bare.get_data(as_text=True)
    forged = client.get(f"{parts.path}?n=0000000000000000")
    assert forged.status_code == 422 and "二维码校验码不符" in forged.get_data(as_text=True)
    assert client.get("/verify/NOT-A-NUMBER").status_code == 422
