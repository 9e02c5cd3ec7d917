"""SASRec-score CTR baseline on the reasoningrec windows (recforge.methods.ctr_sasrec)."""

import pandas as pd

from recforge.io import read_tables, write_parquet
from recforge.logs import setup_logging
from recforge.methods import ctr_sasrec, sasrec
from recforge.settings import typed

setup_logging(snakemake.log[0])
tables = read_tables(snakemake.input)
settings = typed(ctr_sasrec.CtrSASRecSettings, snakemake.params.settings, "methods.ctr_sasrec")
write_parquet(ctr_sasrec.predict(sasrec.load(snakemake.input.model), tables.interactions,
                                 pd.read_parquet(snakemake.input.windows), settings), snakemake.output[0])
