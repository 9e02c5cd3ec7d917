"""What each method cost, upstream jobs included: the Snakemake benchmark files (results/{dataset}/
benchmarks/**.tsv) of every job a method needs, as the method table lists them (workflow/methods.yaml,
`cost`). A job that more than one of the gathered methods needs (the data, the embeddings, the tiny
model, isir's GRPO teacher) is marked shared: its seconds count in each method's total, once each, and
the sum of the totals is not the run's wall time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from recforge.eval.provenance import benchmark_seconds

# A method the table gives no `cost` list: the dataset and its own jobs (the classic baselines).
DEFAULT_COST = ("data/prepare_dataset.tsv", "{method}/*.tsv")


def cost_files(benchmarks: str | Path, patterns: Sequence[str], method: str) -> list[Path]:
    """The benchmark files matching `patterns` (globs under `benchmarks`, {method} filled in); a
    pattern that matches nothing (a stage the configuration skips) adds nothing."""
    root = Path(benchmarks)
    return sorted({path for pattern in patterns for path in root.glob(pattern.format(method=method))})


def method_costs(benchmarks: str | Path, patterns: Mapping[str, Sequence[str]]) -> dict[str, dict[str, Any]]:
    """Per method: total_s (every job it needs), own_s, shared_s and stages {stage: {"s", "shared"}}
    (stage = the benchmark file's path under `benchmarks`, without .tsv)."""
    root = Path(benchmarks)
    files = {method: cost_files(root, pats, method) for method, pats in patterns.items()}
    users = Counter(path for paths in files.values() for path in paths)
    costs = {}
    for method, paths in files.items():
        stages = {
            str(path.relative_to(root).with_suffix("")): {"s": benchmark_seconds([path]), "shared": users[path] > 1}
            for path in paths
        }
        shared = sum(s["s"] for s in stages.values() if s["shared"])
        own = sum(s["s"] for s in stages.values() if not s["shared"])
        costs[method] = {"total_s": own + shared, "own_s": own, "shared_s": shared, "stages": stages}
    return costs


def cost_patterns(entry: Mapping[str, Any]) -> list[str]:
    """A method table entry's `cost` globs, flattened (the table extends one list by an anchor:
    [*teacher, [student.tsv]]), or DEFAULT_COST."""

    def flat(value: Any) -> list[str]:
        return [p for v in value for p in flat(v)] if isinstance(value, list) else [value]

    return flat(entry["cost"]) if "cost" in entry else list(DEFAULT_COST)
