"""A session with a handful of candidates: the analysis says the sample is too small for
reliability, IRT and flags instead of reporting noise (ANALYSIS_MIN_N_*), on the page, in the API,
in the Excel export and in `examsvc analyse`."""

import io

import numpy as np
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from examsvc.analysis import service
from examsvc.analysis.models import AnalysisRun, ItemStatistic
from examsvc.errors import ValidationFailed
from tests.analysis.conftest import assemble, closed_session, score_publish_confirm
from tests.conftest import login

EN = {"Accept-Language": "en"}


@pytest.fixture
def small(app, eager, session, papers_world):
    """One form sat by 8 candidates, confirmed: the analysis has run."""
    with app.app_context():
        papers = assemble(session, papers_world, forms=1)
        exam = closed_session(session, papers_world, papers, n=8, rng=np.random.default_rng(8))
        session.commit()
        score_publish_confirm(session, exam, papers_world["admin"])
    run = session.scalar(select(AnalysisRun).order_by(AnalysisRun.id.desc()))
    return {**papers_world, "session": exam, "run": run}


def test_below_the_minimums_no_reliability_no_irt_and_no_flag_is_stored(session, small):
    run = small["run"]
    assert run.status == "done" and run.n_examinees == 8
    assert run.params["minimums"] == {"classical": 30, "rasch": 100, "two_pl": 200, "three_pl": 500}
    (form,) = run.summary["forms"]
    assert form["test"]["kr20"] is None and form["test"]["alpha"] is None and form["test"]["sem"] is None
    assert form["irt"] is None and form["information"] is None
    notes = [n["message_en"] for n in form["notes"] if n["code"] == "sample.too_small"]
    assert len(notes) == 2 and "8 examinees, fewer than 30" in notes[0] and "fewer than 200" in notes[1], notes
    statistics = session.scalars(select(ItemStatistic).where(ItemStatistic.run_id == run.id)).all()
    assert len(statistics) == 90
    assert all(s.flags == [] and s.irt_a is None and s.irt_model is None for s in statistics)
    assert all(s.facility is not None for s in statistics)  # what is descriptive stays


def test_the_minimums_are_settings(app, session, small):
    app.config.update(ANALYSIS_MIN_N_CLASSICAL_FLAGS=5)
    with app.app_context():
        run = service.start_analysis(session, [small["session"].id], "system")
        service.run_analysis(session, run)
    session.commit()
    (form,) = run.summary["forms"]
    assert form["test"]["kr20"] is not None
    assert [n["code"] for n in form["notes"]].count("sample.too_small") == 1  # only the 2PL one
    app.config.update(ANALYSIS_MIN_N_2PL=1)
    with app.app_context(), pytest.raises(ValidationFailed) as caught:
        service.start_analysis(session, [small["session"].id], "system")
    assert caught.value.field == "ANALYSIS_MIN_N_2PL"


def test_the_page_the_api_and_the_export_say_the_sample_is_too_small(client, session, small):
    run = small["run"]
    login(client, "admin_a")
    page = client.get(f"/analysis/runs/{run.id}", headers=EN).get_data(as_text=True)
    assert "8 examinees, fewer than 30: the sample is too small for reliability" in page
    assert "fewer than 200: the sample is too small for the 2PL IRT model" in page
    assert "样本太小" in client.get(f"/analysis/runs/{run.id}").get_data(as_text=True)
    body = client.get(f"/api/v1/analysis/runs/{run.id}").get_json()
    (form,) = body["summary"]["forms"]
    assert form["test"]["kr20"] is None and "sample.too_small" in {n["code"] for n in form["notes"]}
    items = client.get(f"/api/v1/analysis/runs/{run.id}/items").get_json()
    assert items and all(i["flags"] == [] and i["irt_a"] is None for i in items)
    workbook = load_workbook(io.BytesIO(client.get(f"/analysis/runs/{run.id}/export.xlsx").data), read_only=True)
    forms = list(workbook["forms"].values)
    assert forms[1][forms[0].index("kr20")] is None
    assert any(row[2] == "sample.too_small" for row in list(workbook["notes"].values)[1:])
    assert len(list(workbook["flags"].values)) == 1  # the header only


def test_the_cli_names_the_small_sample(app, small):
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from examsvc.cli import cli

    result = CliRunner().invoke(cli, ["analyse", "--session", str(small["session"].id)],
                                obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0, result.output
    assert "0 flagged" in result.output
    assert "form A: 8 examinees, fewer than 30: the sample is too small" in result.output
