"""The full report, flags, and every bad-input case of the issue."""

import io
import json
import math

import numpy as np
import pytest

from itembank.errors import InvalidValue
from itembank.psychometrics import (FlagThresholds, GroupSpec, analyse, classical_statistics,
                                    fit_irt, flag_items)

from ._sim import LETTERS, choice_codes, dichotomous, load_lsat, standard_normal


def dumps(report) -> str:
    """JSON with NaN forbidden: a NaN anywhere would raise here."""
    return json.dumps(report.to_json(), ensure_ascii=False, allow_nan=False)


def nulls_explained(doc) -> None:
    """Every null item statistic is named by a note about that item (or a fixed parameter)."""
    noted = {}
    for note in doc["notes"]:
        for j in note["items"] or range(len(doc["items"])):
            noted.setdefault(j, set()).add(note["code"])
    for row in doc["items"]:
        for key, value in row.items():
            if value is None:
                assert row["index"] in noted, (row["index"], key)


@pytest.fixture(scope="module")
def raw_exam():
    rng = np.random.default_rng(17)
    n, k = 1200, 12
    scored = dichotomous(rng, standard_normal(rng, n), rng.uniform(0.8, 2, k),
                         rng.normal(0, 1, k))
    key_index = rng.integers(0, 4, k)
    raw = choice_codes(rng, scored, key_index)
    raw[rng.random(raw.shape) < 0.02] = ""
    key = LETTERS[key_index].copy()
    key[2] = LETTERS[(key_index[2] + 1) % 4]
    lang = np.where(rng.random(n) < 0.5, "zh", "mn")
    return raw, key, lang


def test_full_report_from_raw_codes(raw_exam):
    raw, key, lang = raw_exam
    report = analyse(raw, key=key, options="ABCD", groups={"language": GroupSpec(lang, "zh")},
                     item_names=[f"Q{i + 1}" for i in range(12)], include_examinees=True)
    doc = json.loads(dumps(report))
    assert doc["schema"] == "itembank.psychometrics.report/1"
    assert doc["test"]["n_examinees"] == 1200 and doc["test"]["kr20"] == doc["test"]["alpha"]
    assert len(doc["items"]) == 12 and doc["items"][0]["name"] == "Q1"
    assert {"facility", "item_rest", "discrimination_index", "irt"} <= set(doc["items"][0])
    assert doc["distractors"][2]["probable_miskey"] is True
    assert [o["label"] for o in doc["distractors"][0]["options"]] == ["A", "B", "C", "D",
                                                                      "(missing)"]
    assert doc["dif"][0]["variable"] == "language"
    assert "probable_miskey" in doc["items"][2]["flags"]
    assert len(doc["examinees"]["theta"]) == 1200
    nulls_explained(doc)


def test_flags_follow_thresholds(raw_exam):
    raw, key, _ = raw_exam
    report = analyse(raw, key=key, irt_model=None)
    codes = {(f.item_index, f.code) for f in report.flags}
    assert (2, "probable_miskey") in codes and (2, "negative_discrimination") in codes
    strict = flag_items(report, FlagThresholds(facility_min=0.0, facility_max=1.0,
                                               item_rest_min=0.99, negative_item_rest=-1.0,
                                               miskey_distractor_min_r=0.99,
                                               distractor_min_share=0.0))
    assert {f.code for f in strict} == {"low_discrimination"}
    assert all(f.threshold == 0.99 and f.message and f.message_en for f in strict)
    loose = flag_items(report.classical, FlagThresholds(facility_min=0.0, facility_max=1.0,
                                                        item_rest_min=-1, negative_item_rest=-1,
                                                        missing_rate_max=1.0))
    assert loose == []


def test_fit_and_dif_flags():
    rng = np.random.default_rng(4)
    n, k = 1000, 15
    x = dichotomous(rng, standard_normal(rng, n), np.ones(k), np.linspace(-1.5, 1.5, k))
    x[:, 0] = dichotomous(rng, x.sum(axis=1) / 5.0 - 1.5, np.array([8.0]), np.array([0.0]))[:, 0]
    irt = fit_irt(x, "rasch")
    flags = flag_items(classical_statistics(x), irt=irt)
    assert any(f.code == "poor_fit" and f.item_index == 0 for f in flags)


def test_scored_and_polytomous_input():
    lsat = analyse(load_lsat("lsat6"))
    assert lsat.classical.alpha == pytest.approx(0.294997, abs=1e-6)
    assert lsat.irt.loglik == pytest.approx(-2466.653, abs=1e-3)
    assert {f.code for f in lsat.flags} >= {"too_easy"}
    rng = np.random.default_rng(9)
    theta = standard_normal(rng, 300)
    skill = np.clip(np.round(3 + 2 * theta[:, None] + rng.normal(0, 1.2, (300, 4))), 0, 6)
    report = analyse(skill, max_scores=6, irt_model="2pl")
    assert report.irt.model == "grm"
    assert "irt.model_switched" in {n["code"] for n in report.all_notes()}
    json.loads(dumps(report))


# --- Bad input: documented behaviour, never NaN without a note, never a crash. -------------

def test_constant_columns_are_noted():
    x = load_lsat("lsat7").copy()
    x[:, 1] = 1
    doc = json.loads(dumps(analyse(x)))
    assert doc["items"][1]["item_rest"] is None and doc["items"][1]["point_biserial"] is None
    codes = {n["code"]: n["items"] for n in doc["notes"]}
    assert codes["item.constant"] == [1]
    assert codes["item.excluded_no_variance"] == [1]
    assert doc["items"][1]["irt"]["a"] is None
    nulls_explained(doc)


def test_all_correct_and_all_wrong_examinees_are_kept():
    x = load_lsat("lsat6").copy()
    x[:10] = 1
    x[10:20] = 0
    report = analyse(x)
    assert report.classical.n_examinees == 1000
    assert np.all(np.isfinite(report.irt.theta))
    assert report.irt.theta[0] > report.irt.theta[500] > report.irt.theta[15]
    json.loads(dumps(report))


def test_single_examinee_is_a_clear_error():
    with pytest.raises(InvalidValue) as err:
        analyse(np.array([[1, 0, 1]]))
    assert err.value.code == "responses.too_few_examinees"
    with pytest.raises(InvalidValue) as err:
        analyse(np.array([["A", "B"]]), key=["A", "B"])
    assert err.value.code == "responses.too_few_examinees"


def test_two_examinees_give_a_report_with_notes():
    report = analyse(np.array([[1, 0, 1], [0, 0, 1]]))
    doc = json.loads(dumps(report))
    codes = {n["code"] for n in doc["notes"]}
    assert {"item.constant", "irt.small_sample"} <= codes
    nulls_explained(doc)


def test_missing_values_everywhere():
    x = load_lsat("lsat7").astype(float)
    x[np.random.default_rng(1).random(x.shape) < 0.05] = np.nan
    x[:, 4] = np.nan
    doc = json.loads(dumps(analyse(x)))
    assert doc["items"][4]["n_missing"] == 1000
    assert doc["items"][4]["facility"] == 0.0
    codes = {n["code"]: n["items"] for n in doc["notes"]}
    assert 4 in codes["item.constant"] and 4 in codes["item.excluded_no_variance"]
    assert "high_missing" in doc["items"][4]["flags"]


@pytest.mark.parametrize("data, kwargs, code", [
    (np.array([[0, 1, 2], [1, 0, 1]]), {}, "responses.out_of_range"),
    (np.array([[0, 1, -3], [1, 0, 1]]), {}, "responses.out_of_range"),
    (np.array([[0, 0.5], [1, 0]]), {}, "responses.not_integer"),
    (np.array([[0, "x"], [1, 0]], dtype=object), {}, "responses.not_numeric"),
    (np.array([0, 1, 1]), {}, "responses.shape"),
    (np.zeros((5, 0)), {}, "responses.shape"),
    (np.zeros((5, 2)), {"item_names": ["a"]}, "responses.item_names"),
    (np.zeros((5, 2)), {"irt_model": "4pl"}, "irt_model.choice"),
    (np.zeros((5, 2)), {"max_scores": [1, 0]}, "responses.max_scores"),
    (np.array([[0, 1], [1, 0]] * 30), {"groups": {"sex": GroupSpec(["m", "f"] * 29, "m")}},
     "group.length"),
])
def test_invalid_input_raises_clear_errors(data, kwargs, code):
    with pytest.raises(InvalidValue) as err:
        analyse(data, **kwargs)
    assert err.value.code == code
    assert err.value.message and err.value.message_en


def test_nothing_calibratable_is_a_note_not_a_crash():
    report = analyse(np.ones((50, 4)))
    assert report.irt is None
    assert "irt.skipped" in {n["code"] for n in report.all_notes()}
    doc = json.loads(dumps(report))
    assert doc["test"]["alpha"] is None
    assert "alpha.undefined" in {n["code"] for n in doc["notes"]}


def test_json_has_no_nan_for_lsat7_report():
    text = dumps(analyse(load_lsat("lsat7"), irt_model="3pl"))
    assert "NaN" not in text and not math.isnan(json.loads(text)["test"]["alpha"])


def test_csv_scored_and_raw(tmp_path):
    from itembank.psychometrics import read_response_csv
    path = tmp_path / "scored.csv"
    path.write_text("\ufeffQ1,Q2,Q3\n1,0,1\n0,,1\n1,1,0\n0,0,0\n", encoding="utf-8")
    table = read_response_csv(path)
    assert table.item_names == ("Q1", "Q2", "Q3")
    report = analyse(table.cells, item_names=table.item_names, irt_model=None)
    assert report.classical.n_missing.tolist() == [0, 1, 0]
    raw = read_response_csv(io.StringIO("Q1,Q2\nA, B\nC,\nA,D\n"))
    report = analyse(raw.cells, key=["A", "B"], item_names=raw.item_names, irt_model=None)
    assert report.classical.facility.tolist() == pytest.approx([2 / 3, 1 / 3])
    missing = report.distractors.items[1].options[-1]
    assert missing.is_missing and missing.count == 1
    with pytest.raises(InvalidValue) as err:
        analyse(raw.cells, irt_model=None)                       # raw codes without a key
    assert err.value.code == "responses.not_numeric"
    with pytest.raises(InvalidValue) as err:
        read_response_csv(io.StringIO("Q1,Q2\n1,0\n1\n"))
    assert err.value.code == "csv.row_length" and "3" in err.value.message_en
    with pytest.raises(InvalidValue) as err:
        read_response_csv(io.StringIO("Q1,Q2\n"))
    assert err.value.code == "csv.empty"
