"""Occupation codes and the occupations reference file (seed Art. 6, 第六条)."""

import io
import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from itembank.errors import InvalidValue, ItemBankError
from itembank.levels import FIVE_LEVELS, Level
from itembank.occupations import (
    OCCUPATION_CODE_RE,
    Occupation,
    OccupationFileError,
    RowError,
    default_occupations,
    get_occupation,
    load_occupations,
    validate_occupation_code,
)

HEADER = "code,name,major_category,levels,source\n"
two_digits = st.text(alphabet=string.digits, min_size=2, max_size=2)


@st.composite
def occupation_codes(draw, categories="3456"):
    parts = [draw(st.sampled_from(categories))] + [draw(two_digits) for _ in range(3)]
    return "-".join(parts)


def widen(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) for c in text)


@given(occupation_codes(), st.booleans(), st.sampled_from(["-", "－", "—", "–", "‐", "−"]),
       st.sampled_from(["", " ", "\t", "\u3000"]))
def test_certifiable_codes_round_trip(code, wide, dash, pad):
    typed = widen(code) if wide else code
    typed = pad + typed.replace("－" if wide else "-", dash) + pad
    assert validate_occupation_code(typed) == code
    assert re.fullmatch(OCCUPATION_CODE_RE, code)


@given(occupation_codes(categories="1278"))
def test_categories_outside_3_to_6_are_refused_by_article_6(code):
    with pytest.raises(InvalidValue) as info:
        validate_occupation_code(code)
    assert info.value.field == "occupation_code"
    assert info.value.code == "occupation_code.major_category"
    assert "第六条" in info.value.message and "Art. 6" in info.value.message_en


@given(st.text())
def test_random_text_is_refused_unless_shaped_like_a_code(text):
    try:
        code = validate_occupation_code(text)
    except InvalidValue as error:
        assert error.field == "occupation_code"
        assert error.code in {"occupation_code.format", "occupation_code.major_category"}
    else:
        assert re.fullmatch(r"[3-6]-[0-9]{2}-[0-9]{2}-[0-9]{2}", code)


@pytest.mark.parametrize("code", ["", "4-01-02", "4-01-02-011", "40-01-02-01", "4-1-02-01",
                                  "4_01_02_01", "40102 01", "4-01-02-0a", "0-01-02-01",
                                  "9-01-02-01", "4-01-02-01\n4", "4-01-02-٠١", "4-01-02-①",
                                  "4 -01-02-01"])
def test_malformed_codes_are_format_errors(code):
    with pytest.raises(InvalidValue) as info:
        validate_occupation_code(code)
    assert info.value.code == "occupation_code.format"
    assert str(info.value).startswith("occupation_code: ")


def test_non_text_code_is_refused():
    with pytest.raises(InvalidValue) as info:
        validate_occupation_code(40102001)
    assert info.value.field == "occupation_code"


# --- the reference file -----------------------------------------------------------------------

def test_shipped_file_loads_21_occupations():
    occupations = default_occupations()
    assert len(occupations) == 21
    assert len({o.code for o in occupations}) == 21
    assert all(3 <= o.major_category <= 6 and o.code[0] == str(o.major_category)
               for o in occupations)
    welder = get_occupation("6-18-02-04")
    assert welder == Occupation("6-18-02-04", "焊工", 6, FIVE_LEVELS)
    assert get_occupation("4-13-01-05").levels == (Level.L4, Level.L3, Level.L2, Level.L1)
    assert get_occupation("4-10-01-06").levels == (Level.L5, Level.L4, Level.L3, Level.L2)
    assert default_occupations() is occupations  # cached


def test_unknown_occupation_lookup():
    with pytest.raises(InvalidValue) as info:
        get_occupation("4-99-99-99")
    assert info.value.code == "occupation_code.unknown"


def test_loader_reads_paths_streams_and_a_byte_order_mark(tmp_path):
    text = HEADER + "4-03-02-01, 中式烹调师 ,4,1|2|3|4|5,example\n\n"
    path = tmp_path / "occupations.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    from_path = load_occupations(path)
    from_str_path = load_occupations(str(path))
    from_stream = load_occupations(io.StringIO("\ufeff" + text))
    expected = [Occupation("4-03-02-01", "中式烹调师", 4, FIVE_LEVELS)]
    assert from_path == from_str_path == from_stream == expected
    assert from_path[0].source == "example"


BAD_FILE = (
    HEADER                                             # line 1
    + "4-03-02-01,中式烹调师,4,5|4|3|2|1,ok\n"          # line 2: good
    + "4-03-2-01,坏编码,4,5|4,x\n"                      # line 3: code format
    + "2-01-01-01,工程师,2,5,x\n"                       # line 4: category 2 (Art. 6)
    + "4-03-02-02,,4,5,x\n"                             # line 5: empty name
    + "4-03-02-04,西式面点师,5,5|4,x\n"                 # line 6: category mismatch
    + "4-03-02-07,茶艺师,4,5|6,x\n"                     # line 7: unknown level
    + "4-03-02-01,重复,4,5,x\n"                         # line 8: duplicate of line 2
    + "6-18-02-04,焊工,6,apprentice|5,x\n"             # line 9: employer-only level
    + "6-31-01-03,\"电工\n(多行)\",6,5|5,x\n"           # lines 10-11: repeated level
    + "6-18-01-01,车工,6\n"                             # line 12: column count
)


def test_bad_file_reports_every_bad_row_with_line_and_column():
    with pytest.raises(OccupationFileError) as info:
        load_occupations(io.StringIO(BAD_FILE))
    found = [(e.row, e.column, e.code) for e in info.value.errors]
    assert found == [
        (3, "code", "occupation_code.format"),
        (4, "code", "occupation_code.major_category"),
        (5, "name", "name.required"),
        (6, "major_category", "major_category.mismatch"),
        (7, "levels", "levels.unknown"),
        (8, "code", "code.duplicate"),
        (9, "levels", "levels.unknown"),
        (10, "levels", "levels.duplicate"),
        (12, "row", "row.column_count"),
    ]
    assert all(isinstance(e, RowError) and e.message and e.message_en for e in info.value.errors)
    assert "第 2 行" in info.value.errors[5].message
    assert isinstance(info.value, ItemBankError)
    assert "line 3, code" in str(info.value)


def test_one_bad_row_means_nothing_is_returned(tmp_path):
    path = tmp_path / "occupations.csv"
    path.write_text(HEADER + "4-03-02-01,中式烹调师,4,5,x\n4-03-02-02,中式面点师,x,5,x\n",
                    encoding="utf-8")
    with pytest.raises(OccupationFileError) as info:
        load_occupations(path)
    assert [(e.row, e.column) for e in info.value.errors] == [(3, "major_category")]


@pytest.mark.parametrize("text", ["", "code,name,levels\n4-03-02-01,x,5\n",
                                  "name,code,major_category,levels,source\n"])
def test_wrong_header_is_refused(text):
    with pytest.raises(OccupationFileError) as info:
        load_occupations(io.StringIO(text))
    assert [(e.row, e.column) for e in info.value.errors] == [(1, "header")]


@given(st.lists(st.tuples(occupation_codes(), st.sets(st.sampled_from(FIVE_LEVELS), min_size=1)),
                max_size=8, unique_by=lambda row: row[0]))
def test_written_files_load_back(rows):
    lines = [f"{code},职业{i},{code[0]},{'|'.join(l.value for l in levels)},src"
             for i, (code, levels) in enumerate(rows)]
    loaded = load_occupations(io.StringIO(HEADER + "\n".join(lines)))
    assert [(o.code, set(o.levels)) for o in loaded] == [(c, set(l)) for c, l in rows]
    assert all(list(o.levels) == sorted(o.levels, key=lambda l: l.rank) for o in loaded)
