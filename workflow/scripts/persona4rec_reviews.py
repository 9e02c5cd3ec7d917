"""Review text joined to the canonical events; test-phase reviews dropped (recforge.methods.persona4rec.reviews)."""

import pandas as pd

from recforge.data.adapters import REVIEW_READERS
from recforge.io import write_json, write_parquet
from recforge.logs import setup_logging
from recforge.methods.persona4rec.reviews import review_table

setup_logging(snakemake.log[0])
raw = REVIEW_READERS[snakemake.params.adapter](snakemake.input.reviews)
table, report = review_table(pd.read_parquet(snakemake.input.interactions_table), raw)
write_parquet(table, snakemake.output.reviews)
write_json(report, snakemake.output.report)
