"""A scored session's archive exports, verifies, and names every changed, missing or extra file;
its records are kept for the retention period and deletion before its end is refused."""

import json
import zipfile
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from examsvc import clock
from examsvc.archives.package import build_package, export_session_archive, verify_package, write_package
from examsvc.archives.retention import delete_session_records, retention_end
from examsvc.audit.models import AuditEvent
from examsvc.delivery.models import Answer, Attempt
from examsvc.errors import ConfigError, Conflict
from tests.conftest import count_rows
from tests.delivery.conftest import EXAM_DAY, resident_id


def test_export_then_verify_ok_and_the_package_holds_the_whole_session(session, scored, tmp_path):
    sid = scored["session"].id
    files = export_session_archive(session, sid, scored["admin"])
    session.commit()
    assert set(files) == {"manifest.json", "session.json", "candidates.json", "papers.json", "attempts.json",
                          "answers.json", "scores.json", "certificates.json", "audit_events.json"}
    manifest = json.loads(files["manifest.json"])
    assert manifest["session_id"] == sid and manifest["audit_head"]["hash"]
    candidates = json.loads(files["candidates.json"])
    assert len(candidates) == 4 and all("id_cipher" not in c and "id_digest" not in c for c in candidates)
    text = b"".join(files.values()).decode("utf-8")
    assert resident_id(1) not in text and "*" in candidates[0]["id_masked"]
    assert len(json.loads(files["scores.json"])["component_scores"]) == 4
    assert json.loads(files["answers.json"]) and json.loads(files["papers.json"])["item_versions"]
    actions = {e["action"] for e in json.loads(files["audit_events.json"])}
    assert {"session.open", "attempt.submit", "grading.score_session"} <= actions
    package = write_package(files, tmp_path / "pkg.zip")
    report = verify_package(package)
    assert report.ok and report.files == 8
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "archive.export")).subject_id == str(sid)


def test_a_tampered_file_is_named(session, scored, tmp_path):
    files = build_package(session, scored["session"].id)
    folder = write_package(files, tmp_path / "pkg")
    answers = json.loads((folder / "answers.json").read_text(encoding="utf-8"))
    answers[0]["response"] = ["C"]
    (folder / "answers.json").write_text(json.dumps(answers), encoding="utf-8")
    report = verify_package(folder)
    assert not report.ok and [name for name, _ in report.problems] == ["answers.json"]


def test_missing_and_extra_files_and_an_edited_manifest_are_named(session, scored, tmp_path):
    files = build_package(session, scored["session"].id)
    del files["scores.json"]
    files["notes.txt"] = b"added later"
    assert {(n, p.split()[0]) for n, p in verify_package(_zip(files, tmp_path)).problems} == {
        ("scores.json", "missing"), ("notes.txt", "extra")}
    files = build_package(session, scored["session"].id)
    manifest = json.loads(files["manifest.json"])
    manifest["files"]["scores.json"]["sha256"] = "0" * 64
    files["manifest.json"] = json.dumps(manifest).encode()
    names = [n for n, _ in verify_package(_zip(files, tmp_path)).problems]
    assert names == ["manifest.json", "scores.json"]


def test_an_audit_event_rewritten_with_a_fresh_manifest_is_still_caught(session, scored):
    import hashlib

    from examsvc.audit.service import canonical_json

    files = build_package(session, scored["session"].id)
    events = json.loads(files["audit_events.json"])
    events[0]["actor"] = "someone_else"
    files["audit_events.json"] = json.dumps(events).encode()
    manifest = json.loads(files["manifest.json"])
    del manifest["manifest_hash"]
    manifest["files"]["audit_events.json"]["sha256"] = hashlib.sha256(files["audit_events.json"]).hexdigest()
    manifest["manifest_hash"] = hashlib.sha256(canonical_json(manifest).encode()).hexdigest()
    files["manifest.json"] = json.dumps(manifest).encode()
    problems = verify_package(files)
    assert [(n, p.split(" (")[0]) for n, p in problems.problems] == [
        ("audit_events.json", f"audit event {events[0]['seq']} does not match its hash")]


def _zip(files, tmp_path):
    path = tmp_path / "t.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return path


def test_cli_export_and_verify_exit_non_zero_naming_the_file(app, session, scored, tmp_path):
    from examsvc.cli import cli

    runner = CliRunner()
    output = tmp_path / "archive.zip"
    result = runner.invoke(cli, ["archive", "export", "--session", str(scored["session"].id), "--output",
                                 str(output)], obj=_script_info(app))
    assert result.exit_code == 0, result.output
    assert runner.invoke(cli, ["archive", "verify", str(output)], obj=_script_info(app)).exit_code == 0
    with zipfile.ZipFile(output) as archive:
        files = {n: archive.read(n) for n in archive.namelist()}
    files["attempts.json"] = files["attempts.json"].replace(b"submitted", b"terminated", 1)
    tampered = _zip(files, tmp_path)
    result = runner.invoke(cli, ["archive", "verify", str(tampered)], obj=_script_info(app))
    assert result.exit_code == 1 and "attempts.json" in result.output
    assert "manifest.json" not in result.output


def _script_info(app):
    from flask.cli import ScriptInfo

    return ScriptInfo(create_app=lambda: app)


def test_deletion_before_the_retention_end_is_refused_naming_the_date(session, scored, app):
    exam_session = scored["session"]
    end = retention_end(session, exam_session)
    assert end == EXAM_DAY.date().replace(year=EXAM_DAY.year + 5)
    with clock.frozen(datetime(2031, 12, 4, 4, 0, tzinfo=timezone.utc)):
        with pytest.raises(Conflict) as refused:
            delete_session_records(session, exam_session, scored["admin"])
    assert "2031-12-05" in refused.value.message_en and "2031-12-05" in refused.value.message
    assert count_rows(session, Answer) > 0
    after = datetime(2031, 12, 5, 4, 0, tzinfo=timezone.utc)
    with clock.frozen(after), pytest.raises(Conflict, match="export the archive"):
        delete_session_records(session, exam_session, scored["admin"])
    with clock.frozen(after):
        export_session_archive(session, exam_session.id, scored["admin"])
        counts = delete_session_records(session, exam_session, scored["admin"])
    assert counts["attempts"] == 2 and count_rows(session, Attempt) == 0 and count_rows(session, Answer) == 0
    app.config["ARCHIVE_RETENTION_YEARS"] = 4
    with pytest.raises(ConfigError, match="legal minimum"):
        retention_end(session, exam_session)
    app.config["ARCHIVE_RETENTION_YEARS"] = 7
    assert retention_end(session, exam_session).year == EXAM_DAY.year + 7


def test_download_and_upload_to_verify_by_role(client, session, scored_no_context):
    from io import BytesIO

    from tests.conftest import csrf_headers, login, make_user

    exam = scored_no_context
    make_user(session, "regulator", "regulator")
    sid = exam["session"].id
    login(client, "inv1")
    assert client.get(f"/archives/sessions/{sid}.zip").status_code == 403
    login(client, exam["admin"].username)
    download = client.get(f"/archives/sessions/{sid}.zip")
    assert download.status_code == 200 and download.mimetype == "application/zip"
    assert client.get(f"/archives/regulator/sessions/{sid}.zip").status_code == 403
    assert client.post("/archives/verify", headers=csrf_headers(client)).status_code == 403
    login(client, "regulator")
    assert client.get(f"/api/v1/archives/regulator/sessions/{sid}").status_code == 200
    page = client.post("/archives/verify", data={"package": (BytesIO(download.data), "a.zip")},
                       headers=csrf_headers(client), content_type="multipart/form-data")
    assert page.status_code == 200 and "answers.json" not in page.get_data(as_text=True)
    with zipfile.ZipFile(BytesIO(download.data)) as archive:
        files = {n: archive.read(n) for n in archive.namelist()}
    files["certificates.json"] += b" "
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    answer = client.post("/api/v1/archives/verify", data={"package": (BytesIO(buffer.getvalue()), "t.zip")},
                         headers=csrf_headers(client), content_type="multipart/form-data")
    assert answer.status_code == 200
    assert answer.get_json()["ok"] is False and [p["file"] for p in answer.get_json()["problems"]] == ["certificates.json"]
