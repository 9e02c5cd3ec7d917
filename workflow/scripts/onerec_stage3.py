"""OneRec-Think stage 3: reasoning activation (CoT SFT rounds with rejection sampling between them)."""

import pandas as pd
import torch

from recforge.logs import setup_logging
from recforge.methods.onerec import stages
from recforge.methods.onerec.config import RankEvalConfig, RejectionConfig, TrainConfig, from_dict
from recforge.methods.onerec.vocab import SidIndex
from recforge.sid import read_sids

setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
base = snakemake.params.base
sids = SidIndex.from_sids(read_sids(snakemake.input.sids))
stages.activation(
    snakemake.input.stage2,
    sids,
    pd.read_parquet(snakemake.input.reasoning),
    sids.texts(),
    from_dict(TrainConfig, snakemake.params.train),
    from_dict(RankEvalConfig, snakemake.params.rank_eval),
    from_dict(RejectionConfig, snakemake.params.rejection),
    snakemake.output.model,
    dtype=base["dtype"],
    attn_implementation=base["attn_implementation"],
)
