"""Semantic IDs as text and as a parquet artifact.

sids.parquet columns: item_id (str), codes (list<int64>), sid (str, e.g.
"<|sid_begin|><s_a_12><s_b_7><s_c_200><|sid_end|>"), raw_codes (list<int64>, before collision
resolution). The report travels in the parquet metadata (pandas attrs), so the artifact is
self-describing; written atomically with recforge.io.write_parquet.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from recforge.io import to_jsonable, write_parquet
from recforge.models.tokens import SID_BEGIN, SID_END, sid_token
from recforge.sid.types import SemanticIds

REPORT_ATTR = "recforge_sid_report"
_TOKEN = re.compile(r"<s_([a-z])_(\d+)>")


def sid_text(codes_row: Sequence[int]) -> str:
    """"<|sid_begin|><s_a_12><s_b_7><|sid_end|>" for the code row (12, 7)."""
    return SID_BEGIN + "".join(sid_token(level, int(code)) for level, code in enumerate(codes_row)) + SID_END


def parse_sid_text(text: str) -> list[int]:
    """The code row of a sid string (inverse of sid_text); ValueError if it is not one."""
    text = text.strip()
    if not (text.startswith(SID_BEGIN) and text.endswith(SID_END)):
        raise ValueError(f"not a semantic ID: {text!r}")
    body = text[len(SID_BEGIN) : len(text) - len(SID_END)]
    tokens = _TOKEN.findall(body)
    if "".join(f"<s_{a}_{c}>" for a, c in tokens) != body or not tokens:
        raise ValueError(f"not a semantic ID: {text!r}")
    if [ord(a) - ord("a") for a, _ in tokens] != list(range(len(tokens))):
        raise ValueError(f"semantic ID levels out of order: {text!r}")
    return [int(c) for _, c in tokens]


def write_sids(sids: SemanticIds, path: str | Path) -> None:
    frame = pd.DataFrame(
        {
            "item_id": pd.Series(sids.item_ids, dtype=object),
            "codes": [row.astype(np.int64) for row in sids.codes],
            "sid": [sid_text(row) for row in sids.codes],
            "raw_codes": [row.astype(np.int64) for row in sids.raw_codes],
        }
    )
    frame.attrs = {REPORT_ATTR: json.dumps(to_jsonable(sids.report), allow_nan=False)}
    write_parquet(frame, path)


def read_sids(path: str | Path) -> SemanticIds:
    frame = pd.read_parquet(path)
    missing = {"item_id", "codes"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: not a semantic-ID table (missing columns {sorted(missing)})")
    codes = _stack(frame["codes"])
    raw = _stack(frame["raw_codes"]) if "raw_codes" in frame.columns else codes
    report = json.loads(frame.attrs[REPORT_ATTR]) if REPORT_ATTR in frame.attrs else {}
    return SemanticIds(frame["item_id"].astype(str).tolist(), codes, raw, report)


def _stack(column: pd.Series) -> np.ndarray:
    rows = [np.asarray(v, dtype=np.int64) for v in column]
    if not rows:
        return np.zeros((0, 0), dtype=np.int64)
    if len({len(r) for r in rows}) != 1:
        raise ValueError("semantic-ID rows have different lengths")
    return np.stack(rows)
