"""Can a student learn the rating from the answer-only isir prompt? The evidence behind
methods.isir.align's `lora: false`: train one student with the LM loss only (no teacher) on each user's
last N train samples of the pipeline's verl tables, then print the valid MAE/RMSE of every readout (a
seeded valid subset; test is never read).

    python benchmarks/isir_student.py --results results/Movies --start results/Movies/models/tiny
    python benchmarks/isir_student.py --results results/Movies --start results/Movies/models/tiny --lora 8
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd
import torch

from recforge.methods.isir.align import AlignCollator, encode, make_trainer_class
from recforge.methods.isir.chat import load_for_training
from recforge.methods.isir.predict import choose_readout, rating_distribution, rating_values
from recforge.methods.isir.verl import steps_from_end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", required=True, help="results/<dataset> with isir/verl/{train,val}.parquet")
    parser.add_argument("--start", required=True, help="the model the student starts from")
    parser.add_argument("--per-user", type=int, default=3, help="each user's last N train samples")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--lora", type=int, default=0, help="LoRA rank on q/k/v/o (0: every weight trains)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--valid", type=int, default=1000, help="valid rows scored (a seeded subset)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="/tmp/isir_student_benchmark")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    train = pd.read_parquet(f"{args.results}/isir/verl/train.parquet")
    train["position"] = train["sample_id"].str.rsplit(":", n=1).str[1].astype(int)
    train = train.sort_values(["user_id", "position"])  # a fixed order before the seeded shuffle
    train = train[steps_from_end(train["sample_id"]) < args.per_user].sample(frac=1.0, random_state=0)
    valid = pd.read_parquet(f"{args.results}/isir/verl/val.parquet")
    valid = valid.sample(n=min(args.valid, len(valid)), random_state=0)

    from transformers import TrainingArguments

    model, tokenizer = load_for_training(args.start, "float32", "sdpa")
    if args.lora:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(r=args.lora, lora_alpha=2 * args.lora, task_type="CAUSAL_LM",
                                                 target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]))
    config = TrainingArguments(args.out, num_train_epochs=args.epochs, per_device_train_batch_size=args.batch_size,
                               learning_rate=args.lr, lr_scheduler_type="cosine", warmup_steps=20, weight_decay=0.05,
                               logging_steps=50, save_strategy="no", report_to=[], remove_unused_columns=False,
                               seed=0, use_cpu=True)
    # The student trainer with kd_ratio 0 is the plain LM loss on the rating completion.
    trainer = make_trainer_class()(model=model, args=config, train_dataset=[encode(tokenizer, r) for r in train.itertuples()],
                                   data_collator=AlignCollator(tokenizer.pad_token_id, set()), kd_ratio=0.0,
                                   loss_kind="cosine", layers=[])
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    model.eval()
    values = rating_values(train)
    dist, _ = rating_distribution(model, tokenizer, valid, values, 32)
    best, scores = choose_readout(dist, valid["label"].to_numpy(dtype=np.float64), values)
    print(json.dumps({
        "args": vars(args), "train_rows": len(train), "train_s": round(seconds), "best_readout": best,
        "valid_scores": {k: {m: round(v, 4) for m, v in s.items()} for k, s in scores.items()},
        "mean_distribution": dist.mean(axis=0).round(3).tolist(),
        "std_of_expected": round(float((dist @ np.asarray(values)).std()), 4),
    }))


if __name__ == "__main__":
    main()
