"""Adapter for ReasoningRec's processed Amazon 2018 files (seed 004): ``ratings.csv`` and
``processed_item_information.json``.

* ratings.csv: ``item,user,rating,timestamp`` (integer ids, ratings 1-5, timestamps in seconds).
* processed_item_information.json: ``{item_id: {title, brand?, price?, description}}``. Title (HTML
  entities unescaped), brand and price (as the feature ``"Price: $11.94"``) go to items.parquet. The
  ``description`` there is the paper's Mixtral summary of *all* of an item's reviews, later ones
  included, so it is not catalogue data and is left out of items.parquet (the reasoningrec method can
  read it, flagged, with ``texts: paper``).

Rows repeated with the same (user, item, timestamp) are collapsed to their first occurrence and
counted, and users left with fewer than 3 events dropped (upstream windows keep the repeats, e.g. user 0's valid window [1, 2, 3, 4, 5, 5], which puts a copy of
the target in its own history). Then time-ordered positions (file order breaks ties) and leave-one-out.
"""

from __future__ import annotations

import csv
import html
import json
import logging
from pathlib import Path

import pandas as pd

from recforge.data.adapters._common import check_path, event_frame, parse_number
from recforge.data.adapters._events import split_events
from recforge.data.canonical import CanonicalDataset, make_items
from recforge.data.quarantine import OnError, Quarantine

log = logging.getLogger("recforge.data")

RATINGS, ITEMS = "ratings.csv", "processed_item_information.json"


def _read_items(path: Path) -> pd.DataFrame:
    raw = json.loads(path.read_text(encoding="utf-8"))
    rows = []
    for item_id, rec in raw.items():
        price = str(rec.get("price") or "").strip()
        rows.append({
            "item_id": str(item_id),
            "title": html.unescape(str(rec.get("title") or "")).strip(),
            "brand": html.unescape(str(rec.get("brand") or "")).strip(),
            "features": [f"Price: {price}"] if price else [],
        })
    return pd.DataFrame(rows, columns=["item_id", "title", "brand", "features"])


def _read_ratings(path: Path, q: Quarantine) -> pd.DataFrame:
    rows = []
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        for line, rec in enumerate(reader, start=2):
            rating = parse_number(rec.get("rating") or "", float, path, line, "rating", q)
            seconds = parse_number(rec.get("timestamp") or "", int, path, line, "timestamp", q)
            if rating is None or seconds is None:
                continue
            rows.append((rec["user"], rec["item"], rating, seconds * 1000, str(path), line))
    return event_frame(rows)


def load_reasoningrec(path: str | Path, on_error: OnError = "raise") -> CanonicalDataset:
    """Load a ReasoningRec processed_data folder; collapse repeated rows; leave-one-out."""
    q = Quarantine(on_error)
    root = check_path(path, "ReasoningRec processed_data folder")
    items = _read_items(check_path(root / ITEMS, "item information file"))
    events = _read_ratings(check_path(root / RATINGS, "ratings file"), q)
    repeated = events.duplicated(["user_id", "item_id", "timestamp"], keep="first").to_numpy()
    q.drop("repeated row (same user, item and timestamp)", int(repeated.sum()))
    events = events.loc[~repeated].reset_index(drop=True)
    # Collapsing can leave a user with fewer than the 3 events leave-one-out needs: dropped, counted.
    short = events.groupby("user_id")["item_id"].transform("size").to_numpy() < 3
    q.drop("user with fewer than 3 events after collapsing repeated rows (events)", int(short.sum()))
    events = events.loc[~short].reset_index(drop=True)
    log.info("reasoningrec: %d events, %d items", len(events), len(items))
    interactions, samples, facts = split_events(
        events, items["item_id"], q, rating_range=(1.0, 5.0), dedup="none", user_core=0, item_core=0,
        split="leave_one_out", ratios=(0.8, 0.1, 0.1))
    used = set(interactions["item_id"])
    kept = items[items["item_id"].isin(used)]
    q.drop("item without events (after filtering)", len(items) - len(kept))
    report = {
        "split_kind": "leave_one_out",
        "adapter": "reasoningrec",
        "sources": {"ratings": str(root / RATINGS), "items": str(root / ITEMS)},
        "rating_range": [1.0, 5.0],
        "notes": facts,
    }
    return CanonicalDataset(make_items(kept), interactions, samples, report, q)
