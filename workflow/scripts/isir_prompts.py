"""Interest sketches and rating prompts as verl train/val/test parquet (recforge.methods.isir.verl)."""

import pandas as pd

from recforge.data.scale import rating_scale
from recforge.io import read_tables, write_json
from recforge.logs import setup_logging
from recforge.settings import typed
from recforge.methods.isir.verl import VerlDataConfig, prepare_verl_data, write_verl_data
from recforge.models.loading import load_tokenizer

setup_logging(snakemake.log[0])
tables = read_tables(snakemake.input)
splits, stats = prepare_verl_data(
    tables.items,
    tables.interactions,
    tables.samples,
    pd.read_parquet(snakemake.input.clusters),
    pd.read_parquet(snakemake.input.names),
    load_tokenizer(snakemake.params.tokenizer),
    dataset=snakemake.wildcards.dataset,
    domain=snakemake.params.domain,
    config=typed(VerlDataConfig, snakemake.params.isir, "methods.isir"),
    scale=rating_scale(tables.interactions["rating"], snakemake.params.rating_scale),
)
write_verl_data(
    splits,
    stats,
    {"train": snakemake.output.train, "val": snakemake.output.val, "test": snakemake.output.test},
    snakemake.output.stats,
)
# The prompt-length comparison (sketch vs full history) is the cost figure metrics.json reports.
write_json(stats.get("prompt_lengths"), snakemake.output.prompt_lengths)
