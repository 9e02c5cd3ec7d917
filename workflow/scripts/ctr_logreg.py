"""Logistic-regression CTR baseline on the reasoningrec windows (recforge.methods.ctr_logreg)."""

import pandas as pd

from recforge.io import read_tables, write_parquet
from recforge.logs import setup_logging
from recforge.methods import ctr_logreg
from recforge.settings import typed

setup_logging(snakemake.log[0])
tables = read_tables(snakemake.input)
settings = typed(ctr_logreg.CtrLogRegSettings, snakemake.params.settings, "methods.ctr_logreg")
write_parquet(ctr_logreg.predict(pd.read_parquet(snakemake.input.windows), tables.interactions, settings,
                                 snakemake.params.like_threshold), snakemake.output[0])
