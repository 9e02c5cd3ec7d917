"""Shared by the workflow and Slurm tests: a copy of the checkout to run the workflow in."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHECKOUT = ["Snakefile", "rules", "workflow", "config", "envs", "profiles", "resources", "src", "tests"]


def copy_checkout(dest: Path) -> Path:
    """Copy what the workflow needs (not results/) so that test runs never touch the developer's results/."""
    for name in CHECKOUT:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, dest / name)
    return dest
