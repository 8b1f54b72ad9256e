"""Papers over HTTP: assemble as a job, read the run and report, lock, and who may see the key."""

from tests.conftest import PASSWORD, make_user


def _token(client, username):
    response = client.post("/api/v1/tokens", json={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def test_assemble_lock_and_key_permissions(app, client, session, papers_world):
    app.config["JOBS_EAGER"] = True
    make_user(session, "admin_b", "institution_admin", papers_world["B"].id)
    make_user(session, "cand", "candidate")
    admin = _token(client, "admin_a")
    body = {"institution_id": papers_world["A"].id, "blueprint_version_id": papers_world["version"].id,
            "forms": 2, "overrides": {"seed": 5, "time_limit": 30}}
    response = client.post("/api/v1/papers/assemble", json=body, headers=admin)
    assert response.status_code == 202, response.get_json()
    run = response.get_json()
    assert run["status"] == "done" and run["progress"] == 1.0 and len(run["papers"]) == 2
    paper_id = run["papers"][0]["id"]
    paper = client.get(f"/api/v1/papers/{paper_id}", headers=admin).get_json()
    assert paper["report"]["items"] == 90 and "key" not in str(paper["items"])
    other = _token(client, "admin_b")
    assert client.get(f"/api/v1/papers/{paper_id}", headers=other).status_code == 403
    assert client.post("/api/v1/papers/assemble", json=body, headers=other).status_code == 403
    assert client.get(f"/api/v1/papers/{paper_id}/key", headers=_token(client, "cand")).status_code == 403
    locked = client.post(f"/api/v1/papers/{paper_id}/lock", headers=admin)
    assert locked.status_code == 200 and locked.get_json()["status"] == "locked"
    assert client.post(f"/api/v1/papers/{paper_id}/lock", headers=admin).status_code == 409
    key = client.get(f"/api/v1/papers/{paper_id}/key", headers=admin).get_json()
    assert len(key["keys"]) == 90 and key["snapshot_hash"] == locked.get_json()["snapshot_hash"]


def test_bad_requests_name_the_field(app, client, session, papers_world):
    admin = _token(client, "admin_a")
    base = {"institution_id": papers_world["A"].id, "blueprint_version_id": papers_world["version"].id}
    too_many = client.post("/api/v1/papers/assemble", json={**base, "forms": 99}, headers=admin)
    assert too_many.status_code == 422 and too_many.get_json()["field"] == "forms"
    zero = client.post("/api/v1/papers/assemble", json={**base, "overrides": {"time_limit": 0}}, headers=admin)
    assert zero.status_code == 422 and zero.get_json()["field"]
    missing = client.post("/api/v1/papers/assemble", json={**base, "blueprint_version_id": 9999}, headers=admin)
    assert missing.status_code == 404 and missing.get_json()["field"] == "blueprint_version_id"
