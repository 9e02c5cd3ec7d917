"""Label-conditioned reasoning of the train windows, and of the few test windows whose generated reasoning
is compared with it (recforge.methods.reasoningrec.rationales)."""

import pandas as pd

from recforge.llm import LLMSettings
from recforge.logs import setup_logging
from recforge.methods.reasoningrec.config import ReasoningTask
from recforge.methods.reasoningrec.rationales import write_rationales
from recforge.settings import typed

setup_logging(snakemake.log[0])
read = lambda name: pd.read_parquet(snakemake.input[name])  # noqa: E731
write_rationales(read("windows"), read("items_table"), read("profiles"), ["train"],
                 typed(ReasoningTask, snakemake.params.task, "methods.reasoningrec.reasoning"), snakemake.params.domain,
                 snakemake.params.like_threshold, LLMSettings.from_dict(snakemake.params.llm), snakemake.params.cache,
                 snakemake.output.rationales, snakemake.output.usage, test_rows=snakemake.params.test_rows)
