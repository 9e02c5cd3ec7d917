"""OneRec-Think reasoning enhancement with GRPO and the rollout-beam ranking reward."""

import pandas as pd
import torch

from recforge.logs import setup_logging
from recforge.methods.onerec import grpo
from recforge.methods.onerec.config import GRPOSettings, RankEvalConfig, from_dict
from recforge.methods.onerec.vocab import SidIndex
from recforge.sid import read_sids

setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
base = snakemake.params.base
grpo.enhance(
    snakemake.input.stage3,
    SidIndex.from_sids(read_sids(snakemake.input.sids)),
    pd.read_parquet(snakemake.input.reasoning),
    from_dict(GRPOSettings, snakemake.params.grpo),
    from_dict(RankEvalConfig, snakemake.params.rank_eval),
    snakemake.output.model,
    dtype=base["dtype"],
    attn_implementation=base["attn_implementation"],
)
