"""Smallest samples for which a statistic is reported (最低样本量).

With a handful of examinees the estimates are noise that looks like findings: a 2PL slope runs to
its bound (a = 10), KR-20 comes out near 1 or below 0, and nearly every item crosses some flag
threshold. Below the minimum for a statistic the analysis reports that the sample is too small
instead of the statistic (a :class:`~._common.Note` with code ``sample.too_small``).

Defaults and their sources:

* classical (reliability KR-20/alpha and SEM, alpha-if-deleted, and every item flag): 30, the
  usual floor for a correlation-based item statistic to be more than noise (standard error of an
  item-rest r near 0.18 at n = 30);
* Rasch: 100, for item difficulties stable within about ±0.5 logit at 95 % confidence (Linacre
  1994, "Sample size and item calibration stability", Rasch Meas. Trans. 7:4, 328);
* 2PL (and the graded and generalized partial credit models): 200 (de Ayala 2009, *The Theory and
  Practice of Item Response Theory*, ch. 5; Hulin, Lissak & Drasgow 1982 recommend 200 for 2PL);
* 3PL: 500 (Hulin, Lissak & Drasgow 1982, Appl. Psych. Meas. 6, 249-260: about 1000 examinees for
  accurate ICCs, 500 as the working minimum; de Ayala 2009).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SampleMinimums"]


@dataclass(frozen=True)
class SampleMinimums:
    """Examinees needed before each statistic is reported (see the module docstring)."""

    classical: int = 30
    rasch: int = 100
    two_pl: int = 200
    three_pl: int = 500

    def __post_init__(self) -> None:
        for name in ("classical", "rasch", "two_pl", "three_pl"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 2:
                raise ValueError(f"SampleMinimums.{name} must be a whole number of at least 2, not {value!r}")

    def for_irt(self, model: str) -> int:
        """The minimum of an IRT model: ``rasch``/``pcm`` as Rasch, ``2pl``/``grm``/``gpcm`` as 2PL, ``3pl``."""
        model = model.lower()
        if model in ("rasch", "pcm"):
            return self.rasch
        if model == "3pl":
            return self.three_pl
        return self.two_pl
