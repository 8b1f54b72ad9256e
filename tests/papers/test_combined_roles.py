"""Issue 13: managing a paper (assemble, lock, retire, discard) needs INSTITUTION_MANAGE in the
paper's own institution whatever else the account holds; a regulator grant only reads, and only
within its jurisdiction (examsvc.institutions.jurisdiction)."""

import pytest
from sqlalchemy import select

from examsvc.accounts.service import create_user
from examsvc.errors import Forbidden
from examsvc.jobs.service import run_pending
from examsvc.papers.models import AssemblyRun, Paper
from examsvc.papers.service import (
    discard_draft, list_papers, lock_paper, may_view, require_key_access, retire_paper, start_assembly,
)
from tests.conftest import PASSWORD, csrf_token_from, login


def _assemble(app, session, w, forms=2):
    run = start_assembly(session, institution=w["A"], blueprint_version=w["version"], forms=forms,
                         overrides={"seed": 3, "time_limit": 30}, actor=w["admin"])
    session.commit()
    with app.app_context():
        assert run_pending() == 1
    session.expire_all()
    run = session.get(AssemblyRun, run.id)
    assert run.status == "done", run.outcome
    return run


def _accounts(session, w):
    """admin@B holding a region regulator grant too; a 呼和浩特市 regulator (A is region-level)."""
    combined = create_user(session, username="admin_b_reg", password=PASSWORD, display_name="combined",
                           roles=[("institution_admin", w["B"].id), ("regulator", None)], jurisdiction="自治区")
    league = create_user(session, username="reg_hohhot", password=PASSWORD, display_name="league",
                         roles=[("regulator", None)], jurisdiction="呼和浩特市")
    region = create_user(session, username="reg_region", password=PASSWORD, display_name="region",
                         roles=[("regulator", None)], jurisdiction="自治区")
    session.commit()
    return combined, league, region


def test_a_regulator_grant_never_stands_in_for_managing_another_institution(app, session, papers_world):
    w = papers_world
    run = _assemble(app, session, w)
    combined, league, region = _accounts(session, w)
    first, second = run.papers
    for act in (lambda: lock_paper(session, first, combined),
                lambda: retire_paper(session, first, combined, "抽查"),
                lambda: discard_draft(session, second, combined),
                lambda: start_assembly(session, institution=w["A"], blueprint_version=w["version"], forms=1,
                                       overrides={"seed": 1}, actor=combined),
                lambda: lock_paper(session, first, region)):
        with pytest.raises(Forbidden):
            act()
    session.rollback()
    assert {p.status for p in session.scalars(select(Paper))} == {"draft"}
    # regulators read within their jurisdiction only: A is region-level
    assert may_view(session, combined, w["A"].id) and may_view(session, region, w["A"].id)
    require_key_access(region, first)
    assert not may_view(session, league, w["A"].id)
    with pytest.raises(Forbidden):
        require_key_access(league, first)
    assert list_papers(session, league) == [] and len(list_papers(session, region)) == 2
    # the institution's own admin still manages
    assert lock_paper(session, first, w["admin"]).status == "locked"
    assert retire_paper(session, second, w["admin"], "作废").status == "retired"


def _token(client, username):
    response = client.post("/api/v1/tokens", json={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def test_over_http_the_combined_account_reads_but_neither_locks_nor_retires(app, client, session, papers_world):
    w = papers_world
    run = _assemble(app, session, w)
    _accounts(session, w)
    paper_id, other_id = (p.id for p in run.papers)
    combined = _token(client, "admin_b_reg")
    assert client.get(f"/api/v1/papers/{paper_id}", headers=combined).status_code == 200
    assert client.post(f"/api/v1/papers/{paper_id}/lock", headers=combined).status_code == 403
    assert client.post(f"/api/v1/papers/{paper_id}/retire", json={"reason": "抽查"}, headers=combined).status_code == 403
    body = {"institution_id": w["A"].id, "blueprint_version_id": w["version"].id, "forms": 1, "overrides": {"seed": 1}}
    assert client.post("/api/v1/papers/assemble", json=body, headers=combined).status_code == 403
    league = _token(client, "reg_hohhot")
    assert client.get(f"/api/v1/papers/{paper_id}", headers=league).status_code == 403
    assert client.get(f"/api/v1/papers/runs/{run.id}", headers=league).status_code == 403
    assert client.get(f"/api/v1/papers/{paper_id}/key", headers=league).status_code == 403
    assert client.get(f"/api/v1/papers/runs/{run.id}", headers=_token(client, "reg_region")).status_code == 200
    # the web pages: the same account cannot lock, retire or discard A's papers
    web = app.test_client()
    assert login(web, "admin_b_reg").status_code == 302
    token = csrf_token_from(web.get("/login").get_data(as_text=True))
    assert web.post(f"/papers/{paper_id}/lock", data={"csrf_token": token, "confirm": "1"}).status_code == 403
    assert web.post(f"/papers/{paper_id}/retire", data={"csrf_token": token, "reason": "抽查"}).status_code == 403
    assert web.post(f"/papers/{other_id}/discard", data={"csrf_token": token, "confirm": "1"}).status_code == 403
    assert web.get(f"/papers/{paper_id}").status_code == 200
    hohhot = app.test_client()
    assert login(hohhot, "reg_hohhot").status_code == 302
    assert hohhot.get(f"/papers/{paper_id}").status_code == 403
    assert hohhot.get(f"/papers/{paper_id}/key").status_code == 403
    session.expire_all()
    assert {p.status for p in session.scalars(select(Paper))} == {"draft"}
    assert client.post(f"/api/v1/papers/{paper_id}/lock", headers=_token(client, "admin_a")).status_code == 200
