"""Next-item transition top-K lists (recforge.methods.next_item)."""

from recforge.io import read_tables, write_parquet
from recforge.logs import setup_logging
from recforge.methods import next_item
from recforge.settings import typed

setup_logging(snakemake.log[0])
tables = read_tables(snakemake.input)
settings = typed(next_item.NextItemSettings, snakemake.params.settings, "methods.next_item")
write_parquet(next_item.predict(tables.interactions, tables.samples, settings, k=snakemake.params.k), snakemake.output[0])
