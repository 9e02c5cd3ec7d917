"""Reference rankings on the valid rows RecLM's `rank_eval` ranks (`--rows` users, its seeded subset;
test is never read): popularity, popularity counted over each user's last N train events only (the
recent marginal the valid targets follow), and the saved valid lists of other methods (e.g. SASRec).
HR/NDCG@10 with each sample's history excluded, as every top-K method is scored.

    python benchmarks/valid_references.py --results results/Movies --rows 2629 --recent 1 3 --methods sasrec
"""

from __future__ import annotations

import argparse
from collections import Counter

import pandas as pd

from recforge.methods import popularity
from recforge.methods._common import train_events
from recforge.methods.reclm.config import RankEvalConfig
from recforge.methods.reclm.sft import ranking, subsample


def recent_counts(interactions: pd.DataFrame, last: int) -> list[str]:
    """Items by their number of events among each user's `last` train events, most first (ties by id)."""
    events = train_events(interactions).sort_values(["user_id", "position"]).groupby("user_id").tail(last)
    counts = Counter(events["item_id"].astype(str))
    return sorted(counts, key=lambda item: (-counts[item], item))


def top_lists(ranked: list[str], excluded: pd.Series, k: int = 10) -> list[list[str]]:
    lists = []
    for seen in excluded:
        seen = set(map(str, seen))
        lists.append([item for item in ranked if item not in seen][:k])  # ranked is short enough
    return lists


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", required=True, help="results/{dataset}")
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--recent", type=int, nargs="*", default=[1, 3])
    parser.add_argument("--methods", nargs="*", default=[], help="methods whose predictions/*.parquet hold valid lists")
    args = parser.parse_args()
    root = args.results
    samples = pd.read_parquet(f"{root}/reclm/samples.parquet")
    rows = subsample(samples[samples["split"] == "valid"], args.rows, RankEvalConfig().seed)
    targets = rows["target"].tolist()
    interactions = pd.read_parquet(f"{root}/data/interactions.parquet")
    ranked = [str(i) for i in popularity.item_counts(interactions).index]
    print(f"{len(rows)} valid users")
    print("popularity:", ranking(top_lists(ranked, rows["excluded"]), targets, 10))
    for last in args.recent:
        print(f"popularity over each user's last {last} train events:",
              ranking(top_lists(recent_counts(interactions, last), rows["excluded"]), targets, 10))
    for method in args.methods:
        saved = pd.read_parquet(f"{root}/predictions/{method}.parquet").set_index("sample_id")
        print(f"{method}:", ranking([list(map(str, saved.loc[s, "items"]))[:10] for s in rows["sample_id"]], targets, 10))


if __name__ == "__main__":
    main()
