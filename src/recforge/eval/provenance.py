"""Where a number came from: config digest, package versions, git state and wall time per method."""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

import recforge

PACKAGES = ("numpy", "pandas", "pyarrow", "torch", "snakemake")


def config_digest(config: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of `config`: sorted keys, no whitespace, UTF-8, str() for non-JSON values."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def package_versions(packages: Iterable[str] = PACKAGES) -> dict[str, str | None]:
    """Python's version and each installed distribution's version (None if not installed)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _git(args: list[str], cwd: Path | None) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_state(repo_dir: str | Path | None = None) -> dict[str, Any]:
    """{"commit": HEAD sha or None, "dirty": True if tracked changes or untracked (non-ignored) files, None if unknown}.

    Untracked files count as dirty: a new, uncommitted source file means HEAD does not describe the code
    that ran. Ignored paths (results/, .venv/) do not.
    """
    cwd = None if repo_dir is None else Path(repo_dir)
    commit = _git(["rev-parse", "HEAD"], cwd)
    status = _git(["status", "--porcelain"], cwd) if commit is not None else None
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def benchmark_seconds(paths: Iterable[str | Path]) -> float:
    """Sum of the `s` column (wall-clock seconds) over every row of Snakemake benchmark TSV files.

    All rows are summed, so a rule benchmarked with repeat(n) counts n times: the total is time spent.
    """
    total = 0.0
    for path in paths:
        table = pd.read_csv(path, sep="\t")
        if "s" not in table.columns:
            raise ValueError(f"{path}: not a Snakemake benchmark file (no 's' column)")
        total += float(pd.to_numeric(table["s"]).sum())
    return total


def provenance(
    config: Mapping[str, Any],
    benchmark_paths: Mapping[str, Iterable[str | Path]] | None = None,
    repo_dir: str | Path | None = None,
    costs: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The provenance block of results/{dataset}/metrics.json. `costs` (recforge.eval.costs.
    method_costs: every job a method needs, shared ones marked) gives wall_time_s as each method's
    total and is kept as `cost`; without it wall_time_s sums `benchmark_paths`."""
    if costs is not None:
        wall = {method: cost["total_s"] for method, cost in costs.items()}
    else:
        wall = {method: benchmark_seconds(paths) for method, paths in (benchmark_paths or {}).items()}
    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config_sha256": config_digest(config),
        "recforge_version": recforge.__version__,
        "packages": package_versions(),
        "git": git_state(repo_dir),
        "wall_time_s": wall,
        **({"cost": dict(costs)} if costs is not None else {}),
    }
