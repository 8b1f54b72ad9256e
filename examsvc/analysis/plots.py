"""Plots of an analysis, drawn on the server as SVG with matplotlib (Agg, no pyplot: thread-safe).

Text is drawn as paths, so the SVG looks the same in every browser; Chinese labels need a CJK font
on the server (Noto Sans CJK, Source Han Sans, WenQuanYi …). Without one the plots speak English
(:func:`cjk_font`). Every function takes plain numbers and returns the SVG text.
"""

from __future__ import annotations

import io
from functools import lru_cache, wraps
from typing import Any, Callable, Sequence

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

__all__ = ["cjk_font", "score_histogram", "option_trace", "item_characteristic", "test_information_plot"]

CJK_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Micro Hei",
                "WenQuanYi Zen Hei", "Microsoft YaHei", "PingFang SC", "SimHei", "Noto Sans CJK JP")
COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f", "#bcbd22")
BRAND = "#b3261e"

TEXT = {
    "score": ("总分", "Total score"),
    "candidates": ("人数", "Candidates"),
    "mean": ("平均分", "mean"),
    "pass": ("及格线", "pass mark"),
    "share": ("选择比例", "Share choosing the option"),
    "score_group": ("总分组（平均总分）", "Total-score group (mean total)"),
    "key": ("答案", "key"),
    "missing": ("未作答", "no answer"),
    "theta": ("能力 θ", "Ability θ"),
    "p_right": ("答对概率", "Probability right"),
    "model": ("模型曲线", "model"),
    "observed": ("实际答对比例", "observed"),
    "information": ("测验信息量", "Test information"),
    "sem": ("测量标准误", "Standard error of measurement"),
}


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The first CJK-capable font family found on the server, or None."""
    for family in CJK_FAMILIES:
        try:
            font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
            return family
        except ValueError:
            continue
    return None


def _text(key: str, zh: bool) -> str:
    return TEXT[key][0 if zh and cjk_font() else 1]


def _style() -> dict[str, Any]:
    family = cjk_font()
    return {"font.family": "sans-serif", "font.sans-serif": ([family] if family else []) + ["DejaVu Sans"],
            "font.size": 9, "svg.fonttype": "path", "svg.hashsalt": "examsvc", "axes.unicode_minus": False}


def _plot(function: Callable[..., Any]) -> Callable[..., str]:
    """Draw inside the plots' style (fonts are read when text is created, so the whole body)."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> str:
        with matplotlib.rc_context(_style()):
            fig = Figure(figsize=(6.4, 3.4), dpi=100)
            ax = fig.add_subplot()
            ax.spines[["top", "right"]].set_visible(False)
            ax.grid(True, color="#e4e7eb", linewidth=0.6)
            ax.set_axisbelow(True)
            function(fig, ax, *args, **kwargs)
            fig.tight_layout()
            buffer = io.StringIO()
            fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "examsvc"})
        return buffer.getvalue()

    return wrapper


@_plot
def score_histogram(fig: Figure, ax: Any, frequencies: Sequence[int], *, mean: float | None = None, pass_score: float | None = None,
                    zh: bool = True) -> None:
    """Bars of the number of candidates at each total score; the mean and the pass mark as lines."""
    counts = np.asarray(frequencies, dtype=float)
    ax.bar(np.arange(len(counts)), counts, width=1.0, color="#7aa6c2", edgecolor="white", linewidth=0.4)
    if mean is not None:
        ax.axvline(mean, color="#1f2933", linestyle="--", linewidth=1.2, label=f"{_text('mean', zh)} {mean:.1f}")
    if pass_score is not None:
        ax.axvline(pass_score, color=BRAND, linewidth=1.4, label=f"{_text('pass', zh)} {pass_score:.1f}")
    ax.set_xlabel(_text("score", zh))
    ax.set_ylabel(_text("candidates", zh))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(-0.5, max(len(counts), 2) - 0.5)
    if mean is not None or pass_score is not None:
        ax.legend(frameon=False, loc="upper left")


@_plot
def option_trace(fig: Figure, ax: Any, score: Sequence[float], shares: dict[str, Sequence[float]], key: str, *, zh: bool = True) -> None:
    """Option trace lines: the share choosing each option in total-score groups; the key drawn bold."""
    x = np.asarray(score, dtype=float)
    for index, (label, values) in enumerate(shares.items()):
        is_key = label == key
        name = _text("missing", zh) if label == "(missing)" else label
        ax.plot(x, values, marker="o", markersize=4 if not is_key else 6, linewidth=2.6 if is_key else 1.3,
                color=BRAND if is_key else COLOURS[index % len(COLOURS)],
                linestyle=":" if label == "(missing)" else "-",
                label=f"{name}（{_text('key', zh)}）" if is_key and zh and cjk_font() else
                f"{name} ({_text('key', zh)})" if is_key else name)
    ax.set_ylim(0, 1)
    ax.set_xlabel(_text("score_group", zh))
    ax.set_ylabel(_text("share", zh))
    ax.legend(frameon=False, fontsize=8, ncol=min(3, max(1, len(shares))), loc="upper left")


@_plot
def item_characteristic(fig: Figure, ax: Any, a: float, b: float, c: float | None, observed: dict[str, Sequence[float]] | None, *,
                        zh: bool = True) -> None:
    """The model's item characteristic curve and the observed proportion right in ability groups
    (marker area proportional to the group's size)."""
    theta = np.linspace(-4, 4, 161)
    guess = 0.0 if c is None or not np.isfinite(c) else float(c)
    ax.plot(theta, guess + (1 - guess) / (1 + np.exp(-a * (theta - b))), color=BRAND, linewidth=2,
            label=_text("model", zh))
    if observed and observed.get("theta"):
        sizes = np.asarray(observed["n"], dtype=float)
        ax.scatter(observed["theta"], observed["p"], s=20 + 80 * sizes / max(1.0, sizes.max()), color="#1f77b4",
                   alpha=0.8, zorder=3, label=_text("observed", zh))
    ax.axvline(b, color="#9aa5b1", linewidth=0.8, linestyle="--")
    ax.set_ylim(0, 1)
    ax.set_xlim(-4, 4)
    ax.set_xlabel(_text("theta", zh))
    ax.set_ylabel(_text("p_right", zh))
    ax.legend(frameon=False, loc="upper left")


@_plot
def test_information_plot(fig: Figure, ax: Any, theta: Sequence[float], information: Sequence[float | None], *, zh: bool = True) -> None:
    """Test information (left axis) and the standard error of measurement 1/sqrt(I) (right axis)."""
    t = np.asarray(theta, dtype=float)
    info = np.asarray([np.nan if v is None else v for v in information], dtype=float)
    sem = np.where(info > 0, 1 / np.sqrt(np.where(info > 0, info, 1.0)), np.nan)
    ax.plot(t, info, color="#1f77b4", linewidth=2, label=_text("information", zh))
    ax.set_xlabel(_text("theta", zh))
    ax.set_ylabel(_text("information", zh), color="#1f77b4")
    right = ax.twinx()
    right.plot(t, sem, color=BRAND, linewidth=1.6, linestyle="--", label=_text("sem", zh))
    right.set_ylabel(_text("sem", zh), color=BRAND)
    finite = sem[np.isfinite(sem)]
    right.set_ylim(0, min(3.0, float(finite.max()) * 1.05) if finite.size else 1.0)
    right.spines[["top"]].set_visible(False)
    lines = ax.get_lines() + right.get_lines()
    ax.legend(lines, [line.get_label() for line in lines], frameon=False, loc="upper left")


test_information_plot.__test__ = False  # a plot, not a pytest test
