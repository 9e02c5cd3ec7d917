"""Stage 2.5: train-phase review aspects grouped per item with the item summary."""

import pandas as pd

from recforge.io import write_parquet
from recforge.logs import setup_logging
from recforge.methods.persona4rec.personas import group_aspects

setup_logging(snakemake.log[0])
grouped = group_aspects(pd.read_parquet(snakemake.input.aspects), pd.read_parquet(snakemake.input.items_table),
                        pd.read_parquet(snakemake.input.summaries), snakemake.params.max_reviews)
write_parquet(grouped, snakemake.output[0])
