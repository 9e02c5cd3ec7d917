"""Stage-3 reasoning rows: a CoT from each sample's history (never its target), then the SID."""

import pandas as pd

from recforge.io import read_tables, write_json, write_parquet
from recforge.llm import LLMSettings
from recforge.logs import setup_logging
from recforge.methods.onerec import cot
from recforge.settings import typed
from recforge.methods.onerec.config import CotConfig, TaskConfig
from recforge.methods.onerec.tasks import item_lookup
from recforge.methods.onerec.vocab import SidIndex
from recforge.sid import read_sids
from recforge.text.contexts import item_info

setup_logging(snakemake.log[0])
data = read_tables(snakemake.input)
task_cfg = typed(TaskConfig, {**snakemake.params.tasks, "domain": snakemake.params.domain})
cot_cfg = typed(CotConfig, snakemake.params.cot)
sid_of = SidIndex.from_sids(read_sids(snakemake.input.sids)).texts()
sequential = pd.read_parquet(snakemake.input.sequential)
rows = sequential[sequential["split"] != "test"]
contexts = cot.cot_contexts(rows, data.interactions, data.samples, data.items, cot_cfg, task_cfg.domain,
                            task_cfg.max_history, task_cfg.like_threshold)
info = item_lookup(data.items)
targets = {k: item_info(info[t]) for k, t in zip(rows["key"], rows["target"]) if t in info}  # leak check only
settings = LLMSettings.from_dict(dict(snakemake.params.llm))
cots = cot.write_cots(contexts, targets, cot_cfg, settings, snakemake.params.cache, snakemake.output.usage)
if settings.backend == "heuristic":  # no LLM call: still write the usage sidecar the rule declares
    write_json({"stage": "onerec_cot", "backend": "heuristic", "writer": "history_stats", "requests": len(cots)},
               snakemake.output.usage)
write_parquet(cots, snakemake.output.cots)
write_parquet(cot.reasoning_rows(sequential, dict(zip(cots["key"], cots["cot"])), sid_of), snakemake.output.reasoning)
