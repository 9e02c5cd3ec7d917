"""rerank_base: the candidate lists in the first stage's own order."""

import pandas as pd

from recforge.io import write_parquet
from recforge.logs import setup_logging
from recforge.methods.persona4rec.predict import base_predictions

setup_logging(snakemake.log[0])
write_parquet(base_predictions(pd.read_parquet(snakemake.input.candidates)), snakemake.output[0])
