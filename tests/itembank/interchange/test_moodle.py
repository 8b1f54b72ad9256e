"""Moodle XML and GIFT import: fixtures parse to the right types and keys."""

from __future__ import annotations

import pytest

from itembank.interchange import InterchangeError, moodle
from itembank.items import ItemType

MOODLE_XML = """<?xml version="1.0" encoding="UTF-8"?>
<quiz>
  <question type="category"><category><text>$course$/电工/四级</text></category></question>
  <question type="multichoice">
    <name><text>单选 1</text></name>
    <questiontext format="html"><text><![CDATA[<p>电流的单位是（　）<script>alert(1)</script></p>]]></text></questiontext>
    <generalfeedback format="html"><text>电流单位为安培。</text></generalfeedback>
    <single>true</single>
    <answer fraction="0" format="html"><text>伏特</text></answer>
    <answer fraction="100" format="html"><text><![CDATA[<b>安培</b>]]></text></answer>
    <answer fraction="0" format="html"><text>欧姆</text></answer>
    <answer fraction="0" format="html"><text>瓦特</text></answer>
    <tags><tag><text>element:A-01-001</text></tag><tag><text>难度:0.7</text></tag></tags>
  </question>
  <question type="multichoice">
    <name><text>多选 1</text></name>
    <questiontext format="plain_text"><text>安全电压有（　）&amp;</text></questiontext>
    <single>false</single>
    <answer fraction="50"><text>36 V</text></answer>
    <answer fraction="-100"><text>220 V</text></answer>
    <answer fraction="25"><text>24 V</text></answer>
    <answer fraction="25"><text>12 V</text></answer>
    <answer fraction="-100"><text>380 V</text></answer>
    <tags><tag><text>A-02-001</text></tag></tags>
  </question>
  <question type="truefalse">
    <name><text>判断 1</text></name>
    <questiontext format="html"><text>我国交流电频率为 60 Hz。</text></questiontext>
    <answer fraction="0"><text>true</text></answer>
    <answer fraction="100"><text>false</text></answer>
  </question>
  <question type="essay">
    <questiontext format="html"><text>论述题</text></questiontext>
  </question>
</quiz>"""

CODES = {"A-01-001", "A-02-001", "A-03-001"}


def test_moodle_xml_fixture_parses_to_types_and_keys():
    result = moodle.import_moodle_xml(MOODLE_XML.encode(), element_codes=CODES, default_element_code="A-03-001")
    got = [(i.row_or_ref, i.content.type, i.content.key, i.content.element_code) for i in result.items]
    assert got == [
        (1, ItemType.SINGLE_CHOICE, ("B",), "A-01-001"),
        (2, ItemType.MULTIPLE_CHOICE, ("A", "C", "D"), "A-02-001"),
        (3, ItemType.TRUE_FALSE, ("F",), "A-03-001"),
    ]
    first = result.items[0].content
    assert first.zh.options[1] == ("B", "<b>安培</b>") and first.difficulty_estimate == 0.7
    assert "script" not in first.zh.stem and first.zh.explanation == "电流单位为安培。"
    assert result.items[1].content.zh.stem == "安全电压有（　）&amp;"
    assert [(e.row, e.column) for e in result.errors] == [(4, "type")]


def test_moodle_question_without_element_code_is_a_row_error():
    result = moodle.import_moodle_xml(MOODLE_XML.encode(), element_codes=CODES)
    assert (3, "element_code") in {(e.row, e.column) for e in result.errors}
    assert len(result.items) == 2


@pytest.mark.parametrize("text, code", [
    ("<quiz><question>", "interchange.bad_xml"),
    ("<html><body/></html>", "interchange.not_moodle"),
    ('<!DOCTYPE quiz [<!ENTITY e SYSTEM "file:///etc/passwd">]><quiz>&e;</quiz>', "interchange.unsafe_xml"),
])
def test_moodle_whole_file_problems(text, code):
    with pytest.raises(InterchangeError) as info:
        moodle.import_moodle_xml(text.encode())
    assert info.value.code == code


GIFT = """// 电工四级 GIFT 样例
$CATEGORY: $course$/电工

// element: A-01-001
::单选1:: 电流的单位是（　） {
  ~伏特
  =安培#正确
  ~欧姆
  ~瓦特
  ####电流单位为安培。
}

// 鉴定点: A-03-001
::判断1:: 我国交流电频率为 60 Hz。{F}

// [tag:element:A-03-001]
2 + 2 = 4 \\{ 成立 \\}{TRUE}

// element: A-02-001
::多选1:: 安全电压有 {~%50%36 V ~%-100%220 V ~%25%24 V ~%25%12 V ~%-100%380 V} 等。

::论述:: 谈谈安全用电。{}

::填空:: 中国的首都是 {=北京 =北京市}。

::数值:: 1+1 = {#2}
"""


def test_gift_fixture_parses_to_types_and_keys():
    result = moodle.import_gift(GIFT.encode(), element_codes=CODES)
    got = [(i.row_or_ref, i.content.type, i.content.key, i.content.element_code) for i in result.items]
    assert got == [
        (5, ItemType.SINGLE_CHOICE, ("B",), "A-01-001"),
        (14, ItemType.TRUE_FALSE, ("F",), "A-03-001"),
        (17, ItemType.TRUE_FALSE, ("T",), "A-03-001"),
        (20, ItemType.MULTIPLE_CHOICE, ("A", "C", "D"), "A-02-001"),
    ]
    single = result.items[0].content
    assert [t for _, t in single.zh.options] == ["伏特", "安培", "欧姆", "瓦特"]
    assert single.zh.explanation == "电流单位为安培。"
    assert result.items[2].content.zh.stem == "2 + 2 = 4 { 成立 }"
    assert result.items[3].content.zh.stem == "安全电压有（　）等。"
    assert {(e.row, e.column) for e in result.errors} == {(22, "type"), (24, "type"), (26, "type")}


def test_gift_default_element_code_and_missing_code():
    text = "::q:: 对吗？{T}\n"
    assert moodle.import_gift(text, default_element_code="X-1").items[0].content.element_code == "X-1"
    result = moodle.import_gift(text)
    assert result.items == [] and result.errors[0].column == "element_code" and result.errors[0].row == 1


def test_gift_in_gb18030_and_undecodable_bytes():
    result = moodle.import_gift("::q:: 电压单位是伏特。{T}\n".encode("gb18030"), default_element_code="X")
    assert result.items[0].content.zh.stem == "电压单位是伏特。"
    with pytest.raises(InterchangeError) as info:
        moodle.import_gift(b"\x00\xff\xfe\x81")
    assert info.value.code == "interchange.not_text"
