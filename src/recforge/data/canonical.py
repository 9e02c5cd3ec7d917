"""The canonical tables of docs/contracts.md: column order, dtypes, parquet schemas, text rendering.

Adapters build loosely typed frames; `make_items`, `make_interactions` and `make_samples` turn them
into exactly the contract's columns and dtypes, so that every dataset reaches the methods in the same
shape whatever its source.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from recforge.data.quarantine import Quarantine

SPLITS: tuple[str, ...] = ("train", "valid", "test")
SPLIT_KINDS: tuple[str, ...] = ("published", "leave_one_out", "temporal")

ITEMS_SCHEMA = pa.schema([
    ("item_id", pa.string()),
    ("title", pa.string()),
    ("categories", pa.list_(pa.string())),
    ("description", pa.string()),
    ("brand", pa.string()),
    ("features", pa.list_(pa.string())),
    ("text", pa.string()),
])
INTERACTIONS_SCHEMA = pa.schema([
    ("user_id", pa.string()),
    ("item_id", pa.string()),
    ("rating", pa.float64()),
    ("timestamp", pa.int64()),
    ("position", pa.int64()),
    ("split", pa.string()),
])
SAMPLES_SCHEMA = pa.schema([
    ("sample_id", pa.string()),
    ("user_id", pa.string()),
    ("item_id", pa.string()),
    ("position", pa.int64()),
    ("split", pa.string()),
    ("rating", pa.float64()),
])
ITEM_COLUMNS = ITEMS_SCHEMA.names
INTERACTION_COLUMNS = INTERACTIONS_SCHEMA.names
SAMPLE_COLUMNS = SAMPLES_SCHEMA.names
LIST_COLUMNS = ("categories", "features")

#: Optional provenance columns an adapter may attach to interactions so that validation can name the
#: source file and line of a bad event. They are never written to parquet.
SOURCE_FILE, SOURCE_LINE = "_file", "_line"


@dataclass
class CanonicalDataset:
    """What every adapter returns: the three canonical tables plus adapter facts for the report."""

    items: pd.DataFrame
    interactions: pd.DataFrame
    samples: pd.DataFrame  # the splits.parquet table
    report: dict = field(default_factory=dict)
    quarantine: Quarantine = field(default_factory=Quarantine)


def render_text(title: str, categories: list[str], brand: str) -> str:
    """`title; cat1 > cat2 > ...; brand`, leaving out empty parts (docs/contracts.md)."""
    cats = " > ".join(c for c in categories if c)
    return "; ".join(part for part in (title, cats, brand) if part)


def _str_list(value: object) -> list[str]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value if v is not None and str(v) != ""]


def make_items(frame: pd.DataFrame) -> pd.DataFrame:
    """Contract items table: defaults for missing columns, string/list types, rendered `text`."""
    out = pd.DataFrame({"item_id": frame["item_id"].astype(str).to_numpy()})
    n = len(out)
    for col in ("title", "description", "brand"):
        values = frame[col] if col in frame else pd.Series([""] * n)
        out[col] = [("" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)).strip()
                    for v in values]
    for col in LIST_COLUMNS:
        values = frame[col] if col in frame else pd.Series([[]] * n)
        out[col] = [_str_list(v) for v in values]
    out["text"] = [render_text(t, c, b) for t, c, b in zip(out["title"], out["categories"], out["brand"])]
    return out[ITEM_COLUMNS].reset_index(drop=True)


def make_interactions(frame: pd.DataFrame) -> pd.DataFrame:
    """Contract interactions table, sorted by (user_id, position); keeps "_"-prefixed helper columns
    (provenance for messages, the sample flag) which are never written."""
    out = pd.DataFrame({
        "user_id": frame["user_id"].astype(str).to_numpy(),
        "item_id": frame["item_id"].astype(str).to_numpy(),
        "rating": pd.to_numeric(frame["rating"], errors="raise").astype("float64").to_numpy()
        if "rating" in frame else np.full(len(frame), np.nan),
        "timestamp": pd.array(frame["timestamp"], dtype="Int64") if "timestamp" in frame
        else pd.array([pd.NA] * len(frame), dtype="Int64"),
        "position": frame["position"].astype("int64").to_numpy(),
        "split": frame["split"].astype(str).to_numpy(),
    })
    for col in frame.columns:  # private helper columns (_file, _line, _sample...) ride along
        if str(col).startswith("_"):
            out[col] = frame[col].to_numpy()
    out = out.sort_values(["user_id", "position"], kind="stable").reset_index(drop=True)
    return out


SAMPLE_FLAG = "_sample"


def make_samples(interactions: pd.DataFrame, mask: np.ndarray | pd.Series | None = None) -> pd.DataFrame:
    """Samples (targets) = the interactions selected by `mask` (default: the `_sample` column); a
    sample's split is its event's split."""
    if mask is None:
        mask = interactions[SAMPLE_FLAG]
    ev = interactions.loc[np.asarray(mask, dtype=bool)]
    out = pd.DataFrame({
        "sample_id": (ev["user_id"] + ":" + ev["position"].astype(str)).to_numpy(),
        "user_id": ev["user_id"].to_numpy(),
        "item_id": ev["item_id"].to_numpy(),
        "position": ev["position"].astype("int64").to_numpy(),
        "split": ev["split"].to_numpy(),
        "rating": ev["rating"].astype("float64").to_numpy(),
    })
    return out.reset_index(drop=True)


def public(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The contract columns only (drops provenance columns)."""
    return frame.loc[:, columns]


def to_arrow(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pandas(public(frame, schema.names), schema=schema, preserve_index=False)


def read_dataset(data_dir: str | Path) -> CanonicalDataset:
    """Load a built dataset directory back (list columns as Python lists, ids as str)."""
    data_dir = Path(data_dir)
    items = pq.read_table(data_dir / "items.parquet").to_pandas()
    for col in LIST_COLUMNS:
        items[col] = [list(v) for v in items[col]]
    interactions = pq.read_table(data_dir / "interactions.parquet").to_pandas()
    interactions["timestamp"] = interactions["timestamp"].astype("Int64")
    samples = pq.read_table(data_dir / "splits.parquet").to_pandas()
    report_path = data_dir / "data_report.json"
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.exists() else {}
    return CanonicalDataset(items, interactions, samples, report)
