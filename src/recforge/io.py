"""Reading the canonical tables and writing artifacts atomically.

Atomic writes (temp file in the same directory, then os.replace) mean a killed job never leaves a
half-written artifact behind that a rerun would mistake for a finished one.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Tables:
    items: pd.DataFrame
    interactions: pd.DataFrame
    samples: pd.DataFrame


def read_tables(paths: Mapping[str, str]) -> Tables:
    """Read the tables named by keys items_table, interactions_table, splits_table (a mapping or a
    Snakemake input object)."""
    return Tables(
        items=pd.read_parquet(paths["items_table"]),
        interactions=pd.read_parquet(paths["interactions_table"]),
        samples=pd.read_parquet(paths["splits_table"]),
    )


def _atomic_target(path: str | Path) -> tuple[Path, str]:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return path, tmp


def write_parquet(frame: pd.DataFrame, path: str | Path) -> None:
    path, tmp = _atomic_target(path)
    try:
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def to_jsonable(value: Any) -> Any:
    """Plain Python copy of `value`: numpy scalars/arrays unwrapped, tuples as lists, NaN/inf as None
    (bare NaN is not JSON)."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(payload: Any, path: str | Path) -> None:
    """Strict, indented JSON (NaN written as null), replaced atomically."""
    path, tmp = _atomic_target(path)
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(to_jsonable(payload), handle, indent=2, allow_nan=False, default=str)
            handle.write("\n")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_json(path: str | Path) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
