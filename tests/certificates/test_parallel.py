"""Several issuers at once on PostgreSQL: separate processes, each with its own engine, never get
the same number, leave no gap in the serials, and never issue one pass twice."""

from __future__ import annotations

import multiprocessing

import pytest

from tests.certificates.builders import pass_records
from tests.certificates.parallel import issue_worker

WORKERS = 4
EACH = 25


def run_workers(url: str, slices: list[list[int]]) -> list[tuple]:
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(len(slices)), context.Queue()
    processes = [context.Process(target=issue_worker, args=(url, ids, barrier, results)) for ids in slices]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=180) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert all(o[0] == "ok" for o in outcomes), outcomes
    return outcomes


@pytest.fixture
def postgres_only(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("parallel issuers are a PostgreSQL matter: SQLite has one writer at a time")
    return database_url


def test_parallel_issuers_get_distinct_contiguous_numbers(postgres_only, app, session, cert_world):
    with app.app_context():
        ids = cert_world["passes_a"].make(WORKERS * EACH)
    session.commit()
    slices = [ids[k::WORKERS] for k in range(WORKERS)]  # interleaved, so the workers race on one counter
    outcomes = run_workers(postgres_only, slices)
    numbers = [number for _ok, issued, _refused in outcomes for _id, number in issued]
    assert len(numbers) == WORKERS * EACH and len(set(numbers)) == len(numbers)
    assert sorted(int(n[-6:]) for n in numbers) == list(range(1, WORKERS * EACH + 1))
    assert all(n.startswith("S000015000001264") for n in numbers)


def test_parallel_issuers_of_the_same_passes_issue_each_once(postgres_only, app, session, cert_world):
    with app.app_context():
        ids = cert_world["passes_a"].make(30)
    session.commit()
    outcomes = run_workers(postgres_only, [ids, list(reversed(ids)), ids])
    issued = [pair for _ok, done, _refused in outcomes for pair in done]
    assert sorted(pass_id for pass_id, _n in issued) == sorted(ids)  # each pass exactly once
    assert sum(len(refused) for _ok, _done, refused in outcomes) == 2 * len(ids)
    assert sorted(int(n[-6:]) for _id, n in issued) == list(range(1, len(ids) + 1))
    session.expire_all()
    assert len(pass_records(session, ids)) == len(ids)
