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
