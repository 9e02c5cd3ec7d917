"""Best-on-valid checkpoint selection: every stage hands over the state best on valid, never the last.

Released OneRec-Think passed the LAST stage-2 checkpoint on to stage 3 (issue #3: hit@10 0.047 with it,
0.0742 with a better one). Here a `BestOnValid` callback evaluates at every evaluation point (end of
epoch, or every `eval_steps`), keeps an in-memory copy of the trainable parameters of the best
evaluation (all of them for full fine-tuning, the adapter for PEFT), and restores it when training ends;
the stage then saves it with safetensors. Metrics: valid HR@10 / NDCG@10 of constrained beam search on a
seeded valid subset (predict.valid_ranking), or the valid loss where ranking is not meaningful yet (stage
1: the model has not learned the sequential task) or too slow. Ties keep the earlier state.

With `patience`, training stops once that many evaluations in a row have not beaten the best (the
seeds' early stopping: ReasoningRec patience 6 on valid AUC, OneRec-Think patience 2 on valid loss); the
best state is still the one handed over.

With a `state_dir` (the stage's checkpoint directory), the selection survives a killed job: at every
trainer checkpoint the records and the best state are written beside it, and a resumed run starts from
them (recforge.train.checkpoints keys the directory by the stage's settings).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from recforge.io import read_json, write_json

log = logging.getLogger(__name__)

SELECTION, BEST_STATE = "selection.json", "best_state.safetensors"

METRICS = ("hr", "ndcg", "loss", "auc")


def metric_key(metric: str, k: int = 10) -> tuple[str, str]:
    """(record key, "max"/"min") of a selection metric: hr -> HR@k, ndcg -> NDCG@k, loss -> eval_loss,
    auc -> AUC (a CTR method's valid AUC, computed by its rank_fn)."""
    if metric not in METRICS:
        raise ValueError(f"unknown selection metric {metric!r}; known: {list(METRICS)}")
    return {"hr": (f"HR@{k}", "max"), "ndcg": (f"NDCG@{k}", "max"), "loss": ("eval_loss", "min"),
            "auc": ("AUC", "max")}[metric]


def select_best(records: Sequence[dict], key: str, mode: str = "max") -> int:
    """Index of the best record by `key` (the first on ties; records without a finite value never
    win). ValueError when none has one."""
    best, best_value = -1, None
    for n, record in enumerate(records):
        value = record.get(key)
        if value is None or not math.isfinite(float(value)):
            continue
        if best_value is None or (value > best_value if mode == "max" else value < best_value):
            best, best_value = n, float(value)
    if best < 0:
        raise ValueError(f"no evaluation has a finite {key!r}")
    return best


def trainable_state(model: Any) -> dict[str, Any]:
    """CPU copies of the parameters that train (what can change between evaluations)."""
    return {n: p.detach().to("cpu", copy=True) for n, p in model.named_parameters() if p.requires_grad}


def load_trainable_state(model: Any, state: dict[str, Any]) -> None:
    import torch

    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in state.items():
            params[name].copy_(value.to(params[name].device, params[name].dtype))


class BestOnValid(TrainerCallback):
    """Evaluate, remember the best trainable state, restore it at the end.

    `rank_fn(model) -> {"HR@k": .., "NDCG@k": ..}` is called for the ranking metrics; the valid loss
    comes from the trainer's own evaluation (`on_evaluate`). With `every_steps` (GRPO, which has no
    evaluation loop here) the callback evaluates itself every that many steps and at the end."""

    def __init__(self, metric: str, rank_fn: Callable[[Any], dict] | None = None, k: int = 10,
                 every_steps: int | None = None, tag: dict | None = None, state_dir: str | Path | None = None,
                 patience: int | None = None):
        self.metric, (self.key, self.mode) = metric, metric_key(metric, k)
        if metric != "loss" and rank_fn is None:
            raise ValueError(f"selection by {metric} needs a rank_fn")
        if patience is not None and patience < 1:
            raise ValueError(f"patience must be a positive number of evaluations or null, got {patience}")
        self.patience, self.stopped_early = patience, False
        self.rank_fn, self.every_steps = rank_fn, every_steps
        self.tag = dict(tag or {})  # merged into every record (e.g. {"round": 1})
        self.records: list[dict] = []
        self.best_state: dict[str, Any] | None = None
        self.best_index = -1
        self._last_step = None
        self.state_dir = Path(state_dir) if state_dir is not None else None
        if self.state_dir is not None and (self.state_dir / SELECTION).exists():
            self._load()

    # ------------------------------------------------------------------ persistence (resume)
    def _load(self) -> None:
        from safetensors.torch import load_file

        saved = read_json(self.state_dir / SELECTION)
        self.records, self.best_index = saved["records"], saved["best_index"]
        if self.best_index >= 0:
            self.best_state = load_file(self.state_dir / BEST_STATE)
        log.info("resumed the selection: %d evaluations, best #%d", len(self.records), self.best_index)

    def on_save(self, args, state, control, **kwargs):
        """Written with each trainer checkpoint, so a resumed run sees the selection as of that step."""
        if self.state_dir is None or not state.is_world_process_zero:
            return
        from safetensors.torch import save_file

        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self.best_state is not None:
            save_file({n: t.contiguous() for n, t in self.best_state.items()}, self.state_dir / BEST_STATE)
        write_json({"records": self.records, "best_index": self.best_index}, self.state_dir / SELECTION)

    # ------------------------------------------------------------------ evaluation points
    def consider(self, model: Any, step: int = 0, epoch: float = 0.0, metrics: dict | None = None) -> dict:
        """Evaluate `model` now (ranking when selecting by it), record, keep it if best so far."""
        record = {**self.tag, "step": int(step), "epoch": float(epoch or 0.0)}
        if metrics and "eval_loss" in metrics:
            record["eval_loss"] = float(metrics["eval_loss"])
        if self.rank_fn is not None and self.metric != "loss":
            was_training = model.training
            model.eval()
            try:
                record.update(self.rank_fn(model))
            finally:
                model.train(was_training)
        self.records.append(record)
        if select_best(self.records, self.key, self.mode) == len(self.records) - 1:
            self.best_state, self.best_index = trainable_state(model), len(self.records) - 1
        self._last_step = step
        log.info("valid evaluation %s (best so far: #%d)", record, self.best_index)
        return record

    @property
    def stale(self) -> bool:
        """True when the last `patience` evaluations did not beat the best (never without patience)."""
        return self.patience is not None and len(self.records) - 1 - self.best_index >= self.patience

    def _stop_if_stale(self, control) -> None:
        if self.stale:
            log.info("early stop: %d evaluations without a better valid %s", self.patience, self.key)
            control.should_training_stop = self.stopped_early = True

    def on_evaluate(self, args, state, control, metrics=None, model=None, **kwargs):
        if self.every_steps is None:
            self.consider(model, state.global_step, state.epoch, metrics)
            self._stop_if_stale(control)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if self.every_steps and state.global_step % self.every_steps == 0:
            self.consider(model, state.global_step, state.epoch)
            self._stop_if_stale(control)

    def on_train_end(self, args, state, control, model=None, **kwargs):
        if self.every_steps and self._last_step != state.global_step:
            self.consider(model, state.global_step, state.epoch)

    # ------------------------------------------------------------------ hand-over
    @property
    def best(self) -> dict:
        return self.records[self.best_index] if self.best_index >= 0 else {}

    def restore_best(self, model: Any) -> dict:
        if self.best_state is None:
            raise ValueError("no evaluation was recorded: nothing to restore")
        load_trainable_state(model, self.best_state)
        log.info("restored the best valid state: %s", self.best)
        return self.best

    def report(self) -> dict:
        return {"metric": self.metric, "key": self.key, "mode": self.mode, "best_index": self.best_index,
                "best": self.best, "evaluations": self.records, "patience": self.patience,
                "stopped_early": self.stopped_early}


def early_stopping(patience: int | None) -> list:
    """The same patience for the stages selected by the trainer itself (arguments.Checkpointed:
    transformers' load_best_model_at_end), through transformers' own EarlyStoppingCallback."""
    if patience is None:
        return []
    from transformers import EarlyStoppingCallback

    return [EarlyStoppingCallback(early_stopping_patience=patience)]
