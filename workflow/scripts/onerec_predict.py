"""OneRec-Think predictions: constrained beam search over SIDs for valid and test samples (topk
protocol); with params.cot the model thinks first (onerec_think_cot)."""

import pandas as pd
import torch

from recforge.io import write_parquet
from recforge.logs import setup_logging
from recforge.methods.onerec import predict, stages
from recforge.methods.onerec.config import PredictConfig, from_dict
from recforge.methods.onerec.vocab import SidIndex
from recforge.sid import read_sids

setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
base = snakemake.params.base
settings = dict(snakemake.params.settings)
k = int(snakemake.params.k)
cfg = from_dict(PredictConfig, {**settings, "k": k, "num_beams": max(k, int(settings.get("num_beams", k))),
                                "splits": tuple(settings.get("splits", ("valid", "test")))})
model, tokenizer = stages.load_model(snakemake.input.model, base["dtype"], base["attn_implementation"])
decoder = predict.SidDecoder.build(tokenizer, SidIndex.from_sids(read_sids(snakemake.input.sids)))
frame = predict.predict(model, tokenizer, pd.read_parquet(snakemake.input.sequential), decoder, cfg,
                        cot=bool(snakemake.params.cot))
write_parquet(frame, snakemake.output[0])
