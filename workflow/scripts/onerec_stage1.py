"""OneRec-Think stage 1: SID token warm-up (only the new embedding rows train)."""

import pandas as pd
import torch

from recforge.logs import setup_logging
from recforge.methods.onerec import stages
from recforge.methods.onerec.config import RankEvalConfig, TrainConfig, from_dict
from recforge.methods.onerec.vocab import SidIndex
from recforge.sid import read_sids

setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
base = snakemake.params.base
stages.warmup(
    base["path"],
    SidIndex.from_sids(read_sids(snakemake.input.sids)),
    pd.read_parquet(snakemake.input.items_table),
    pd.read_parquet(snakemake.input.alignment),
    from_dict(TrainConfig, snakemake.params.train),
    snakemake.output.model,
    rank_cfg=from_dict(RankEvalConfig, snakemake.params.rank_eval),
    sequential=pd.read_parquet(snakemake.input.sequential),
    dtype=base["dtype"],
    attn_implementation=base["attn_implementation"],
)
