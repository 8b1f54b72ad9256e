"""Item flags with configurable thresholds (题目质量预警).

Every threshold lives in :class:`FlagThresholds` with its documented default; the service keeps
the configured values in its settings and passes them in. Severity: ``"error"`` means the item
should not be used as it stands (negative discrimination, probable miskey, DIF class C),
``"warning"`` asks a reviewer to look, ``"info"`` is for the record.

Default values and their sources:

* facility outside [0.20, 0.90]: too hard / too easy for a certification test whose target paper
  difficulty is about 0.65 (domain rules; Ebel & Frisbie 1991 ch. 13 for the usual range);
* corrected item-rest r below 0.20 (low) or below 0 (negative): Ebel's (1965) guidelines, where
  below 0.20 is "poor" and should be revised or discarded;
* probable miskey: a distractor with option-rest r >= 0.10 above the key's, while the key's is
  below 0.05 (see :mod:`.distractors`);
* non-functioning distractor: chosen by fewer than 5 % (Haladyna & Downing 1993); info only;
* missing answers above 10 % of examinees;
* ETS DIF class C (error); class B only when ``flag_dif_b`` is set (info);
* infit or outfit mean square outside [0.7, 1.3]: the range Wright, Linacre et al. (1994)
  give for high-stakes multiple-choice tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from itembank.psychometrics.distractors import MISKEY_DISTRACTOR_MIN_R, MISKEY_KEY_MAX_R

__all__ = ["FlagThresholds", "ItemFlag", "flag_items"]

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class FlagThresholds:
    """Thresholds of :func:`flag_items`; the defaults are documented in the module docstring."""

    facility_min: float = 0.20
    facility_max: float = 0.90
    item_rest_min: float = 0.20
    negative_item_rest: float = 0.0
    miskey_distractor_min_r: float = MISKEY_DISTRACTOR_MIN_R
    miskey_key_max_r: float = MISKEY_KEY_MAX_R
    distractor_min_share: float = 0.05
    missing_rate_max: float = 0.10
    flag_dif_b: bool = False
    fit_min: float = 0.7
    fit_max: float = 1.3


@dataclass(frozen=True)
class ItemFlag:
    """One finding about one item. ``value`` is the statistic, ``threshold`` the limit crossed."""

    item_index: int
    code: str
    severity: Severity
    message: str
    message_en: str
    value: float | str | None
    threshold: float | str | None
    item_name: str = ""


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def flag_items(stats: Any, thresholds: FlagThresholds | None = None, *, distractors: Any = None,
               irt: Any = None, dif: Any = None) -> list[ItemFlag]:
    """Flag items against ``thresholds``.

    Parameters
    ----------
    stats : FullReport or ClassicalResult
        A :class:`~.report.FullReport` brings its own distractor, IRT and DIF results; with a
        :class:`~.classical.ClassicalResult` pass them as keywords.
    thresholds : FlagThresholds, optional

    Returns
    -------
    list of ItemFlag, ordered by item then code. Codes: ``too_hard``, ``too_easy``,
    ``negative_discrimination``, ``low_discrimination``, ``probable_miskey``,
    ``nonfunctioning_distractor``, ``high_missing``, ``dif_c``, ``dif_b``, ``poor_fit``.
    """
    t = thresholds or FlagThresholds()
    classical = getattr(stats, "classical", stats)
    distractors = distractors if distractors is not None else getattr(stats, "distractors", None)
    irt = irt if irt is not None else getattr(stats, "irt", None)
    dif = dif if dif is not None else getattr(stats, "dif", None)
    names = classical.item_names
    out: list[ItemFlag] = []

    def add(j, code, severity, zh, en, value, threshold):
        out.append(ItemFlag(j, code, severity, zh, en, value, threshold, names[j]))

    for j in range(classical.n_items):
        p = float(classical.facility[j])
        if p < t.facility_min:
            add(j, "too_hard", "warning", f"难度值 p = {p:.3f} 低于 {t.facility_min}，题目过难",
                f"facility p = {p:.3f} is below {t.facility_min}: too hard", p, t.facility_min)
        elif p > t.facility_max:
            add(j, "too_easy", "warning", f"难度值 p = {p:.3f} 高于 {t.facility_max}，题目过易",
                f"facility p = {p:.3f} is above {t.facility_max}: too easy", p, t.facility_max)
        r = float(classical.item_rest[j])
        if _finite(r) and r < t.negative_item_rest:
            add(j, "negative_discrimination", "error",
                f"题-余相关 r = {r:.3f} 为负：高分者反而更易答错，请检查答案与题干",
                f"item-rest r = {r:.3f} is negative: stronger examinees do worse; check the key "
                "and the stem", r, t.negative_item_rest)
        elif _finite(r) and r < t.item_rest_min:
            add(j, "low_discrimination", "warning", f"题-余相关 r = {r:.3f} 低于 {t.item_rest_min}，区分度低",
                f"item-rest r = {r:.3f} is below {t.item_rest_min}: low discrimination", r,
                t.item_rest_min)
        miss = float(classical.missing_rate[j])
        if miss > t.missing_rate_max:
            add(j, "high_missing", "warning", f"缺答率 {miss:.1%} 高于 {t.missing_rate_max:.0%}",
                f"missing rate {miss:.1%} is above {t.missing_rate_max:.0%}", miss,
                t.missing_rate_max)
    if distractors is not None:
        for item in distractors.items:
            j = item.item_index
            best, key_r = item.best_distractor_rest_correlation, item.key_rest_correlation
            key_low = not _finite(key_r) or key_r < t.miskey_key_max_r
            if (item.best_distractor is not None and _finite(best)
                    and best >= t.miskey_distractor_min_r and key_low
                    and (not _finite(key_r) or best > key_r)):
                add(j, "probable_miskey", "error",
                    f"干扰项 {item.best_distractor} 与其余题总分正相关（r = {best:.3f}），而答案 "
                    f"{item.key} 不是：可能答案有误",
                    f"distractor {item.best_distractor} correlates positively with the rest score "
                    f"(r = {best:.3f}) while the key {item.key} does not: probable miskey",
                    best, t.miskey_distractor_min_r)
            for opt in item.options:
                if not opt.is_key and not opt.is_missing and opt.share < t.distractor_min_share:
                    add(j, "nonfunctioning_distractor", "info",
                        f"干扰项 {opt.label} 仅 {opt.share:.1%} 的考生选择，未起干扰作用",
                        f"distractor {opt.label} was chosen by only {opt.share:.1%}: it does not "
                        "distract", opt.share, t.distractor_min_share)
    if dif is not None:
        for result in (dif if isinstance(dif, (list, tuple)) else [dif]):
            for comp in result.comparisons:
                for j, cls in enumerate(comp.ets_class):
                    if cls is None or cls == "A" or (cls[0] == "B" and not t.flag_dif_b):
                        continue
                    d = float(comp.delta_mh[j])
                    favoured = comp.reference if d < 0 else comp.focal
                    code, sev = ("dif_c", "error") if cls[0] == "C" else ("dif_b", "info")
                    add(j, code, sev,
                        f"{result.variable}：{comp.focal} 对 {comp.reference} 的 DIF 为 ETS {cls} 类"
                        f"（MH D-DIF = {d:.2f}，有利于 {favoured}）",
                        f"{result.variable}: DIF of {comp.focal} vs {comp.reference} is ETS class "
                        f"{cls} (MH D-DIF = {d:.2f}, favouring {favoured})", d, cls[0])
    if irt is not None:
        for j in range(len(irt.infit)):
            for label, value in (("infit", float(irt.infit[j])), ("outfit", float(irt.outfit[j]))):
                if _finite(value) and not t.fit_min <= value <= t.fit_max:
                    limit = t.fit_min if value < t.fit_min else t.fit_max
                    add(j, "poor_fit", "warning",
                        f"{label} 均方 {value:.2f} 超出 [{t.fit_min}, {t.fit_max}]，题目与模型拟合不佳",
                        f"{label} mean square {value:.2f} is outside [{t.fit_min}, {t.fit_max}]: "
                        "poor fit to the model", value, limit)
    out.sort(key=lambda f: (f.item_index, f.code))
    return out
