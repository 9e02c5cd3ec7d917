"""Does the frozen chat model's state at the prediction slot hold the like signal? A linear probe:
the last layer's hidden state after "Prediction:" for each window, a logistic regression fitted on the
train windows, AUC on valid and test. High probe AUC with a low fine-tune AUC points at the fine-tune
budget (K, LoRA); a low probe AUC at the model.

    python benchmarks/reasoningrec_probe.py --results results/Movies \\
        --model results/models/smollm2-135m-instruct --dtype bfloat16 --threads 2

Needs a finished `reasoningrec_prompts` step. A diagnostic, not a method: nothing is selected from it.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from recforge.eval.metrics import auc
from recforge.methods.reasoningrec.readout import length_sorted_batches


def slot_states(model, tokenizer, prompts: list[str], batch_size: int) -> np.ndarray:
    """(n, hidden) last-layer state at the last prompt position (the P(Yes) readout's batching)."""
    import torch

    out = np.zeros((len(prompts), model.config.hidden_size), dtype="float32")
    with torch.no_grad():
        for idx, batch in length_sorted_batches(model, tokenizer, prompts, batch_size, "states"):
            out[idx] = model.model(**batch).last_hidden_state[:, -1, :].float().cpu().numpy()
    return out


def main() -> None:
    import torch
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from recforge.methods.reasoningrec.predict import load
    from recforge.methods.reasoningrec.prompts import slot_prompt

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, required=True, help="results/<dataset>")
    parser.add_argument("--model", required=True)
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--c", type=float, default=0.1, help="inverse L2 strength of the probe")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, tokenizer = load(args.model, args.dtype, "sdpa")
    prompts = pd.read_parquet(args.results / "reasoningrec" / "prompts.parquet")
    started = time.perf_counter()
    states = {s: slot_states(model, tokenizer, [slot_prompt(tokenizer, r) for r in rows.itertuples()],
                             args.batch_size)
              for s, rows in prompts.groupby("split")}
    labels = {s: rows["label"].to_numpy() for s, rows in prompts.groupby("split")}
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=args.c, max_iter=2000))
    probe.fit(states["train"], labels["train"])
    report = {s: {"n": int(len(labels[s])), "AUC": round(float(auc(labels[s], probe.predict_proba(states[s])[:, 1])), 4)}
              for s in ("train", "valid", "test") if s in states}
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["settings"] = {"model": args.model, "dtype": args.dtype, "c": args.c}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
