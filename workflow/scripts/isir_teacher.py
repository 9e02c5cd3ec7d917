"""The GRPO teacher's chain of thought on train samples, with the correctness mask by sample_id."""

import pandas as pd
import torch

from recforge.io import write_parquet
from recforge.logs import setup_logging
from recforge.methods.isir.predict import load_for_inference
from recforge.methods.isir.teacher import teacher_traces
from recforge.methods.isir.verl import subsample

setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
isir, teacher = snakemake.params.isir, snakemake.params.isir["teacher"]
rows = subsample(pd.read_parquet(snakemake.input.train), teacher["max_train_samples"], isir["seed"], isir["sample_order"])
model, tokenizer = load_for_inference(snakemake.input.model, snakemake.params.load)
traces = teacher_traces(model, tokenizer, rows, teacher["max_new_tokens"], teacher["batch_size"])
write_parquet(traces, snakemake.output.traces)
