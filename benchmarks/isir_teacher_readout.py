"""How a reasoning model rates: its greedy answers and its distribution at the "<answer>" after its own
thinking (predict.cot_distribution), on a seeded subset of valid rows (test is never read). The evidence
behind the heuristic traces without a verdict (docs/benchmarks.md, Seed 000).

    python benchmarks/isir_teacher_readout.py --results results/Movies --model results/Movies/isir/grpo/model
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import torch

from recforge.methods.isir.predict import (cot_distribution, cot_generate, cot_ratings, load_for_inference,
                                           read_ratings, rating_values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = pd.read_parquet(f"{args.results}/isir/verl/val.parquet").sample(args.rows, random_state=0)
    load = {"dtype": "float32", "attn_implementation": "sdpa", "device": "cpu"}
    model, tokenizer = load_for_inference(args.model, load)
    gen = cot_generate(model, tokenizer, rows, args.max_new_tokens, 32)
    print("greedy answers:", pd.Series(cot_ratings(gen.texts)).value_counts().to_dict())
    values = rating_values(rows)
    dist, _ = cot_distribution(model, tokenizer, rows, gen, values, 32)
    labels = rows["label"].to_numpy(dtype=np.float64)
    print("mean distribution:", {f"{v:g}": round(float(p), 3) for v, p in zip(values, dist.mean(axis=0))})
    for kind in ("argmax", "expected", "median", "blend:0.5"):
        pred = read_ratings(dist, values, kind)
        print(f"{kind}: MAE {np.abs(pred - labels).mean():.4f} RMSE {np.sqrt(((pred - labels) ** 2).mean()):.4f} "
              f"spread {pred.std():.3f}")
    print(f"constant 5: MAE {np.abs(5 - labels).mean():.4f} RMSE {np.sqrt(((5 - labels) ** 2).mean()):.4f}")


if __name__ == "__main__":
    main()
