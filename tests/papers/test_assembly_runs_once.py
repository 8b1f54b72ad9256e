"""An assembly runs once: inline (the demo) or by a job runner, never again after a restart."""

import pytest
from sqlalchemy import func, select, update

from examsvc.errors import Conflict
from examsvc.jobs.models import Job
from examsvc.jobs.service import run_pending
from examsvc.papers.models import AssemblyRun, Paper
from examsvc.papers.service import run_assembly, start_assembly


def _start(session, w):
    return start_assembly(session, institution=w["A"], blueprint_version=w["version"], forms=1,
                          overrides={"seed": 1, "time_limit": 30}, actor=w["admin"])


def _papers(session) -> int:
    return session.scalar(select(func.count(Paper.id)))


def test_an_assembly_run_inline_records_its_job_done_so_no_runner_repeats_it(app, session, papers_world):
    run = _start(session, papers_world)
    with app.app_context():
        run_assembly(session, run)  # what `examsvc demo` does: no runner is there to wait for
    session.commit()
    assert run.status == "done" and _papers(session) == 1
    job = session.get(Job, run.job_id)
    assert (job.status, job.result, job.progress) == ("done", {"run_id": run.id, "status": "done"}, 1.0)
    with app.app_context():
        assert run_pending() == 0  # `examsvc run` later: nothing to do
    session.expire_all()
    assert _papers(session) == 1


def test_a_run_is_never_assembled_twice_even_called_again(app, session, papers_world):
    run = _start(session, papers_world)
    with app.app_context():
        run_assembly(session, run)
        with pytest.raises(Conflict) as caught:
            run_assembly(session, run)
    assert caught.value.field == "run_id"
    assert _papers(session) == 1


def test_a_job_left_queued_for_an_assembled_run_is_marked_done_without_assembling_again(
        app, session, papers_world):
    # The database the issue met: the demo assembled inline but its job stayed queued, and a
    # later `examsvc run` assembled a second, duplicate form.
    run = _start(session, papers_world)
    with app.app_context():
        run_assembly(session, run)
    session.execute(update(Job).where(Job.id == run.job_id).values(status="queued", result=None, progress=0.0))
    session.commit()
    with app.app_context():
        assert run_pending() == 1
    session.expire_all()
    job = session.get(Job, run.job_id)
    assert (job.status, job.result) == ("done", {"run_id": run.id, "status": "done"})
    assert _papers(session) == 1
    assert session.get(AssemblyRun, run.id).status == "done"


def test_a_queued_assembly_is_run_by_the_runner_once(app, session, papers_world):
    run = _start(session, papers_world)
    session.commit()
    with app.app_context():
        assert run_pending() == 1
        assert run_pending() == 0
    session.expire_all()
    assert session.get(AssemblyRun, run.id).status == "done" and _papers(session) == 1
    assert session.get(Job, run.job_id).status == "done"
