"""From a form's option codes to stored rows: the library's :func:`analyse`, the option trace lines
and observed ICC points it does not keep, and the pooling of an item version seen on several forms.

Scoring is dichotomous: 1 for exactly the key, also for multiple choice when the blueprint gives
partial credit (item analysis asks "did the candidate know the answer", and the library's IRT and
DIF models are for 0/1 items). No database here: arrays in, plain dicts out.

Pooling (an item version on several forms of the run; seat rotation makes the forms' groups
randomly equivalent, so each form's N(0, 1) ability metric is the same population's):
``n`` and facility are exact pooled values; correlations are averaged through Fisher's z weighted
by n; IRT parameters are inverse-variance weighted (n-weighted when a standard error is missing);
the DIF class per variable is the worst over the forms; flags are the union (each names its form).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from examsvc.analysis.responses import FormResponses
from itembank.errors import ItemBankError
from itembank.psychometrics import FlagThresholds, GroupSpec, SampleMinimums, analyse, test_information, to_jsonable
from itembank.psychometrics.irt import IRTResult

__all__ = ["FormAnalysis", "analyse_form", "pool_rows", "thresholds_from", "minimums_from", "THETA_GRID",
           "DIF_VARIABLES"]

#: Ability points of the stored test information curve.
THETA_GRID = np.round(np.linspace(-4.0, 4.0, 81), 2)
DIF_VARIABLES = ("language", "gender", "institution")
_CLASS_RANK = {None: 0, "A": 1, "B": 2, "C": 3}
_ROW_KEYS = ("facility", "item_mean", "item_sd", "point_biserial", "item_rest", "upper_facility",
             "lower_facility", "discrimination_index", "discriminative_efficiency", "alpha_if_deleted",
             "n_missing", "missing_rate")
_IRT_KEYS = ("a", "b", "c", "d", "se_a", "se_b", "se_c", "se_d", "infit", "outfit", "infit_z", "outfit_z")


def thresholds_from(config: Mapping[str, Any]) -> FlagThresholds:
    """The flag thresholds of the service's settings (``ANALYSIS_*``)."""
    return FlagThresholds(
        facility_min=float(config["ANALYSIS_FACILITY_MIN"]), facility_max=float(config["ANALYSIS_FACILITY_MAX"]),
        item_rest_min=float(config["ANALYSIS_DISCRIMINATION_MIN"]),
        miskey_distractor_min_r=float(config["ANALYSIS_MISKEY_DISTRACTOR_MIN_R"]),
        miskey_key_max_r=float(config["ANALYSIS_MISKEY_KEY_MAX_R"]),
        missing_rate_max=float(config["ANALYSIS_MISSING_RATE_MAX"]),
        fit_min=float(config["ANALYSIS_FIT_MIN"]), fit_max=float(config["ANALYSIS_FIT_MAX"]))


#: The settings of :class:`SampleMinimums`, by its field names.
MINIMUM_SETTINGS = {"classical": "ANALYSIS_MIN_N_CLASSICAL_FLAGS", "rasch": "ANALYSIS_MIN_N_RASCH",
                    "two_pl": "ANALYSIS_MIN_N_2PL", "three_pl": "ANALYSIS_MIN_N_3PL"}


def minimums_from(config: Mapping[str, Any]) -> SampleMinimums:
    """The smallest samples of the service's settings (``ANALYSIS_MIN_N_*``), each at least 2."""
    from examsvc.errors import ValidationFailed

    values = {}
    for field, setting in MINIMUM_SETTINGS.items():
        value = config[setting]
        if isinstance(value, bool) or not isinstance(value, int) or value < 2:
            raise ValidationFailed(f"{setting} 应为不小于 2 的整数", f"{setting} must be a whole number of at least 2",
                                   field=setting)
        values[field] = value
    return SampleMinimums(**values)


@dataclass
class FormAnalysis:
    """One form's results: ``summary`` (test level, JSON) and ``items`` (item version id -> row)."""

    summary: dict[str, Any]
    items: dict[int, dict[str, Any]]


def _groups(form: FormResponses, min_group: int) -> tuple[dict[str, GroupSpec], list[dict[str, Any]]]:
    """DIF variables with at least two groups of ``min_group`` candidates; smaller groups are left out."""
    specs: dict[str, GroupSpec] = {}
    used = []
    for variable in DIF_VARIABLES:
        labels = getattr(form, variable)
        present = [v for v in labels if v is not None]
        values, counts = np.unique(np.array([str(v) for v in present], dtype=object), return_counts=True) \
            if present else (np.array([]), np.array([]))
        big = {str(v): int(c) for v, c in zip(values, counts) if c >= min_group}
        if len(big) < 2:
            continue
        reference = "zh" if variable == "language" and "zh" in big else max(big, key=lambda v: (big[v], v))
        kept = np.array([str(v) if v is not None and str(v) in big else None for v in labels], dtype=object)
        specs[variable] = GroupSpec(kept, reference)
        used.append({"variable": variable, "reference": reference, "groups": big})
    return specs, used


def _rank_groups(values: np.ndarray, count: int) -> np.ndarray:
    """Group index 0..count-1 by rank (ties split by row order), equal-sized groups."""
    order = np.argsort(values, kind="stable")
    groups = np.empty(len(values), dtype=np.int64)
    groups[order] = np.arange(len(values)) * count // len(values)
    return groups


def _trace(codes: np.ndarray, labels: list[str], totals: np.ndarray) -> dict[str, Any]:
    """Share of each option in total-score groups (quintiles when there are enough candidates)."""
    count = int(min(5, max(1, len(totals) // 20)))
    groups = _rank_groups(totals, count)
    sizes = np.bincount(groups, minlength=count).astype(float)
    mean_total = np.bincount(groups, weights=totals, minlength=count) / sizes
    shares = {}
    for label in labels:
        chosen = codes == ("" if label == "(missing)" else label)
        shares[label] = (np.bincount(groups, weights=chosen, minlength=count) / sizes).round(4).tolist()
    return {"score": mean_total.round(3).tolist(), "n": sizes.astype(int).tolist(), "shares": shares}


def _observed_icc(scored: np.ndarray, theta: np.ndarray) -> dict[str, Any]:
    """Observed proportion right in ability groups (deciles when there are enough candidates)."""
    count = int(min(10, max(1, len(theta) // 50)))
    groups = _rank_groups(theta, count)
    sizes = np.bincount(groups, minlength=count).astype(float)
    return {"theta": (np.bincount(groups, weights=theta, minlength=count) / sizes).round(4).tolist(),
            "p": (np.bincount(groups, weights=scored, minlength=count) / sizes).round(4).tolist(),
            "n": sizes.astype(int).tolist()}


def analyse_form(form: FormResponses, *, irt_model: str | None, thresholds: FlagThresholds,
                 dif_min_group: int, minimums: SampleMinimums | None = None) -> FormAnalysis:
    """Analyse one form (see the module docstring); a form that cannot be analysed gets a note.
    Below ``minimums`` the statistics the sample is too small for are left out, with a note."""
    label = form.paper.form_label
    base = {"paper_id": form.paper.id, "form_label": label, "title": form.paper.title, "n": form.n,
            "n_items": len(form.positions), "session_ids": form.session_ids,
            "voided_positions": form.voided_positions}
    if form.n < 2 or not form.positions:
        note = {"code": "form.too_few", "message": f"{label}卷作答人数不足，未分析",
                "message_en": f"form {label}: too few candidates or items to analyse", "items": []}
        return FormAnalysis({**base, "analysed": False, "notes": [note]}, {})
    groups, used = _groups(form, max(20, dif_min_group))
    try:
        report = analyse(form.codes, key=form.keys, item_names=[str(p) for p in form.positions],
                         irt_model=irt_model, groups=groups, thresholds=thresholds, minimums=minimums)
    except ItemBankError as exc:
        note = {"code": getattr(exc, "code", "analysis.failed"), "message": getattr(exc, "message", str(exc)),
                "message_en": getattr(exc, "message_en", str(exc)), "items": []}
        return FormAnalysis({**base, "analysed": False, "notes": [note]}, {})
    c = report.classical
    irt = report.irt if isinstance(report.irt, IRTResult) else None
    scored = (form.codes == np.array(form.keys)[None, :]).astype(float)
    totals = scored.sum(axis=1)
    summary = {**base, "analysed": True, "test": to_jsonable(
        {k: getattr(c, k) for k in ("n_examinees", "n_items", "alpha", "kr20", "sem", "group_size")}),
        "score": to_jsonable(c.score), "dif": used, "irt": None, "information": None,
        "notes": [{**n, "positions": [form.positions[j] for j in n.get("items") or []]} for n in report.all_notes()]}
    if irt is not None:
        summary["irt"] = to_jsonable({k: getattr(irt, k) for k in (
            "model", "loglik", "aic", "bic", "n_parameters", "n_iterations", "converged", "se_method",
            "marginal_reliability", "latent_sd")})
        summary["information"] = {"theta": THETA_GRID.tolist(),
                                  "information": to_jsonable(test_information(irt, THETA_GRID).round(5))}
    items: dict[int, dict[str, Any]] = {}
    for j, version_id in enumerate(form.item_version_ids):
        row = {k: getattr(c, k)[j].item() for k in _ROW_KEYS}
        row.update(form=label, paper_id=form.paper.id, position=form.positions[j], n=form.n,
                   item_type=form.item_types[j], key=form.keys[j])
        if irt is not None:
            row.update(irt_model=irt.model, **{f"irt_{k}": getattr(irt, k)[j].item() for k in _IRT_KEYS})
            row["icc_observed"] = _observed_icc(scored[:, j], irt.theta)
        row["dif"] = _item_dif(report.dif, j)
        row["flags"] = [{**{k: v for k, v in to_jsonable(f).items() if k not in ("item_index", "item_name")},
                         "form": label} for f in report.flags if f.item_index == j]
        if report.distractors is not None:
            table = report.distractors.items[j]
            options = to_jsonable(table.options)
            row["distractors"] = {"key": table.key, "options": options, "probable_miskey": table.probable_miskey,
                                  "trace": _trace(form.codes[:, j], [o["label"] for o in options], totals)}
        items[version_id] = to_jsonable(row)
    return FormAnalysis(summary, items)


def _item_dif(dif_results: Any, j: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for result in dif_results:
        comparisons = []
        for comp in result.comparisons:
            cls = comp.ets_class[j]
            comparisons.append({"reference": comp.reference, "focal": comp.focal, "class": cls,
                                "delta": _num(comp.delta_mh[j]), "p": _num(comp.p_value[j])})
        worst = max(comparisons, key=lambda x: _CLASS_RANK[x["class"][0] if x["class"] else None], default=None)
        if worst is not None:
            out[result.variable] = {"class": worst["class"], "delta": worst["delta"], "focal": worst["focal"],
                                    "reference": worst["reference"], "comparisons": comparisons}
    return out


def _num(x: Any) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _weighted(values: list[Any], weights: list[float]) -> float | None:
    pairs = [(float(v), w) for v, w in zip(values, weights) if v is not None and math.isfinite(float(v))]
    return sum(v * w for v, w in pairs) / sum(w for _, w in pairs) if pairs else None


def _fisher(values: list[Any], weights: list[float]) -> float | None:
    z = [None if v is None else math.atanh(max(-0.999999, min(0.999999, float(v)))) for v in values]
    mean = _weighted(z, weights)
    return None if mean is None else math.tanh(mean)


def _inverse_variance(values: list[Any], ses: list[Any], weights: list[float]) -> tuple[float | None, float | None]:
    pairs = [(v, s) for v, s in zip(values, ses) if v is not None]
    if pairs and all(s is not None and s > 0 for _, s in pairs):
        w = [1 / s ** 2 for _, s in pairs]
        return sum(v * wi for (v, _), wi in zip(pairs, w)) / sum(w), math.sqrt(1 / sum(w))
    return _weighted(values, weights), None


def pool_rows(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One row for an item version from its rows on several forms (see the module docstring)."""
    if len(rows) == 1:
        return {**rows[0], "forms": [rows[0]["form"]]}
    n = [float(r["n"]) for r in rows]
    out: dict[str, Any] = {"n": int(sum(n)), "n_missing": int(sum(r["n_missing"] for r in rows)),
                           "item_type": rows[0]["item_type"], "key": rows[0]["key"],
                           "forms": [r["form"] for r in rows], "per_form": rows}
    out["facility"] = _weighted([r["facility"] for r in rows], n)
    out["missing_rate"] = out["n_missing"] / out["n"]
    for key in ("item_rest", "point_biserial"):
        out[key] = _fisher([r.get(key) for r in rows], n)
    for key in ("item_mean", "item_sd", "upper_facility", "lower_facility", "discrimination_index",
                "discriminative_efficiency", "alpha_if_deleted", "irt_infit", "irt_outfit", "irt_infit_z",
                "irt_outfit_z"):
        out[key] = _weighted([r.get(key) for r in rows], n)
    if any(r.get("irt_model") for r in rows):
        out["irt_model"] = next(r["irt_model"] for r in rows if r.get("irt_model"))
        for key in ("a", "b", "c", "d"):
            out[f"irt_{key}"], out[f"irt_se_{key}"] = _inverse_variance(
                [r.get(f"irt_{key}") for r in rows], [r.get(f"irt_se_{key}") for r in rows], n)
        largest = max(rows, key=lambda r: r["n"])
        out["icc_observed"] = largest.get("icc_observed")
    dif: dict[str, Any] = {}
    for r in rows:
        for variable, entry in r.get("dif", {}).items():
            cls = entry["class"][0] if entry["class"] else None
            held = dif.get(variable)
            if held is None or _CLASS_RANK[cls] > _CLASS_RANK[held["class"][0] if held["class"] else None]:
                dif[variable] = {**entry, "form": r["form"]}
    out["dif"] = dif
    out["flags"] = [f for r in rows for f in r.get("flags", [])]
    tables = [r["distractors"] for r in rows if r.get("distractors")]
    if tables:
        out["distractors"] = _pool_distractors(tables, [r["n"] for r in rows if r.get("distractors")])
    return out


def _pool_distractors(tables: list[dict[str, Any]], n: list[int]) -> dict[str, Any]:
    merged: dict[str, dict[str, Any]] = {}
    for table, size in zip(tables, n):
        for option in table["options"]:
            entry = merged.setdefault(option["label"], {**option, "count": 0, "_w": []})
            entry["count"] += option["count"]
            entry["_w"].append((option, size))
    total = sum(n)
    options = []
    for label in sorted(merged, key=lambda x: (x == "(missing)", x)):
        entry = merged[label]
        pairs = entry.pop("_w")
        parts, weights = [o for o, _ in pairs], [float(s) for _, s in pairs]
        entry.update(share=entry["count"] / total,
                     share_upper=_weighted([o["share_upper"] for o in parts], weights),
                     share_lower=_weighted([o["share_lower"] for o in parts], weights),
                     rest_correlation=_fisher([o["rest_correlation"] for o in parts], weights))
        options.append(entry)
    largest = tables[int(np.argmax(n))]
    return {"key": tables[0]["key"], "options": options, "probable_miskey": any(t["probable_miskey"] for t in tables),
            "trace": largest["trace"]}
