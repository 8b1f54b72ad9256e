"""Issue 13: the certificate register leaked. A league/city regulator sees only the certificates of
its jurisdiction (lists, details, exports); ID numbers are masked everywhere but in the national
upload export, which only the region takes out, of the data it accepted, audited."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from sqlalchemy import select

from examsvc.accounts.service import create_user
from examsvc.audit.models import AuditEvent
from examsvc.auth import Permission
from examsvc.certificates.batches import accept_batch, review_batch, submit_batch
from examsvc.certificates.models import Certificate
from examsvc.certificates.register import masked_export, national_upload, require_regulates, visible_institutions
from examsvc.certificates.service import issue_certificates
from examsvc.errors import Forbidden
from examsvc.protect import reveal_id
from tests.certificates.builders import Passes, pass_records
from tests.cli.test_cli import examsvc  # noqa: F401  (the in-process runner fixture)
from tests.conftest import PASSWORD, login

DAY = date(2026, 12, 20)


def regulator_of(session, username: str, jurisdiction: str):
    user = create_user(session, username=username, password=PASSWORD, display_name=username,
                       roles=[("regulator", None)], jurisdiction=jurisdiction)
    session.commit()
    return user


def build(session, cert_world):
    """Two certificates of A (a region-level institution) and one of B (包头市)."""
    a = issue_certificates(session, pass_records(session, cert_world["passes_a"].make(2)), cert_world["admin_a"])
    b_passes = Passes(session, cert_world["B"], cert_world["admin_b"].id, occupation="6-18-01-01", level="3")
    b = issue_certificates(session, pass_records(session, b_passes.make(1)), cert_world["admin_b"])
    session.commit()
    a, b = [session.get(Certificate, c.id) for c in a], [session.get(Certificate, c.id) for c in b]
    return {**cert_world, "a": a, "b": b,
            "baotou": regulator_of(session, "reg_baotou", "包头市"),
            "hohhot": regulator_of(session, "reg_hohhot", "呼和浩特市"),
            "full": {c.id: reveal_id(c.id_cipher) for c in a + b}}


@pytest.fixture
def register(app_context, session, cert_world):
    return build(session, cert_world)


@pytest.fixture
def served(app, session, cert_world):
    """The same for HTTP tests, which must not hold an app context of their own."""
    with app.app_context():
        return build(session, cert_world)


def accept_b(app, session, w):
    with app.app_context():
        batch = submit_batch(session, w["B"], DAY, DAY, w["admin_b"])
        review_batch(session, batch, w["baotou"])
        accept_batch(session, batch, w["regulator"])
        session.commit()


def full(certificate: Certificate) -> str:
    return reveal_id(certificate.id_cipher)


def test_a_league_city_sees_its_jurisdiction_and_exports_are_masked(session, register):
    w = register
    assert visible_institutions(session, w["regulator"], Permission.REGULATE) is None
    assert visible_institutions(session, w["baotou"], Permission.REGULATE) == {w["B"].id}
    assert visible_institutions(session, w["hohhot"], Permission.REGULATE) == set()
    require_regulates(session, w["baotou"], w["b"][0])
    for actor, certificate in ((w["hohhot"], w["b"][0]), (w["baotou"], w["a"][0])):
        with pytest.raises(Forbidden) as refused:
            require_regulates(session, actor, certificate)
        assert refused.value.code == "outside_jurisdiction"
    report = masked_export(session, None)
    assert report.issued == 3
    assert {r["id_number"] for r in report.rows} == {c.id_masked for c in w["a"] + w["b"]}
    assert not {full(c) for c in w["a"] + w["b"]} & {r["id_number"] for r in report.rows}


def test_only_the_region_takes_out_the_accepted_data_with_full_id_numbers(session, register):
    w = register
    for actor in (w["baotou"], w["admin_b"]):
        with pytest.raises(Forbidden):
            national_upload(session, actor)
    assert national_upload(session, w["regulator"]).rows == []   # nothing accepted yet
    batch = submit_batch(session, w["B"], DAY, DAY, w["admin_b"])
    review_batch(session, batch, w["baotou"])
    assert national_upload(session, w["regulator"]).rows == []   # forwarded, not yet accepted
    accept_batch(session, batch, w["regulator"])
    session.commit()
    report = national_upload(session, w["regulator"])
    assert [(r["number"], r["id_number"]) for r in report.rows] == [(w["b"][0].number, full(w["b"][0]))]


def test_over_http_lists_details_and_exports(app, session, served):
    w = served

    def full(certificate):
        return w["full"][certificate.id]

    baotou = app.test_client()
    login(baotou, "reg_baotou")
    listed = baotou.get("/api/v1/certificates/regulator").get_json()
    assert [c["number"] for c in listed["certificates"]] == [w["b"][0].number]
    assert baotou.get(f"/api/v1/certificates/regulator?institution_id={w['A'].id}").status_code == 403
    assert baotou.get(f"/api/v1/certificates/regulator/{w['a'][0].id}").status_code == 403
    assert baotou.get(f"/certificates/regulator/{w['a'][0].id}").status_code == 403
    page = baotou.get("/certificates/regulator/").get_data(as_text=True)
    assert w["b"][0].number in page and w["a"][0].number not in page
    detail = baotou.get(f"/api/v1/certificates/regulator/{w['b'][0].id}").get_json()
    assert detail["id_masked"] == w["b"][0].id_masked and full(w["b"][0]) not in str(detail)
    mine = baotou.get("/api/v1/certificates/regulator/export?format=csv")
    rows = list(csv.reader(io.StringIO(mine.data.decode("utf-8-sig"))))[1:]
    assert [(r[1], r[4]) for r in rows] == [(w["b"][0].number, w["b"][0].id_masked)]
    assert baotou.get(f"/api/v1/certificates/regulator/export?institution_id={w['A'].id}").status_code == 403
    assert baotou.get("/api/v1/certificates/regulator/national-upload").status_code == 403
    assert baotou.get("/certificates/regulator/national-upload/file").status_code == 403

    region = app.test_client()
    login(region, "regulator")
    everything = region.get("/api/v1/certificates/regulator/export?format=csv").data.decode("utf-8-sig")
    assert all(c.number in everything and full(c) not in everything for c in w["a"] + w["b"])
    assert "national-upload/file" in region.get("/certificates/regulator/export").get_data(as_text=True)
    accept_b(app, session, w)
    upload = region.get("/api/v1/certificates/regulator/national-upload?format=csv")
    assert upload.status_code == 200
    text = upload.data.decode("utf-8-sig")
    assert full(w["b"][0]) in text and w["a"][0].number not in text
    event = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event.action == "certificate.national_export" and event.details["full_ids"] is True
    assert region.get("/certificates/regulator/national-upload/file?format=xlsx").status_code == 200


def test_the_cli_export_is_masked_and_only_the_region_takes_the_national_upload(examsvc, database_url, app, session,
                                                                               served, tmp_path):  # noqa: F811
    w, out = served, tmp_path / "upload.csv"

    def read():
        return list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))[1:]

    plain = examsvc("certificates", "export", "--format", "csv", "-o", str(out), database_url=database_url)
    assert plain.code == 0, plain.err
    assert sorted(r[4] for r in read()) == sorted(c.id_masked for c in w["a"] + w["b"])
    assert examsvc("certificates", "export", "--national", "-o", str(out), database_url=database_url).code == 2
    refused = examsvc("certificates", "export", "--national", "--user", "reg_baotou", "--format", "csv", "-o", str(out),
                      database_url=database_url)
    assert refused.code == 1 and "region's regulator" in refused.err
    accept_b(app, session, w)
    national = examsvc("certificates", "export", "--national", "--user", "regulator", "--format", "csv", "-o", str(out),
                       database_url=database_url)
    assert national.code == 0, national.err
    assert [(r[1], r[4]) for r in read()] == [(w["b"][0].number, w["full"][w["b"][0].id])]
