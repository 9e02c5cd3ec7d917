"""CTR windows and their label balance (recforge.methods.reasoningrec.windows)."""

from recforge.io import read_tables, write_json, write_parquet
from recforge.logs import setup_logging
from recforge.methods.reasoningrec.windows import build_windows, window_report

setup_logging(snakemake.log[0])
tables, s = read_tables(snakemake.input), snakemake.params.settings
windows = build_windows(tables.interactions, tables.samples, s["history"], s["profile_items"], s["like_threshold"])
write_parquet(windows, snakemake.output.windows)
write_json(window_report(windows), snakemake.output.report)
