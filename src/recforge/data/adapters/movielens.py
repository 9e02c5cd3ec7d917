"""Adapter for MovieLens ratings: ml-latest(-small) CSVs and ML-1M/10M ``::`` .dat files.

* CSV (``format: csv``): ratings.csv ``userId,movieId,rating,timestamp`` and movies.csv
  ``movieId,title,genres``; a header row is optional (detected: the first field is not a number) and,
  when present, columns are found by name. UTF-8 by default.
* DAT (``format: dat``): ratings.dat ``UserID::MovieID::Rating::Timestamp`` and movies.dat
  ``MovieID::Title::Genres``, latin-1 by default (ML-1M titles such as "Misérables" are latin-1).
``format: auto`` picks by the ratings file's extension.

Timestamps are Unix seconds upstream, stored in ms. Genres ("A|B", "(no genres listed)" = none)
become `categories` (a flat genre list, not a path). Then the shared pipeline (see _events.py):
de-duplication, k-core (off by default: MovieLens is already 20-core per user), leave-one-out or
temporal split. Only movies with at least one event are kept in items.parquet.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal

import pandas as pd

from recforge.data.adapters._common import check_path, event_frame, parse_number
from recforge.data.adapters._events import Dedup, Split, check_policy, split_events
from recforge.data.canonical import CanonicalDataset, make_items
from recforge.data.errors import ConfigError, DataError
from recforge.data.io import iter_csv, iter_separated
from recforge.data.quarantine import OnError, Quarantine

log = logging.getLogger("recforge.data")

RATING_COLUMNS = ("userId", "movieId", "rating", "timestamp")
MOVIE_COLUMNS = ("movieId", "title", "genres")
NO_GENRES = "(no genres listed)"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _records(path: Path, fmt: str, encoding: str, columns: tuple[str, ...],
             q: Quarantine) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, {column: value}) for each data row; header optional (CSV), fixed order otherwise."""
    rows = iter_csv(path, encoding=encoding, quarantine=q) if fmt == "csv" else iter_separated(
        path, "::", encoding, quarantine=q)
    index = {c: i for i, c in enumerate(columns)}
    first = True
    for line, row in rows:
        if first:
            first = False
            if fmt == "csv" and not _is_number(row[0].strip()):
                names = [c.strip() for c in row]
                missing = [c for c in columns if c not in names]
                if missing:
                    raise DataError(path, line, f"header lacks columns {missing}", kind="missing_field")
                index = {c: names.index(c) for c in columns}
                continue
        if len(row) <= max(index.values()):
            q.reject(path, line, f"{len(row)} fields, expected {len(columns)}", key="missing_field")
            continue
        if fmt == "dat" and len(row) != len(columns):
            q.reject(path, line, f"{len(row)} fields, expected {len(columns)}", key="malformed_row")
            continue
        yield line, {c: row[i] for c, i in index.items()}


def _read_movies(path: Path, fmt: str, encoding: str, q: Quarantine) -> pd.DataFrame:
    rows = []
    seen: dict[str, int] = {}
    for line, rec in _records(path, fmt, encoding, MOVIE_COLUMNS, q):
        movie = rec["movieId"].strip()
        if not movie:
            q.reject(path, line, "missing movieId", key="missing_field")
            continue
        if movie in seen:
            q.reject(path, line, f"duplicate movieId {movie} (first at line {seen[movie]})", key="duplicate_item")
            continue
        seen[movie] = line
        genres = rec["genres"].strip()
        cats = [] if genres in ("", NO_GENRES) else [g for g in genres.split("|") if g]
        rows.append({"item_id": movie, "title": rec["title"].strip(), "categories": cats})
    return pd.DataFrame(rows, columns=["item_id", "title", "categories"])


def _read_ratings(path: Path, fmt: str, encoding: str, q: Quarantine) -> pd.DataFrame:
    rows = []
    for line, rec in _records(path, fmt, encoding, RATING_COLUMNS, q):
        user, movie = rec["userId"].strip(), rec["movieId"].strip()
        rating = parse_number(rec["rating"], float, path, line, "rating", q)
        if rating is None:
            continue
        seconds = parse_number(rec["timestamp"], int, path, line, "timestamp", q)
        if seconds is None:
            continue
        rows.append((user, movie, rating, seconds * 1000, str(path), line))
    return event_frame(rows)


def load_movielens(ratings: str | Path, movies: str | Path, format: Literal["auto", "csv", "dat"] = "auto",
                   encoding: str | None = None, user_core: int = 0, item_core: int = 0, dedup: Dedup = "first",
                   split: Split = "leave_one_out", ratios: Sequence[float] = (0.8, 0.1, 0.1),
                   rating_range: Sequence[float] = (0.5, 5.0), on_error: OnError = "raise") -> CanonicalDataset:
    """Load MovieLens ratings + movies (CSV or ``::`` DAT); de-duplicate, optional k-core, split."""
    check_policy(dedup, split, ratios, user_core, item_core)
    rating_path = check_path(ratings, "ratings file")
    movie_path = check_path(movies, "movies file")
    fmt = format
    if fmt == "auto":
        fmt = "dat" if rating_path.suffix == ".dat" else "csv"
    if fmt not in ("csv", "dat"):
        raise ConfigError(f"format must be auto, csv or dat, got {format!r}")
    enc = encoding or ("latin-1" if fmt == "dat" else "utf-8")
    lo, hi = (float(v) for v in rating_range)
    q = Quarantine(on_error)
    movie_table = _read_movies(movie_path, fmt, enc, q)
    events = _read_ratings(rating_path, fmt, enc, q)
    log.info("movielens: %d ratings, %d movies (%s, %s)", len(events), len(movie_table), fmt, enc)
    interactions, samples, facts = split_events(
        events, movie_table["item_id"], q, rating_range=(lo, hi), dedup=dedup,
        user_core=user_core, item_core=item_core, split=split, ratios=ratios)
    kept = movie_table[movie_table["item_id"].isin(set(interactions["item_id"]))]
    q.drop("movie without events (after filtering)", len(movie_table) - len(kept))
    report = {
        "split_kind": split,
        "adapter": "movielens",
        "sources": {"ratings": str(rating_path), "movies": str(movie_path)},
        "rating_range": [lo, hi],
        "notes": {**facts, "format": fmt, "encoding": enc},
    }
    return CanonicalDataset(make_items(kept), interactions, samples, report, q)
