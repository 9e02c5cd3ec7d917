"""Time recforge.decode's two SID beam-search engines on a trained OneRec-Think model.

    .venv/bin/python benchmarks/sid_beam_engines.py --results results/Beauty --stage stage1 --rows 64

transformers' beam search encodes each prompt num_beams times; the shared-prefill engine once. Both
rank the first `--rows` test prompts of the dataset's sequential task, interleaved for `--repeats`
rounds (the best round of each is kept), and the lists are compared. A benchmark: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd
import torch

from recforge.decode import constrained_generate
from recforge.methods.onerec import prompts as P
from recforge.methods.onerec import stages
from recforge.methods.onerec.predict import SidDecoder
from recforge.methods.onerec.vocab import SidIndex
from recforge.sid import read_sids

ENGINES = ("transformers", "shared_prefill")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results", type=Path, default=Path("results/Beauty"))
    p.add_argument("--stage", default="stage2", help="model directory under results/<dataset>/onerec")
    p.add_argument("--rows", type=int, default=64)
    p.add_argument("--num-beams", type=int, default=20)
    p.add_argument("--k", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    model, tokenizer = stages.load_model(args.results / "onerec" / args.stage)
    model.eval()
    trie = SidDecoder.build(tokenizer, SidIndex.from_sids(read_sids(args.results / "sid" / "sids.parquet"))).trie
    rows = pd.read_parquet(args.results / "onerec" / "tasks" / "sequential.parquet")
    rows = rows[rows["split"] == "test"].head(args.rows)
    prompts = [P.render_prompt(tokenizer, s, u) + P.answer_prefix() for s, u in zip(rows["system"], rows["user"])]
    lengths = [len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in prompts]
    best: dict[str, float] = {}
    ranked: dict[str, list] = {}
    for _ in range(args.repeats):
        for engine in ENGINES:
            start = time.perf_counter()
            ranked[engine] = constrained_generate(model, tokenizer, prompts, trie, k=args.k, num_beams=args.num_beams,
                                                  batch_size=args.batch_size, mode="sid", engine=engine)
            best[engine] = min(best.get(engine, float("inf")), time.perf_counter() - start)
    print(json.dumps({
        "prompts": len(prompts), "mean_prompt_tokens": sum(lengths) / len(lengths), "num_beams": args.num_beams,
        "threads": args.threads, "seconds": best,
        "prompts_per_s": {e: len(prompts) / s for e, s in best.items()},
        "speedup": best["transformers"] / best["shared_prefill"],
        "identical_lists": ranked["transformers"] == ranked["shared_prefill"],
    }, indent=2))


if __name__ == "__main__":
    main()
