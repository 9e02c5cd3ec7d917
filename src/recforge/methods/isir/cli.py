"""Entry point of the isir training stages that run under `accelerate launch` (one process per GPU, or
several CPU processes with gloo): cold-start SFT, GRPO and hidden alignment.

    accelerate launch [--cpu] --num_processes N -m recforge.methods.isir.cli STAGE --spec JSON

The spec holds the stage's input/output paths and settings (the Snakemake rule builds it from config).
Every process trains; only the main process writes the model and the report.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from recforge.io import write_json
from recforge.methods.isir.align import AlignSettings, train_student
from recforge.methods.isir.grpo import train_grpo
from recforge.methods.isir.sft import cold_start_sft
from recforge.methods.isir.training import checkpoint_dir, drop_checkpoints, resume_from
from recforge.methods.isir.verl import subsample
from recforge.models.presets import LoraDefaults

log = logging.getLogger("recforge.isir")


def _rows(path: str, limit: int | None, seed: int) -> pd.DataFrame:
    """A verl table, optionally its seeded subset (the same in every process and in the traces rule)."""
    return subsample(pd.read_parquet(path), limit, seed).reset_index(drop=True)


def _model(spec: dict[str, Any], key: str = "start") -> dict[str, Any]:
    model = dict(spec[key])
    if "lora" in model:
        lora = dict(model["lora"])
        lora["target_modules"] = tuple(lora["target_modules"])
        model["lora"] = LoraDefaults(**lora)
    return model


def run(stage: str, spec: dict[str, Any], resume: bool = False) -> dict[str, Any] | None:
    s = spec["settings"]
    seed = s.get("seed", 0)
    train = _rows(spec["train"], s.get("max_train_samples"), seed)
    valid = _rows(spec["valid"], s.get("max_valid_samples"), seed)
    out = spec["out_dir"]
    if stage == "sft":
        traces = pd.read_parquet(spec["traces"])
        return cold_start_sft(_model(spec), train, valid, traces, s["args"], s["eval_steps"], out, resume)
    if stage == "grpo":
        return train_grpo(_model(spec), train, valid, s["args"], s["eval_steps"], out, resume)
    if stage == "align":
        settings = AlignSettings(
            kd_ratio=s["kd_ratio"],
            loss=s["loss"],
            training_ratio=s["training_ratio"],
            seed=seed,
            lora=s.get("lora"),
        )
        return train_student(
            _model(spec), train, valid, spec["teacher_states"], settings, s["args"], s["eval_steps"], out
        )
    raise ValueError(f"unknown stage {stage!r}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("stage", choices=("sft", "grpo", "align"))
    parser.add_argument("--spec", required=True, help="JSON: paths and settings of the stage")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    spec = json.loads(args.spec)
    from accelerate import PartialState

    state = PartialState()
    # A killed job's checkpoints (same spec) are resumed; the main process decides, the others wait.
    fingerprint = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()
    if state.is_main_process:
        resume_from(spec["out_dir"], fingerprint)
    state.wait_for_everyone()
    resume = any(checkpoint_dir(spec["out_dir"]).glob("checkpoint-*"))
    report = run(args.stage, spec, resume)
    state.wait_for_everyone()
    if state.is_main_process:
        write_json(report, Path(spec["report"]))
        drop_checkpoints(spec["out_dir"])
        log.info("%s done: %s", args.stage, spec["report"])


if __name__ == "__main__":
    main()
