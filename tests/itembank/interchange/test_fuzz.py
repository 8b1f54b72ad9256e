"""Readers never raise anything but InterchangeError, whatever bytes they are given."""

from __future__ import annotations

import io
import zipfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itembank.interchange import ImportResult, InterchangeError, excel, moodle, qti

from ._samples import all_items

FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
READERS = [excel.read_items, qti.import_package, moodle.import_moodle_xml, moodle.import_gift]
VALID_XLSX = excel.write_items(all_items())
VALID_QTI = qti.export_package([(str(i), c) for i, c in enumerate(all_items())])


def _only_interchange_errors(reader, data) -> None:
    try:
        result = reader(data)
    except InterchangeError:
        return
    assert isinstance(result, ImportResult)


@FUZZ
@given(st.binary(max_size=4096), st.sampled_from(READERS))
def test_random_bytes(data, reader):
    _only_interchange_errors(reader, data)


def _mutate(data: bytes, edits) -> bytes:
    out = bytearray(data)
    for position, value in edits:
        out[position % len(out)] = value
    return bytes(out)


_EDITS = st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1, max_size=8)


@FUZZ
@given(_EDITS)
def test_corrupted_xlsx(edits):
    _only_interchange_errors(excel.read_items, _mutate(VALID_XLSX, edits))


@FUZZ
@given(_EDITS)
def test_corrupted_qti_package(edits):
    _only_interchange_errors(qti.import_package, _mutate(VALID_QTI, edits))


def _rezip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


with zipfile.ZipFile(io.BytesIO(VALID_QTI)) as _zf:
    QTI_MEMBERS = {n: _zf.read(n) for n in _zf.namelist()}


@FUZZ
@given(st.sampled_from(sorted(QTI_MEMBERS)), _EDITS)
def test_corrupted_xml_inside_a_sound_qti_zip(name, edits):
    members = dict(QTI_MEMBERS)
    members[name] = _mutate(members[name], edits)
    _only_interchange_errors(qti.import_package, _rezip(members))


@FUZZ
@given(st.text(max_size=600))
def test_random_gift_text(text):
    _only_interchange_errors(moodle.import_gift, text)


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("{}=~#%:\\T F-1\n ab")), max_size=200))
def test_gift_syntax_soup(text):
    _only_interchange_errors(lambda t: moodle.import_gift(t, default_element_code="X"), text)


with zipfile.ZipFile(io.BytesIO(VALID_XLSX)) as _zf:
    XLSX_MEMBERS = {n: _zf.read(n) for n in _zf.namelist()}


@FUZZ
@given(st.sampled_from(sorted(XLSX_MEMBERS)), _EDITS)
def test_corrupted_xml_inside_a_sound_xlsx_zip(name, edits):
    members = dict(XLSX_MEMBERS)
    members[name] = _mutate(members[name], edits)
    _only_interchange_errors(excel.read_items, _rezip(members))
