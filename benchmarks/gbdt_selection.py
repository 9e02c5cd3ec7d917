"""The evidence behind methods.gbdt's defaults: valid MAE/RMSE of each objective, trained on all train
samples or on each user's last N, on a dataset the pipeline prepared. Valid only: test is never read.

    python benchmarks/gbdt_selection.py --results results/Movies --threads 1
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
import pandas as pd

from recforge.methods.gbdt import GBDTSettings, fit_predict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", required=True, help="results/<dataset> with data/{interactions,splits}.parquet")
    parser.add_argument("--objectives", default="l2,l1,huber")
    parser.add_argument("--last", default="none,5", help="last_train_per_user values ('none' = all)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    interactions = pd.read_parquet(f"{args.results}/data/interactions.parquet")
    samples = pd.read_parquet(f"{args.results}/data/splits.parquet")
    print("| objective | last_train_per_user | trees | valid MAE | valid RMSE | MAE + RMSE | s |")
    print("|---|---|---|---|---|---|---|")
    lasts = [None if v == "none" else int(v) for v in args.last.split(",")]
    for objective, last in itertools.product(args.objectives.split(","), lasts):
        started = time.perf_counter()
        settings = GBDTSettings(objective=objective, last_train_per_user=last)
        out, report = fit_predict(interactions, samples, settings, threads=args.threads, splits=("valid",))
        joined = out.merge(samples[["sample_id", "rating"]], on="sample_id")
        error = joined["prediction"] - joined["rating"]
        mae, rmse = float(error.abs().mean()), float(np.sqrt((error**2).mean()))
        print(f"| {objective} | {last or 'all'} | {report['best_iteration']} | {mae:.4f} | {rmse:.4f} | "
              f"{mae + rmse:.4f} | {time.perf_counter() - started:.0f} |", flush=True)


if __name__ == "__main__":
    main()
