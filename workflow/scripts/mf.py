"""Biased matrix factorisation, early-stopped on valid RMSE."""

from recforge.io import read_tables, write_parquet
from recforge.logs import setup_logging
from recforge.methods import mf

setup_logging(snakemake.log[0])
tables = read_tables(snakemake.input)
config = mf.MFConfig(**snakemake.params.settings, threads=snakemake.threads)
predictions = mf.train_and_predict(tables.interactions, tables.samples, config)
write_parquet(predictions, snakemake.output[0])
