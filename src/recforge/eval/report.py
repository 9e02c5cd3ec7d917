"""File-level entry point: the one function a Snakemake evaluation script calls.

    evaluate_files(method, dataset, protocol, predictions_path, data_dir, out_path, options)

reads results/{dataset}/predictions/{method}.parquet and results/{dataset}/data/{splits,interactions,
items}.parquet, scores them (protocols.evaluate) and writes results/{dataset}/metrics/{method}.json.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

import recforge
from recforge.io import to_jsonable, write_json
from recforge.eval.protocols import evaluate
from recforge.eval.schema import check_predictions_schema


def _read_optional(path: Path) -> pd.DataFrame | None:
    return pd.read_parquet(path) if path.exists() else None


def evaluate_files(
    method: str,
    dataset: str,
    protocol: str,
    predictions_path: str | Path,
    data_dir: str | Path,
    out_path: str | Path,
    options: Mapping[str, Any] | None = None,
) -> dict:
    """Score one method's predictions file, write the metrics json atomically and return it.

    `options` are the protocol options of protocols.evaluate plus `ks`, `rating_scale` (the
    dataset's {min, max, step} or None; the rating protocol's `scale`) and `like_threshold` (the
    dataset's like threshold or None; read by the ctr protocol only). splits.parquet must exist in
    `data_dir`; interactions.parquet and items.parquet are used when present (histories, scenario counts,
    training mean rating, catalogue). Raises ValueError naming the predictions file on a schema mismatch
    or on missing, unknown or duplicate sample ids.
    """
    predictions_path, data_dir = Path(predictions_path), Path(data_dir)
    options = dict(options or {})
    # The dataset's scale override is passed for every method; only the rating protocol reads it.
    scale = options.pop("rating_scale", None)
    if protocol == "rating" and scale is not None:
        options["scale"] = scale
    # Likewise the dataset's like threshold (the one its CTR windows were labelled with).
    threshold = options.pop("like_threshold", None)
    if protocol == "ctr" and threshold is not None:
        options["like_threshold"] = float(threshold)
    check_predictions_schema(predictions_path, protocol)
    predictions = pd.read_parquet(predictions_path)
    samples = pd.read_parquet(data_dir / "splits.parquet")
    interactions = _read_optional(data_dir / "interactions.parquet")
    items = _read_optional(data_dir / "items.parquet")
    results = evaluate(
        protocol,
        predictions,
        samples,
        interactions,
        items,
        source=f"method {method!r} ({predictions_path})",
        **options,
    )
    document = {
        "method": method,
        "dataset": dataset,
        "protocol": protocol,
        "results": results,
        "extra": {
            "predictions": str(predictions_path),
            "n_predictions": len(predictions),
            "options": options,
            "recforge_version": recforge.__version__,
        },
    }
    document = to_jsonable(document)  # what is returned is exactly what is written (NaN -> None)
    write_json(document, out_path)
    return document
