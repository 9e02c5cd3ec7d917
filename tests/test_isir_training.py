"""The isir training stages on a small tiny model: cold-start SFT, GRPO, teacher CoT, teacher states,
hidden alignment (in-process and as two DDP processes under accelerate launch), predictions."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from llm_fixtures.helpers import shared_test_model
from recforge.io import read_json
from recforge.methods.isir import predict
from recforge.methods.isir.align import AlignSettings, train_student
from recforge.methods.isir.chat import answer_only_prompt, split_thinking, teacher_state_text
from recforge.methods.isir.grpo import train_grpo
from recforge.methods.isir.hidden import TeacherStates, extract_teacher_states
from recforge.methods.isir.sft import cold_start_sft, usable_traces
from recforge.methods.isir.teacher import TeacherSettings, teacher_traces
from recforge.models.loading import load_causal_lm
from recforge.models.presets import LoraDefaults
from recforge.train.settings import StageSettings

REPO = Path(__file__).resolve().parents[1]
LOAD = {"dtype": "float32", "attn_implementation": "sdpa"}


def verl_rows(n: int, split: str) -> pd.DataFrame:
    labels = [1 + i % 5 for i in range(n)]
    return pd.DataFrame(
        {
            "sample_id": [f"u{i}:{split}" for i in range(n)],
            "split": split,
            "label": [float(x) for x in labels],
            "prompt": [
                [
                    {"role": "system", "content": "Predict the rating from 1 to 5."},
                    {"role": "user", "content": f"The user rated movie {i}. Rating?"},
                ]
                for i in range(n)
            ],
            "reward_model": [
                {"style": "rule", "ground_truth": str(x), "rating_scale": {"min": 1.0, "max": 5.0, "step": 1.0}}
                for x in labels
            ],
        }
    )


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("isir")
    base = {"path": str(shared_test_model(tmp_path_factory)), **LOAD}
    train, valid = verl_rows(16, "train"), verl_rows(4, "valid")
    both = pd.concat([train, valid], ignore_index=True)
    traces = pd.DataFrame(
        {
            "sample_id": both["sample_id"],
            "text": [f"<think>\nThe user rates like this.\n</think>\n<answer>{int(x)}</answer>" for x in both["label"]],
            "prediction": both["label"],
        }
    )
    traces.loc[0, "prediction"] = 2.0  # a trace that disagrees with its label is not learnt
    sft_args = {"num_train_epochs": 2, "per_device_train_batch_size": 4, "learning_rate": 1e-3, "max_length": 256}
    sft = cold_start_sft(base, train, valid, traces, StageSettings(args=sft_args, eval_steps=2), out_dir=root / "sft")
    grpo_args = {
        "max_steps": 2, "per_device_train_batch_size": 4, "per_device_eval_batch_size": 4,
        "num_generations": 4, "max_completion_length": 24, "learning_rate": 1e-5, "beta": 0.001,
    }
    grpo = train_grpo({**base, "path": str(root / "sft")}, train, valid, StageSettings(args=grpo_args, eval_steps=1), out_dir=root / "grpo")
    return {"root": root, "train": train, "valid": valid, "sft": sft, "grpo": grpo}


def test_sft_uses_only_label_consistent_traces_and_selects_on_valid(chain):
    assert chain["sft"]["train_samples"] == 15 and chain["sft"]["valid_samples"] == 4
    assert chain["sft"]["best_checkpoint"] is not None
    assert (chain["root"] / "sft" / "model.safetensors").exists()


def test_grpo_selects_the_best_valid_reward_checkpoint(chain):
    report = chain["grpo"]
    evals = [h["eval_reward"] for h in report["history"] if "eval_reward" in h]
    assert len(evals) == 2 and report["best_eval_reward"] == pytest.approx(max(evals))
    assert (chain["root"] / "grpo" / "model.safetensors").exists()


def test_teacher_states_student_and_predictions(chain, tmp_path):
    root, train, valid = chain["root"], chain["train"], chain["valid"]
    model, tokenizer = load_causal_lm(str(root / "grpo"), **LOAD)
    cot = teacher_traces(model, tokenizer, train, TeacherSettings(max_new_tokens=24, batch_size=8, answer="greedy"))
    assert cot["sample_id"].tolist() == train["sample_id"].tolist()
    assert (cot["correct"] == (cot["prediction"] == cot["label"])).all() and cot["thinking"].notna().all()
    assert cot["prediction"].equals(cot["parsed"])  # greedy: the rating the completion writes
    # answer "expected": the mean of the distribution after the same completions, snapped to the scale
    by_mean = teacher_traces(model, tokenizer, train, TeacherSettings(max_new_tokens=24, batch_size=8, answer="expected"))
    assert by_mean["completion"].tolist() == cot["completion"].tolist()
    values = [1.0, 2.0, 3.0, 4.0, 5.0]
    dist, _ = predict.cot_distribution(model, tokenizer, train, predict.cot_generate(model, tokenizer, train, 24, 8),
                                       values, batch_size=8)
    assert np.array_equal(by_mean["prediction"].to_numpy(), np.floor(dist @ np.asarray(values) + 0.5))
    assert (by_mean["correct"] == (by_mean["prediction"] == by_mean["label"])).all()

    # The CoT readout: P(rating) at the "<answer>" after each completion's own thinking, i.e. the softmax
    # over the rating tokens of one direct forward pass on prompt + thinking + "<answer>".
    gen = predict.cot_generate(model, tokenizer, train.iloc[:3], max_new_tokens=24, batch_size=2)
    dist, timed = predict.cot_distribution(model, tokenizer, train.iloc[:3], gen, [1.0, 2.0, 3.0, 4.0, 5.0], batch_size=2)
    assert dist.shape == (3, 5) and np.allclose(dist.sum(axis=1), 1) and timed.seconds > gen.seconds
    text = teacher_state_text(tokenizer, train.iloc[1]["prompt"], split_thinking(gen.texts[1]) or "")
    ids = tokenizer(text, return_tensors="pt", add_special_tokens=False)
    rating_ids = [tokenizer(str(v), add_special_tokens=False)["input_ids"][0] for v in range(1, 6)]
    with torch.inference_mode():
        direct = torch.softmax(model(**ids).logits[0, -1, rating_ids].float(), dim=-1).numpy()
    assert np.allclose(dist[1], direct, atol=1e-4)

    thinking = pd.Series(["<think>\nsome reasoning\n</think>"] * len(train))
    extract_teacher_states(model, tokenizer, train, thinking, tmp_path / "states", [1, 2], batch_size=5, shard_size=6)
    store = TeacherStates(tmp_path / "states")
    # A shard is written once it holds >= 6 samples, at a batch boundary: 10 + 6.
    assert len(list((tmp_path / "states").glob("*.safetensors"))) == 2 and len(store.index) == 16
    # The stored state is the last layer state at the <answer> token of prompt + reasoning.
    text = teacher_state_text(tokenizer, train.iloc[3]["prompt"], thinking[3])
    ids = tokenizer(text, return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        direct = model(**ids, output_hidden_states=True).hidden_states[2][0, -1]
    assert torch.allclose(store[train.iloc[3]["sample_id"]][1].float(), direct, atol=2e-2)

    start = {"path": str(root / "grpo"), **LOAD, "lora": LoraDefaults(target_modules=("k_proj", "v_proj"))}
    args = {"num_train_epochs": 2, "per_device_train_batch_size": 4, "learning_rate": 1e-3}
    report = train_student(start, train, valid, tmp_path / "states", AlignSettings(kd_ratio=0.5, lora=True), StageSettings(args=args, eval_steps=2), tmp_path / "student")
    assert report["train_samples"] == 16 and report["world_size"] == 1 and report["lora"] is True

    student, tok = load_causal_lm(str(tmp_path / "student"), **LOAD)
    assert answer_only_prompt(tok, valid.iloc[0]["prompt"]).endswith("<think>\n</think>\n<answer>")
    gen = predict.answer_only_generate(student, tok, valid, batch_size=4)
    assert gen.new_tokens == [1] * 4
    ratings = predict.answer_only_ratings(gen.texts)
    table = predict.prediction_table(valid, ratings, gen.texts)
    assert table.columns.tolist() == ["sample_id", "split", "prediction", "raw_output"]
    stats = predict.efficiency(gen, ratings)
    assert stats["n"] == 4 and stats["mean_generated_tokens"] == 1.0


def test_alignment_term_changes_training(chain, tmp_path):
    """Same data and seed: kd_ratio 0 and 0.5 must train different students."""
    root, train, valid = chain["root"], chain["train"], chain["valid"]
    model, tokenizer = load_causal_lm(str(root / "grpo"), **LOAD)
    extract_teacher_states(model, tokenizer, train, pd.Series(["<think>\nx\n</think>"] * 16), tmp_path / "s", None, 8, 100)
    start = {"path": str(root / "grpo"), **LOAD, "lora": LoraDefaults()}
    args = {"max_steps": 3, "per_device_train_batch_size": 8, "learning_rate": 1e-2}
    losses = [
        train_student(start, train, valid, tmp_path / "s", AlignSettings(kd_ratio=kd), StageSettings(args=args, eval_steps=3), tmp_path / f"kd{kd}")["train_loss"]
        for kd in (0.0, 0.5)
    ]
    assert losses[0] != pytest.approx(losses[1])


def test_lora_false_trains_every_weight_and_lora_only_its_targets(chain, tmp_path):
    from safetensors.torch import load_file

    root, train, valid = chain["root"], chain["train"], chain["valid"]
    model, tokenizer = load_causal_lm(str(root / "grpo"), **LOAD)
    extract_teacher_states(model, tokenizer, train, pd.Series(["<think>\nx\n</think>"] * 16), tmp_path / "s", None, 8, 100)
    start = {"path": str(root / "grpo"), **LOAD, "lora": LoraDefaults(target_modules=("k_proj", "v_proj"))}
    args = {"max_steps": 2, "per_device_train_batch_size": 8, "learning_rate": 1e-2}
    before = load_file(root / "grpo" / "model.safetensors")
    changed = {}
    for lora in (False, True):
        out = tmp_path / f"lora_{lora}"
        train_student(start, train, valid, tmp_path / "s", AlignSettings(kd_ratio=0.0, lora=lora), StageSettings(args=args, eval_steps=2), out)
        after = load_file(out / "model.safetensors")
        changed[lora] = {k for k in before if not torch.equal(before[k], after[k])}
    mlp = "model.layers.0.mlp.down_proj.weight"
    assert mlp in changed[False] and mlp not in changed[True]
    assert changed[True] and all(("k_proj" in k or "v_proj" in k) for k in changed[True])


def test_alignment_runs_as_two_ddp_processes_under_accelerate(chain, tmp_path):
    root, train, valid = chain["root"], chain["train"], chain["valid"]
    model, tokenizer = load_causal_lm(str(root / "grpo"), **LOAD)
    extract_teacher_states(model, tokenizer, train, pd.Series(["<think>\nx\n</think>"] * 16), tmp_path / "s", [2], 8, 100)
    train.to_parquet(tmp_path / "train.parquet")
    valid.to_parquet(tmp_path / "val.parquet")
    spec = {
        "train": str(tmp_path / "train.parquet"),
        "valid": str(tmp_path / "val.parquet"),
        "teacher_states": str(tmp_path / "s"),
        "out_dir": str(tmp_path / "student"),
        "report": str(tmp_path / "report.json"),
        "start": {"path": str(root / "grpo"), **LOAD, "lora": {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["k_proj", "v_proj"]}},
        "settings": {
            "kd_ratio": 0.5, "loss": "cosine", "training_ratio": 1.0, "seed": 0, "eval_steps": 2,
            "args": {"num_train_epochs": 2, "per_device_train_batch_size": 4, "learning_rate": 1e-3},
        },
    }
    accelerate = Path(sys.executable).parent / "accelerate"
    cmd = [str(accelerate), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no",
           "-m", "recforge.train.cli", "recforge.methods.isir.entry:align", "--spec", json.dumps(spec)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = read_json(tmp_path / "report.json")
    # 16 samples, 2 processes x batch 4 -> 2 optimiser steps per epoch.
    assert report["world_size"] == 2 and report["steps"] == 4
    assert (tmp_path / "student" / "model.safetensors").exists()


def test_sft_stops_before_training_when_a_limit_would_cut_its_traces(chain, tmp_path):
    base = {"path": str(chain["root"] / "sft"), **LOAD}
    traces = pd.DataFrame({"sample_id": chain["train"]["sample_id"], "prediction": chain["train"]["label"],
                           "text": ["<think>\n" + "many words " * 40 + "\n</think>\n<answer>3</answer>"] * 16})
    with pytest.raises(ValueError, match="`methods.isir.teacher.max_new_tokens` is 16"):
        cold_start_sft(base, chain["train"], chain["train"], traces, StageSettings(args={}), tmp_path / "sft",
                       limits={"methods.isir.teacher.max_new_tokens": 16})
    assert not (tmp_path / "sft").exists()
