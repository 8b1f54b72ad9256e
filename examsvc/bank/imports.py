"""Import and export of items: an upload is validated first, then imported on confirmation.

Nothing is imported while any row has an error, unless the user chooses to import the valid rows;
either way the import is one transaction, so it never stops half-way.
"""

from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from examsvc import clock
from examsvc.accounts.models import User
from examsvc.audit.service import record
from examsvc.bank.models import ExamBlueprint, ImportJob, Item, ItemVersion, VersionStatus
from examsvc.bank.service import blueprint_of
from examsvc.errors import Conflict, NotFound, ValidationFailed
from itembank.interchange import ImportResult, InterchangeError
from itembank.items import content_from_dict, content_hash, content_to_dict

MAX_UPLOAD_BYTES = 20_000_000


def _reader(fmt: str) -> Callable[..., ImportResult]:
    if fmt == "excel":
        from itembank.interchange.excel import read_items

        return read_items
    if fmt == "qti":
        from itembank.interchange.qti import import_package

        return import_package
    if fmt in {"moodle_xml", "gift"}:
        from itembank.interchange import moodle

        return moodle.import_moodle_xml if fmt == "moodle_xml" else moodle.import_gift
    raise ValidationFailed(f"不支持的格式 {fmt}", f"unknown format {fmt!r}: use excel, qti, moodle_xml or gift",
                           field="format")


def read_upload(blueprint: ExamBlueprint, fmt: str, data: bytes, default_element_code: str = "") -> ImportResult:
    """Parse and spec-check an upload against the latest version of ``blueprint``."""
    reader = _reader(fmt)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationFailed("文件超过20MB", "the file is larger than 20 MB", field="file")
    codes = set(blueprint_of(blueprint.latest).element_codes)
    kwargs: dict[str, Any] = {"element_codes": codes}
    if fmt != "excel":
        kwargs["default_element_code"] = default_element_code
    try:
        return reader(data, **kwargs)
    except InterchangeError as exc:
        raise ValidationFailed(exc.message, exc.message_en, field="file", code=exc.code) from None


def _error_rows(result: ImportResult) -> list[dict[str, Any]]:
    return [{"row": e.row, "column": e.column, "message": e.message, "message_en": e.message_en}
            for e in result.errors]


def validate_import(session: Session, blueprint: ExamBlueprint, fmt: str, filename: str, data: bytes, actor: User,
                    default_element_code: str = "") -> ImportJob:
    """Check an upload row by row and keep it with its report until the user confirms."""
    result = read_upload(blueprint, fmt, data, default_element_code)
    bad_rows = {e.row for e in result.errors}
    job = ImportJob(blueprint_id=blueprint.id, format=fmt, filename=filename[:255] or "upload",
                    status="validated", created_by=actor.id, created_at=clock.now(), rows_valid=len(result.items),
                    rows_invalid=len(bad_rows), imported=0, payload=data,
                    report={"errors": _error_rows(result), "notes": result.notes,
                            "default_element_code": default_element_code,
                            "warnings": sum(len(i.findings) for i in result.items)})
    session.add(job)
    session.flush()
    record(session, actor, "import.validate", job, {"format": fmt, "valid": job.rows_valid, "invalid": job.rows_invalid})
    return job


def get_job(session: Session, job_id: int) -> ImportJob:
    job = session.get(ImportJob, job_id)
    if job is None:
        raise NotFound(f"导入任务 {job_id} 不存在", f"import job {job_id} not found", field="job_id")
    return job


def confirm_import(session: Session, job: ImportJob, actor: User, *, valid_rows_only: bool = False) -> int:
    """Import the validated rows as submitted versions (the importer has seen every warning).

    Refused while rows have errors unless ``valid_rows_only``; a job imports once.
    """
    if job.status != "validated":
        raise Conflict("该导入任务已处理", "this import was already handled", field="job")
    if job.created_by != actor.id:
        raise Conflict("只能确认自己上传的文件", "only the uploader confirms an import", field="job")
    if job.rows_invalid and not valid_rows_only:
        raise ValidationFailed(f"有{job.rows_invalid}行存在错误：请修改后重新上传，或选择只导入正确的行",
                               f"{job.rows_invalid} row(s) have errors: fix them, or choose to import the valid rows",
                               field="valid_rows_only")
    blueprint = session.get(ExamBlueprint, job.blueprint_id)
    result = read_upload(blueprint, job.format, job.payload, job.report.get("default_element_code", ""))
    now = clock.now()
    items: list[Item] = []
    for imported in result.items:
        content = imported.content
        item = Item(blueprint_id=blueprint.id, element_code=content.element_code, type=content.type.value,
                    created_by=actor.id, created_at=now)
        item.versions.append(ItemVersion(
            number=1, parent_number=None, author_id=actor.id, created_at=now, content=content_to_dict(content),
            content_hash=content_hash(content), status=VersionStatus.SUBMITTED.value, submitted_at=now,
            acknowledged_warnings=sorted({f.rule for f in imported.findings})))
        items.append(item)
    session.add_all(items)
    session.flush()
    job.status = "imported"
    job.imported = len(items)
    job.payload = b""  # the items are in the bank now; the upload need not be kept twice
    record(session, actor, "import.confirm", job, {
        "imported": len(items), "skipped_rows": job.rows_invalid,
        "items": [items[0].id, items[-1].id] if items else []})
    return len(items)


def export_items(session: Session, blueprint: ExamBlueprint, fmt: str, *, approved_only: bool = True) -> bytes:
    """The bank of a blueprint as an Excel file or a QTI 2.1 package (latest or approved versions)."""
    rows = session.scalars(select(Item).where(Item.blueprint_id == blueprint.id, Item.retired_at.is_(None))
                           .order_by(Item.id)).all()
    chosen = []
    for item in rows:
        version = item.approved_version if approved_only else item.latest
        if version is not None:
            chosen.append((str(item.id), content_from_dict(version.content)))
    if fmt == "excel":
        from itembank.interchange.excel import write_items

        return write_items(content for _, content in chosen)
    if fmt == "qti":
        from itembank.interchange.qti import export_package

        return export_package(chosen)
    raise ValidationFailed(f"不支持导出为 {fmt}", f"export formats are excel and qti, not {fmt!r}", field="format")
