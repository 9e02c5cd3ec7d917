"""Gather a dataset's per-method metrics into metrics.json with provenance."""

from pathlib import Path

from recforge.eval.aggregate import gather
from recforge.logs import setup_logging

setup_logging(snakemake.log[0])
dataset = snakemake.wildcards.dataset
benchmarks = Path(snakemake.log[0]).parents[1] / "benchmarks"
methods = [Path(p).stem for p in snakemake.input.metrics]
gather(
    list(snakemake.input.metrics),
    snakemake.output[0],
    dataset=dataset,
    config=snakemake.params.config,
    benchmark_paths={m: sorted((benchmarks / m).glob("*.tsv")) for m in methods},
)
