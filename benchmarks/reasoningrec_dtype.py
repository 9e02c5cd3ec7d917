"""ReasoningRec's P(Yes) read in float32 against bfloat16 (`methods.reasoningrec.predict.dtype`).

    # speed and agreement on the first N test prompts of a finished `reasoningrec_prompts` step
    python benchmarks/reasoningrec_dtype.py speed --results results/BeautyRR \\
        --model results/models/smollm2-135m-instruct --rows 60 --threads 2
    # agreement and test AUC of two predictions files of one method (e.g. a float32 run and a bfloat16 run)
    python benchmarks/reasoningrec_dtype.py compare --results results/BeautyRR A.parquet B.parquet

`compare` reads each file's raw readout (`p_yes` when present, else `probability`). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from recforge.eval.metrics import auc


def agreement(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    return {"max_abs_difference": round(float(np.abs(a - b).max()), 4),
            "spearman": round(float(spearmanr(a, b).correlation), 4)}


def speed(args: argparse.Namespace) -> dict:
    import torch

    from recforge.methods.reasoningrec.predict import load
    from recforge.methods.reasoningrec.prompts import slot_prompt
    from recforge.methods.reasoningrec.readout import slot_probabilities

    torch.set_num_threads(args.threads)
    prompts = pd.read_parquet(args.results / "reasoningrec" / "prompts.parquet")
    rows = prompts[prompts["split"] == "test"].head(args.rows)
    out, read = {"rows": len(rows), "threads": args.threads}, {}
    for dtype in ("float32", "bfloat16"):
        model, tokenizer = load(args.model, dtype, "sdpa")
        texts = [slot_prompt(tokenizer, r) for r in rows.itertuples()]
        started = time.perf_counter()
        read[dtype] = slot_probabilities(model, tokenizer, texts, args.batch_size)
        out[f"{dtype}_s_per_prompt"] = round((time.perf_counter() - started) / len(texts), 4)
    return {**out, **agreement(read["float32"], read["bfloat16"])}


def compare(args: argparse.Namespace) -> dict:
    windows = pd.read_parquet(args.results / "reasoningrec" / "windows.parquet")
    labels = dict(zip(windows["sample_id"].astype(str), windows["label"]))
    frames = []
    for path in (args.a, args.b):
        frame = pd.read_parquet(path)
        frame = frame[frame["split"] == "test"].assign(sample_id=lambda f: f["sample_id"].astype(str))
        frames.append(frame.set_index("sample_id")["p_yes" if "p_yes" in frame else "probability"])
    a, b = frames[0].align(frames[1], join="inner")
    y = np.array([labels[s] for s in a.index])
    return {"rows": len(a), "test_auc_a": round(auc(y, a.to_numpy()), 4), "test_auc_b": round(auc(y, b.to_numpy()), 4),
            **agreement(a.to_numpy(), b.to_numpy())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=("speed", "compare"))
    parser.add_argument("a", nargs="?", type=Path)
    parser.add_argument("b", nargs="?", type=Path)
    parser.add_argument("--results", type=Path, default=Path("results/BeautyRR"))
    parser.add_argument("--model", default="results/models/smollm2-135m-instruct")
    parser.add_argument("--rows", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_intermixed_args()  # files may follow the options
    if args.mode == "compare" and not (args.a and args.b):
        parser.error("compare needs two predictions files")
    print(json.dumps(speed(args) if args.mode == "speed" else compare(args), indent=1))


if __name__ == "__main__":
    main()
