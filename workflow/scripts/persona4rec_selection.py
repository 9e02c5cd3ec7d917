"""Stage 4: the LLM judge selects a persona of each train target (recforge.methods.persona4rec.selection)."""

import pandas as pd

from recforge.llm import LLMSettings
from recforge.logs import setup_logging
from recforge.methods.persona4rec.selection import select_personas
from recforge.methods.persona4rec.settings import SelectionSettings
from recforge.settings import typed

setup_logging(snakemake.log[0])
select_personas(pd.read_parquet(snakemake.input.pairs), pd.read_parquet(snakemake.input.history),
                pd.read_parquet(snakemake.input.personas), typed(SelectionSettings, snakemake.params.settings),
                snakemake.params.like_threshold, LLMSettings.from_dict(dict(snakemake.params.llm)),
                cache_path=snakemake.params.cache, out_path=snakemake.output.selections, usage_path=snakemake.output.usage)
