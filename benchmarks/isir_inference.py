"""Answer-only student versus chain-of-thought teacher: predictions per second on the same test rows,
back to back on one machine (the rules time each method in its own job, possibly under other load).

    python benchmarks/isir_inference.py --results results/Movies --rows 500 --threads 2

Reads the trained models of a finished isir run (student_align/model, grpo/model) and
isir/verl/test.parquet; prints one JSON object. The option defaults are those of the default config
(`methods.isir.predict`: batch 64, 128 CoT tokens; the tiny model's float32 + sdpa).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
import torch

from recforge.methods.isir import predict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=Path("results/Movies"))
    parser.add_argument("--rows", type=int, default=500, help="first N rows of the test split")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--cot-max-new-tokens", type=int, default=128)
    parser.add_argument("--dtype", default="float32")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    isir = args.results / "isir"
    rows = pd.read_parquet(isir / "verl/test.parquet").head(args.rows)
    load = {"dtype": args.dtype, "attn_implementation": "sdpa", "device": "auto"}
    report = {"rows": len(rows), "threads": args.threads, "torch": torch.__version__}

    student, tokenizer = predict.load_for_inference(str(isir / "student_align/model"), load)
    gen = predict.answer_only_generate(student, tokenizer, rows, args.batch_size)
    report["answer_only"] = predict.efficiency(gen, predict.answer_only_ratings(gen.texts))
    del student

    teacher, tokenizer = predict.load_for_inference(str(isir / "grpo/model"), load)
    gen = predict.cot_generate(teacher, tokenizer, rows, args.cot_max_new_tokens, args.batch_size)
    report["cot"] = predict.efficiency(gen, predict.cot_ratings(gen.texts))
    report["speedup"] = round(report["answer_only"]["predictions_per_s"] / report["cot"]["predictions_per_s"], 2)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
