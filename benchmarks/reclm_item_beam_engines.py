"""Time recforge.decode's two engines on RecLM-cgen's first-slot item beams (titles of several lengths).

    .venv/bin/python benchmarks/reclm_item_beam_engines.py --results results/Movies --weights token --rows 16

The prompts are `--rows` seeded valid prompts as cgen's valid ranking writes them (titles in the history),
ranked as `predict.item_beams` ranks them (Decoder.first_slot: the top items after `1. <SOI>` over the
catalogue's title trie, history not excluded here); `--weights` names the variant whose
saved SFT model scores them (speed depends on the shapes, not on what the weights learnt). Each engine
runs `--repeats` rounds, interleaved, and its best round is kept. A benchmark: nothing is asserted;
the lists are compared (with items of several lengths the engines may differ, recforge.decode.sid_search).
"""

from __future__ import annotations

import argparse
import json
import time

import pandas as pd
import torch

from recforge.methods.reclm.entry import load_for_prediction
from recforge.methods.reclm.samples import read_chat
from recforge.methods.reclm.sft import prompts_of, subsample

ENGINES = ("transformers", "shared_prefill")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results", default="results/Movies")
    p.add_argument("--weights", default="token", choices=["cgen", "token", "ret"])
    p.add_argument("--rows", type=int, default=16)
    p.add_argument("--num-beams", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--chat", default="resources/chat/general_chat.jsonl")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    root = args.results
    model, decoder, item_text = load_for_prediction(
        "cgen", f"{root}/reclm/{args.weights}/model",
        {"metas": f"{root}/reclm/data/metas.jsonl", "sids": f"{root}/sid/sids.parquet"})
    model.eval()
    samples = pd.read_parquet(f"{root}/reclm/samples.parquet")
    rows = subsample(samples[samples["split"] == "valid"], args.rows, 0)
    prompts = prompts_of(decoder.tokenizer, rows, item_text, read_chat(args.chat))
    lengths = [len(decoder.tokenizer(t, add_special_tokens=False)["input_ids"]) for t in prompts]
    best: dict[str, float] = {}
    ranked: dict[str, list] = {}
    for _ in range(args.repeats):
        for engine in ENGINES:
            start = time.perf_counter()
            ranked[engine] = decoder.first_slot(model, prompts, [[]] * len(prompts), k=args.num_beams,
                                                beams=args.num_beams, batch_size=args.batch_size, engine=engine)
            best[engine] = min(best.get(engine, float("inf")), time.perf_counter() - start)
    print(json.dumps({
        "prompts": len(prompts), "mean_prompt_tokens": sum(lengths) / len(lengths), "trie": repr(decoder.trie),
        "num_beams": args.num_beams, "threads": args.threads, "seconds": best,
        "prompts_per_s": {e: len(prompts) / s for e, s in best.items()},
        "speedup": best["transformers"] / best["shared_prefill"],
        "identical_lists": sum(a == b for a, b in zip(*ranked.values())),
    }, indent=2))


if __name__ == "__main__":
    main()
