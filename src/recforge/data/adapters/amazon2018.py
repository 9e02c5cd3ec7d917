"""Adapter for the Amazon Review Data (2018) files (UCSD, Ni et al. 2019): reviews and meta JSON lines.

* reviews (.json/.jsonl, optionally .gz): ``reviewerID, asin, overall (1-5), unixReviewTime
  (seconds)``, plus the text fields ``summary`` (review title) and ``reviewText`` that
  `read_review_texts` returns for review-based methods (Persona4Rec); other keys are ignored.
* meta: ``asin, title, category (list, root first), description (list of paragraphs), feature (list),
  brand, details (dict)``. Rows repeat in the 2018 dumps: the first row of an asin is kept.

Field map to the 2023 names (seed 003's loader): reviewerID -> user_id, asin -> parent_asin (item id),
overall -> rating, unixReviewTime x 1000 -> timestamp (ms), summary -> title, reviewText -> text.

The 2018 meta `title` is scraped HTML for most items of some categories (Magazine: 148 of 151), so an
HTML title is replaced by a name derived from the description (`item_name`). Items that have reviews
but no meta row keep their events with empty fields. The event pipeline (k-core, dedup, split) is
the shared one of _events.py.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from recforge.data.adapters._common import check_path, event_frame, require
from recforge.data.adapters._events import Dedup, Split, check_policy, reviews_meta_dataset
from recforge.data.canonical import CanonicalDataset
from recforge.data.io import iter_jsonl
from recforge.data.quarantine import OnError, Quarantine

log = logging.getLogger("recforge.data")

REVIEW_FIELDS = {"reviewerID": str, "asin": str, "overall": (int, float), "unixReviewTime": int}
_TAG = re.compile(r"<[^>]*>?")
# Words that open a description sentence without naming the item ("This magazine ...").
_NOT_A_NAME = frozenset("a an the this that each every our your its it for from with in on if".split())
_NAME_FOLLOWERS = frozenset("magazine is offers brings provides covers features delivers has was gives".split())
_NAME_TOKEN = re.compile(r"^[A-Z0-9][\w'&.!:-]*$|^&$")


def _clean(text: object) -> str:
    """HTML entities unescaped, tags removed, whitespace collapsed."""
    if not isinstance(text, str):
        return ""
    return " ".join(_TAG.sub(" ", html.unescape(text)).split())


def _clean_list(value: object) -> list[str]:
    values = value if isinstance(value, list) else [value] if isinstance(value, str) else []
    return [c for c in (_clean(v) for v in values) if c]


def item_name(title: str, description: str, categories: Sequence[str], brand: str) -> str:
    """The item's name: its title unless that is scraped HTML or empty; else the leading run of
    capitalised words of the description ("Good Housekeeping magazine, together with ..." ->
    "Good Housekeeping"), at most 5 words, up to the first word that ends a sentence; a one-word run
    only when it is a name for sure (all capitals, an inner capital, or followed by "magazine", "is",
    ...: "Get ready for ..." is not a name); else "<last category> magazine by <brand>" from the
    catalogue fields ("" when there are none)."""
    if title and "<" not in title and not title.lstrip().startswith("var "):
        return _clean(title)
    tokens = _clean(description).split()
    words: list[str] = []
    for word in tokens[:6]:
        if not _NAME_TOKEN.match(word):
            break
        words.append(word)
        if word.endswith((".", ":", "!")):
            break
    while words and words[-1].strip(".,:;!").lower() in ("magazine", "magazines", "is", "&"):
        words.pop()
    words = words[:5]
    name = " ".join(words).strip(".,:;!")
    if len(words) == 1:
        following = tokens[1].lower().strip(".,:;") if len(tokens) > 1 else ""
        sure = (name.isupper() and len(name) > 1) or any(c.isupper() for c in name[1:]) or following in _NAME_FOLLOWERS
        if not sure or name.lower() in _NOT_A_NAME:
            name = ""
    if name and "DESCRIPTION" not in name.upper():
        return name
    leaf = categories[-1] if len(categories) > 1 else ""
    return " ".join(p for p in (f"{leaf} magazine" if leaf else "Magazine", f"by {brand}" if brand else "") if p)


def _read_meta(path: Path, q: Quarantine) -> pd.DataFrame:
    rows = []
    seen: set[str] = set()
    for line, rec in iter_jsonl(path, q):
        if not require(rec, {"asin": str}, path, line, q):
            continue
        asin = rec["asin"]
        if asin in seen:  # the 2018 dumps repeat rows; the first one is kept (counted, not an error)
            q.drop("repeated meta row of an asin", 1)
            continue
        seen.add(asin)
        details = rec.get("details") if isinstance(rec.get("details"), dict) else {}
        brand = _clean(rec.get("brand")) or _clean(details.get("Publisher:"))
        categories = _clean_list(rec.get("category"))
        description = " ".join(_clean_list(rec.get("description")))
        rows.append({
            "item_id": asin,
            "title": item_name(str(rec.get("title") or ""), description, categories, brand),
            "categories": categories,
            "description": description,
            "brand": brand,
            "features": _clean_list(rec.get("feature")),
        })
    return pd.DataFrame(rows, columns=["item_id", "title", "categories", "description", "brand", "features"])


def _read_events(path: Path, q: Quarantine) -> pd.DataFrame:
    rows = []
    for line, rec in iter_jsonl(path, q):
        if require(rec, REVIEW_FIELDS, path, line, q):
            rows.append((rec["reviewerID"], rec["asin"], float(rec["overall"]), rec["unixReviewTime"] * 1000,
                         str(path), line))
    return event_frame(rows)


def read_review_texts(reviews: str | Path) -> pd.DataFrame:
    """Every well-formed review as user_id, item_id, timestamp (ms), rating, review_title, review_text
    (2023 names; missing text fields are ""). Join it to interactions.parquet on (user_id, item_id,
    timestamp) to know each review's position and split."""
    path = check_path(reviews, "reviews file")
    q = Quarantine("quarantine")
    rows = [
        {
            "user_id": rec["reviewerID"],
            "item_id": rec["asin"],
            "timestamp": rec["unixReviewTime"] * 1000,
            "rating": float(rec["overall"]),
            "review_title": _clean(rec.get("summary")),
            "review_text": _clean(rec.get("reviewText")),
        }
        for line, rec in iter_jsonl(path, q)
        if require(rec, REVIEW_FIELDS, path, line, q)
    ]
    columns = ["user_id", "item_id", "timestamp", "rating", "review_title", "review_text"]
    return pd.DataFrame(rows, columns=columns).astype({"timestamp": "int64"})


def load_amazon2018(reviews: str | Path, meta: str | Path, user_core: int = 5, item_core: int = 5,
                    dedup: Dedup = "first", split: Split = "leave_one_out",
                    ratios: Sequence[float] = (0.8, 0.1, 0.1), on_error: OnError = "raise") -> CanonicalDataset:
    """Load Amazon 2018 reviews + meta files; k-core, de-duplicate, split."""
    check_policy(dedup, split, ratios, user_core, item_core)
    q = Quarantine(on_error)
    review_path = check_path(reviews, "reviews file")
    meta_path = check_path(meta, "meta file")
    meta_table = _read_meta(meta_path, q)
    events = _read_events(review_path, q)
    missing = sorted(set(events["item_id"]) - set(meta_table["item_id"]))
    if missing:  # reviewed items without a meta row keep their events, with empty catalogue fields
        log.info("amazon2018: %d reviewed items have no meta row", len(missing))
        meta_table = pd.concat([meta_table, pd.DataFrame({"item_id": missing})], ignore_index=True)
    log.info("amazon2018: %d reviews, %d items", len(events), len(meta_table))
    return reviews_meta_dataset("amazon2018", events, meta_table, q,
                                {"reviews": str(review_path), "meta": str(meta_path)}, dedup=dedup,
                                user_core=user_core, item_core=item_core, split=split, ratios=ratios,
                                meta_missing=missing)
