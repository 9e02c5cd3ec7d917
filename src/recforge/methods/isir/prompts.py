"""Seed 000's rating prompt (A.4) for every sample: the system prompt verbatim, and a user prompt with
the interest sketch, the last `max_history` rated items of the sample's history and the candidate.

The text is `recforge.text.templates.RATING_COT` (the same template `render("rating_cot", ...)` fills
for the LLM layer), built here from precomputed item lines so that ~200k samples take seconds:

    {sketch}\\n\\n                        (absent when the sketch is empty: the paper lstrips)
    Below are the user's recent {domain} ratings in the format: Title, Genres, Rating. Ratings range
    from {min} to {max}.\\n\\n                 (one line; the dataset's scale, "1.0 to 5.0" on Amazon)
    {Title, Cat1|Cat2|..., Rating}        (one line per history event, oldest first)\\n\\n
    The candidate {domain} is described as: {Title, Cat1|Cat2|...}{; rated M on average by N other users}\\n
    Based on the above information, what rating will the user give?

Ratings are written in one format, `f"{rating:g}"` ("5", "3", "4.5"; "?" when unrated): the paper's
valid/test prompts and its sketch source wrote integers ("3") while its train prompts wrote "3.0"; we
use the integer form everywhere (as recforge.text.render does). The history is the sample's history
(events with position < the sample's position): for a test sample it includes the valid event, where
the paper's test prompts stopped before it.

The candidate's reception (`methods.isir.item_stats`, not in the paper) is the item's train-phase
rating mean and count, a train sample's own rating left out (the statistics `gbdt` reads; without
them gbdt loses 0.02 of valid MAE + RMSE on Movies). Off by default: on Movies' valid the aligned
student did not gain from it over three seeds (docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from string import Template
from typing import Any

import numpy as np
import pandas as pd

from recforge.data.scale import RatingScale
from recforge.methods.gbdt import item_features
from recforge.methods.isir.sketch import history_bounds
from recforge.text.items import as_list, as_text, is_generic_category, item_line, rating_stats_text
from recforge.text.templates import RATING_COT

PROMPT_COLUMNS = ("sample_id", "split", "user_id", "item_id", "label", "system", "user", "n_history")


@dataclass(frozen=True)
class PromptConfig:
    domain: str = "item"  # "movie": "...the user's recent movie ratings..."
    max_history: int | None = 10  # history lines shown (the most recent); None = the whole history
    scale: RatingScale = RatingScale()  # the dataset's rating scale (recforge.data.scale)



def trim_categories(items: pd.DataFrame, max_categories: int | None) -> pd.DataFrame:
    """Items whose category path keeps at most `max_categories` names: the most specific ones (the
    path's end) after dropping names that describe a format, shop section or studio rather than the
    item ("Movies & TV", "Blu-ray", "Featured Categories"; recforge.text.items.is_generic_category).
    An item whose names are all generic keeps its last one. None: the full path, as the paper shows it.
    Prompts and traces both read the trimmed table, so the trace writer sees the policy's prompt."""
    if max_categories is None:
        return items
    if int(max_categories) < 0:
        raise ValueError("max_categories must be >= 0 or None")

    def trim(categories: Any) -> list[str]:
        names = as_list(categories)
        specific = [c for c in names if not is_generic_category(c)] or names[-1:]
        return specific[-int(max_categories):] if max_categories else []

    return items.assign(categories=[trim(c) for c in items["categories"]]) if "categories" in items else items


def rating_text(rating: Any) -> str:
    """A rating as prompts show it: "4", "4.5"; "?" for a missing rating."""
    if rating is None or rating != rating:
        return "?"
    return f"{float(rating):g}"


def scale_fields(scale: RatingScale) -> dict[str, str]:
    """The template's scale placeholders: "1.0" and "5.0" on a 1-5 scale, as the paper wrote them."""
    return {"rating_min": scale.text(scale.min), "rating_max": scale.text(scale.max)}


def system_prompt(domain: str, scale: RatingScale = RatingScale()) -> str:
    return Template(RATING_COT.system).substitute(domain=domain, **scale_fields(scale))


_SLOTS = ("sketch_block", "history_lines", "target_line")


def _layout(domain: str, scale: RatingScale = RatingScale()) -> list[str]:
    """RATING_COT.user with the domain filled, cut at its three slots (in _SLOTS order): filling many
    prompts is then concatenation, not a template substitution each."""
    marks = {slot: f"\x00{slot}\x00" for slot in _SLOTS}
    text = Template(RATING_COT.user).substitute(domain=domain, **scale_fields(scale), **marks)
    parts = []
    for slot in _SLOTS:
        head, sep, text = text.partition(marks[slot])
        if not sep:
            raise ValueError(f"template {RATING_COT.id}: slot {slot} missing or out of order")
        parts.append(head)
    return [*parts, text]


def _fill(layout: Sequence[str], sketch: str, history: str, target: str) -> str:
    sketch = as_text(sketch)
    block = f"{sketch}\n\n" if sketch else ""
    return (layout[0] + block + layout[1] + history + layout[2] + target + layout[3]).lstrip()


def user_prompt(
    sketch: str, history_lines: Sequence[str], target_line: str, domain: str, scale: RatingScale = RatingScale()
) -> str:
    """The user prompt from the sketch ("" for none), the history lines to show and the candidate's
    line."""
    return _fill(_layout(domain, scale), sketch, "\n".join(history_lines), target_line)


def rating_messages(system: str, user: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def target_rating_stats(interactions: pd.DataFrame, samples: pd.DataFrame) -> list[dict[str, float]]:
    """Per samples row, {n, mean} of the target item's train-phase ratings by other events (a train
    sample's own rating left out; recforge.methods.gbdt.item_features)."""
    stats = item_features(interactions, samples)
    return [{"n": int(n), "mean": float(m)} for n, m in zip(stats["item_n"], stats["item_mean"])]


def item_lines(items: pd.DataFrame) -> dict[str, str]:
    """item_id -> "Title, Cat1|Cat2|..." (recforge.text.items.item_line)."""
    return {str(row["item_id"]): item_line(row) for row in items.to_dict("records")}


def build_prompts(
    items: pd.DataFrame,
    interactions: pd.DataFrame,
    samples: pd.DataFrame,
    sketches: pd.DataFrame | pd.Series | Mapping[str, str] | None,
    config: PromptConfig = PromptConfig(),
    target_stats: Sequence[Mapping[str, float]] | None = None,
) -> pd.DataFrame:
    """One row per samples row, in order: sample_id, split, user_id, item_id, label (the target's
    rating, float64, NaN when unrated), system, user (the prompt texts), n_history (lines shown).
    `sketches` maps sample_id -> sketch text: the table of recforge.methods.isir.sketch, a Series or a
    dict (a missing sample or None: no sketch). `target_stats`, one per samples row
    (target_rating_stats), adds the candidate's reception to its line; None: the paper's line."""
    lines = item_lines(items)

    def line_of(item_id: str) -> str:
        return lines.get(item_id) or item_line({"item_id": item_id})

    events, start, end, _ = history_bounds(interactions, samples)
    ratings = events["rating"].to_numpy(dtype=np.float64)
    event_items = events["item_id"].astype(str).tolist()
    event_lines = np.asarray(
        [f"{line_of(i)}, {rating_text(r)}" for i, r in zip(event_items, ratings.tolist())], dtype=object
    )
    if config.max_history is not None:
        if int(config.max_history) < 0:
            raise ValueError("max_history must be >= 0 or None")
        start = np.maximum(start, end - int(config.max_history))
    if sketches is None:
        sketch_of: dict[str, str] = {}
    elif isinstance(sketches, pd.DataFrame):
        sketch_of = dict(zip(sketches["sample_id"].astype(str), sketches["sketch"]))
    else:
        sketch_of = dict(sketches)
    system = system_prompt(config.domain, config.scale)
    layout = _layout(config.domain, config.scale)
    if target_stats is not None and len(target_stats) != len(samples):
        raise ValueError(f"target_stats has {len(target_stats)} rows for {len(samples)} samples")
    suffixes = [rating_stats_text(s) for s in target_stats] if target_stats is not None else [""] * len(samples)
    users = [
        _fill(layout, sketch_of.get(sample_id) or "", "\n".join(event_lines[b:e]), line_of(item_id) + suffix)
        for sample_id, item_id, b, e, suffix in zip(
            samples["sample_id"].astype(str).tolist(),
            samples["item_id"].astype(str).tolist(),
            start.tolist(),
            end.tolist(),
            suffixes,
        )
    ]
    return pd.DataFrame(
        {
            "sample_id": samples["sample_id"].astype(str).to_numpy(),
            "split": samples["split"].astype(str).to_numpy(),
            "user_id": samples["user_id"].astype(str).to_numpy(),
            "item_id": samples["item_id"].astype(str).to_numpy(),
            "label": samples["rating"].to_numpy(dtype=np.float64),
            "system": system,
            "user": pd.Series(users, dtype=object),
            "n_history": (end - start).astype(np.int64),
        }
    )
