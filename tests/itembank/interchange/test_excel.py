"""The Excel item template: blank template, round trip, row-by-row errors, hostile cells."""

from __future__ import annotations

import io
import time
import zipfile

import openpyxl
import pytest

from itembank.interchange import InterchangeError, excel
from itembank.items import ItemType

from ._samples import ELEMENT_CODES, MONGOLIAN, all_items, single_choice

HEADER = list(excel.REQUIRED)


def _sheet(rows, header=HEADER) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _row(type_="单选", stem="电流的单位是（　）", options=("伏特", "安培", "欧姆", "瓦特", None),
         key="B", code="A-01-001", difficulty=0.6, explanation=""):
    return [type_, stem, *options, key, code, difficulty, explanation]


def test_blank_template_has_header_instructions_and_type_dropdown():
    wb = openpyxl.load_workbook(io.BytesIO(excel.blank_template()))
    assert wb.sheetnames == ["试题", "填写说明"]
    ws = wb["试题"]
    header = [c.value for c in ws[1]]
    assert header[: len(HEADER)] == HEADER
    assert header == list(excel.COLUMNS)
    assert ws.max_row == 1
    validations = ws.data_validations.dataValidation
    assert any('"判断,单选,多选,操作技能"' == dv.formula1 and "A2" in str(dv.sqref) for dv in validations)
    notes = " ".join(str(c.value) for row in wb["填写说明"].iter_rows() for c in row)
    assert "鉴定点代码" in notes and "公式" in notes


def test_blank_template_reads_as_empty():
    result = excel.read_items(excel.blank_template())
    assert result.items == [] and result.errors == []


def test_round_trip_is_lossless_with_mongolian_rich_text_and_skill_task():
    items = all_items()
    result = excel.read_items(excel.write_items(items), element_codes=ELEMENT_CODES)
    assert result.errors == []
    assert [i.content for i in result.items] == items
    assert [i.row_or_ref for i in result.items] == [2, 3, 4, 5]
    assert MONGOLIAN in result.items[0].content.mn.stem
    assert "<strong>" in result.items[0].content.zh.stem


def test_text_that_looks_like_a_formula_or_error_round_trips_as_text():
    base = single_choice()
    tricky = base.__class__(**{**base.__dict__, "zh": base.zh.__class__(
        stem=base.zh.stem, options=(("A", "=1+1"), ("B", "#N/A"), ("C", "@x"), ("D", "+1")),
        explanation="")})
    data = excel.write_items([tricky])
    ws = openpyxl.load_workbook(io.BytesIO(data))["试题"]
    assert ws["C2"].data_type == "s" and ws["C2"].value == "=1+1"
    result = excel.read_items(data)
    assert result.errors == [] and result.items[0].content.zh.options == tricky.zh.options


def test_path_input(tmp_path):
    path = tmp_path / "items.xlsx"
    path.write_bytes(excel.write_items([single_choice()]))
    assert len(excel.read_items(path).items) == 1
    assert len(excel.read_items(str(path)).items) == 1


def test_each_bad_row_reports_its_row_number_and_column():
    data = _sheet([
        _row(),                                           # 2 good
        _row(type_="填空"),                                # 3 unknown type
        _row(key="E"),                                    # 4 key not an option
        _row(difficulty="1.5"),                           # 5 difficulty out of range
        _row(code=""),                                    # 6 element code missing
        _row(code="Z-99"),                                # 7 element not in blueprint
        [None] * len(HEADER),                             # 8 empty: skipped
        _row(options=("伏特", "安培", "欧姆", None, None)),   # 9 three options for single choice
        _row(options=("伏特", None, "欧姆", "瓦特", None)),   # 10 gap in options
        _row(type_="判断", options=(None,) * 5, key="也许"),  # 11 unreadable true/false key
        _row(type_="多选", key="A"),                        # 12 multiple choice with one key
        _row(),                                           # 13 good
    ])
    result = excel.read_items(data, element_codes={"A-01-001"})
    assert [i.row_or_ref for i in result.items] == [2, 13]
    located = {(e.row, e.column) for e in result.errors}
    assert located == {(3, "题型"), (4, "答案"), (5, "难度"), (6, "鉴定点代码"), (7, "鉴定点代码"),
                       (9, "选项A"), (10, "选项B"), (11, "答案"), (12, "答案")}
    assert all(e.message and e.message_en for e in result.errors)
    assert 8 not in {e.row for e in result.errors}


def test_aliases_keys_and_true_false_spelled_as_options():
    data = _sheet([
        _row(type_="单项选择题", key="ｂ"),
        _row(type_="多项选择题", options=("1", "2", "3", "4", "5"), key="A,C、D", difficulty="65%"),
        _row(type_="判断题", options=(None,) * 5, key="√"),
        _row(type_="判断", options=(None,) * 5, key="错误"),
        _row(type_="判断", options=("对", "错", None, None, None), key="B"),
    ])
    result = excel.read_items(data)
    assert result.errors == []
    got = [(i.content.type, i.content.key) for i in result.items]
    assert got == [(ItemType.SINGLE_CHOICE, ("B",)), (ItemType.MULTIPLE_CHOICE, ("A", "C", "D")),
                   (ItemType.TRUE_FALSE, ("T",)), (ItemType.TRUE_FALSE, ("F",)),
                   (ItemType.TRUE_FALSE, ("F",))]
    assert result.items[1].content.difficulty_estimate == 0.65


def test_loose_header_spelling_and_a_title_row_above_it():
    header = [f"{h}*" if h == "题型" else h for h in HEADER]
    header[HEADER.index("难度")] = "难度（0-1）"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["某职业理论知识试题"])
    ws.append(header)
    ws.append(_row())
    out = io.BytesIO()
    wb.save(out)
    result = excel.read_items(out.getvalue())
    assert result.errors == [] and [i.row_or_ref for i in result.items] == [3]


def test_formula_cell_is_rejected_and_never_evaluated():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    ws.append(_row(stem='=WEBSERVICE("http://example.invalid/x")'))
    ws.append(_row(key="=CHAR(66)"))
    ws.append(_row())
    out = io.BytesIO()
    wb.save(out)
    result = excel.read_items(out.getvalue())
    assert {(e.row, e.column) for e in result.errors} == {(2, "题干"), (3, "答案")}
    assert all("公式" in e.message and "formula" in e.message_en for e in result.errors)
    assert [i.row_or_ref for i in result.items] == [4]
    assert "WEBSERVICE" not in repr(result.items)


def test_missing_columns_are_named():
    header = [h for h in HEADER if h not in ("答案", "鉴定点代码")] + ["备注"]
    with pytest.raises(InterchangeError) as info:
        excel.read_items(_sheet([], header=header))
    assert info.value.code == "interchange.missing_columns"
    assert "答案" in info.value.message and "鉴定点代码" in info.value.message
    assert "答案" in str(info.value) and "鉴定点代码" in str(info.value)


def test_script_is_stripped_from_rich_text():
    data = _sheet([_row(stem='<p onclick="x()">电流的单位是（　）<script>alert(1)</script></p>',
                        explanation='<a href="javascript:alert(1)">看</a>')])
    content = excel.read_items(data).items[0].content
    assert "script" not in content.zh.stem and "alert" not in content.zh.stem
    assert "onclick" not in content.zh.stem and "javascript" not in content.zh.explanation


@pytest.mark.parametrize("data, code", [
    (b"not a spreadsheet", "interchange.not_zip"),
    (b"", "interchange.not_zip"),
])
def test_not_a_spreadsheet(data, code):
    with pytest.raises(InterchangeError) as info:
        excel.read_items(data)
    assert info.value.code == code


def test_zip_that_is_not_a_workbook():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(InterchangeError) as info:
        excel.read_items(buffer.getvalue())
    assert info.value.code == "interchange.not_xlsx"


def test_size_and_row_limits():
    data = _sheet([_row() for _ in range(5)])
    with pytest.raises(InterchangeError) as info:
        excel.read_items(data, max_bytes=100)
    assert info.value.code == "interchange.too_large"
    with pytest.raises(InterchangeError) as info:
        excel.read_items(data, max_rows=4)
    assert info.value.code == "interchange.too_many_rows"
    assert len(excel.read_items(data, max_rows=5).items) == 5


def test_xlsx_zip_bomb_is_rejected_before_openpyxl_sees_it():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/sharedStrings.xml", b"<sst>" + b" " * 50_000_000 + b"</sst>")
    started = time.perf_counter()
    with pytest.raises(InterchangeError) as info:
        excel.read_items(buffer.getvalue())
    assert info.value.code == "interchange.unsafe_archive"
    assert time.perf_counter() - started < 1.0
