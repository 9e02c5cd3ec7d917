"""Gather a dataset's per-method metrics into metrics.json with provenance and each method's cost
(its jobs and the upstream ones it needs, from the benchmark files; workflow/methods.yaml `cost`)."""

from pathlib import Path

from recforge.eval.aggregate import gather
from recforge.eval.costs import method_costs
from recforge.io import read_json
from recforge.logs import setup_logging

setup_logging(snakemake.log[0])
dataset = snakemake.wildcards.dataset
benchmarks = Path(snakemake.log[0]).parents[1] / "benchmarks"
# Every named input besides the metrics is a method's cost report (workflow/methods.yaml).
efficiency = {name: read_json(snakemake.input[name]) for name in snakemake.input.keys() if name != "metrics"}
gather(
    list(snakemake.input.metrics),
    snakemake.output[0],
    dataset=dataset,
    config=snakemake.params.config,
    efficiency=efficiency,
    costs=method_costs(benchmarks, snakemake.params.cost),
)
