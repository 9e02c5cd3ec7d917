"""The GRPO teacher's chain of thought on train samples, with the correctness mask by sample_id; stops
when too few completions parse (methods.isir.teacher.min_parse_rate)."""

import pandas as pd
import torch

from recforge.io import write_json, write_parquet
from recforge.logs import setup_logging
from recforge.methods.isir.predict import load_for_inference
from recforge.methods.isir.teacher import TeacherSettings, teacher_report, teacher_traces
from recforge.methods.isir.verl import subsample
from recforge.settings import typed

setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
isir = snakemake.params.isir
teacher = typed(TeacherSettings, isir["teacher"], "methods.isir.teacher")
rows = subsample(pd.read_parquet(snakemake.input.train), teacher.max_train_samples, isir["seed"], isir["sample_order"])
model, tokenizer = load_for_inference(snakemake.input.model, snakemake.params.load)
traces = teacher_traces(model, tokenizer, rows, teacher)
write_json(teacher_report(traces, teacher), snakemake.output.report)
write_parquet(traces, snakemake.output.traces)
