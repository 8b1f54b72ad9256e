"""Explain, in the domain's words, why the bank cannot satisfy a specification.

Two stages (Chinese message first, English beside it, machine fields for callers):

1. :func:`precheck` counts without a solver: usable items per type, per allocation node
   (counting at most ``m × forms`` per element), covered elements, single-choice keys, and the
   difficulty reachable with the type and scope counts alone. With ``F`` forms that share no
   items every need is multiplied by ``F``. Each lack is a :class:`Shortfall` naming what is
   short and by how much; an unreachable difficulty is a :class:`Conflict`.
2. :func:`explain` runs when the counts suffice but the solver proves the model infeasible:
   every rule's rows get priced slack columns (the *elastic* programme; Chinneck,
   *Feasibility and Infeasibility in Optimization*, 2008, ch. 7) and the cheapest relaxed forms
   measure the minimal shortfall: which rule gives way, in which form, by how much. Then, for
   each rule that gave way, the other rules are dropped one at a time from the strict model;
   a rule whose removal makes it feasible is named as the partner in the conflict.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from itembank.assembly.candidates import Candidates
from itembank.assembly.errors import Conflict, Shortfall
from itembank.assembly.model import build_model, solve
from itembank.assembly.spec import AssemblySpec

__all__ = ["explain", "precheck", "TYPE_NAMES", "RULE_NAMES"]

TYPE_NAMES = {"true_false": ("判断题", "true/false items"),
              "single_choice": ("单选题", "single-choice items"),
              "multiple_choice": ("多选题", "multiple-choice items"),
              "skill_task": ("操作技能题", "skill tasks")}
RULE_NAMES = {"type_count": ("题型题量", "the item type counts"),
              "scope_count": ("鉴定范围题量", "the scope counts"),
              "coverage": ("鉴定点覆盖率", "the element coverage"),
              "element_max": ("每个鉴定点的题数上限", "the per-element maximum"),
              "key_balance": ("单选题答案分布", "the key balance"),
              "enemy": ("互斥题规则", "the enemy groups"),
              "overlap": ("试卷间重复题上限", "the overlap limit between forms"),
              "difficulty": ("难度范围", "the difficulty band")}
REASON_NAMES = {"not_approved": ("未审核通过", "not approved"), "retired": ("已停用", "retired"),
                "no_difficulty": ("无难度值", "without a difficulty"),
                "unknown_element": ("鉴定点不在蓝图中", "with an element outside the blueprint"),
                "no_key": ("单选题无有效答案", "single-choice without a key A-D"),
                "exposure": ("近期已使用或曝光率过高", "recently used or over-exposed")}

#: Slack prices per unit: items for counts, elements for coverage, 0.01 of mean difficulty.
PENALTIES = {"type_count": 100.0, "scope_count": 100.0, "coverage": 100.0, "element_max": 100.0,
             "enemy": 10.0, "overlap": 10.0, "key_balance": 1.0, "difficulty": 100.0}
#: Order in which partners of a conflict are tried.
PARTNER_ORDER = ("scope_count", "type_count", "coverage", "element_max", "key_balance", "enemy",
                 "overlap", "difficulty")


def _type(t: str) -> tuple[str, str]:
    return TYPE_NAMES.get(t, (t, f"{t} items"))


def _forms_factor(spec: AssemblySpec) -> int:
    """Forms that need distinct items: all of them without overlap, else at least one."""
    return spec.forms if spec.max_overlap == 0 else 1


def _excluded_note(c: Candidates) -> tuple[str, str]:
    parts = [(n, REASON_NAMES[r]) for r, n in c.excluded.items() if n]
    if not parts:
        return "", ""
    return ("（另有 " + "、".join(f"{n} 道{zh}" for n, (zh, _) in parts) + "）",
            " (left out: " + ", ".join(f"{n} {en}" for n, (_, en) in parts) + ")")


def precheck(c: Candidates, spec: AssemblySpec) -> list:
    """Shortfalls and conflicts visible by counting; empty when the counts suffice.

    Returns
    -------
    list of Shortfall or Conflict
    """
    F = _forms_factor(spec)
    forms_zh = f"{spec.forms} 套" if F > 1 else ""
    forms_en = f" for {spec.forms} forms" if F > 1 else ""
    note_zh, note_en = _excluded_note(c)
    out: list = []
    types = [t for t, _ in spec.type_counts]
    if len(c) == 0:
        for t, n in spec.type_counts:
            if n:
                zh, en = _type(t)
                out.append(Shortfall(
                    "pool", f"题库中没有可用的{zh}（已审核、未停用）：{forms_zh}试卷需要 {F * n} 道{note_zh}",
                    f"the bank has no usable approved {en}; the paper needs {F * n}{forms_en}{note_en}",
                    have=0, need=F * n, type=t))
        return out
    have_type = np.bincount(c.type_idx, minlength=len(types))
    for k, (t, n) in enumerate(spec.type_counts):
        if have_type[k] < F * n:
            zh, en = _type(t)
            out.append(Shortfall(
                "type_count", f"{zh}不足：{forms_zh}试卷需要 {F * n} 道，题库只有 {have_type[k]} 道可用{note_zh}",
                f"not enough {en}: {F * n} needed{forms_en}, the bank has {have_type[k]} usable{note_en}",
                have=int(have_type[k]), need=F * n, type=t))
    m = spec.max_items_per_element
    avail = np.bincount(c.element_idx, minlength=len(spec.elements))
    index = {e: i for i, e in enumerate(spec.elements)}
    for target in spec.scope_targets:
        if target.count == 0:
            continue
        elems = np.array([index[e] for e in target.elements])
        usable = int(np.minimum(avail[elems], m * F).sum())
        if usable >= F * target.count:
            continue
        short = [(spec.elements[e], int(avail[e])) for e in elems if avail[e] < m * F]
        short.sort(key=lambda pair: pair[1])
        listed_zh = ("；" + "、".join(f"{code} 只有 {k} 道" for code, k in short[:5])) if short else ""
        listed_en = ("; " + ", ".join(f"{code} has {k}" for code, k in short[:5])) if short else ""
        single = len(target.elements) == 1
        if single:
            out.append(Shortfall(
                "scope_count",
                f"鉴定点 {spec.name_of(target.code)} 可用试题不足：{forms_zh}试卷需要 {F * target.count} 道，"
                f"题库只有 {usable} 道{note_zh}",
                f"element {target.code} lacks approved items: {F * target.count} needed{forms_en}, "
                f"the bank has {usable}{note_en}",
                have=usable, need=F * target.count, scope=target.code, element=target.code))
        else:
            cap_zh = f"（每个鉴定点最多计 {m * F} 道）" if m * F < max(avail[elems].max(), 1) else ""
            out.append(Shortfall(
                "scope_count",
                f"鉴定范围 {spec.name_of(target.code)} 可用试题不足：{forms_zh}试卷需要 {F * target.count} 道，"
                f"题库只有 {usable} 道{cap_zh}{listed_zh}{note_zh}",
                f"scope {target.code} lacks approved items: {F * target.count} needed{forms_en}, "
                f"the bank has {usable} usable (at most {m * F} per element){listed_en}{note_en}",
                have=usable, need=F * target.count, scope=target.code,
                element=short[0][0] if short else None))
    covered = int(np.minimum(avail, F).sum())
    need_cov = F * spec.coverage_needed
    if covered < need_cov:
        empty = [e for e, k in zip(spec.elements, avail) if k == 0]
        out.append(Shortfall(
            "coverage",
            f"鉴定点覆盖率无法达到：每套需覆盖 {spec.coverage_needed} 个鉴定点，"
            f"{len(empty)} 个鉴定点没有可用试题（如 {'、'.join(empty[:5])}）",
            f"coverage cannot be met: each form must cover {spec.coverage_needed} elements, "
            f"{len(empty)} elements have no usable items (e.g. {', '.join(empty[:5])})",
            have=covered, need=need_cov, element=empty[0] if empty else None))
    if spec.single_choice_count:
        low, _ = spec.key_count_bounds
        keys = np.bincount(c.key_idx[c.key_idx >= 0], minlength=len(spec.key_letters))
        for letter, k in zip(spec.key_letters, keys):
            if k < F * low:
                out.append(Shortfall(
                    "key_balance",
                    f"答案为 {letter} 的单选题不足：{forms_zh}试卷至少需要 {F * low} 道，题库只有 {k} 道",
                    f"not enough single-choice items keyed {letter}: at least {F * low} needed"
                    f"{forms_en}, the bank has {k}",
                    have=int(k), need=F * low, type="single_choice", key=letter))
    if not out:
        out.extend(_difficulty_bounds(c, spec, F))
    return out


def _cell_means(c: Candidates, spec: AssemblySpec) -> list[tuple[float, str, str, float, int]]:
    """``(expected items, scope, type, bank mean, usable)`` per allocation node × item type."""
    share = np.array([n for _, n in spec.type_counts], float) / max(spec.item_count, 1)
    cells = []
    for s, target in enumerate(spec.scope_targets):
        for t, (type_, _) in enumerate(spec.type_counts):
            sel = (c.scope_idx == s) & (c.type_idx == t)
            if target.count and share[t] and sel.any():
                cells.append((target.count * share[t], target.code, type_, float(c.p[sel].mean()),
                              int(sel.sum())))
    return cells


def _worst_cell(c: Candidates, spec: AssemblySpec, too_hard: bool):
    cells = _cell_means(c, spec)
    if not cells:
        return None
    t = spec.target_difficulty
    return max(cells, key=lambda cell: cell[0] * ((t - cell[3]) if too_hard else (cell[3] - t)))


SEVERAL = ("其他多条规则", "several other rules together")


def _rules(group: str, partner: str | None) -> tuple[str, ...]:
    return (group, partner) if partner else (group,)


def _fmt(x: float) -> str:
    """A proportion with two decimals, or three when two would hide it (0.005)."""
    text = f"{x:.3f}"
    return text[:-1] if text.endswith("0") else text


def _difficulty_message(spec, c, reached, too_hard, partner, form=None):
    t, tol = spec.target_difficulty, spec.difficulty_tolerance
    cell = _worst_cell(c, spec, too_hard)
    p_zh, p_en = RULE_NAMES.get(partner, SEVERAL)
    word_zh, word_en = ("最高", "highest") if too_hard else ("最低", "lowest")
    zh = (f"难度 {_fmt(t)} ± {_fmt(tol)} 无法满足：在{p_zh}的要求下，平均难度{word_zh}只能达到 "
          f"{_fmt(reached)}")
    en = (f"difficulty {_fmt(t)} ± {_fmt(tol)} cannot be met: with {p_en} the {word_en} mean "
          f"difficulty reachable is {_fmt(reached)}")
    if cell is not None:
        type_zh, type_en = _type(cell[2])
        zh += f"；题库中鉴定范围 {spec.name_of(cell[1])} 的{type_zh}平均难度 {cell[3]:.2f}"
        en += f"; the bank's {type_en} for scope {cell[1]} average {cell[3]:.2f}"
    return Conflict(_rules("difficulty", partner), zh, en, have=round(reached, 4),
                    need=round(t - tol if too_hard else t + tol, 4), form=form,
                    type=cell[2] if cell else None, scope=cell[1] if cell else None)


def _difficulty_bounds(c: Candidates, spec: AssemblySpec, F: int) -> list:
    """The highest and lowest point-weighted mean any ``F`` disjoint forms can reach, given only
    the type counts (then only the scope counts): take the easiest (hardest) items of each."""
    t, tol = spec.target_difficulty, spec.difficulty_tolerance
    vp = c.points * c.p
    out = []
    for rule, groups, counts in (
            ("type_count", c.type_idx, [n for _, n in spec.type_counts]),
            ("scope_count", c.scope_idx, [s.count for s in spec.scope_targets])):
        high = low = weight = 0.0
        for g, n in enumerate(counts):
            if not n:
                continue
            sel = np.flatnonzero(groups == g)
            order = np.argsort(c.p[sel])
            k = F * n
            if len(sel) < k:
                break
            easiest, hardest = sel[order[-k:]], sel[order[:k]]
            high += vp[easiest].sum()
            low += vp[hardest].sum()
            weight += c.points[easiest].sum() / 2 + c.points[hardest].sum() / 2
        else:
            if weight == 0:
                continue
            if high / weight < t - tol - 1e-9:
                return [_difficulty_message(spec, c, high / weight, True, rule)]
            if low / weight > t + tol + 1e-9:
                return [_difficulty_message(spec, c, low / weight, False, rule)]
    return out


def explain(c: Candidates, spec: AssemblySpec, *, time_limit: float, seed: int = 0,
            union: bool = False) -> list:
    """Measure the minimal shortfall with the elastic programme and name conflicting rules.

    Parameters
    ----------
    c : Candidates
    spec : AssemblySpec
    time_limit : float
        Seconds for the relaxation and the partner searches together.
    seed : int
    union : bool
        Explain the union model of all forms (``multiplicity=[F]``; far smaller) instead of the
        simultaneous one; the numbers are then those of the forms together.

    Returns
    -------
    list of Shortfall or Conflict
        At least one entry; a generic conflict when the relaxation could not be solved in time.
    """
    started = time.perf_counter()
    mult = [spec.forms] if union else None
    model = build_model(c, spec, objective=False, multiplicity=mult)
    present = set(model.row_group) & set(PENALTIES)
    # Difficulty slack in units of mean difficulty (the union's row sums k forms).
    scale = model.difficulty_scale * (spec.forms if union else 1)
    scales = {r: scale for r, g in enumerate(model.row_group) if g == "difficulty"}
    model.relax({g: PENALTIES[g] for g in present}, scales)
    sol = solve(model, time_limit=time_limit, mip_rel_gap=1e-6, seed=seed)
    if sol.x is None:
        return [_unknown(time_limit)]
    violated: dict[tuple[str, object], tuple[float, int, int, int]] = {}
    for col, (row, sign) in model.slack.items():
        amount = float(sol.x[col])
        if amount <= 1e-6:
            continue
        group = model.row_group[row]
        form, subject = model.row_label[row]
        key = (group, subject)
        if key not in violated or amount > violated[key][0]:
            violated[key] = (amount, sign, form if form is not None else -1, row)
    if not violated:
        return [_unknown(time_limit)]
    partners: dict[str, list[str]] = {}
    for group in sorted({g for g, _ in violated}, key=PARTNER_ORDER.index):
        partners[group] = []
        for other in PARTNER_ORDER:
            if other == group or other not in present:
                continue
            left = time_limit - (time.perf_counter() - started)
            if left <= 0.05:
                break
            trial = build_model(c, spec, objective=False, drop=frozenset({other}), multiplicity=mult)
            if solve(trial, time_limit=left, seed=seed).x is not None:
                partners[group].append(other)
                break
    out = []
    k = spec.forms if union else 1
    for (group, subject), (amount, sign, form, row) in sorted(
            violated.items(), key=lambda kv: (PARTNER_ORDER.index(kv[0][0]), -kv[1][0])):
        partner = partners[group][0] if partners[group] else None
        out.append(_describe(spec, c, group, subject, amount, sign, -1 if union else form, partner, k))
    return out


def _unknown(time_limit: float) -> Conflict:
    return Conflict(("unknown",),
                    f"题库无法同时满足全部组卷规则，且在 {time_limit:g} 秒内未能找出具体原因",
                    f"the bank cannot satisfy every rule together, and the cause was not "
                    f"found within {time_limit:g} s")


def _describe(spec, c, group, subject, amount, sign, form, partner, k) -> Conflict:
    """One violated row of the relaxation in words; ``k > 1`` for the union of ``k`` forms
    (every need multiplied by ``k``)."""
    p_zh, p_en = RULE_NAMES.get(partner, SEVERAL)
    if k > 1:
        nth_zh, nth_en = f"{k} 套试卷合计", f"the {k} forms together"
    else:
        nth_zh = f"第 {form + 1} 套试卷" if form >= 0 and spec.forms > 1 else "试卷"
        nth_en = f"form {form + 1}" if form >= 0 and spec.forms > 1 else "the paper"
    rules = _rules(group, partner)
    form = None if form < 0 else form
    if group == "difficulty":
        t, tol = spec.target_difficulty, spec.difficulty_tolerance
        too_hard = sign > 0  # a positive slack fills a mean below the band
        reached = t - tol - amount if too_hard else t + tol + amount
        return _difficulty_message(spec, c, reached, too_hard, partner, form)
    if group in ("type_count", "scope_count"):
        need = k * (spec.type_count.get(subject, 0) if group == "type_count" else
                    next(s.count for s in spec.scope_targets if s.code == subject))
        got = need - amount * sign
        what_zh = _type(subject)[0] if group == "type_count" else f"鉴定范围 {spec.name_of(subject)} 的试题"
        what_en = _type(subject)[1] if group == "type_count" else f"items of scope {subject}"
        return Conflict(rules, f"{nth_zh}需要 {need} 道{what_zh}，在{p_zh}的要求下只能组出 {got:g} 道",
                        f"{nth_en} needs {need} {what_en}; with {p_en} only {got:g} fit",
                        have=got, need=need, form=form,
                        type=subject if group == "type_count" else None,
                        scope=subject if group == "scope_count" else None)
    if group == "coverage":
        need = k * spec.coverage_needed
        return Conflict(rules, f"{nth_zh}至少需覆盖 {need} 个鉴定点，在{p_zh}的要求下只能覆盖 {need - amount:g} 个",
                        f"{nth_en} must cover {need} elements; with {p_en} only {need - amount:g} can be",
                        have=need - amount, need=need, form=form)
    if group == "key_balance":
        low, high = (k * b for b in spec.key_count_bounds)
        got = low - amount if sign > 0 else high + amount
        return Conflict(rules, f"{nth_zh}中答案为 {subject} 的单选题应为 {low}–{high} 道，"
                               f"在{p_zh}的要求下只能做到 {got:g} 道",
                        f"{nth_en} needs {low}-{high} single-choice items keyed {subject}; "
                        f"with {p_en} it gets {got:g}", have=got, need=low if sign > 0 else high,
                        form=form, type="single_choice")
    if group == "enemy":
        members = sorted(spec.enemy_groups[subject]) if isinstance(subject, int) else []
        return Conflict(rules, f"互斥组（试题 {'、'.join(map(str, members[:6]))}）不能同卷，"
                               f"但{p_zh}要求{nth_zh}同时使用其中 {k + amount:g} 道",
                        f"enemy group (items {', '.join(map(str, members[:6]))}) may not share a "
                        f"form, but {p_en} need {k + amount:g} of them in {nth_en}",
                        have=k + amount, need=k, form=form)
    if group == "overlap":
        limit = spec.max_overlap
        pair = subject if isinstance(subject, tuple) else None
        where_zh = f"第 {pair[0] + 1} 套与第 {pair[1] + 1} 套试卷" if pair else f"{spec.forms} 套试卷"
        where_en = f"forms {pair[0] + 1} and {pair[1] + 1}" if pair else f"the {spec.forms} forms"
        # What would be short if the forms shared nothing says where the items are lacking.
        lacking = [e for e in precheck(c, replace(spec, max_overlap=0)) if isinstance(e, Shortfall)][:3]
        why_zh = ("：" + "；".join(e.message for e in lacking)) if lacking else ""
        why_en = (": " + "; ".join(e.message_en for e in lacking)) if lacking else ""
        return Conflict(rules, f"{where_zh}之间最多重复 {limit} 道题，在{p_zh}的要求下需要重复更多{why_zh}",
                        f"{where_en} may share at most {limit} item(s); with {p_en} they must share "
                        f"more{why_en}", have=limit + amount, need=limit)
    return Conflict(rules, f"{RULE_NAMES.get(group, (group,))[0]}无法满足", f"{group} cannot be met")
