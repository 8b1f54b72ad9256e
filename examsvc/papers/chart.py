"""The test information curve (测验信息函数) and its standard error (测量标准误) as SVG coordinates.

The report stores ``{"theta": [...], "information": [...], "sem": [...], "basis": ...}``; this
turns it into polylines and axis ticks for an inline SVG, with information on the left axis and
SEM = 1 / sqrt(I) on the right one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

WIDTH, HEIGHT = 600, 260
LEFT, RIGHT, TOP, BOTTOM = 52, 52, 14, 36


@dataclass(frozen=True)
class InformationChart:
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    information_points: str
    sem_points: str
    x_ticks: list[tuple[float, str]]
    information_ticks: list[tuple[float, str]]
    sem_ticks: list[tuple[float, str]]
    approximate: bool
    peak_theta: float
    peak_information: float
    rows: list[tuple[float, float, float | None]]


def _nice_step(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at or above ``value`` (a tick step)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * 10 ** exponent >= value - 1e-12:
            return step * 10 ** exponent
    return 10.0 ** (exponent + 1)  # pragma: no cover - the loop ends at 10


def _axis(top_value: float) -> tuple[float, list[float]]:
    """An axis from 0 to a round maximum at or above ``top_value``, with 3-6 round ticks."""
    step = _nice_step(top_value / 5)
    count = max(1, math.ceil(top_value / step - 1e-9))
    return round(step * count, 6), [round(step * k, 6) for k in range(count + 1)]


def _label(value: float) -> str:
    return f"{value:g}"


def information_chart(information: Mapping[str, Any] | None) -> InformationChart | None:
    """Coordinates for the curve of ``report["information"]``; ``None`` when there is none."""
    if not information or not information.get("theta"):
        return None
    theta = [float(t) for t in information["theta"]]
    info = [float(i) for i in information["information"]]
    sem = [None if s is None else float(s) for s in information["sem"]]
    x0, x1 = LEFT, WIDTH - RIGHT
    y0, y1 = HEIGHT - BOTTOM, TOP  # SVG y grows downwards
    t_min, t_max = min(theta), max(theta)
    info_max, info_ticks = _axis(max(info))
    finite_sem = [s for s in sem if s is not None]
    # A nearly empty end of the scale has a huge SEM: cap the axis at ten times the smallest.
    sem_max, sem_ticks = _axis(min(max(finite_sem), 10 * min(finite_sem)) if finite_sem else 1.0)

    def x(t: float) -> float:
        return round(x0 + (t - t_min) / ((t_max - t_min) or 1) * (x1 - x0), 1)

    def y(value: float, top: float) -> float:
        return round(y0 - min(value, top) / top * (y0 - y1), 1)

    info_points = " ".join(f"{x(t)},{y(i, info_max)}" for t, i in zip(theta, info))
    sem_points = " ".join(f"{x(t)},{y(s, sem_max)}" for t, s in zip(theta, sem) if s is not None)
    peak = max(range(len(info)), key=info.__getitem__)
    return InformationChart(
        width=WIDTH, height=HEIGHT, left=x0, right=x1, top=y1, bottom=y0,
        information_points=info_points, sem_points=sem_points,
        x_ticks=[(x(t), _label(t)) for t in range(math.ceil(t_min), math.floor(t_max) + 1)],
        information_ticks=[(y(v, info_max), _label(v)) for v in info_ticks],
        sem_ticks=[(y(v, sem_max), _label(v)) for v in sem_ticks],
        approximate=information.get("basis") == "rasch_from_p",
        peak_theta=theta[peak], peak_information=info[peak],
        rows=list(zip(theta, info, sem)),
    )
