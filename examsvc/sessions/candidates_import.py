"""Registering a session's candidates from an Excel sheet (考生信息导入模板), with a row-by-row report.

One candidate per row under a header row::

    姓名 | 证件类型 | 证件号码 | 性别 | 工作单位 | 联系电话 | 考试语言 [| 考试密码]

Every row is checked with the same rules as registering one candidate (:func:`check_candidate`),
plus duplicates within the file and against the session. Nothing is stored while any row has an
error, unless the caller asks for the valid rows only; either way it is one transaction. Cells are
read, never evaluated: a formula is an error for its row.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

import openpyxl
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select
from sqlalchemy.orm import Session

from examsvc.audit.service import record
from examsvc.errors import ValidationFailed
from examsvc.protect import id_digest
from examsvc.sessions.models import Candidate, ExamSession
from examsvc.sessions.service import (
    CandidateValues, _require_not_closed, add_candidate, check_candidate, free_seats, lock_for_registration,
    next_serial,
)
from itembank.interchange import InterchangeError, RowError
from itembank.interchange._safety import SafeZip, ZipLimits, load_input

MAX_BYTES = 5_000_000
MAX_ROWS = 2_000
REQUIRED = ("姓名", "证件类型", "证件号码", "性别", "工作单位", "联系电话", "考试语言")
OPTIONAL = ("考试密码",)
COLUMNS = REQUIRED + OPTIONAL
SHEET_TITLE = "考生"
ID_TYPE_WORDS = {"居民身份证": "resident_id", "身份证": "resident_id", "护照": "passport", "其他": "other",
                 "其他证件": "other"}
GENDER_WORDS = {"男": "M", "女": "F", "M": "M", "F": "F"}
LANGUAGE_WORDS = {"中文": "zh", "汉语": "zh", "蒙古文": "mn", "蒙古语": "mn"}
FIELD_COLUMNS = {"name": "姓名", "id_type": "证件类型", "id_number": "证件号码", "gender": "性别",
                 "employer": "工作单位", "phone": "联系电话", "exam_language": "考试语言", "password": "考试密码"}
_XLSX_LIMITS = ZipLimits(max_members=500, max_member_bytes=50_000_000, max_total_bytes=100_000_000, max_ratio=100.0)
_HEADER_SCAN_ROWS = 10
INSTRUCTIONS = (
    ("列", "说明"),
    ("姓名", "必填，不超过100字"),
    ("证件类型", "居民身份证 / 护照 / 其他"),
    ("证件号码", "必填；居民身份证为18位并校验末位。请保持本列为文本格式，以免 Excel 把号码改成科学计数"),
    ("性别", "男 / 女，可留空"),
    ("工作单位", "可留空，不超过200字"),
    ("联系电话", "可留空，数字和“-”"),
    ("考试语言", "中文 / 蒙古文（本场次提供蒙古文时），留空为中文"),
    ("考试密码", "可选列：考生可用准考证号和此密码登录，至少6位"),
    ("注意", "一行一名考生；不要使用公式，含公式的行会被拒绝；同一证件号码在本场次只能登记一次。"),
)


@dataclass
class ImportReport:
    """What an import found and did: data rows read, one error per problem, candidates stored."""

    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    imported: list[Candidate] = field(default_factory=list)
    valid_rows: int = 0

    @property
    def error_rows(self) -> int:
        return len({e.row for e in self.errors})

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "valid_rows": self.valid_rows, "error_rows": self.error_rows,
                "imported": len(self.imported),
                "tickets": [c.ticket_number for c in self.imported],
                "errors": [{"row": e.row, "column": e.column, "message": e.message, "message_en": e.message_en}
                           for e in self.errors]}


def blank_template() -> bytes:
    """The empty template: header, dropdowns for the word columns, text format for numbers, and
    the 填写说明 sheet."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SHEET_TITLE
    ws.freeze_panes = "A2"
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    for idx, name in enumerate(COLUMNS, start=1):
        letter = get_column_letter(idx)
        ws.column_dimensions[letter].width = 24 if name in ("证件号码", "工作单位") else 14
        cell = ws.cell(row=1, column=idx, value=name)
        cell.font, cell.fill = bold, fill
        if name in ("证件号码", "联系电话", "考试密码"):
            for row in range(2, MAX_ROWS + 2):  # text, so that an 18-digit number keeps every digit
                ws.cell(row=row, column=idx).number_format = "@"
    for name, words in (("证件类型", "居民身份证,护照,其他"), ("性别", "男,女"), ("考试语言", "中文,蒙古文")):
        letter = get_column_letter(COLUMNS.index(name) + 1)
        validation = DataValidation(type="list", formula1=f'"{words}"', allow_blank=True, showErrorMessage=True,
                                    errorTitle=name, error="请从下拉列表选择")
        validation.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
        ws.add_data_validation(validation)
    info = wb.create_sheet("填写说明")
    info.column_dimensions["A"].width, info.column_dimensions["B"].width = 14, 90
    for row in INSTRUCTIONS:
        info.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _file_error(exc: InterchangeError) -> ValidationFailed:
    return ValidationFailed(exc.message, exc.message_en, field="file", code=exc.code)


def _open(data: bytes) -> Any:
    try:
        raw = load_input(data, MAX_BYTES)
        archive = SafeZip(raw, _XLSX_LIMITS, "Excel (xlsx)")
        try:
            archive.verify_all()
        finally:
            archive.close()
    except InterchangeError as exc:
        raise _file_error(exc) from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=False)
    except Exception:
        raise ValidationFailed("无法读取 Excel 文件（应为 .xlsx）", "cannot read the Excel file (an .xlsx is expected)",
                               field="file", code="import.not_xlsx") from None


def _header(ws: Any) -> tuple[int, dict[str, int]]:
    best: tuple[int, dict[str, int]] = (0, {})
    for number, row in enumerate(ws.iter_rows(max_row=_HEADER_SCAN_ROWS, values_only=True), start=1):
        found = {}
        for idx, value in enumerate(row):
            name = "".join(str(value).split()).strip("*＊") if value is not None else ""
            if name in COLUMNS and name not in found:
                found[name] = idx
        if all(c in found for c in REQUIRED):
            return number, found
        if len(found) > len(best[1]):
            best = (number, found)
    missing = [c for c in REQUIRED if c not in best[1]]
    raise ValidationFailed("表头缺少列：" + "、".join(missing) + "。请使用考生导入模板",
                           "the header row is missing columns: " + ", ".join(missing) + ". Use the candidate template",
                           field="file", code="import.missing_columns")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return str(value).strip()


def _row_values(exam_session: ExamSession, number: int, cells: dict[str, Any]
                ) -> tuple[CandidateValues | None, list[RowError]]:
    errors: list[RowError] = []

    def word(column: str, words: dict[str, str], shown: str, default: str | None) -> str | None:
        text = "".join(_text(cells.get(column)).split())
        if not text:
            return default
        found = words.get(text.upper()) or words.get(text)
        if found is None:
            errors.append(RowError(number, column, f"“{text}”不是可选值（{shown}）",
                                   f"{text!r} is not one of the choices ({shown})"))
            return "?"
        return found

    id_type = word("证件类型", ID_TYPE_WORDS, "居民身份证、护照、其他", None)
    if id_type is None:
        errors.append(RowError(number, "证件类型", "证件类型不能为空", "the ID type is required"))
    gender = word("性别", GENDER_WORDS, "男、女", None)
    language = word("考试语言", LANGUAGE_WORDS, "中文、蒙古文", "zh")
    id_value = cells.get("证件号码")
    if isinstance(id_value, (int, float)) and not isinstance(id_value, bool) and abs(id_value) >= 10**15:
        errors.append(RowError(number, "证件号码", "证件号码被 Excel 存成了数字，末几位已丢失；请把该列设为文本格式后重新填写",
                               "Excel stored the ID number as a number and lost its last digits; format the column "
                               "as text and type it again"))
    reported = {e.column for e in errors}
    if "证件类型" in reported:
        reported.add("证件号码")  # the number cannot be checked without its type
    # Check the other columns too (with harmless stand-ins for the ones already reported), so that a
    # row's every problem is listed at once.
    values, problems = check_candidate(
        exam_session, name=_text(cells.get("姓名")), id_type=id_type if id_type in ID_TYPE_WORDS.values() else "other",
        id_number=_text(id_value) if "证件号码" not in reported else "X0000000",
        employer=_text(cells.get("工作单位")), phone=_text(cells.get("联系电话")),
        exam_language=language if language in exam_session.languages or "考试语言" not in reported else "zh",
        gender=gender if gender != "?" else None, password=_text(cells.get("考试密码")) or None)
    for problem in problems:
        column = FIELD_COLUMNS.get(problem.field or "", "姓名")
        if column not in reported:
            errors.append(RowError(number, column, problem.message, problem.message_en))
    return (None if errors else values), errors


def read_candidates(session: Session, exam_session: ExamSession, xlsx_bytes: bytes
                    ) -> tuple[ImportReport, list[tuple[int, CandidateValues]]]:
    """Check every row: the report, and the valid rows with their Excel row numbers."""
    wb = _open(xlsx_bytes)
    report, valid = ImportReport(), []
    registered = set(session.scalars(select(Candidate.id_digest).where(Candidate.session_id == exam_session.id)))
    first_row: dict[str, int] = {}
    try:
        ws = wb.worksheets[0] if wb.worksheets else None
        if ws is None:
            raise ValidationFailed("工作簿中没有工作表", "the workbook has no sheet", field="file", code="import.no_sheet")
        if getattr(ws, "reset_dimensions", None):
            ws.reset_dimensions()  # a stale <dimension> would otherwise cut rows off
        header_row, columns = _header(ws)
        width = max(columns.values()) + 1
        for number, row in enumerate(ws.iter_rows(min_row=header_row + 1, max_col=width), start=header_row + 1):
            cells, refused = {}, []
            for name, idx in columns.items():
                cell = row[idx] if idx < len(row) else None
                value, kind = getattr(cell, "value", None), getattr(cell, "data_type", None)
                if kind == "f" or (value is not None and not isinstance(value, (str, int, float, bool, datetime,
                                                                               date, time))):
                    refused.append(RowError(number, name, "单元格含公式，已拒绝（公式不会被计算）",
                                            "the cell holds a formula; it is refused, not evaluated"))
                elif kind == "e":
                    refused.append(RowError(number, name, f"单元格含错误值 {value}", f"the cell holds an error {value}"))
                cells[name] = value
            if not refused and not any(_text(v) for v in cells.values()):
                continue
            report.rows += 1
            if report.rows > MAX_ROWS:
                raise ValidationFailed(f"数据行超过{MAX_ROWS}行的上限", f"more than {MAX_ROWS} data rows",
                                       field="file", code="import.too_many_rows")
            if refused:
                report.errors.extend(refused)
                continue
            values, errors = _row_values(exam_session, number, cells)
            if values is not None:
                digest = id_digest(values.id_number)
                if digest in registered:
                    errors.append(RowError(number, "证件号码", "该证件号码已在本场次登记",
                                           "this ID number is already registered in the session"))
                elif digest in first_row:
                    errors.append(RowError(number, "证件号码", f"与第{first_row[digest]}行的证件号码重复",
                                           f"the same ID number as row {first_row[digest]}"))
                else:
                    first_row[digest] = number
            report.errors.extend(errors)
            if values is not None and not errors:
                valid.append((number, values))
    except ValidationFailed:
        raise
    except Exception:
        raise ValidationFailed("Excel 文件已损坏，无法读取", "the Excel file is corrupt", field="file",
                               code="import.not_xlsx") from None
    finally:
        wb.close()
    report.valid_rows = len(valid)
    return report, valid


def import_candidates(session: Session, exam_session: ExamSession, xlsx_bytes: bytes, actor: Any,
                      valid_rows_only: bool = False) -> ImportReport:
    """Register the candidates of an Excel sheet, all or nothing unless ``valid_rows_only``.

    Returns the report: with errors and without ``valid_rows_only``, nothing was stored. A problem
    with the file as a whole (not an xlsx, too large, too many rows, header columns missing)
    raises :class:`ValidationFailed` naming ``file``.
    """
    _require_not_closed(exam_session)
    lock_for_registration(session, exam_session)  # before the duplicate checks read the session's candidates
    report, valid = read_candidates(session, exam_session, xlsx_bytes)
    if report.errors and not valid_rows_only:
        return report
    if not valid:
        if not report.rows:
            raise ValidationFailed("文件中没有考生数据行", "the file has no candidate rows", field="file",
                                   code="import.empty")
        return report
    serial = next_serial(session, exam_session)
    seats = free_seats(session, exam_session)
    for offset, (_row, values) in enumerate(valid):
        report.imported.append(add_candidate(session, exam_session, values, serial + offset, next(seats, None)))
    record(session, actor, "candidate.import", exam_session, {
        "rows": report.rows, "imported": len(report.imported), "skipped_rows": report.error_rows,
        "tickets": [c.ticket_number for c in report.imported]})
    return report
