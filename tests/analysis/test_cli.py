"""``examsvc analyse``: a response file (scored, or raw codes with --key and --missing) and sessions."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import select

from examsvc.analysis.models import AnalysisRun
from examsvc.cli import cli
from itembank.psychometrics import analyse, read_response_csv

LSAT6 = Path(__file__).resolve().parents[1] / "data" / "psychometrics" / "lsat6.csv"


def _no_app():
    raise AssertionError("analysing a file must not need the app or its database")


def run(*args, obj=None):
    return CliRunner().invoke(cli, ["analyse", *map(str, args)], obj=obj or ScriptInfo(create_app=_no_app))


def test_lsat6_json_matches_the_library_and_published_values():
    result = run(LSAT6, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    table = read_response_csv(LSAT6)
    expected = json.loads(json.dumps(analyse(table.cells, item_names=table.item_names).to_json()))
    assert doc == expected
    assert doc["test"]["alpha"] == pytest.approx(0.294997, abs=1e-6)
    assert doc["irt"]["loglik"] == pytest.approx(-2466.653, abs=1e-3)
    assert [round(i["irt"]["a"], 3) for i in doc["items"]] == pytest.approx([0.825, 0.723, 0.891, 0.689, 0.657], abs=2e-3)
    assert [i["name"] for i in doc["items"]] == ["Q1", "Q2", "Q3", "Q4", "Q5"]
    assert "too_easy" in doc["items"][0]["flags"] and doc["flags"] and doc["thresholds"]["facility_max"] == 0.9
    plain = run(LSAT6)
    assert plain.exit_code == 0 and "1000 examinees, 5 items" in plain.output and "Q3" in plain.output


def test_raw_codes_with_key_and_missing_code(tmp_path):
    rng = np.random.default_rng(3)
    n, k = 400, 6
    theta = rng.normal(size=n)
    key = [1, 4, 5, 2, 3, 1]
    right = rng.random((n, k)) < 1 / (1 + np.exp(-(theta[:, None] - np.linspace(-1, 1, k))))
    raw = np.where(right, key, rng.integers(1, 6, (n, k)))
    raw[rng.random((n, k)) < 0.05] = 8
    path = tmp_path / "raw.csv"
    path.write_text("\n".join([",".join(f"I{j + 1}" for j in range(k))] + [",".join(map(str, row)) for row in raw]) + "\n",
                    encoding="utf-8")
    result = run(path, "--key", ",".join(map(str, key)), "--missing", "8", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    expected = analyse(raw.astype(str), key=[str(x) for x in key], missing_code=["8"],
                       item_names=[f"I{j + 1}" for j in range(k)])
    assert [i["facility"] for i in doc["items"]] == pytest.approx(expected.classical.facility.tolist())
    first = doc["distractors"][0]
    missing = next(o for o in first["options"] if o["is_missing"])
    assert missing["label"] == "(missing)" and missing["count"] == int((raw[:, 0] == 8).sum())
    assert next(o for o in first["options"] if o["is_key"])["label"] == "1"
    assert doc["items"][0]["n_missing"] == missing["count"]          # scored 0, counted as missing
    assert "8" not in {o["label"] for o in first["options"]}


def test_bad_input_is_one_clear_error(tmp_path):
    assert run().exit_code == 2
    assert "no such file" in run(tmp_path / "none.csv").output
    path = tmp_path / "raw.csv"
    path.write_text("a,b\nA,B\nB,A\n", encoding="utf-8")
    result = run(path, "--key", "A")
    assert result.exit_code == 1 and "1 keys for 2 items" in result.output


def test_sessions_from_the_database(app, session, analysed):
    result = run("--session", analysed["session"].id, obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 0, result.output
    runs = session.scalars(select(AnalysisRun).order_by(AnalysisRun.id)).all()
    assert len(runs) == 2 and runs[-1].trigger == "cli" and runs[-1].status == "done"
    assert f"analysis run {runs[-1].id}: 600 candidates" in result.output
    as_json = run("--session", analysed["session"].id, "--json", obj=ScriptInfo(create_app=lambda: app))
    doc = json.loads(as_json.output)
    assert doc["run"]["status"] == "done" and len(doc["items"]) == doc["run"]["n_items"]
    assert "Error" in run("--session", 999, obj=ScriptInfo(create_app=lambda: app)).output
