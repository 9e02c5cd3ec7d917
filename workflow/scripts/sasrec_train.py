"""Train SASRec (full-catalogue cross-entropy, selection on valid, stopped by epoch count) and save it.
The torch thread count is the job's (rules/sasrec.smk fixes it at 1 so results do not depend on -c)."""

from recforge.io import read_tables
from recforge.logs import setup_logging
from recforge.methods import sasrec

setup_logging(snakemake.log[0])
tables = read_tables(snakemake.input)
config = sasrec.SASRecConfig(**snakemake.params.settings, threads=snakemake.threads)
model = sasrec.train(tables.interactions, tables.samples, config)
sasrec.save(model, snakemake.output.model)
