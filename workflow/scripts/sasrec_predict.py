"""Top-K lists from the saved SASRec model for the valid and test samples."""

import torch

from recforge.io import read_tables, write_parquet
from recforge.logs import setup_logging
from recforge.methods import sasrec

setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
tables = read_tables(snakemake.input)
model = sasrec.load(snakemake.input.model)
predictions = sasrec.predict(
    model,
    tables.interactions,
    tables.samples,
    k=snakemake.params.k,
    exclude_history=snakemake.params.exclude_history,
)
write_parquet(predictions, snakemake.output[0])
