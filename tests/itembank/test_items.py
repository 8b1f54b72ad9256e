"""Tests of item content, sanitising, canonical form, hashing, diffs and versions."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import datetime, timezone
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itembank.errors import InvalidValue
from itembank.items import (
    FieldChange, ItemContent, ItemType, LanguageVariant, RubricCriterion, SkillTaskDetail,
    build_content, content_from_dict, content_hash, content_to_dict, diff_contents, next_version,
    plain_text, sanitize_html,
)

ASSET = "asset:" + "ab" * 32
DANGEROUS = [
    "<script>alert(1)</script>", "<SCRIPT SRC=//x.js></SCRIPT>", "<scr<script>ipt>alert(1)</script>",
    "<img src=x onerror=alert(1)>", "<IMG SRC=JaVaScRiPt:alert(1)>", "<img src=\"jav&#x09;ascript:x\">",
    "<a href='javascript:alert(1)'>x</a>", "<svg onload=alert(1)>", "<p onclick=\"x()\">",
    "<span ONMOUSEOVER=x>", "<iframe src=javascript:x>", "<style>p{}</style>", "<body onload=x>",
    "<math><mi xlink:href=javascript:x>", f"<img src=\"{ASSET}\">", "<td colspan=2 onfocus=x>",
    "<span class=\"emphasis\">不</span>", "<strong>", "</b>", "<!--", "-->", "\"", "'", "=", " on", "<",
    ">", "&", "&lt;script&gt;", "javascript:", "<p>", "</p>", "<br>", "<table><tr><td>1</td></tr></table>",
]
html_like = st.lists(st.one_of(st.sampled_from(DANGEROUS), st.text(max_size=8)), max_size=12).map("".join)


class _Audit(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(tag, name, value or "") for name, value in attrs]


def _audit(html: str) -> _Audit:
    audit = _Audit()
    audit.feed(html)
    audit.close()
    return audit


@settings(max_examples=400, deadline=None)
@given(html_like)
def test_sanitize_leaves_no_script_handler_or_javascript_url(dirty):
    clean = sanitize_html(dirty)
    audit = _audit(clean)
    assert "<script" not in clean.lower()
    assert "script" not in audit.tags and "style" not in audit.tags
    for tag, name, value in audit.attrs:
        assert not name.lower().startswith("on")
        assert "javascript:" not in "".join(value.lower().split())
        if tag == "img" and name == "src":
            assert value.startswith("asset:")
    assert sanitize_html(clean) == clean  # a fixed point, so stored text hashes stably


def test_sanitize_keeps_the_safe_subset():
    html = (f'<p><strong>不</strong>正确的是<sub>2</sub><span class="emphasis">不</span>'
            f'<img src="{ASSET}" alt="图"></p><table><tbody><tr><td colspan="2">1</td></tr></tbody></table>')
    assert sanitize_html(html) == html
    assert sanitize_html('<img src="https://evil/x.png"><a href="/x">链接</a>') == "<img>链接"
    assert sanitize_html(None) == ""


def test_plain_text():
    assert plain_text("<p>a&amp;b</p><p>c<b>d</b></p>") == "a&b cd"
    assert plain_text("  安 培 ") == "安 培"
    assert plain_text("") == ""


def _single(**over) -> ItemContent:
    fields = dict(type="single_choice", element_code="E1", key="b",
                  zh={"stem": "<p>电流的国际单位是（　）。</p>", "options": {"A": "伏特", "B": "安培", "C": "欧姆", "D": "瓦特"},
                      "explanation": "电流单位是安培。"},
                  difficulty_estimate=0.6, source="2024 题库")
    fields.update(over)
    return build_content(**fields)


def test_build_content_normalises():
    c = _single(element_code=" E1 ", zh={"stem": "<p onclick=x>题干？<script>x</script></p>",
                                         "options": [("a", "1"), ("b", "<b>2</b>"), ("c", "3"), ("d", "4")]})
    assert c.element_code == "E1" and c.key == ("B",) and c.zh.stem == "<p>题干？</p>"
    assert c.zh.options[1] == ("B", "<b>2</b>")
    multi = build_content(type=ItemType.MULTIPLE_CHOICE, element_code="E1", key="D, A，C",
                          zh={"stem": "s", "options": [{"letter": x, "text": x} for x in "ABCDE"]})
    assert multi.key == ("A", "C", "D")
    assert build_content(type="multiple_choice", key="CA", zh={"stem": "s", "options": {"A": "1", "B": "2", "C": "3"}}).key == ("A", "C")
    for raw, key in [("对", "T"), ("×", "F"), ("true", "T"), (["F"], "F")]:
        assert build_content(type="true_false", key=raw, zh={"stem": "s"}).key == (key,)
    skill = build_content(type="skill_task", zh={"stem": "接线"},
                          skill={"materials": "<p>电能表</p>", "time_minutes": 60,
                                 "rubric": [{"code": "1", "description": "接线正确", "points": 40}]})
    assert skill.skill.rubric[0].points == 40.0 and skill.key == ()


@pytest.mark.parametrize("over, field", [
    ({"type": "essay"}, "type"),
    ({"key": "E"}, "key"),
    ({"key": ""}, "key"),
    ({"key": "AA"}, "key"),
    ({"zh": {"stem": "  ", "options": {"A": "1"}}}, "zh.stem"),
    ({"zh": {"stem": "s", "options": [("A", "1"), ("C", "2")]}}, "zh.options"),
    ({"skill": {"rubric": [{"code": "1", "points": 1}]}}, "skill"),
    ({"difficulty_estimate": "hard"}, "difficulty_estimate"),
    ({"difficulty_estimate": float("nan")}, "difficulty_estimate"),
    ({"type": "true_false", "key": "A"}, "key"),
    ({"type": "true_false", "key": "T"}, "zh.options"),
    ({"type": "skill_task", "key": None, "zh": {"stem": "s"}}, "skill"),
    ({"type": "skill_task", "key": None, "zh": {"stem": "s"}, "skill": {"rubric": []}}, "skill.rubric"),
])
def test_build_content_rejects_structural_errors(over, field):
    with pytest.raises(InvalidValue) as info:
        _single(**over)
    assert info.value.field == field and info.value.code.startswith(field + ".")


def _variant():
    text = st.text(max_size=20)
    return st.builds(lambda stem, opts, expl: {"stem": "s" + stem, "options": [(chr(65 + i), o) for i, o in enumerate(opts)],
                                                "explanation": expl},
                     text, st.lists(text, min_size=4, max_size=5), text)


contents = st.builds(
    lambda zh, mn, d, code, src, key: build_content(
        type="multiple_choice", element_code=code, key=key, zh=zh, mn=mn, difficulty_estimate=d, source=src),
    _variant(), st.none() | _variant(), st.none() | st.floats(0, 1), st.text(max_size=10), st.text(max_size=10),
    st.lists(st.sampled_from("ABCD"), min_size=1, max_size=4, unique=True),
)


@settings(max_examples=150, deadline=None)
@given(contents)
def test_content_dict_round_trip(content):
    as_dict = content_to_dict(content)
    assert content_from_dict(as_dict) == content
    assert content_from_dict(json.loads(json.dumps(as_dict, ensure_ascii=False))) == content
    assert content_hash(content_from_dict(as_dict)) == content_hash(content)


def test_skill_round_trip_and_int_points_hash_like_floats():
    skill = build_content(type="skill_task", zh={"stem": "接线"},
                          skill={"rubric": [{"code": "1", "description": "d", "points": 5}], "time_minutes": 30})
    assert content_from_dict(content_to_dict(skill)) == skill
    direct = replace(skill, skill=SkillTaskDetail(time_minutes=30, rubric=(RubricCriterion("1", "d", 5),)))
    assert content_hash(direct) == content_hash(skill)


def test_content_from_dict_rejects_garbage():
    with pytest.raises(InvalidValue) as info:
        content_from_dict({"type": "single_choice"})
    assert info.value.field == "content"


def test_hash_is_stable_and_canonical():
    c = _single()
    assert content_hash(c) == content_hash(_single())
    assert len(content_hash(c)) == 64
    # Regression guard: the canonical JSON must not drift, stored hashes depend on it.
    expected = json.dumps(content_to_dict(c), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert "电流" in expected
    assert content_hash(c) == hashlib.sha256(expected.encode()).hexdigest()


MUTATIONS = {
    "type": lambda c: replace(c, type=ItemType.MULTIPLE_CHOICE),
    "element_code": lambda c: replace(c, element_code="E2"),
    "key": lambda c: replace(c, key=("C",)),
    "zh.stem": lambda c: replace(c, zh=replace(c.zh, stem=c.zh.stem + "x")),
    "zh.options.C": lambda c: replace(c, zh=replace(c.zh, options=c.zh.options[:2] + (("C", "欧"),) + c.zh.options[3:])),
    "zh.explanation": lambda c: replace(c, zh=replace(c.zh, explanation="")),
    "mn.stem": lambda c: replace(c, mn=LanguageVariant(stem="ᠭᠦᠶᠦᠳᠡᠯ")),
    "difficulty_estimate": lambda c: replace(c, difficulty_estimate=0.61),
    "source": lambda c: replace(c, source="other"),
    "skill.materials": lambda c: replace(c, skill=SkillTaskDetail(materials="m")),
}


@pytest.mark.parametrize("field", sorted(MUTATIONS))
def test_hash_and_diff_change_on_any_field(field):
    old = _single()
    new = MUTATIONS[field](old)
    assert content_hash(new) != content_hash(old)
    changes = diff_contents(old, new)
    assert field in [change.field for change in changes]


def test_diff_contents_reports_fields_in_order():
    old = _single()
    new = _single(key="C", zh={"stem": "<p>电流的国际单位是（　）。</p>", "options": {"A": "伏特", "B": "安", "C": "欧姆", "D": "瓦特"},
                              "explanation": "电流单位是安培。"})
    assert diff_contents(old, new) == [FieldChange("key", ("B",), ("C",)), FieldChange("zh.options.B", "安培", "安")]
    assert diff_contents(old, old) == []
    five = build_content(type="multiple_choice", element_code="E1", key="AB",
                         zh={"stem": "s", "options": {"A": "1", "B": "2", "C": "3", "D": "4", "E": "5"}})
    four = replace(five, zh=replace(five.zh, options=five.zh.options[:4]))
    assert FieldChange("zh.options.E", "5", None) in diff_contents(five, four)
    assert FieldChange("zh.options.E", None, "5") in diff_contents(four, five)


def test_versions_number_and_refuse_empty_versions():
    at = datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)
    v1 = next_version(None, _single(), "writer-1", at)
    assert (v1.number, v1.parent, v1.author, v1.content_hash) == (1, None, "writer-1", content_hash(_single()))
    v2 = next_version(v1, _single(key="C"), "writer-2", at)
    v3 = next_version(v2, _single(), "writer-1", at)  # going back to old content is a real edit
    assert (v2.number, v2.parent, v3.number, v3.parent) == (2, 1, 3, 2)
    with pytest.raises(InvalidValue) as info:
        next_version(v3, _single(), "writer-1", at)
    assert info.value.field == "content" and info.value.code == "content.unchanged"
    with pytest.raises(InvalidValue) as info:
        next_version(v3, _single(key="D"), " ", at)
    assert info.value.field == "author"
    with pytest.raises(Exception):
        v1.number = 5  # frozen
