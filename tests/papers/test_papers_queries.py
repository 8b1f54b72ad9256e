"""The service queries behind the papers' pages: who sees which papers and runs, what the assemble
form offers, where a run stands, who may read a paper's items."""

from datetime import date

import pytest
from sqlalchemy import update

from examsvc.errors import Forbidden, NotFound
from examsvc.institutions.models import InstitutionStatus
from examsvc.institutions.service import set_status
from examsvc.jobs.models import Job
from examsvc.jobs.service import run_pending
from examsvc.papers.models import AssemblyRun
from examsvc.papers.service import (
    assembly_choices, list_papers, list_runs, request_assembly, require_content_access, run_state,
)
from tests.conftest import make_user


def _queued(session, w, forms=1):
    run = request_assembly(session, institution_id=w["A"].id, blueprint_version_id=w["version"].id, forms=forms,
                           overrides={"seed": 3, "time_limit": 30}, actor=w["admin"])
    session.commit()
    return run


def test_papers_and_runs_are_listed_for_their_institution_and_for_regulators(app, session, papers_world):
    run = _queued(session, papers_world, forms=2)
    with app.app_context():
        run_pending()
    session.expire_all()
    admin_b = make_user(session, "admin_b", "institution_admin", papers_world["B"].id)
    regulator = make_user(session, "reg", "regulator")
    invigilator = make_user(session, "inv", "invigilator", papers_world["A"].id)
    for user in (papers_world["admin"], regulator, invigilator):
        rows = list_papers(session, user)
        assert [(p.form_label, name) for p, name, _title in rows] == [("B", "甲评价机构"), ("A", "甲评价机构")]
        assert rows[0][2] == papers_world["version"].blueprint.title
        [(listed, name, title, number, state)] = list_runs(session, user)
        assert (listed.id, number, state.status) == (run.id, 1, "done")
    assert list_papers(session, admin_b) == [] and list_runs(session, admin_b) == []
    assert list_papers(session, regulator, status="locked") == []
    assert len(list_papers(session, regulator, status="draft")) == 2


def test_the_assemble_form_offers_the_scope_blueprints_with_the_can_certify_answer(session, papers_world):
    [choice] = assembly_choices(session, papers_world["admin"], date(2026, 5, 1))
    assert choice.institution.id == papers_world["A"].id
    [offered] = choice.blueprints
    assert offered.blueprint.id == papers_world["version"].blueprint_id and offered.decision
    assert [v.id for v in offered.versions] == [papers_world["version"].id]
    admin_b = make_user(session, "admin_b", "institution_admin", papers_world["B"].id)
    [other] = assembly_choices(session, admin_b, date(2026, 5, 1))
    assert other.institution.id == papers_world["B"].id and other.blueprints == []  # 6-18-01-01 has none loaded
    assert assembly_choices(session, make_user(session, "reg", "regulator"), date(2026, 5, 1)) == []
    set_status(session, papers_world["A"], InstitutionStatus.SUSPENDED, "内人社监〔2026〕3号", "regulator")
    [choice] = assembly_choices(session, papers_world["admin"], date(2026, 5, 1))
    decision = choice.blueprints[0].decision
    assert not decision and decision.code == "suspended" and "内人社监〔2026〕3号" in decision.reason
    set_status(session, papers_world["A"], InstitutionStatus.ACTIVE, "", "regulator")
    [choice] = assembly_choices(session, papers_world["admin"], date(2030, 1, 1))
    assert choice.blueprints[0].decision.code == "expired"


def test_request_assembly_names_the_missing_row(session, papers_world):
    with pytest.raises(NotFound) as caught:
        request_assembly(session, institution_id=999, blueprint_version_id=papers_world["version"].id, forms=1,
                         overrides={}, actor=papers_world["admin"])
    assert caught.value.field == "institution_id"
    with pytest.raises(NotFound) as caught:
        request_assembly(session, institution_id=papers_world["A"].id, blueprint_version_id=999, forms=1,
                         overrides={}, actor=papers_world["admin"])
    assert caught.value.field == "blueprint_version_id"


def test_a_run_whose_job_failed_says_so_with_the_error(session, papers_world):
    run = _queued(session, papers_world)
    state = run_state(session, run)
    assert (state.status, state.finished, state.progress) == ("queued", False, 0.0)
    session.execute(update(Job).where(Job.id == run.job_id).values(status="running", progress=0.1,
                                                                   progress_note="solving"))
    assert (run_state(session, run).status, run_state(session, run).note) == ("running", "solving")
    session.execute(update(Job).where(Job.id == run.job_id).values(status="failed", error="solver crashed"))
    state = run_state(session, session.get(AssemblyRun, run.id))
    assert (state.status, state.error, state.finished) == ("failed", "solver crashed", True)
    [(_run, _name, _title, _number, listed)] = list_runs(session, papers_world["admin"])
    assert listed.status == "failed"


def test_a_papers_items_are_for_its_admins_and_regulators_only(app, session, papers_world):
    run_id = _queued(session, papers_world).id
    with app.app_context():
        run_pending()
    session.expire_all()
    paper = session.get(AssemblyRun, run_id).papers[0]
    require_content_access(papers_world["admin"], paper)
    require_content_access(make_user(session, "reg", "regulator"), paper)
    for username, role, institution in (("inv", "invigilator", papers_world["A"].id),
                                        ("sup", "quality_supervisor", None), ("cand", "candidate", None),
                                        ("admin_b", "institution_admin", papers_world["B"].id)):
        with pytest.raises(Forbidden):
            require_content_access(make_user(session, username, role, institution), paper)
