"""Reading the canonical tables and writing artifacts atomically.

Atomic writes (temp file in the same directory, then os.replace) mean a killed job never leaves a
half-written artifact behind that a rerun would mistake for a finished one.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

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


def write_json(payload: Any, path: str | Path) -> None:
    path, tmp = _atomic_target(path)
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2, sort_keys=False, default=str)
            handle.write("\n")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
