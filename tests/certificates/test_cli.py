"""`examsvc certificates issue --session ID` and `examsvc certificates export`."""

from __future__ import annotations

import csv
import io

from sqlalchemy import func, select

from examsvc.certificates.models import Certificate
from tests.cli.test_cli import examsvc  # noqa: F401  (the in-process runner fixture)


def test_issue_a_session_then_export(examsvc, database_url, app, session, cert_world, tmp_path):  # noqa: F811
    with app.app_context():
        cert_world["passes_a"].make(3)
        cert_world["passes_a"].make(1, fail="skill")
    session.commit()
    skill = cert_world["passes_a"].sessions["skill"].id
    refused = examsvc("certificates", "issue", "--session", str(skill), database_url=database_url)
    assert refused.code == 1 and "fail" in refused.err and "nothing issued" in refused.err
    assert session.scalar(select(func.count()).select_from(Certificate)) == 0
    missing = examsvc("certificates", "issue", "--session", "999", database_url=database_url)
    assert missing.code == 1 and "session_id" in missing.err
    good = cert_world["passes_a"].sessions["theory"]
    # the theory session's pending passes include the failed one too (it passed theory): all or nothing
    refused = examsvc("certificates", "issue", "--session", str(good.id), "--user", "admin_a", database_url=database_url)
    assert refused.code == 1 and "1 problem(s)" in refused.err
    out = tmp_path / "upload.csv"
    empty = examsvc("certificates", "export", "--format", "csv", "-o", str(out), database_url=database_url)
    assert empty.code == 0 and "0 certificate(s)" in empty.out


def test_issue_and_export_with_clean_data(examsvc, database_url, app, session, cert_world, tmp_path):  # noqa: F811
    with app.app_context():
        cert_world["passes_a"].make(3)
    session.commit()
    theory = cert_world["passes_a"].sessions["theory"]
    done = examsvc("certificates", "issue", "--session", str(theory.id), "--user", "admin_a",
                   database_url=database_url)
    assert done.code == 0, done.err
    assert "issued 3 certificate(s): S000015000001264000001 … S000015000001264000003" in done.out
    out = tmp_path / "upload.csv"
    exported = examsvc("certificates", "export", "--institution", "S000015000001", "--from", "2026-12-01",
                       "--to", "2026-12-31", "--format", "csv", "-o", str(out), "--strict", database_url=database_url)
    assert exported.code == 0, exported.err
    assert "3 certificate(s), 0 revocation(s); 0 held back of 3 checked" in exported.out
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert len(rows) == 4 and rows[1][1] == "S000015000001264000001" and len(rows[1][4]) == 18
