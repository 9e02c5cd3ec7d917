"""Reasoning traces for the cold-start SFT (recforge.methods.isir.traces) on the SFT's samples."""

import pandas as pd

from recforge.io import read_tables
from recforge.llm.settings import LLMSettings
from recforge.llm.types import Sampling
from recforge.logs import setup_logging
from recforge.methods.isir.traces import trace_requests, write_traces
from recforge.methods.isir.verl import rows_scale, subsample

setup_logging(snakemake.log[0])
isir, sft = snakemake.params.isir, snakemake.params.sft
tables = read_tables(snakemake.input)
rows = pd.concat(
    [
        subsample(pd.read_parquet(snakemake.input.train), sft["max_train_samples"], isir["seed"], isir["sample_order"]),
        subsample(pd.read_parquet(snakemake.input.valid), sft["max_valid_samples"], isir["seed"], isir["sample_order"]),
    ]
)
wanted = rows["sample_id"]
samples = tables.samples[tables.samples["sample_id"].isin(set(wanted))]
requests = trace_requests(
    tables.items,
    tables.interactions,
    samples,
    pd.read_parquet(snakemake.input.clusters),
    pd.read_parquet(snakemake.input.names),
    domain=snakemake.params.domain,
    pos_threshold=isir["pos_threshold"],
    max_history=isir["max_history"],
    sampling=Sampling(**sft["trace_sampling"]),
    max_topics=isir["max_topics"],
    max_categories=isir["max_categories"],
    scale=rows_scale(rows),
    item_stats=isir["item_stats"],
)
write_traces(
    requests,
    LLMSettings.from_dict(snakemake.params.llm),
    snakemake.params.cache,
    snakemake.output.traces,
    snakemake.output.usage,
    rows_scale(rows),
)
