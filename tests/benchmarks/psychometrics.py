"""Benchmark: psychometrics speed and accuracy, side by side with the peer package ``girth``.

On a simulated 2PL data set (fixed seed; 20,000 examinees x 100 items; a ~ lognormal(0, 0.3),
b ~ N(0, 1), theta ~ N(0, 1) standardised in the sample so that the model's N(0, 1) metric is
exactly the simulation's and the accuracy measures the estimator, not the sampling of theta):

1. classical statistics of the scored matrix, and scoring + distractor analysis of the raw
   option letters (target: under 0.5 s together);
2. 2PL calibration by ``fit_irt`` and by ``girth.twopl_mml`` on the same data: time, correlation
   with the true a and b, RMSE and bias of a (targets: under 5 s, at least 5 x faster than
   girth, correlations >= 0.995, RMSE(a) <= 0.03);
3. classical statistics of a 100,000 x 200 int8 matrix: time (target under 3 s) and the
   tracemalloc peak over the matrix's own size (target under 4).

Prints ONE JSON line. ``girth`` comes with the ``bench`` extra (``pip install -e '.[bench]'``);
without it the girth fields are null and a message on stderr says how to install it.
Timings are the best of three runs (one run for the calibrations).

Run: ``python tests/benchmarks/psychometrics.py``
"""

from __future__ import annotations

import json
import os
import sys
import time
import tracemalloc
from importlib import metadata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from itembank.psychometrics import (classical_statistics, distractor_analysis, fit_irt,  # noqa: E402
                                    score_responses)

SEED = 20240607
LETTERS = np.array(list("ABCD"))


def simulate(n: int, k: int, seed: int = SEED):
    rng = np.random.default_rng(seed)
    a = rng.lognormal(0.0, 0.3, k)
    b = rng.normal(0.0, 1.0, k)
    theta = rng.normal(size=n)
    theta = (theta - theta.mean()) / theta.std()
    scored = np.empty((n, k), dtype=np.int8)
    for start in range(0, n, 10000):
        t = theta[start:start + 10000, None]
        scored[start:start + 10000] = rng.random((t.shape[0], k)) < 1 / (1 + np.exp(-a * (t - b)))
    return a, b, scored, rng


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def accuracy(a_hat, b_hat, a, b) -> dict:
    return {"corr_a": round(float(np.corrcoef(a_hat, a)[0, 1]), 5),
            "corr_b": round(float(np.corrcoef(b_hat, b)[0, 1]), 5),
            "rmse_a": round(float(np.sqrt(np.mean((a_hat - a) ** 2))), 5),
            "rmse_b": round(float(np.sqrt(np.mean((b_hat - b) ** 2))), 5),
            "bias_a": round(float(np.mean(a_hat - a)), 5)}


def main() -> None:
    out: dict = {"benchmark": "psychometrics", "seed": SEED,
                 "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
                 "cpus": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2)}
    a, b, scored, rng = simulate(20000, 100)
    key_index = rng.integers(0, 4, 100)
    wrong = (key_index + rng.integers(1, 4, scored.shape)) % 4
    raw = LETTERS[np.where(scored == 1, key_index, wrong)]
    raw[rng.random(raw.shape) < 0.01] = ""
    key = LETTERS[key_index]

    t_classical = best_of(lambda: classical_statistics(scored))
    t_distractors = best_of(lambda: distractor_analysis(score_responses(raw, key)))
    out["classical_20000x100_s"] = round(t_classical, 4)
    out["scoring_and_distractors_20000x100_s"] = round(t_distractors, 4)
    out["classical_and_distractors_s"] = round(t_classical + t_distractors, 4)

    start = time.perf_counter()
    fit = fit_irt(scored, "2pl")
    t_ours = time.perf_counter() - start
    out["ours_2pl"] = {"seconds": round(t_ours, 3), "iterations": fit.n_iterations,
                       "converged": fit.converged, "se_method": fit.se_method,
                       **accuracy(fit.a, fit.b, a, b)}
    try:
        import girth
    except ImportError:
        print("girth is not installed: pip install -e '.[bench]' to compare with it",
              file=sys.stderr)
        out["girth_2pl"] = None
        out["speedup_vs_girth"] = None
    else:
        start = time.perf_counter()
        peer = girth.twopl_mml(scored.T.astype(int))
        t_girth = time.perf_counter() - start
        out["girth_2pl"] = {"seconds": round(t_girth, 3), "version": metadata.version("girth"),
                            **accuracy(np.asarray(peer["Discrimination"]),
                                       np.asarray(peer["Difficulty"]), a, b)}
        out["speedup_vs_girth"] = round(t_girth / t_ours, 1)

    _, _, big, _ = simulate(100000, 200, seed=SEED + 1)
    out["classical_100000x200_s"] = round(best_of(lambda: classical_statistics(big)), 4)
    tracemalloc.start()
    classical_statistics(big)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    out["classical_100000x200_peak_mb"] = round(peak / 2 ** 20, 1)
    out["matrix_mb"] = round(big.nbytes / 2 ** 20, 1)
    out["peak_over_matrix"] = round(peak / big.nbytes, 2)
    ours = out["ours_2pl"]
    out["targets_met"] = {
        "classical_and_distractors_under_0.5s": out["classical_and_distractors_s"] < 0.5,
        "2pl_under_5s": ours["seconds"] < 5,
        "2pl_5x_faster_than_girth": None if out["speedup_vs_girth"] is None
        else out["speedup_vs_girth"] >= 5,
        "2pl_corr_at_least_0.995": min(ours["corr_a"], ours["corr_b"]) >= 0.995,
        "2pl_rmse_a_at_most_0.03": ours["rmse_a"] <= 0.03,
        "classical_100000x200_under_3s": out["classical_100000x200_s"] < 3,
        "peak_memory_under_4x_matrix": out["peak_over_matrix"] < 4,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
