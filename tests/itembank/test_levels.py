"""Skill levels and seed Art. 20 (第二十条)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from itembank.errors import InvalidValue
from itembank.levels import (
    EIGHT_LEVELS,
    FIVE_LEVELS,
    InstitutionKind,
    Level,
    allowed_levels,
    check_level_allowed,
    parse_institution_kind,
    parse_level,
)

CERTIFICATE_NAMES = {
    Level.L5: "五级/初级工",
    Level.L4: "四级/中级工",
    Level.L3: "三级/高级工",
    Level.L2: "二级/技师",
    Level.L1: "一级/高级技师",
    Level.APPRENTICE: "学徒工",
    Level.SPECIAL: "特级技师",
    Level.CHIEF: "首席技师",
}


def test_chinese_names_are_the_certificate_wording():
    assert {level: level.name_zh for level in Level} == CERTIFICATE_NAMES


def test_english_names():
    assert Level.L5.name_en == "Level 5 / Junior worker"
    assert Level.L1.name_en == "Level 1 / Senior technician"
    assert len({level.name_en for level in Level}) == 8


def test_ranks_order_the_eight_levels_from_apprentice_to_chief():
    assert [level.rank for level in EIGHT_LEVELS] == list(range(8))
    assert sorted(Level, key=lambda level: level.rank) == list(EIGHT_LEVELS)
    assert EIGHT_LEVELS[0] is Level.APPRENTICE and EIGHT_LEVELS[-1] is Level.CHIEF
    assert EIGHT_LEVELS[1:6] == FIVE_LEVELS


def test_certificate_digit_is_one_for_level_one_and_none_outside_the_five():
    assert [level.certificate_digit for level in FIVE_LEVELS] == [5, 4, 3, 2, 1]
    for level in (Level.APPRENTICE, Level.SPECIAL, Level.CHIEF):
        assert level.certificate_digit is None


def test_level_is_a_string_with_its_stored_value():
    assert Level.L4 == "4" and isinstance(Level.L4, str)
    assert f"{Level.L4}" == "4" and str(Level.SPECIAL) == "special"
    assert Level("apprentice") is Level.APPRENTICE


def test_institution_kind_code_prefixes():
    assert InstitutionKind.EMPLOYER.code_prefix == "Y"
    assert InstitutionKind.SOCIAL_ORGANISATION.code_prefix == "S"
    assert InstitutionKind("social_organisation") is InstitutionKind.SOCIAL_ORGANISATION


def test_allowed_levels_follow_article_20():
    assert allowed_levels(InstitutionKind.SOCIAL_ORGANISATION) == FIVE_LEVELS
    assert allowed_levels(InstitutionKind.EMPLOYER) == EIGHT_LEVELS
    assert allowed_levels("employer") == EIGHT_LEVELS


@pytest.mark.parametrize("level", [Level.APPRENTICE, Level.SPECIAL, Level.CHIEF])
def test_social_organisations_cannot_certify_the_employer_only_levels(level):
    with pytest.raises(InvalidValue) as info:
        check_level_allowed(InstitutionKind.SOCIAL_ORGANISATION, level)
    assert info.value.field == "level"
    assert info.value.code == "level.not_allowed_for_kind"
    assert "第二十条" in info.value.message
    assert "Art. 20" in info.value.message_en
    assert str(info.value).startswith("level: ")


@given(st.sampled_from(list(Level)))
def test_employers_may_certify_all_eight_levels(level):
    assert check_level_allowed(InstitutionKind.EMPLOYER, level) is level


@given(st.sampled_from(FIVE_LEVELS))
def test_social_organisations_may_certify_the_five_levels(level):
    assert check_level_allowed("social_organisation", level.name_zh) is level


def test_unknown_institution_kind_is_refused():
    with pytest.raises(InvalidValue) as info:
        allowed_levels("school")
    assert info.value.field == "institution_kind"
    assert parse_institution_kind("employer") is InstitutionKind.EMPLOYER


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5", Level.L5), ("L5", Level.L5), ("l5", Level.L5), ("五级", Level.L5),
        ("初级工", Level.L5), ("五级/初级工", Level.L5), ("初级工（五级）", Level.L5),
        ("  ５级 ", Level.L5), ("Ｌ４", Level.L4), ("中级工", Level.L4), ("高级工", Level.L3),
        ("技师", Level.L2), ("二级/技师", Level.L2), ("高级技师", Level.L1), ("一级", Level.L1),
        ("apprentice", Level.APPRENTICE), ("学徒工", Level.APPRENTICE), ("CHIEF", Level.CHIEF),
        ("首席技师", Level.CHIEF), ("特级技师", Level.SPECIAL), ("Level 3 / Senior worker", Level.L3),
        (3, Level.L3), (Level.L2, Level.L2),
    ],
)
def test_parse_level_accepts_the_usual_forms(text, expected):
    assert parse_level(text) is expected


@pytest.mark.parametrize("value", ["", "6", "0", "L6", "六级", "级", "技", "高级", "5|4", None, 5.0,
                                   True, 6, b"5", "apprentices"])
def test_parse_level_refuses_anything_else(value):
    with pytest.raises(InvalidValue) as info:
        parse_level(value)
    assert info.value.field == "level"
    assert info.value.code == "level.unknown"


@given(st.sampled_from(list(Level)))
def test_every_level_round_trips_through_its_names(level):
    for form in (level.value, level.name, level.name_zh, level.name_en):
        assert parse_level(form) is level
