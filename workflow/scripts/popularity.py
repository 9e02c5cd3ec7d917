"""Most-popular top-K lists."""

from recforge.io import read_tables, write_parquet
from recforge.logs import setup_logging
from recforge.methods import popularity

setup_logging(snakemake.log[0])
tables = read_tables(snakemake.input)
predictions = popularity.predict(
    tables.interactions,
    tables.samples,
    k=snakemake.params.k,
    exclude_history=snakemake.params.settings["exclude_history"],
)
write_parquet(predictions, snakemake.output[0])
