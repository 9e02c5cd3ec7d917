"""One summary per item through the configured LLM backend (recforge.llm.item_summaries)."""

import pandas as pd

from recforge.llm import LLMSettings
from recforge.llm.item_summaries import ItemSummaryConfig, summarize_items
from recforge.logs import setup_logging

setup_logging(snakemake.log[0])
summarize_items(
    pd.read_parquet(snakemake.input.items_table),
    ItemSummaryConfig(domain=snakemake.params.domain, **snakemake.params.task),
    LLMSettings.from_dict(dict(snakemake.params.llm)),
    cache_path=snakemake.params.cache,
    out_path=snakemake.output.summaries,
    usage_path=snakemake.output.usage,
)
