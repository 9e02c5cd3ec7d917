"""Valid HR/NDCG@10 of a saved RecLM-uni SFT model on the seeded valid subset that `rank_eval` ranks
(`--rows` users, seed 0), beside popularity on the same users (test is never read). Ranks the model
as its SFT selection does (recforge.methods.reclm.sft.valid_ranker), so a model trained with the
default 100 valid users can be compared on 1,000 with one trained under a larger `rank_eval`.
`--item-beams B` ranks as `rank_eval.item_beams` B does (the first answer slot's top items); the
valid rows and prompts come from the variant's own sample table when it has one.

    python benchmarks/reclm_valid_rank.py --results results/Movies --variant ret --rows 1000
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import torch

from recforge.methods import popularity
from recforge.methods.reclm.config import RankEvalConfig, SampleConfig
from recforge.methods.reclm.entry import load_for_prediction
from recforge.methods.reclm.samples import read_chat
from recforge.methods.reclm.sft import ranking, subsample, valid_ranker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", required=True, help="results/{dataset}")
    parser.add_argument("--variant", required=True, choices=["cgen", "token", "ret"])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--item-beams", type=int, default=0)
    parser.add_argument("--chat", default="resources/chat/general_chat.jsonl")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    root = args.results
    model, decoder, item_text = load_for_prediction(
        args.variant, f"{root}/reclm/{args.variant}/model",
        {"metas": f"{root}/reclm/data/metas.jsonl", "sids": f"{root}/sid/sids.parquet"})
    model.eval()
    own = Path(f"{root}/reclm/{args.variant}/samples.parquet")
    samples = pd.read_parquet(own if own.exists() else f"{root}/reclm/samples.parquet")
    rows = subsample(samples[samples["split"] == "valid"], args.rows, RankEvalConfig().seed)
    rank = RankEvalConfig(valid_samples=args.rows, item_beams=args.item_beams, batch_size=16 if args.item_beams else 100)
    scores = valid_ranker(decoder, rows, item_text, read_chat(args.chat), SampleConfig(), rank)(model)
    interactions = pd.read_parquet(f"{root}/data/interactions.parquet")
    splits = pd.read_parquet(f"{root}/data/splits.parquet")
    popular = popularity.predict(interactions, splits, k=10, splits=("valid",)).set_index("sample_id")
    baseline = ranking([list(popular.loc[s, "items"]) for s in rows["sample_id"]], rows["target"].tolist(), 10)
    print(f"reclm_{args.variant} on {len(rows)} valid users: {scores}")
    print(f"popularity on the same users: {baseline}")


if __name__ == "__main__":
    main()
