"""One call for the whole analysis of a response file, and its JSON form.

:func:`analyse` takes either a scored matrix (0/1, or integer scores with ``max_scores``) or raw
option codes plus a key, and runs classical statistics, the distractor analysis (raw codes only),
an IRT calibration, Mantel-Haenszel DIF for each grouping variable given, and the item flags.
:meth:`FullReport.to_json` returns every test and item statistic, the distractor tables, the flags
and the notes as one JSON-able dict (NaN becomes ``null``, always with a note explaining it).

A step that cannot run on otherwise valid data (e.g. no item with variance for IRT) leaves its
part ``None`` and adds a note instead of failing the whole report; input that is wrong as such
(bad shape, codes, group vectors) raises :class:`~itembank.errors.InvalidValue`.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence

import numpy as np

from itembank.errors import InvalidValue, ItemBankError
from itembank.psychometrics._common import Note, as_score_matrix, check_group_vector, to_jsonable
from itembank.psychometrics.classical import GROUP_FRACTION, ClassicalResult, classical_statistics
from itembank.psychometrics.dif import DIFResult, mantel_haenszel_dif
from itembank.psychometrics.distractors import (DistractorResult, ScoredResponses,
                                                distractor_analysis, score_responses)
from itembank.psychometrics.flags import FlagThresholds, ItemFlag, flag_items
from itembank.psychometrics.irt import IRTResult, fit_irt
from itembank.psychometrics.polytomous import PolytomousResult, fit_polytomous
from itembank.psychometrics.samples import SampleMinimums

__all__ = ["FullReport", "GroupSpec", "ResponseTable", "analyse", "read_response_csv",
           "REPORT_SCHEMA"]

REPORT_SCHEMA = "itembank.psychometrics.report/1"


@dataclass(frozen=True)
class GroupSpec:
    """A grouping variable for DIF: one label per examinee and the reference label."""

    labels: Sequence[Any]
    reference: Any
    focal: Sequence[Any] | None = None


@dataclass(frozen=True, eq=False)
class FullReport:
    classical: ClassicalResult
    distractors: DistractorResult | None
    irt: IRTResult | PolytomousResult | None
    dif: tuple[DIFResult, ...]
    flags: tuple[ItemFlag, ...]
    thresholds: FlagThresholds
    notes: tuple[Note, ...] = ()
    include_examinees: bool = False
    totals: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def to_json(self) -> dict[str, Any]:
        """Every statistic as plain JSON types (see the module docstring)."""
        c = self.classical
        items = [c.item_row(j) for j in range(c.n_items)]
        irt_json = None
        if self.irt is not None:
            irt = self.irt
            if isinstance(irt, IRTResult):
                for j, row in enumerate(items):
                    row["irt"] = {k: v for k, v in irt.item_row(j).items() if k not in ("index", "name")}
            else:
                for j, row in enumerate(items):
                    row["irt"] = {"a": irt.a[j].item(), "se_a": irt.se_a[j].item(),
                                  "thresholds": irt.thresholds[j], "se_thresholds":
                                  irt.se_thresholds[j], "category_scores": irt.category_scores[j],
                                  "infit": irt.infit[j].item(), "outfit": irt.outfit[j].item()}
            skip = {"a", "b", "c", "d", "se_a", "se_b", "se_c", "se_d", "infit", "outfit",
                    "infit_z", "outfit_z", "theta", "theta_se", "thresholds", "se_thresholds",
                    "intercepts", "category_scores", "item_names", "quadrature_weights", "notes"}
            irt_json = {k: v for k, v in to_jsonable(irt).items() if k not in skip}
        for flag in self.flags:
            items[flag.item_index].setdefault("flags", []).append(flag.code)
        test = {k: getattr(c, k) for k in ("n_examinees", "n_items", "alpha", "kr20", "sem",
                                           "group_fraction", "group_size", "missing")}
        test["score"] = c.score
        out = {
            "schema": REPORT_SCHEMA,
            "test": test,
            "items": items,
            "distractors": None if self.distractors is None else self.distractors.items,
            "irt": irt_json,
            "dif": self.dif,
            "flags": self.flags,
            "thresholds": self.thresholds,
            "notes": self.all_notes(),
        }
        if self.include_examinees:
            out["examinees"] = {"total": self.totals,
                                "theta": None if self.irt is None else self.irt.theta,
                                "theta_se": None if self.irt is None else self.irt.theta_se}
        return to_jsonable(out)

    def all_notes(self) -> list[dict[str, Any]]:
        """Every note of every part, tagged with the part it came from."""
        parts: list[tuple[str, Any]] = [("report", self), ("classical", self.classical),
                                        ("distractors", self.distractors), ("irt", self.irt)]
        parts += [(f"dif:{d.variable}", d) for d in self.dif]
        parts += [(f"dif:{d.variable}:{c.focal}", c) for d in self.dif for c in d.comparisons]
        out = []
        for name, part in parts:
            for note in getattr(part, "notes", ()) if part is not None else ():
                out.append({"part": name, **to_jsonable(note)})
        return out


@dataclass(frozen=True, eq=False)
class ResponseTable:
    """A response CSV as read: the header's item names and the cells as stripped text."""

    item_names: tuple[str, ...]
    cells: np.ndarray


def read_response_csv(source: str | Path | io.TextIOBase) -> ResponseTable:
    """Read a CSV with a header row (item names) and one examinee per row.

    Cells hold scored answers (``0``/``1`` or integer scores) or raw option codes; a blank cell
    is a missing answer. A UTF-8 byte-order mark (Excel) is ignored. Pass the result's
    ``cells`` and ``item_names`` to :func:`analyse` (with ``key`` for raw codes).

    Raises
    ------
    InvalidValue
        ``csv.empty`` (no header or no examinee), ``csv.row_length`` (a row with a different
        number of cells than the header; the message gives its line number).
    """
    if isinstance(source, (str, Path)):
        with open(source, encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
    else:
        rows = list(csv.reader(source))
        if rows and rows[0] and rows[0][0].startswith("\ufeff"):
            rows[0][0] = rows[0][0][1:]
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if len(rows) < 2:
        raise InvalidValue("csv", "csv.empty", "CSV 需要表头行和至少一行考生作答",
                           "the CSV needs a header row and at least one examinee")
    header = tuple(cell.strip() for cell in rows[0])
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise InvalidValue("csv", "csv.row_length",
                               f"第 {line} 行有 {len(row)} 个单元格，表头有 {len(header)} 个",
                               f"line {line} has {len(row)} cells, the header {len(header)}")
    cells = np.char.strip(np.array(rows[1:], dtype=str))
    return ResponseTable(header, cells)


def analyse(data: Any, *, key: Sequence[Any] | None = None,
            max_scores: Sequence[int] | int | None = None,
            item_names: Sequence[str] | None = None, missing_code: Any = "",
            options: Sequence[str] | None = None,
            missing: Literal["incorrect", "listwise"] = "incorrect",
            irt_model: str | None = "2pl", groups: Mapping[str, GroupSpec] | None = None,
            thresholds: FlagThresholds | None = None, group_fraction: float = GROUP_FRACTION,
            include_examinees: bool = False, minimums: SampleMinimums | None = None) -> FullReport:
    """Analyse a response matrix end to end.

    Parameters
    ----------
    data : array_like, shape (n_examinees, n_items)
        Scored answers (0/1; integer scores with ``max_scores``), or raw option codes when
        ``key`` is given (see :func:`~.distractors.score_responses`).
    key : sequence, optional
        Keys of the items; switches to raw-code input and enables the distractor analysis.
    irt_model : {"rasch", "2pl", "3pl", "grm", "gpcm", "pcm"} or None
        Dichotomous models need 0/1 items; ``None`` skips IRT. With polytomous items a
        dichotomous choice falls back to ``"grm"`` (note ``irt.model_switched``).
    groups : mapping of variable name to GroupSpec, optional
        DIF variables, e.g. ``{"language": GroupSpec(langs, reference="zh")}`` (0/1 items only).
    thresholds : FlagThresholds, optional
    minimums : SampleMinimums, optional
        Smallest samples (see :mod:`.samples`). Below ``classical`` the reliability (alpha,
        KR-20, SEM, alpha-if-deleted) is NaN and no item is flagged; below the IRT model's
        minimum no IRT model is fitted; each with a ``sample.too_small`` note. ``None``: no
        minimums (every statistic the data allow).

    Raises
    ------
    InvalidValue
        Invalid input (shape, codes, key length, group vectors ...).
    """
    notes: list[Note] = []
    thresholds = thresholds or FlagThresholds()
    n_rows = data.shape[0] if hasattr(data, "shape") else len(data)
    for variable, spec in (groups or {}).items():      # fail fast, before any calibration
        check_group_vector(spec.labels, n_rows, field="group")
    distractors = None
    if key is not None:
        scored: ScoredResponses = score_responses(data, key, missing_code=missing_code,
                                                  options=options, item_names=item_names)
        matrix = scored.matrix
        distractors = distractor_analysis(scored, group_fraction=group_fraction,
                                          miskey_distractor_min_r=thresholds.miskey_distractor_min_r,
                                          miskey_key_max_r=thresholds.miskey_key_max_r)
    else:
        matrix = as_score_matrix(data, max_scores=max_scores, item_names=item_names)
    classical = classical_statistics(matrix, missing=missing, group_fraction=group_fraction)
    n = classical.n_examinees
    classical_small = minimums is not None and n < minimums.classical
    if classical_small:
        classical = replace(classical, alpha=float("nan"), kr20=None if classical.kr20 is None else float("nan"),
                            sem=float("nan"), alpha_if_deleted=np.full(classical.n_items, np.nan))
        notes.append(Note("sample.too_small", f"作答人数 {n} 少于 {minimums.classical}，样本太小：不报告信度"
                          "（α、KR-20、测量标准误），不做题目预警",
                          f"{n} examinees, fewer than {minimums.classical}: the sample is too small for "
                          "reliability (alpha, KR-20, SEM) and item flags, which are not reported"))
    irt = None
    if irt_model is not None:
        model = irt_model.lower()
        if model not in ("rasch", "2pl", "3pl", "grm", "gpcm", "pcm"):
            raise InvalidValue("irt_model", "irt_model.choice", f"未知的 IRT 模型 {irt_model!r}",
                               f"unknown IRT model {irt_model!r}")
        if not matrix.dichotomous and model in ("rasch", "2pl", "3pl"):
            notes.append(Note("irt.model_switched", f"含多级计分题，{model} 改用等级反应模型 grm",
                              f"the test has polytomous items: {model} replaced by the graded "
                              "response model"))
            model = "grm"
        if minimums is not None and n < minimums.for_irt(model):
            need = minimums.for_irt(model)
            notes.append(Note("sample.too_small", f"作答人数 {n} 少于 {need}，样本太小：不做 {model.upper()} "
                              "IRT 分析", f"{n} examinees, fewer than {need}: the sample is too small for "
                              f"the {model.upper()} IRT model, which is not fitted"))
            model = None
        try:
            if model is None:
                pass
            elif model in ("rasch", "2pl", "3pl"):
                irt = fit_irt(matrix, model)
            else:
                irt = fit_polytomous(matrix, model, max_scores=matrix.max_scores)
        except ItemBankError as exc:
            notes.append(Note("irt.skipped", f"未进行 IRT 分析：{getattr(exc, 'message', exc)}",
                              f"IRT was not run: {getattr(exc, 'message_en', exc)}"))
    dif_results = []
    for variable, spec in (groups or {}).items():
        if not matrix.dichotomous:
            notes.append(Note("dif.skipped", f"{variable}：MH DIF 只用于 0/1 计分题，已跳过",
                              f"{variable}: Mantel-Haenszel DIF needs 0/1 items; skipped"))
            continue
        dif_results.append(mantel_haenszel_dif(matrix, spec.labels, reference=spec.reference,
                                               focal=spec.focal, variable=variable))
    flags = [] if classical_small else flag_items(classical, thresholds, distractors=distractors, irt=irt,
                                                  dif=tuple(dif_results))
    totals = np.where(matrix.scores < 0, 0, matrix.scores).sum(axis=1) if include_examinees \
        else np.zeros(0)
    return FullReport(classical, distractors, irt, tuple(dif_results), tuple(flags), thresholds,
                      tuple(notes), include_examinees, totals)
