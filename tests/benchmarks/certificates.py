"""Benchmark: issuing certificates and rendering their PDF (issue 6 targets).

1. ``issue_10k``: 10,000 confirmed passes of one session (theory and skill scores, confirmed
   publications, pass records; built in bulk and not timed), then ``issue_for_session`` in one
   unit of work, as ``examsvc certificates issue --session`` runs it: load the pending passes,
   check every one, reserve the serials, write the certificates and the audit event, commit.
   Target under 10 s; the numbers must be distinct and their serials 1..10,000. Run on a fresh
   SQLite file and, when reachable, on a throw-away PostgreSQL database
   (``EXAMSVC_TEST_DATABASE_URL``, default the local server's ``test`` database).
2. ``pdf``: one certificate read from the database, its ID number decrypted, its QR code made and
   its A4 PDF drawn, 50 times after one warm-up (which registers the CJK font). Target median
   under 100 ms.

Prints ONE JSON line. Run: ``python tests/benchmarks/certificates.py [--passes N] [--no-postgres]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from examsvc import clock, create_app  # noqa: E402
from examsvc.accounts.service import create_user  # noqa: E402
from examsvc.certificates.models import Certificate  # noqa: E402
from examsvc.certificates.pdf import certificate_document, certificate_pdf  # noqa: E402
from examsvc.certificates.service import issue_for_session  # noqa: E402
from examsvc.db import get_session, unit_of_work  # noqa: E402
from examsvc.migrate import upgrade  # noqa: E402
from examsvc.reference.service import load_occupations  # noqa: E402
from tests.benchmarks.certificate_seeding import BulkPasses  # noqa: E402
from tests.certificates.builders import ISSUE_TIME  # noqa: E402

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def register_a(session):
    from datetime import date

    from examsvc.institutions.service import register_institution

    load_occupations(session)
    institution = register_institution(session, code="S000015000001", name="甲评价机构", kind="social_organisation",
                                       tier="region", league_city=None, published_on=date(2025, 4, 15),
                                       scope=[("4-03-02-01", "4")])
    admin = create_user(session, username="admin_a", password="benchmark-pw-1", display_name="admin",
                        roles=[("institution_admin", institution.id)])
    return institution, admin


def issue_case(url: str, instance: str, passes: int) -> dict:
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": instance, "SECRET_KEY": "benchmark-" + "x" * 32,
                      "JOBS_WORKER_THREAD": False})
    with app.app_context(), clock.frozen(ISSUE_TIME):
        upgrade(app)
        with unit_of_work() as session:
            institution, admin = register_a(session)
            factory = BulkPasses(session, institution, admin.id)
            started = time.perf_counter()
            factory.make(passes)
            setup_seconds = time.perf_counter() - started
            exam_session_id = factory.sessions["theory"].id
            admin_id = admin.id
        session = get_session()
        session.expunge_all()
        started = time.perf_counter()
        with unit_of_work() as session:
            from examsvc.accounts.models import User
            from examsvc.sessions.models import ExamSession

            issued = issue_for_session(session, session.get(ExamSession, exam_session_id), session.get(User, admin_id))
        seconds = time.perf_counter() - started
        numbers = list(get_session().scalars(select(Certificate.number)))
        serials = sorted(int(n[-6:]) for n in numbers)
        result = {"certificates": len(issued), "seconds": round(seconds, 3), "setup_seconds": round(setup_seconds, 2),
                  "unique": len(set(numbers)) == len(numbers) == passes,
                  "contiguous": serials == list(range(1, passes + 1)), "target_seconds": 10.0}
        result["ok"] = result["unique"] and result["contiguous"] and seconds < 10.0
        pdf = pdf_case() if "sqlite" in url else None
    app.extensions["examsvc.engine"].dispose()
    return result if pdf is None else {**result, "pdf": pdf}


def pdf_case(runs: int = 50) -> dict:
    session = get_session()
    certificate_id = session.scalar(select(Certificate.id).order_by(Certificate.id))

    def render() -> bytes:
        session.expunge_all()
        certificate = session.get(Certificate, certificate_id)
        return certificate_pdf(certificate_document(session, certificate, "https://certs.example.cn"))

    started = time.perf_counter()
    render()
    warm_up = time.perf_counter() - started
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        data = render()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    median = statistics.median(times)
    return {"runs": runs, "median_ms": round(median, 1), "p95_ms": round(times[int(0.95 * runs) - 1], 1),
            "first_ms": round(warm_up * 1000, 1), "bytes": len(data), "target_median_ms": 100.0, "ok": median < 100.0}


def postgres_url() -> tuple[str, object] | None:
    admin_url = os.environ.get("EXAMSVC_TEST_DATABASE_URL", PG_DEFAULT)
    if admin_url.startswith("postgresql://"):
        admin_url = "postgresql+psycopg://" + admin_url.split("://", 1)[1]
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        name = f"examsvc_bench_{uuid.uuid4().hex[:10]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception:
        return None

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passes", type=int, default=10_000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    out: dict = {"benchmark": "certificates", "python": platform.python_version(), "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = issue_case(f"sqlite:///{tmp}/bench.sqlite3", tmp, args.passes)
        out["pdf"] = sqlite.pop("pdf")
        out["issue_10k"] = {"sqlite": sqlite}
        pg = None if args.no_postgres else postgres_url()
        if pg is not None:
            url, drop = pg
            try:
                out["issue_10k"]["postgresql"] = issue_case(url, tmp, args.passes)
            finally:
                drop()
    out["ok"] = out["pdf"]["ok"] and all(case["ok"] for case in out["issue_10k"].values())
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
