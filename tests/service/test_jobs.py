"""Background jobs: queued in the database, claimed once, progress and failures recorded."""

from datetime import timedelta

import pytest

from examsvc import clock
from examsvc.jobs.models import Job
from examsvc.jobs.service import HANDLERS, claim_next, enqueue, job_handler, mark_done, run_pending
from examsvc.errors import ServiceError


@pytest.fixture
def handlers():
    calls = []

    @job_handler("test.add")
    def add(session, params, progress):
        progress(0.5, "half way")
        calls.append(params)
        return {"sum": params["a"] + params["b"]}

    @job_handler("test.fail")
    def fail(session, params, progress):
        raise ValueError("bad data in row 3")

    yield calls
    HANDLERS.pop("test.add")
    HANDLERS.pop("test.fail")


def test_a_job_runs_once_and_records_its_result(app, session, handlers):
    job = enqueue(session, "test.add", {"a": 2, "b": 3})
    session.commit()
    with app.app_context():
        assert run_pending() == 1
        assert run_pending() == 0  # claimed once, never twice
    session.expire_all()
    done = session.get(Job, job.id)
    assert (done.status, done.result, done.progress, done.error) == ("done", {"sum": 5}, 1.0, None)
    assert handlers == [{"a": 2, "b": 3}]


def test_a_failing_job_is_recorded_and_the_runner_goes_on(app, session, handlers):
    bad = enqueue(session, "test.fail", {})
    good = enqueue(session, "test.add", {"a": 1, "b": 1})
    session.commit()
    with app.app_context():
        assert run_pending() == 2
    session.expire_all()
    assert session.get(Job, bad.id).status == "failed"
    assert "bad data in row 3" in session.get(Job, bad.id).error
    assert session.get(Job, good.id).status == "done"


def test_unknown_kind_is_refused(session):
    with pytest.raises(ServiceError) as caught:
        enqueue(session, "no.such.job", {})
    assert caught.value.field == "kind"


def test_a_job_whose_worker_died_is_claimed_again(app, session, handlers):
    job = enqueue(session, "test.add", {"a": 0, "b": 0})
    session.commit()
    with app.app_context():
        claimed = claim_next(session)
        assert claimed.id == job.id and claimed.status == "running"
        assert claim_next(session) is None  # still fresh: nobody else takes it
        with clock.frozen(clock.now() + timedelta(seconds=app.config["JOBS_STALE_SECONDS"] + 1)):
            again = claim_next(session)
        assert again is not None and again.id == job.id



def test_a_finished_job_is_never_claimed_again_however_old(app, session, handlers):
    job = enqueue(session, "test.add", {"a": 1, "b": 2})
    session.commit()
    with app.app_context():
        assert run_pending() == 1
        with clock.frozen(clock.now() + timedelta(days=30)):  # a restart long after
            assert claim_next(session) is None
            assert run_pending() == 0
    assert handlers == [{"a": 1, "b": 2}]


def test_a_claim_is_taken_by_one_runner_only(app, session, handlers):
    # Two runners read the same queued job (SQLite has no row locks); the second one's claim finds
    # it no longer runnable and takes nothing.
    job = enqueue(session, "test.add", {"a": 1, "b": 1})
    session.commit()
    maker = app.extensions["examsvc.sessionmaker"]
    with app.app_context(), maker() as other:
        seen = other.get(Job, job.id)
        assert seen.status == "queued"
        assert claim_next(session).id == job.id
        assert claim_next(other) is None


def test_work_done_outside_the_runner_marks_its_queued_job_done(app, session, handlers):
    job = enqueue(session, "test.add", {"a": 4, "b": 4})
    session.commit()
    assert mark_done(session, job.id, {"sum": 8}) is True
    session.commit()
    assert mark_done(session, job.id, {"sum": 8}) is False  # only a queued job
    with app.app_context():
        assert run_pending() == 0
    session.expire_all()
    assert (session.get(Job, job.id).status, session.get(Job, job.id).result) == ("done", {"sum": 8})
    assert handlers == []
