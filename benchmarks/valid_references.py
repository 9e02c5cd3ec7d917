"""Reference rankings on the valid rows RecLM's `rank_eval` ranks (`--rows` users, its seeded subset;
test is never read): popularity, popularity counted over each user's last N train events only (the
recent marginal the valid targets follow), popularity counted over the SFT labels of reclm's train
samples (the marginal a model that ignores the history would learn from them: all label items, and
the targets alone), and the saved valid lists of other methods (e.g. SASRec). HR/NDCG@10 with each
sample's history excluded, as every top-K method is scored.

    python benchmarks/valid_references.py --results results/Movies --rows 2629 --recent 1 3 --methods sasrec
"""

from __future__ import annotations

import argparse

import pandas as pd

from recforge.methods import popularity
from recforge.methods._common import train_events
from recforge.methods.reclm.config import RankEvalConfig
from recforge.methods.reclm.sft import ranking, subsample


def recent_counts(interactions: pd.DataFrame, last: int) -> pd.Series:
    """popularity.item_counts over each user's `last` train events only: most first, ties by item_id."""
    events = train_events(interactions).sort_values(["user_id", "position"]).groupby("user_id").tail(last)
    return popularity.item_counts(events)


def label_counts(samples: pd.DataFrame, column: str) -> pd.Series:
    """popularity.item_counts over the items of the train samples' `column` (outputs: every label
    item; target: the first only), each counted once per sample it labels."""
    train = samples[samples["split"] == "train"]
    items = train[column].explode() if column == "outputs" else train[column]
    return popularity.item_counts(pd.DataFrame({"user_id": "", "item_id": items.astype(str).to_numpy(),
                                                "position": 0, "split": "train"}))


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
    excluded = [list(seen) for seen in rows["excluded"]]
    print(f"{len(rows)} valid users")
    print("popularity:", ranking(popularity.recommend(popularity.item_counts(interactions), excluded, 10), targets, 10))
    for last in args.recent:
        lists = popularity.recommend(recent_counts(interactions, last), excluded, 10)
        print(f"popularity over each user's last {last} train events:", ranking(lists, targets, 10))
    for column in ("outputs", "target"):
        lists = popularity.recommend(label_counts(samples, column), excluded, 10)
        print(f"popularity over the train samples' {column}:", ranking(lists, targets, 10))
    for method in args.methods:
        saved = pd.read_parquet(f"{root}/predictions/{method}.parquet").set_index("sample_id")
        lists = [list(saved.loc[s, "items"])[:10] for s in rows["sample_id"]]
        print(f"{method}:", ranking(lists, targets, 10))


if __name__ == "__main__":
    main()
