"""Exports of a run: every stored statistic, as an Excel workbook or as CSV tables.

The workbook has one sheet per table: ``forms`` (test statistics per form), ``items`` (every item
statistic: the columns of :class:`ItemStatistic`, every entry of its ``details``, the IRT standard
errors, the DIF class and D-DIF per grouping variable, the flag codes), ``distractors`` (one row per
option), ``flags`` (one row per flag, with its message, value and threshold) and ``notes``. The CSV
export gives one of these tables (``items`` by default), UTF-8 with a byte-order mark for Excel.
"""

from __future__ import annotations

import csv
import io
from typing import Any, Iterable

from openpyxl import Workbook

from examsvc.analysis.compute import DIF_VARIABLES
from examsvc.analysis.models import AnalysisRun, ItemStatistic

__all__ = ["TABLES", "tables", "to_csv", "to_xlsx", "ITEM_COLUMNS"]

TABLES = ("items", "distractors", "flags", "forms", "notes")

#: The item table's fixed columns (``details`` keys and DIF columns follow).
ITEM_COLUMNS = ("run_id", "item_id", "item_version_id", "item_type", "forms", "positions", "key", "n", "n_missing",
                "facility", "discrimination", "point_biserial", "discrimination_index", "irt_model", "irt_a",
                "irt_a_se", "irt_b", "irt_b_se", "irt_c", "irt_c_se", "infit", "outfit")
_FORM_COLUMNS = ("form_label", "paper_id", "title", "n", "n_items", "voided_positions", "alpha", "kr20", "sem",
                 "group_size", "mean", "sd", "skewness", "kurtosis", "minimum", "maximum", "median", "max_possible",
                 "irt_model", "loglik", "aic", "bic", "converged", "n_iterations", "marginal_reliability", "dif")
_SKIP_DETAILS = {"per_form", "icc_observed", "forms", "form", "paper_id", "position", "key"}


def _cell(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):
        return ";".join(f"{k}={v}" for k, v in value.items())
    return value


def _detail_keys(statistics: Iterable[ItemStatistic]) -> list[str]:
    keys: list[str] = []
    for statistic in statistics:
        for key in statistic.details:
            if key not in keys and key not in _SKIP_DETAILS:
                keys.append(key)
    return keys


def _positions(statistic: ItemStatistic) -> list[str]:
    details = statistic.details
    if "per_form" in details:
        return [f"{row['form']}{row['position']}" for row in details["per_form"]]
    return [f"{details.get('form', '')}{details.get('position', '')}"]


def tables(run: AnalysisRun, statistics: list[ItemStatistic]) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """Every table of the export as (header, rows)."""
    details = _detail_keys(statistics)
    dif_columns = [f"dif_{v}_{part}" for v in DIF_VARIABLES for part in ("class", "delta", "focal")]
    item_header = list(ITEM_COLUMNS) + details + dif_columns + ["flags"]
    items, options, flags = [], [], []
    for s in statistics:
        row: dict[str, Any] = {c: getattr(s, c, None) for c in ITEM_COLUMNS}
        row.update(forms=s.details.get("forms") or [s.details.get("form")], positions=_positions(s),
                   key=s.details.get("key") or (s.distractors or {}).get("key"))
        row.update({k: s.details.get(k) for k in details})
        for variable in DIF_VARIABLES:
            entry = s.dif.get(variable) or {}
            row.update({f"dif_{variable}_class": entry.get("class"), f"dif_{variable}_delta": entry.get("delta"),
                        f"dif_{variable}_focal": entry.get("focal")})
        row["flags"] = s.flag_codes
        items.append([_cell(row[c]) for c in item_header])
        for option in (s.distractors or {}).get("options", []):
            options.append([s.item_id, s.item_version_id, option["label"], option["is_key"], option["is_missing"],
                            option["count"], option["share"], option["share_upper"], option["share_lower"],
                            option["rest_correlation"]])
        for flag in s.flags:
            flags.append([s.item_id, s.item_version_id, flag.get("form"), flag["code"], flag["severity"],
                          flag["message"], flag["message_en"], flag.get("value"), flag.get("threshold")])
    forms, notes = [], []
    for form in (run.summary or {}).get("forms", []):
        test, score, irt = form.get("test") or {}, form.get("score") or {}, form.get("irt") or {}
        values = {**{k: form.get(k) for k in ("form_label", "paper_id", "title", "n", "n_items", "voided_positions")},
                  **{k: test.get(k) for k in ("alpha", "kr20", "sem", "group_size")},
                  **{k: score.get(k) for k in ("mean", "sd", "skewness", "kurtosis", "minimum", "maximum", "median",
                                               "max_possible")},
                  "irt_model": irt.get("model"), **{k: irt.get(k) for k in ("loglik", "aic", "bic", "converged",
                                                                            "n_iterations", "marginal_reliability")},
                  "dif": [d["variable"] for d in form.get("dif") or []]}
        forms.append([_cell(values[c]) for c in _FORM_COLUMNS])
        for note in form.get("notes", []):
            notes.append([form.get("form_label"), note.get("part"), note.get("code"), note.get("message"),
                          note.get("message_en"), _cell(note.get("positions") or [])])
    return {
        "items": (item_header, items),
        "distractors": (["item_id", "item_version_id", "option", "is_key", "is_missing", "count", "share",
                         "share_upper", "share_lower", "rest_correlation"], options),
        "flags": (["item_id", "item_version_id", "form", "code", "severity", "message", "message_en", "value",
                   "threshold"], flags),
        "forms": (list(_FORM_COLUMNS), forms),
        "notes": (["form", "part", "code", "message", "message_en", "positions"], notes),
    }


def to_xlsx(run: AnalysisRun, statistics: list[ItemStatistic]) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, (header, rows) in tables(run, statistics).items():
        sheet = workbook.create_sheet(name)
        sheet.append(header)
        for row in rows:
            sheet.append(row)
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def to_csv(run: AnalysisRun, statistics: list[ItemStatistic], table: str = "items") -> bytes:
    header, rows = tables(run, statistics)[table]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
