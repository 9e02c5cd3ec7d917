"""P(Yes) at the prediction slot for valid/test, and the cost figures (recforge.methods.reasoningrec.predict)."""

import pandas as pd

from recforge.embed import EmbedderSpec, load_sentence_model
from recforge.io import write_json, write_parquet
from recforge.logs import setup_logging
from recforge.methods.reasoningrec.config import PredictSettings
from recforge.methods.reasoningrec.predict import predict
from recforge.settings import typed

setup_logging(snakemake.log[0])
settings = typed(PredictSettings, snakemake.params.settings, "methods.reasoningrec.predict")
references = pd.read_parquet(snakemake.input.rationales)
encoder = load_sentence_model(EmbedderSpec.from_dict(settings.similarity_embedder, snakemake.params.embedder))
frame, cost = predict(snakemake.params.model, snakemake.params.load, pd.read_parquet(snakemake.input.prompts), settings,
                      references[references["split"] == "test"], encoder)
write_parquet(frame, snakemake.output.predictions)
write_json({"method": snakemake.wildcards.method, **cost}, snakemake.output.efficiency)
