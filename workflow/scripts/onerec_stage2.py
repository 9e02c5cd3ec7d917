"""OneRec-Think stage 2: multi-task integration (full or LoRA SFT on the task mixture)."""

import pandas as pd
import torch

from recforge.logs import setup_logging
from recforge.methods.onerec import stages
from recforge.methods.onerec.config import RankEvalConfig, TrainConfig, from_dict
from recforge.methods.onerec.vocab import SidIndex
from recforge.models.presets import LoraDefaults
from recforge.sid import read_sids

setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
base = snakemake.params.base
lora = dict(snakemake.params.lora)
stages.multitask(
    snakemake.input.stage1,
    SidIndex.from_sids(read_sids(snakemake.input.sids)),
    pd.read_parquet(snakemake.input.mixture),
    pd.read_parquet(snakemake.input.sequential),
    from_dict(TrainConfig, snakemake.params.train),
    from_dict(RankEvalConfig, snakemake.params.rank_eval),
    snakemake.output.model,
    lora=LoraDefaults(**{**lora, "target_modules": tuple(lora["target_modules"])}),
    dtype=base["dtype"],
    attn_implementation=base["attn_implementation"],
)
