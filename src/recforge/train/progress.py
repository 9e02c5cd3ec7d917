"""Training progress in the rule's log: the trainers run with tqdm off (its bars would flood a log
file), so this callback writes one line per logging step with the loss, speed and time left."""

from __future__ import annotations

import logging
import time

from transformers import TrainerCallback

log = logging.getLogger(__name__)


class ProgressLog(TrainerCallback):
    def __init__(self, name: str):
        self.name = name
        self.started = 0.0

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.perf_counter()
        log.info("%s: %d steps", self.name, state.max_steps)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or "loss" not in logs or not state.global_step:
            return
        spent = time.perf_counter() - self.started
        per_step = spent / state.global_step
        log.info("%s: step %d/%d loss %.4f, %.2f s/step, %.0f s left", self.name, state.global_step,
                 state.max_steps, float(logs["loss"]), per_step, per_step * (state.max_steps - state.global_step))


def log_progress(trainer, name: str) -> None:
    """Progress lines from ProgressLog instead of transformers' PrinterCallback, which prints every log
    dict to stdout (the trainers run with tqdm off)."""
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(ProgressLog(name))


def eval_curve(trainer) -> list[dict]:
    """The training curve a stage report carries: step, epoch and the valid metrics of every evaluation
    (from the trainer's log history; runtime figures left out)."""
    skip = ("eval_runtime", "eval_samples_per_second", "eval_steps_per_second")
    return [
        {k: v for k, v in entry.items() if k in ("step", "epoch") or (k.startswith("eval_") and k not in skip)}
        for entry in trainer.state.log_history
        if any(k.startswith("eval_") and k not in skip for k in entry)
    ]
