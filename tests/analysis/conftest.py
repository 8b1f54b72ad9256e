"""A theory session of institution A sat by many simulated candidates, scored, published and
confirmed: the confirmation starts the analysis (jobs run eagerly here).

Answers follow a 2PL model per item. One single-choice item of form A is miskeyed (the stored key is
a distractor the able candidates avoid, they choose the true answer), and one item of form A is
much harder for candidates sitting in Mongolian than for those of equal ability sitting in Chinese
(DIF), so the flags have something to find.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import insert, select

from examsvc import clock
from examsvc.delivery.models import Attempt
from examsvc.grading.results import confirm_results, publish_results
from examsvc.grading.service import score_session
from examsvc.papers.service import lock_paper, run_assembly, start_assembly
from examsvc.sessions.models import Candidate, ExamSession
from examsvc.sessions.service import plan_session
from itembank.scoring import to_mask
from tests.delivery.conftest import EXAM_DAY, site_filed
from tests.papers.conftest import papers_world  # noqa: F401  (fixture)

WRONG = {"true_false": ["T", "F"], "single_choice": list("ABCD"), "multiple_choice": list("ABCDE")}


@dataclass
class Planted:
    miskey_version: int | None = None
    miskey_true: str | None = None
    dif_version: int | None = None


def assemble(session, world, forms=2, seed=1):
    run = start_assembly(session, institution=world["A"], blueprint_version=world["version"], forms=forms,
                         overrides={"seed": seed, "time_limit": 30}, actor=world["admin"])
    run_assembly(session, run)
    return [lock_paper(session, p, world["admin"]) for p in run.papers]


def closed_session(session, world, papers, *, n, rng, planted: Planted | None = None, title="理论", day=EXAM_DAY,
                   institution=None):
    """A closed session whose ``n`` candidates sat ``papers`` in rotation (answers sealed)."""
    institution = institution or world["A"]
    with clock.frozen(day - timedelta(days=1)):
        exam = plan_session(session, institution=institution, blueprint=world["version"].blueprint, title=title,
                            exam_date=day.date(), window_start=day - timedelta(minutes=30),
                            window_end=day + timedelta(minutes=30), rooms=[("大厅", n)], paper_ids=[p.id for p in papers],
                            league_city=site_filed(session, institution), actor=world["admin"])
    exam.status, exam.languages = "closed", ["zh", "mn"]  # the bank has no Mongolian variants: set, not planned
    language = np.where(rng.random(n) < 0.4, "mn", "zh")
    gender = np.where(rng.random(n) < 0.5, "M", "F")
    tag = uuid.uuid4().hex[:6]
    session.execute(insert(Candidate), [dict(
        session_id=exam.id, name=f"考生{i}", id_type="passport", id_cipher="-", id_digest=f"{tag}{i:010d}",
        id_masked="-", ticket_number=f"T{i:06d}", employer="", phone="", exam_language=str(language[i]),
        gender=str(gender[i]), registered_at=day) for i in range(n)])
    candidates = list(session.scalars(select(Candidate.id).where(Candidate.session_id == exam.id).order_by(Candidate.id)))
    theta = rng.normal(size=n)
    rows = []
    for i, candidate_id in enumerate(candidates):
        paper = papers[i % len(papers)]
        rows.append(dict(candidate_id=candidate_id, session_id=exam.id, paper_id=paper.id, language=str(language[i]),
                         status="submitted", started_at=day, deadline_at=day + timedelta(minutes=90),
                         closed_at=day + timedelta(minutes=80), shuffle_seed=0, item_order=[], option_orders={},
                         extra_seconds=0, last_seq=0, response_masks=None))
    masks = {p.id: _simulate(p, theta[i::len(papers)], language[i::len(papers)], rng, planted if p is papers[0] else None)
             for i, p in enumerate(papers)}
    taken = {p.id: 0 for p in papers}
    for row in rows:
        row["response_masks"] = masks[row["paper_id"]][taken[row["paper_id"]]].tobytes()
        taken[row["paper_id"]] += 1
    session.execute(insert(Attempt), rows)
    session.flush()
    return exam


def _simulate(paper, theta, language, rng, planted):
    items = sorted(paper.items, key=lambda i: i.position)
    width = max(i.position for i in items)
    out = np.zeros((len(theta), width), dtype=np.uint8)
    singles = [i for i in items if i.item_type == "single_choice"]
    miskeyed = singles[0] if planted is not None else None
    dif_item = singles[1] if planted is not None else None
    if planted is not None:
        planted.miskey_version, planted.dif_version = miskeyed.item_version_id, dif_item.item_version_id
        planted.miskey_true = next(x for x in "ABCD" if x not in miskeyed.key)
    for item in items:
        a, b = rng.lognormal(0.2, 0.25), rng.normal(-0.6, 0.8)
        shift = np.where(language == "mn", 1.5, 0.0) if item is dif_item else 0.0
        b = -0.8 if item is dif_item else b
        knows = rng.random(len(theta)) < 1 / (1 + np.exp(-a * (theta - b - shift)))
        right = list(item.key) if item is not miskeyed else [planted.miskey_true]
        pool = [x for x in WRONG[item.item_type] if x not in right]
        wrong = np.array([to_mask([x]) if item.item_type != "multiple_choice" else to_mask([x, pool[(k + 1) % len(pool)]])
                          for k, x in enumerate(pool)])
        guesses = wrong[rng.integers(0, len(wrong), len(theta))]
        column = np.where(knows, to_mask(right), guesses)
        column[rng.random(len(theta)) < 0.01] = 0  # a few unanswered
        out[:, item.position - 1] = column
    return out


def score_publish_confirm(session, exam, admin, day=EXAM_DAY):
    with clock.frozen(day + timedelta(hours=3)) as frozen:
        score_session(session, exam, admin)
        publish_results(session, exam, admin, notice_days=1)
        session.commit()
        frozen.advance(timedelta(days=3))
        confirm_results(session, exam, admin)
        session.commit()


@pytest.fixture
def eager(app):
    app.config.update(JOBS_EAGER=True, ANALYSIS_MIN_N=100)
    return app


@pytest.fixture
def progress_calls(monkeypatch):
    """Every progress report of a job, as (job id, fraction, note), still written to the job row."""
    from examsvc.jobs import service as jobs

    calls = []
    original = jobs.Progress.__call__

    def spy(self, fraction, note=""):
        calls.append((self.job_id, fraction, note))
        return original(self, fraction, note)

    monkeypatch.setattr(jobs.Progress, "__call__", spy)
    return calls


@pytest.fixture
def analysed(app, eager, session, papers_world, progress_calls):
    """Two forms, 600 candidates, confirmed: the analysis has run."""
    with app.app_context():
        rng = np.random.default_rng(20261205)
        planted = Planted()
        papers = assemble(session, papers_world)
        exam = closed_session(session, papers_world, papers, n=600, rng=rng, planted=planted)
        session.commit()
        score_publish_confirm(session, exam, papers_world["admin"])
    return {**papers_world, "papers": papers, "session": exam, "planted": planted, "rng": rng,
            "progress": progress_calls}


def session_of(session, exam_id):
    return session.get(ExamSession, exam_id)
