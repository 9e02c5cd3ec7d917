"""Adapter for the LLM4Rec (ICLR 2026 "interest sketching") release of Amazon 2023 Movies_and_TV.

Reads the raw upstream files themselves (history/train/valid/test.jsonl.gz) and keeps the published
split exactly (split_kind "published"):

* history.jsonl.gz: one row per user, ``history_asins`` in order with ``history_ratings`` and the text
  ``history`` ("title, cat1|cat2|..., rating" per line). These are the user's train-phase events; the
  first 3 have no timestamp anywhere upstream (<NA> here).
* train.jsonl.gz: row k of a user targets ``history_asins[k+3]`` with the first k+3 items as history.
  This is checked for every row (target id and label); each row is a train sample and gives the
  timestamp of its event.
* valid.jsonl.gz / test.jsonl.gz: one row per user whose target follows the full history; the valid
  target gets position len(history), the test target len(history)+1. valid ts <= test ts is checked.

Items exist only as text: "title, categories" (targets) or "title, categories, rating" (history
lines); there are no descriptions or brands. See `split_title_categories` for how the title is told
from the category path (titles may contain ", ").
"""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

from recforge.data.adapters._common import check_path, event_frame, require
from recforge.data.canonical import (
    CanonicalDataset,
    make_interactions,
    make_items,
    make_samples,
)
from recforge.data.io import iter_jsonl
from recforge.data.quarantine import OnError, Quarantine
from recforge.data.validate import screen_events

log = logging.getLogger("recforge.data")

ROOT = "Movies & TV"
N_UNTIMED = 3  # the first 3 history items of every user are never a train target, so have no time
FILES = ("history", "train", "valid", "test")


def split_title_categories(text: str, known: set[str]) -> tuple[str, list[str]]:
    """Split "title, cat1|cat2|..." into (title, [cat1, cat2, ...]).

    Rules, in order (titles may contain ", " and even "|"; category names may contain ", "):
    1. If ", Movies & TV" occurs, the path starts at its last occurrence (10,304 of 10,874 items).
    2. Else the first category ends at the first "|". It starts at the leftmost ", " of the part
       before that "|" whose remainder is a category name seen elsewhere (`known`, collected from
       unambiguous positions), so "Saturday Night Fever, Arts, Entertainment, and Culture|Drama"
       keeps "Arts, Entertainment, and Culture" whole; otherwise at the last ", ".
    3. Without any ", " the whole text is the title and there are no categories.
    Empty category names (e.g. "Safe Haven, ") are dropped.
    """
    marker = ", " + ROOT
    cut = text.rfind(marker)
    if cut >= 0 and (len(text) == cut + len(marker) or text[cut + len(marker)] == "|"):
        return text[:cut], [c for c in text[cut + 2 :].split("|") if c]
    head, bar, rest = text.partition("|")
    start = -1
    pos = head.find(", ")
    while pos >= 0:
        if head[pos + 2 :] in known:
            start = pos
            break
        pos = head.find(", ", pos + 1)
    if start < 0:
        start = head.rfind(", ")
    if start < 0:
        return text, []
    cats = [head[start + 2 :]] + (rest.split("|") if bar else [])
    return head[:start], [c for c in cats if c]


def _known_categories(texts: list[str]) -> set[str]:
    """Category names from positions where they cannot be confused with a title."""
    known: set[str] = set()
    marker = ", " + ROOT
    for text in texts:
        cut = text.rfind(marker)
        if cut >= 0:
            known.update(text[cut + 2 :].split("|"))
        elif "|" in text:
            known.update(text.split("|")[1:])
    known.discard("")
    return known


def load_llm4rec(path: str | Path, on_error: OnError = "raise") -> CanonicalDataset:
    """Load the LLM4Rec Movies files in directory `path` (history/train/valid/test.jsonl.gz)."""
    q = Quarantine(on_error)
    root = Path(path)
    files = {name: check_path(root / f"{name}.jsonl.gz", f"LLM4Rec {name} file") for name in FILES}
    item_text: dict[str, str] = {}
    conflicts = 0

    def note_item(asin: str, text: str) -> None:
        nonlocal conflicts
        seen = item_text.setdefault(asin, text)
        if seen != text:
            conflicts += 1

    # --- history.jsonl.gz: the users and their train-phase sequences
    hist_file = files["history"]
    users: dict[str, dict] = {}
    for line, rec in iter_jsonl(hist_file, q):
        if not require(rec, {"user_id": str, "history_asins": list, "history_ratings": list, "history": str},
                       hist_file, line, q):
            continue
        user, asins, ratings = rec["user_id"], rec["history_asins"], rec["history_ratings"]
        lines = rec["history"].split("\n")
        if user in users:
            q.reject(hist_file, line, f"user {user} already has a history row (line {users[user]['line']})",
                     key="duplicate_user")
            continue
        if not asins:
            q.reject(hist_file, line, f"user {user} has an empty history", key="empty_history")
            continue
        if not (len(asins) == len(ratings) == len(lines)):
            q.reject(hist_file, line, f"history_asins ({len(asins)}), history_ratings ({len(ratings)}) and "
                     f"history lines ({len(lines)}) differ in length", key="bad_field")
            continue
        if not all(isinstance(a, str) and a for a in asins) or not all(
                isinstance(r, (int, float)) and not isinstance(r, bool) for r in ratings):
            q.reject(hist_file, line, "history_asins must be non-empty strings and history_ratings numbers",
                     key="bad_field")
            continue
        for asin, text in zip(asins, lines):
            note_item(asin, text.rpartition(", ")[0])
        users[user] = {"line": line, "asins": asins, "ratings": [float(r) for r in ratings],
                       "ts": [None] * len(asins), "src": [(str(hist_file), line)] * len(asins),
                       "train": [], "valid": None, "test": None, "history": rec["history"]}
    log.info("llm4rec: %d users in %s", len(users), hist_file)

    # --- train.jsonl.gz: row k of a user targets history_asins[k+3]
    target_fields = {"user_id": str, "parent_asin": str, "timestamp": int, "label": (int, float), "target": str}
    train_file = files["train"]
    next_pos: dict[str, int] = defaultdict(lambda: N_UNTIMED)
    for line, rec in iter_jsonl(train_file, q):
        if not require(rec, target_fields, train_file, line, q):
            continue
        user = rec["user_id"]
        u = users.get(user)
        if u is None:
            q.reject(train_file, line, f"user {user} has no row in {hist_file.name}", key="unknown_user")
            continue
        expected = next_pos[user]  # = 3 + k for the user's k-th row
        try:
            p = u["asins"].index(rec["parent_asin"], expected)
        except ValueError:
            p = -1
        if p != expected and (p < 0 or q.raising):
            k = expected - N_UNTIMED
            found = u["asins"][expected] if expected < len(u["asins"]) else "nothing (history too short)"
            q.reject(train_file, line, f"train row {k} of user {user} targets {rec['parent_asin']} but "
                     f"history_asins[{k}+3] is {found}", key="published_split_violation")
            continue
        # (quarantine mode, p > expected: an earlier row of this user was set aside; the row still
        # lands on its own position and the per-user check below counts the missing one)
        if float(rec["label"]) != u["ratings"][p]:
            q.reject(train_file, line, f"label {rec['label']} differs from history rating {u['ratings'][p]}",
                     key="published_split_violation")
            continue
        note_item(rec["parent_asin"], rec["target"])
        u["ts"][p] = rec["timestamp"]
        u["src"][p] = (str(train_file), line)
        u["train"].append(p)
        next_pos[user] = p + 1

    # --- valid / test: one target per user after the full history
    history_mismatch = 0
    for phase in ("valid", "test"):
        file = files[phase]
        for line, rec in iter_jsonl(file, q):
            if not require(rec, target_fields, file, line, q):
                continue
            user = rec["user_id"]
            u = users.get(user)
            if u is None:
                q.reject(file, line, f"user {user} has no row in {hist_file.name}", key="unknown_user")
                continue
            if u[phase] is not None:
                q.reject(file, line, f"second {phase} row for user {user} (first at line {u[phase][3]})",
                         key="duplicate_user")
                continue
            if isinstance(rec.get("history"), str) and rec["history"].rstrip("\n") != u["history"]:
                history_mismatch += 1
            note_item(rec["parent_asin"], rec["target"])
            u[phase] = (rec["parent_asin"], float(rec["label"]), rec["timestamp"], line)

    # --- per-user completeness: every user needs all train rows, a valid and a test target
    rows: list[tuple] = []
    train_pos: list[tuple[str, int]] = []
    order_violations = 0
    for user, u in users.items():
        n = len(u["asins"])
        problem = None
        if u["valid"] is None or u["test"] is None:
            problem = f"user {user} has no {'valid' if u['valid'] is None else 'test'} row"
        elif u["valid"][2] > u["test"][2]:
            problem = f"user {user}: valid target ({u['valid'][2]}) is later than test target ({u['test'][2]})"
        if problem:
            q.reject(hist_file, u["line"], problem, key="published_split_violation")
            continue
        if len(u["train"]) != max(0, n - N_UNTIMED):
            # quarantine mode: the user stays, without the missing train samples (and their timestamps)
            q.reject(hist_file, u["line"], f"user {user} has {len(u['train'])} train rows, expected "
                     f"{max(0, n - N_UNTIMED)} (history length - 3)", key="published_split_violation")
        ts_seq = [t for t in u["ts"] if t is not None] + [u["valid"][2], u["test"][2]]
        order_violations += int(np.sum(np.diff(ts_seq) < 0)) if len(ts_seq) > 1 else 0
        for p in range(n):
            rows.append((user, u["asins"][p], u["ratings"][p], u["ts"][p], *u["src"][p]))
        for phase in ("valid", "test"):
            asin, label, ts, line = u[phase]
            rows.append((user, asin, label, ts, str(files[phase]), line))
        train_pos.extend((user, p) for p in u["train"])

    events = event_frame(rows)
    events["position"] = events.groupby("user_id", sort=False).cumcount()
    size = events.groupby("user_id", sort=False)["position"].transform("size")
    events["split"] = np.where(events["position"] == size - 1, "test",
                               np.where(events["position"] == size - 2, "valid", "train"))

    # Published positions are fixed, so a bad event here cannot simply be left out: screen_events
    # only confirms there is none (in quarantine mode any rejection is reported and the user dropped).
    screened = screen_events(events, item_text.keys(), q, rating_range=(1.0, 5.0), rating_required=True)
    if len(screened) != len(events):
        n_events = events.groupby("user_id", sort=False).size()
        kept = screened.groupby("user_id", sort=False).size().reindex(n_events.index, fill_value=0)
        bad_users = n_events.index[kept != n_events]
        events = events[~events["user_id"].isin(bad_users)]
        q.drop("user with a rejected event (published positions cannot be renumbered)", len(bad_users))

    interactions = make_interactions(events)
    keys = pd.MultiIndex.from_frame(interactions[["user_id", "position"]])
    wanted = set(train_pos)
    is_train_sample = np.fromiter(((u, p) in wanted for u, p in keys), dtype=bool, count=len(keys))
    mask = is_train_sample | interactions["split"].isin(["valid", "test"]).to_numpy()
    samples = make_samples(interactions, mask)

    used = pd.unique(interactions["item_id"])
    known = _known_categories([item_text[a] for a in used])
    parsed = [split_title_categories(item_text[a], known) for a in used]
    items = make_items(pd.DataFrame({"item_id": used, "title": [t for t, _ in parsed],
                                     "categories": [c for _, c in parsed]}))
    q.repair("item text differing between mentions (first mention kept)", conflicts)

    report = {
        "split_kind": "published",
        "adapter": "llm4rec",
        "sources": {name: str(f) for name, f in files.items()},
        "rating_range": [1.0, 5.0],
        "notes": {
            "untimed_events": "the first 3 history items of every user have no timestamp upstream",
            "valid_test_history_differs_from_history_file": history_mismatch,
            "timestamp_order_violations": order_violations,
            "items_without_movies_tv_root": int(sum(not c or c[0] != ROOT for _, c in parsed)),
        },
    }
    log.info("llm4rec: %d events, %d samples, %d items", len(interactions), len(samples), len(items))
    return CanonicalDataset(items, interactions, samples, report, q)
