"""Read Persona4Rec's evaluation example files (candidate.jsonl, gt.jsonl) into the rerank shapes.

Mirrors what Persona4Rec's evaluation/eval.py reads, so our rerank evaluator can be checked against it:
- a candidate line is {"user_id", "results": [{"item_id", "score"}, ...]}; the list order is the ranking
  (scores are ignored) and entries with a missing or empty item_id are dropped, as eval.py does;
  "[PAD]" entries are kept (they hold their slot; see metrics.py);
- only users present in both files, with a non-empty list, are scored (eval.py skips the others);
- eval.py allows several GT items per user; our samples carry one target each, so a user with more than
  one GT item is rejected rather than silently reduced to one.
Every sample is placed in split `test` with sample_id = user_id (these files have no positions).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

SPLIT = "test"


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_example(candidate_path: str | Path, gt_path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(predictions, samples) for the rerank protocol from Persona4Rec's candidate and gt files."""
    gt: dict[str, list[str]] = {}
    for row in _read_jsonl(Path(gt_path)):
        user, item = row.get("user_id"), row.get("item_id")
        if user and item and item not in gt.setdefault(user, []):
            gt[user].append(item)
    several = [u for u, targets in gt.items() if len(targets) > 1]
    if several:
        raise ValueError(f"{gt_path}: {len(several)} user(s) have several GT items; one target per sample is supported")

    pred_rows, sample_rows = [], []
    for row in _read_jsonl(Path(candidate_path)):
        user = row.get("user_id")
        if user not in gt:
            continue
        items = [r["item_id"] for r in row.get("results", []) if r and r.get("item_id")]
        if not items:
            continue
        pred_rows.append({"sample_id": user, "split": SPLIT, "items": items})
        sample_rows.append(
            {
                "sample_id": user,
                "user_id": user,
                "item_id": gt[user][0],
                "position": 0,
                "split": SPLIT,
                "rating": float("nan"),
            }
        )
    return pd.DataFrame(pred_rows), pd.DataFrame(sample_rows)
