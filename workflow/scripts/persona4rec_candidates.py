"""The first stage's top-k lists as candidate lists (test target not forced in) and their ceiling."""

import pandas as pd

from recforge.io import write_json, write_parquet
from recforge.logs import setup_logging
from recforge.methods.persona4rec.rerank import candidate_lists

setup_logging(snakemake.log[0])
candidates, report = candidate_lists(pd.read_parquet(snakemake.input.first_stage),
                                     pd.read_parquet(snakemake.input.splits_table), snakemake.params.k)
write_parquet(candidates, snakemake.output.candidates)
write_json(report, snakemake.output.report)
