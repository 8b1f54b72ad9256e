"""The item bank's JSON API: the HTTP shape of the rules tested in test_bank_service."""

import io

import pytest

from itembank.interchange.excel import write_items
from itembank.items import build_content
from tests.bank.conftest import THEORY_L4, single_choice
from tests.conftest import PASSWORD


def _token(client, username):
    response = client.post("/api/v1/tokens", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


@pytest.fixture
def api(client, bank):
    return {"writer": _token(client, "writer1"), "writer2": _token(client, "writer2"),
            "reviewer": _token(client, "reviewer1")}


def test_item_lifecycle_over_http(client, bank, api):
    blueprint_id = bank["blueprint"].id
    created = client.post("/api/v1/bank/items", json={"blueprint_id": blueprint_id,
                                                       "content": single_choice(bank["codes"][0])},
                          headers=api["writer"])
    assert created.status_code == 201, created.get_json()
    item = created.get_json()
    assert item["versions"][0]["status"] == "draft" and item["versions"][0]["content"]["key"] == ["B"]
    url = f"/api/v1/bank/items/{item['id']}"
    submitted = client.post(f"{url}/versions/1/submit", json={"acknowledged": []}, headers=api["writer"])
    assert submitted.status_code == 200 and submitted.get_json()["status"] == "submitted"
    own = client.post(f"{url}/versions/1/review", json={"decision": "approve"}, headers=api["writer"])
    assert own.status_code == 403  # writers hold no review permission
    approved = client.post(f"{url}/versions/1/review", json={"decision": "approve"}, headers=api["reviewer"])
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    edited = client.put(url, json={"content": single_choice(bank["codes"][0], stem="下列原料中，属于蔬菜的是（　）。")},
                        headers=api["writer2"])
    assert edited.status_code == 200 and edited.get_json()["number"] == 2 and edited.get_json()["parent_number"] == 1
    diff = client.get(f"{url}/diff?a=1&b=2", headers=api["writer"]).get_json()
    assert [change["field"] for change in diff] == ["zh.stem"]
    versions = client.get(url, headers=api["reviewer"]).get_json()["versions"]
    assert [v["status"] for v in versions] == ["approved", "draft"]


def test_errors_name_the_field(client, bank, api):
    bad = single_choice(bank["codes"][0])
    bad["key"] = "E"  # not among A-D
    response = client.post("/api/v1/bank/items", json={"blueprint_id": bank["blueprint"].id, "content": bad},
                           headers=api["writer"])
    assert response.status_code == 422
    assert response.get_json()["field"] == "key"
    missing = client.post("/api/v1/bank/items", json={"content": {}}, headers=api["writer"])
    assert missing.status_code == 422 and missing.get_json()["field"] == "blueprint_id"
    unknown = client.get("/api/v1/bank/items/999999", headers=api["writer"])
    assert unknown.status_code == 404 and unknown.get_json()["field"] == "item_id"


def test_live_check_returns_findings(client, bank, api):
    content = single_choice(bank["codes"][0], stem="下列原料中，不属于动物性原料的是")
    response = client.post("/api/v1/bank/check", json={"blueprint_id": bank["blueprint"].id, "content": content},
                           headers=api["writer"])
    assert response.status_code == 200
    rules = {f["rule"] for f in response.get_json()}
    assert {"stem-negative-unemphasised", "stem-not-question"} <= rules


def test_excel_import_job_refuses_bad_rows_until_valid_rows_only(client, bank, api):
    good = build_content(**single_choice(bank["codes"][0]))
    unknown_element = build_content(**single_choice("Z-99-999"))
    data = write_items([good, unknown_element])
    response = client.post("/api/v1/bank/imports", data={
        "blueprint_id": str(bank["blueprint"].id), "format": "excel",
        "file": (io.BytesIO(data), "items.xlsx")}, headers=api["writer"], content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    job = response.get_json()
    assert (job["rows_valid"], job["rows_invalid"]) == (1, 1)
    assert job["report"]["errors"][0]["row"] == 3 and job["report"]["errors"][0]["column"] == "鉴定点代码"
    refused = client.post(f"/api/v1/bank/imports/{job['id']}/confirm", json={}, headers=api["writer"])
    assert refused.status_code == 422 and refused.get_json()["field"] == "valid_rows_only"
    assert client.get(f"/api/v1/bank/items?blueprint_id={bank['blueprint'].id}", headers=api["writer"]).get_json() == []
    done = client.post(f"/api/v1/bank/imports/{job['id']}/confirm", json={"valid_rows_only": True},
                       headers=api["writer"])
    assert done.status_code == 200 and done.get_json()["imported"] == 1
    items = client.get(f"/api/v1/bank/items?blueprint_id={bank['blueprint'].id}", headers=api["writer"]).get_json()
    assert len(items) == 1 and items[0]["versions"][0]["status"] == "submitted"
    again = client.post(f"/api/v1/bank/imports/{job['id']}/confirm", json={"valid_rows_only": True},
                        headers=api["writer"])
    assert again.status_code == 409


def test_hostile_upload_is_refused_cleanly(client, bank, api):
    response = client.post("/api/v1/bank/imports", data={
        "blueprint_id": str(bank["blueprint"].id), "format": "excel",
        "file": (io.BytesIO(b"PK\x03\x04 not really a zip"), "evil.xlsx")}, headers=api["writer"],
        content_type="multipart/form-data")
    assert response.status_code == 422 and response.get_json()["field"] == "file"


def test_blueprint_upload_reports_problems_and_reload_is_noop(client, bank, api):
    text = THEORY_L4.read_bytes()
    same = client.post("/api/v1/bank/blueprints", data={"file": (io.BytesIO(text), THEORY_L4.name)},
                       headers=api["reviewer"], content_type="multipart/form-data")
    assert same.status_code == 201 and same.get_json()["latest_version"] == 1
    broken = text.replace(b'level = "4"', b'level = "9"')
    bad = client.post("/api/v1/bank/blueprints", data={"file": (io.BytesIO(broken), "broken.toml")},
                      headers=api["reviewer"], content_type="multipart/form-data")
    assert bad.status_code == 422 and bad.get_json()["code"].startswith("blueprint.")
    writer = client.post("/api/v1/bank/blueprints", data={"file": (io.BytesIO(text), THEORY_L4.name)},
                         headers=api["writer"], content_type="multipart/form-data")
    assert writer.status_code == 403


def test_coverage_reports_shortfalls(client, bank, api):
    response = client.get(f"/api/v1/bank/blueprints/{bank['blueprint'].id}/coverage", headers=api["reviewer"])
    body = response.get_json()
    assert response.status_code == 200 and body["approved_items"] == 0 and body["minimum_per_element"] == 4
    assert len(body["elements"]) == len(bank["codes"]) and all(row["short"] for row in body["elements"])


def test_export_downloads_the_approved_bank_and_is_audited(client, bank, api, session):
    from examsvc.audit.models import AuditEvent
    from examsvc.bank.service import create_item, review_version, submit_version
    from itembank.interchange.excel import read_items
    from sqlalchemy import select

    item = create_item(session, blueprint_id=bank["blueprint"].id, content=single_choice(bank["codes"][0]),
                       author=bank["writer"])
    submit_version(session, item.latest, bank["writer"])
    review_version(session, item.latest, bank["reviewer"], "approve", "")
    session.commit()
    response = client.get(f"/api/v1/bank/blueprints/{bank['blueprint'].id}/export?format=excel", headers=api["reviewer"])
    assert response.status_code == 200
    result = read_items(response.data, element_codes=set(bank["codes"]))
    assert [i.content.zh.stem for i in result.items] == [item.latest.content["zh"]["stem"]]
    assert "bank.export" in set(session.scalars(select(AuditEvent.action)))
    assert client.get(f"/api/v1/bank/blueprints/{bank['blueprint'].id}/export?format=pdf",
                      headers=api["reviewer"]).status_code == 422


def test_oversized_upload_is_refused_before_it_is_read(client, bank, api):
    response = client.post("/api/v1/bank/imports", data={
        "blueprint_id": str(bank["blueprint"].id), "format": "excel",
        "file": (io.BytesIO(b"\0" * 26_000_000), "huge.xlsx")}, headers=api["writer"],
        content_type="multipart/form-data")
    assert response.status_code == 413
    assert response.get_json()["code"] == "request_entity_too_large"
