"""Which of `ctr_logreg`'s features carries its AUC: the same logistic regression (fitted on the train
windows, as the method is) on every feature, on the user's two (history like rate, liked history items:
both visible to the LLM as the Liked/Disliked words of its prompt) and on the item's like rate alone.

    python benchmarks/ctr_feature_ablation.py --results results/BeautyRR

Needs a finished `reasoningrec_windows` step and the prepared dataset. A diagnostic of the baseline
next to the LLM rows, not a selection: nothing is chosen from it. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from recforge.eval.metrics import auc
from recforge.methods.ctr_logreg import CtrLogRegSettings, features

SUBSETS = {"all": [0, 1, 2], "user (in the prompt)": [0, 2], "item like rate": [1]}


def ablation(windows: pd.DataFrame, interactions: pd.DataFrame, like_threshold: float) -> dict:
    from sklearn.linear_model import LogisticRegression

    settings = CtrLogRegSettings()
    x = features(windows, interactions, like_threshold, settings.prior)
    y, split = windows["label"].to_numpy(), windows["split"].to_numpy()
    out = {}
    for name, cols in SUBSETS.items():
        model = LogisticRegression(C=settings.c, max_iter=1000).fit(x[split == "train"][:, cols], y[split == "train"])
        out[name] = {s: round(float(auc(y[split == s], model.predict_proba(x[split == s][:, cols])[:, 1])), 4)
                     for s in ("valid", "test")}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, required=True, help="results/<dataset>")
    parser.add_argument("--like-threshold", type=float, default=4.0)
    args = parser.parse_args()
    windows = pd.read_parquet(args.results / "reasoningrec" / "windows.parquet")
    interactions = pd.read_parquet(args.results / "data" / "interactions.parquet")
    print(json.dumps(ablation(windows, interactions, args.like_threshold), indent=1))


if __name__ == "__main__":
    np.seterr(all="raise")
    main()
