"""Item fit: infit and outfit mean squares integrated over the examinees' posteriors.

Wright & Masters (1982) define, for item j with residual :math:`y = x - E(x \\mid \\theta)` and
model variance :math:`W = Var(x \\mid \\theta)`, the outfit :math:`\\frac{1}{N}\\sum_i y_i^2 / W_i`
and the infit :math:`\\sum_i y_i^2 / \\sum_i W_i`. Here :math:`\\theta_i` is not replaced by a
point estimate: each term is averaged over examinee i's posterior on the quadrature nodes, which
the EM already holds as expected counts. A posterior draw of theta is exchangeable with the true
theta given the answers, so under the model both statistics have expectation exactly 1 whatever
the test length (point estimates bias them for short tests).

Arrays: ``p`` model probabilities at the nodes, ``r`` expected counts of right answers (or of
each category), ``n`` expected counts of answers, per item and node.
"""

from __future__ import annotations

import numpy as np

__all__ = ["dichotomous_fit", "polytomous_fit"]


def dichotomous_fit(p: np.ndarray, r: np.ndarray, n: np.ndarray):
    """Posterior-integrated infit/outfit mean squares and their z (Wright & Masters 1982).

    With expected counts :math:`r_{jq}` (right) and :math:`n_{jq}` (answered) at node q,
    :math:`W = P(1-P)`, :math:`C = W((1-P)^3 + P^3)`:
    infit :math:`= \\sum_q [r(1-P)^2 + (n-r)P^2] / \\sum_q nW`;
    outfit :math:`= \\sum_q [r(1-P)/P + (n-r)P/(1-P)] / N_j`;
    :math:`q^2_{out} = \\sum_q nC/W^2 / N_j^2 - 1/N_j`, :math:`q^2_{in} = \\sum_q n(C - W^2) /
    (\\sum_q nW)^2`; :math:`z = (MS^{1/3} - 1)(3/q) + q/3`.
    """
    w = p * (1 - p)
    cm = w * ((1 - p) ** 3 + p ** 3)
    n_j = n.sum(axis=1)
    sw = (n * w).sum(axis=1)
    infit = (r * (1 - p) ** 2 + (n - r) * p ** 2).sum(axis=1) / sw
    outfit = (r * (1 - p) / p + (n - r) * p / (1 - p)).sum(axis=1) / n_j
    q_out = np.sqrt(np.maximum((n * cm / w ** 2).sum(axis=1) / n_j ** 2 - 1 / n_j, 1e-12))
    q_in = np.sqrt(np.maximum((n * (cm - w ** 2)).sum(axis=1) / sw ** 2, 1e-12))
    z_in = (np.cbrt(infit) - 1) * 3 / q_in + q_in / 3
    z_out = (np.cbrt(outfit) - 1) * 3 / q_out + q_out / 3
    return infit, outfit, z_in, z_out


def polytomous_fit(p: np.ndarray, r: np.ndarray) -> tuple[float, float]:
    """Posterior-integrated polytomous infit/outfit: E = sum k P_k, W = sum (k - E)^2 P_k."""
    k = np.arange(p.shape[0])[:, None]
    e = (k * p).sum(axis=0)
    w = ((k - e) ** 2 * p).sum(axis=0)
    sq = (k - e) ** 2
    n = r.sum(axis=0)
    infit = (r * sq).sum() / (n * w).sum()
    outfit = (r * sq / w).sum() / n.sum()
    return float(infit), float(outfit)
