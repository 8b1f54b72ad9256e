"""The item-writing technical specification (命题技术规程) as a rule engine.

Every rule is declared once, in :data:`RULES`: code, severity, scope (one item or the whole bank),
Chinese and English title and rationale, and its thresholds with their defaults. :class:`SpecConfig`
takes its defaults from there, so a documentation page can list :data:`RULES` as the reference.

:func:`check_item` judges one :class:`~itembank.items.ItemContent`; :func:`check_bank` adds the
rules that only make sense over many items (key balance, the longest-option cue, items per element,
difficulty spread, near-duplicates). Findings never raise: content that breaks a rule is reported,
so a writer sees everything at once.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from html.parser import HTMLParser
from types import MappingProxyType
from typing import Any, Literal

from scipy.stats import binomtest

from itembank.errors import InvalidValue
from itembank.items import CHOICE_TYPES, ItemContent, ItemType, plain_text
from itembank.similarity import JoinStats, normalise_text, shingles, similarity_join

__all__ = ["Severity", "Finding", "Rule", "RULES", "SpecConfig", "check_item", "check_bank",
           "BankReport", "KeyBalance", "LongestOptionCue", "Shortfall", "DifficultySpread",
           "NearDuplicate"]

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One breach of one rule.

    Attributes
    ----------
    rule : str
        Code of the rule in :data:`RULES`.
    severity : {"error", "warning"}
        An error blocks approval; a warning asks the reviewer to look.
    field : str
        Content field concerned, named as in :func:`itembank.items.diff_contents`
        (``"zh.options.B"``, ``"key"`` ...).
    message, message_en : str
        Chinese and English explanation.
    items : tuple of str
        For bank findings, the item ids concerned (e.g. the two near-duplicates).
    """

    rule: str
    severity: Severity
    field: str
    message: str
    message_en: str
    items: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    """The one place a rule is documented; ``thresholds`` maps SpecConfig fields to defaults."""

    code: str
    severity: Severity
    scope: Literal["item", "bank"]
    title: str
    title_en: str
    rationale: str
    rationale_en: str
    thresholds: Mapping[str, Any] = field(default_factory=dict)


RULES: dict[str, Rule] = {}


def _rule(code, severity, scope, title, title_en, rationale, rationale_en, **thresholds) -> None:
    RULES[code] = Rule(code, severity, scope, title, title_en, rationale, rationale_en,
                       MappingProxyType(thresholds))


_rule("option-count", "error", "item", "选项数量", "Option count",
      "单选题 4 个选项 A–D，多选题 4–5 个选项 A–E，判断题和操作技能试题无选项；字母依次排列。",
      "Single choice has options A-D, multiple choice 4-5 options A-E, true/false and skill tasks none; "
      "letters run in order.")
_rule("key-count", "error", "item", "答案数量", "Key count",
      "单选题恰有 1 个答案，多选题至少 2 个，判断题答案为 T 或 F，答案字母必须是选项。",
      "Single choice has exactly one key, multiple choice two or more, true/false T or F; "
      "key letters must be options.")
_rule("skill-rubric", "error", "item", "评分记录表", "Scoring rubric",
      "操作技能试题必须有评分记录表，每个评分项分值大于 0。",
      "A skill task needs a rubric whose every criterion is worth more than 0 points.")
_rule("stem-empty", "error", "item", "题干为空", "Empty stem",
      "题干不能为空。", "The stem must not be empty.")
_rule("option-empty", "error", "item", "空选项", "Empty option",
      "选项不能为空。", "No option may be empty.")
_rule("option-duplicate", "error", "item", "重复选项", "Duplicate option",
      "两个选项内容相同时，考生无从区分。", "Two identical options cannot be told apart.")
_rule("option-catch-all", "warning", "item", "“以上都对/都不对”类选项", "All/none of the above",
      "“以上都对”“以上都不对”类选项让部分知识即可猜中答案，应避免。",
      "'All/none of the above' lets partial knowledge find the key; avoid it.")
_rule("option-length-unbalanced", "warning", "item", "选项长短悬殊", "Unbalanced option lengths",
      "选项长短应大致相当，最长选项往往被猜为答案。",
      "Options should be of similar length; the longest is often guessed to be the key.",
      option_length_ratio=3.0, option_length_min_difference=4)
_rule("stem-negative-unemphasised", "warning", "item", "否定词未强调", "Negative word not emphasised",
      "选择题题干中的否定词（不、错误的、not ……）应加粗、下划线、着重号或引号强调，以免考生漏看。"
      "判断题是陈述句，不适用。",
      "A negative word in a choice stem (不, 错误的, not ...) must be emphasised (bold, underline, "
      "emphasis dots or quotes) so candidates do not miss it. True/false statements are exempt.",
      negative_words=("不正确", "不属于", "不是", "不能", "错误的", "不", "no", "not", "except"),
      negation_exceptions=("不锈", "不同", "不断", "不仅", "不但", "不论", "不管", "不久", "不少",
                           "不过", "不良", "不停", "不得不", "不稳定", "不平衡", "不对称"))
_rule("stem-not-question", "warning", "item", "题干不是问句或填空", "Stem is neither question nor blank",
      "选择题题干应以问号结尾，或含有填空括号（　）/下划线。",
      "A choice stem ends with a question mark or contains a blank: （　）, ( ) or ____.")
_rule("key-in-stem", "warning", "item", "答案原文出现在题干中", "Key text repeated in stem",
      "答案选项的原文出现在题干中是明显的提示。",
      "The key option's text appearing verbatim in the stem gives the key away.",
      key_in_stem_min_length=2)
_rule("element-missing", "error", "item", "缺少鉴定点", "Element code missing",
      "每道试题必须对应细目表中的一个鉴定点。", "Every item must be written against a blueprint element.")
_rule("element-unknown", "error", "item", "鉴定点不在细目表中", "Element not in blueprint",
      "鉴定点代码必须是细目表中的代码。", "The element code must exist in the blueprint.")
_rule("mn-incomplete", "error", "item", "蒙古文版本不完整", "Mongolian variant incomplete",
      "有蒙古文版本时，题干、选项、解析须齐全且选项字母与中文一致。",
      "A Mongolian variant, when present, has stem, options and explanation, with the Chinese letters.")
_rule("difficulty-range", "error", "item", "难度估计越界", "Difficulty estimate out of range",
      "难度估计是答对比例，必须在 0 和 1 之间（不含端点）。",
      "The difficulty estimate is a proportion correct strictly between 0 and 1.")
_rule("key-balance", "warning", "bank", "答案位置不均衡", "Unbalanced key positions",
      "单选题答案 A–D 各占 15%–35%，判断题对错各占 35%–65%，以免考生按位置猜题；题量不足时只报告比例。",
      "Each of A-D keys 15-35 % of single-choice items, T/F 35-65 %, so position cannot be guessed; "
      "below the minimum count shares are only reported.",
      key_share_min=0.15, key_share_max=0.35, true_false_share_min=0.35, true_false_share_max=0.65,
      key_balance_min_items=20)
_rule("longest-option-cue", "warning", "bank", "最长选项即答案", "Longest option is the key",
      "单选题中唯一最长的选项是答案的比例显著高于随机（1/4）时，考生可据此猜题（单侧二项检验）。",
      "When the unique longest option is the key far more often than chance (1/4, one-sided binomial "
      "test), candidates can guess by length.",
      cue_alpha=0.01, cue_margin=0.10)
_rule("element-shortfall", "error", "bank", "鉴定点试题不足", "Too few items per element",
      "每个鉴定点至少应有规定数量的试题（默认 4 道），题库才能组卷和轮换。",
      "Each element needs at least the minimum number of items (default 4) to assemble and rotate papers.",
      min_items_per_element=4)
_rule("difficulty-spread", "warning", "bank", "难度分布过窄", "Difficulty spread too narrow",
      "难度估计的标准差过小说明题库难度单一，无法组出不同难度的试卷。",
      "A small standard deviation of difficulty estimates means papers of other difficulty cannot be built.",
      difficulty_sd_min=0.10, difficulty_spread_min_items=10)
_rule("near-duplicate", "warning", "bank", "近似重复试题", "Near-duplicate items",
      "同一鉴定点下文本高度相似（字符 3-gram Jaccard）的试题应设为互斥组，避免同卷出现。",
      "Items of one element with very similar text (character 3-gram Jaccard) belong in one enemy group "
      "so that a paper never holds both.",
      near_duplicate_threshold=0.85, near_duplicate_max_pairs=10_000, shingle_size=3)


def _default(name: str) -> Any:
    return next(rule.thresholds[name] for rule in RULES.values() if name in rule.thresholds)


@dataclass(frozen=True)
class SpecConfig:
    """Thresholds of the rules; each default is the one documented in :data:`RULES`."""

    option_length_ratio: float = _default("option_length_ratio")
    option_length_min_difference: int = _default("option_length_min_difference")
    negative_words: tuple[str, ...] = _default("negative_words")
    negation_exceptions: tuple[str, ...] = _default("negation_exceptions")
    key_in_stem_min_length: int = _default("key_in_stem_min_length")
    key_share_min: float = _default("key_share_min")
    key_share_max: float = _default("key_share_max")
    true_false_share_min: float = _default("true_false_share_min")
    true_false_share_max: float = _default("true_false_share_max")
    key_balance_min_items: int = _default("key_balance_min_items")
    cue_alpha: float = _default("cue_alpha")
    cue_margin: float = _default("cue_margin")
    min_items_per_element: int = _default("min_items_per_element")
    difficulty_sd_min: float = _default("difficulty_sd_min")
    difficulty_spread_min_items: int = _default("difficulty_spread_min_items")
    near_duplicate_threshold: float = _default("near_duplicate_threshold")
    near_duplicate_max_pairs: int = _default("near_duplicate_max_pairs")
    shingle_size: int = _default("shingle_size")

    def __post_init__(self) -> None:
        checks = {
            "option_length_ratio": self.option_length_ratio >= 1,
            "key_share_max": 0 <= self.key_share_min <= self.key_share_max <= 1,
            "true_false_share_max": 0 <= self.true_false_share_min <= self.true_false_share_max <= 1,
            "cue_alpha": 0 < self.cue_alpha < 1,
            "near_duplicate_threshold": 0 < self.near_duplicate_threshold <= 1,
            "shingle_size": self.shingle_size >= 1,
            "near_duplicate_max_pairs": self.near_duplicate_max_pairs >= 1,
        }
        for name, ok in checks.items():
            if not ok:
                raise InvalidValue(name, f"{name}.range", f"规程参数 {name} 超出允许范围。",
                                   f"Specification setting {name} is out of range.")


if {f.name for f in fields(SpecConfig)} != {n for r in RULES.values() for n in r.thresholds}:
    raise RuntimeError("SpecConfig and RULES thresholds disagree")  # one place per threshold


def _finding(rule: str, field_name: str, message: str, message_en: str, items: tuple[str, ...] = ()) -> Finding:
    return Finding(rule, RULES[rule].severity, field_name, message, message_en, items)


# --------------------------------------------------------------------------- item rules

class _EmphasisText(HTMLParser):
    """Plain text of a stem with, per character, whether it is inside an emphasis tag."""

    _EMPHASIS = ("strong", "b", "u", "em")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chars: list[str] = []
        self.mask: list[bool] = []
        self._open = Counter()            # open emphasis tags by name (tolerates mis-nesting)
        self._spans: list[bool] = []      # open spans: is it span.emphasis (着重号)?

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self._EMPHASIS:
            self._open[tag] += 1
        elif tag == "span":
            self._spans.append("emphasis" in (dict(attrs).get("class") or "").split())
        elif tag in ("br", "img", "p", "li", "td", "th"):
            self.handle_data(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._EMPHASIS and self._open[tag]:
            self._open[tag] -= 1
        elif tag == "span" and self._spans:
            self._spans.pop()

    def handle_data(self, data: str) -> None:
        emphatic = any(self._open.values()) or any(self._spans)
        self.chars.extend(data)
        self.mask.extend([emphatic] * len(data))


_QUOTED_RE = re.compile(r"“[^”]*”|「[^」]*」|\"[^\"]*\"|‘[^’]*’")
_DOT_MARKS = set("·•●・﹒")
_BLANK_RE = re.compile(r"[（(][\s\u3000\xa0]*[）)]|[_＿]{2,}")
_CATCH_ALL_RE = re.compile(
    r"以上(所有|各项|说法|选项|答案|几项|三项|四项)?(都|均|全|皆|全部)(是|不是|对|不对|正确|不正确|错|错误|非)"
    r"|(all|none)of(the)?above")


def _negative_unemphasised(stem_html: str, config: SpecConfig) -> str | None:
    parser = _EmphasisText()
    parser.feed(stem_html)
    parser.close()
    text, mask = "".join(parser.chars), parser.mask
    quoted = [m.span() for m in _QUOTED_RE.finditer(text)]
    words = sorted(config.negative_words, key=len, reverse=True)
    ascii_words = [w for w in words if w.isascii()]
    other = [re.escape(w) for w in words if not w.isascii()]
    pattern = "|".join(other + ([rf"(?<![A-Za-z])(?:{'|'.join(map(re.escape, ascii_words))})(?![A-Za-z])"]
                                if ascii_words else []))
    if not pattern:
        return None
    for m in re.finditer(pattern, text, flags=re.IGNORECASE):
        a, b = m.span()
        if any(text.startswith(x, a) for x in config.negation_exceptions):
            continue
        if any(mask[a:b]) or any(qa < a and b < qb for qa, qb in quoted):
            continue
        if (a > 0 and text[a - 1] in _DOT_MARKS) or (b < len(text) and text[b] in _DOT_MARKS):
            continue
        return m.group(0)
    return None


def _has_content(html: str, text: str) -> bool:
    return bool(text) or "<img" in html


def _option_rules(content: ItemContent, texts: list[str], config: SpecConfig) -> list[Finding]:
    out: list[Finding] = []
    seen: dict[str, str] = {}
    for (letter, html), text in zip(content.zh.options, texts):
        name = f"zh.options.{letter}"
        if not _has_content(html, text):
            out.append(_finding("option-empty", name, f"选项 {letter} 为空。", f"Option {letter} is empty."))
            continue
        norm = normalise_text(text) or html
        if norm in seen:
            out.append(_finding("option-duplicate", name, f"选项 {letter} 与选项 {seen[norm]} 相同。",
                                f"Option {letter} repeats option {seen[norm]}."))
        seen.setdefault(norm, letter)
        if _CATCH_ALL_RE.search(normalise_text(text)):
            out.append(_finding("option-catch-all", name, f"选项 {letter} 是“以上都对/都不对”类选项。",
                                f"Option {letter} is an all/none-of-the-above option."))
    lengths = [len(normalise_text(t)) for t in texts if normalise_text(t)]
    if len(lengths) >= 2 and (longest := max(lengths)) / (shortest := min(lengths)) > config.option_length_ratio \
            and longest - shortest >= config.option_length_min_difference:
        out.append(_finding("option-length-unbalanced", "zh.options",
                            f"选项长短悬殊：最长 {longest} 字，最短 {shortest} 字。",
                            f"Option lengths are unbalanced: longest {longest}, shortest {shortest} characters."))
    return out


def _structure_rules(content: ItemContent) -> list[Finding]:
    out: list[Finding] = []
    letters = tuple(letter for letter, _ in content.zh.options)
    key = tuple(content.key)
    t = content.type
    allowed = {ItemType.SINGLE_CHOICE: (4, 4), ItemType.MULTIPLE_CHOICE: (4, 5)}.get(t, (0, 0))
    in_order = letters == tuple("ABCDEFGHIJ"[: len(letters)])
    if not allowed[0] <= len(letters) <= allowed[1] or not in_order:
        want = {(4, 4): "4 个（A–D）", (4, 5): "4–5 个（A–E）", (0, 0): "0 个"}[allowed]
        out.append(_finding("option-count", "zh.options", f"该题型应有 {want}依次排列的选项，现有 {len(letters)} 个。",
                            f"This item type needs {allowed[0]}-{allowed[1]} options lettered in order; it has {len(letters)}."))
    if t is ItemType.TRUE_FALSE:
        bad_key = key not in (("T",), ("F",))
    elif t is ItemType.SKILL_TASK:
        bad_key = bool(key)
    else:
        need_many = t is ItemType.MULTIPLE_CHOICE
        bad_key = (len(key) < 2 if need_many else len(key) != 1) or not set(key) <= set(letters) \
            or len(set(key)) != len(key)
    if bad_key:
        want_zh = {ItemType.TRUE_FALSE: "T 或 F", ItemType.SKILL_TASK: "无答案字母",
                   ItemType.SINGLE_CHOICE: "恰好 1 个选项字母", ItemType.MULTIPLE_CHOICE: "至少 2 个选项字母"}[t]
        out.append(_finding("key-count", "key", f"答案 {''.join(key) or '（空）'} 不符合题型要求：应为{want_zh}。",
                            f"Key {''.join(key) or '(empty)'} does not fit the item type ({t.value})."))
    if t is ItemType.SKILL_TASK:
        rubric = content.skill.rubric if content.skill else ()
        if not rubric:
            out.append(_finding("skill-rubric", "skill.rubric", "操作技能试题缺少评分记录表。",
                                "The skill task has no rubric."))
        for criterion in rubric:
            if not criterion.points > 0:
                out.append(_finding("skill-rubric", f"skill.rubric.{criterion.code}.points",
                                    f"评分项 {criterion.code} 的分值必须大于 0。",
                                    f"Rubric criterion {criterion.code} must be worth more than 0 points."))
    return out


def _mn_rules(content: ItemContent) -> list[Finding]:
    mn = content.mn
    if mn is None:
        return []
    out: list[Finding] = []
    if not _has_content(mn.stem, plain_text(mn.stem)):
        out.append(_finding("mn-incomplete", "mn.stem", "蒙古文题干为空。", "The Mongolian stem is empty."))
    if [a for a, _ in mn.options] != [a for a, _ in content.zh.options]:
        out.append(_finding("mn-incomplete", "mn.options", "蒙古文选项字母与中文不一致。",
                            "The Mongolian option letters differ from the Chinese ones."))
    for letter, html in mn.options:
        if not _has_content(html, plain_text(html)):
            out.append(_finding("mn-incomplete", f"mn.options.{letter}", f"蒙古文选项 {letter} 为空。",
                                f"Mongolian option {letter} is empty."))
    if plain_text(content.zh.explanation) and not plain_text(mn.explanation):
        out.append(_finding("mn-incomplete", "mn.explanation", "蒙古文解析为空。",
                            "The Mongolian explanation is empty."))
    return out


def _stem_rules(content: ItemContent, stem: str, texts: list[str], config: SpecConfig) -> list[Finding]:
    out: list[Finding] = []
    if not _has_content(content.zh.stem, stem):
        return [_finding("stem-empty", "zh.stem", "题干为空。", "The stem is empty.")]
    if content.type not in CHOICE_TYPES:
        return out
    word = _negative_unemphasised(content.zh.stem, config)
    if word is not None:
        out.append(_finding("stem-negative-unemphasised", "zh.stem", f"题干中的否定词“{word}”未加强调。",
                            f"The negative word '{word}' in the stem is not emphasised."))
    if not (stem.rstrip().endswith(("？", "?")) or _BLANK_RE.search(stem)):
        out.append(_finding("stem-not-question", "zh.stem", "题干既不是问句也没有填空括号。",
                            "The stem neither ends with a question mark nor contains a blank."))
    norm_stem = normalise_text(stem)
    for (letter, _), text in zip(content.zh.options, texts):
        norm = normalise_text(text)
        if letter in content.key and len(norm) >= config.key_in_stem_min_length and norm in norm_stem:
            out.append(_finding("key-in-stem", f"zh.options.{letter}", f"答案选项 {letter} 的原文出现在题干中。",
                                f"The text of key option {letter} appears verbatim in the stem."))
    return out


def check_item(content: ItemContent, *, element_codes: set[str] | frozenset[str] | None = None,
               config: SpecConfig = SpecConfig()) -> list[Finding]:
    """Apply every item-scope rule of :data:`RULES` to one item.

    Parameters
    ----------
    content : ItemContent
        The item (built or constructed directly: nothing is assumed valid).
    element_codes : set of str, optional
        Element codes of the blueprint; ``None`` skips the ``element-unknown`` rule.
    config : SpecConfig
        Thresholds.

    Returns
    -------
    list of Finding
        In a fixed order: structure, stem, options, element, language, difficulty.
    """
    stem = plain_text(content.zh.stem)
    texts = [plain_text(html) for _, html in content.zh.options]
    return _item_findings(content, stem, texts, element_codes, config)


def _item_findings(content: ItemContent, stem: str, texts: list[str], element_codes, config) -> list[Finding]:
    out = _structure_rules(content) + _stem_rules(content, stem, texts, config)
    out += _option_rules(content, texts, config)
    code = (content.element_code or "").strip()
    if not code:
        out.append(_finding("element-missing", "element_code", "试题未指定鉴定点。", "No element code is given."))
    elif element_codes is not None and code not in element_codes:
        out.append(_finding("element-unknown", "element_code", f"鉴定点 {code} 不在细目表中。",
                            f"Element {code} is not in the blueprint."))
    out += _mn_rules(content)
    d = content.difficulty_estimate
    if d is not None and not (isinstance(d, (int, float)) and 0 < d < 1):
        out.append(_finding("difficulty-range", "difficulty_estimate", f"难度估计 {d} 不在 0 和 1 之间。",
                            f"Difficulty estimate {d} is not strictly between 0 and 1."))
    return out




# --------------------------------------------------------------------------- bank rules

@dataclass(frozen=True)
class KeyBalance:
    """Key letters of one item type: ``counts[letter]`` items, ``shares[letter]`` = count / total.

    For multiple choice an item counts once for each of its key letters, so shares add up to more
    than 1 (share = proportion of items whose key includes the letter).
    """

    item_type: str
    total: int
    counts: dict[str, int]
    shares: dict[str, float]


@dataclass(frozen=True)
class LongestOptionCue:
    """Single-choice items with 4 options and a unique longest option (``items``), of which
    ``hits`` have it as the key; ``p_value`` of the one-sided binomial test against 1/4."""

    items: int
    hits: int
    rate: float
    p_value: float


@dataclass(frozen=True)
class Shortfall:
    """An element with fewer items than required."""

    element_code: str
    have: int
    need: int


@dataclass(frozen=True)
class DifficultySpread:
    """Summary of the writers' difficulty estimates inside (0, 1); sample SD (ddof=1)."""

    count: int
    minimum: float | None
    maximum: float | None
    mean: float | None
    sd: float | None


@dataclass(frozen=True)
class NearDuplicate:
    """Two items of one element whose text similarity reaches the threshold."""

    element_code: str
    first: str
    second: str
    similarity: float


@dataclass(frozen=True)
class BankReport:
    """Everything :func:`check_bank` found.

    Attributes
    ----------
    findings : list of Finding
        Bank-level findings (balance, cue, shortfalls, spread, one per near-duplicate pair).
    item_findings : dict of str to list of Finding
        Every item id (in input order) with its item-rule findings and its near-duplicate findings.
    key_balance : dict of str to KeyBalance
        By item type value, for true/false, single and multiple choice.
    """

    findings: list[Finding]
    item_findings: dict[str, list[Finding]]
    key_balance: dict[str, KeyBalance]
    longest_option_cue: LongestOptionCue
    items_per_element: dict[str, int]
    shortfalls: list[Shortfall]
    difficulty: DifficultySpread
    near_duplicates: list[NearDuplicate]
    near_duplicate_stats: JoinStats

    @property
    def error_count(self) -> int:
        """Errors among bank and item findings."""
        every = self.findings + [f for fs in self.item_findings.values() for f in fs]
        return sum(f.severity == "error" for f in every)


def _key_balance(items, config: SpecConfig) -> tuple[dict[str, KeyBalance], list[Finding]]:
    letters_by_type = {ItemType.TRUE_FALSE: "TF", ItemType.SINGLE_CHOICE: "ABCD", ItemType.MULTIPLE_CHOICE: "ABCDE"}
    balance: dict[str, KeyBalance] = {}
    out: list[Finding] = []
    for item_type, letters in letters_by_type.items():
        keys = [k for _, c in items if c.type is item_type
                for k in [tuple(c.key)] if item_type is ItemType.MULTIPLE_CHOICE or len(k) == 1]
        counts = {letter: 0 for letter in letters}
        for key in keys:
            for letter in key:
                counts[letter] = counts.get(letter, 0) + 1
        shares = {letter: (n / len(keys) if keys else 0.0) for letter, n in counts.items()}
        balance[item_type.value] = KeyBalance(item_type.value, len(keys), counts, shares)
        if item_type is ItemType.MULTIPLE_CHOICE or len(keys) < config.key_balance_min_items:
            continue
        lo, hi = ((config.key_share_min, config.key_share_max) if item_type is ItemType.SINGLE_CHOICE
                  else (config.true_false_share_min, config.true_false_share_max))
        for letter in letters:
            if not lo <= shares[letter] <= hi:
                kind = "单选题" if item_type is ItemType.SINGLE_CHOICE else "判断题"
                out.append(_finding("key-balance", "key",
                                    f"{kind}答案为 {letter} 的比例为 {shares[letter]:.0%}，不在 {lo:.0%}–{hi:.0%} 之间。",
                                    f"{item_type.value}: key {letter} in {shares[letter]:.0%} of items, "
                                    f"outside {lo:.0%}-{hi:.0%}."))
    return balance, out


def _longest_option_cue(analysed, config: SpecConfig) -> tuple[LongestOptionCue, list[Finding]]:
    chance = 0.25
    n = hits = 0
    for content, _, texts in analysed:
        if content.type is not ItemType.SINGLE_CHOICE or len(texts) != 4 or len(content.key) != 1:
            continue
        lengths = [len(normalise_text(t)) for t in texts]
        longest = max(lengths)
        if lengths.count(longest) != 1:
            continue
        n += 1
        hits += content.zh.options[lengths.index(longest)][0] == content.key[0]
    p_value = float(binomtest(hits, n, chance, alternative="greater").pvalue) if n else 1.0
    cue = LongestOptionCue(n, hits, hits / n if n else 0.0, p_value)
    if n and p_value < config.cue_alpha and cue.rate > chance + config.cue_margin:
        return cue, [_finding("longest-option-cue", "zh.options",
                              f"{n} 道单选题中 {hits} 道（{cue.rate:.0%}）的答案是唯一最长选项，显著高于 25%（p={p_value:.2g}）。",
                              f"In {hits} of {n} single-choice items ({cue.rate:.0%}) the unique longest option "
                              f"is the key, far above 25 % (p={p_value:.2g}).")]
    return cue, []


def _shortfalls(counts: Counter, minimum, element_codes, config: SpecConfig) -> tuple[list[Shortfall], list[Finding]]:
    if minimum is None:
        minimum = config.min_items_per_element
    if isinstance(minimum, Mapping):
        needs = dict(minimum)
    else:
        needs = {code: int(minimum) for code in set(counts) | set(element_codes or ())}
    shortfalls = [Shortfall(code, counts.get(code, 0), need) for code, need in sorted(needs.items())
                  if code and counts.get(code, 0) < need]
    findings = [_finding("element-shortfall", "element_code",
                         f"鉴定点 {s.element_code} 只有 {s.have} 道试题，至少需要 {s.need} 道。",
                         f"Element {s.element_code} has {s.have} items; at least {s.need} are needed.")
                for s in shortfalls]
    return shortfalls, findings


def _difficulty_spread(items, config: SpecConfig) -> tuple[DifficultySpread, list[Finding]]:
    values = [float(c.difficulty_estimate) for _, c in items
              if isinstance(c.difficulty_estimate, (int, float)) and 0 < c.difficulty_estimate < 1]
    if not values:
        return DifficultySpread(0, None, None, None, None), []
    mean = math.fsum(values) / len(values)
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else None
    spread = DifficultySpread(len(values), min(values), max(values), mean, sd)
    if sd is not None and len(values) >= config.difficulty_spread_min_items and sd < config.difficulty_sd_min:
        return spread, [_finding("difficulty-spread", "difficulty_estimate",
                                 f"难度估计标准差 {sd:.3f} 低于 {config.difficulty_sd_min}（{len(values)} 道，均值 {mean:.2f}）。",
                                 f"SD of difficulty estimates {sd:.3f} is below {config.difficulty_sd_min} "
                                 f"({len(values)} items, mean {mean:.2f}).")]
    return spread, []


def check_bank(items: Sequence[tuple[str, ItemContent]], *,
               min_items_per_element: Mapping[str, int] | int | None = None,
               element_codes: set[str] | frozenset[str] | None = None,
               config: SpecConfig = SpecConfig()) -> BankReport:
    """Apply the item rules to every item and the bank rules to the whole bank.

    Parameters
    ----------
    items : sequence of (str, ItemContent)
        Item id (unique) and content, e.g. the current approved version of each item.
    min_items_per_element : mapping or int, optional
        Minimum items per element: a mapping checks exactly the elements it names (so elements
        without any item are caught); an int applies to every element seen in ``items`` and in
        ``element_codes``. Default ``config.min_items_per_element``.
    element_codes : set of str, optional
        The blueprint's element codes, passed on to :func:`check_item`.
    config : SpecConfig

    Returns
    -------
    BankReport
        Deterministic: the same input gives the same report.

    Notes
    -----
    Cost is linear in the bank size apart from the near-duplicate join, which compares only items
    of one element and only candidate pairs sharing a rare shingle (see :mod:`itembank.similarity`).
    """
    ids = [item_id for item_id, _ in items]
    if len(set(ids)) != len(ids):
        raise InvalidValue("items", "items.duplicate_id", "试题编号重复。", "Item ids must be unique.")
    analysed = []
    item_findings: dict[str, list[Finding]] = {}
    for item_id, content in items:
        stem = plain_text(content.zh.stem)
        texts = [plain_text(html) for _, html in content.zh.options]
        analysed.append((content, stem, texts))
        item_findings[item_id] = _item_findings(content, stem, texts, element_codes, config)
    balance, findings = _key_balance(items, config)
    cue, more = _longest_option_cue(analysed, config)
    findings += more
    counts = Counter((c.element_code or "").strip() for _, c in items)
    counts.pop("", None)
    shortfalls, more = _shortfalls(counts, min_items_per_element, element_codes, config)
    findings += more
    spread, more = _difficulty_spread(items, config)
    findings += more
    pairs, stats = _near_duplicates(ids, analysed, config)
    for pair in pairs:
        finding = _finding("near-duplicate", "zh",
                           f"试题 {pair.first} 与 {pair.second} 同属鉴定点 {pair.element_code}，文本相似度 "
                           f"{pair.similarity:.2f}，建议设为互斥组。",
                           f"Items {pair.first} and {pair.second} of element {pair.element_code} are "
                           f"{pair.similarity:.2f} similar; put them in one enemy group.",
                           (pair.first, pair.second))
        findings.append(finding)
        item_findings[pair.first].append(finding)
        item_findings[pair.second].append(finding)
    if stats.truncated:
        findings.append(_finding("near-duplicate", "zh", f"近似重复试题对超过 {config.near_duplicate_max_pairs} 对，其余未列出。",
                                 f"More than {config.near_duplicate_max_pairs} near-duplicate pairs; the rest are not listed."))
    return BankReport(findings, item_findings, balance, cue, dict(sorted(counts.items())), shortfalls,
                      spread, pairs, stats)


def _near_duplicates(ids, analysed, config: SpecConfig) -> tuple[list[NearDuplicate], JoinStats]:
    by_element: dict[str, list[tuple[str, frozenset[str]]]] = defaultdict(list)
    for item_id, (content, stem, texts) in zip(ids, analysed):
        code = (content.element_code or "").strip()
        if code:
            by_element[code].append((item_id, shingles([stem, *texts], config.shingle_size)))
    pairs: list[NearDuplicate] = []
    records = distinct = candidates = 0
    truncated = False
    for code in sorted(by_element):
        budget = config.near_duplicate_max_pairs - len(pairs)
        found, stats = similarity_join(by_element[code], config.near_duplicate_threshold, max_pairs=budget)
        pairs += [NearDuplicate(code, p.first, p.second, p.similarity) for p in found]
        records, distinct, candidates = records + stats.records, distinct + stats.distinct, candidates + stats.candidates
        truncated = truncated or stats.truncated
    return pairs, JoinStats(records, distinct, candidates, len(pairs), truncated)
