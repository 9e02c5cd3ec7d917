"""Valid HR/NDCG@10 of a saved RecLM-uni SFT model on the seeded valid subset that `rank_eval` ranks
(`--rows` users, seed 0), beside popularity on the same users (test is never read). Ranks the model
as its SFT selection does (recforge.methods.reclm.sft.valid_ranker), so a model trained with the
default 100 valid users can be compared on 1,000 with one trained under a larger `rank_eval`.
`--item-beams B` instead beam-searches the first answer slot over whole items (B beams, SID mode;
reclm_token only): a check that a user-independent list is the model's, not greedy decoding's.

    python benchmarks/reclm_valid_rank.py --results results/Movies --variant ret --rows 1000
"""

from __future__ import annotations

import argparse

import pandas as pd
import torch

from recforge.methods import popularity
from recforge.methods.reclm.config import RankEvalConfig, SampleConfig
from recforge.methods.reclm.entry import load_for_prediction
from recforge.methods.reclm.samples import read_chat
from recforge.methods.reclm.sft import prompts_of, ranking, subsample, valid_ranker
from recforge.models.tokens import ITEM_END, ITEM_START


def item_beam_lists(model, decoder, rows: pd.DataFrame, item_text, chat, beams: int) -> list[list[str]]:
    from recforge.decode import constrained_generate

    prompts = [p + f"1. {ITEM_START}" for p in prompts_of(decoder.tokenizer, rows, item_text, chat)]
    found = constrained_generate(model, decoder.tokenizer, prompts, decoder.trie, k=beams, num_beams=beams,
                                 batch_size=16, mode="sid", item_start=ITEM_START, item_end=ITEM_END,
                                 renormalize=True)
    return [[i for i in items if i not in set(map(str, seen))][:10] for items, seen in zip(found, rows["excluded"])]


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
    samples = pd.read_parquet(f"{root}/reclm/samples.parquet")
    rows = subsample(samples[samples["split"] == "valid"], args.rows, RankEvalConfig().seed)
    chat = read_chat(args.chat)
    if args.item_beams:
        lists = item_beam_lists(model, decoder, rows, item_text, chat, args.item_beams)
        scores = {**ranking(lists, rows["target"].tolist(), 10), "distinct_items": len({i for x in lists for i in x})}
    else:
        scores = valid_ranker(decoder, rows, item_text, chat, SampleConfig(), RankEvalConfig(valid_samples=args.rows))(model)
    interactions = pd.read_parquet(f"{root}/data/interactions.parquet")
    splits = pd.read_parquet(f"{root}/data/splits.parquet")
    popular = popularity.predict(interactions, splits, k=10, splits=("valid",)).set_index("sample_id")
    baseline = ranking([list(popular.loc[s, "items"]) for s in rows["sample_id"]], rows["target"].tolist(), 10)
    print(f"reclm_{args.variant} on {len(rows)} valid users: {scores}")
    print(f"popularity on the same users: {baseline}")


if __name__ == "__main__":
    main()
