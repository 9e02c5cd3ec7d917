"""The tiny model's pretraining corpus: item texts and every prompt template rendered on real data.

Prompts are rendered with the same templates the LLM stages and methods use, and answered by the
heuristic writers (or, for next-item prompts, by the true next item), so the tiny model starts out
knowing the vocabulary, the chat format, the structural tokens and the shape of each answer.

Only interactions with split == "train" are read: valid and test events never reach a base model.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from recforge.llm.heuristic import write
from recforge.models.chat_template import chatml
from recforge.text.contexts import item_info, rated_item
from recforge.text.items import as_text, item_card
from recforge.text.render import render

LIKE_THRESHOLD = 4.0


@dataclass(frozen=True)
class CorpusConfig:
    domain: str = "item"
    max_users: int = 1000  # users whose train histories are rendered into prompts
    max_item_prompts: int = 2000  # items rendered into item-summary prompts (all items get a text doc)
    max_history: int = 10
    heldout_fraction: float = 0.05
    seed: int = 0


@dataclass(frozen=True)
class Document:
    doc_id: str
    kind: str  # "item", or the task of a rendered prompt
    text: str


def _rank(seed: int, key: str) -> str:
    """A seeded, platform-independent order (Python's hash() is salted per process)."""
    return hashlib.sha1(f"{seed}:{key}".encode()).hexdigest()


def is_heldout(doc_id: str, fraction: float, seed: int) -> bool:
    return int(_rank(seed, "heldout:" + doc_id)[:8], 16) / 0xFFFFFFFF < fraction


def _chat(task: str, context: Mapping[str, Any], answer: str) -> str:
    return chatml([*render(task, context), {"role": "assistant", "content": answer}])


def user_documents(
    user_id: str, events: pd.DataFrame, items: Mapping[str, Mapping[str, Any]], cfg: CorpusConfig
) -> list[Document]:
    history = [rated_item(items[i], r) for i, r in zip(events["item_id"], events["rating"]) if i in items]
    if len(history) < 2:
        return []
    target, before = history[-1], history[:-1]
    docs = []
    rating = target.get("rating")
    if rating is not None:
        ctx = {
            "domain": cfg.domain,
            "sketch": "",
            "history": before,
            "target": target,
            "rating": rating,
            "max_history": cfg.max_history,
        }
        docs.append(
            Document(
                f"user:{user_id}:rating_cot", "rating_cot", _chat("rating_cot", ctx, write("rating_cot", ctx))
            )
        )
        label = "like" if rating >= LIKE_THRESHOLD else "dislike"
        ctx = {
            "domain": cfg.domain,
            "profile": "",
            "history": before[-cfg.max_history :],
            "target": target,
            "label": label,
            "like_threshold": LIKE_THRESHOLD,
        }
        docs.append(
            Document(
                f"user:{user_id}:rationale", "rationale", _chat("rationale", ctx, write("rationale", ctx))
            )
        )
    ctx = {"domain": cfg.domain, "history": before[-cfg.max_history :], "n_items": 1}
    answer = f"1. <SOI>{as_text(target.get('title'))}<EOI>\n"
    docs.append(Document(f"user:{user_id}:next_items", "next_items", _chat("next_items", ctx, answer)))
    ctx = {
        "domain": cfg.domain,
        "history": before[-cfg.max_history :],
        "max_words": 80,
        "like_threshold": LIKE_THRESHOLD,
    }
    docs.append(
        Document(
            f"user:{user_id}:user_summary",
            "user_summary",
            _chat("user_summary", ctx, write("user_summary", ctx)),
        )
    )
    return docs


def build_corpus(items: pd.DataFrame, interactions: pd.DataFrame, cfg: CorpusConfig) -> list[Document]:
    """Every document, in a deterministic order (item docs by item_id, then users by seeded rank)."""
    infos = {as_text(r["item_id"]): item_info(r) for r in items.to_dict("records")}
    docs = [Document(f"item:{i}", "item", item_card(infos[i])) for i in sorted(infos)]
    for item_id in sorted(infos, key=lambda i: _rank(cfg.seed, "item:" + i))[: cfg.max_item_prompts]:
        ctx = {"domain": cfg.domain, "item": infos[item_id], "max_words": 60}
        docs.append(
            Document(
                f"item:{item_id}:item_summary",
                "item_summary",
                _chat("item_summary", ctx, write("item_summary", ctx)),
            )
        )
    train = interactions[interactions["split"] == "train"].sort_values(["user_id", "position"])
    users = sorted(train["user_id"].unique(), key=lambda u: _rank(cfg.seed, "user:" + u))[: cfg.max_users]
    by_user = dict(tuple(train[train["user_id"].isin(set(users))].groupby("user_id", sort=False)))
    for user_id in users:
        docs.extend(user_documents(user_id, by_user[user_id], infos, cfg))
    return docs


def split_heldout(docs: list[Document], cfg: CorpusConfig) -> tuple[list[Document], list[Document]]:
    train = [d for d in docs if not is_heldout(d.doc_id, cfg.heldout_fraction, cfg.seed)]
    heldout = [d for d in docs if is_heldout(d.doc_id, cfg.heldout_fraction, cfg.seed)]
    return train, heldout
