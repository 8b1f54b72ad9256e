"""Runs: started by confirmation as a job with progress, re-run over several sessions, history kept,
calibrated difficulty for assembly."""

from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import select

from examsvc.analysis import service
from examsvc.analysis.models import AnalysisRun, ItemStatistic
from examsvc.audit.models import AuditEvent
from examsvc.errors import Conflict, Forbidden, ValidationFailed
from examsvc.jobs.models import Job
from examsvc.papers.service import build_pool
from tests.analysis.conftest import closed_session, score_publish_confirm
from tests.conftest import make_user
from tests.delivery.conftest import EXAM_DAY


def test_confirmation_runs_the_analysis_as_a_job_with_progress(session, analysed):
    run = session.scalar(select(AnalysisRun))
    job = session.get(Job, run.job_id)
    assert (run.status, run.trigger, run.session_ids) == ("done", "confirmation", [analysed["session"].id])
    assert (job.kind, job.status, job.progress) == ("analysis.run", "done", 1.0)
    reports = [(f, note) for job_id, f, note in analysed["progress"] if job_id == job.id]
    assert len(reports) >= 4 and reports[0][1] == "loading responses"
    assert [f for f, _ in reports] == sorted(f for f, _ in reports) and any("form A" in n for _, n in reports)
    assert run.n_examinees == 600 and len(run.summary["forms"]) == 2
    form = run.summary["forms"][0]
    assert form["n"] == 300 and 0.8 < form["test"]["alpha"] < 1 and form["irt"]["model"] == "2pl"
    assert sum(form["score"]["frequencies"]) == 300 and len(form["information"]["theta"]) == 81
    statistics = session.scalars(select(ItemStatistic).where(ItemStatistic.run_id == run.id)).all()
    assert len(statistics) == run.n_items == len({i.item_version_id for p in analysed["papers"] for i in p.items})
    actions = set(session.scalars(select(AuditEvent.action)))
    assert {"analysis.start", "analysis.done"} <= actions


def test_flags_find_the_planted_miskey_and_dif(session, analysed):
    planted = analysed["planted"]
    latest = service.latest_statistics(session, [planted.miskey_version, planted.dif_version])
    miskey = latest[planted.miskey_version]
    assert {"probable_miskey", "negative_discrimination"} <= set(miskey.flag_codes)
    options = {o["label"]: o for o in miskey.distractors["options"]}
    assert options[planted.miskey_true]["rest_correlation"] > 0.3 > options[miskey.distractors["key"]]["rest_correlation"]
    assert set(miskey.distractors["trace"]["shares"]) == set(options)
    dif = latest[planted.dif_version]
    assert dif.dif["language"]["class"] == "C-" and dif.dif["language"]["focal"] == "mn"
    assert "dif_c" in dif.flag_codes
    assert dif.dif["gender"]["class"] in ("A", "B+", "B-")  # gender was not planted
    assert miskey.irt_a is not None and miskey.irt_a_se is not None and miskey.infit is not None
    assert len(miskey.details["icc_observed"]["theta"]) == 6


def test_re_runs_keep_every_run_and_the_latest_wins(app, session, analysed):
    world = analysed
    with app.app_context():
        second = closed_session(session, world, world["papers"], n=200, rng=np.random.default_rng(5), title="第二场",
                                day=EXAM_DAY + timedelta(days=7))
        session.commit()
        score_publish_confirm(session, second, world["admin"], day=EXAM_DAY + timedelta(days=7))
        first_run, second_run = session.scalars(select(AnalysisRun).order_by(AnalysisRun.id)).all()
        assert second_run.session_ids == [second.id] and second_run.status == "done"
        version = world["papers"][0].items[0].item_version_id
        before = {s.run_id: (s.n, s.facility) for s in service.statistics_history(session, version)}
        combined = service.start_analysis(session, [world["session"].id, second.id], world["admin"])
        session.commit()
        from examsvc.jobs.worker import kick

        kick()
        session.expire_all()
        combined = session.get(AnalysisRun, combined.id)
        assert combined.status == "done" and combined.n_examinees == 800 and combined.trigger == "manual"
        history = service.statistics_history(session, version)
        assert [s.run_id for s in history] == [combined.id, second_run.id, first_run.id]
        assert {s.run_id: (s.n, s.facility) for s in history[1:]} == before  # never overwritten
        assert history[0].n == 400
        assert service.latest_statistics(session, [version])[version].run_id == combined.id
        assert [r.id for r in service.runs_for_session(session, second.id)] == [combined.id, second_run.id]
        history[1].facility = 0.5
        with pytest.raises(RuntimeError, match="immutable"):
            session.flush()
        session.rollback()


def test_who_may_start_a_run_and_on_what(app, session, analysed):
    world = analysed
    with app.app_context():
        other_admin = make_user(session, "admin_b", "institution_admin", world["B"].id)
        with pytest.raises(Forbidden):
            service.start_analysis(session, [world["session"].id], other_admin)
        regulator = make_user(session, "regulator", "regulator")
        run = service.start_analysis(session, [world["session"].id], regulator)
        assert run.institution_ids == [world["A"].id]
        session.rollback()
        unconfirmed = closed_session(session, world, world["papers"], n=10, rng=np.random.default_rng(1), title="未确认")
        with pytest.raises(Conflict):
            service.start_analysis(session, [world["session"].id, unconfirmed.id], world["admin"])
        with pytest.raises(ValidationFailed):
            service.start_analysis(session, [], world["admin"])
        session.rollback()


def test_assembly_takes_calibrated_difficulty_at_min_n_and_the_estimate_otherwise(app, session, analysed):
    with app.app_context():
        blueprint_id = analysed["version"].blueprint_id
        latest = {s.item_version_id: s for s in session.scalars(select(ItemStatistic))}
        pool, by_item, _ = build_pool(session, blueprint_id)
        version_of = {item_id: v for item_id, v in by_item.items()}
        calibrated = dict(zip(pool.ids.tolist(), pool.calibrated.tolist()))
        difficulty = dict(zip(pool.ids.tolist(), pool.difficulty.tolist()))
        analysed_items = [i for i, v in version_of.items() if v.id in latest]
        fresh_items = [i for i, v in version_of.items() if v.id not in latest]
        assert len(analysed_items) == len(latest) and fresh_items
        for item_id in analysed_items:
            assert calibrated[item_id] and difficulty[item_id] == pytest.approx(latest[version_of[item_id].id].facility)
        for item_id in fresh_items:
            assert not calibrated[item_id]
            assert difficulty[item_id] == version_of[item_id].content["difficulty_estimate"]
        app.config["ANALYSIS_MIN_N"] = 301  # every version was answered by 300 candidates
        pool, by_item, _ = build_pool(session, blueprint_id)
        assert not pool.calibrated.any()
        assert pool.difficulty.tolist() == [v.content["difficulty_estimate"] for v in by_item.values()]
