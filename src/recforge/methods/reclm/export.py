"""The seed's intermediate dataset (seed notes 001, B.1) from the canonical tables, and back.

Three files, each one JSON object (the seed names them .jsonl but writes and reads them with
json.dump/json.load; so do we, so its users can bring their data through them):
- `category.jsonl`: {category path: [item_id, ...]}; every cumulative prefix of an item's category
  path (root dropped when the path has more than one level), joined by ", ".
- `metas.jsonl`: {item_id: {"title", "title_t", "description", "categories", "brand"}}.
  `title_t` is the title after a round trip through the base model's tokenizer, encoded WITHOUT
  special tokens and decoded skipping them (the seed's round trip could start with
  "<|begin_of_text|>"), whitespace collapsed; an item with no title gets "item <id>". Duplicate
  `title_t` values get " (1)", " (2)", ... in catalogue order, so every title names one item, and
  each final title is checked to survive the round trip unchanged (the trie matches token ids).
- `sequential.jsonl`: {user_id: [item_id, ...]}, every event in position order.

`read_intermediate` reads the three files back (the `reclm` data adapter uses it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from recforge.data.adapters.reclm import FILES, read_documents
from recforge.data.sequences import user_sequences
from recforge.models.tokens import ITEM_END, ITEM_START

def round_trip(tokenizer: Any, texts: Sequence[str]) -> list[str]:
    """decode(encode(text)) without special tokens on either side, whitespace collapsed."""
    ids = tokenizer(list(texts), add_special_tokens=False)["input_ids"] if len(texts) else []
    decoded = tokenizer.batch_decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)
    return [clean(t) for t in decoded]


def clean(text: str) -> str:
    """One line, single spaces, and no control marker inside a title."""
    text = text.replace(ITEM_START, " ").replace(ITEM_END, " ")
    return re.sub(r"\s+", " ", text).strip()


def unique_titles(titles: Sequence[str]) -> list[str]:
    """Titles with " (n)" appended to the 2nd, 3rd, ... occurrence (n = 1, 2, ...), skipping any
    suffixed name that is itself taken."""
    taken = set(titles)
    seen: dict[str, int] = {}
    out = []
    for title in titles:
        if title not in seen:
            seen[title] = 0
            out.append(title)
            continue
        n = seen[title]
        while True:
            n += 1
            candidate = f"{title} ({n})"
            if candidate not in taken:
                break
        seen[title] = n
        taken.add(candidate)
        out.append(candidate)
    return out


def item_titles(tokenizer: Any, items: pd.DataFrame) -> dict[str, str]:
    """item_id -> unique round-tripped title (`title_t`)."""
    ids = items["item_id"].astype(str).tolist()
    raw = [clean(str(t or "")) or f"item {i}" for i, t in zip(ids, items["title"])]
    trip = [t or f"item {i}" for i, t in zip(ids, round_trip(tokenizer, raw))]
    final = unique_titles(trip)
    again = round_trip(tokenizer, final)
    broken = [(a, b) for a, b in zip(final, again) if a != b]
    if broken:
        raise ValueError(f"{len(broken)} titles do not survive the tokenizer round trip, e.g. {broken[:3]}")
    return dict(zip(ids, final))


def category_index(items: pd.DataFrame) -> dict[str, list[str]]:
    """{cumulative category path: item ids}; the root is dropped when the path is longer than one."""
    index: dict[str, list[str]] = {}
    for item, path in zip(items["item_id"].astype(str), items["categories"]):
        path = [str(c) for c in (path if path is not None else [])]
        path = path[1:] if len(path) > 1 else path
        for depth in range(1, len(path) + 1):
            index.setdefault(", ".join(path[:depth]), []).append(item)
    return index


def deepest_category(items: pd.DataFrame) -> dict[str, str]:
    """item_id -> its deepest category path key (the seed's "target category"); "" when none."""
    out = {}
    for item, path in zip(items["item_id"].astype(str), items["categories"]):
        path = [str(c) for c in (path if path is not None else [])]
        path = path[1:] if len(path) > 1 else path
        out[item] = ", ".join(path)
    return out


def export(items: pd.DataFrame, interactions: pd.DataFrame, tokenizer: Any) -> dict[str, dict]:
    """The three documents, keyed by file name."""
    titles = item_titles(tokenizer, items)
    metas = {}
    for row in items.to_dict("records"):
        item = str(row["item_id"])
        metas[item] = {
            "title": str(row.get("title") or ""),
            "title_t": titles[item],
            "description": str(row.get("description") or ""),
            "categories": [str(c) for c in (row.get("categories") if row.get("categories") is not None else [])],
            "brand": str(row.get("brand") or ""),
        }
    return {"category.jsonl": category_index(items), "metas.jsonl": metas,
            "sequential.jsonl": user_sequences(interactions)}


def write_intermediate(docs: Mapping[str, dict], paths: Mapping[str, str | Path]) -> None:
    """Each document to its path (`paths` keyed by file name), atomically."""
    from recforge.io import write_json

    for name in FILES:
        write_json(docs[name], paths[name])


def read_intermediate(directory: str | Path) -> dict[str, dict]:
    """The three documents of a directory written in the seed's format (the `reclm` adapter's reader)."""
    return read_documents(directory)


def read_titles(metas_path: str | Path, field: str = "title_t") -> dict[str, str]:
    metas = json.loads(Path(metas_path).read_text(encoding="utf-8"))
    return {str(item): str(meta[field]) for item, meta in metas.items()}
