"""The ReasoningRec prompt (seed notes 3.6, the instruction/input wording with the dataset's domain) as
chat messages, and the "predfirst" completion: the label first, then the reasoning.

The same messages serve zero-shot, training, valid and test; a model reads them through its own chat
template with the assistant turn prefilled with "Prediction:" (readout.PREFILL). No EOS is appended.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from recforge.methods.reasoningrec.readout import PREFILL
from recforge.text.items import as_list, as_text


def item_text(item: Mapping[str, Any], description: str) -> str:
    """`{title} Brand: {brand} Price: ... Description: {description}` (empty parts left out)."""
    parts = [as_text(item.get("title")) or f"item {item.get('item_id')}"]
    if as_text(item.get("brand")):
        parts.append(f"Brand: {as_text(item.get('brand'))}")
    parts.extend(as_list(item.get("features"))[:1])
    if description:
        parts.append(f"Description: {description}")
    return " ".join(parts)


def messages(domain: str, profile: str, history: list[str], target: str) -> list[dict[str, str]]:
    has_profile = bool(profile)
    system = (
        f"You are an expert {domain} recommender. Given a user's "
        + ("profile and " if has_profile else "")
        + f"list of recent liked and disliked {domain}s and their descriptions, identify whether the user "
        "will like or dislike the target item by providing reasoning for the same."
    )
    lines = "\n".join(history)
    user = (
        (f"User Profile - {profile}\n" if has_profile else "")
        + f"User purchased the following items in the given order. List of recent items and their description -\n"
        f"{lines}\n"
        f"The user will purchase the next target item - {target}\n"
        f"Do not use any information not mentioned above. As an expert {domain} recommender, do the following steps -\n"
        "Predict whether the user will like the target item or not in the following format - Prediction: Yes or No\n"
        "Then explain with reasoning whether the user will like or dislike the target item in at most 100 words."
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def build_prompts(windows: pd.DataFrame, items: pd.DataFrame, descriptions: pd.DataFrame, profiles: pd.DataFrame,
                  domain: str, like_threshold: float) -> pd.DataFrame:
    """-> sample_id, user_id, split, label, system, user (one row per window)."""
    info = {r["item_id"]: r for r in items.to_dict("records")}
    desc = dict(zip(descriptions["item_id"], descriptions["description"]))
    prof = dict(zip(profiles["user_id"].astype(str), profiles["profile"]))
    rows = []
    for w in windows.itertuples(index=False):
        history = [
            f"{'Liked' if r >= like_threshold else 'Disliked'} {item_text(info[i], desc.get(i, ''))}"
            for i, r in zip(w.history_items, w.history_ratings)
        ]
        msgs = messages(domain, prof.get(w.user_id, ""), history, item_text(info[w.item_id], desc.get(w.item_id, "")))
        rows.append({"sample_id": w.sample_id, "user_id": w.user_id, "split": w.split, "label": int(w.label),
                     "system": msgs[0]["content"], "user": msgs[1]["content"]})
    return pd.DataFrame(rows)


def row_messages(row: Any) -> list[dict[str, str]]:
    return [{"role": "system", "content": str(row.system)}, {"role": "user", "content": str(row.user)}]


def slot_prompt(tokenizer: Any, row: Any) -> str:
    """Chat template with the generation prompt, then "Prediction:": the next token is the answer."""
    return tokenizer.apply_chat_template(row_messages(row), tokenize=False, add_generation_prompt=True) + PREFILL


_PREDICTION_LINE = re.compile(r"^\s*Prediction:\s*(Yes|No)\b.*$", re.I | re.M)


def reasoning_only(teacher_text: str) -> str:
    """The teacher's reasoning without its "Prediction: Yes|No" line(s), on one line."""
    return " ".join(_PREDICTION_LINE.sub("", teacher_text).split())


def teacher_answer(teacher_text: str) -> int | None:
    found = _PREDICTION_LINE.findall(teacher_text)
    return None if not found else int(found[-1].lower() == "yes")


def predfirst(label: int, reasoning: str | None) -> str:
    """`Prediction: Yes|No`, then (unless None: the no-reasoning ablation) a newline and the reasoning."""
    head = f"{PREFILL} {'Yes' if label else 'No'}"
    return head if reasoning is None else f"{head}\n{reasoning}"
