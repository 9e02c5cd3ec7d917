"""Checks on event rows (before splitting) and on the finished canonical tables.

`screen_events` is row-level and obeys ``on_error``: a bad event raises, or is quarantined and left
out. `validate_dataset` checks the contract invariants of what an adapter returns; a failure there is
always raised, since it means the tables cannot be trusted at all.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from recforge.data.canonical import (
    INTERACTION_COLUMNS,
    ITEM_COLUMNS,
    SAMPLE_COLUMNS,
    SOURCE_FILE,
    SOURCE_LINE,
    SPLIT_KINDS,
    SPLITS,
    CanonicalDataset,
)
from recforge.data.errors import DataError
from recforge.data.quarantine import Quarantine

SPLIT_RANK = {s: i for i, s in enumerate(SPLITS)}
#: A timestamp more than this factor above or below its file's median is an outlier. The epoch times of
#: one real log (1990-2040) lie within a factor of about 3 of each other, whereas a number cut short
#: loses a factor of 10 per digit (978300760 -> 97830) and seconds read as milliseconds gain 1000.
TIMESTAMP_OUTLIER_FACTOR = 5.0
#: ... and further from the median than this many median absolute deviations, so that a counter
#: (times 0, 1, 2, ...) whose ratios mean nothing is not judged by them.
TIMESTAMP_OUTLIER_MADS = 3.0


def _reject_rows(events: pd.DataFrame, bad: np.ndarray, quarantine: Quarantine, key: str,
                 reasons: Iterable[str]) -> None:
    rows = events.loc[bad, [SOURCE_FILE, SOURCE_LINE]]
    for (file, line), reason in zip(rows.itertuples(index=False, name=None), reasons):
        quarantine.reject(file, int(line), reason, key=key)


def screen_events(events: pd.DataFrame, item_ids: Iterable[str], quarantine: Quarantine, *,
                  rating_range: tuple[float, float] | None = None,
                  rating_required: bool = False) -> pd.DataFrame:
    """Reject bad event rows; return the rest. Needs columns user_id, item_id, rating, timestamp, _file, _line.

    Checks, in this order: required fields present, item id known, rating present (if required) and
    in range, timestamp not an outlier of its file (`timestamp_outliers`), no duplicate event. A
    duplicate is the same (user, item, timestamp) when the timestamp is known; events without a
    timestamp are told apart by their position, which the source order gives, so they cannot be
    duplicates here.
    """
    ev = events.reset_index(drop=True)

    user = ev["user_id"]
    item = ev["item_id"]
    missing = (user.isna() | (user.astype(str) == "") | item.isna() | (item.astype(str) == "")).to_numpy()
    if missing.any():
        _reject_rows(ev, missing, quarantine, "missing_field",
                     ("missing user_id or item_id" for _ in range(int(missing.sum()))))
        ev = ev.loc[~missing].reset_index(drop=True)

    known = pd.Index(pd.unique(pd.Series(list(item_ids), dtype=object)))
    unknown = (~ev["item_id"].isin(known)).to_numpy()
    if unknown.any():
        _reject_rows(ev, unknown, quarantine, "unknown_item",
                     (f"unknown item id {i!r} (not in the item table)" for i in ev.loc[unknown, "item_id"]))
        ev = ev.loc[~unknown].reset_index(drop=True)

    rating = pd.to_numeric(ev["rating"], errors="coerce").astype("float64")
    bad = np.zeros(len(ev), dtype=bool)
    if rating_required:
        bad |= rating.isna().to_numpy()
    if rating_range is not None:
        lo, hi = rating_range
        bad |= (rating.notna() & ((rating < lo) | (rating > hi))).to_numpy()
    if bad.any():
        raw = ev.loc[bad, "rating"]
        _reject_rows(ev, bad, quarantine, "bad_rating",
                     (f"rating {r!r} missing or outside {list(rating_range or [])}" for r in raw))
        ev = ev.loc[~bad].reset_index(drop=True)
        rating = rating.loc[~bad].reset_index(drop=True)
    ev["rating"] = rating

    outlier, medians = timestamp_outliers(ev)
    if outlier.any():
        _reject_rows(ev, outlier, quarantine, "timestamp_outlier",
                     (f"timestamp {_when(t)} is over {TIMESTAMP_OUTLIER_FACTOR:g}x off the file's median "
                      f"{_when(medians[f])}, far outside its spread (a value cut short, or other units?)"
                      for t, f in ev.loc[outlier, ["timestamp", SOURCE_FILE]].itertuples(index=False, name=None)))
        ev = ev.loc[~outlier].reset_index(drop=True)

    timed = ev["timestamp"].notna().to_numpy()
    keys = ["user_id", "item_id", "timestamp"]
    dup = np.zeros(len(ev), dtype=bool)
    dup[timed] = ev.loc[timed].duplicated(keys, keep="first").to_numpy()
    if dup.any():
        first_line = ev.loc[timed].drop_duplicates(keys, keep="first").set_index(keys)[SOURCE_LINE]
        reasons = [
            f"duplicate event (user {u}, item {i}, timestamp {t}) first seen at line {first_line.loc[(u, i, t)]}"
            for u, i, t in ev.loc[dup, keys].itertuples(index=False, name=None)
        ]
        _reject_rows(ev, dup, quarantine, "duplicate_event", reasons)
        ev = ev.loc[~dup].reset_index(drop=True)
    return ev


def timestamp_outliers(events: pd.DataFrame) -> tuple[np.ndarray, dict[str, float]]:
    """(mask of events whose timestamp is <= 0 or over TIMESTAMP_OUTLIER_FACTOR off the median of its
    source file, and over TIMESTAMP_OUTLIER_MADS deviations from it; {file: median}). A ratio, because
    a log's dates cluster far from zero, so that a wide but real span (1996-2018) is never an outlier
    while 1970 is; one bad value moves neither the median nor the deviation. Files without
    timestamps are not judged."""
    ts = events["timestamp"].to_numpy(dtype="float64", na_value=np.nan)  # <NA>: never an outlier
    files = events[SOURCE_FILE].to_numpy()
    medians = pd.Series(ts).groupby(files).median().dropna()
    median = pd.Series(files).map(medians).to_numpy(dtype="float64")
    deviation = np.abs(ts - median)
    mad = pd.Series(deviation).groupby(files).transform("median").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.maximum(ts / median, median / ts)
    off = (ts <= 0) | (ratio > TIMESTAMP_OUTLIER_FACTOR)
    return ~np.isnan(ts) & (median > 0) & off & (deviation > TIMESTAMP_OUTLIER_MADS * mad), medians.to_dict()


def _when(ms: float) -> str:
    """A millisecond timestamp with its UTC date, for messages (built from parts: strftime stops at 9999)."""
    try:
        t = pd.Timestamp(int(ms), unit="ms")
    except (OverflowError, pd.errors.OutOfBoundsDatetime):
        return str(int(ms))
    return f"{int(ms)} ({t.year:04d}-{t.month:02d}-{t.day:02d})"


def _where(frame: pd.DataFrame, idx: int, table: str) -> tuple[str, int]:
    """Source file and line of row `idx` when known, else the table name and 1-based row."""
    if SOURCE_FILE in frame and SOURCE_LINE in frame:
        f, line = frame[SOURCE_FILE].iloc[idx], frame[SOURCE_LINE].iloc[idx]
        if isinstance(f, str) and pd.notna(line):
            return f, int(line)
    return f"{table} row", idx + 1


def _fail(frame: pd.DataFrame, mask: np.ndarray, table: str, reason: str) -> None:
    idx = int(np.flatnonzero(mask)[0])
    file, line = _where(frame, idx, table)
    raise DataError(file, line, f"{reason} ({int(mask.sum())} row(s) in {table})", kind="invalid_dataset")


def _check_columns(frame: pd.DataFrame, columns: list[str], table: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(table, None, f"missing required columns {missing}", kind="invalid_dataset")


def validate_dataset(ds: CanonicalDataset) -> None:
    """Raise DataError unless the tables satisfy docs/contracts.md.

    Checked: columns; unique, non-empty ids; every interaction's item in items; positions 0..n-1 per
    user in sorted order; no duplicate (user, item, timestamp); ratings in ds.report["rating_range"];
    split values; phases never go backwards along a user's sequence (train, then valid, then test), so
    no train sample's history holds a valid/test event and every valid target precedes the test
    target; samples are events (same item and rating) with a non-empty history and a stable id.
    """
    items, inter, samples = ds.items, ds.interactions, ds.samples
    _check_columns(items, ITEM_COLUMNS, "items")
    _check_columns(inter, INTERACTION_COLUMNS, "interactions")
    _check_columns(samples, SAMPLE_COLUMNS, "splits")

    ids = items["item_id"]
    if ids.isna().any() or (ids == "").any():
        _fail(items, (ids.isna() | (ids == "")).to_numpy(), "items", "empty item_id")
    if ids.duplicated().any():
        _fail(items, ids.duplicated().to_numpy(), "items", "duplicate item_id")

    for col in ("user_id", "item_id", "split"):
        bad = (inter[col].isna() | (inter[col].astype(str) == "")).to_numpy()
        if bad.any():
            _fail(inter, bad, "interactions", f"empty {col}")
    unknown = (~inter["item_id"].isin(ids)).to_numpy()
    if unknown.any():
        _fail(inter, unknown, "interactions",
              f"unknown item id {inter['item_id'].iloc[int(np.flatnonzero(unknown)[0])]!r}")
    bad_split = (~inter["split"].isin(SPLITS)).to_numpy()
    if bad_split.any():
        _fail(inter, bad_split, "interactions", f"split must be one of {SPLITS}")

    user = inter["user_id"].to_numpy()
    pos = inter["position"].to_numpy()
    expected = inter.groupby("user_id", sort=False).cumcount().to_numpy()
    sorted_users = len(user) < 2 or bool((user[1:] >= user[:-1]).all())
    if not sorted_users or not np.array_equal(pos, expected):
        _fail(inter, (pos != expected) if sorted_users else np.ones(len(pos), bool), "interactions",
              "events are not sorted by (user_id, position) with positions 0..n-1 per user")

    timed = inter["timestamp"].notna().to_numpy()
    dup = np.zeros(len(inter), dtype=bool)
    dup[timed] = inter.loc[timed].duplicated(["user_id", "item_id", "timestamp"]).to_numpy()
    if dup.any():
        _fail(inter, dup, "interactions", "duplicate event (same user, item and timestamp)")

    rating_range = ds.report.get("rating_range")
    if rating_range is not None:
        r = inter["rating"]
        out = (r.notna() & ((r < rating_range[0]) | (r > rating_range[1]))).to_numpy()
        if out.any():
            _fail(inter, out, "interactions", f"rating outside {rating_range}")

    rank = inter["split"].map(SPLIT_RANK).to_numpy()
    same_user = np.r_[False, user[1:] == user[:-1]]
    backwards = same_user & np.r_[False, rank[1:] < rank[:-1]]
    if backwards.any():
        _fail(inter, backwards, "interactions", "split goes backwards along the user's sequence "
              "(a valid/test event before a train event, or a test event before a valid one)")

    sid = samples["sample_id"]
    if sid.duplicated().any():
        _fail(samples, sid.duplicated().to_numpy(), "splits", "duplicate sample_id")
    stable = (sid == samples["user_id"] + ":" + samples["position"].astype(str)).to_numpy()
    if not stable.all():
        _fail(samples, ~stable, "splits", "sample_id is not '{user_id}:{position}'")
    if (~samples["split"].isin(SPLITS)).any():
        _fail(samples, (~samples["split"].isin(SPLITS)).to_numpy(), "splits", f"split must be one of {SPLITS}")
    if (samples["position"] < 1).any():
        _fail(samples, (samples["position"] < 1).to_numpy(), "splits",
              "sample with an empty history (position 0)")
    joined = samples.merge(inter[["user_id", "position", "item_id", "split", "rating"]],
                           on=["user_id", "position"], how="left", suffixes=("", "_event"), indicator=True)
    no_event = (joined["_merge"] != "both").to_numpy()
    if no_event.any():
        _fail(samples, no_event, "splits", "sample has no event at its (user_id, position)")
    mismatch = ((joined["item_id"] != joined["item_id_event"]) | (joined["split"] != joined["split_event"])).to_numpy()
    r1, r2 = joined["rating"], joined["rating_event"]
    mismatch = mismatch | ~((r1 == r2) | (r1.isna() & r2.isna())).to_numpy()
    if mismatch.any():
        _fail(samples, mismatch, "splits", "sample's item, split or rating differs from its event")

    kind = ds.report.get("split_kind")
    if kind not in SPLIT_KINDS:
        raise DataError("data_report", None, f"split_kind must be one of {SPLIT_KINDS}, got {kind!r}",
                        kind="invalid_dataset")
