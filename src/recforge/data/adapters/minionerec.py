"""Adapter for MiniOneRec's prepared Amazon 2018 sets (e.g. Industrial_and_Scientific).

Inputs: ``item.json`` ({id: {title, description, brand, categories}}; description is a stringified
Python list, parsed with ast.literal_eval, never eval) and the valid/test CSVs (one row per target:
user_id, history_item_id (Python list literal, the last <= 10 items before the target), item_id, ...).

**This is not MiniOneRec's full training data.** MiniOneRec's train CSV is not available; here each
user's sequence is rebuilt from the valid and test rows alone: the first row's history, then every
row's target in file order. Consecutive rows of a user must agree (a row's history must be a suffix
of the sequence so far, or extend it at the front); rows that do not are conflicts (raised, or
quarantined) and their number is reported. The valid targets are valid events and samples, the test
targets test events and samples, and every earlier item (history only) is a train event; train samples
are the train events at position >= 1. So the numbers are not comparable with MiniOneRec's tables.
There are no ratings or timestamps (rating NaN, timestamp <NA>). A user may have several valid and
several test samples (MiniOneRec's sliding windows): a later test target's history includes the
earlier test targets, exactly as in MiniOneRec's test CSV.
"""

from __future__ import annotations

import ast
import json
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from recforge.data.adapters._common import check_path
from recforge.data.canonical import (
    SOURCE_FILE,
    SOURCE_LINE,
    CanonicalDataset,
    make_interactions,
    make_items,
    make_samples,
)
from recforge.data.errors import ConfigError, DataError
from recforge.data.io import iter_csv, iter_text_lines
from recforge.data.quarantine import OnError, Quarantine
from recforge.data.validate import screen_events

log = logging.getLogger("recforge.data")

REQUIRED_COLUMNS = ("user_id", "history_item_id", "item_id")


def parse_description(value: object) -> tuple[str, bool]:
    """(text, ok): a stringified list of paragraphs joined by a space; "" for ""/[].

    ok is False when the value is not a valid list literal. Some upstream strings look like one but
    have unescaped quotes inside (``['... you\'re ...']`` written without the backslash); their
    brackets and quote separators are then stripped by hand so the text stays readable."""
    if value is None:
        return "", True
    if isinstance(value, list):
        return _squash(" ".join(str(v) for v in value)), True
    text = str(value).strip()
    if not text:
        return "", True
    try:
        parsed = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return _strip_list_syntax(text), False
    if isinstance(parsed, (list, tuple)):
        return _squash(" ".join(str(v) for v in parsed)), True
    return _squash(text), False


def _strip_list_syntax(text: str) -> str:
    for quote in ("'", '"'):
        if text.startswith("[" + quote) and text.endswith(quote + "]"):
            inner = text[2:-2]
            parts = re.split(r"""['"], ['"]""", inner)
            return _squash(" ".join(parts).replace("\\n", " "))
    return text


def _squash(text: str) -> str:
    """Collapse runs of whitespace (upstream paragraphs carry stray newlines and blanks)."""
    return " ".join(text.split())


def _read_items(path: Path, q: Quarantine) -> pd.DataFrame:
    # item.json is one pretty-printed JSON object; decode it through the line reader so that a
    # non-UTF-8 byte is reported with its line.
    text = "\n".join(t for _, t in iter_text_lines(path))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(path, exc.lineno, f"malformed JSON ({exc.msg})", kind="malformed_json") from exc
    if not isinstance(data, dict):
        raise DataError(path, 1, "expected a JSON object {item_id: {...}}", kind="malformed_json")
    rows, bad_desc = [], 0
    for item_id, rec in data.items():
        if not isinstance(rec, dict):
            q.reject(path, None, f"item {item_id}: expected an object", key="bad_field")
            continue
        desc, ok = parse_description(rec.get("description"))
        bad_desc += not ok
        cats = rec.get("categories") or []
        if isinstance(cats, str):
            cats = [c.strip() for c in cats.split(">") if c.strip()] if cats.strip() else []
        rows.append({"item_id": str(item_id), "title": rec.get("title") or "", "description": desc,
                     "brand": rec.get("brand") or "", "categories": cats})
    q.repair("description not a valid list literal (list syntax stripped by hand)", bad_desc)
    return pd.DataFrame(rows, columns=["item_id", "title", "description", "brand", "categories"])


def _parse_ids(value: str) -> list[str] | None:
    try:
        parsed = ast.literal_eval(value.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    if not isinstance(parsed, (list, tuple)):
        return None
    return [str(v) for v in parsed]


def _read_rows(path: Path, phase: str, q: Quarantine) -> list[tuple[str, list[str], str, int]]:
    """(user, history ids, target id, line) per CSV record."""
    out = []
    header: list[str] | None = None
    for line, row in iter_csv(path, quarantine=q):
        if header is None:
            header = row
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                raise DataError(path, line, f"missing required columns {missing}", kind="missing_field")
            col = {c: header.index(c) for c in REQUIRED_COLUMNS}
            continue
        if len(row) != len(header):
            q.reject(path, line, f"{len(row)} fields, header has {len(header)}", key="malformed_csv")
            continue
        user, hist_raw, target = (row[col[c]].strip() for c in REQUIRED_COLUMNS)
        if not user or not target:
            q.reject(path, line, "missing user_id or item_id", key="missing_field")
            continue
        history = _parse_ids(hist_raw)
        if history is None:
            q.reject(path, line, f"history_item_id is not a list literal: {hist_raw[:60]!r}", key="bad_field")
            continue
        if not history:
            q.reject(path, line, f"{phase} row of user {user} has an empty history", key="empty_history")
            continue
        out.append((user, history, target, line))
    return out


def resolve_files(path: str | Path | None, name: str | None, items: str | Path | None,
                  valid: str | Path | None, test: str | Path | None) -> tuple[Path, Path, Path]:
    """The three input files: given one by one, or found in directory `path` by MiniOneRec's naming
    (``{name}.item.json``, ``valid.{name}*.csv``, ``test.{name}*.csv``); explicit files win."""
    found: dict[str, Path | None] = {"items": None, "valid": None, "test": None}
    if path is not None:
        if name is None:
            raise ConfigError("minionerec: option 'path' needs 'name' (e.g. Industrial_and_Scientific)")
        root = Path(path)
        found["items"] = root / f"{name}.item.json"
        for phase in ("valid", "test"):
            matches = sorted(root.glob(f"{phase}.{name}*.csv"))
            if len(matches) != 1:
                raise ConfigError(f"minionerec: expected one {phase}.{name}*.csv in {root}, found "
                                  f"{[m.name for m in matches]}")
            found[phase] = matches[0]
    for key, value in (("items", items), ("valid", valid), ("test", test)):
        if value is not None:
            found[key] = Path(value)
    missing = [k for k, v in found.items() if v is None]
    if missing:
        raise ConfigError(f"minionerec: give 'path' and 'name', or the files {missing}")
    return found["items"], found["valid"], found["test"]  # type: ignore[return-value]


def load_minionerec(path: str | Path | None = None, name: str | None = None, items: str | Path | None = None,
                    valid: str | Path | None = None, test: str | Path | None = None,
                    on_error: OnError = "raise") -> CanonicalDataset:
    """Load item.json plus the valid and test CSVs; sequences rebuilt from their rows (see module doc).

    Either ``path`` (directory) + ``name`` (e.g. "Industrial_and_Scientific"), or ``items``, ``valid``
    and ``test`` (file paths)."""
    item_file, valid_file, test_file = resolve_files(path, name, items, valid, test)
    q = Quarantine(on_error)
    item_path = check_path(item_file, "item.json")
    paths = {"valid": check_path(valid_file, "valid CSV"), "test": check_path(test_file, "test CSV")}
    item_table = _read_items(item_path, q)
    known = set(item_table["item_id"])
    log.info("minionerec: %d items from %s", len(item_table), item_path)

    # user -> list of (item, phase, file, line); phase "train" for history-only items
    seqs: dict[str, list[tuple[str, str, str, int]]] = {}
    conflicts = 0
    rows_per_phase = {}
    for phase, path in paths.items():
        rows = _read_rows(path, phase, q)
        rows_per_phase[phase] = len(rows)
        for user, history, target, line in rows:
            unknown = [i for i in [*history, target] if i not in known]
            if unknown:
                q.reject(path, line, f"unknown item id {unknown[0]!r} (not in {item_path.name})", key="unknown_item")
                continue
            seq = seqs.get(user)
            if seq is None:
                seqs[user] = [(i, "train", str(path), line) for i in history] + [(target, phase, str(path), line)]
                continue
            items_so_far = [e[0] for e in seq]
            n = min(len(history), len(items_so_far))
            if history[len(history) - n:] != items_so_far[len(items_so_far) - n:]:
                conflicts += 1
                q.reject(path, line, f"{phase} row of user {user} disagrees with the user's earlier rows "
                         f"(history ends {history[-3:]}, sequence so far ends {items_so_far[-3:]})",
                         key="sequence_conflict")
                continue
            if len(history) > len(items_so_far):  # the row knows older items: prepend them as train events
                extra = history[: len(history) - len(items_so_far)]
                seqs[user] = [(i, "train", str(path), line) for i in extra] + seq
            seqs[user].append((target, phase, str(path), line))

    users, item_ids, phases, files, lines = [], [], [], [], []
    for user, seq in seqs.items():
        for item, phase, file, line in seq:
            users.append(user)
            item_ids.append(item)
            phases.append(phase)
            files.append(file)
            lines.append(line)
    events = pd.DataFrame({
        "user_id": users, "item_id": item_ids, "rating": np.full(len(users), np.nan),
        "timestamp": pd.array([pd.NA] * len(users), dtype="Int64"), "split": phases,
        SOURCE_FILE: files, SOURCE_LINE: np.asarray(lines, dtype=np.int64),
    })
    events["position"] = events.groupby("user_id", sort=False).cumcount()
    events = screen_events(events, known, q)
    events["_sample"] = (events["position"] >= 1).to_numpy()

    interactions = make_interactions(events)
    samples = make_samples(interactions)
    item_out = make_items(item_table)

    repeats = int(interactions.duplicated(["user_id", "item_id"]).sum())
    report = {
        "split_kind": "published",
        "adapter": "minionerec",
        "sources": {"items": str(item_path), **{k: str(v) for k, v in paths.items()}},
        "notes": {
            "not_full_training_data": "sequences rebuilt from MiniOneRec's valid and test rows only; "
                                      "the train CSV is not used, so results are not comparable with "
                                      "MiniOneRec's published tables",
            "csv_rows": rows_per_phase,
            "sequence_conflicts": conflicts,
            "users_in_valid_and_test": int(len(set(samples.loc[samples["split"] == "valid", "user_id"])
                                               & set(samples.loc[samples["split"] == "test", "user_id"]))),
            "repeated_items_in_sequences": repeats,
            "no_timestamps_or_ratings": "positions follow the rows' history order",
        },
    }
    return CanonicalDataset(item_out, interactions, samples, report, q)
