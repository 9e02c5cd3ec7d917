"""Shared evaluator: four protocols (rating, topk, rerank, ctr) over ids, never row order.

Modules: metrics (pure metric functions), join (predictions <-> splits.parquet), scenarios (warm/cold,
head/tail buckets), protocols (`evaluate`), schema (predictions parquet schema), report (`evaluate_files`,
the entry point for a Snakemake script), aggregate (`gather`, `to_markdown`), provenance, persona4rec
(loader for Persona4Rec's example files), show (print a metrics.json as markdown).
"""
