"""The rating scale of a dataset (min, max, step): from its observed ratings, or a dataset config's
`rating_scale: {min, max, step}`.

Everything that reads or writes a rating uses it: the evaluator (clip, nearest valid rating for
accuracy), the isir prompts, rewards, readout and parsers. Amazon data gives 1-5 in whole stars;
MovieLens gives 0.5-5.0 in half stars, so no fixed 1-5 may be assumed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from functools import reduce
from typing import Any

import numpy as np

# Ratings are compared on this grid (a millionth of a star), so a step is found by an integer GCD.
_RESOLUTION = 1_000_000


@dataclass(frozen=True)
class RatingScale:
    min: float = 1.0
    max: float = 5.0
    step: float = 1.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.min) and math.isfinite(self.max) and self.step > 0 and self.max >= self.min):
            raise ValueError(f"rating scale needs finite min <= max and step > 0; got {self}")
        span = (self.max - self.min) / self.step
        if abs(span - round(span)) > 1e-6:
            raise ValueError(f"rating scale {self}: max - min is not a whole number of steps")

    def values(self) -> list[float]:
        """Every valid rating, ascending: min, min + step, ..., max."""
        n = round((self.max - self.min) / self.step)
        return [self._tidy(self.min + i * self.step) for i in range(n + 1)]

    def clip(self, ratings: Any) -> np.ndarray:
        return np.clip(np.asarray(ratings, dtype=np.float64), self.min, self.max)

    def nearest(self, ratings: Any) -> np.ndarray:
        """The valid rating nearest to each (clipped) rating; a tie goes up (2.5 -> 3, as rounding
        half-up, not numpy's half-to-even)."""
        steps = np.floor((self.clip(ratings) - self.min) / self.step + 0.5)
        return np.round(self.min + steps * self.step, 6)

    def text(self, value: float) -> str:
        """A bound as prompts write it: one decimal ("1.0", "4.5"), more only where needed ("0.25")."""
        return f"{value:.1f}" if abs(value * 10 - round(value * 10)) < 1e-9 else f"{value:g}"

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    @staticmethod
    def _tidy(value: float) -> float:
        return float(round(value, 6))


def infer_step(values: Iterable[float]) -> float:
    """The largest step that every observed rating lies on, counted from the smallest: the GCD of
    their distances to it (1.0 when fewer than two distinct values are seen)."""
    grid = sorted({round(float(v) * _RESOLUTION) for v in values})
    gaps = [g - grid[0] for g in grid[1:]]
    return reduce(math.gcd, gaps) / _RESOLUTION if gaps else 1.0


def rating_scale(ratings: Iterable[float], override: Mapping[str, float] | None = None) -> RatingScale:
    """The scale a dataset's ratings lie on: `override` ({min, max, step}, a dataset config's
    `rating_scale`) if given, else min, max and step of the finite observed ratings."""
    if override:
        if set(override) != {"min", "max", "step"}:
            raise ValueError(f"rating_scale takes exactly min, max and step; got {sorted(override)}")
        return RatingScale(float(override["min"]), float(override["max"]), float(override["step"]))
    observed = np.asarray(list(ratings), dtype=np.float64)
    observed = observed[np.isfinite(observed)]
    if observed.size == 0:
        raise ValueError("no finite rating to infer a rating scale from; set the dataset's rating_scale")
    return RatingScale(float(observed.min()), float(observed.max()), infer_step(np.unique(observed)))
