"""Skill papers through the product: the assemble form, the JSON API, the CLI, the paper page, and
the task book and score sheets as PDFs, with who may open what."""

import re
import shutil
import subprocess

import pytest
from sqlalchemy import select

from examsvc.audit.models import AuditEvent
from examsvc.papers.models import AssemblyRun
from examsvc.papers.service import lock_paper
from tests.cli.test_cli import examsvc  # noqa: F401  (the in-process runner fixture)
from tests.conftest import PASSWORD, csrf_token_from, login, make_user
from tests.papers.test_skill_papers import assemble, skill_world  # noqa: F401  (fixture)


def _token(client, username):
    response = client.post("/api/v1/tokens", json={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def signed_in(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def test_the_api_assembles_a_skill_paper_and_shows_its_tasks(app, client, session, skill_world):  # noqa: F811
    app.config["JOBS_EAGER"] = True
    admin = _token(client, "admin_c")
    body = {"institution_id": skill_world["C"].id, "blueprint_version_id": skill_world["version"].id,
            "forms": 2, "overrides": {"seed": 11}}
    response = client.post("/api/v1/papers/assemble", json=body, headers=admin)
    assert response.status_code == 202, response.get_json()
    run = response.get_json()
    assert run["status"] == "done" and run["outcome"]["seed"] == 11 and len(run["papers"]) == 2
    paper = client.get(f"/api/v1/papers/{run['papers'][0]['id']}", headers=admin).get_json()
    assert paper["items"] == [] and [t["module_code"] for t in paper["tasks"]] == ["M1", "M2", "M3"]
    assert sum(t["points"] for t in paper["tasks"]) == 100 and paper["report"]["kind"] == "tasks"
    locked = client.post(f"/api/v1/papers/{paper['id']}/lock", headers=admin).get_json()
    assert locked["status"] == "locked" and len(locked["snapshot_hash"]) == 64
    bad = client.post("/api/v1/papers/assemble", json={**body, "overrides": {"time_limit": 30}}, headers=admin)
    assert bad.status_code == 422 and bad.get_json()["field"] == "overrides"
    short = client.post("/api/v1/papers/assemble", json={**body, "forms": 3}, headers=admin).get_json()
    assert short["status"] == "infeasible" and short["papers"] == []
    assert {r["module"] for r in short["outcome"]["reasons"]} == {"M1", "M2", "M3"}


def test_the_assemble_form_offers_the_skill_blueprint_and_the_pages_show_tasks(app, session, skill_world):  # noqa: F811
    app.config["JOBS_EAGER"] = True
    client = signed_in(app, "admin_c")
    form = client.get("/papers/assemble").get_data(as_text=True)
    assert "车工(四级/中级工) 操作技能" in form and 'name="allow_overlap"' in form
    token = csrf_token_from(form)
    response = client.post("/papers/assemble", data={
        "csrf_token": token, "institution_id": skill_world["C"].id,
        "blueprint_version_id": skill_world["version"].id, "forms": "2", "seed": "8"})
    assert response.status_code == 302, response.get_data(as_text=True)
    run = session.scalar(select(AssemblyRun).order_by(AssemblyRun.id.desc()))
    run_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert run.status == "done" and "随机种子 8" in run_page
    for paper in run.papers:
        assert paper.tasks[0].task_code in run_page
    page = client.get(f"/papers/{run.papers[0].id}").get_data(as_text=True)
    assert 'id="modules"' in page and "零件车削加工" in page and 'class="vetoes"' in page
    assert "task-book.pdf" in page and "score-sheets.pdf" in page and "print.pdf" not in page
    refused = client.post("/papers/assemble", data={
        "csrf_token": token, "institution_id": skill_world["C"].id,
        "blueprint_version_id": skill_world["version"].id, "forms": "1", "time_limit": "30"})
    assert refused.status_code == 422 and 'id="form-error"' in refused.get_data(as_text=True)


def _pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(data)
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
    return re.sub(r"\s+", "", text)


def test_a_locked_skill_paper_prints_a_task_book_and_score_sheets(app, session, skill_world, tmp_path):  # noqa: F811
    paper = assemble(app, session, skill_world, forms=1, seed=21).papers[0]
    lock_paper(session, paper, skill_world["admin"])
    session.commit()
    make_user(session, "inv_c", "invigilator", skill_world["C"].id)
    make_user(session, "reg", "regulator")
    admin = signed_in(app, "admin_c")
    book = admin.get(f"/papers/{paper.id}/task-book.pdf")
    sheets = admin.get(f"/papers/{paper.id}/score-sheets.pdf")
    for response in (book, sheets):
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        assert response.data.startswith(b"%PDF") and response.headers["Cache-Control"] == "no-store"
    invigilator = signed_in(app, "inv_c")
    for suffix in ("task-book.pdf", "score-sheets.pdf"):
        assert invigilator.get(f"/papers/{paper.id}/{suffix}").status_code == 403
    assert signed_in(app, "reg").get(f"/papers/{paper.id}/score-sheets.pdf").status_code == 200
    opened = sorted(session.scalars(select(AuditEvent.action).where(
        AuditEvent.action.in_(["paper.task_book", "paper.score_sheets"]))))
    assert opened == ["paper.score_sheets", "paper.score_sheets", "paper.task_book"]
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: the PDFs' text is not read back")
    tasks = paper.tasks
    book_text, sheet_text = _pdf_text(book.data, tmp_path), _pdf_text(sheets.data, tmp_path)
    first = tasks[0].content
    assert "任务书" in book_text and re.sub(r"\s+", "", first["title"]) in book_text
    assert re.sub(r"\s+", "", first["equipment"][0]) in book_text and re.sub(r"\s+", "", first["vetoes"][0]) in book_text
    rule = re.sub(r"\s+", "", first["rubric"][0]["deduction_rule"])
    assert rule not in book_text and rule in sheet_text  # the rubric is for examiners only
    assert "评分记录表" in sheet_text and "考评员" in sheet_text and "记零分" in sheet_text
    for number, task in enumerate(tasks, start=1):  # a sheet per task, each on its own page
        assert f"试题{number}：{task.task_code}" in sheet_text and f"第{number}页" in sheet_text


def test_a_theory_paper_has_no_task_book(app, session, papers_world):
    from examsvc.jobs.service import run_pending
    from examsvc.papers.service import start_assembly

    run = start_assembly(session, institution=papers_world["A"], blueprint_version=papers_world["version"], forms=1,
                         overrides={"seed": 3, "time_limit": 30}, actor=papers_world["admin"])
    session.commit()
    with app.app_context():
        run_pending()
    session.expire_all()
    paper = session.get(AssemblyRun, run.id).papers[0]
    client = signed_in(app, "admin_a")
    assert client.get(f"/papers/{paper.id}/print.pdf").status_code == 200
    for suffix in ("task-book.pdf", "score-sheets.pdf"):
        assert client.get(f"/papers/{paper.id}/{suffix}").status_code == 404


def test_the_cli_assembles_the_shipped_skill_blueprint(examsvc, database_url, session, skill_world):  # noqa: F811
    result = examsvc("papers", "assemble", "--blueprint", "6-18-01-01/4/skill", "--institution", "S000015000009",
                     "--user", "admin_c", "--forms", "2", "--seed", "3", database_url=database_url)
    assert result.code == 0, result.err
    lines = result.out.strip().splitlines()
    assert len(lines) == 3 and all("3 tasks" in line and "100 points" in line for line in lines[:2])
    assert "drawn" in lines[2] and "seed 3" in lines[2]
    refused = examsvc("papers", "assemble", "--blueprint", "6-18-01-01/4/skill", "--institution", "S000015000009",
                      "--user", "admin_c", "--forms", "3", "--seed", "3", database_url=database_url)
    assert refused.code == 1 and "module M1" in refused.err and "no paper created" in refused.err
    overlapping = examsvc("papers", "assemble", "--blueprint", "6-18-01-01/4/skill", "--institution",
                          "S000015000009", "--user", "admin_c", "--forms", "3", "--seed", "3", "--allow-overlap",
                          database_url=database_url)
    assert overlapping.code == 0 and overlapping.out.count("3 tasks") == 3
