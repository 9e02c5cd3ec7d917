"""Source files -> canonical tables + data report (recforge.data.build_dataset)."""

from pathlib import Path

from recforge.data import build_dataset
from recforge.logs import setup_logging

setup_logging(snakemake.log[0])
build_dataset(
    snakemake.params.adapter,
    dict(snakemake.params.options),
    Path(snakemake.output.report).parent,
    name=snakemake.wildcards.dataset,
)
