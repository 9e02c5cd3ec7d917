"""Stops a generation stage that parsed too little, and a training stage whose length limits would cut
the completions it learns from, with a message naming the setting to raise.

Without them a teacher whose every completion hit max_new_tokens before <answer> wrote 0 usable
answers, and the chain failed two stages later with "no train sample has a teacher state".
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np

log = logging.getLogger(__name__)


def check_parse_rate(predictions: Sequence[float], floor: float, stage: str, limit_key: str, floor_key: str) -> float:
    """The share of completions that gave a number (finite `predictions`); ValueError when it is below
    `floor`, naming `limit_key` (the generation limit that usually cuts the answer off) and `floor_key`."""
    values = np.asarray(predictions, dtype=np.float64)
    rate = float(np.isfinite(values).mean()) if values.size else 0.0
    log.info("%s: %d of %d completions parsed (%.1f%%)", stage, int(np.isfinite(values).sum()), values.size, 100 * rate)
    if rate < floor:
        raise ValueError(
            f"{stage}: only {rate:.1%} of {values.size} completions gave a parseable <answer> (floor {floor:.0%}, "
            f"`{floor_key}`). Completions that stop before </answer> usually ran out of tokens: raise "
            f"`{limit_key}`, or train the model longer so that it writes the format."
        )
    return rate


def check_completion_lengths(lengths: Sequence[int], limits: Mapping[str, int | None], what: str) -> dict[str, float]:
    """Compare the token lengths of the completions a model learns from with the generation limits it
    will run under (setting name -> tokens; None: no limit): ValueError when a limit is below the median
    length (most completions would be cut before their answer), a warning when below the longest.
    Returns the length statistics for the stage report."""
    values = np.asarray(lengths, dtype=np.float64)
    if values.size == 0:
        return {}
    stats = {"mean": float(values.mean()), "median": float(np.median(values)), "max": float(values.max())}
    for key, limit in limits.items():
        if limit is None:
            continue
        cut = float((values > limit).mean())
        if stats["median"] > limit:
            raise ValueError(
                f"{what} are {stats['median']:.0f} tokens long (median; mean {stats['mean']:.0f}, max "
                f"{stats['max']:.0f}) but `{key}` is {limit}: {cut:.0%} of them would be cut before their "
                f"answer. Raise `{key}` to at least {stats['max']:.0f}."
            )
        if cut:
            log.warning(
                "%s: %.1f%% are longer than `%s` = %d (max %d tokens)", what, 100 * cut, key, limit, stats["max"]
            )
    return stats
