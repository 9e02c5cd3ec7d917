"""Saving a stage's selected model: PEFT adapters merged, greedy generation config, safetensors through
recforge.models.save_model (atomic), and the stage report beside the weights when given."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from recforge.io import write_json
from recforge.models.loading import save_model

log = logging.getLogger(__name__)

REPORT = "stage_report.json"


def merged(model: Any) -> Any:
    """A plain transformers model: PEFT adapters (LoRA, TrainableTokens) folded in."""
    return model.merge_and_unload() if hasattr(model, "merge_and_unload") else model


def is_main_process() -> bool:
    from accelerate import PartialState

    return PartialState().is_main_process


def save_stage(model: Any, tokenizer: Any, out_dir: str | Path, report: dict | None = None) -> Any:
    """Write the merged model (and `report` as stage_report.json) from the main process only; returns
    the merged model."""
    model = merged(model)
    if not is_main_process():
        return model
    model.generation_config.do_sample = False
    save_model(model, tokenizer, out_dir)
    if report is not None:
        write_json(report, Path(out_dir) / REPORT)
    log.info("saved %s", out_dir)
    return model


def train_and_save(trainer: Any, tokenizer: Any, out_dir: str | Path, resume: bool = False) -> Any:
    """Train (resuming a killed run's checkpoints when `resume`), then save the selected model from the
    main process. Returns transformers' TrainOutput."""
    result = trainer.train(resume_from_checkpoint=True if resume else None)
    save_stage(trainer.model, tokenizer, out_dir)
    return result
