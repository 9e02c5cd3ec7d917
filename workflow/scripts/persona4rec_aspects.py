"""Stage 1: aspects per review through recforge.llm (recforge.methods.persona4rec.aspects)."""

import pandas as pd

from recforge.llm import LLMSettings
from recforge.logs import setup_logging
from recforge.methods.persona4rec.aspects import extract_aspects
from recforge.methods.persona4rec.settings import SamplingSettings
from recforge.settings import typed

setup_logging(snakemake.log[0])
extract_aspects(pd.read_parquet(snakemake.input.reviews), typed(SamplingSettings, snakemake.params.settings),
                snakemake.params.domain, LLMSettings.from_dict(dict(snakemake.params.llm)),
                cache_path=snakemake.params.cache, out_path=snakemake.output.aspects, usage_path=snakemake.output.usage)
