"""The offline index: fp16 persona and interaction caches with id indices (recforge.methods.persona4rec.caches)."""

import pandas as pd
import torch

from recforge.logs import setup_logging
from recforge.methods.persona4rec.caches import build_caches
from recforge.methods.persona4rec.encoder import load_trained

setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
model = load_trained(snakemake.input.model, snakemake.params.device)
build_caches(model, pd.read_parquet(snakemake.input.history), pd.read_parquet(snakemake.input.personas), snakemake.output.cache)
