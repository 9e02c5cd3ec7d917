"""One LLM-written name per topic cluster (recforge.methods.isir.cluster_names)."""

import pandas as pd

from recforge.llm import LLMSettings
from recforge.logs import setup_logging
from recforge.settings import typed
from recforge.methods.isir.cluster_names import ClusterNameConfig, name_clusters

setup_logging(snakemake.log[0])
name_clusters(
    pd.read_parquet(snakemake.input.clusters),
    pd.read_parquet(snakemake.input.items_table),
    typed(ClusterNameConfig, {**snakemake.params.task, "domain": snakemake.params.domain}, "methods.isir.cluster_names"),
    LLMSettings.from_dict(dict(snakemake.params.llm)),
    cache_path=snakemake.params.cache,
    out_path=snakemake.output.names,
    usage_path=snakemake.output.usage,
)
