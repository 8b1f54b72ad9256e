"""Skill papers (操作技能试卷): drawn from the blueprint's module pools by the assembly job, reported,
locked and hashed like a theory paper, run once."""

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from examsvc.bank.service import load_blueprint_file
from examsvc.errors import ServiceError, ValidationFailed
from examsvc.institutions.service import register_institution
from examsvc.jobs.models import Job
from examsvc.jobs.service import run_pending
from examsvc.papers.models import AssemblyRun, Paper, PaperTask
from examsvc.papers.service import discard_draft, get_run, lock_paper, snapshot_hash, start_assembly
from examsvc.papers.skill import paper_tasks
from itembank.assembly.tasks import draw_task_sets
from itembank.blueprint import load_blueprint
from tests.conftest import make_user

SKILL_L4 = Path(__file__).resolve().parents[2] / "blueprints" / "6-18-01-01_L4_skill.toml"


@pytest.fixture
def skill_world(session, world):
    """An institution filed for 车工 四级 with the shipped skill blueprint loaded."""
    lathe = register_institution(session, code="S000015000009", name="丙评价机构", kind="social_organisation",
                                 tier="region", league_city=None, published_on=date(2025, 4, 15),
                                 scope=[("6-18-01-01", "4")])
    version, _ = load_blueprint_file(session, SKILL_L4, "test")
    admin = make_user(session, "admin_c", "institution_admin", lathe.id)
    session.commit()
    return {"C": lathe, "version": version, "admin": admin, **world}


def assemble(app, session, w, forms=2, **overrides) -> AssemblyRun:
    run = start_assembly(session, institution=w["C"], blueprint_version=w["version"], forms=forms,
                         overrides=overrides, actor=w["admin"])
    session.commit()
    with app.app_context():
        run_pending()
    session.expire_all()
    return get_run(session, run.id)


def test_a_skill_run_draws_parallel_task_sets_without_overlap_as_the_seed_says(app, session, skill_world):
    run = assemble(app, session, skill_world, seed=2026)
    assert run.status == "done" and run.outcome["seed"] == 2026
    first, second = run.papers
    assert (first.form_label, second.form_label) == ("A", "B")
    assert first.items == [] and len(first.tasks) == 3
    expected = draw_task_sets(load_blueprint(SKILL_L4).paper.task_pools(), 2, 2026)
    assert [[t.code for t in paper_tasks(session, p)] for p in run.papers] == [[t.code for t in s] for s in expected]
    assert not {t.task_code for t in first.tasks} & {t.task_code for t in second.tasks}
    tasks = paper_tasks(session, first)
    assert [t.module for t in tasks] == ["M1", "M2", "M3"] and sum(t.points for t in tasks) == 100
    assert tasks[0].vetoes and tasks[0].equipment and tasks[0].rubric


def test_the_report_lists_modules_tasks_time_points_equipment_and_materials(app, session, skill_world):
    paper = assemble(app, session, skill_world, forms=1, seed=5).papers[0]
    report = paper.report
    assert report["kind"] == "tasks" and report["tasks"] == 3 and report["points"] == 100
    assert report["time_minutes"] == 240 <= report["duration_minutes"]
    assert [(m["code"], m["draw"], m["pool"], m["ok"]) for m in report["modules"]] == [
        ("M1", 1, 2, True), ("M2", 1, 2, True), ("M3", 1, 2, True)]
    first = report["task_list"][0]
    assert first["module"] == "M1" and first["points"] == 60 and first["time_minutes"] == 150
    assert first["equipment"] and first["materials"] and first["vetoes"]
    assert report["overlap_with_siblings"] == {}


def test_without_a_seed_the_run_records_the_one_it_drew_with(app, session, skill_world):
    run = assemble(app, session, skill_world, forms=1)
    seed = run.params["overrides"]["seed"]
    assert isinstance(seed, int) and run.outcome["seed"] == seed
    again = assemble(app, session, skill_world, forms=1, seed=seed)
    assert [t.task_code for t in again.papers[0].tasks] == [t.task_code for t in run.papers[0].tasks]


def test_too_many_forms_make_the_run_infeasible_with_the_reasons_per_module(app, session, skill_world):
    run = assemble(app, session, skill_world, forms=3, seed=1)
    assert run.status == "infeasible" and run.papers == []
    reasons = run.outcome["reasons"]
    assert [(r["module"], r["have"], r["need"]) for r in reasons] == [("M1", 2, 3), ("M2", 2, 3), ("M3", 2, 3)]
    assert "模块 M1（零件车削加工）" in reasons[0]["message"] and "module M1" in reasons[0]["message_en"]
    overlapping = assemble(app, session, skill_world, forms=3, seed=1, allow_overlap=True)
    assert overlapping.status == "done" and len(overlapping.papers) == 3


@pytest.mark.parametrize("overrides, field", [({"time_limit": 30}, "overrides"), ({"seed": "7"}, "seed"),
                                              ({"seed": -1}, "seed"), ({"allow_overlap": "yes"}, "allow_overlap")])
def test_a_skill_run_refuses_overrides_it_cannot_use(session, skill_world, overrides, field):
    with pytest.raises(ValidationFailed) as caught:
        start_assembly(session, institution=skill_world["C"], blueprint_version=skill_world["version"], forms=1,
                       overrides=overrides, actor=skill_world["admin"])
    assert caught.value.field == field and caught.value.message and caught.value.message_en
    assert session.scalar(select(func.count(AssemblyRun.id))) == 0


def test_an_institution_not_filed_for_the_skill_blueprint_may_not_assemble_it(session, skill_world):
    with pytest.raises(ServiceError) as caught:
        start_assembly(session, institution=skill_world["A"], blueprint_version=skill_world["version"], forms=1,
                       overrides={}, actor=skill_world["admin"])
    assert caught.value.field == "institution" and caught.value.code.startswith("can_certify.")


def test_locking_seals_the_tasks_and_any_change_to_a_task_changes_the_hash(app, session, skill_world):
    paper = assemble(app, session, skill_world, forms=1, seed=9).papers[0]
    lock_paper(session, paper, skill_world["admin"])
    session.commit()
    assert paper.status == "locked" and paper.snapshot_hash == snapshot_hash(paper)
    sealed = paper.snapshot_hash
    task = paper.tasks[0]
    task.content = {**task.content, "vetoes": []}  # what an edit behind the service's back would do
    assert snapshot_hash(paper) != sealed
    session.rollback()


def test_a_finished_skill_run_is_not_drawn_again_by_a_later_runner(app, session, skill_world):
    run = assemble(app, session, skill_world, forms=2, seed=4)
    session.execute(update(Job).where(Job.id == run.job_id).values(status="queued", result=None))
    session.commit()
    with app.app_context():
        run_pending()
    session.expire_all()
    assert session.scalar(select(func.count(Paper.id))) == 2
    assert session.scalar(select(func.count(PaperTask.id))) == 6


def test_a_discarded_skill_draft_takes_its_tasks_with_it(app, session, skill_world):
    paper = assemble(app, session, skill_world, forms=1, seed=2).papers[0]
    discard_draft(session, paper, skill_world["admin"])
    session.commit()
    assert session.scalar(select(func.count(PaperTask.id))) == 0
