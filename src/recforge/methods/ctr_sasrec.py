"""SASRec-score CTR baseline on the reasoningrec windows: the log-probability SASRec gives each window's
target item after the user's events before it, mapped to P(like) by a one-feature logistic regression
(Platt scaling) fitted on the valid windows.

It asks whether "the user would pick this item next" tells likes from dislikes. The map is monotone, so
AUC depends on SASRec's score alone; the fit only calibrates it for log-loss. Valid windows are scored
by the model selected on valid, which never trained on their targets, and test windows by its
train+valid refit (as sasrec's own test predictions), which never trained on theirs. The train windows'
targets were SASRec's training targets (BeautyRR: mean log-probability -0.9 against -3.3 on valid), so
a calibration fitted on them is far off on held-out windows. The valid log-loss is therefore in-sample;
valid AUC is not affected. Items are not excluded from their own history (a re-rated item is a valid
target)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recforge.data.sequences import histories
from recforge.methods.platt import platt
from recforge.methods.sasrec import SASRec, target_log_probs


@dataclass(frozen=True)
class CtrSASRecSettings:
    c: float = 1.0  # inverse L2 strength of the calibration
    splits: tuple[str, ...] = ("valid", "test")


def target_scores(model: SASRec, interactions: pd.DataFrame, windows: pd.DataFrame) -> np.ndarray:
    """log P(target | the user's events before it) under the model for the window's split."""
    hist = histories(interactions, windows)
    scores = np.full(len(windows), np.nan)
    split = windows["split"].to_numpy()
    for name in pd.unique(split):
        rows = np.flatnonzero(split == name)
        scores[rows] = target_log_probs(model.for_split(name), [hist.iloc[r] for r in rows],
                                        windows["item_id"].to_numpy()[rows])
    return scores


def predict(model: SASRec, interactions: pd.DataFrame, windows: pd.DataFrame,
            settings: CtrSASRecSettings) -> pd.DataFrame:
    score = target_scores(model, interactions, windows)
    score = np.where(np.isfinite(score), score, np.nanmin(score))  # an unknown item: the least likely
    probability, _ = platt(score, windows["label"].to_numpy(), (windows["split"] == "valid").to_numpy(), settings.c)
    keep = windows["split"].isin(list(settings.splits)).to_numpy()
    return pd.DataFrame({"sample_id": windows["sample_id"][keep].astype(str).to_numpy(),
                         "split": windows["split"][keep].astype(str).to_numpy(),
                         "probability": probability[keep]})
