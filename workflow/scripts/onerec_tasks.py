"""The four OneRec-Think task tables and their training mixture (recforge.methods.onerec.tasks)."""

import pandas as pd

from recforge.io import read_tables, write_parquet
from recforge.logs import setup_logging
from recforge.methods.onerec import tasks
from recforge.settings import typed
from recforge.methods.onerec.config import MixtureConfig, TaskConfig
from recforge.methods.onerec.vocab import SidIndex
from recforge.sid import read_sids

setup_logging(snakemake.log[0])
data = read_tables(snakemake.input)
sid_of = SidIndex.from_sids(read_sids(snakemake.input.sids)).texts()
item_summaries = pd.read_parquet(snakemake.input.item_summaries)
user_summaries = pd.read_parquet(snakemake.input.user_summaries)
tables = tasks.build_tasks(
    data.items, data.interactions, data.samples, sid_of,
    dict(zip(item_summaries["item_id"], item_summaries["summary"])),
    dict(zip(user_summaries["user_id"], user_summaries["summary"])),
    typed(TaskConfig, {**snakemake.params.tasks, "domain": snakemake.params.domain}),
)
for name, table in tables.items():
    write_parquet(table, snakemake.output[name])
write_parquet(tasks.mix(tables, typed(MixtureConfig, snakemake.params.mixture)), snakemake.output.mixture)
