"""ReasoningRec inference cost on a few test prompts of a finished `reasoningrec_prompts` step: the
prediction-slot readout (one forward pass, nothing generated) next to generating the answer and its
reasoning greedily, back to back in one process with the same model.

    python benchmarks/reasoningrec_cost.py --results results/BeautyRR --model results/models/smollm2-135m-instruct \\
        --rows 8 --generate-rows 2 --max-new-tokens 96 --threads 2

The answer-first format makes the reasoning optional at inference, so the ratio of the two rates is
what reading the slot saves. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd
import torch

from recforge.methods.reasoningrec.predict import generate_reasoning, load
from recforge.methods.reasoningrec.prompts import slot_prompt
from recforge.methods.reasoningrec.readout import slot_probabilities


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=Path("results/BeautyRR"))
    parser.add_argument("--model", default="results/models/smollm2-135m-instruct")
    parser.add_argument("--rows", type=int, default=8, help="first N test prompts for the slot readout")
    parser.add_argument("--generate-rows", type=int, default=2, help="first N of them also generated")
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    prompts = pd.read_parquet(args.results / "reasoningrec" / "prompts.parquet")
    rows = prompts[prompts["split"] == "test"].head(args.rows)
    model, tokenizer = load(args.model, "float32", "sdpa")
    texts = [slot_prompt(tokenizer, r) for r in rows.itertuples()]
    tokens = [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]

    started = time.perf_counter()
    slot_probabilities(model, tokenizer, texts, args.batch_size)
    seconds = time.perf_counter() - started
    slot = {"n": len(texts), "seconds": round(seconds, 2), "predictions_per_s": round(len(texts) / seconds, 4),
            "mean_prompt_tokens": round(sum(tokens) / len(tokens), 1), "generated_tokens": 0}
    generated, _ = generate_reasoning(model, tokenizer, texts[: args.generate_rows], args.max_new_tokens)
    print(json.dumps({"model": args.model, "threads": args.threads, "slot": slot, "with_reasoning": generated}))


if __name__ == "__main__":
    main()
