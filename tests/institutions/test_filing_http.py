"""The filing pages and API: public directory, regulator workspace, permissions."""

from datetime import date

from examsvc.institutions.filing_models import FilingApplication
from tests.conftest import csrf_headers, login, make_user

REF = "内人社监〔2026〕7号"


def test_the_public_directory_needs_no_sign_in(client, world):
    page = client.get("/filing/directory")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "S000015000001" in html and "甲评价机构" in html and "中式烹调师" in html and "2028-04-14" in html
    data = client.get("/api/v1/filing/directory").get_json()
    a = next(e for e in data if e["code"] == "S000015000001")
    assert a["valid_until"] == "2028-04-14" and a["status"] == "active"
    assert {"occupation_code": "4-03-02-01", "occupation_name": "中式烹调师", "level": "4"} in a["scope"]


def test_non_regulators_get_403_and_visitors_are_asked_to_sign_in(client, session, world):
    make_user(session, "admin_a", "institution_admin", world["A"].id)
    assert client.get("/filing/").status_code == 302
    assert client.get("/api/v1/filing/applications").status_code == 401
    login(client, "admin_a")
    assert client.get("/filing/").status_code == 403
    assert client.get(f"/filing/institutions/{world['A'].id}/bank-audit").status_code == 403
    response = client.post(f"/api/v1/filing/institutions/{world['A'].id}/stop-orders", headers=csrf_headers(client),
                           json={"reference": REF, "reason": "x"})
    assert response.status_code == 403


def test_a_regulator_runs_the_workflow_through_the_api(client, session, world, regulator, evidence):
    login(client, "regulator1")
    headers = csrf_headers(client)
    body = {"applicant_name": "庚评价中心", "kind": "social_organisation", "tier": "region",
            "requested_scope": [["4-03-02-01", "3"]], "conditions": evidence["conditions"],
            "declarations": evidence["declarations"]}
    created = client.post("/api/v1/filing/applications", json=body, headers=headers)
    assert created.status_code == 201, created.get_json()
    app_id = created.get_json()["id"]
    refused = client.post("/api/v1/filing/applications", headers=headers,
                          json={**body, "declarations": {**evidence["declarations"], "violations": "yes"}})
    assert refused.status_code == 422 and refused.get_json()["field"] == "declarations.violations"
    for method in ("report", "document_review", "site_visit", "qa"):
        assert client.post(f"/api/v1/filing/applications/{app_id}/evaluations", headers=headers,
                           json={"method": method, "score": 90}).status_code == 201
    assert client.post(f"/api/v1/filing/applications/{app_id}/notice", headers=headers,
                       json={"start": "2026-03-10", "end": "2026-03-16"}).status_code == 200
    objected = client.post(f"/api/v1/filing/applications/{app_id}/objections", headers=headers,
                           json={"raised_by": "王五", "text": "疑问", "received_on": "2026-03-11"}).get_json()
    objection_id = objected["objections"][0]["id"]
    assert client.post(f"/api/v1/filing/applications/{app_id}/objections/{objection_id}/resolution", headers=headers,
                       json={"resolution": "不属实", "upheld": False}).status_code == 200
    batch = client.post("/api/v1/filing/batches", headers=headers,
                        json={"title": "2026年4月", "publication_date": "2026-04-20"}).get_json()
    published = client.post(f"/api/v1/filing/batches/{batch['id']}/publication", headers=headers,
                            json={"application_ids": [app_id]})
    assert published.status_code == 200 and published.get_json()[0]["code"] == "S000015000003"
    session.expire_all()
    assert session.get(FilingApplication, app_id).status == "published"

    a = world["A"].id
    order = client.post(f"/api/v1/filing/institutions/{a}/stop-orders", headers=headers,
                        json={"reference": REF, "reason": "题库不足"})
    assert order.status_code == 201
    check = client.get(f"/api/v1/institutions/{a}/can-certify?occupation_code=4-03-02-01&level=4&on_date=2026-03-20")
    assert check.status_code == 200 and not check.get_json()["allowed"]
    assert check.get_json()["code"] == "stop_order" and REF in check.get_json()["reason"]
    assert client.get(f"/api/v1/filing/institutions/{a}/bank-audit").get_json() == []
    lifted = client.post(f"/api/v1/filing/stop-orders/{order.get_json()['id']}/lift", headers=headers, json={})
    assert lifted.status_code == 200 and lifted.get_json()["lifted_at"]

    change = client.post(f"/api/v1/filing/institutions/{a}/changes", headers=headers,
                         json={"kind": "termination", "reason": "自愿终止"}).get_json()
    decided = client.post(f"/api/v1/filing/changes/{change['id']}/decision", headers=headers,
                          json={"approve": True, "note": "同意"})
    assert decided.status_code == 200 and decided.get_json()["status"] == "approved"
    assert date(2026, 3, 2)  # the frozen day of these tests


def test_the_regulator_pages_render_and_a_stop_order_is_issued_from_the_institution_page(client, session, world,
                                                                                         regulator, evidence):
    login(client, "regulator1")
    home = client.get("/").get_data(as_text=True)
    assert "/filing/" in home
    assert client.get("/filing/").status_code == 200
    assert client.get("/filing/applications/new").status_code == 200
    a = world["A"].id
    assert client.get(f"/filing/institutions/{a}").status_code == 200
    assert client.get(f"/filing/institutions/{a}/bank-audit").status_code == 200
    headers = csrf_headers(client)
    issued = client.post(f"/filing/institutions/{a}/orders", headers=headers,
                         data={"reference": REF, "reason": "题库不符合要求"})
    assert issued.status_code == 302
    page = client.get(f"/filing/institutions/{a}").get_data(as_text=True)
    assert REF in page
    missing = client.post(f"/filing/institutions/{a}/orders", headers=headers, data={"reference": "", "reason": "x"})
    assert missing.status_code == 422
    form = {"applicant_name": "辛评价中心", "kind": "employer", "tier": "league_city", "league_city": "包头市",
            "scope": "6-18-01-01 3", **{f"condition_{k}_sha256": v["attachment"] for k, v in evidence["conditions"].items()},
            **{f"declare_{k}": "1" for k in evidence["declarations"]}}
    created = client.post("/filing/applications/new", headers=headers, data=form)
    assert created.status_code == 302, created.get_data(as_text=True)
    assert client.get(created.headers["Location"]).status_code == 200
    assert client.get(f"/filing/attachments/{evidence['sha256']}").data.startswith(b"%PDF")


def test_a_site_filing_is_recorded_and_revoked_from_the_institution_page(client, session, world, regulator):
    login(client, "regulator1")
    a = world["A"].id
    headers = csrf_headers(client)
    assert client.post(f"/filing/institutions/{a}/sites", headers=headers, data={"league_city": "赤峰市"}).status_code == 302
    page = client.get(f"/filing/institutions/{a}").get_data(as_text=True)
    assert "撤销站点备案" in page and 'value="赤峰市"' in page
    missing = client.post(f"/filing/institutions/{a}/sites/revoke", headers=headers,
                          data={"league_city": "赤峰市", "reason": ""})
    assert missing.status_code == 422
    revoked = client.post(f"/filing/institutions/{a}/sites/revoke", headers=headers,
                          data={"league_city": "赤峰市", "reason": "场地被收回"})
    assert revoked.status_code == 302
    page = client.get(f"/filing/institutions/{a}").get_data(as_text=True)
    assert "赤峰市（已撤销）" in page and "撤销站点备案" not in page


def test_a_renewal_over_the_api_is_for_the_regulator_of_the_institutions_jurisdiction(app, client, session, world,
                                                                                      evidence):
    """Issue 13: a league/city regulator recorded another jurisdiction's renewal."""
    from datetime import datetime, timezone

    from examsvc import clock
    from examsvc.accounts.service import create_user
    from tests.conftest import PASSWORD

    for name, where in (("reg_hohhot", "呼和浩特市"), ("reg_baotou", "包头市")):
        create_user(session, username=name, password=PASSWORD, display_name=name, roles=[("regulator", None)],
                    jurisdiction=where)
    session.commit()
    url = f"/api/v1/filing/institutions/{world['B'].id}/renewals"  # B: 包头市, renewable from 2027-07-19
    body = {"conditions": evidence["conditions"], "declarations": evidence["declarations"]}
    with clock.frozen(datetime(2027, 8, 1, 2, tzinfo=timezone.utc)):
        login(client, "reg_hohhot")
        refused = client.post(url, json=body, headers=csrf_headers(client))
        assert refused.status_code == 403 and refused.get_json()["code"] == "outside_jurisdiction", refused.get_json()
        assert session.query(FilingApplication).filter_by(purpose="renewal").count() == 0
        baotou = app.test_client()
        login(baotou, "reg_baotou")
        created = baotou.post(url, json=body, headers=csrf_headers(baotou))
    assert created.status_code == 201 and created.get_json()["institution_id"] == world["B"].id, created.get_json()
