"""build_dataset: the one entry point the workflow calls to turn a dataset's config into tables.

adapter -> validate -> report -> atomic writes of items.parquet, interactions.parquet, splits.parquet,
data_report.json (and quarantine.jsonl when rows were quarantined).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from recforge.data.canonical import (
    INTERACTIONS_SCHEMA,
    ITEMS_SCHEMA,
    SAMPLES_SCHEMA,
    CanonicalDataset,
    to_arrow,
)
from recforge.data.options import check_options, get_adapter
from recforge.data.report import build_report
from recforge.data.validate import validate_dataset

log = logging.getLogger("recforge.data")

OUTPUT_FILES = ("items.parquet", "interactions.parquet", "splits.parquet", "data_report.json")
QUARANTINE_FILE = "quarantine.jsonl"
_UMASK = os.umask(0)
os.umask(_UMASK)


def load_dataset(adapter: str, options: Mapping[str, Any]) -> CanonicalDataset:
    """Run an adapter on config options (checked against its signature) and validate the result."""
    check_options(adapter, options)
    ds = get_adapter(adapter)(**dict(options))
    validate_dataset(ds)
    return ds


def _staged(out_dir: Path, name: str) -> Path:
    """A fresh temp file next to the final one (same filesystem, so os.replace is atomic)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out_dir)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; outputs should look like any other
    return Path(tmp)


def write_dataset(ds: CanonicalDataset, report: dict, out_dir: Path) -> list[Path]:
    """Write every file to a temp name first, then move them all into place.

    A job killed while writing leaves at most temp files (dot-prefixed), never a truncated parquet
    under a final name; data_report.json is moved last, so its presence means the set is complete.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    try:
        for name, frame, schema in (("items.parquet", ds.items, ITEMS_SCHEMA),
                                    ("interactions.parquet", ds.interactions, INTERACTIONS_SCHEMA),
                                    ("splits.parquet", ds.samples, SAMPLES_SCHEMA)):
            tmp = _staged(out_dir, name)
            staged.append((tmp, out_dir / name))
            pq.write_table(to_arrow(frame, schema), tmp, compression="zstd")
        stale_quarantine = out_dir / QUARANTINE_FILE
        if ds.quarantine.rows:
            tmp = _staged(out_dir, QUARANTINE_FILE)
            staged.append((tmp, stale_quarantine))
            ds.quarantine.write(tmp)
        tmp = _staged(out_dir, "data_report.json")
        staged.append((tmp, out_dir / "data_report.json"))
        tmp.write_text(json.dumps(report, indent=1, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8")
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    if not ds.quarantine.rows:
        (out_dir / QUARANTINE_FILE).unlink(missing_ok=True)  # a stale one from an earlier run would lie
    for tmp, final in staged:
        os.replace(tmp, final)
    return [final for _, final in staged]


def build_dataset(adapter: str, options: Mapping[str, Any], out_dir: Path, name: str | None = None) -> dict:
    """Build one dataset into `out_dir`; return the data report.

    `options` is the dataset's config mapping (paths relative to the working directory) with the
    adapter's own keys plus ``on_error: raise|quarantine``; unknown keys are a ConfigError.
    """
    out_dir = Path(out_dir)
    start = time.perf_counter()
    log.info("building dataset %s with adapter %s", name or out_dir, adapter)
    ds = load_dataset(adapter, options)
    report = build_report(ds, name)
    report["options"] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in options.items()}
    written = write_dataset(ds, report, out_dir)
    c = report["counts"]
    # The time is logged, not put in the report, so that the report is reproducible byte for byte.
    log.info("wrote %s in %.2f s: %d users, %d items, %d events, samples %s, quarantined %s",
             out_dir, time.perf_counter() - start, c["users"], c["items"], c["interactions"], c["samples"],
             report["rows"]["quarantined"])
    log.debug("files: %s", [str(p) for p in written])
    return report
