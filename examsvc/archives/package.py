"""The archive package of one exam session: JSON files and a manifest of their SHA-256 hashes.

``manifest.json`` lists every file with its hash and size, the session, the export time and the
audit chain's head at export time, and ``manifest_hash``: the SHA-256 of the manifest's canonical
JSON without that field. :func:`verify_package` recomputes everything and names each file that
was changed, is missing or was added. Candidates' identity numbers appear masked only.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable

from sqlalchemy import or_, select, and_
from sqlalchemy.orm import Session

from examsvc import clock
from examsvc.audit.models import AuditEvent
from examsvc.audit.service import canonical_json, record
from examsvc.bank.models import ItemVersion
from examsvc.certificates.models import Certificate, CertificateRevocation, CertificateVoid
from examsvc.delivery.models import Answer, Attempt
from examsvc.errors import NotFound
from examsvc.grading.models import (
    ComponentScore, ExaminerScore, KeyCorrection, PassRecord, Resolution, ResultPublication, ReviewRequest, ScoreChange,
)
from examsvc.papers.models import Paper, PaperItem
from examsvc.sessions.models import Candidate, ExamSession, Incident, SessionPaper, SessionRoom, StaffAssignment

FORMAT = "examsvc-archive/1"
MANIFEST = "manifest.json"
#: Columns never written to a package: the protected identity, its digest, secrets.
SECRET_COLUMNS = {"id_cipher", "id_digest", "password_hash"}
_CHUNK = 900


def _value(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def row_dict(row: Any) -> dict[str, Any]:
    """Every column of ``row`` but the secret ones, JSON-ready."""
    return {c.key: _value(getattr(row, c.key)) for c in row.__mapper__.column_attrs if c.key not in SECRET_COLUMNS}


def _rows(session: Session, model: Any, column: Any, ids: Iterable[Any]) -> list[Any]:
    ordered, found = sorted(set(ids)), []
    for start in range(0, len(ordered), _CHUNK):
        found += session.scalars(select(model).where(column.in_(ordered[start:start + _CHUNK])))
    return sorted(found, key=lambda r: r.id)


def _dump(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_package(session: Session, exam_session_id: int) -> dict[str, bytes]:
    """The package's files by name (``manifest.json`` included)."""
    exam_session = session.get(ExamSession, exam_session_id)
    if exam_session is None:
        raise NotFound(f"考试 {exam_session_id} 不存在", f"no exam session {exam_session_id}")
    sid = exam_session.id
    by_session = lambda model: list(session.scalars(select(model).where(model.session_id == sid).order_by(model.id)))  # noqa: E731
    candidates = by_session(Candidate)
    attempts = by_session(Attempt)
    scores = by_session(ComponentScore)
    score_ids = {s.id for s in scores}
    paper_ids = {p.paper_id for p in by_session(SessionPaper)} | {a.paper_id for a in attempts}
    papers = _rows(session, Paper, Paper.id, paper_ids)
    paper_items = _rows(session, PaperItem, PaperItem.paper_id, paper_ids)
    versions = _rows(session, ItemVersion, ItemVersion.id, {i.item_version_id for i in paper_items})
    pass_records = [p for p in session.scalars(select(PassRecord).where(
        PassRecord.institution_id == exam_session.institution_id).order_by(PassRecord.id))
        if score_ids & set(p.score_ids or [])]
    certificates = _rows(session, Certificate, Certificate.pass_record_id, {p.id for p in pass_records})
    certificate_ids = {c.id for c in certificates}
    subjects = {"exam_sessions": {sid}, "candidates": {c.id for c in candidates}, "attempts": {a.id for a in attempts},
                "component_scores": score_ids, "papers": paper_ids, "certificates": certificate_ids}
    conditions = [and_(AuditEvent.subject_type == kind, AuditEvent.subject_id.in_([str(i) for i in ids]))
                  for kind, ids in subjects.items() if ids]
    events = list(session.scalars(select(AuditEvent).where(or_(*conditions)).order_by(AuditEvent.seq)))
    head = session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    files = {
        "session.json": {"session": row_dict(exam_session),
                         "rooms": [row_dict(r) for r in by_session(SessionRoom)],
                         "staff": [row_dict(r) for r in by_session(StaffAssignment)],
                         "papers": [row_dict(r) for r in by_session(SessionPaper)],
                         "incidents": [row_dict(r) for r in by_session(Incident)],
                         "result_publication": [row_dict(r) for r in by_session(ResultPublication)]},
        "candidates.json": [row_dict(c) for c in candidates],
        "papers.json": {"papers": [row_dict(p) for p in papers], "paper_items": [row_dict(i) for i in paper_items],
                        "item_versions": [row_dict(v) for v in versions],
                        "key_corrections": [row_dict(k) for k in _rows(session, KeyCorrection, KeyCorrection.paper_id,
                                                                       paper_ids)]},
        "attempts.json": [row_dict(a) for a in attempts],
        "answers.json": [row_dict(a) for a in _rows(session, Answer, Answer.attempt_id, subjects["attempts"])],
        "scores.json": {"component_scores": [row_dict(s) for s in scores],
                        "score_changes": [row_dict(c) for c in _rows(session, ScoreChange, ScoreChange.score_id, score_ids)],
                        "review_requests": [row_dict(r) for r in _rows(session, ReviewRequest, ReviewRequest.score_id,
                                                                       score_ids)],
                        "examiner_scores": [row_dict(r) for r in by_session(ExaminerScore)],
                        "resolutions": [row_dict(r) for r in by_session(Resolution)]},
        "certificates.json": {"pass_records": [row_dict(p) for p in pass_records],
                              "certificates": [row_dict(c) for c in certificates],
                              "voids": [row_dict(v) for v in _rows(session, CertificateVoid,
                                                                   CertificateVoid.certificate_id, certificate_ids)],
                              "revocations": [row_dict(r) for r in _rows(session, CertificateRevocation,
                                                                         CertificateRevocation.certificate_id,
                                                                         certificate_ids)]},
        "audit_events.json": [row_dict(e) for e in events],
    }
    data = {name: _dump(content) for name, content in files.items()}
    manifest: dict[str, Any] = {
        "format": FORMAT, "session_id": sid, "institution_id": exam_session.institution_id,
        "title": exam_session.title, "exported_at": clock.now().isoformat(),
        "audit_head": {"seq": head.seq, "hash": head.hash} if head else None,
        "files": {name: {"sha256": sha256(content), "bytes": len(content)} for name, content in sorted(data.items())},
    }
    manifest["manifest_hash"] = sha256(canonical_json(manifest).encode("utf-8"))
    data[MANIFEST] = _dump(manifest)
    return data


def export_session_archive(session: Session, exam_session_id: int, actor: Any) -> dict[str, bytes]:
    """Build the package and put its export on the audit trail (the event is not in the package)."""
    files = build_package(session, exam_session_id)
    manifest = json.loads(files[MANIFEST])
    record(session, actor, "archive.export", ("exam_sessions", exam_session_id),
           {"manifest_hash": manifest["manifest_hash"], "audit_head": manifest["audit_head"],
            "files": len(manifest["files"])})
    return files


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            archive.writestr(name, files[name])
    return buffer.getvalue()


def write_package(files: dict[str, bytes], output: Path) -> Path:
    """Write to ``output``: a ``.zip`` file, or else a directory (created; must be empty)."""
    if output.suffix.lower() == ".zip":
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(zip_bytes(files))
        return output
    output.mkdir(parents=True, exist_ok=True)
    if any(output.iterdir()):
        raise FileExistsError(f"{output} is not empty")
    for name, content in files.items():
        (output / name).write_bytes(content)
    return output


def read_package(path: Path | bytes | dict[str, bytes]) -> dict[str, bytes]:
    """A package's files from a directory, a zip file, zip bytes, or as built."""
    if isinstance(path, dict):
        return dict(path)
    if isinstance(path, bytes):
        source: Any = io.BytesIO(path)
    elif path.is_dir():
        return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}
    else:
        source = path
    with zipfile.ZipFile(source) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}


def _event_problems(content: bytes) -> list[str]:
    """Each audit event must still hash to its recorded hash from its recorded predecessor: an event
    rewritten with a fresh manifest is caught here (and against the live chain by ``audit verify``)."""
    from types import SimpleNamespace

    from examsvc.audit.service import event_hash

    try:
        events = json.loads(content)
        problems = []
        for event in events:
            row = SimpleNamespace(**{**event, "occurred_at": datetime.fromisoformat(event["occurred_at"])})
            if event_hash(event["prev_hash"], row) != event["hash"]:
                problems.append(f"audit event {event['seq']} does not match its hash (changed)")
        return problems
    except (ValueError, KeyError, TypeError) as exc:
        return [f"audit events unreadable: {exc}"]


@dataclass
class VerifyReport:
    problems: list[tuple[str, str]] = field(default_factory=list)   # (file, what is wrong)
    manifest: dict[str, Any] = field(default_factory=dict)
    files: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_package(path: Path | bytes | dict[str, bytes]) -> VerifyReport:
    """Recompute every hash; name each changed, missing or extra file."""
    report = VerifyReport()
    try:
        files = read_package(path)
    except (zipfile.BadZipFile, OSError) as exc:
        report.problems.append((str(path) if isinstance(path, Path) else "(upload)", f"unreadable: {exc}"))
        return report
    if MANIFEST not in files:
        report.problems.append((MANIFEST, "missing"))
        return report
    try:
        manifest = json.loads(files[MANIFEST])
        listed = manifest["files"]
        claimed = manifest.pop("manifest_hash")
    except (ValueError, KeyError, TypeError):
        report.problems.append((MANIFEST, "not a valid manifest"))
        return report
    if sha256(canonical_json(manifest).encode("utf-8")) != claimed:
        report.problems.append((MANIFEST, "manifest hash does not match (the manifest was changed)"))
    manifest["manifest_hash"] = claimed
    report.manifest = manifest
    for name, entry in sorted(listed.items()):
        if name not in files:
            report.problems.append((name, "missing"))
        elif sha256(files[name]) != entry.get("sha256"):
            report.problems.append((name, "hash does not match (changed)"))
    for name in sorted(set(files) - set(listed) - {MANIFEST}):
        report.problems.append((name, "extra file not in the manifest"))
    if "audit_events.json" in files:
        report.problems += [("audit_events.json", problem) for problem in _event_problems(files["audit_events.json"])]
    report.files = len(listed)
    return report
