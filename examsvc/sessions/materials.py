"""Review materials (综合评审材料): what a candidate of a 综合评审 session hands in before the review.

A candidate for 二级/技师 or 一级/高级技师 is reviewed on their file — 业绩材料 (performance record),
技术总结 (technical summary) or 论文 (thesis) — and a defence (答辩) before a panel. The candidate,
signed in with ticket and ID number, or an admin of the session's institution on their behalf,
uploads the files; the panel reads them while scoring.

Files live in the database (``review_materials.data``): the app servers share one database and
keep no state of their own, so any of them can serve any file. A file is accepted only when

- the session examines the review component (its blueprint's component is ``review``);
- the candidate's review has not started: the session is not closed, no examiner has scored the
  candidate and the candidate has no component score (materials are frozen once the panel reads
  them, so every examiner scores the same file);
- it is at most ``REVIEW_MATERIAL_MAX_BYTES`` and the candidate has fewer than
  ``REVIEW_MATERIAL_MAX_FILES`` files;
- its bytes are a PDF, DOCX, JPEG or PNG (by magic bytes; the name's extension is set to match).

Who may see a candidate's files: the candidate (the same person: the same identity digest), the
admins of the session's institution, the examiners assigned to the session who have not recused
themselves from the candidate, and the regulators whose jurisdiction covers the session's place or
the institution. Nobody else (403).
"""

from __future__ import annotations

import hashlib
import io
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import ForeignKey, LargeBinary, String, exists, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from examsvc import clock
from examsvc.audit.service import record
from examsvc.auth import Permission, has_permission
from examsvc.bank.models import ExamBlueprint
from examsvc.db import Base, UTCDateTime
from examsvc.errors import Conflict, Forbidden, NotFound, ValidationFailed
from examsvc.grading.models import ComponentScore, ConflictDeclaration, ExaminerScore
from examsvc.institutions.jurisdiction import covers, jurisdiction_of
from examsvc.institutions.models import Institution
from examsvc.sessions.models import Candidate, ExamSession, SessionStatus, StaffRole
from examsvc.sessions.service import Problem

REVIEW_COMPONENT = "review"
#: kind -> (Chinese, English)
KINDS: dict[str, tuple[str, str]] = {
    "performance": ("业绩材料", "Performance record"),
    "summary": ("技术总结", "Technical summary"),
    "thesis": ("论文", "Thesis"),
}
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
#: detected type -> (content type, extension given to the stored name, extensions it may already have)
FILE_TYPES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "pdf": ("application/pdf", ".pdf", (".pdf",)),
    "docx": (DOCX, ".docx", (".docx",)),
    "jpeg": ("image/jpeg", ".jpg", (".jpg", ".jpeg")),
    "png": ("image/png", ".png", (".png",)),
}
FILENAME_MAX = 120  # characters of a stored name, extension included
#: characters never kept in a name: path separators, and what Windows refuses in file names
_UNSAFE = set('/\\:*?"<>|')


class ReviewMaterial(Base):
    """One file a candidate hands in for 综合评审. ``uploaded_by`` is the admin who uploaded it on the
    candidate's behalf, or NULL when the candidate did."""

    __tablename__ = "review_materials"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_sessions.id"), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))            # performance | summary | thesis
    filename: Mapped[str] = mapped_column(String(255))       # sanitised
    content_type: Mapped[str] = mapped_column(String(100))   # from the bytes, never from the client
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # lists never load the bytes
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @property
    def by_candidate(self) -> bool:
        return self.uploaded_by is None


def _bad(field: str, zh: str, en: str, code: str | None = None) -> ValidationFailed:
    return ValidationFailed(zh, en, field=field, code=code)


# --- files: what they are and what they are called ------------------------------------------

def sniff_type(data: bytes) -> str | None:
    """``pdf``, ``docx``, ``jpeg`` or ``png`` by the file's own bytes (magic numbers), else None.

    A DOCX is a ZIP whose directory holds ``[Content_Types].xml`` and ``word/document.xml``: only the
    directory is read, nothing is decompressed.
    """
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"PK\x03\x04"):
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except (zipfile.BadZipFile, ValueError, OSError, EOFError):
            return None
        if {"[Content_Types].xml", "word/document.xml"} <= names:
            return "docx"
    return None


def _refuse_nul(name: str) -> None:
    if "\x00" in name:
        raise _bad("file", "文件名含有非法字符（NUL）", "the file name contains a NUL byte", "materials.filename")


def sanitise_filename(name: str, file_type: str) -> str:
    """A safe stored name for an upload called ``name`` whose bytes are of ``file_type``.

    Keeps the last path component, drops control and format characters and the characters file
    systems refuse, folds whitespace, strips leading dots (no hidden or relative names), gives the
    name the extension of its real type, and keeps at most :data:`FILENAME_MAX` characters
    (extension included). A NUL byte is refused outright: it is never an accident.
    """
    _refuse_nul(name)
    _content_type, extension, known = FILE_TYPES[file_type]
    name = unicodedata.normalize("NFC", name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    kept = []
    for char in name:
        category = unicodedata.category(char)
        if char in _UNSAFE or category[0] == "C" or category in ("Zl", "Zp"):
            kept.append(" ")
        else:
            kept.append(char)
    name = " ".join("".join(kept).split()).lstrip(". ").rstrip(". ")
    stem, dot, ext = name.rpartition(".")
    if dot and "." + ext.lower() in known:
        name = stem.rstrip(". ")
    stem = name[:FILENAME_MAX - len(extension)].rstrip(". ") or "material"
    return stem + extension


# --- who may do what -------------------------------------------------------------------------

def is_review_session(session: Session, exam_session: ExamSession) -> bool:
    blueprint = session.get(ExamBlueprint, exam_session.blueprint_id)
    return blueprint is not None and blueprint.component == REVIEW_COMPONENT


def _require_review(session: Session, exam_session: ExamSession) -> None:
    if not is_review_session(session, exam_session):
        raise _bad("session_id", "只有综合评审场次收取评审材料", "only 综合评审 (review) sessions take review materials",
                   "materials.not_review")


def same_person(actor: Any, candidate: Candidate) -> bool:
    """A signed-in candidate acting for themselves (any of their registrations: one identity)."""
    return isinstance(actor, Candidate) and actor.id_digest == candidate.id_digest


def _refused() -> Forbidden:
    return Forbidden("您无权查看或更改该考生的评审材料", "you may not see or change this candidate's review materials",
                     field="candidate_id", code="forbidden")


def may_change(actor: Any, exam_session: ExamSession, candidate: Candidate) -> bool:
    """The candidate themselves, or an admin of the session's institution."""
    return same_person(actor, candidate) or (
        not isinstance(actor, Candidate)
        and has_permission(actor, Permission.INSTITUTION_MANAGE, exam_session.institution_id))


def _regulates(session: Session, viewer: Any, exam_session: ExamSession) -> bool:
    if not has_permission(viewer, Permission.REGULATE):
        return False
    institution = session.get(Institution, exam_session.institution_id)
    places = {jurisdiction_of(institution)} | ({exam_session.league_city} if exam_session.league_city else set())
    return any(covers(viewer, place) for place in places)


def _panel_member(session: Session, viewer: Any, exam_session: ExamSession) -> bool:
    return (has_permission(viewer, Permission.GRADING_SCORE, exam_session.institution_id)
            and any(s.user_id == viewer.id and s.role == StaffRole.EXAMINER.value for s in exam_session.staff))


def _recused(session: Session, viewer: Any) -> set[int]:
    """Candidates the examiner declared a conflict with (回避): their files are not the examiner's to read."""
    return set(session.scalars(select(ConflictDeclaration.candidate_id).where(
        ConflictDeclaration.examiner_id == viewer.id)))


def may_view(session: Session, viewer: Any, exam_session: ExamSession, candidate: Candidate) -> bool:
    if may_change(viewer, exam_session, candidate):
        return True
    if isinstance(viewer, Candidate) or viewer is None or not getattr(viewer, "is_authenticated", False):
        return False
    if _regulates(session, viewer, exam_session):
        return True
    return _panel_member(session, viewer, exam_session) and candidate.id not in _recused(session, viewer)


def require_view(session: Session, viewer: Any, exam_session: ExamSession, candidate: Candidate) -> None:
    if not may_view(session, viewer, exam_session, candidate):
        raise _refused()


def require_change(actor: Any, exam_session: ExamSession, candidate: Candidate) -> None:
    if not may_change(actor, exam_session, candidate):
        raise _refused()


def closed_reason(session: Session, exam_session: ExamSession, candidate: Candidate) -> Conflict | None:
    """Why the candidate's materials can no longer change (the review has begun), or None."""
    if exam_session.status == SessionStatus.CLOSED.value:
        return Conflict("场次已结束，评审材料不能再更改", "the session is closed: the review materials are final",
                        field="session", code="materials.closed")
    if session.scalar(select(ExaminerScore.id).where(ExaminerScore.candidate_id == candidate.id).limit(1)) is not None:
        return Conflict("考评人员已开始评审该考生，评审材料不能再更改",
                        "the panel has begun scoring this candidate: the review materials are final",
                        field="candidate_id", code="materials.closed")
    if session.scalar(select(ComponentScore.id).where(ComponentScore.candidate_id == candidate.id)) is not None:
        return Conflict("该考生已有评审成绩，评审材料不能再更改",
                        "the candidate already has a review score: the review materials are final",
                        field="candidate_id", code="materials.closed")
    return None


def _actor_name(actor: Any) -> Any:
    """The audit trail's actor: a staff user, or the candidate by ticket (as the exam room records them)."""
    return f"candidate:{actor.ticket_number}" if isinstance(actor, Candidate) else actor


# --- upload, delete, read ----------------------------------------------------------------------

def upload_material(session: Session, exam_session: ExamSession, candidate: Candidate, kind: str, filename: str,
                    data: bytes, actor: Any) -> ReviewMaterial:
    """Store one file of ``candidate`` (a candidate of ``exam_session``) for the review.

    Cheap checks come first and the file's bytes are looked at last: the kind, who acts, the
    session, the deadline, the name, the size, the number of files, then the type.
    """
    if candidate.session_id != exam_session.id:
        raise NotFound("考生不存在", "candidate not found", field="candidate_id")
    if kind not in KINDS:
        raise _bad("kind", "材料类别应为业绩材料、技术总结或论文", "the kind is performance, summary or thesis")
    require_change(actor, exam_session, candidate)
    _require_review(session, exam_session)
    closed = closed_reason(session, exam_session, candidate)
    if closed is not None:
        raise closed
    if not isinstance(filename, str) or not filename.strip():
        raise _bad("file", "请选择要上传的文件", "choose a file to upload")
    _refuse_nul(filename)
    config = current_app.config
    max_bytes, max_files = int(config["REVIEW_MATERIAL_MAX_BYTES"]), int(config["REVIEW_MATERIAL_MAX_FILES"])
    if not data:
        raise _bad("file", "文件为空", "the file is empty", "materials.empty")
    if len(data) > max_bytes:
        raise _bad("file", f"文件不能超过{max_bytes / 1_000_000:g}MB", f"a file may not exceed {max_bytes / 1_000_000:g} MB",
                   "materials.too_large")
    # Uploads of one candidate take turns (PostgreSQL row lock until commit), so two at once cannot
    # both find room for the last file.
    session.execute(select(Candidate.id).where(Candidate.id == candidate.id).with_for_update())
    count = session.scalar(select(func.count()).select_from(ReviewMaterial).where(
        ReviewMaterial.candidate_id == candidate.id)) or 0
    if count >= max_files:
        raise _bad("file", f"每名考生最多提交{max_files}个文件，请先删除不需要的文件",
                   f"a candidate may hand in at most {max_files} files: delete one first", "materials.too_many")
    file_type = sniff_type(data)
    if file_type is None:
        raise _bad("file", "文件须为 PDF、Word（DOCX）、JPEG 或 PNG（按文件内容判断）",
                   "a file must be a PDF, Word (DOCX), JPEG or PNG (judged by its content)", "materials.type")
    material = ReviewMaterial(session_id=exam_session.id, candidate_id=candidate.id, kind=kind,
                              filename=sanitise_filename(filename, file_type), content_type=FILE_TYPES[file_type][0],
                              size=len(data), sha256=hashlib.sha256(data).hexdigest(), data=data,
                              uploaded_by=None if isinstance(actor, Candidate) else getattr(actor, "id", None),
                              uploaded_at=clock.now())
    session.add(material)
    session.flush()
    record(session, _actor_name(actor), "materials.upload", candidate,
           {"session": exam_session.id, "material": material.id, "kind": kind, "filename": material.filename,
            "content_type": material.content_type, "size": material.size, "sha256": material.sha256})
    return material


def get_material(session: Session, exam_session: ExamSession, material_id: int) -> ReviewMaterial:
    """A material of this session; one of another session is not found here (and not named)."""
    material = session.get(ReviewMaterial, material_id)
    if material is None or material.session_id != exam_session.id:
        raise NotFound("评审材料不存在", "review material not found", field="material_id")
    return material


def _candidate_of(session: Session, material: ReviewMaterial) -> Candidate:
    return session.get(Candidate, material.candidate_id)


def delete_material(session: Session, exam_session: ExamSession, material_id: int, actor: Any) -> None:
    """Remove a file, by the people who may upload it and before the review begins."""
    material = get_material(session, exam_session, material_id)
    candidate = _candidate_of(session, material)
    require_change(actor, exam_session, candidate)
    closed = closed_reason(session, exam_session, candidate)
    if closed is not None:
        raise closed
    details = {"session": exam_session.id, "material": material.id, "kind": material.kind,
               "filename": material.filename, "sha256": material.sha256}
    session.delete(material)
    session.flush()
    record(session, _actor_name(actor), "materials.delete", candidate, details)


def fetch_material(session: Session, exam_session: ExamSession, material_id: int, viewer: Any) -> ReviewMaterial:
    """A file with its bytes, for those who may see the candidate's materials."""
    material = get_material(session, exam_session, material_id)
    require_view(session, viewer, exam_session, _candidate_of(session, material))
    return material


def list_materials(session: Session, exam_session: ExamSession, candidate: Candidate, viewer: Any) -> list[ReviewMaterial]:
    """The candidate's files (without their bytes), oldest first."""
    if candidate.session_id != exam_session.id:
        raise NotFound("考生不存在", "candidate not found", field="candidate_id")
    require_view(session, viewer, exam_session, candidate)
    return list(session.scalars(select(ReviewMaterial).where(ReviewMaterial.candidate_id == candidate.id)
                                .order_by(ReviewMaterial.id)))


def materials_by_candidate(session: Session, exam_session: ExamSession, viewer: Any) -> dict[int, list[ReviewMaterial]]:
    """Every candidate's files that ``viewer`` may see, by candidate id (institution admins, regulators:
    all; a panel examiner: all but the candidates they recused from; anyone else: none)."""
    if isinstance(viewer, Candidate) or viewer is None:
        return {}
    if has_permission(viewer, Permission.INSTITUTION_MANAGE, exam_session.institution_id) or \
            _regulates(session, viewer, exam_session):
        hidden: set[int] = set()
    elif _panel_member(session, viewer, exam_session):
        hidden = _recused(session, viewer)
    else:
        return {}
    found: dict[int, list[ReviewMaterial]] = {}
    for material in session.scalars(select(ReviewMaterial).where(ReviewMaterial.session_id == exam_session.id)
                                    .order_by(ReviewMaterial.id)):
        if material.candidate_id not in hidden:
            found.setdefault(material.candidate_id, []).append(material)
    return found


# --- the candidate's own review sessions and the session's readiness ----------------------------

@dataclass(frozen=True)
class OwnReview:
    """One 综合评审 registration of the signed-in person, with its files and whether they may change."""

    candidate: Candidate
    exam_session: ExamSession
    blueprint: ExamBlueprint
    materials: list[ReviewMaterial]
    closed: Conflict | None


def own_reviews(session: Session, me: Candidate) -> list[OwnReview]:
    """Every review session the person (same identity) is registered for, newest first."""
    rows = session.execute(
        select(Candidate, ExamSession, ExamBlueprint)
        .join(ExamSession, ExamSession.id == Candidate.session_id)
        .join(ExamBlueprint, ExamBlueprint.id == ExamSession.blueprint_id)
        .where(Candidate.id_digest == me.id_digest, ExamBlueprint.component == REVIEW_COMPONENT)
        .order_by(ExamSession.exam_date.desc(), ExamSession.id.desc())).all()
    found: dict[int, list[ReviewMaterial]] = {}
    if rows:
        for material in session.scalars(select(ReviewMaterial).where(
                ReviewMaterial.candidate_id.in_([c.id for c, _s, _b in rows])).order_by(ReviewMaterial.id)):
            found.setdefault(material.candidate_id, []).append(material)
    return [OwnReview(candidate, exam_session, blueprint, found.get(candidate.id, []),
                      closed_reason(session, exam_session, candidate))
            for candidate, exam_session, blueprint in rows]


def own_registration(session: Session, me: Candidate, candidate_id: int) -> tuple[ExamSession, Candidate]:
    """One of the person's own registrations; anyone else's is refused (403), a missing one not found."""
    candidate = session.get(Candidate, candidate_id)
    if candidate is None:
        raise NotFound("考生不存在", "candidate not found", field="candidate_id")
    if not same_person(me, candidate):
        raise _refused()
    return session.get(ExamSession, candidate.session_id), candidate


def missing_materials(session: Session, exam_session: ExamSession) -> list[Problem]:
    """Candidates of a review session who have handed in nothing yet: a notice before opening, not a
    bar, since one candidate who drops out must not stop everyone's review (the panel records them
    absent). The institution can upload for a candidate."""
    if not is_review_session(session, exam_session):
        return []
    missing = session.scalar(select(func.count()).select_from(Candidate).where(
        Candidate.session_id == exam_session.id,
        ~exists().where(ReviewMaterial.candidate_id == Candidate.id))) or 0
    if not missing:
        return []
    return [Problem("materials", f"{missing}名考生尚未提交评审材料",
                    f"{missing} candidate(s) have not handed in review materials")]
