"""One comparison table per protocol from a metrics.json: the rows of `python -m recforge.eval.show` and
of the report's comparison page.

Rows are methods on one split (test by default), columns the protocol's metrics. Trivial references
(constants, per-user/item means, popularity, the re-ranker's untouched first stage) are shown and
tagged, but the best value of a column is marked among the real methods only: a method that loses to a
reference should not look like the winner of its column.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Methods that are trivial references, not methods under comparison.
REFERENCES = frozenset({"global_mean", "user_mean", "item_mean", "popularity", "rerank_base"})
#: Metrics where lower is better; every other quality metric is higher-is-better.
LOWER_IS_BETTER = frozenset({"MAE", "RMSE", "log_loss"})
#: The headline metric of each protocol (the quality axis of the report's quality-vs-cost figure).
HEADLINE = {"topk": "HR@10", "rating": "MAE", "ctr": "AUC", "rerank": "HIT@10"}


@dataclass
class Table:
    protocol: str
    split: str
    metrics: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)  # {method, n, reference, values}
    best: dict[str, set[str]] = field(default_factory=dict)  # metric -> best real methods (ties kept)


def is_diagnostic(metric: str) -> bool:
    """Rates of malformed output and list lengths describe a method; they are shown, not ranked."""
    return metric.endswith("_rate") or metric == "mean_list_length"


def _numeric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def comparison(metrics_json: Mapping[str, Any], split: str = "test") -> list[Table]:
    """Tables (one per protocol, in the order protocols first appear) of `split`'s scalar metrics;
    scenario buckets ("warm/HIT@10") stay in the full markdown dump."""
    tables: dict[str, Table] = {}
    for row in metrics_json["table"]:
        if row["split"] != split or "/" in row["metric"] or not _numeric(row["value"]):
            continue
        table = tables.setdefault(row["protocol"], Table(row["protocol"], split, []))
        if row["metric"] not in table.metrics:
            table.metrics.append(row["metric"])
        entry = next((r for r in table.rows if r["method"] == row["method"]), None)
        if entry is None:
            entry = {"method": row["method"], "n": row["n"], "reference": row["method"] in REFERENCES, "values": {}}
            table.rows.append(entry)
        entry["values"][row["metric"]] = row["value"]
    for table in tables.values():
        for metric in table.metrics:
            values = {r["method"]: r["values"][metric] for r in table.rows if not r["reference"] and metric in r["values"]}
            if is_diagnostic(metric) or len(set(values.values())) < 2:
                continue  # nothing to rank: a diagnostic, or every real method ties
            top = (min if metric in LOWER_IS_BETTER else max)(values.values())
            table.best[metric] = {m for m, v in values.items() if v == top}
    return list(tables.values())


def provenance_notes(metrics_json: Mapping[str, Any]) -> list[str]:
    """The run's provenance as lines for the comparison page: config digest, commit, package versions
    and each method's wall time including the upstream jobs it needs."""
    prov = metrics_json["provenance"]
    return [
        f"config sha256 {prov['config_sha256']}; commit {prov['git']['commit']} (dirty: {prov['git']['dirty']}); "
        f"recforge {prov['recforge_version']}; created {prov['created']}",
        "packages: " + ", ".join(f"{k} {v}" for k, v in prov["packages"].items()),
        "wall time per method, its own and upstream jobs (s): "
        + ", ".join(f"{m} {c['total_s']:.0f}" for m, c in prov.get("cost", {}).items()),
    ]


def _cell(table: Table, row: Mapping[str, Any], metric: str) -> tuple[str, bool]:
    value = row["values"].get(metric)
    text = "–" if value is None else f"{value:.4f}"
    return text, row["method"] in table.best.get(metric, ())


def _title(table: Table) -> str:
    return f"{table.protocol} ({table.split})"


def to_markdown(tables: list[Table]) -> str:
    """Markdown: the best real value of each column in bold, references tagged."""
    lines = []
    for table in tables:
        header = ["method", "n"] + table.metrics
        lines += [f"## {_title(table)}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for row in table.rows:
            name = row["method"] + (" (reference)" if row["reference"] else "")
            cells = [f"**{t}**" if best else t for t, best in (_cell(table, row, m) for m in table.metrics)]
            lines.append("| " + " | ".join([name, str(row["n"])] + cells) + " |")
        lines.append("")
    lines.append("Bold: the best real method per column (references, tagged, are not ranked).")
    return "\n".join(lines)


def to_html(tables: list[Table], title: str, notes: list[str] = ()) -> str:
    """A self-contained HTML page (the report's comparison entry)."""
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>",
        "body{font-family:sans-serif;margin:1.5em} table{border-collapse:collapse;margin-bottom:1.5em}",
        "td,th{border:1px solid #bbb;padding:3px 8px;text-align:right} td:first-child{text-align:left}",
        "tr.reference{color:#777;font-style:italic} td.best{font-weight:bold;background:#e6f4e6}",
        "</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for table in tables:
        parts.append(f"<h2>{html.escape(_title(table))}</h2><table class='comparison' data-protocol='{table.protocol}'>")
        parts.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in ["method", "n"] + table.metrics) + "</tr>")
        for row in table.rows:
            css = " class='reference'" if row["reference"] else ""
            name = html.escape(row["method"]) + (" (reference)" if row["reference"] else "")
            cells = "".join(
                f"<td class='best'>{t}</td>" if best else f"<td>{t}</td>"
                for t, best in (_cell(table, row, m) for m in table.metrics)
            )
            parts.append(f"<tr{css} data-method='{html.escape(row['method'])}'><td>{name}</td><td>{row['n']}</td>{cells}</tr>")
        parts.append("</table>")
    parts.append("<p>Bold: the best real method per column; references (italic) are not ranked.</p>")
    parts += [f"<p>{html.escape(note)}</p>" for note in notes]
    parts.append("</body></html>")
    return "\n".join(parts)
