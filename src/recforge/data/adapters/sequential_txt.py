"""Adapter for "user item item ..." sequence files (S3-Rec / P5 Beauty.txt) with an items.jsonl.

Each line is one user followed by their items in time order; there are no timestamps or ratings.
The split is leave-one-out (split_kind "leave_one_out"): the last item is the test target, the second
to last the valid target; every earlier position >= 1 is a train sample (position 0 has no history).
Users with fewer than 3 items would give a valid target without history and are rejected.

Items come from a JSON-lines file with ``item_id``, a title field (``title_norm`` by default, the
HTML-cleaned title; 7 Beauty items have an empty title upstream) and ``attributes``: the S3-Rec
attribute list, brand first when kept and then the category path without the root (see the dataset
PROVENANCE). Brand and categories are told apart by `split_brand`.
"""

from __future__ import annotations

import html
import logging
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from recforge.data.adapters._common import check_path, require
from recforge.data.canonical import (
    SOURCE_FILE,
    SOURCE_LINE,
    CanonicalDataset,
    make_interactions,
    make_items,
    make_samples,
)
from recforge.data.io import iter_jsonl, iter_whitespace_rows
from recforge.data.quarantine import OnError, Quarantine
from recforge.data.splitting import assign_positions, drop_short_users, leave_one_out
from recforge.data.validate import screen_events

log = logging.getLogger("recforge.data")

#: Upstream Amazon 2014 meta uses the literal brand "Unknown" for a missing brand.
PLACEHOLDER_BRANDS = frozenset({"Unknown", "unknown"})


def top_level_categories(attribute_lists: list[list[str]]) -> set[str]:
    """Roots of the category paths, learnt from the data.

    A brand only ever stands first, so a token seen anywhere after position 0 is a category; the
    tokens that directly follow such a brand-only first token are the top-level categories (for
    Beauty: Skin Care, Hair Care, Makeup, Tools & Accessories, Bath & Body, Fragrance).
    """
    later = {a for attrs in attribute_lists for a in attrs[1:]}
    brand_only = {attrs[0] for attrs in attribute_lists if attrs and attrs[0] not in later}
    return {attrs[1] for attrs in attribute_lists if len(attrs) > 1 and attrs[0] in brand_only}


def split_brand(attrs: list[str], roots: set[str]) -> tuple[str, list[str]]:
    """(brand, categories): the first token is a brand unless it is a top-level category that starts
    the path; a root followed by another root ("Skin Care", "Skin Care", ...) is a brand named like
    a category."""
    if not attrs:
        return "", []
    if attrs[0] in roots and not (len(attrs) > 1 and attrs[1] in roots):
        return "", list(attrs)
    return attrs[0], list(attrs[1:])


def _read_items(path: Path, title_field: str, q: Quarantine) -> pd.DataFrame:
    rows = []
    seen: dict[str, int] = {}
    for line, rec in iter_jsonl(path, q):
        if not require(rec, {"item_id": (str, int)}, path, line, q):
            continue
        item = str(rec["item_id"])
        if item in seen:
            q.reject(path, line, f"duplicate item_id {item} (first at line {seen[item]})", key="duplicate_item")
            continue
        seen[item] = line
        title = rec.get(title_field)
        if title is None:
            title = rec.get("title") or ""
        attrs = rec.get("attributes") or []
        if not isinstance(attrs, list):
            q.reject(path, line, "attributes must be a list", key="bad_field")
            continue
        rows.append((item, str(title), [str(a) for a in attrs]))
    items = pd.DataFrame(rows, columns=["item_id", "title", "attributes"])

    # S3-Rec kept raw HTML entities in attribute names ("L&#39;Oreal Paris").
    unescaped = [[html.unescape(a) for a in attrs] for attrs in items["attributes"]]
    q.repair("HTML entity unescaped in an attribute",
             sum(a != b for old, new in zip(items["attributes"], unescaped) for a, b in zip(old, new)))
    roots = top_level_categories(unescaped)
    split = [split_brand(attrs, roots) for attrs in unescaped]
    brands = [b for b, _ in split]
    placeholder = sum(b in PLACEHOLDER_BRANDS for b in brands)
    q.repair("placeholder brand 'Unknown' blanked", placeholder)
    items["brand"] = ["" if b in PLACEHOLDER_BRANDS else b for b in brands]
    items["categories"] = [c for _, c in split]
    items.attrs["roots"] = sorted(roots)
    return items


def load_sequential_txt(sequences: str | Path, items: str | Path, title_field: str = "title_norm",
                        on_error: OnError = "raise") -> CanonicalDataset:
    """Load a ``user item item ...`` file plus its items.jsonl; leave-one-out split."""
    q = Quarantine(on_error)
    seq_path = check_path(sequences, "sequence file")
    item_path = check_path(items, "items file")
    item_table = _read_items(item_path, title_field, q)
    log.info("sequential_txt: %d items from %s", len(item_table), item_path)

    users, item_ids, lines, order = [], [], [], []
    seen_users: dict[str, int] = {}
    for line, tokens in iter_whitespace_rows(seq_path, quarantine=q):
        user, seq = tokens[0], tokens[1:]
        if user in seen_users:
            q.reject(seq_path, line, f"user {user} already listed at line {seen_users[user]}", key="duplicate_user")
            continue
        seen_users[user] = line
        users.extend([user] * len(seq))
        item_ids.extend(seq)
        lines.extend([line] * len(seq))
        order.extend(range(len(seq)))
        if not seq:
            q.reject(seq_path, line, f"user {user} has no items", key="empty_history")
    events = pd.DataFrame({
        "user_id": users, "item_id": item_ids, "rating": np.full(len(users), np.nan),
        "timestamp": pd.array([pd.NA] * len(users), dtype="Int64"),
        SOURCE_FILE: str(seq_path), SOURCE_LINE: np.asarray(lines, dtype=np.int64),
        "_order": np.asarray(order, dtype=np.int64),
    })
    log.info("sequential_txt: %d events of %d users from %s", len(events), len(seen_users), seq_path)

    events = screen_events(events, item_table["item_id"], q)
    events = drop_short_users(events, 3, q, "leave-one-out")
    events = assign_positions(events, by_time=False)
    events, mask = leave_one_out(events)
    interactions = make_interactions(events.assign(_sample=mask))
    samples = make_samples(interactions)
    item_out = make_items(item_table)

    report = {
        "split_kind": "leave_one_out",
        "adapter": "sequential_txt",
        "sources": {"sequences": str(seq_path), "items": str(item_path)},
        "notes": {
            "no_timestamps_or_ratings": "positions follow the file's (chronological) order",
            "category_roots": item_table.attrs["roots"],
            "items_with_brand": int((item_out["brand"] != "").sum()),
            "attribute_counts": dict(Counter(len(a) for a in item_table["attributes"])),
        },
    }
    return CanonicalDataset(item_out, interactions, samples, report, q)

