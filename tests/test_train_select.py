"""Best-on-valid selection: the handed-over state is the best evaluated one, never simply the last."""

from __future__ import annotations

import math

import pytest
import torch
from transformers import TrainerCallback, TrainerControl

from onerec_example import save_tiny_model, tables
from recforge.methods.onerec.config import TaskConfig, TrainConfig
from recforge.train.select import BestOnValid, early_stopping, metric_key, select_best
from recforge.methods.onerec.stages import load_model, train_sft
from recforge.methods.onerec.tasks import sequential_rows

torch.set_num_threads(1)


def test_select_best_by_max_and_min():
    records = [{"HR@10": 0.1, "eval_loss": 3.0}, {"HR@10": 0.4, "eval_loss": 2.5}, {"HR@10": 0.3, "eval_loss": 2.0}]
    assert select_best(records, "HR@10", "max") == 1
    assert select_best(records, "eval_loss", "min") == 2


def test_select_best_keeps_the_earlier_on_ties_and_skips_missing_values():
    assert select_best([{"m": 0.2}, {"m": 0.2}], "m") == 0
    assert select_best([{"m": math.nan}, {}, {"m": 0.1}], "m") == 2
    with pytest.raises(ValueError):
        select_best([{"m": None}], "m")


def test_metric_keys():
    assert metric_key("hr", 10) == ("HR@10", "max")
    assert metric_key("ndcg", 5) == ("NDCG@5", "max")
    assert metric_key("loss") == ("eval_loss", "min")
    with pytest.raises(ValueError):
        metric_key("hr@10")


def test_best_on_valid_restores_the_best_of_several_states():
    model = torch.nn.Linear(2, 1)
    scores = iter([0.1, 0.5, 0.2])
    selector = BestOnValid("hr", rank_fn=lambda m: {"HR@10": next(scores)})
    states = []
    for value in (1.0, 2.0, 3.0):
        with torch.no_grad():
            model.weight.fill_(value)
        selector.consider(model, step=int(value))
        states.append(model.weight.detach().clone())
    assert selector.best_index == 1 and selector.best["step"] == 2
    selector.restore_best(model)
    assert torch.equal(model.weight, states[1])
    assert selector.report()["evaluations"][2]["HR@10"] == 0.2


class Recorder(TrainerCallback):
    """The model's weights at every evaluation (after BestOnValid has recorded it)."""

    def __init__(self):
        self.states = []

    def on_evaluate(self, args, state, control, model=None, **kwargs):
        self.states.append({n: p.detach().clone() for n, p in model.named_parameters()})


def test_training_hands_over_the_best_epoch_not_the_last(tmp_path):
    save_tiny_model(tmp_path / "base")
    model, tokenizer = load_model(tmp_path / "base")
    items, interactions, samples = tables()
    # plain text answers (the tiny base has no SID tokens): the selection mechanics are what is tested
    rows = sequential_rows(interactions, samples, {i: f"item {i}" for i in items["item_id"]}, TaskConfig())
    scores = iter([0.2, 0.6, 0.4])
    selector = BestOnValid("hr", rank_fn=lambda m: {"HR@10": next(scores), "NDCG@10": 0.0})
    recorder = Recorder()
    cfg = TrainConfig(select="hr", args={"num_train_epochs": 3, "learning_rate": 1e-2, "per_device_train_batch_size": 4})
    train_rows, valid_rows = rows[rows["split"] == "train"], rows[rows["split"] == "valid"]

    model = train_sft(model, tokenizer, train_rows, valid_rows, cfg, selector, tmp_path / "work", callbacks=[recorder])
    assert [r["HR@10"] for r in selector.records] == [0.2, 0.6, 0.4]
    assert all("eval_loss" in r for r in selector.records) and len(recorder.states) == 3
    last = {n: p.detach().clone() for n, p in model.named_parameters()}
    assert any(not torch.equal(last[n], recorder.states[1][n]) for n in last)  # training moved on
    selector.restore_best(model)
    for name, param in model.named_parameters():
        assert torch.equal(param, recorder.states[1][name]), name


def test_patience_stops_after_that_many_evaluations_without_a_better_one():
    model = torch.nn.Linear(2, 1)
    scores = iter([0.5, 0.6, 0.55, 0.6, 0.58, 0.9])
    selector = BestOnValid("auc", rank_fn=lambda m: {"AUC": next(scores)}, every_steps=1, patience=3)
    stops = []
    for step in range(1, 6):
        control = TrainerControl()
        selector.on_step_end(None, type("State", (), {"global_step": step, "epoch": step})(), control, model=model)
        stops.append(control.should_training_stop)
    # best at evaluation 2 (0.6; the tie at 4 does not count as better); 3, 4, 5 do not beat it
    assert stops == [False, False, False, False, True] and selector.best_index == 1
    assert selector.report()["stopped_early"] and selector.report()["patience"] == 3
    assert not BestOnValid("auc", rank_fn=lambda m: {"AUC": 0.5}).stale  # no patience: never stale
    with pytest.raises(ValueError, match="patience"):
        BestOnValid("loss", patience=0)


def test_a_stage_with_patience_ends_before_its_last_epoch(tmp_path):
    save_tiny_model(tmp_path / "base")
    model, tokenizer = load_model(tmp_path / "base")
    items, interactions, samples = tables()
    rows = sequential_rows(interactions, samples, {i: f"item {i}" for i in items["item_id"]}, TaskConfig())
    scores = iter([0.6, 0.4, 0.5, 0.9, 0.9])
    selector = BestOnValid("hr", rank_fn=lambda m: {"HR@10": next(scores), "NDCG@10": 0.0}, patience=2)
    cfg = TrainConfig(select="hr", args={"num_train_epochs": 5, "learning_rate": 1e-2, "per_device_train_batch_size": 4})
    train_sft(model, tokenizer, rows[rows["split"] == "train"], rows[rows["split"] == "valid"], cfg, selector,
              tmp_path / "work")
    assert [r["HR@10"] for r in selector.records] == [0.6, 0.4, 0.5]  # epochs 4 and 5 never ran
    assert selector.best["epoch"] == 1.0 and selector.report()["stopped_early"]


def test_trainer_selected_stages_get_transformers_early_stopping():
    assert early_stopping(None) == []
    (callback,) = early_stopping(4)
    assert type(callback).__name__ == "EarlyStoppingCallback" and callback.early_stopping_patience == 4


class KillAfterSaves(TrainerCallback):
    """Stands in for a SIGKILL: the run dies right after its n-th checkpoint is written."""

    def __init__(self, n):
        self.n, self.saves = n, 0

    def on_save(self, args, state, control, **kwargs):
        self.saves += 1
        if self.saves == self.n:
            raise KeyboardInterrupt("killed")


def test_a_killed_stage_resumes_with_its_selection(tmp_path):
    save_tiny_model(tmp_path / "base")
    items, interactions, samples = tables()
    rows = sequential_rows(interactions, samples, {i: f"item {i}" for i in items["item_id"]}, TaskConfig())
    train_rows, valid_rows = rows[rows["split"] == "train"], rows[rows["split"] == "valid"]
    cfg = TrainConfig(select="hr", args={"num_train_epochs": 3, "learning_rate": 1e-2, "per_device_train_batch_size": 4})
    work = tmp_path / "work"
    scores = iter([0.2, 0.6, 0.4])
    recorder = Recorder()

    def selector():  # a fresh callback per run, as in a new process; the scores go on where they were
        return BestOnValid("hr", rank_fn=lambda m: {"HR@10": next(scores), "NDCG@10": 0.0}, state_dir=work)

    model, tokenizer = load_model(tmp_path / "base")
    with pytest.raises(KeyboardInterrupt):
        train_sft(model, tokenizer, train_rows, valid_rows, cfg, selector(), work, callbacks=[recorder, KillAfterSaves(2)],
                  resumable=True)
    assert sorted(p.name for p in work.glob("checkpoint-*")) and (work / "selection.json").exists()

    model, tokenizer = load_model(tmp_path / "base")  # the rerun starts from the stage's start model
    resumed = selector()
    assert [r["HR@10"] for r in resumed.records] == [0.2, 0.6] and resumed.best_index == 1
    model = train_sft(model, tokenizer, train_rows, valid_rows, cfg, resumed, work, resumable=True)
    assert [r["HR@10"] for r in resumed.records] == [0.2, 0.6, 0.4]  # only the third epoch ran again
    resumed.restore_best(model)
    for name, param in model.named_parameters():
        assert torch.equal(param, recorder.states[1][name]), name  # epoch 2 of the killed run
