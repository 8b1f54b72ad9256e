"""Benchmark: item analysis of one theory session of N candidates (default 2,000) on a real database.

Two locked forms of the shipped 中式烹调师 四级 theory blueprint (90 items each) are sat by N
simulated candidates (2PL answers, 40 % sitting in Mongolian, sealed answer bytes as closed
attempts carry them). Measured: the analysis job end to end (loading the sealed answers, the
library's report per form with 2PL calibration, DIF by language and gender, pooling, storing the
item statistics), then rendering the four plots of a run and the Excel export.
Prints one JSON line.

Run: ``python tests/benchmarks/analysis.py [--candidates 2000] [--postgres]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def bench(candidates: int, database_url: str, tmp: str) -> dict:
    from sqlalchemy import select

    from examsvc import create_app
    from examsvc.accounts.service import create_user
    from examsvc.analysis import export, plots, service
    from examsvc.analysis.models import AnalysisRun, AnalysisRunSession
    from examsvc.bank.service import load_blueprint_file
    from examsvc.db import unit_of_work
    from examsvc.institutions.service import register_institution
    from examsvc.migrate import upgrade
    from examsvc.reference.service import load_occupations
    from tests.analysis.conftest import Planted, assemble, closed_session
    from tests.papers.conftest import seed_approved_bank

    app = create_app({"DATABASE_URL": database_url, "INSTANCE_PATH": tmp, "SECRET_KEY": "bench-" + "x" * 40})
    day = datetime(2026, 12, 5, 1, 0, tzinfo=timezone.utc)
    with app.app_context():
        upgrade(app)
        with unit_of_work() as session:
            load_occupations(session)
            institution = register_institution(session, code="S000015000001", name="基准机构", kind="social_organisation",
                                               tier="region", league_city=None, published_on=day.date() - timedelta(days=30),
                                               scope=[("4-03-02-01", "4")])
            admin = create_user(session, username="admin", password="benchmark-pw", display_name="admin",
                                roles=[("institution_admin", institution.id)])
            version, _ = load_blueprint_file(session, ROOT / "blueprints" / "4-03-02-01_L4_theory.toml", "bench")
            seed_approved_bank(session, version, admin)
            world = {"A": institution, "version": version, "admin": admin}
            papers = assemble(session, world)
            exam = closed_session(session, world, papers, n=candidates, rng=np.random.default_rng(7), planted=Planted(),
                                  day=day)
            run = AnalysisRun(blueprint_id=version.blueprint_id, session_ids=[exam.id], institution_ids=[institution.id],
                              trigger="manual", status="queued", params=service.analysis_params(app.config),
                              created_at=day)
            session.add(run)
            session.flush()
            session.add(AnalysisRunSession(run_id=run.id, session_id=exam.id))
            run_id = run.id
        started = time.perf_counter()
        with unit_of_work() as session:
            run = service.run_analysis(session, session.get(AnalysisRun, run_id))
        job_seconds = time.perf_counter() - started
        with unit_of_work() as session:
            run = session.get(AnalysisRun, run_id)
            statistics = service.run_statistics(session, run_id)
            form = run.summary["forms"][0]
            flagged = sum(1 for s in statistics if s.flags)
            started = time.perf_counter()
            plots.cjk_font()
            svgs = [plots.score_histogram(form["score"]["frequencies"], mean=form["score"]["mean"]),
                    plots.test_information_plot(form["information"]["theta"], form["information"]["information"])]
            s = next(s for s in statistics if s.distractors)
            svgs.append(plots.option_trace(s.distractors["trace"]["score"], s.distractors["trace"]["shares"],
                                           s.distractors["key"]))
            svgs.append(plots.item_characteristic(s.irt_a, s.irt_b, s.irt_c, s.details["icc_observed"]))
            plot_seconds = time.perf_counter() - started
            started = time.perf_counter()
            workbook = export.to_xlsx(run, statistics)
            export_seconds = time.perf_counter() - started
    app.extensions["examsvc.engine"].dispose()
    return {"database": database_url.split(":", 1)[0], "candidates": run.n_examinees, "forms": len(papers),
            "item_versions": len(statistics), "flagged": flagged, "analysis_job_s": round(job_seconds, 2),
            "four_plots_s": round(plot_seconds, 2), "svg_kb": round(sum(len(x) for x in svgs) / 1024),
            "excel_export_s": round(export_seconds, 2), "excel_kb": round(len(workbook) / 1024)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--candidates", type=int, default=2000)
    parser.add_argument("--postgres", action="store_true", help="use the local server's test database server")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/analysis.sqlite3"
        admin = None
        if args.postgres:
            from sqlalchemy import create_engine, text

            admin = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test", isolation_level="AUTOCOMMIT")
            name = f"examsvc_bench_{uuid.uuid4().hex[:8]}"
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}"'))
            url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        try:
            figures = {"benchmark": "analysis", **bench(args.candidates, url, tmp)}
        finally:
            if admin is not None:
                with admin.connect() as c:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
