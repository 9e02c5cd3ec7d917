"""Valid and test ratings of one isir model, answer-only or with reasoning, timed."""

import pandas as pd
import torch

from recforge.io import write_json, write_parquet
from recforge.logs import setup_logging
from recforge.methods.isir import predict
from recforge.methods.isir.checks import check_parse_rate
from recforge.methods.isir.predict import load_for_inference
from recforge.methods.isir.verl import rows_scale

setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
settings = snakemake.params.predict
tables = {"valid": snakemake.input.valid, "test": snakemake.input.test}
rows = pd.concat([pd.read_parquet(tables[split]) for split in settings["splits"]])
model, tokenizer = load_for_inference(snakemake.input.model, snakemake.params.load)
values = predict.rating_values(rows)
if snakemake.params.mode == "cot":
    gen = predict.cot_generate(model, tokenizer, rows, settings["cot_max_new_tokens"], settings["batch_size"])
    # A completion cut off before its answer still gets a rating read after its reasoning; the parse
    # rate of the written answers guards the length limit.
    parsed = check_parse_rate(predict.cot_ratings(gen.texts, rows_scale(rows)), settings["min_parse_rate"],
                              "isir_cot predictions", "methods.isir.predict.cot_max_new_tokens",
                              "methods.isir.predict.min_parse_rate")
    dist, gen = predict.cot_distribution(model, tokenizer, rows, gen, values, settings["batch_size"])
else:
    parsed = None
    dist, gen = predict.rating_distribution(model, tokenizer, rows, values, settings["batch_size"])
readout = {**predict.readout_report(rows, dist, values, settings["readout"]), "parse_rate": parsed}
ratings = predict.read_ratings(dist, values, readout["readout"])
write_parquet(predict.prediction_table(rows, ratings, gen.texts), snakemake.output.predictions)
report = {"mode": snakemake.params.mode, "threads": snakemake.threads, **readout, **predict.efficiency(gen, ratings)}
write_json(report, snakemake.output.efficiency)
