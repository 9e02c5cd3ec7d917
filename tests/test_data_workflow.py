"""The data stage as a new user meets it from the command line (issue 13): a data error's file:line reason
reaches the console, a dry run checks each adapter's options, and the README's "Adding a dataset" example
runs as written. Only data rules and the cheap rating/popularity methods run here, never training."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from workflow_helpers import REPO, copy_checkout, snakemake

MOVIES = "movieId,title,genres\n10,A (1995),Drama\n20,B (1995),Comedy\n30,C (1995),Drama\n"
RATINGS = "userId,movieId,rating,timestamp\n" + "".join(
    f"{u},{m},4.0,97830{u}{k}00\n" for u in (1, 2) for k, m in enumerate((10, 20, 30)))


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    return copy_checkout(tmp_path_factory.mktemp("data_workspace"))


def add_dataset(workspace: Path, name: str, ratings: str, **options) -> str:
    """Write a MovieLens-format dataset and its config overlay under data/; return the overlay's path."""
    root = workspace / "data" / name
    root.mkdir(parents=True, exist_ok=True)
    (root / "movies.csv").write_text(MOVIES)
    (root / "ratings.csv").write_text(ratings)
    overlay = {"datasets": {name: {"adapter": "movielens", "methods": ["global_mean"], "options": {
        "ratings": f"data/{name}/ratings.csv", "movies": f"data/{name}/movies.csv", **options}}}}
    path = workspace / "data" / f"{name}.yaml"
    path.write_text(yaml.safe_dump(overlay))
    return str(path.relative_to(workspace))


def test_data_error_reaches_the_console(workspace):
    # Before: the console showed only "CalledProcessError ... check log file(s)"; the reason was in the log.
    config = add_dataset(workspace, "Broken", RATINGS.replace("2,20,4.0", "2,20,x"))
    proc = snakemake(workspace, "results/Broken/data/data_report.json", "-c1", "--configfile", config, check=False)
    assert proc.returncode != 0
    console = proc.stdout + proc.stderr
    assert "DataError: data/Broken/ratings.csv:6: field 'rating': cannot parse 'x'" in console, console[-3000:]
    log = (workspace / "results/Broken/logs/data/prepare_dataset.log").read_text()
    assert "Traceback" in log and "ratings.csv:6: field 'rating'" in log


@pytest.mark.parametrize("option, message", [
    ({"on_eror": "quarantine"}, "unknown option(s) ['on_eror']; accepted: ['dedup', 'encoding', 'format', "
                                "'item_core', 'movies', 'on_error', 'rating_range', 'ratings', 'ratios', 'split', "
                                "'user_core']"),
    ({"split": "leave-one-out"}, "split must be one of ['leave_one_out', 'temporal'], got 'leave-one-out'"),
])
def test_dry_run_checks_adapter_options(workspace, option, message):
    config = add_dataset(workspace, "Typo", RATINGS, **option)
    proc = snakemake(workspace, "-n", "results/Typo/data/data_report.json", "--configfile", config, check=False)
    assert proc.returncode != 0
    assert f"datasets.Typo.options: adapter 'movielens': {message}" in proc.stdout + proc.stderr


def readme_example() -> str:
    """The bash block of the README's worked example (the first one after "A worked example")."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    after = text[text.index("A worked example (tests/test_data_workflow.py"):]
    return re.search(r"```bash\n(.*?)```", after, flags=re.S).group(1)


def test_readme_worked_example_runs(workspace):
    env = {**os.environ, "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ["PATH"]])}
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", readme_example()], cwd=workspace, env=env,
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = yaml.safe_load((workspace / "results/MLTiny/data/data_report.json").read_text())
    assert report["counts"]["users"] == 40 and report["split_kind"] == "leave_one_out"
    metrics = yaml.safe_load((workspace / "results/MLTiny/metrics.json").read_text())
    assert sorted(metrics["methods"]) == ["global_mean", "item_mean", "popularity", "user_mean"]
    assert "item_mean" in proc.stdout  # the table printed by recforge.eval.show
