"""The common Chinese Excel item template (试题导入模板), read and written with openpyxl.

One item per row under a header row::

    题型 | 题干 | 选项A … 选项E | 答案 | 鉴定点代码 | 难度 | 解析
    [+ 来源 | 蒙古文题干 | 蒙古文选项A … E | 蒙古文解析 | 操作材料 | 考核时间（分钟） | 评分标准]

The optional columns may be absent; :func:`write_items` always writes them all so that a file
written here reads back to equal content. ``评分标准`` (the skill-task rubric) holds one criterion per
line as ``代码|描述|分值|扣分说明``, or a JSON list of objects when a text itself needs ``|`` or a
line break.

Cells are read, never evaluated: a formula cell is an error for its row.
"""

from __future__ import annotations

import io
import json
import re
import warnings
from datetime import date, datetime, time
from typing import Iterable

import openpyxl
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from itembank.errors import InvalidValue
from itembank.interchange import ImportResult, InterchangeError, RowError
from itembank.interchange._common import (
    TYPE_LABELS, build_and_check, format_key, normalise_text, parse_key, parse_true_false, parse_type,
)
from itembank.interchange._safety import SafeZip, ZipLimits, load_input
from itembank.items import ItemType

LETTERS = "ABCDE"
REQUIRED = ("题型", "题干", *(f"选项{c}" for c in LETTERS), "答案", "鉴定点代码", "难度", "解析")
TIME_COLUMN = "考核时间（分钟）"
OPTIONAL = ("来源", "蒙古文题干", *(f"蒙古文选项{c}" for c in LETTERS), "蒙古文解析",
            "操作材料", TIME_COLUMN, "评分标准")
COLUMNS = REQUIRED + OPTIONAL
SHEET_TITLE = "试题"
INSTRUCTION_TITLE = "填写说明"
#: An xlsx is a zip of XML; real files compress 5-20x, so 100x means a crafted archive.
XLSX_LIMITS = ZipLimits(max_members=2_000, max_member_bytes=150_000_000,
                        max_total_bytes=300_000_000, max_ratio=100.0)
_HEADER_SCAN_ROWS = 10
_ROWS_WITH_DROPDOWN = 20_001
_TEXT_FORMAT_COLUMNS = {"答案", "鉴定点代码"}
_ILLEGAL_XML_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

INSTRUCTIONS = (
    ("列", "说明"),
    ("题型", "判断 / 单选 / 多选 / 操作技能（也可写 判断题、单选题、单项选择题、多选题、多项选择题）"),
    ("题干", "题目正文；可用安全的 HTML 标记（p、br、strong、em、u、sub、sup、表格、列表），脚本会被删除"),
    ("选项A–E", "单选题填 A–D；多选题填 A–E（4 或 5 个）；判断题与操作技能题留空"),
    ("答案", "单选如 A；多选如 ACD 或 A,C,D；判断填 对/错、√/×、正确/错误 或 T/F"),
    ("鉴定点代码", "细目表中鉴定点的代码，必须存在于所选细目表"),
    ("难度", "命题人估计的通过率，0 到 1 之间的小数，如 0.65；可留空"),
    ("解析", "答案解析，可留空"),
    ("来源", "可选：题目出处"),
    ("蒙古文题干 / 蒙古文选项A–E / 蒙古文解析", "可选：传统蒙古文文本（Unicode）"),
    ("操作材料 / 考核时间（分钟） / 评分标准", "仅操作技能题：评分标准每行一项，格式 代码|描述|分值|扣分说明"),
    ("注意", "单元格中不要使用公式；含公式的行会被拒绝。空行会被跳过。"),
)

_FIELD_COLUMNS = {
    "type": "题型", "element_code": "鉴定点代码", "key": "答案", "difficulty_estimate": "难度",
    "source": "来源", "zh": "题干", "zh.stem": "题干", "zh.options": "选项A", "zh.explanation": "解析",
    "mn": "蒙古文题干", "mn.stem": "蒙古文题干", "mn.options": "蒙古文选项A", "mn.explanation": "蒙古文解析",
    "skill": "评分标准", "skill.rubric": "评分标准", "skill.materials": "操作材料",
    "skill.time_minutes": TIME_COLUMN,
}


def column_of(field: str) -> str:
    """The template column for a content field name (``"zh.options.B"`` -> ``"选项B"``)."""
    if field in _FIELD_COLUMNS:
        return _FIELD_COLUMNS[field]
    parts = field.split(".")
    if len(parts) >= 3 and parts[0] in ("zh", "mn") and parts[1] == "options" and parts[2] in LETTERS:
        return ("蒙古文选项" if parts[0] == "mn" else "选项") + parts[2]
    if parts[0] == "skill":
        return "评分标准"
    return _FIELD_COLUMNS.get(parts[0], field)


def _header_key(text) -> str:
    """Compare headers loosely: width, spaces, a required-mark ``*`` and a trailing ``(hint)``."""
    if text is None:
        return ""
    key = re.sub(r"[\s*＊]", "", normalise_text(str(text)))
    return re.sub(r"\(.*\)$", "", key)


_KNOWN = {_header_key(c): c for c in COLUMNS}


# ----------------------------------------------------------------------------------------- write


def _workbook(rows: Iterable[list]) -> bytes:
    # A normal (not write-only) workbook: only it records <dimension>, without which openpyxl's
    # read-only mode parses the whole sheet an extra time just to size it.
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SHEET_TITLE
    ws.freeze_panes = "A2"
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    for idx, name in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(idx)].width = 40 if "题干" in name else 14
        cell = ws.cell(row=1, column=idx, value=name)
        cell.font, cell.fill = bold, fill
    dv = DataValidation(type="list", formula1='"判断,单选,多选,操作技能"', allow_blank=True,
                        showErrorMessage=True, errorTitle="题型", error="请从下拉列表选择题型")
    dv.add(f"A2:A{_ROWS_WITH_DROPDOWN}")
    ws.add_data_validation(dv)
    text_cols = {i for i, n in enumerate(COLUMNS, start=1) if n in _TEXT_FORMAT_COLUMNS}
    wrap = Alignment(wrap_text=True)
    for number, values in enumerate(rows, start=2):
        for idx, value in enumerate(values, start=1):
            if value is None or value == "":
                continue
            if not isinstance(value, str):
                ws.cell(row=number, column=idx, value=value)
                continue
            cell = ws.cell(row=number, column=idx, value=_ILLEGAL_XML_CHARS.sub("", value))
            cell.data_type = "s"  # stays text: "=..." is no formula, "#N/A" no error value
            if idx in text_cols:
                cell.number_format = "@"
            if "\n" in value:
                cell.alignment = wrap
    info = wb.create_sheet(INSTRUCTION_TITLE)
    info.column_dimensions["A"].width, info.column_dimensions["B"].width = 36, 90
    for left, right in INSTRUCTIONS:
        info.append([left, right])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def blank_template() -> bytes:
    """An empty template: header row, a 题型 dropdown, and the 填写说明 instruction sheet.

    Returns
    -------
    bytes
        The xlsx file.
    """
    return _workbook([])


def _rubric_text(skill) -> str:
    rubric = list(skill.rubric) if skill else []
    texts = [str(t) for c in rubric for t in (c.code, c.description, c.deduction)]
    if any("|" in t or "\n" in t for t in texts):
        return json.dumps([{"code": c.code, "description": c.description, "points": c.points,
                            "deduction": c.deduction} for c in rubric], ensure_ascii=False)
    return "\n".join(f"{c.code}|{c.description}|{_number_text(c.points)}|{c.deduction}".rstrip("|")
                     for c in rubric)


def _number_text(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _row_of(content) -> list:
    zh, mn = content.zh, content.mn
    zh_opts, mn_opts = dict(zh.options), dict(mn.options) if mn else {}
    skill = content.skill
    return [
        TYPE_LABELS[content.type], zh.stem, *(zh_opts.get(c, "") for c in LETTERS),
        format_key(tuple(content.key), content.type), content.element_code,
        content.difficulty_estimate, zh.explanation,
        content.source, mn.stem if mn else "", *(mn_opts.get(c, "") for c in LETTERS),
        mn.explanation if mn else "",
        skill.materials if skill else "", (skill.time_minutes or None) if skill else None,
        _rubric_text(skill) if skill else "",
    ]


def write_items(items: Iterable) -> bytes:
    """Write items in the template layout (all columns), readable by :func:`read_items`.

    Parameters
    ----------
    items : iterable of ItemContent

    Returns
    -------
    bytes
        The xlsx file; ``read_items`` on it gives back equal content.
    """
    return _workbook(_row_of(c) for c in items)


# ------------------------------------------------------------------------------------------ read


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return str(value).strip()


def _find_header(ws) -> tuple[int, dict[str, int]]:
    first: dict[str, int] | None = None
    for number, row in enumerate(ws.iter_rows(max_row=_HEADER_SCAN_ROWS, values_only=True), start=1):
        found = {}
        for idx, value in enumerate(row):
            name = _KNOWN.get(_header_key(value))
            if name and name not in found:
                found[name] = idx
        if first is None and any(v is not None for v in row):
            first = found
        if "题型" in found and "题干" in found:
            return number, found
    return 0, first or {}


def _open_sheet(wb):
    best = None
    for ws in wb.worksheets:
        if getattr(ws, "reset_dimensions", None):
            ws.reset_dimensions()  # a stale <dimension> would otherwise cut rows off
        number, found = _find_header(ws)
        if number and all(c in found for c in REQUIRED):
            return ws, number, found
        if best is None or len(found) > len(best[2]):
            best = (ws, number, found)
    if best is None:
        raise InterchangeError("interchange.no_sheet", "工作簿中没有工作表。", "The workbook has no sheet.")
    missing = [c for c in REQUIRED if c not in best[2]]
    raise InterchangeError(
        "interchange.missing_columns",
        "表头缺少列：" + "、".join(missing) + "。请使用试题导入模板。",
        "Header row is missing columns: " + ", ".join(missing) + ". Use the item import template.",
    )


def _rubric(text: str) -> list[dict]:
    if text.startswith("["):
        data = json.loads(text)
        if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
            raise ValueError("rubric JSON must be a list of objects")
        return [{"code": str(d.get("code", "")), "description": str(d.get("description", "")),
                 "points": float(d.get("points", 0)), "deduction": str(d.get("deduction", ""))}
                for d in data]
    out = []
    for line in filter(None, (ln.strip() for ln in text.splitlines())):
        parts = [p.strip() for p in line.split("|")]
        if len(parts) < 3:
            raise ValueError(f"rubric line {line!r} needs code|description|points")
        out.append({"code": parts[0], "description": parts[1], "points": float(parts[2]),
                    "deduction": "|".join(parts[3:])})
    return out


def _variant(cells: dict[str, str], prefix: str) -> tuple[dict, list[str]]:
    """One language's stem, options and explanation; plus empty option columns before a filled one."""
    options, empty, gaps = [], [], []
    for c in LETTERS:
        col = f"{prefix}选项{c}"
        if cells.get(col, ""):
            options.append((c, cells[col]))
            gaps.extend(empty)
            empty = []
        else:
            empty.append(col)
    return {"stem": cells.get(f"{prefix}题干", ""), "options": tuple(options),
            "explanation": cells.get(f"{prefix}解析", "")}, gaps


def _row_fields(row: int, cells: dict[str, str], raw: dict) -> tuple[dict | None, list[RowError]]:
    """Turn one row's cell texts into ``build_content`` keyword arguments, or row errors."""
    errors: list[RowError] = []
    try:
        item_type = parse_type(cells.get("题型", ""))
    except InvalidValue as exc:
        return None, [RowError(row, "题型", exc.message, exc.message_en)]
    variants = {}
    for prefix, lang in (("", "zh"), ("蒙古文", "mn")):
        variant, gaps = _variant(cells, prefix)
        for col in gaps:
            errors.append(RowError(row, col, f"{col} 为空，但其后还有选项；选项须按字母连续填写。",
                                   f"{col} is empty but later options are filled; fill options in order."))
        variants[lang] = variant
    zh, mn = variants["zh"], variants["mn"]
    key_text = cells.get("答案", "")
    if item_type is ItemType.TRUE_FALSE and zh["options"]:
        # Some templates spell a true/false item as options A=对, B=错 with key "A".
        words = {c: parse_true_false(t) for c, t in zh["options"]}
        if not all(words.values()):
            errors.append(RowError(row, "选项A", "判断题不应填写选项。", "A true/false item has no options."))
        elif normalise_text(key_text).upper() in words:
            key_text = words[normalise_text(key_text).upper()]
        zh["options"] = ()
    try:
        key = parse_key(key_text, item_type)
    except InvalidValue as exc:
        errors.append(RowError(row, "答案", exc.message, exc.message_en))
        key = ()
    difficulty = None
    d = raw.get("难度")
    if d not in (None, ""):
        try:
            difficulty = float(d) if not isinstance(d, str) else (
                float(d.strip().rstrip("%")) / 100 if d.strip().endswith("%") else float(d))
            if not 0.0 <= difficulty <= 1.0:
                raise ValueError
        except (TypeError, ValueError):
            errors.append(RowError(row, "难度", f"难度“{d}”应为 0 到 1 之间的数。",
                                   f"Difficulty {d!r} must be a number between 0 and 1."))
    if not (mn["stem"] or mn["options"] or mn["explanation"]):
        mn = None
    fields = {"type": item_type, "element_code": normalise_text(cells.get("鉴定点代码", "")),
              "key": key, "zh": zh, "mn": mn, "difficulty_estimate": difficulty,
              "source": cells.get("来源", "")}
    if item_type is ItemType.SKILL_TASK:
        try:
            rubric = _rubric(cells.get("评分标准", ""))
        except (ValueError, TypeError, AttributeError, RecursionError) as exc:
            errors.append(RowError(row, "评分标准", "评分标准格式应为每行 代码|描述|分值|扣分说明。",
                                   f"Rubric must be one 'code|description|points|deduction' per line ({exc})."))
            rubric = []
        minutes = cells.get(TIME_COLUMN, "")
        try:
            minutes = int(float(minutes)) if minutes else 0
        except (ValueError, OverflowError):
            errors.append(RowError(row, TIME_COLUMN, "考核时间应为分钟数。",
                                   "Time must be a number of minutes."))
            minutes = 0
        fields["skill"] = {"materials": cells.get("操作材料", ""), "time_minutes": minutes,
                           "rubric": rubric}
    return (None if errors else fields), errors


def read_items(data, *, element_codes: set[str] | None = None, max_bytes: int = 20_000_000,
               max_rows: int = 20_000, config=None) -> ImportResult:
    """Read a filled-in template, building and spec-checking every row.

    Parameters
    ----------
    data : bytes, path or binary file
        The xlsx file.
    element_codes : set of str, optional
        Element codes of the target blueprint, for the spec's element check.
    max_bytes : int
        Largest file accepted.
    max_rows : int
        Most non-empty data rows accepted.
    config : optional
        Spec configuration, handed to :func:`itembank.spec.check_item`.

    Returns
    -------
    ImportResult
        Items with their row numbers; one :class:`RowError` per problem, with the Excel row number
        and the template column.

    Raises
    ------
    InterchangeError
        Not an xlsx, unsafe archive, too large, too many rows, or header columns missing.
    """
    raw = load_input(data, max_bytes)
    archive = SafeZip(raw, XLSX_LIMITS, "Excel (xlsx)")
    try:
        archive.verify_all()
    finally:
        archive.close()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=False)
    except Exception as exc:
        raise InterchangeError("interchange.not_xlsx", "无法读取 Excel 文件（应为 .xlsx）。",
                               f"Cannot read the Excel file (an .xlsx is expected): {exc}") from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _read_rows(wb, element_codes, max_rows, config)
    except InterchangeError:
        raise
    except Exception as exc:
        raise InterchangeError("interchange.not_xlsx", "Excel 文件已损坏，无法读取。",
                               f"The Excel file is corrupt: {exc}") from exc
    finally:
        wb.close()


def _read_rows(wb, element_codes, max_rows, config) -> ImportResult:
    ws, header_row, columns = _open_sheet(wb)
    result = ImportResult()
    width = max(columns.values()) + 1
    count = 0
    for number, row in enumerate(ws.iter_rows(min_row=header_row + 1, max_col=width),
                                 start=header_row + 1):
        raw, cells, bad = {}, {}, []
        for name, idx in columns.items():
            cell = row[idx] if idx < len(row) else None
            value = getattr(cell, "value", None)
            kind = getattr(cell, "data_type", None)
            if kind == "f" or (value is not None and not isinstance(value, (str, int, float, bool,
                                                                              datetime, date, time))):
                bad.append(RowError(number, name, "单元格含公式，已拒绝（公式不会被计算）。",
                                    "The cell holds a formula; it is refused, not evaluated."))
            elif kind == "e":
                bad.append(RowError(number, name, f"单元格含错误值 {value}。",
                                    f"The cell holds an error value {value}."))
            raw[name], cells[name] = value, _cell_text(value)
        if not bad and not any(cells.values()):
            continue
        count += 1
        if count > max_rows:
            raise InterchangeError("interchange.too_many_rows", f"数据行超过 {max_rows} 行的上限。",
                                   f"More than {max_rows} data rows.")
        if bad:
            result.errors.extend(bad)
            continue
        fields, errors = _row_fields(number, cells, raw)
        if errors:
            result.errors.extend(errors)
            continue
        item, errors = build_and_check(number, fields, column_of=column_of,
                                       element_codes=element_codes, config=config)
        result.errors.extend(errors)
        if item is not None:
            result.items.append(item)
    return result
