"""Tests of the item-writing specification: every rule passes and fails, bank statistics,
near-duplicates and the cost of finding them."""

from __future__ import annotations

import random
import time
from dataclasses import replace
from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

from itembank.errors import InvalidValue
from itembank.items import ItemContent, ItemType, LanguageVariant, RubricCriterion, SkillTaskDetail
from itembank.similarity import jaccard, shingles, similarity_join
from itembank.spec import RULES, SpecConfig, check_bank, check_item

OPTIONS = (("A", "伏特"), ("B", "安培"), ("C", "欧姆"), ("D", "瓦特"))
SINGLE = ItemContent(type=ItemType.SINGLE_CHOICE, element_code="E1", key=("B",),
                     zh=LanguageVariant(stem="<p>电流的国际单位是（　）。</p>", options=OPTIONS,
                                        explanation="电流的单位是安培。"),
                     difficulty_estimate=0.7)
MULTIPLE = ItemContent(type=ItemType.MULTIPLE_CHOICE, element_code="E1", key=("A", "B", "C"),
                       zh=LanguageVariant(stem="下列属于电工常用工具的有哪些？",
                                          options=(("A", "螺丝刀"), ("B", "电工刀"), ("C", "验电笔"),
                                                   ("D", "压力锅"), ("E", "电饭煲"))))
TRUE_FALSE = ItemContent(type=ItemType.TRUE_FALSE, element_code="E1", key=("T",),
                         zh=LanguageVariant(stem="安全电压一般不高于 36 V。"))
SKILL = ItemContent(type=ItemType.SKILL_TASK, element_code="S1", key=(),
                    zh=LanguageVariant(stem="完成单相电能表的接线。"),
                    skill=SkillTaskDetail(time_minutes=60, rubric=(RubricCriterion("1", "接线正确", 60),
                                                                   RubricCriterion("2", "安全文明", 40))))
MN = LanguageVariant(stem="ᠭᠦᠶᠦᠳᠡᠯ ᠦᠨ ᠨᠢᠭᠡᠴᠡ ᠶᠠᠭᠤ ᠪᠤᠢ?", options=tuple((a, "ᠠᠮᠫᠧᠷ " + a) for a, _ in OPTIONS),
                     explanation="ᠠᠮᠫᠧᠷ")
CODES = {"E1", "S1"}


def zh(item: ItemContent, **over) -> ItemContent:
    return replace(item, zh=replace(item.zh, **over))


def option(item: ItemContent, letter: str, text: str) -> ItemContent:
    return zh(item, options=tuple((a, text if a == letter else t) for a, t in item.zh.options))


@pytest.mark.parametrize("item", [SINGLE, MULTIPLE, TRUE_FALSE, SKILL, replace(SINGLE, mn=MN)],
                         ids=["single", "multiple", "true_false", "skill", "bilingual"])
def test_well_written_items_pass(item):
    assert check_item(item, element_codes=CODES) == []


FAILING = [
    ("option-count", "zh.options", zh(SINGLE, options=OPTIONS[:3])),
    ("option-count", "zh.options", zh(MULTIPLE, options=MULTIPLE.zh.options[:3])),
    ("option-count", "zh.options", zh(TRUE_FALSE, options=OPTIONS[:2])),
    ("option-count", "zh.options", zh(SINGLE, options=(("A", "伏特"), ("C", "安培"), ("B", "欧姆"), ("D", "瓦特")))),
    ("key-count", "key", replace(SINGLE, key=("A", "B"))),
    ("key-count", "key", replace(SINGLE, key=("E",))),
    ("key-count", "key", replace(MULTIPLE, key=("A",))),
    ("key-count", "key", replace(TRUE_FALSE, key=("A",))),
    ("key-count", "key", replace(SKILL, key=("A",))),
    ("skill-rubric", "skill.rubric", replace(SKILL, skill=SkillTaskDetail())),
    ("skill-rubric", "skill.rubric", replace(SKILL, skill=None)),
    ("skill-rubric", "skill.rubric.2.points", replace(SKILL, skill=SkillTaskDetail(
        rubric=(RubricCriterion("1", "a", 10), RubricCriterion("2", "b", 0))))),
    ("stem-empty", "zh.stem", zh(SINGLE, stem="<p> </p>")),
    ("option-empty", "zh.options.C", option(SINGLE, "C", "<p></p>")),
    ("option-duplicate", "zh.options.C", option(SINGLE, "C", "安 培")),
    ("option-catch-all", "zh.options.D", option(SINGLE, "D", "以上都对")),
    ("option-catch-all", "zh.options.D", option(SINGLE, "D", "以上说法均不正确。")),
    ("option-catch-all", "zh.options.E", option(MULTIPLE, "E", "None of the above")),
    ("option-length-unbalanced", "zh.options", option(SINGLE, "D", "功率的单位瓦特千瓦")),
    ("stem-negative-unemphasised", "zh.stem", zh(SINGLE, stem="下列不属于国际单位的是（　）。")),
    ("stem-negative-unemphasised", "zh.stem", zh(SINGLE, stem="以下说法错误的是（　）。")),
    ("stem-negative-unemphasised", "zh.stem", zh(SINGLE, stem="Which is not an SI unit?")),
    ("stem-not-question", "zh.stem", zh(SINGLE, stem="电流的国际单位是安培。")),
    ("stem-not-question", "zh.stem", zh(MULTIPLE, stem="下列属于电工常用工具的有：")),
    ("key-in-stem", "zh.options.B", zh(SINGLE, stem="安培定则中，电流的国际单位是（　）。")),
    ("element-missing", "element_code", replace(SINGLE, element_code=" ")),
    ("element-unknown", "element_code", replace(SINGLE, element_code="E9")),
    ("mn-incomplete", "mn.stem", replace(SINGLE, mn=replace(MN, stem=""))),
    ("mn-incomplete", "mn.options", replace(SINGLE, mn=replace(MN, options=MN.options[:3]))),
    ("mn-incomplete", "mn.options.B", replace(SINGLE, mn=replace(MN, options=tuple((a, "" if a == "B" else t) for a, t in MN.options)))),
    ("mn-incomplete", "mn.explanation", replace(SINGLE, mn=replace(MN, explanation=""))),
    ("difficulty-range", "difficulty_estimate", replace(SINGLE, difficulty_estimate=1.0)),
    ("difficulty-range", "difficulty_estimate", replace(SINGLE, difficulty_estimate=0)),
    ("difficulty-range", "difficulty_estimate", replace(SINGLE, difficulty_estimate=-0.2)),
    ("difficulty-range", "difficulty_estimate", replace(SINGLE, difficulty_estimate=float("nan"))),
]


@pytest.mark.parametrize("rule, field, item", FAILING, ids=[f"{r}-{i}" for i, (r, _, _) in enumerate(FAILING)])
def test_each_item_rule_fails(rule, field, item):
    findings = check_item(item, element_codes=CODES)
    hits = [f for f in findings if f.rule == rule]
    assert hits, findings
    assert hits[0].field == field
    assert hits[0].severity == RULES[rule].severity
    assert hits[0].message and hits[0].message_en


def test_every_item_rule_has_a_failing_case():
    item_rules = {code for code, rule in RULES.items() if rule.scope == "item"}
    assert item_rules == {rule for rule, _, _ in FAILING}


def test_severities_are_as_documented():
    errors = {"option-count", "key-count", "skill-rubric", "stem-empty", "option-empty", "option-duplicate",
              "element-missing", "element-unknown", "mn-incomplete", "difficulty-range", "element-shortfall"}
    assert {code for code, rule in RULES.items() if rule.severity == "error"} == errors
    for rule in RULES.values():
        assert rule.title and rule.title_en and rule.rationale and rule.rationale_en


@pytest.mark.parametrize("stem", [
    "下列<strong>不</strong>属于国际单位的是（　）。",
    "下列<u>不属于</u>国际单位的是（　）。",
    "下列<b><em>错误的</em></b>说法是（　）。",
    "下列“不属于”国际单位的是（　）。",
    '下列<span class="emphasis">不</span>属于国际单位的是（　）。',
    "下列·不·属于国际单位的是（　）。",
    "不锈钢和不同材料的电阻率是（　）。",
    "Which is <b>NOT</b> an SI unit?",
    "Notation of the SI unit of current?",
])
def test_emphasised_or_false_friend_negatives_pass(stem):
    assert [f.rule for f in check_item(zh(SINGLE, stem=stem), element_codes=CODES)] == []


def test_passing_counterparts():
    assert check_item(zh(SINGLE, stem="安是电流的国际单位吗？"), element_codes=CODES) == []  # 1-char key text
    assert check_item(zh(SINGLE, stem="（　）是电流的国际单位。"), element_codes=CODES) == []  # blank mid-stem
    assert check_item(zh(SINGLE, stem="电流的国际单位是____。"), element_codes=CODES) == []
    assert check_item(option(SINGLE, "D", "瓦特千瓦"), element_codes=CODES) == []  # ratio 2
    assert check_item(replace(SINGLE, element_code="E9"), element_codes=None) == []
    assert check_item(replace(SINGLE, difficulty_estimate=None), element_codes=CODES) == []
    # a true/false statement may contain a plain negative word
    assert check_item(zh(TRUE_FALSE, stem="带电作业时不能使用金属梯子。"), element_codes=CODES) == []
    loose = SpecConfig(option_length_ratio=10)
    assert check_item(option(SINGLE, "D", "功率的单位瓦特千瓦"), element_codes=CODES, config=loose) == []


def test_config_defaults_come_from_the_rules_and_are_validated():
    config = SpecConfig()
    for rule in RULES.values():
        for name, default in rule.thresholds.items():
            assert getattr(config, name) == default
    assert config.near_duplicate_threshold == 0.85 and config.key_share_min == 0.15
    with pytest.raises(InvalidValue) as info:
        SpecConfig(key_share_min=0.5, key_share_max=0.4)
    assert info.value.field == "key_share_max"


texts = st.text(max_size=12)
arbitrary = st.builds(
    ItemContent, type=st.sampled_from(ItemType), element_code=texts,
    key=st.lists(st.sampled_from("ABCDEFT"), max_size=3).map(tuple),
    zh=st.builds(LanguageVariant, stem=texts, options=st.lists(st.tuples(st.sampled_from("ABCDEF"), texts), max_size=6).map(tuple),
                 explanation=texts),
    mn=st.none() | st.builds(LanguageVariant, stem=texts),
    difficulty_estimate=st.none() | st.floats(allow_nan=True), skill=st.none() | st.builds(SkillTaskDetail))


@settings(max_examples=200, deadline=None)
@given(arbitrary)
def test_check_item_never_raises(item):
    for finding in check_item(item, element_codes=CODES):
        assert finding.rule in RULES and finding.severity == RULES[finding.rule].severity


# --------------------------------------------------------------------------- bank

POOL = [chr(c) for c in random.Random(7).sample(range(0x4E00, 0x9FA5), 2500)]


def random_item(rng: random.Random, element: str, key: str | None = None) -> ItemContent:
    def text(lo, hi):
        return "".join(rng.choice(POOL) for _ in range(rng.randint(lo, hi)))
    options = tuple((letter, text(3, 6)) for letter in "ABCD")
    return ItemContent(type=ItemType.SINGLE_CHOICE, element_code=element, key=(key or rng.choice("ABCD"),),
                       zh=LanguageVariant(stem=f"下列关于{text(8, 20)}的说法，正确的是（　）", options=options),
                       difficulty_estimate=round(rng.uniform(0.3, 0.9), 2))


def bank(n: int, elements: int, seed: int = 1) -> list[tuple[str, ItemContent]]:
    rng = random.Random(seed)
    return [(f"Q{i:05d}", random_item(rng, f"E{i % elements:03d}", "ABCD"[i % 4])) for i in range(n)]


def rules_of(findings):
    return [f.rule for f in findings]


def test_near_duplicate_finds_the_planted_pairs_only():
    items = bank(2000, 40)
    original = items[123][1]
    reordered = zh(original, options=tuple(reversed(original.zh.options)))          # same text, options swapped
    edited = zh(original, stem=original.zh.stem.replace("（　）", "（　）？"))        # one character added
    other_element = replace(original, element_code="E999")
    items += [("PLANT1", reordered), ("PLANT2", edited), ("ELSEWHERE", other_element)]
    report = check_bank(items, min_items_per_element=1)
    pairs = {(p.first, p.second) for p in report.near_duplicates}
    assert pairs == {("Q00123", "PLANT1"), ("Q00123", "PLANT2"), ("PLANT1", "PLANT2")}
    assert all(p.element_code == original.element_code for p in report.near_duplicates)
    dup = [f for f in report.findings if f.rule == "near-duplicate"]
    assert len(dup) == 3 and all(f.severity == "warning" and f.field == "zh" for f in dup)
    assert "互斥组" in dup[0].message and "enemy group" in dup[0].message_en
    assert rules_of(report.item_findings["PLANT1"]).count("near-duplicate") == 2
    assert "near-duplicate" not in rules_of(report.item_findings["ELSEWHERE"])
    sim = {(p.first, p.second): p.similarity for p in report.near_duplicates}
    assert sim[("Q00123", "PLANT1")] == 1.0 and 0.85 <= sim[("Q00123", "PLANT2")] < 1.0


def test_near_duplicates_are_never_reported_across_elements():
    items = bank(200, 40)
    copies = [(f"C{i}", replace(content, element_code="X" + content.element_code)) for i, (_, content) in enumerate(items)]
    report = check_bank(items + copies, min_items_per_element=1)
    assert report.near_duplicates == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.frozensets(st.sampled_from("abcdefgh"), max_size=7), max_size=25), st.sampled_from([0.3, 0.5, 0.85, 1.0]))
def test_similarity_join_is_exact(sets, threshold):
    records = [(str(i), frozenset(s)) for i, s in enumerate(sets)]
    expected = {(a, b) for (a, x), (b, y) in combinations(records, 2) if x and y and jaccard(x, y) >= threshold}
    pairs, stats = similarity_join(records, threshold)
    assert {(p.first, p.second) for p in pairs} == expected
    assert stats.pairs == len(expected) and not stats.truncated


def test_shingles():
    assert shingles("安 培") == frozenset({"安培"})
    assert shingles(["电流单位", "AB"]) == frozenset({"电流单", "流单位", "ab"})
    assert jaccard(frozenset(), frozenset()) == 0.0


def test_near_duplicate_cost_is_not_quadratic_in_one_element():
    items = bank(10_000, 1)
    started = time.perf_counter()
    report = check_bank(items, min_items_per_element=1)
    elapsed = time.perf_counter() - started
    stats = report.near_duplicate_stats
    assert stats.records == 10_000
    assert stats.candidates <= 10 * stats.records      # all-pairs would be 49,995,000
    assert elapsed < 10, elapsed


def test_identical_items_are_capped_not_quadratic():
    item = SINGLE
    items = [(f"Q{i}", item) for i in range(3000)]  # 4.5 million pairs if listed
    report = check_bank(items, min_items_per_element=1, config=SpecConfig(near_duplicate_max_pairs=500))
    assert len(report.near_duplicates) == 500 and report.near_duplicate_stats.truncated
    assert rules_of(report.findings).count("near-duplicate") == 501


def test_key_balance_reports_shares_and_flags_outside_the_band():
    rng = random.Random(3)
    skewed = [(f"Q{i}", random_item(rng, "E1", "A" if i < 20 else "BCD"[i % 3])) for i in range(40)]
    report = check_bank(skewed, min_items_per_element=1)
    single = report.key_balance["single_choice"]
    assert single.total == 40 and single.counts["A"] == 20 and single.shares["A"] == 0.5
    flagged = [f for f in report.findings if f.rule == "key-balance"]
    assert flagged and all(f.severity == "warning" and f.field == "key" for f in flagged)
    assert any("A" in f.message_en and "50%" in f.message_en for f in flagged)
    balanced = check_bank(bank(40, 1), min_items_per_element=1)
    assert "key-balance" not in rules_of(balanced.findings)
    assert balanced.key_balance["single_choice"].shares == {"A": 0.25, "B": 0.25, "C": 0.25, "D": 0.25}
    few = check_bank(skewed[:10], min_items_per_element=1)  # below key_balance_min_items: report only
    assert "key-balance" not in rules_of(few.findings) and few.key_balance["single_choice"].total == 10
    tf = [(f"T{i}", TRUE_FALSE) for i in range(30)]
    assert "key-balance" in rules_of(check_bank(tf, min_items_per_element=1).findings)


def _cued(rng: random.Random, i: int, key_is_longest: bool) -> ItemContent:
    item = random_item(rng, "E1", "ABCD"[i % 4])
    key = item.key[0]
    longest = key if key_is_longest else "ABCD"[(i + 1) % 4]
    return zh(item, options=tuple((a, ("长" * 12) if a == longest else t) for a, t in item.zh.options))


def test_longest_option_cue_uses_the_binomial_test():
    rng = random.Random(5)
    items = [(f"Q{i}", _cued(rng, i, i % 10 < 6)) for i in range(100)]  # 60 % against chance 25 %
    report = check_bank(items, min_items_per_element=1)
    cue = report.longest_option_cue
    assert (cue.items, cue.hits) == (100, 60)
    assert cue.p_value == pytest.approx(binomtest(60, 100, 0.25, alternative="greater").pvalue)
    flagged = [f for f in report.findings if f.rule == "longest-option-cue"]
    assert len(flagged) == 1 and flagged[0].severity == "warning" and flagged[0].field == "zh.options"
    fair = [(f"Q{i}", _cued(rng, i, i % 4 == 0)) for i in range(100)]  # 25 %: chance
    assert "longest-option-cue" not in rules_of(check_bank(fair, min_items_per_element=1).findings)
    few = [(f"Q{i}", _cued(rng, i, True)) for i in range(4)]  # exact one-sided p = (1/4)^4
    assert check_bank(few, min_items_per_element=1).longest_option_cue.p_value == pytest.approx(0.25 ** 4)


def test_items_per_element_shortfalls():
    items = bank(10, 2)  # E000 and E001, 5 each
    report = check_bank(items, min_items_per_element={"E000": 4, "E001": 6, "E002": 4})
    assert report.items_per_element == {"E000": 5, "E001": 5}
    assert [(s.element_code, s.have, s.need) for s in report.shortfalls] == [("E001", 5, 6), ("E002", 0, 4)]
    flagged = [f for f in report.findings if f.rule == "element-shortfall"]
    assert len(flagged) == 2 and all(f.severity == "error" and f.field == "element_code" for f in flagged)
    assert check_bank(items, min_items_per_element=5).shortfalls == []
    assert [s.element_code for s in check_bank(items, element_codes={"E000", "E001", "E7"}).shortfalls] == ["E7"]


def test_difficulty_spread():
    items = [(f"Q{i}", replace(SINGLE, difficulty_estimate=0.6 + 0.01 * (i % 3))) for i in range(12)]
    report = check_bank(items, min_items_per_element=1, config=SpecConfig(near_duplicate_max_pairs=1))
    spread = report.difficulty
    assert spread.count == 12 and spread.minimum == 0.6 and spread.maximum == 0.62
    assert spread.mean == pytest.approx(0.61) and spread.sd < 0.1
    flagged = [f for f in report.findings if f.rule == "difficulty-spread"]
    assert len(flagged) == 1 and flagged[0].severity == "warning" and flagged[0].field == "difficulty_estimate"
    wide = check_bank(bank(20, 1), min_items_per_element=1)
    assert wide.difficulty.sd > 0.1 and "difficulty-spread" not in rules_of(wide.findings)


def test_check_bank_is_deterministic_and_keys_every_item():
    items = bank(300, 5) + [("bad", replace(SINGLE, element_code=""))]
    first, second = check_bank(items, element_codes={f"E{i:03d}" for i in range(5)}), check_bank(
        items, element_codes={f"E{i:03d}" for i in range(5)})
    assert first == second
    assert list(first.item_findings) == [item_id for item_id, _ in items]
    assert rules_of(first.item_findings["bad"]) == ["element-missing"]
    assert first.error_count == 1
    with pytest.raises(InvalidValue):
        check_bank(items + [items[0]])
