"""Item content (试题内容) and item versions: the frozen values every other module works on.

The contract is ``docs/item-model.md``. Everything here is pure: no database, no Flask, no clock.
:func:`build_content` is the one door for outside input (forms, imports): it sanitises rich text
and normalises keys, and rejects content that is *structurally* impossible. Judgement rules
(option counts, cues, balance ...) are findings of :mod:`itembank.spec`, not errors here.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from html.parser import HTMLParser
from typing import Any

import nh3

from itembank.errors import InvalidValue

__all__ = [
    "ItemType", "LanguageVariant", "RubricCriterion", "SkillTaskDetail", "ItemContent",
    "FieldChange", "VersionRecord", "sanitize_html", "plain_text", "build_content",
    "content_to_dict", "content_from_dict", "content_hash", "diff_contents", "next_version",
    "is_asset_reference", "CHOICE_TYPES",
]


class ItemType(str, Enum):
    """Item types of a theory bank plus the skill task."""

    TRUE_FALSE = "true_false"            # 判断: key "T" or "F", no options
    SINGLE_CHOICE = "single_choice"      # 单选: options A-D, exactly one key letter
    MULTIPLE_CHOICE = "multiple_choice"  # 多选: options A-E (4 or 5), two or more key letters
    SKILL_TASK = "skill_task"            # 操作技能: task text, materials, time, rubric


CHOICE_TYPES = frozenset({ItemType.SINGLE_CHOICE, ItemType.MULTIPLE_CHOICE})


@dataclass(frozen=True)
class LanguageVariant:
    """One language's text of an item; ``stem``, option texts and ``explanation`` are safe HTML."""

    stem: str
    options: tuple[tuple[str, str], ...] = ()
    explanation: str = ""


@dataclass(frozen=True)
class RubricCriterion:
    """One line of a skill task's scoring rubric (评分记录表); texts are plain, not HTML."""

    code: str
    description: str
    points: float
    deduction: str = ""


@dataclass(frozen=True)
class SkillTaskDetail:
    """What a skill task adds: materials (safe HTML), time allowed and rubric."""

    materials: str = ""
    time_minutes: int = 0
    rubric: tuple[RubricCriterion, ...] = ()


@dataclass(frozen=True)
class ItemContent:
    """Everything an item version freezes. Build it with :func:`build_content` from outside input."""

    type: ItemType
    element_code: str
    key: tuple[str, ...]
    zh: LanguageVariant
    mn: LanguageVariant | None = None
    difficulty_estimate: float | None = None
    source: str = ""
    skill: SkillTaskDetail | None = None


@dataclass(frozen=True)
class FieldChange:
    """One changed field between two contents; ``None`` stands for "absent"."""

    field: str
    old: Any
    new: Any


# --------------------------------------------------------------------------- rich text

_ALLOWED_TAGS = {
    "p", "br", "strong", "b", "em", "i", "u", "sub", "sup", "ul", "ol", "li",
    "table", "thead", "tbody", "tr", "td", "th", "span", "img",
}
_ALLOWED_ATTRIBUTES = {"img": {"src", "alt"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}
# span.emphasis is the 着重号 (dot emphasis) marker the spec's negative-word rule recognises.
_ALLOWED_CLASSES = {"span": {"emphasis"}}
_ASSET_RE = re.compile(r"asset:[0-9a-f]{64}")
_SPAN_RE = re.compile(r"[1-9][0-9]?")


def is_asset_reference(src: str) -> bool:
    """True when ``src`` is ``asset:<sha256 hex>``, the only image source rich text may use."""
    return _ASSET_RE.fullmatch(src.strip().lower()) is not None


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    if tag == "img" and attr == "src":
        return value.strip().lower() if is_asset_reference(value) else None
    if attr in ("colspan", "rowspan"):
        return value if _SPAN_RE.fullmatch(value) else None
    return value


def sanitize_html(text: str | None) -> str:
    """Reduce rich text to the safe HTML subset of the contract.

    Parameters
    ----------
    text : str or None
        Untrusted HTML (or plain text; ``<`` and ``&`` are escaped as needed).

    Returns
    -------
    str
        HTML with only the allowed tags; script and style elements are dropped with their content,
        every event handler and every URL except ``asset:<sha256hex>`` image sources is removed.
        Leading and trailing whitespace is stripped. The result is a fixed point:
        ``sanitize_html(sanitize_html(x)) == sanitize_html(x)``.
    """
    if text is None:
        return ""
    if not isinstance(text, str):
        raise InvalidValue("html", "html.type", "富文本必须是字符串。", "Rich text must be a string.")
    out = text
    for _ in range(4):  # html5ever may restructure once (mis-nested tags); iterate to a fixed point
        cleaned = nh3.clean(
            out, tags=_ALLOWED_TAGS, clean_content_tags={"script", "style"},
            attributes=_ALLOWED_ATTRIBUTES, attribute_filter=_attribute_filter,
            url_schemes={"asset"}, allowed_classes=_ALLOWED_CLASSES, strip_comments=True,
            link_rel=None,
        ).strip()
        if cleaned == out:
            break
        out = cleaned
    return out


class _TextExtractor(HTMLParser):
    _BLOCK = {"p", "br", "li", "tr", "td", "th", "table", "ul", "ol", "thead", "tbody"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self._BLOCK:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._BLOCK:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


_WS_RE = re.compile(r"\s+")


def plain_text(html: str | None) -> str:
    """Text of rich text: tags removed, entities decoded, runs of whitespace collapsed to one space.

    Block boundaries (paragraphs, line breaks, cells) become a space; inline tags join their text.
    """
    html = html or ""
    if "<" not in html and "&" not in html:  # most option texts: skip the parser
        return _WS_RE.sub(" ", html).strip()
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return _WS_RE.sub(" ", "".join(parser.parts)).strip()


# --------------------------------------------------------------------------- building

_TRUE_FALSE_KEYS = {"T": "T", "TRUE": "T", "√": "T", "✓": "T", "对": "T", "正确": "T", "Y": "T",
                    "F": "F", "FALSE": "F", "×": "F", "✗": "F", "错": "F", "错误": "F", "N": "F"}
_LETTER_RE = re.compile(r"[A-Z]")


def _fail(field: str, rule: str, zh: str, en: str) -> InvalidValue:
    return InvalidValue(field, f"{field}.{rule}", zh, en)


def _item_type(value: Any) -> ItemType:
    try:
        return value if isinstance(value, ItemType) else ItemType(str(value).strip().lower())
    except ValueError:
        raise _fail("type", "unknown", f"未知题型：{value!r}。", f"Unknown item type: {value!r}.") from None


def _options(value: Any, field: str) -> tuple[tuple[str, str], ...]:
    pairs = list(value.items()) if isinstance(value, Mapping) else list(value or ())
    out: list[tuple[str, str]] = []
    for i, pair in enumerate(pairs):
        if isinstance(pair, Mapping):
            pair = (pair.get("letter"), pair.get("text"))
        if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
            raise _fail(field, "shape", "选项必须是（字母, 文本）对。", "Options must be (letter, text) pairs.")
        letter = str(pair[0] or "").strip().upper()
        expected = chr(ord("A") + i)
        if letter != expected:
            raise _fail(field, "letters", f"选项字母应依次为 A、B、C……，第 {i + 1} 个是 {letter!r}。",
                        f"Option letters must run A, B, C...; option {i + 1} is {letter!r}.")
        out.append((letter, sanitize_html(pair[1] or "")))
    return tuple(out)


def _variant(value: Any, field: str) -> LanguageVariant:
    if isinstance(value, LanguageVariant):
        value = {"stem": value.stem, "options": value.options, "explanation": value.explanation}
    if not isinstance(value, Mapping):
        raise _fail(field, "shape", "语言版本必须包含题干、选项和解析。",
                    "A language variant must be a mapping of stem, options and explanation.")
    return LanguageVariant(stem=sanitize_html(value.get("stem") or ""),
                           options=_options(value.get("options"), f"{field}.options"),
                           explanation=sanitize_html(value.get("explanation") or ""))


def _key(value: Any, item_type: ItemType) -> tuple[str, ...]:
    if value is None:
        parts: list[str] = []
    elif isinstance(value, str):
        text = value.strip().upper()
        if item_type is ItemType.TRUE_FALSE:
            parts = [text] if text else []
        else:
            parts = [p for p in re.split(r"[\s,，、;；]+", text) if p]
            if len(parts) == 1 and len(parts[0]) > 1 and parts[0].isalpha() and parts[0].isascii():
                parts = list(parts[0])  # "ACD"
    else:
        parts = [str(p).strip().upper() for p in value]
    if item_type is ItemType.TRUE_FALSE:
        mapped = [_TRUE_FALSE_KEYS.get(p) for p in parts]
        if len(mapped) != 1 or mapped[0] is None:
            raise _fail("key", "true_false", "判断题答案必须是 T（对）或 F（错）。",
                        "A true/false key must be T or F.")
        return (mapped[0],)
    if any(not _LETTER_RE.fullmatch(p) for p in parts):
        raise _fail("key", "letters", "答案必须是选项字母。", "The key must consist of option letters.")
    if len(set(parts)) != len(parts):
        raise _fail("key", "repeated", "答案字母重复。", "A key letter is repeated.")
    return tuple(sorted(parts))


def _number(value: Any, field: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _fail(field, "number", "必须是数字。", "Must be a number.") from None
    if not math.isfinite(number) or isinstance(value, bool):
        raise _fail(field, "number", "必须是有限数字。", "Must be a finite number.")
    return number


def _skill(value: Any) -> SkillTaskDetail:
    if isinstance(value, SkillTaskDetail):
        value = _skill_to_dict(value)
    if not isinstance(value, Mapping):
        raise _fail("skill", "required", "操作技能试题必须有评分记录表。", "A skill task needs a rubric.")
    rubric: list[RubricCriterion] = []
    for i, row in enumerate(value.get("rubric") or ()):
        if isinstance(row, RubricCriterion):
            row = {"code": row.code, "description": row.description, "points": row.points,
                   "deduction": row.deduction}
        code = str(row.get("code") or "").strip() or str(i + 1)
        rubric.append(RubricCriterion(code=code, description=str(row.get("description") or "").strip(),
                                      points=_number(row.get("points"), f"skill.rubric.{code}.points"),
                                      deduction=str(row.get("deduction") or "").strip()))
    if not rubric:
        raise _fail("skill.rubric", "required", "操作技能试题必须有评分记录表。", "A skill task needs a rubric.")
    if len({c.code for c in rubric}) != len(rubric):
        raise _fail("skill.rubric", "duplicate_code", "评分项编号重复。", "Rubric criterion codes repeat.")
    minutes = value.get("time_minutes") or 0
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 0:
        raise _fail("skill.time_minutes", "number", "考核时间必须是非负整数（分钟）。",
                    "Time must be a non-negative whole number of minutes.")
    return SkillTaskDetail(materials=sanitize_html(value.get("materials") or ""),
                           time_minutes=minutes, rubric=tuple(rubric))


def build_content(*, type: Any, element_code: str = "", key: Any = None, zh: Any,
                  mn: Any = None, difficulty_estimate: Any = None, source: str = "",
                  skill: Any = None) -> ItemContent:
    """Normalise outside input into an :class:`ItemContent`.

    Parameters
    ----------
    type : ItemType or str
        Item type or its value (``"single_choice"`` ...).
    element_code : str
        鉴定点 code; may be empty in a draft (the spec reports it).
    key : str or sequence of str
        ``"B"``, ``"ACD"``, ``"A,C,D"``, ``["C", "A"]``; true/false also accepts 对/错, √/×,
        TRUE/FALSE. Letters are upper-cased and sorted.
    zh, mn : LanguageVariant or mapping
        ``{"stem", "options", "explanation"}``; options as ``[(letter, html), ...]``, a mapping
        ``{letter: html}`` or ``[{"letter", "text"}, ...]``. ``mn`` is optional.
    difficulty_estimate : float, optional
        Writer's estimate of the proportion correct.
    source : str
        Where the item came from.
    skill : SkillTaskDetail or mapping, optional
        Required for, and only allowed on, skill tasks.

    Returns
    -------
    ItemContent

    Raises
    ------
    itembank.errors.InvalidValue
        For structurally impossible content: unknown type, option letters not A, B, C... in order,
        key letters not among the options, no key on a choice item, a true/false or skill item with
        options, a skill task without rubric, skill detail on a theory item, an empty Chinese stem.
    """
    item_type = _item_type(type)
    zh_variant = _variant(zh, "zh")
    mn_variant = None if mn is None else _variant(mn, "mn")
    if not zh_variant.stem:
        raise _fail("zh.stem", "required", "中文题干不能为空。", "The Chinese stem is required.")
    keys = _key(key, item_type)
    letters = {letter for letter, _ in zh_variant.options}
    if item_type in CHOICE_TYPES:
        if not keys:
            raise _fail("key", "required", "选择题必须有答案。", "A choice item needs a key.")
        if not set(keys) <= letters:
            raise _fail("key", "not_an_option", "答案字母不在选项中。", "A key letter is not among the options.")
    elif zh_variant.options or (mn_variant is not None and mn_variant.options):
        raise _fail("zh.options", "not_allowed", "判断题和操作技能试题没有选项。",
                    "True/false items and skill tasks have no options.")
    if item_type is ItemType.SKILL_TASK:
        if keys:
            raise _fail("key", "not_allowed", "操作技能试题没有标准答案字母。", "A skill task has no key.")
        skill_detail: SkillTaskDetail | None = _skill(skill)
    elif skill is not None:
        raise _fail("skill", "not_allowed", "只有操作技能试题有评分记录表。", "Only skill tasks have a rubric.")
    else:
        skill_detail = None
    difficulty = None if difficulty_estimate in (None, "") else _number(difficulty_estimate, "difficulty_estimate")
    return ItemContent(type=item_type, element_code=str(element_code or "").strip(), key=keys,
                       zh=zh_variant, mn=mn_variant, difficulty_estimate=difficulty,
                       source=str(source or "").strip(), skill=skill_detail)


# --------------------------------------------------------------------------- canonical form

def _variant_to_dict(v: LanguageVariant) -> dict:
    return {"stem": v.stem, "options": [[letter, text] for letter, text in v.options],
            "explanation": v.explanation}


def _skill_to_dict(s: SkillTaskDetail) -> dict:
    return {"materials": s.materials, "time_minutes": int(s.time_minutes),
            "rubric": [{"code": c.code, "description": c.description, "points": float(c.points),
                        "deduction": c.deduction} for c in s.rubric]}


def content_to_dict(content: ItemContent) -> dict:
    """Canonical JSON-able dict; numbers are floats so equal contents serialise identically.

    Shape: ``{"type", "element_code", "key": [..], "zh": {"stem", "options": [[letter, html], ..],
    "explanation"}, "mn": same or None, "difficulty_estimate": float or None, "source",
    "skill": {"materials", "time_minutes", "rubric": [{"code", "description", "points",
    "deduction"}, ..]} or None}``.
    """
    return {
        "type": ItemType(content.type).value,
        "element_code": content.element_code,
        "key": list(content.key),
        "zh": _variant_to_dict(content.zh),
        "mn": None if content.mn is None else _variant_to_dict(content.mn),
        "difficulty_estimate": None if content.difficulty_estimate is None else float(content.difficulty_estimate),
        "source": content.source,
        "skill": None if content.skill is None else _skill_to_dict(content.skill),
    }


def _variant_from_dict(d: Mapping) -> LanguageVariant:
    return LanguageVariant(stem=d["stem"], options=tuple((str(a), str(b)) for a, b in d.get("options", ())),
                           explanation=d.get("explanation", ""))


def content_from_dict(d: Mapping) -> ItemContent:
    """Inverse of :func:`content_to_dict`: ``content_from_dict(content_to_dict(c)) == c``.

    It trusts its input to be canonical (read back from storage) and does not sanitise again;
    anything from outside goes through :func:`build_content`.
    """
    try:
        skill = d.get("skill")
        return ItemContent(
            type=ItemType(d["type"]), element_code=d.get("element_code", ""),
            key=tuple(d.get("key", ())), zh=_variant_from_dict(d["zh"]),
            mn=None if d.get("mn") is None else _variant_from_dict(d["mn"]),
            difficulty_estimate=None if d.get("difficulty_estimate") is None else float(d["difficulty_estimate"]),
            source=d.get("source", ""),
            skill=None if skill is None else SkillTaskDetail(
                materials=skill.get("materials", ""), time_minutes=int(skill.get("time_minutes", 0)),
                rubric=tuple(RubricCriterion(code=r["code"], description=r.get("description", ""),
                                             points=float(r["points"]), deduction=r.get("deduction", ""))
                             for r in skill.get("rubric", ()))),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise _fail("content", "shape", "试题内容格式不正确。", f"Malformed item content: {exc!r}.") from None


def _canonical_json(content: ItemContent) -> str:
    return json.dumps(content_to_dict(content), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def content_hash(content: ItemContent) -> str:
    """SHA-256 hex digest of the canonical JSON (sorted keys, UTF-8, no spaces)."""
    return hashlib.sha256(_canonical_json(content).encode("utf-8")).hexdigest()


def _flatten(content: ItemContent) -> dict[str, Any]:
    flat: dict[str, Any] = {"type": ItemType(content.type).value, "element_code": content.element_code,
                            "key": tuple(content.key)}
    for name in ("zh", "mn"):
        variant = getattr(content, name)
        if variant is None:
            continue
        flat[f"{name}.stem"] = variant.stem
        for letter, text in variant.options:
            flat[f"{name}.options.{letter}"] = text
        flat[f"{name}.explanation"] = variant.explanation
    flat["difficulty_estimate"] = content.difficulty_estimate
    flat["source"] = content.source
    if content.skill is not None:
        flat["skill.materials"] = content.skill.materials
        flat["skill.time_minutes"] = content.skill.time_minutes
        for c in content.skill.rubric:
            for attr in ("description", "points", "deduction"):
                flat[f"skill.rubric.{c.code}.{attr}"] = getattr(c, attr)
    return flat


def diff_contents(old: ItemContent, new: ItemContent) -> list[FieldChange]:
    """Field-level differences, in the order fields appear in ``old`` then those only in ``new``.

    Field names: ``type``, ``element_code``, ``key``, ``zh.stem``, ``zh.options.B``,
    ``zh.explanation``, the same under ``mn.``, ``difficulty_estimate``, ``source``,
    ``skill.materials``, ``skill.time_minutes``, ``skill.rubric.<code>.points`` (and
    ``.description``, ``.deduction``). A field absent on one side has ``None`` there.
    """
    a, b = _flatten(old), _flatten(new)
    names = list(a) + [name for name in b if name not in a]
    return [FieldChange(name, a.get(name), b.get(name)) for name in names if a.get(name) != b.get(name)]


# --------------------------------------------------------------------------- versions

@dataclass(frozen=True)
class VersionRecord:
    """One immutable version of an item: edits never change a version, they add the next one."""

    number: int
    parent: int | None
    author: str
    created_at: datetime
    content: ItemContent
    content_hash: str


def next_version(previous: VersionRecord | None, content: ItemContent, author: str,
                 at: datetime) -> VersionRecord:
    """The version that follows ``previous`` (or version 1 when there is none).

    Parameters
    ----------
    previous : VersionRecord or None
        The item's current latest version.
    content : ItemContent
        The new content.
    author : str
        Who wrote it (user id or name); must not be empty.
    at : datetime
        When, from the service's clock (timezone-aware UTC recommended).

    Raises
    ------
    itembank.errors.InvalidValue
        ``content.unchanged`` when ``content`` equals the previous version's (no empty versions),
        ``author.required`` when ``author`` is empty.
    """
    if not str(author or "").strip():
        raise _fail("author", "required", "版本必须有作者。", "A version needs an author.")
    digest = content_hash(content)
    if previous is not None and digest == previous.content_hash:
        raise _fail("content", "unchanged", "内容与上一版本相同，不产生新版本。",
                    "The content is identical to the previous version; no new version is created.")
    number = 1 if previous is None else previous.number + 1
    return VersionRecord(number=number, parent=None if previous is None else previous.number,
                         author=str(author).strip(), created_at=at, content=content, content_hash=digest)
