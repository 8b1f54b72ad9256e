"""Simulated response data for the psychometrics tests (fixed seeds, small sizes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "data" / "psychometrics"
LETTERS = np.array(list("ABCD"))


def load_lsat(name: str) -> np.ndarray:
    return np.loadtxt(DATA / f"{name}.csv", delimiter=",", skiprows=1).astype(np.int8)


def standard_normal(rng: np.random.Generator, n: int) -> np.ndarray:
    """N(0,1) abilities standardised in the sample, so the model's metric is exactly theirs."""
    theta = rng.normal(size=n)
    return (theta - theta.mean()) / theta.std()


def dichotomous(rng, theta, a, b, c=0.0) -> np.ndarray:
    p = c + (1 - c) / (1 + np.exp(-a * (theta[:, None] - b)))
    return (rng.random(p.shape) < p).astype(np.int8)


def choice_codes(rng, scored: np.ndarray, key_index: np.ndarray) -> np.ndarray:
    """Raw option letters: the key where scored 1, a random other option where scored 0."""
    wrong = (key_index + rng.integers(1, 4, scored.shape)) % 4
    return LETTERS[np.where(scored == 1, key_index, wrong)]
