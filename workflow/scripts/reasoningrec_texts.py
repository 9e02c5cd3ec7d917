"""Item descriptions and user profiles (recforge.methods.reasoningrec.texts)."""

import pandas as pd

from recforge.llm import LLMSettings
from recforge.logs import setup_logging
from recforge.methods.reasoningrec.config import settings_from_dict
from recforge.methods.reasoningrec.texts import write_texts

setup_logging(snakemake.log[0])
settings = settings_from_dict(snakemake.params.settings)
write_texts(pd.read_parquet(snakemake.input.windows), pd.read_parquet(snakemake.input.items_table), settings,
            snakemake.params.domain, LLMSettings.from_dict(snakemake.params.llm), snakemake.params.cache,
            snakemake.output.descriptions, snakemake.output.profiles, snakemake.output.usage)
