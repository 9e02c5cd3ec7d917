"""Build the tiny base model of a dataset (recforge.models.tiny.build_tiny_model)."""

from pathlib import Path

import pandas as pd
import torch

from recforge.logs import setup_logging
from recforge.models.tiny import TinyModelConfig, build_tiny_model

setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
build_tiny_model(
    pd.read_parquet(snakemake.input.items_table),
    pd.read_parquet(snakemake.input.interactions_table),
    TinyModelConfig.from_dict(dict(snakemake.params.tiny), domain=snakemake.params.domain),
    Path(snakemake.output.report).parent,
)
