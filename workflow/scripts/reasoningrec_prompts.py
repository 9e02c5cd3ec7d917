"""One chat prompt per CTR window (recforge.methods.reasoningrec.prompts)."""

import pandas as pd

from recforge.io import write_parquet
from recforge.logs import setup_logging
from recforge.methods.reasoningrec.prompts import build_prompts

setup_logging(snakemake.log[0])
read = lambda name: pd.read_parquet(snakemake.input[name])  # noqa: E731
write_parquet(build_prompts(read("windows"), read("items_table"), read("descriptions"), read("profiles"),
                            snakemake.params.domain, snakemake.params.like_threshold), snakemake.output.prompts)
