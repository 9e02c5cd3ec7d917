"""OneRec-Think predictions: constrained beam search over SIDs for valid and test samples (topk
protocol); with params.cot the model thinks first (onerec_think_cot)."""

import pandas as pd
import torch

from recforge.io import read_tables, write_parquet
from recforge.logs import setup_logging
from recforge.settings import typed
from recforge.methods.onerec import predict, stages
from recforge.methods.onerec.config import PredictConfig
from recforge.methods.onerec.vocab import SidIndex
from recforge.sid import read_sids

setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
base = snakemake.params.base
settings = dict(snakemake.params.settings)
k = int(snakemake.params.k)
# SidDecoder.rank raises num_beams to k where it is smaller.
cfg = typed(PredictConfig, {**settings, "k": k, "splits": tuple(settings["splits"])}, "methods.onerec_think.predict")
model, tokenizer = stages.load_model(snakemake.input.model, base["dtype"], base["attn_implementation"])
decoder = predict.SidDecoder.build(tokenizer, SidIndex.from_sids(read_sids(snakemake.input.sids)))
# The canonical tables give each sample's full history, excluded like popularity's and SASRec's.
tables = read_tables(snakemake.input)
frame = predict.predict(model, tokenizer, pd.read_parquet(snakemake.input.sequential), decoder, cfg,
                        cot=bool(snakemake.params.cot), interactions=tables.interactions, samples=tables.samples)
write_parquet(frame, snakemake.output[0])
