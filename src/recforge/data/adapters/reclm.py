"""Adapter for RecLM-uni's intermediate dataset (seed notes 001, B.1; written by
recforge.methods.reclm.export): a directory with `category.jsonl`, `metas.jsonl` and
`sequential.jsonl`, each ONE JSON object despite the name (the seed reads them with json.load).

Items come from metas (title: `title_field`, "title" by default; description, brand and the category
path where present: a `categories` list, else the deepest `category.jsonl` path holding the item, split
on ", "). Events come from sequential (user -> item ids in time order; no ratings or timestamps). The
split is leave-one-out, as the seed's (last item test, second to last valid); users with fewer than 3
items are rejected, as in sequential_txt.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from recforge.data.adapters._common import check_path
from recforge.data.canonical import SOURCE_FILE, SOURCE_LINE, CanonicalDataset, make_interactions, make_items, make_samples
from recforge.data.errors import DataError
from recforge.data.quarantine import OnError, Quarantine
from recforge.data.splitting import assign_positions, drop_short_users, leave_one_out
from recforge.data.validate import screen_events

log = logging.getLogger("recforge.data")

FILES = ("category.jsonl", "metas.jsonl", "sequential.jsonl")


def read_documents(path: str | Path) -> dict[str, dict]:
    """The three JSON objects of an intermediate-dataset directory, keyed by file name."""
    directory = check_path(path, "RecLM intermediate dataset directory")
    docs = {}
    for name in FILES:
        file = check_path(directory / name, f"RecLM {name}")
        doc = json.loads(file.read_text(encoding="utf-8"))
        if not isinstance(doc, dict):
            raise DataError(file, None, f"{name} must hold one JSON object", kind="bad_field")
        docs[name] = doc
    return docs


def _deepest_categories(category: dict) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, members in category.items():
        path = [p for p in str(key).split(", ") if p]
        for item in members:
            if len(path) > len(out.get(str(item), [])):
                out[str(item)] = path
    return out


def load_reclm(path: str | Path, title_field: str = "title", on_error: OnError = "raise") -> CanonicalDataset:
    """Load a RecLM intermediate dataset directory; leave-one-out split."""
    q = Quarantine(on_error)
    docs = read_documents(path)
    metas, sequential = docs["metas.jsonl"], docs["sequential.jsonl"]
    deepest = _deepest_categories(docs["category.jsonl"])
    rows = []
    for item, meta in metas.items():
        meta = meta if isinstance(meta, dict) else {}
        cats = meta.get("categories")
        rows.append((str(item), str(meta.get(title_field) or ""), str(meta.get("description") or ""),
                     str(meta.get("brand") or ""),
                     [str(c) for c in cats] if isinstance(cats, list) else deepest.get(str(item), [])))
    items = make_items(pd.DataFrame(rows, columns=["item_id", "title", "description", "brand", "categories"]))
    seq_file = str(Path(path) / "sequential.jsonl")
    users, item_ids, lines, order = [], [], [], []
    for line, (user, seq) in enumerate(sequential.items(), start=1):
        seq = [str(i) for i in (seq or [])]
        users.extend([str(user)] * len(seq))
        item_ids.extend(seq)
        lines.extend([line] * len(seq))
        order.extend(range(len(seq)))
    events = pd.DataFrame({
        "user_id": users, "item_id": item_ids, "rating": np.full(len(users), np.nan),
        "timestamp": pd.array([pd.NA] * len(users), dtype="Int64"),
        SOURCE_FILE: seq_file, SOURCE_LINE: np.asarray(lines, dtype=np.int64),
        "_order": np.asarray(order, dtype=np.int64),
    })
    events = screen_events(events, items["item_id"], q)
    events = drop_short_users(events, 3, q, "leave-one-out")
    events = assign_positions(events, by_time=False)
    events, mask = leave_one_out(events)
    interactions = make_interactions(events.assign(_sample=mask))
    samples = make_samples(interactions)
    log.info("reclm: %d items, %d events of %d users from %s", len(items), len(interactions),
             interactions["user_id"].nunique(), path)
    report = {"split_kind": "leave_one_out", "adapter": "reclm", "sources": {"path": str(path)},
              "notes": {"title_field": title_field}}
    return CanonicalDataset(items, interactions, samples, report, q)
