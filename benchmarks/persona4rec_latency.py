"""Online cost per user: Persona4Rec's cached scoring versus one LLM re-ranker call on the same
candidate list, back to back in one process (the rules time each job under whatever else runs).

    python benchmarks/persona4rec_latency.py --results results/Magazine --model results/Magazine/models/tiny

Reads a finished Persona4Rec run (persona4rec/candidates.parquet, persona4rec/cache) and the dataset's
items and interactions. Persona side: profile from the cached fp16 event vectors + dot products with
the cached personas + max per item + sort (recforge.methods.persona4rec.rerank). LLM side: the
`rerank_candidates` prompt (the user's last 10 items and the 20 numbered candidates) through a local
causal LM with greedy decoding of exactly --new-tokens tokens (a ranking of 20 numbers is about 60
tokens). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from recforge.data.sequences import histories
from recforge.methods.persona4rec.caches import load_index
from recforge.methods.persona4rec.predict import latency
from recforge.methods.persona4rec.rerank import persona_lists, reranked
from recforge.methods.persona4rec.settings import EncoderSettings
from recforge.models.chat_template import chatml
from recforge.models.loading import load_causal_lm
from recforge.text.contexts import item_info
from recforge.text.render import render


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=Path("results/Magazine"))
    parser.add_argument("--model", required=True, help="local causal LM directory (e.g. the built tiny model)")
    parser.add_argument("--users", type=int, default=50, help="first N test users")
    parser.add_argument("--new-tokens", type=int, default=60)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--domain", default="magazine")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    candidates = pd.read_parquet(args.results / "persona4rec/candidates.parquet")
    candidates = candidates[candidates["split"] == "test"].head(args.users).reset_index(drop=True)
    settings = EncoderSettings()
    index = load_index(args.results / "persona4rec/cache")
    scores, seconds = persona_lists(candidates, index, settings.k_recent, settings.gamma, settings.min_rating)
    start = time.perf_counter()
    reranked(candidates, scores, None)
    sort_s = (time.perf_counter() - start) / max(1, len(candidates))

    items = pd.read_parquet(args.results / "data/items.parquet").set_index("item_id", drop=False)
    interactions = pd.read_parquet(args.results / "data/interactions.parquet")
    past = histories(interactions, candidates, max_len=10)
    model, tokenizer = load_causal_lm(args.model)
    llm_s, prompt_tokens = [], []
    for row, history in zip(candidates.itertuples(index=False), past):
        ctx = {"domain": args.domain, "history": [item_info(items.loc[i]) for i in history],
               "candidates": [item_info(items.loc[i]) for i in row.items]}
        text = chatml(render("rerank_candidates", ctx), add_generation_prompt=True)
        start = time.perf_counter()
        inputs = tokenizer(text, return_tensors="pt")
        with torch.no_grad():
            model.generate(**inputs, max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens, do_sample=False,
                           pad_token_id=tokenizer.pad_token_id)
        llm_s.append(time.perf_counter() - start)
        prompt_tokens.append(int(inputs["input_ids"].shape[1]))
    persona = latency([s + sort_s for s in seconds])
    llm = latency(llm_s)
    print(json.dumps({
        "users": len(candidates), "threads": args.threads, "torch": torch.__version__,
        "persona4rec_ms": persona, "llm_reranker_ms": llm,
        "llm_model": args.model, "llm_parameters": int(sum(p.numel() for p in model.parameters())),
        "llm_prompt_tokens_mean": float(np.mean(prompt_tokens)), "llm_new_tokens": args.new_tokens,
        "speedup_mean": llm["mean_ms"] / persona["mean_ms"],
    }, indent=1))


if __name__ == "__main__":
    main()
