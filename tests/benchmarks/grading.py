"""Benchmark: scoring theory attempts.

1. ``score_matrix`` on 100,000 attempts × 100 items (arrays as a session's answers load): the
   issue's target is under 10 s for the whole scoring.
2. The service path ``score_session`` on a real database (SQLite file, or PostgreSQL with
   ``--postgres``): N candidates sit a 90-item paper, their answers are written in bulk, then the
   session is scored with one query for attempts and one for answers; reports attempts/s.
3. The certificate figures of ``tests/benchmarks/certificates.py`` when that script exists.
Prints one JSON line.

Run: ``python tests/benchmarks/grading.py [--candidates 2000] [--postgres]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from itembank.scoring import score_matrix, to_mask  # noqa: E402


def pure_scoring(n: int = 100_000, m: int = 100) -> dict:
    rng = np.random.default_rng(20261126)
    keys = rng.choice([1, 2, 4, 8], size=m)
    multiple = np.zeros(m, dtype=bool)
    multiple[-10:] = True
    keys[-10:] = 5
    responses = np.where(rng.random((n, m)) < 0.7, keys, rng.choice([1, 2, 4, 8], size=(n, m)))
    started = time.perf_counter()
    scored = score_matrix(responses, keys, np.ones(m), multiple, rule="partial")
    seconds = time.perf_counter() - started
    return {"attempts": n, "items": m, "seconds": round(seconds, 3), "attempts_per_s": round(n / seconds),
            "mean_score": round(float(scored.total.mean()), 2), "target_s": 10, "meets_target": seconds < 10}


def service_scoring(candidates: int, database_url: str, tmp: str) -> dict:
    from sqlalchemy import bindparam, insert

    from examsvc import clock, create_app
    from examsvc.accounts.service import create_user
    from examsvc.bank.service import load_blueprint_file
    from examsvc.db import unit_of_work
    from examsvc.delivery.models import Answer, Attempt
    from examsvc.grading.service import score_session
    from examsvc.institutions.service import register_institution
    from examsvc.migrate import upgrade
    from examsvc.papers.service import lock_paper, run_assembly, start_assembly
    from examsvc.reference.service import load_occupations
    from examsvc.sessions.models import Candidate
    from examsvc.institutions.filing import file_site
    from examsvc.sessions.service import plan_session
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
            run = start_assembly(session, institution=institution, blueprint_version=version, forms=1,
                                 overrides={"seed": 1, "time_limit": 60}, actor=admin)
            run_assembly(session, run)
            paper = lock_paper(session, run.papers[0], admin)
            file_site(session, institution, "呼和浩特市", "system")  # a region-level institution's site (Art. 12)
            exam = plan_session(session, institution=institution, blueprint=version.blueprint, title="基准",
                                exam_date=day.date(), window_start=day, window_end=day + timedelta(hours=1),
                                rooms=[("大厅", candidates)], paper_ids=[paper.id], league_city="呼和浩特市",
                                actor=admin)
            exam.status = "closed"
            rng = np.random.default_rng(7)
            session.execute(insert(Candidate), [dict(
                session_id=exam.id, name=f"考生{i}", id_type="passport", id_cipher="-", id_digest=uuid.uuid4().hex,
                id_masked="-", ticket_number=f"T{i:06d}", employer="", phone="", exam_language="zh",
                registered_at=day) for i in range(candidates)])
            ids = list(session.scalars(Candidate.__table__.select().with_only_columns(Candidate.id)
                                       .where(Candidate.session_id == exam.id)))
            session.execute(insert(Attempt), [dict(
                candidate_id=c, session_id=exam.id, paper_id=paper.id, language="zh", status="submitted",
                started_at=day, deadline_at=day + timedelta(minutes=90), closed_at=day + timedelta(minutes=80),
                shuffle_seed=0, item_order=[], option_orders={}, extra_seconds=0, last_seq=0) for c in ids])
            attempt_ids = list(session.scalars(Attempt.__table__.select().with_only_columns(Attempt.id)
                                               .where(Attempt.session_id == exam.id)))
            items = paper.items
            rows = []
            for attempt_id in attempt_ids:
                for item in items:
                    right = rng.random() < 0.7
                    letters = list(item.key) if right else (["F"] if item.key == ["T"] else ["T"]) \
                        if item.item_type == "true_false" else [next(x for x in "ABCD" if x not in item.key)]
                    rows.append(dict(attempt_id=attempt_id, position=item.position, response=letters,
                                     mask=to_mask(letters), flagged=False, seq=1, saved_at=day))
            for start in range(0, len(rows), 20_000):
                session.execute(insert(Answer), rows[start:start + 20_000])
            # attempts are sealed when they close, as submit() does
            width = max(i.position for i in items)
            by_attempt: dict[int, bytearray] = {a: bytearray(width) for a in attempt_ids}
            for row in rows:
                by_attempt[row["attempt_id"]][row["position"] - 1] = row["mask"]
            session.execute(Attempt.__table__.update().where(Attempt.id == bindparam("aid")).values(
                response_masks=bindparam("masks")), [{"aid": a, "masks": bytes(m)} for a, m in by_attempt.items()])
            exam_id = exam.id
        with clock.frozen(day + timedelta(hours=3)):
            started = time.perf_counter()
            with unit_of_work() as session:
                from examsvc.sessions.models import ExamSession

                scored = score_session(session, session.get(ExamSession, exam_id), "benchmark")
            seconds = time.perf_counter() - started
    app.extensions["examsvc.engine"].dispose()
    return {"database": database_url.split(":", 1)[0], "attempts": scored, "items": len(items),
            "answers": len(rows), "seconds": round(seconds, 3), "attempts_per_s": round(scored / seconds),
            "extrapolated_100k_s": round(seconds * 100_000 / scored, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--candidates", type=int, default=2000)
    parser.add_argument("--postgres", action="store_true", help="use EXAMSVC_TEST_DATABASE_URL's server")
    args = parser.parse_args()
    figures: dict = {"benchmark": "grading", "pure_scoring": pure_scoring()}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/grading.sqlite3"
        if args.postgres:
            from sqlalchemy import create_engine, text

            admin = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test", isolation_level="AUTOCOMMIT")
            name = f"examsvc_bench_{uuid.uuid4().hex[:8]}"
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}"'))
            url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        try:
            figures["service_scoring"] = service_scoring(args.candidates, url, tmp)
        finally:
            if args.postgres:
                with admin.connect() as c:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    certificates = ROOT / "tests" / "benchmarks" / "certificates.py"
    if certificates.exists():
        done = subprocess.run([sys.executable, str(certificates)], capture_output=True, text=True, timeout=900)
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        figures["certificates"] = json.loads(lines[-1]) if lines else {"error": done.stderr[-500:]}
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
