"""User summaries for OneRec-Think's alignment task, from train-phase events only."""

import pandas as pd

from recforge.llm import LLMSettings
from recforge.logs import setup_logging
from recforge.settings import typed
from recforge.methods.onerec.config import UserSummaryConfig
from recforge.methods.onerec.summaries import summarize_users

setup_logging(snakemake.log[0])
summarize_users(
    pd.read_parquet(snakemake.input.items_table),
    pd.read_parquet(snakemake.input.interactions_table),
    typed(UserSummaryConfig, snakemake.params.settings),
    snakemake.params.domain,
    LLMSettings.from_dict(dict(snakemake.params.llm)),
    cache_path=snakemake.params.cache,
    out_path=snakemake.output.summaries,
    usage_path=snakemake.output.usage,
)
