"""Gather per-method metrics files into results/{dataset}/metrics.json and render it as markdown.

metrics.json:
    {"dataset": ..., "provenance": {...provenance.provenance()},
     "methods": {method: [{"protocol", "results": [...], "extra": {...}}, ...]},
     "table": [{"method", "protocol", "split", "metric", "value", "n"}, ...]}
`table` is the flat form: one row per number, each tagged with its protocol and split. Scenario
numbers of the rerank protocol appear as metric "warm/HIT@10" etc. with the bucket's size as n.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from recforge.io import read_json, to_jsonable, write_json
from recforge.eval.provenance import provenance


def flat_rows(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows method/protocol/split/metric/value/n of one per-method metrics document."""
    rows = []
    base = {"method": document["method"], "protocol": document["protocol"]}
    for entry in document["results"]:
        for metric, value in entry["metrics"].items():
            rows.append({**base, "split": entry["split"], "metric": metric, "value": value, "n": entry["n"]})
        for bucket, values in (entry.get("scenarios") or {}).get("buckets", {}).items():
            for metric, value in values.items():
                if metric != "n":
                    rows.append(
                        {
                            **base,
                            "split": entry["split"],
                            "metric": f"{bucket}/{metric}",
                            "value": value,
                            "n": values["n"],
                        }
                    )
    return rows


def gather(
    metric_paths: Iterable[str | Path],
    out_path: str | Path,
    *,
    dataset: str,
    config: Mapping[str, Any],
    benchmark_paths: Mapping[str, Iterable[str | Path]] | None = None,
    repo_dir: str | Path | None = None,
    efficiency: Mapping[str, Any] | None = None,
    costs: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Write results/{dataset}/metrics.json from per-method metrics files; return the document.

    Raises ValueError if a file belongs to another dataset or the same (method, protocol) appears twice.
    `repo_dir` is where `git rev-parse HEAD` runs (default: the current directory). `efficiency`, when
    given, is stored as is under "efficiency" (methods' cost figures: prompt tokens, generated tokens,
    predictions per second). `costs` (recforge.eval.costs.method_costs) makes each method's wall time
    include the upstream jobs it needs (provenance.provenance).
    """
    methods: dict[str, list[dict[str, Any]]] = {}
    table: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for path in metric_paths:
        document = read_json(path)
        if document.get("dataset") != dataset:
            raise ValueError(f"{path}: metrics for dataset {document.get('dataset')!r}, expected {dataset!r}")
        key = (document["method"], document["protocol"])
        if key in seen:
            raise ValueError(f"{path}: method {key[0]!r} under protocol {key[1]!r} was already gathered")
        seen.add(key)
        methods.setdefault(document["method"], []).append(
            {
                "protocol": document["protocol"],
                "results": document["results"],
                "extra": document.get("extra", {}),
                "source": str(path),
            }
        )
        table.extend(flat_rows(document))
    out = to_jsonable(
        {
            "dataset": dataset,
            "provenance": provenance(config, benchmark_paths, repo_dir, costs),
            "methods": methods,
            "table": table,
            **({"efficiency": dict(efficiency)} if efficiency else {}),
        }
    )
    write_json(out, out_path)
    return out


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def to_markdown(metrics_json: Mapping[str, Any]) -> str:
    """Markdown report: one table per protocol (rows method x split, columns metrics), scenario numbers in
    their own table, then provenance and wall time."""
    rows = metrics_json["table"]
    lines = [f"# {metrics_json['dataset']}", ""]
    sections: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        name = row["protocol"] + (" scenarios" if "/" in row["metric"] else "")
        sections.setdefault(name, []).append(row)
    for name, section in sections.items():
        metric_names = list(dict.fromkeys(r["metric"] for r in section))
        cells: dict[tuple[str, str], dict[str, Any]] = {}
        for r in section:
            cells.setdefault((r["method"], r["split"]), {})[r["metric"]] = r["value"]
        n_of = {} if name.endswith("scenarios") else {(r["method"], r["split"]): r["n"] for r in section}
        header = ["method", "split"] + ([] if name.endswith("scenarios") else ["n"]) + metric_names
        lines += [f"## {name}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for (method, split), values in cells.items():
            row_cells = [method, split] + ([] if name.endswith("scenarios") else [str(n_of[(method, split)])])
            row_cells += [_fmt(values.get(m)) for m in metric_names]
            lines.append("| " + " | ".join(row_cells) + " |")
        lines.append("")
    prov = metrics_json.get("provenance", {})
    git = prov.get("git", {})
    lines += [
        "## provenance",
        "",
        f"- config sha256: `{prov.get('config_sha256')}`",
        f"- git: `{git.get('commit')}`" + (" (dirty)" if git.get("dirty") else ""),
        f"- recforge {prov.get('recforge_version')}; "
        + ", ".join(f"{k} {v}" for k, v in prov.get("packages", {}).items() if v is not None),
        f"- created: {prov.get('created')}",
    ]
    if metrics_json.get("efficiency"):
        lines += ["", "## efficiency", "", "```json", json.dumps(metrics_json["efficiency"], indent=1), "```"]
    wall, cost = prov.get("wall_time_s", {}), prov.get("cost", {})
    if cost:
        # Shared jobs count in every method that needs them: the column does not add up to the run.
        lines += ["", "| method | wall time (s), upstream jobs included | of which shared (s) |", "|---|---|---|"]
        lines += [f"| {m} | {c['total_s']:.1f} | {c['shared_s']:.1f} |" for m, c in cost.items()]
    elif wall:
        lines += ["", "| method | wall time (s) |", "|---|---|"]
        lines += [f"| {m} | {s:.1f} |" for m, s in wall.items()]
    return "\n".join(lines) + "\n"
