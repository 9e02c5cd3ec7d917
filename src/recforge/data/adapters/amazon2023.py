"""Adapter for the raw Amazon Reviews 2023 files (McAuley Lab): reviews and meta JSON lines.

* reviews (.jsonl or .jsonl.gz): ``user_id, parent_asin, rating (1-5), timestamp (ms)``; other keys
  are ignored. Items are parent_asin.
* meta (.jsonl or .jsonl.gz): ``parent_asin, title, categories (list, root first), description
  (list of paragraphs, joined by a space), features (list), details (dict), store``. The brand is
  ``details["Brand"]`` when present, else ``store``.

Pipeline (see _events.py): rows checked (a review of an item without meta is an unknown item), exact
duplicates (same user, item, timestamp) rejected, repeat ratings of an item by the same user reduced
by ``dedup`` (first/last/none), iterative k-core on users and items, positions in time order (file
order breaks ties), then ``split``: leave_one_out, or temporal with ``ratios`` of events by time (see
recforge.data.splitting.temporal for users straddling a boundary). Only items that keep at least one
event are in items.parquet.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from recforge.data.adapters._common import check_path, event_frame, require
from recforge.data.adapters._events import Dedup, Split, check_policy, reviews_meta_dataset
from recforge.data.canonical import CanonicalDataset
from recforge.data.io import iter_jsonl
from recforge.data.quarantine import OnError, Quarantine

log = logging.getLogger("recforge.data")


def _text_list(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if v is not None and str(v).strip()]
    if isinstance(value, str) and value.strip():
        return [value.strip()]
    return []


def _read_meta(path: Path, q: Quarantine) -> pd.DataFrame:
    rows = []
    seen: dict[str, int] = {}
    for line, rec in iter_jsonl(path, q):
        if not require(rec, {"parent_asin": str}, path, line, q):
            continue
        asin = rec["parent_asin"]
        if asin in seen:
            q.reject(path, line, f"duplicate parent_asin {asin} (first at line {seen[asin]})", key="duplicate_item")
            continue
        seen[asin] = line
        details = rec.get("details") if isinstance(rec.get("details"), dict) else {}
        brand = details.get("Brand") or rec.get("store") or ""
        rows.append({
            "item_id": asin,
            "title": rec.get("title") or "",
            "categories": _text_list(rec.get("categories")),
            "description": " ".join(_text_list(rec.get("description"))),
            "brand": str(brand),
            "features": _text_list(rec.get("features")),
        })
    return pd.DataFrame(rows, columns=["item_id", "title", "categories", "description", "brand", "features"])


def _read_reviews(path: Path, q: Quarantine) -> pd.DataFrame:
    rows = []
    fields = {"user_id": str, "parent_asin": str, "rating": (int, float), "timestamp": int}
    for line, rec in iter_jsonl(path, q):
        if require(rec, fields, path, line, q):
            rows.append((rec["user_id"], rec["parent_asin"], float(rec["rating"]), rec["timestamp"], str(path), line))
    return event_frame(rows)


def load_amazon2023(reviews: str | Path, meta: str | Path, user_core: int = 5, item_core: int = 5,
                    dedup: Dedup = "first", split: Split = "leave_one_out",
                    ratios: Sequence[float] = (0.8, 0.1, 0.1), on_error: OnError = "raise") -> CanonicalDataset:
    """Load Amazon Reviews 2023 reviews + meta files; k-core, de-duplicate, split."""
    check_policy(dedup, split, ratios, user_core, item_core)
    q = Quarantine(on_error)
    review_path = check_path(reviews, "reviews file")
    meta_path = check_path(meta, "meta file")
    meta_table = _read_meta(meta_path, q)
    events = _read_reviews(review_path, q)
    log.info("amazon2023: %d reviews, %d meta items", len(events), len(meta_table))
    return reviews_meta_dataset("amazon2023", events, meta_table, q,
                                {"reviews": str(review_path), "meta": str(meta_path)}, dedup=dedup,
                                user_core=user_core, item_core=item_core, split=split, ratios=ratios)
