"""The OneRec-Think training stages as recforge.train entry points (`-m recforge.train.cli
recforge.methods.onerec.entry:STAGE --spec JSON`).

The spec (rules/onerec_common.smk builds it): the rule's named inputs (`sids`, task tables, ...),
`out_dir`, `report`, `start` (path, dtype, attn_implementation, lora of the model the stage starts
from) and `settings`: {"train": the stage's section, "rank_eval": ..., "rejection": ... (stage 3)}.
Selection is BestOnValid (ranking metrics need the model's own beam search). Stages 1, 2 and GRPO keep
their trainer checkpoints and the selection in the stage's checkpoint directory, so a killed job
resumes there; stage 3 (SFT rounds with rejection sampling between them) restarts from its start model.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from recforge.methods.onerec import grpo as G
from recforge.methods.onerec import stages
from recforge.methods.onerec.config import GRPOSettings, RankEvalConfig, RejectionConfig, TrainConfig
from recforge.methods.onerec.vocab import SidIndex
from recforge.models.presets import LoraDefaults
from recforge.settings import typed
from recforge.sid import read_sids
from recforge.train.checkpoints import checkpoint_dir


def _common(spec: dict[str, Any]) -> tuple[dict, SidIndex, RankEvalConfig, dict]:
    start = spec["start"]
    sids = SidIndex.from_sids(read_sids(spec["sids"]))
    rank = typed(RankEvalConfig, spec["settings"]["rank_eval"], "methods.onerec_think.rank_eval")
    load = {"dtype": start["dtype"], "attn_implementation": start["attn_implementation"]}
    return start, sids, rank, load


def _train(spec: dict[str, Any], section: str) -> TrainConfig:
    return typed(TrainConfig, spec["settings"]["train"], f"methods.onerec_think.{section}")


def stage1(spec: dict[str, Any], resume: bool) -> dict[str, Any]:
    start, sids, rank, load = _common(spec)
    return stages.warmup(start["path"], sids, pd.read_parquet(spec["items_table"]), pd.read_parquet(spec["alignment"]),
                         _train(spec, "stage1"), spec["out_dir"], rank_cfg=rank,
                         sequential=pd.read_parquet(spec["sequential"]), work_dir=checkpoint_dir(spec["out_dir"]),
                         **load)


def stage2(spec: dict[str, Any], resume: bool) -> dict[str, Any]:
    start, sids, rank, load = _common(spec)
    lora = LoraDefaults.from_dict(start["lora"])
    return stages.multitask(start["path"], sids, pd.read_parquet(spec["mixture"]), pd.read_parquet(spec["sequential"]),
                            _train(spec, "stage2"), rank, spec["out_dir"], lora=lora,
                            work_dir=checkpoint_dir(spec["out_dir"]), **load)


def stage3(spec: dict[str, Any], resume: bool) -> dict[str, Any]:
    start, sids, rank, load = _common(spec)
    rejection = typed(RejectionConfig, spec["settings"]["rejection"], "methods.onerec_think.rejection")
    return stages.activation(start["path"], sids, pd.read_parquet(spec["reasoning"]), sids.texts(),
                             _train(spec, "stage3"), rank, rejection, spec["out_dir"], **load)


def grpo(spec: dict[str, Any], resume: bool) -> dict[str, Any]:
    start, sids, rank, load = _common(spec)
    settings = typed(GRPOSettings, spec["settings"]["train"], "methods.onerec_think.grpo")
    return G.enhance(start["path"], sids, pd.read_parquet(spec["reasoning"]), settings, rank, spec["out_dir"],
                     work_dir=checkpoint_dir(spec["out_dir"]), **load)
