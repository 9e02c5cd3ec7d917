"""The isir training stages as recforge.train entry points (`-m recforge.train.cli
recforge.methods.isir.entry:STAGE --spec JSON`): cold-start SFT, GRPO and hidden alignment.

The spec (rules/isir_common.smk builds it): `train`, `valid` (verl parquet), `out_dir`, `report`,
`settings` (the stage's config section: recforge.train.StageSettings keys plus the stage's own), `start`
(path, dtype, attn_implementation, lora of the model it starts from), and `traces` / `teacher_states`
where the stage reads them.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from recforge.methods.isir.align import AlignSettings, train_student
from recforge.methods.isir.grpo import train_grpo
from recforge.methods.isir.sft import cold_start_sft
from recforge.methods.isir.verl import subsample
from recforge.models.presets import LoraDefaults
from recforge.train.settings import StageSettings, typed


def _rows(path: str, limit: int | None, seed: int, order: str) -> pd.DataFrame:
    """A verl table, optionally its seeded subset (the same in every process and in the traces rule)."""
    return subsample(pd.read_parquet(path), limit, seed, order).reset_index(drop=True)


def _start(spec: dict[str, Any]) -> dict[str, Any]:
    start = dict(spec["start"])
    if "lora" in start:
        start["lora"] = LoraDefaults.from_dict(start["lora"])
    return start


def _stage(spec: dict[str, Any], own: tuple[str, ...]) -> tuple[StageSettings, dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """The shared settings, the stage's own keys, and the train/valid rows."""
    settings = dict(spec["settings"])
    extra = {k: settings.pop(k) for k in own if k in settings}
    order = extra["sample_order"] = settings.pop("sample_order", "random")
    stage = typed(StageSettings, settings, "isir stage")
    train = _rows(spec["train"], stage.max_train_samples, stage.seed, order)
    valid = _rows(spec["valid"], stage.max_valid_samples, stage.seed, order)
    return stage, extra, train, valid


def sft(spec: dict[str, Any], resume: bool) -> dict[str, Any]:
    stage, extra, train, valid = _stage(spec, ("enabled", "trace_sampling", "completion_limits"))
    traces = pd.read_parquet(spec["traces"])
    limits = extra.get("completion_limits")
    return cold_start_sft(_start(spec), train, valid, traces, stage, spec["out_dir"], resume, limits)


def grpo(spec: dict[str, Any], resume: bool) -> dict[str, Any]:
    stage, _, train, valid = _stage(spec, ())
    return train_grpo(_start(spec), train, valid, stage, spec["out_dir"], resume)


def align(spec: dict[str, Any], resume: bool) -> dict[str, Any]:
    stage, extra, train, valid = _stage(spec, ("kd_ratio", "loss", "training_ratio", "lora", "min_label_share"))
    settings = typed(AlignSettings, {**extra, "seed": stage.seed}, "methods.isir.align")
    return train_student(_start(spec), train, valid, spec["teacher_states"], settings, stage, spec["out_dir"], resume)
