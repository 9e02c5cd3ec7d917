"""Stage 3.5 (no LLM): one text per readable event (the user side of the encoder) and the
(user, train target) pairs the judge labels.

An interaction text is written from the event's item name, the user's review title and its aspect
values (the item summary where the aspects failed), by `interaction_text`, the one function both
training and the caches use. A pair is a train sample whose target the user liked (rating >=
like_threshold), whose item has personas and whose history (events before it) has at least
`min_history` events; each user's `targets_per_user` most recent ones. Valid and test targets are
never labelled.
"""

from __future__ import annotations

import json

import pandas as pd

from recforge.methods.persona4rec.settings import SelectionSettings
from recforge.text.outputs import ASPECT_KEYS

TEXT_VERSION = 1
_VALUE_KEYS = [k for k in ASPECT_KEYS if not k.endswith("_reason")]


def interaction_text(title: str, review_title: str, rating: float, aspects: dict | None, summary: str) -> str:
    lines = ["[Interaction]", f"Item: {title or 'unknown'}", f"Rating: {rating:g}"]
    if review_title:
        lines.append(f"Review: {review_title}")
    values = {k: v for k, v in (aspects or {}).items() if k in _VALUE_KEYS and v}
    for key in _VALUE_KEYS:
        if key in values:
            lines.append(f"{key.replace('_', ' ').title()}: {values[key]}")
    if not values and summary:
        lines.append(f"Item Summary: {summary}")
    return "\n".join(lines)


def persona_text(name: str, description: str, item_summary: str, rationale: str) -> str:
    return (f"[Persona]\nName: {name}\nDescription: {description}\nItem Summary: {item_summary}\n"
            f"Preference Rationale: {rationale}")


def history_table(aspects: pd.DataFrame, items: pd.DataFrame, summaries: pd.DataFrame) -> pd.DataFrame:
    """review_id, user_id, item_id, position, split, rating, review_title, summary, aspects, text."""
    title = dict(zip(items["item_id"], items["title"]))
    summary = dict(zip(summaries["item_id"], summaries["summary"]))
    out = aspects[["review_id", "user_id", "item_id", "position", "split", "rating", "review_title", "aspects"]].copy()
    out["summary"] = out["item_id"].map(summary).fillna("")
    out["text"] = [
        interaction_text(title.get(r.item_id, ""), r.review_title, float(r.rating),
                         json.loads(r.aspects) if isinstance(r.aspects, str) else None, r.summary)
        for r in out.itertuples(index=False)
    ]
    return out.sort_values(["user_id", "position"], kind="stable").reset_index(drop=True)


def selection_pairs(samples: pd.DataFrame, history: pd.DataFrame, persona_items: set[str],
                    settings: SelectionSettings, like_threshold: float) -> pd.DataFrame:
    """sample_id, user_id, item_id, position, n_history of the pairs to label (see module docstring)."""
    train = samples[(samples["split"] == "train") & (samples["rating"] >= like_threshold)
                    & samples["item_id"].isin(persona_items)]
    counts = history.groupby("user_id")["position"].apply(list).to_dict()
    n_history = [sum(p < pos for p in counts.get(u, [])) for u, pos in zip(train["user_id"], train["position"])]
    train = train.assign(n_history=n_history)
    train = train[train["n_history"] >= settings.min_history]
    train = train.sort_values(["user_id", "position"], kind="stable").groupby("user_id").tail(settings.targets_per_user)
    return train[["sample_id", "user_id", "item_id", "position", "n_history"]].reset_index(drop=True)
