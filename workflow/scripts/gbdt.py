"""LightGBM rating regressor on pre-sample sequence features (recforge.methods.gbdt)."""

from recforge.io import read_tables, write_json, write_parquet
from recforge.logs import setup_logging
from recforge.methods import gbdt
from recforge.settings import typed

setup_logging(snakemake.log[0])
tables = read_tables(snakemake.input)
settings = typed(gbdt.GBDTSettings, snakemake.params.settings, "methods.gbdt")
predictions, report = gbdt.fit_predict(tables.interactions, tables.samples, settings, threads=snakemake.threads)
write_parquet(predictions, snakemake.output.predictions)
write_json(report, snakemake.output.report)
