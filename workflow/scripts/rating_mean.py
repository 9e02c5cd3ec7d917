"""Global / user / item mean rating predictions."""

from recforge.io import read_tables, write_parquet
from recforge.logs import setup_logging
from recforge.methods import rating_means

setup_logging(snakemake.log[0])
tables = read_tables(snakemake.input)
predictions = rating_means.predict(snakemake.wildcards.method, tables.interactions, tables.samples)
write_parquet(predictions, snakemake.output[0])
