"""Parameter bookkeeping and the M-step of the dichotomous models of :mod:`.irt`.

Free parameters per item: Rasch ``(d,)`` plus one common slope (the ability SD), 2PL ``(a, d)``,
3PL ``(a, d, logit c)``; :math:`P = c + (1 - c)\\sigma(a\\theta + d)`. With :math:`s =
\\sigma(a\\theta + d)`: :math:`\\partial P/\\partial a = (1-c)s(1-s)\\theta`,
:math:`\\partial P/\\partial d = (1-c)s(1-s)`, :math:`\\partial P/\\partial\\gamma =
c(1-c)(1-s)` for :math:`\\gamma = \\mathrm{logit}\\, c`. The expected complete-data
log-likelihood of item j is :math:`\\sum_q r_{jq}\\log P_{jq} + (n_{jq} - r_{jq})\\log(1 -
P_{jq})`; its score is :math:`\\sum_q (r - nP)/(P(1-P))\\,\\partial P` and its Fisher information
:math:`\\sum_q n/(P(1-P))\\,\\partial P\\,\\partial P^T` (Baker & Kim 2004, ch. 6), exact Newton
for the 2PL.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from itembank.psychometrics._common import SLOPE_MAX

__all__ = ["DichotomousModel"]


class DichotomousModel:
    """Parameter bookkeeping: per-item free parameters plus an optional common slope (Rasch)."""

    def __init__(self, model: str, n_items: int, prior: tuple[float, float] | None):
        self.model, self.k = model, n_items
        self.cols = {"rasch": 1, "2pl": 2, "3pl": 3}[model]
        self.prior = prior if model == "3pl" else None
        # Box bounds keep unidentified estimates (a perfectly separating item, tiny samples)
        # finite; an estimate on a bound gets the note "irt.at_bound".
        per_item = {"rasch": [(-SLOPE_MAX * 3, SLOPE_MAX * 3)],
                    "2pl": [(-SLOPE_MAX, SLOPE_MAX), (-3 * SLOPE_MAX, 3 * SLOPE_MAX)],
                    "3pl": [(-SLOPE_MAX, SLOPE_MAX), (-3 * SLOPE_MAX, 3 * SLOPE_MAX),
                            (-12.0, 12.0)]}[model]
        bounds = per_item * n_items + ([(0.01, SLOPE_MAX)] if model == "rasch" else [])
        self.lower, self.upper = np.array(bounds).T
        # A parameter that reaches a bound sits on a flat ridge of the likelihood (e.g. a step
        # function between two quadrature nodes); its item is frozen so the rest converges.
        self.frozen = np.zeros(n_items, dtype=bool)
        self.frozen_common = False

    def frozen_mask(self) -> np.ndarray:
        """The frozen items' entries of the flat parameter vector."""
        if self.model == "rasch":
            return np.append(self.frozen, self.frozen_common)
        return np.repeat(self.frozen, self.cols)

    def at_bound(self, flat: np.ndarray) -> tuple[np.ndarray, bool]:
        """Mask of the items with a parameter on a bound, and whether the common slope is."""
        hit = (flat <= self.lower + 1e-9) | (flat >= self.upper - 1e-9)
        if self.model == "rasch":
            return hit[:-1], bool(hit[-1])
        return hit.reshape(self.k, self.cols).any(axis=1), False

    def unpack(self, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.model == "rasch":
            return np.full(self.k, flat[-1]), flat[:-1], np.zeros(self.k)
        par = flat.reshape(self.k, self.cols)
        c = expit(par[:, 2]) if self.model == "3pl" else np.zeros(self.k)
        return par[:, 0], par[:, 1], c

    def terms(self, flat: np.ndarray, theta: np.ndarray):
        """P (items x nodes) and dP/d(free parameter) as a list of (items x nodes) arrays."""
        a, d, c = self.unpack(flat)
        s = expit(np.outer(a, theta) + d[:, None])
        p = c[:, None] + (1 - c[:, None]) * s
        ds = (1 - c[:, None]) * s * (1 - s)
        derivs = {"a": ds * theta, "d": ds, "g": (c * (1 - c))[:, None] * (1 - s)}
        names = {"rasch": ("d",), "2pl": ("a", "d"), "3pl": ("a", "d", "g")}[self.model]
        item = [derivs[n] for n in names]
        common = derivs["a"] if self.model == "rasch" else None
        return np.clip(p, 1e-12, 1 - 1e-12), item, common

    def prior_terms(self, flat: np.ndarray):
        """Gradient and negative second derivative of the log prior on the logit guessing."""
        if self.prior is None:
            return 0.0, 0.0
        alpha, beta = self.prior
        c = expit(flat.reshape(self.k, 3)[:, 2])
        return (alpha - 1) * (1 - c) - (beta - 1) * c, (alpha + beta - 2) * c * (1 - c)

    def objective(self, flat, theta, r, n):
        p, _, _ = self.terms(flat, theta)
        value = (r * np.log(p) + (n - r) * np.log1p(-p)).sum(axis=1)
        if self.prior is not None:
            alpha, beta = self.prior
            c = expit(flat.reshape(self.k, 3)[:, 2])
            value = value + (alpha - 1) * np.log(c) + (beta - 1) * np.log1p(-c)
        return value

    def gradient(self, flat, theta, r, n) -> np.ndarray:
        """Marginal score by Fisher's identity: sum_q (r - nP) / (P(1-P)) dP (+ prior)."""
        p, item, common = self.terms(flat, theta)
        e = (r - n * p) / (p * (1 - p))
        g = np.stack([(e * dp).sum(axis=1) for dp in item], axis=1)
        if self.prior is not None:
            g[:, 2] += self.prior_terms(flat)[0]
        out = g.ravel()
        return np.append(out, (e * common).sum()) if common is not None else out

    def m_step(self, flat, theta, r, n, iterations: int = 4) -> np.ndarray:
        """Fisher scoring on the expected complete-data log-likelihood, with step halving.

        Item parameters move item by item (each item's objective must not fall); the Rasch
        common slope then moves on the summed objective.
        """
        for _ in range(iterations):
            p, item, common = self.terms(flat, theta)
            e = (r - n * p) / (p * (1 - p))
            f = n / (p * (1 - p))
            g = np.stack([(e * dp).sum(axis=1) for dp in item], axis=1)
            info = np.einsum("jq,ajq,bjq->jab", f, np.stack(item), np.stack(item))
            if self.prior is not None:
                pg, ph = self.prior_terms(flat)
                g[:, 2] += pg
                info[:, 2, 2] += ph
            info += 1e-9 * np.eye(self.cols)
            step = np.clip(np.linalg.solve(info, g[..., None])[..., 0], -1.0, 1.0)
            step[self.frozen] = 0.0
            if common is not None:
                step = np.append(step.ravel(), 0.0)
            old = self.objective(flat, theta, r, n)
            for _ in range(12):
                new_flat = np.clip(flat + step.ravel(), self.lower, self.upper)
                worse = self.objective(new_flat, theta, r, n) < old - 1e-10
                if not worse.any():
                    break
                scale = np.repeat(np.where(worse, 0.5, 1.0), self.cols)
                step = step.ravel() * (np.append(scale, 1.0) if common is not None else scale)
            moved = np.max(np.abs(new_flat - flat))
            flat = new_flat
            if common is not None:
                p, _, common = self.terms(flat, theta)
                e = (r - n * p) / (p * (1 - p))
                sa = np.clip((e * common).sum() / max((n / (p * (1 - p)) * common ** 2).sum(),
                                                      1e-9), -0.5, 0.5) * (not self.frozen_common)
                old_total = self.objective(flat, theta, r, n).sum()
                for _ in range(12):
                    trial = flat.copy()
                    trial[-1] = np.clip(trial[-1] + sa, self.lower[-1], self.upper[-1])
                    if self.objective(trial, theta, r, n).sum() >= old_total - 1e-10:
                        break
                    sa *= 0.5
                flat = trial
                moved = max(moved, abs(sa))
            items, slope = self.at_bound(flat)
            self.frozen |= items
            self.frozen_common |= slope
            if moved < 1e-7:
                break
        return flat
