"""RecLM predictions and diagnostics (recforge.methods.reclm.predict)."""

import torch

from recforge.io import read_tables, write_json, write_parquet
from recforge.logs import setup_logging
from recforge.methods.reclm import config as C, entry, predict
from recforge.methods.reclm.export import read_titles
from recforge.methods.reclm.samples import eval_rows, read_chat
from recforge.settings import typed

setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
settings = dict(snakemake.params.settings)
cfg = typed(C.PredictConfig, {**settings["predict"], "splits": tuple(settings["predict"]["splits"])}, "methods.reclm.predict")
samples_cfg = typed(C.SampleConfig, settings["samples"], "methods.reclm.samples")
variant = snakemake.params.variant
model, decoder, item_text = entry.load_for_prediction(variant, snakemake.input.model, snakemake.input, **snakemake.params.load)
tables = read_tables(snakemake.input)
rows = eval_rows(tables.interactions, tables.samples, cfg.splits, samples_cfg)
chat = read_chat(snakemake.input.chat)
frame, lists = predict.predict(model, decoder, rows, item_text, chat, cfg, samples_cfg.idx)
categories = dict(zip(tables.items["item_id"], [", ".join(c[1:] if len(c) > 1 else c) for c in tables.items["categories"]]))
write_json(predict.efficiency(model, decoder, rows, lists, item_text, chat, cfg, categories,
                              "retrieval" if variant == "ret" else "trie", samples_cfg.idx), snakemake.output.efficiency)
write_parquet(frame, snakemake.output.predictions)
