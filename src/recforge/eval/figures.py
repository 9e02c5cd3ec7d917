"""The report's figures (rule report_figures), drawn with matplotlib's Agg backend (no display needed).

Each function takes what one dataset's run already wrote (metrics.json, stage reports, the canonical
tables) and saves one PNG. A figure with nothing to show for this dataset (no SID method, no rating
method) still gets a file that says so, so that the report's layout is the same for every dataset.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from recforge.data.scale import RatingScale  # noqa: E402
from recforge.eval.compare import HEADLINE, LOWER_IS_BETTER, REFERENCES  # noqa: E402

#: Per-evaluation keys of a stage report's curve that are plotted (the rest are counters).
CURVE_METRICS = ("eval_loss", "HR@10", "NDCG@10", "AUC", "eval_reward", "eval_mean_token_accuracy")


def _save(fig, path: str | Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _empty(path: str | Path, title: str, why: str) -> None:
    fig, ax = plt.subplots(figsize=(6, 2))
    ax.axis("off")
    ax.set_title(title)
    ax.text(0.5, 0.5, why, ha="center", va="center", wrap=True)
    _save(fig, path)


def _test_values(metrics_json: Mapping[str, Any], metric: str) -> dict[str, float]:
    return {
        r["method"]: r["value"]
        for r in metrics_json["table"]
        if r["split"] == "test" and r["metric"] == metric
    }


def cost_figure(entry: Mapping[str, Any] | None, key: str) -> float | None:
    """A method's `key` cost figure (predictions_per_s, mean_prompt_tokens) from its efficiency entry:
    at the top level, or in its first section that has it (ReasoningRec's "slot" readout)."""
    if not entry:
        return None
    if isinstance(entry.get(key), (int, float)):
        return entry[key]
    return next((v[key] for v in entry.values() if isinstance(v, Mapping) and isinstance(v.get(key), (int, float))), None)


COST_AXES = (
    ("wall time incl. upstream jobs (s)", lambda m, costs, eff: costs.get(m, {}).get("total_s")),
    ("predictions per second", lambda m, costs, eff: cost_figure(eff.get(m), "predictions_per_s")),
    ("mean prompt tokens per prediction", lambda m, costs, eff: cost_figure(eff.get(m), "mean_prompt_tokens")),
)


def quality_vs_cost(metrics_json: Mapping[str, Any], path: str | Path) -> None:
    """Per protocol: the headline test metric against each method's wall time (its own jobs plus the
    upstream jobs it needs, provenance.cost), its predictions per second and its mean prompt tokens
    (the last two for methods that report them); log axes."""
    costs = metrics_json["provenance"].get("cost", {})
    efficiency = metrics_json.get("efficiency", {})
    protocols = list(dict.fromkeys(r["protocol"] for r in metrics_json["table"]))
    if not protocols:
        return _empty(path, "quality vs cost", "no method has test metrics yet")
    fig, axes = plt.subplots(len(protocols), len(COST_AXES), figsize=(15, 3.6 * len(protocols)), squeeze=False)
    for row, protocol in zip(axes, protocols):
        metric = HEADLINE.get(protocol)
        methods = {r["method"] for r in metrics_json["table"] if r["protocol"] == protocol}
        values = {m: v for m, v in _test_values(metrics_json, metric).items() if m in methods}
        arrow = "lower is better" if metric in LOWER_IS_BETTER else "higher is better"
        for ax, (label, cost_of) in zip(row, COST_AXES):
            points = [(cost_of(m, costs, efficiency), v, m) for m, v in values.items()]
            points = [p for p in points if p[0]]
            for x, y, m in points:
                ax.scatter(x, y, marker="x" if m in REFERENCES else "o", color="grey" if m in REFERENCES else "C0")
                ax.annotate(m, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
            if points:
                ax.set_xscale("log")
            else:
                ax.text(0.5, 0.5, "no method reports this cost", ha="center", va="center", transform=ax.transAxes)
            ax.set_xlabel(label)
            ax.set_ylabel(f"test {metric} ({arrow})")
            ax.set_title(f"{protocol}: {metric}", fontsize=9)
    _save(fig, path)


def _curve(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The per-evaluation records of a stage report, whichever layout the stage writes."""
    for points in (report.get("curve"), (report.get("selection") or {}).get("evaluations"), report.get("history")):
        if points and isinstance(points, list) and isinstance(points[0], Mapping):
            return [p for p in points if "step" in p and any(k in p for k in CURVE_METRICS)]
    return []


def stage_curves(results_dir: str | Path) -> dict[str, list[Mapping[str, Any]]]:
    """Stage name (report path under results/{dataset}) -> its valid curve, for every stage report."""
    root = Path(results_dir)
    curves = {}
    for path in sorted(root.rglob("*report.json")):
        if (path.parent / "config.json").exists():
            continue  # the copy a saved model carries (recforge.train.save); the stage's own is beside it
        try:
            points = _curve(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, AttributeError):
            continue  # not a stage report (e.g. a list-shaped file)
        if points:
            curves[str(path.relative_to(root)).removesuffix(".json")] = points
    return curves


def training_curves(results_dir: str | Path, path: str | Path) -> None:
    """One panel per LLM training stage: each valid metric it recorded against the step."""
    curves = stage_curves(results_dir)
    if not curves:
        return _empty(path, "training curves", "no training stage reported a valid curve")
    cols = 3
    rows = -(-len(curves) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, (stage, points) in zip(axes.flat, curves.items()):
        steps = [p["step"] for p in points]
        present = [k for k in CURVE_METRICS if any(k in p for p in points)]
        # The loss gets its own axis when the stage also has a ranking/accuracy metric (other scale).
        loss_axis = ax.twinx() if "eval_loss" in present and len(present) > 1 else None
        for i, key in enumerate(present):
            ys = [p.get(key, np.nan) for p in points]
            target = loss_axis if key == "eval_loss" and loss_axis is not None else ax
            target.plot(steps, ys, marker="o", markersize=3, color=f"C{i}", label=key)
        handles = ax.get_legend_handles_labels()
        if loss_axis is not None:
            extra = loss_axis.get_legend_handles_labels()
            handles = (handles[0] + extra[0], handles[1] + extra[1])
            loss_axis.set_ylabel("eval_loss")
        ax.legend(*handles, fontsize=7)
        ax.set_title(stage, fontsize=8)
        ax.set_xlabel("step")
    for ax in list(axes.flat)[len(curves):]:
        ax.axis("off")
    _save(fig, path)


def sid_utilisation(sid_report: Mapping[str, Any] | None, path: str | Path) -> None:
    """Share of each level's codebook in use, and its perplexity, before and after collision repair."""
    if not sid_report:
        return _empty(path, "SID codebooks", "no method of this dataset uses semantic IDs")
    levels = np.arange(1, sid_report["levels"] + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
    left.bar(levels, sid_report["utilisation"])
    left.set_ylim(0, 1.05)
    left.set_title("codebook utilisation per level")
    right.plot(levels, sid_report["perplexity"], marker="o", label="final codes")
    right.plot(levels, sid_report["perplexity_raw"], marker="x", label="before collision repair")
    right.plot(levels, sid_report["codebook_sizes"], ls="--", color="grey", label="codebook size")
    right.set_title("code perplexity per level")
    right.legend(fontsize=7)
    for ax in (left, right):
        ax.set_xlabel("level")
        ax.set_xticks(levels)
    _save(fig, path)


def confusion_counts(truth: Any, predicted: Any, scale: RatingScale) -> np.ndarray:
    """counts[i, j]: rows whose true rating is the scale's i-th value and whose prediction's nearest
    valid rating is its j-th (ties go up, as the evaluator's accuracy)."""
    values = np.asarray(scale.values())
    true_idx = np.searchsorted(values, scale.nearest(truth))
    pred_idx = np.searchsorted(values, scale.nearest(predicted))
    counts = np.zeros((len(values), len(values)), dtype=int)
    np.add.at(counts, (true_idx, pred_idx), 1)
    return counts


def rating_confusion(
    predictions: Mapping[str, pd.DataFrame], labels: pd.DataFrame, scale: RatingScale, path: str | Path
) -> None:
    """Test confusion matrices (rows: true rating, columns: the prediction at its nearest valid
    rating, as the evaluator's accuracy counts it)."""
    if not predictions:
        return _empty(path, "rating confusion", "no rating method in this dataset")
    values = np.asarray(scale.values())
    cols = min(4, len(predictions))
    rows = -(-len(predictions) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 3.2 * rows), squeeze=False)
    truth = labels.set_index("sample_id")["rating"]
    for ax, (method, frame) in zip(axes.flat, predictions.items()):
        test = frame[frame["split"] == "test"].join(truth, on="sample_id", how="inner")
        invalid = int(test["prediction"].isna().sum())  # unparsed answers: counted, not placed
        test = test[test["prediction"].notna()]
        matrix = confusion_counts(test["rating"], test["prediction"], scale)
        ax.imshow(matrix, cmap="Blues")
        for (i, j), count in np.ndenumerate(matrix):
            ax.text(j, i, count, ha="center", va="center", fontsize=7)
        ticks = [f"{s:g}" for s in values]
        ax.set_xticks(range(len(values)), ticks)
        ax.set_yticks(range(len(values)), ticks)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(method + (f" ({invalid} invalid)" if invalid else ""), fontsize=9)
    for ax in list(axes.flat)[len(predictions):]:
        ax.axis("off")
    _save(fig, path)


def isir_token_savings(metrics_json: Mapping[str, Any], path: str | Path) -> None:
    """isir's interest sketch against the full history: prompt tokens (mean, median, max)."""
    prompts = metrics_json.get("efficiency", {}).get("isir_prompts")
    if not prompts:
        return _empty(path, "isir prompt tokens", "isir is not among this dataset's methods")
    stats = ["mean_tokens", "median_tokens", "max_tokens"]
    x = np.arange(len(stats))
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    ax.bar(x - 0.2, [prompts["full"][s] for s in stats], 0.4, label="full history")
    ax.bar(x + 0.2, [prompts["compact"][s] for s in stats], 0.4, label="interest sketch")
    ax.set_xticks(x, [s.removesuffix("_tokens") for s in stats])
    ax.set_ylabel("prompt tokens")
    ratio = prompts.get("mean_token_ratio")
    ax.set_title(f"isir prompts ({prompts['split']}, n={prompts['n']}): sketch/full = {ratio:.2f}")
    ax.legend()
    _save(fig, path)


def data_overview(interactions: pd.DataFrame, path: str | Path) -> None:
    """Events per user (train phase and all splits) and item popularity by rank (log-log)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
    lengths = interactions.groupby("user_id").size()
    left.hist(lengths, bins=min(50, max(lengths.max(), 1)), color="C0")
    left.set_xlabel("events per user")
    left.set_ylabel("users")
    left.set_title(f"sequence lengths ({len(lengths)} users, median {lengths.median():g})")
    counts = interactions.groupby("item_id").size().sort_values(ascending=False).to_numpy()
    right.loglog(np.arange(1, len(counts) + 1), counts)
    right.set_xlabel("item rank")
    right.set_ylabel("events")
    right.set_title(f"item popularity ({len(counts)} items with events)")
    _save(fig, path)
