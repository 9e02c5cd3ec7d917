"""Join a method's predictions to splits.parquet by sample_id, refusing anything that would silently skew scores.

Rules (docs/contracts.md): every prediction names a known sample, at most once, with that sample's split;
and for every split a method predicts, it predicts every sample of that split. A missing sample is an
error rather than a skip, because dropping the hard cases is the easiest way to inflate a number.
"""

from __future__ import annotations

import pandas as pd

SPLIT_ORDER = ("train", "valid", "test")
_EXAMPLES = 5  # ids quoted in an error message


def _examples(ids: pd.Series | pd.Index) -> str:
    shown = [str(x) for x in list(ids)[:_EXAMPLES]]
    return ", ".join(shown) + (", ..." if len(ids) > _EXAMPLES else "")


def ordered_splits(splits: pd.Series) -> list[str]:
    """Distinct split names, train/valid/test first in that order, any others after, sorted."""
    present = set(splits.astype(str))
    return [s for s in SPLIT_ORDER if s in present] + sorted(present - set(SPLIT_ORDER))


def join_predictions(
    predictions: pd.DataFrame,
    samples: pd.DataFrame,
    source: str = "predictions",
    columns: list[str] | None = None,
) -> pd.DataFrame:
    """Samples of the predicted splits with their prediction columns, in splits.parquet order.

    The result has the samples' columns (sample_id, user_id, item_id, position, split, rating) plus the
    prediction `columns` (default: every prediction column other than sample_id/split). Raises ValueError,
    naming `source`, on duplicate or unknown sample ids, on a split that disagrees with splits.parquet, or
    on samples missing from a predicted split.
    """
    for frame, name in ((predictions, source), (samples, "samples")):
        missing = {"sample_id", "split"} - set(frame.columns)
        if missing:
            raise ValueError(f"{name}: missing column(s) {sorted(missing)}")
    # Plain object arrays: pandas' arrow-backed str isin is a Python loop, far slower at 10^5 ids.
    pred_ids = pd.Series(predictions["sample_id"].astype(str).to_numpy(dtype=object), index=predictions.index)
    dup = pred_ids[pred_ids.duplicated()]
    if len(dup):
        raise ValueError(f"{source}: {dup.nunique()} duplicate sample_id(s), e.g. {_examples(dup.unique())}")
    sample_ids = pd.Series(samples["sample_id"].astype(str).to_numpy(dtype=object), index=samples.index)
    if sample_ids.duplicated().any():
        raise ValueError("samples: sample_id is not unique")
    unknown = pred_ids[~pred_ids.isin(sample_ids)]
    if len(unknown):
        raise ValueError(f"{source}: {len(unknown)} sample_id(s) not in splits.parquet, e.g. {_examples(unknown)}")

    pred = predictions.assign(sample_id=pred_ids.to_numpy()).set_index("sample_id")
    truth_split = samples.assign(sample_id=sample_ids.to_numpy()).set_index("sample_id")["split"].astype(str)
    claimed = pred["split"].astype(str)
    wrong = claimed.index[claimed.to_numpy() != truth_split.reindex(claimed.index).to_numpy()]
    if len(wrong):
        raise ValueError(
            f"{source}: {len(wrong)} prediction(s) name a split other than their sample's split in "
            f"splits.parquet, e.g. {_examples(wrong)}"
        )

    predicted_splits = ordered_splits(claimed)
    wanted = samples[samples["split"].astype(str).isin(predicted_splits)]
    wanted_ids = sample_ids.loc[wanted.index]
    absent = wanted_ids[~wanted_ids.isin(pred.index)]
    if len(absent):
        per_split = wanted.loc[absent.index, "split"].astype(str).value_counts().to_dict()
        raise ValueError(
            f"{source}: {len(absent)} sample(s) of the predicted split(s) have no prediction "
            f"({per_split}), e.g. {_examples(absent)}"
        )
    extra_cols = [c for c in pred.columns if c != "split"] if columns is None else list(columns)
    joined = wanted.reset_index(drop=True).copy()
    joined["sample_id"] = wanted_ids.to_numpy()
    for col in extra_cols:
        if col in joined.columns:
            raise ValueError(f"{source}: prediction column {col!r} clashes with a splits.parquet column")
        joined[col] = pred[col].reindex(joined["sample_id"]).to_numpy()
    return joined
