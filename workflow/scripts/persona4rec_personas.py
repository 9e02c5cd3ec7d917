"""Stage 3: 2-7 personas per item through recforge.llm; the catalogue with ids {item_id}_{P#}."""

import pandas as pd

from recforge.llm import LLMSettings
from recforge.logs import setup_logging
from recforge.methods.persona4rec.personas import build_personas
from recforge.methods.persona4rec.settings import PersonaSettings
from recforge.settings import typed

setup_logging(snakemake.log[0])
build_personas(pd.read_parquet(snakemake.input.grouped), typed(PersonaSettings, snakemake.params.settings),
               snakemake.params.domain, snakemake.params.like_threshold, LLMSettings.from_dict(dict(snakemake.params.llm)),
               cache_path=snakemake.params.cache, out_path=snakemake.output.personas, usage_path=snakemake.output.usage)
