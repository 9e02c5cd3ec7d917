"""Score one method's predictions under its protocol."""

from pathlib import Path

from recforge.eval.report import evaluate_files
from recforge.logs import setup_logging

setup_logging(snakemake.log[0])
evaluate_files(
    method=snakemake.wildcards.method,
    dataset=snakemake.wildcards.dataset,
    protocol=snakemake.params.protocol,
    predictions_path=snakemake.input.predictions,
    data_dir=Path(snakemake.input.splits_table).parent,
    out_path=snakemake.output[0],
    options={"ks": list(snakemake.params.ks), "rating_scale": snakemake.params.rating_scale,
             "like_threshold": snakemake.params.like_threshold},
)
