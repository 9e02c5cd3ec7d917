"""Contrastive encoder training, the encoder selected on valid (recforge.methods.persona4rec.train)."""

import pandas as pd
import torch

from recforge.logs import setup_logging
from recforge.methods.persona4rec.settings import EncoderSettings
from recforge.methods.persona4rec.encoder import load_encoder
from recforge.methods.persona4rec.train import train_encoder
from recforge.settings import typed

setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
settings = typed(EncoderSettings, snakemake.params.settings, "methods.persona4rec.encoder")
model = load_encoder(snakemake.params.embedder, settings)
train_encoder(model, *(pd.read_parquet(snakemake.input[k]) for k in ("selections", "history", "personas", "candidates")),
              settings, snakemake.output.model, snakemake.output.report)
