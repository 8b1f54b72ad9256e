"""The pages: run and session reports, item reports with SVG plots, exports, flags in the bank, the
regulator's quality view, and who may see what."""

import csv
import io
import xml.etree.ElementTree as ET

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from examsvc import clock
from examsvc.analysis import export, service
from examsvc.analysis.models import AnalysisRun, ItemStatistic
from examsvc.bank.models import ItemVersion
from tests.conftest import csrf_headers, login, make_user

EN = {"Accept-Language": "en"}


def _run(session):
    return session.scalar(select(AnalysisRun))


def _users(session, world):
    make_user(session, "admin_b", "institution_admin", world["B"].id)
    make_user(session, "regulator", "regulator")
    make_user(session, "reviewer", "item_reviewer")
    make_user(session, "invigilator_a", "invigilator", world["A"].id)


def test_reports_plots_and_exports_for_the_institution(app, client, session, analysed):
    run = _run(session)
    login(client, "admin_a")
    page = client.get(f"/analysis/runs/{run.id}", headers=EN).get_data(as_text=True)
    assert "Form A" in page and "Probable miskey" in page and "DIF class C" in page and "Reliability" in page
    assert client.get(f"/analysis/sessions/{analysed['session'].id}", headers=EN).status_code == 200
    assert client.get("/analysis/", headers=EN).status_code == 200
    planted = analysed["planted"]
    item_page = client.get(f"/analysis/runs/{run.id}/items/{planted.miskey_version}", headers=EN).get_data(as_text=True)
    assert "Distractor table" in item_page and "Option trace lines" in item_page and "Probable miskey" in item_page
    paper_id = run.summary["forms"][0]["paper_id"]
    urls = [f"/analysis/runs/{run.id}/forms/{paper_id}/histogram.svg", f"/analysis/runs/{run.id}/forms/{paper_id}/information.svg",
            f"/analysis/runs/{run.id}/items/{planted.miskey_version}/trace.svg",
            f"/analysis/runs/{run.id}/items/{planted.miskey_version}/icc.svg"]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200 and response.mimetype == "image/svg+xml", url
        root = ET.fromstring(response.data)
        assert root.tag == "{http://www.w3.org/2000/svg}svg" and root.iter("{http://www.w3.org/2000/svg}path"), url
    assert client.get(f"/analysis/runs/{run.id}/forms/{paper_id}/nothing.svg").status_code == 404


def test_exports_contain_every_statistic(app, client, session, analysed):
    run = _run(session)
    statistics = session.scalars(select(ItemStatistic).where(ItemStatistic.run_id == run.id).order_by(ItemStatistic.id)).all()
    login(client, "admin_a")
    workbook = load_workbook(io.BytesIO(client.get(f"/analysis/runs/{run.id}/export.xlsx").data), read_only=True)
    assert workbook.sheetnames == list(export.TABLES)
    rows = list(workbook["items"].values)
    header = list(rows[0])
    stored = [c.name for c in ItemStatistic.__table__.columns
              if c.name not in ("id", "dif", "flags", "distractors", "details", "created_at")]
    assert set(stored) <= set(header)
    detail_keys = {k for s in statistics for k in s.details} - export._SKIP_DETAILS
    assert detail_keys <= set(header) and {"alpha_if_deleted", "discriminative_efficiency", "irt_infit_z"} <= set(header)
    assert {"dif_language_class", "dif_language_delta", "dif_gender_class", "flags"} <= set(header)
    assert len(rows) - 1 == len(statistics)
    first = dict(zip(header, rows[1]))
    assert first["facility"] == pytest.approx(statistics[0].facility) and first["irt_b_se"] == pytest.approx(statistics[0].irt_b_se)
    options = list(workbook["distractors"].values)
    assert len(options) - 1 == sum(len(s.distractors["options"]) for s in statistics)
    flags = list(workbook["flags"].values)
    assert len(flags) - 1 == sum(len(s.flags) for s in statistics)
    assert len(list(workbook["forms"].values)) == 3
    text = client.get(f"/analysis/runs/{run.id}/export.csv?table=items").data.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == header and len(table) - 1 == len(statistics)
    assert client.get(f"/analysis/runs/{run.id}/export.csv?table=nope").status_code == 404


def test_the_bank_shows_the_latest_flags(app, client, session, analysed):
    planted = analysed["planted"]
    version = session.get(ItemVersion, planted.miskey_version)
    _users(session, analysed)
    # the writer resubmits the miskeyed item: the reviewer sees the last analysis's flags on the queue
    session.add(ItemVersion(item_id=version.item_id, number=2, parent_number=1, author_id=analysed["writer"].id,
                            created_at=clock.now(), content=version.content, content_hash="0" * 64, status="submitted",
                            submitted_at=clock.now(), acknowledged_warnings=[]))
    session.commit()
    login(client, "reviewer")
    item_page = client.get(f"/bank/items/{version.item_id}", headers=EN).get_data(as_text=True)
    assert "Statistics from delivered exams" in item_page and "Probable miskey" in item_page
    assert f"/analysis/runs/{_run(session).id}/items/{version.id}" in item_page
    bp = analysed["version"].blueprint_id
    listing = client.get(f"/bank/?blueprint_id={bp}&element={version.content['element_code']}", headers=EN)
    assert "Probable miskey" in listing.get_data(as_text=True)
    dif = session.get(ItemVersion, planted.dif_version)
    listing = client.get(f"/bank/?blueprint_id={bp}&element={dif.content['element_code']}", headers=EN)
    assert "DIF class C" in listing.get_data(as_text=True)
    queue = client.get("/bank/review", headers=EN).get_data(as_text=True)
    assert f"version-" in queue and "Probable miskey" in queue


def test_permissions_and_the_regulators_quality_view(app, session, analysed):
    _users(session, analysed)
    run = _run(session)
    planted = analysed["planted"]
    blueprint_id = analysed["version"].blueprint_id
    run_urls = [f"/analysis/runs/{run.id}", f"/analysis/runs/{run.id}/export.xlsx", f"/analysis/sessions/{analysed['session'].id}",
                f"/api/v1/analysis/runs/{run.id}", f"/api/v1/analysis/runs/{run.id}/items"]
    item_url = f"/analysis/runs/{run.id}/items/{planted.miskey_version}"

    other = app.test_client()
    login(other, "admin_b")
    for url in run_urls + [item_url, f"/analysis/quality/{blueprint_id}"]:
        assert other.get(url).status_code == 403, url
    response = other.post("/api/v1/analysis/runs", json={"session_ids": [analysed["session"].id]}, headers=csrf_headers(other))
    assert response.status_code == 403
    reviewer = app.test_client()
    login(reviewer, "reviewer")
    assert reviewer.get(item_url).status_code == 200          # bank-wide readers see item reports
    assert reviewer.get(run_urls[0]).status_code == 403        # but not the session's report
    invigilator = app.test_client()
    login(invigilator, "invigilator_a")
    assert invigilator.get(run_urls[0]).status_code == 200
    assert invigilator.post(f"/analysis/sessions/{analysed['session'].id}/runs", headers=csrf_headers(invigilator)).status_code == 403

    regulator = app.test_client()
    login(regulator, "regulator")
    for url in run_urls + [item_url]:
        assert regulator.get(url).status_code == 200, url
    overview = regulator.get("/analysis/quality", headers=EN).get_data(as_text=True)
    assert "Bank quality" in overview and analysed["version"].blueprint.title in overview
    detail = regulator.get(f"/analysis/quality/{blueprint_id}", headers=EN).get_data(as_text=True)
    miskeyed = session.get(ItemVersion, planted.miskey_version)
    assert f"/bank/items/{miskeyed.item_id}" in detail and "Probable miskey" in detail
    flagged = regulator.get(f"/api/v1/analysis/blueprints/{blueprint_id}/quality").get_json()
    assert {row["item_version_id"] for row in flagged} >= {planted.miskey_version, planted.dif_version}
    assert flagged[0]["flags"][0]["severity"] == "error"
    assert login(app.test_client(), "admin_a") and app.test_client().get("/analysis/quality").status_code == 302


def test_the_api_starts_a_run_and_reads_it(app, client, session, analysed):
    login(client, "admin_a")
    response = client.post("/api/v1/analysis/runs", json={"session_ids": [analysed["session"].id]}, headers=csrf_headers(client))
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["status"] == "done" and body["progress"] == 1.0 and body["trigger"] == "manual"
    items = client.get(f"/api/v1/analysis/runs/{body['id']}/items").get_json()
    assert len(items) == body["n_items"] and {"facility", "discrimination", "irt_a", "flags", "distractors"} <= set(items[0])
    runs = client.get(f"/api/v1/analysis/sessions/{analysed['session'].id}/runs").get_json()
    assert [r["id"] for r in runs][0] == body["id"] and len(runs) == 2
    history = client.get(f"/api/v1/analysis/item-versions/{analysed['planted'].miskey_version}/statistics").get_json()
    assert len(history) == 2
    page = client.post(f"/analysis/sessions/{analysed['session'].id}/runs", headers=csrf_headers(client))
    assert page.status_code == 302 and "/analysis/runs/" in page.headers["Location"]
    assert len(service.runs_for_session(session, analysed["session"].id)) == 3
