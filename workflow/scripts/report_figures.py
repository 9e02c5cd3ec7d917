"""The report's comparison page and figures for one dataset (recforge.eval.compare / figures)."""

import json
from pathlib import Path

import pandas as pd

from recforge.data.scale import rating_scale
from recforge.eval import figures
from recforge.eval.compare import comparison, to_html
from recforge.logs import setup_logging

setup_logging(snakemake.log[0])
out = snakemake.output
metrics = json.loads(Path(snakemake.input.metrics).read_text(encoding="utf-8"))
results = Path(snakemake.input.metrics).parent
prov = metrics["provenance"]
notes = [
    f"config sha256 {prov['config_sha256']}; commit {prov['git']['commit']} (dirty: {prov['git']['dirty']}); "
    f"recforge {prov['recforge_version']}; created {prov['created']}",
    "packages: " + ", ".join(f"{k} {v}" for k, v in prov["packages"].items()),
    "wall time per method, its own and upstream jobs (s): "
    + ", ".join(f"{m} {c['total_s']:.0f}" for m, c in prov.get("cost", {}).items()),
]
Path(out.table).write_text(to_html(comparison(metrics), f"{metrics['dataset']}: test split", notes), encoding="utf-8")

figures.quality_vs_cost(metrics, out.quality_cost)
figures.training_curves(results, out.curves)
sid_report = results / "sid" / "report.json"
figures.sid_utilisation(json.loads(sid_report.read_text()) if sid_report.exists() else None, out.sid)
interactions = pd.read_parquet(snakemake.input.interactions_table)
splits = pd.read_parquet(snakemake.input.splits_table)
predictions = {m: pd.read_parquet(p) for m, p in zip(snakemake.params.rating_methods, snakemake.input.rating_predictions)}
scale = rating_scale(interactions["rating"], snakemake.params.rating_scale) if predictions else None
figures.rating_confusion(predictions, splits, scale, out.confusion)
figures.isir_token_savings(metrics, out.isir_tokens)
figures.data_overview(interactions, out.data)
