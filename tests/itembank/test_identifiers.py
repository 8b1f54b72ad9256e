"""Institution codes (人社鉴发〔2019〕2号) and resident ID numbers (GB 11643-1999)."""

import pickle
import string
from datetime import date

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from itembank.errors import InvalidValue
from itembank.identifiers import (
    birth_date_from_resident_id,
    institution_kind_of,
    mask_resident_id,
    normalise_institution_code,
    normalise_resident_id,
    resident_id_check_character,
    to_half_width,
    validate_institution_code,
    validate_resident_id,
)
from itembank.levels import InstitutionKind

TODAY = date(2026, 11, 26)
WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]  # ISO 7064 MOD 11-2, derived independently


def independent_check(first17: str) -> str:
    """Check character from ISO 7064 MOD 11-2 directly: the full number's weighted sum is 1."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS))
    value = (1 - total) % 11  # the check character has weight 1 and value 10 for X
    return "X" if value == 10 else str(value)


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@st.composite
def resident_ids(draw):
    region = draw(st.integers(100000, 999999))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
    sequence = draw(st.integers(0, 999))
    body = f"{region}{born:%Y%m%d}{sequence:03d}"
    return body + resident_id_check_character(body)


def rejected(value: str) -> InvalidValue:
    with pytest.raises(InvalidValue) as info:
        validate_resident_id(value, today=TODAY)
    assert info.value.field == "id_number"
    return info.value


# --- resident ID numbers ---------------------------------------------------------------------

def test_known_example_is_valid():
    assert validate_resident_id("11010519491231002X", today=TODAY) == "11010519491231002X"
    assert resident_id_check_character("11010519491231002") == "X"
    assert birth_date_from_resident_id("11010519491231002X", today=TODAY) == date(1949, 12, 31)


def test_weights_and_mapping_are_the_published_ones():
    assert WEIGHTS == [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


@given(st.text(alphabet=string.digits, min_size=17, max_size=17))
def test_check_character_matches_an_independent_mod_11_2(body):
    assert resident_id_check_character(body) == independent_check(body)


@pytest.mark.parametrize("body", ["1234567890123456", "123456789012345678", "1234567890123456a",
                                  "１２３４５６７８９０１２３４５６７"])
def test_check_character_needs_seventeen_ascii_digits(body):
    with pytest.raises(InvalidValue):
        resident_id_check_character(body)


@given(resident_ids(), st.sampled_from(["", " ", "\t", "\u3000", " \n"]), st.booleans(),
       st.booleans())
def test_valid_numbers_round_trip_through_normalise_and_validate(number, pad, lower, wide):
    typed = number.lower() if lower else number
    typed = full_width(typed) if wide else typed
    typed = f"{pad}{typed}{pad}"
    assert normalise_resident_id(typed) == number
    assert validate_resident_id(typed, today=TODAY) == number
    assert birth_date_from_resident_id(typed, today=TODAY) == date(
        int(number[6:10]), int(number[10:12]), int(number[12:14]))


@given(resident_ids(), st.integers(0, 17), st.characters(codec="utf-8"))
def test_any_single_character_substitution_is_rejected(number, position, replacement):
    mutated = number[:position] + replacement + number[position + 1:]
    # Substitutions that normalise back to the same number ("x" for "X", a full-width digit for
    # its ASCII digit) are the same number; every other change must be caught.
    assume(normalise_resident_id(mutated) != number)
    rejected(mutated)


@given(resident_ids(), st.integers(0, 16), st.integers(0, 9))
def test_mod_11_2_alone_catches_every_digit_substitution_in_the_body(number, position, digit):
    # Weights are non-zero mod 11 and a digit change is 1..9, so the weighted sum always moves.
    assume(str(digit) != number[position])
    body = number[:position] + str(digit) + number[position + 1:17]
    assert resident_id_check_character(body) != number[17]


@given(resident_ids(), st.integers(0, 16))
def test_transpositions_of_adjacent_distinct_characters_are_caught(number, position):
    a, b = number[position], number[position + 1]
    assume(a != b)
    rejected(number[:position] + b + a + number[position + 2:])


def test_each_rule_has_its_own_code():
    good = "11010519491231002X"
    assert rejected("1101051949123100").code == "id_number.length"
    assert rejected(good + "1").code == "id_number.length"
    assert rejected("").code == "id_number.length"
    assert rejected("1101051949123100XX").code == "id_number.characters"
    assert rejected("11010519491231002Y").code == "id_number.characters"
    assert rejected("1101051949123100٢X").code == "id_number.characters"  # Arabic-Indic two
    body = "010105194912310021"
    assert rejected(body[:17] + resident_id_check_character(body[:17])).code == "id_number.region"
    for born in ("19490230", "19491301", "00000101"):
        body = f"110105{born}002"
        assert rejected(body + resident_id_check_character(body)).code == "id_number.birth_date"
    for born in ("18991231", "20261127"):
        body = f"110105{born}002"
        number = body + resident_id_check_character(body)
        assert rejected(number).code == "id_number.birth_date_range"
    assert rejected("110105194912310021").code == "id_number.check_character"
    with pytest.raises(InvalidValue) as info:
        validate_resident_id(11010519491231002, today=TODAY)
    assert info.value.code == "id_number.type"


def test_birth_date_today_is_accepted_and_today_defaults_to_the_real_date():
    body = f"150102{TODAY:%Y%m%d}123"
    number = body + resident_id_check_character(body)
    assert validate_resident_id(number, today=TODAY) == number
    future = f"150102{date.today().year + 1}0101123"
    with pytest.raises(InvalidValue) as info:
        validate_resident_id(future + resident_id_check_character(future))
    assert info.value.code == "id_number.birth_date_range"


def test_mask_shows_first_four_and_last_four():
    assert mask_resident_id(" 15010219900101123x ") == "1501**********123X"
    assert mask_resident_id("11010519491231002X") == "1101**********002X"


@given(resident_ids())
def test_mask_hides_the_birth_date_and_keeps_length(number):
    masked = mask_resident_id(number)
    assert len(masked) == 18 and masked[4:14] == "*" * 10
    assert masked[:4] == number[:4] and masked[-4:] == number[-4:]


@pytest.mark.parametrize("value", ["", "1501021990010112", "15010219900101123X1"])
def test_mask_refuses_values_that_are_not_eighteen_characters(value):
    with pytest.raises(InvalidValue) as info:
        mask_resident_id(value)
    assert info.value.code == "id_number.length"


# --- institution codes -----------------------------------------------------------------------

@st.composite
def institution_codes(draw):
    prefix = draw(st.sampled_from("YS"))
    digits = draw(st.text(alphabet=string.digits, min_size=12, max_size=12))
    return prefix + digits


@given(institution_codes(), st.booleans(), st.booleans(), st.sampled_from(["", " ", "\u3000"]))
def test_institution_codes_round_trip(code, lower, wide, pad):
    typed = code.lower() if lower else code
    typed = f"{pad}{full_width(typed) if wide else typed}{pad}"
    assert normalise_institution_code(typed) == code
    assert validate_institution_code(typed) == code
    kind = institution_kind_of(typed)
    assert kind.code_prefix == code[0]
    assert validate_institution_code(typed, kind) == code


def test_inner_mongolia_example():
    assert validate_institution_code("S000015000001", InstitutionKind.SOCIAL_ORGANISATION)
    assert institution_kind_of("y000015000123") is InstitutionKind.EMPLOYER


@given(institution_codes())
def test_prefix_must_match_the_kind(code):
    other = next(k for k in InstitutionKind if k.code_prefix != code[0])
    with pytest.raises(InvalidValue) as info:
        validate_institution_code(code, other)
    assert info.value.field == "institution_code"
    assert info.value.code == "institution_code.kind_mismatch"
    with pytest.raises(InvalidValue) as info:
        validate_institution_code(code, "hospital")
    assert info.value.field == "institution_kind"


@given(st.text())
def test_random_text_is_refused_unless_it_is_a_code(text):
    import re
    if re.fullmatch(r"[YS][0-9]{12}", to_half_width(text).strip().upper()):
        assert validate_institution_code(text)
    else:
        with pytest.raises(InvalidValue) as info:
            validate_institution_code(text)
        assert info.value.code == "institution_code.format"


@pytest.mark.parametrize("code", ["S00001500000", "S0000150000011", "X000015000001",
                                  "S00001500000A", "SS00015000001", "S 000015000001",
                                  "S000015000001\n1", "S00001500000¹", "S00001500000١"])
def test_near_misses_are_refused(code):
    with pytest.raises(InvalidValue) as info:
        validate_institution_code(code)
    assert info.value.code == "institution_code.format"


def test_invalid_value_is_a_value_error_and_pickles():
    with pytest.raises(ValueError) as info:
        validate_institution_code("nope")
    error = info.value
    assert str(error).startswith("institution_code: ")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.field, copy.code, copy.message, copy.message_en) == (
        error.field, error.code, error.message, error.message_en)
