"""Stage 3.5 (no LLM): interaction texts per readable event and the (user, train target) pairs."""

import pandas as pd

from recforge.io import write_parquet
from recforge.logs import setup_logging
from recforge.methods.persona4rec.histories import history_table, selection_pairs
from recforge.methods.persona4rec.settings import SelectionSettings
from recforge.settings import typed

setup_logging(snakemake.log[0])
history = history_table(pd.read_parquet(snakemake.input.aspects), pd.read_parquet(snakemake.input.items_table),
                        pd.read_parquet(snakemake.input.summaries))
persona_items = set(pd.read_parquet(snakemake.input.personas)["item_id"])
pairs = selection_pairs(pd.read_parquet(snakemake.input.splits_table), history, persona_items,
                        typed(SelectionSettings, snakemake.params.settings), snakemake.params.like_threshold)
write_parquet(history, snakemake.output.history)
write_parquet(pairs, snakemake.output.pairs)
