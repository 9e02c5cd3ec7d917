"""persona4rec / persona4rec_blend: candidate lists re-ranked from the caches, with online latency."""

import pandas as pd

from recforge.io import write_json, write_parquet
from recforge.logs import setup_logging
from recforge.methods.persona4rec.caches import load_index
from recforge.methods.persona4rec.predict import persona_predictions
from recforge.methods.persona4rec.settings import Persona4RecSettings

setup_logging(snakemake.log[0])
settings = Persona4RecSettings.from_dict(snakemake.params.settings)
predictions, efficiency = persona_predictions(snakemake.wildcards.method, pd.read_parquet(snakemake.input.candidates),
                                              load_index(snakemake.input.cache), settings)
write_parquet(predictions, snakemake.output.predictions)
write_json(efficiency, snakemake.output.efficiency)
