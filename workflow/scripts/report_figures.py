"""The report's comparison page and figures for one dataset (recforge.eval.compare / figures)."""

import json
from pathlib import Path

import pandas as pd

from recforge.data.scale import rating_scale
from recforge.eval import figures
from recforge.eval.compare import comparison, provenance_notes, to_html
from recforge.logs import setup_logging

setup_logging(snakemake.log[0])
out = snakemake.output
metrics = json.loads(Path(snakemake.input.metrics).read_text(encoding="utf-8"))
results = Path(snakemake.input.metrics).parent
Path(out.table).write_text(to_html(comparison(metrics), f"{metrics['dataset']}: test split", provenance_notes(metrics)), encoding="utf-8")

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
