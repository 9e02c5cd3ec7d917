"""Teacher hidden states at <answer> after its own reasoning, for the train samples it got right."""

import pandas as pd
import torch

from recforge.logs import setup_logging
from recforge.methods.isir.predict import load_for_inference
from recforge.methods.isir.hidden import extract_teacher_states

setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
hidden = snakemake.params.hidden
traces = pd.read_parquet(snakemake.input.traces)
correct = traces[traces["correct"]]
rows = pd.read_parquet(snakemake.input.train).merge(correct[["sample_id", "thinking"]], on="sample_id")
model, tokenizer = load_for_inference(snakemake.input.model, snakemake.params.load)
extract_teacher_states(
    model, tokenizer, rows, rows["thinking"], snakemake.output.states,
    hidden["layers"], hidden["batch_size"], hidden["shard_size"],
)
