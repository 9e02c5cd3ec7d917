"""Seed 000's prompts as train/val/test parquet in verl's RLHFDataset schema (A.4), keyed by sample_id,
and the prompt-length statistics behind the token-efficiency comparison.

A row: data_source "recforge/{dataset}" (verl's reward routing key; the paper's "AmazonReviews/..."
named a source that a MovieLens dataset is not), prompt [system, user] chat messages, ability "logic",
reward_model {"style": "rule", "ground_truth": "4", "rating_scale": {min, max, step}} (the scale the
reward clips to and the readout reads: every later stage takes it from here), extra_info {split,
user_id, item_id, sample_id},
and the top-level columns sample_id, split, user_id, item_id, label (float64) that every later isir
step keys on. Only samples with a finite rating have a row (there is nothing to reward otherwise).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recforge.data.scale import RatingScale, rating_scale
from recforge.io import write_json, write_parquet
from recforge.methods.isir.prompts import (PromptConfig, build_prompts, rating_messages, target_rating_stats,
                                           trim_categories)
from recforge.methods.isir.sketch import SketchConfig, interest_sketches

log = logging.getLogger(__name__)

# Canonical split -> verl's file/split name (verl reads train.parquet and val.parquet).
VERL_SPLITS: dict[str, str] = {"train": "train", "valid": "val", "test": "test"}
VERL_COLUMNS = (
    "data_source",
    "prompt",
    "ability",
    "reward_model",
    "extra_info",
    "sample_id",
    "split",
    "user_id",
    "item_id",
    "label",
)


@dataclass(frozen=True)
class VerlDataConfig:
    """The isir data settings (config section `isir`; keys of other isir steps are ignored)."""

    max_history: int | None = 10  # history lines in the compact prompt (the paper's max_history)
    max_topics: int | None = 3  # topics per sketch block (None: all, the paper)
    max_categories: int | None = 2  # category names per item line (None: the full path, the paper)
    pos_threshold: float = 4.0  # liked = rating >= this, in the sketch
    max_train_samples: int | None = None  # deterministic subsample of train; None = all
    seed: int = 0  # of the train subsample
    sample_order: str = "recent"  # which train samples a cap keeps: recent | random (subsample)
    length_stats_split: str = "test"  # samples on which compact and full-history prompts are compared
    item_stats: bool = False  # the candidate's train-phase rating mean and count in its line (not the paper's)



def ground_truth(label: float) -> str:
    """The reward's ground truth as the paper stores it: "5", "3", ... (a fractional rating keeps its
    fraction, "4.5", rather than being truncated)."""
    label = float(label)
    return str(int(label)) if label.is_integer() else f"{label:g}"


def verl_rows(prompts: pd.DataFrame, dataset: str, scale: RatingScale = RatingScale()) -> pd.DataFrame:
    """Prompt table (recforge.methods.isir.prompts.build_prompts) -> verl rows, in the same order,
    samples without a finite label dropped."""
    finite = np.isfinite(prompts["label"].to_numpy(dtype=np.float64))
    kept = prompts[finite]
    records = kept[["sample_id", "split", "user_id", "item_id"]].astype(str).to_dict("records")
    return pd.DataFrame(
        {
            "data_source": f"recforge/{dataset}",
            "prompt": pd.Series(
                [rating_messages(s, u) for s, u in zip(kept["system"], kept["user"])], dtype=object
            ),
            "ability": "logic",
            "reward_model": pd.Series(
                [
                    {"style": "rule", "ground_truth": ground_truth(x), "rating_scale": scale.as_dict()}
                    for x in kept["label"]
                ],
                dtype=object,
            ),
            "extra_info": pd.Series(
                [
                    {
                        "split": r["split"],
                        "user_id": r["user_id"],
                        "item_id": r["item_id"],
                        "sample_id": r["sample_id"],
                    }
                    for r in records
                ],
                dtype=object,
            ),
            "sample_id": kept["sample_id"].astype(str).to_numpy(),
            "split": kept["split"].astype(str).to_numpy(),
            "user_id": kept["user_id"].astype(str).to_numpy(),
            "item_id": kept["item_id"].astype(str).to_numpy(),
            "label": kept["label"].to_numpy(dtype=np.float64),
        },
        columns=list(VERL_COLUMNS),
    )


def _hash_rank(sample_ids: pd.Series, seed: int) -> np.ndarray:
    return np.asarray(
        [int.from_bytes(hashlib.sha256(f"{seed}:{s}".encode()).digest()[:8], "big") for s in sample_ids],
        dtype=np.uint64,
    )


SAMPLE_ORDERS = ("random", "recent")


def steps_from_end(sample_ids: pd.Series) -> np.ndarray:
    """0 for each user's last sample among these rows, 1 for the one before, ... (sample_id is
    "{user_id}:{position}", docs/contracts.md)."""
    parts = sample_ids.astype(str).str.rsplit(":", n=1)
    users, positions = parts.str[0], parts.str[1].astype(np.int64)
    return positions.groupby(users.to_numpy()).rank(ascending=False, method="first").to_numpy(np.int64) - 1


def subsample(rows: pd.DataFrame, max_samples: int | None, seed: int = 0, order: str = "random") -> pd.DataFrame:
    """At most `max_samples` rows chosen by a seeded hash of sample_id (the same samples whatever the
    row order, and a larger budget keeps every sample a smaller one chose); kept in their order.
    order "recent" takes each user's last sample first, then the one before, ... (the hash breaks ties):
    the samples closest in time to valid and test, whose ratings differ from earlier ones."""
    if order not in SAMPLE_ORDERS:
        raise ValueError(f"unknown sample order {order!r}; known: {list(SAMPLE_ORDERS)}")
    if max_samples is None or len(rows) <= int(max_samples):
        return rows
    rank = _hash_rank(rows["sample_id"].astype(str), seed)
    if order == "recent":
        order = np.lexsort((rank, steps_from_end(rows["sample_id"])))
    else:
        order = np.argsort(rank, kind="stable")
    keep = np.zeros(len(rows), dtype=bool)
    keep[order[: int(max_samples)]] = True
    return rows[keep]


def _messages(rows: pd.DataFrame) -> list[list[dict[str, str]]]:
    """Chat messages per row, from a verl row table (`prompt`) or a prompt table (`system`, `user`)."""
    if "prompt" in rows.columns:
        return [[{"role": str(m["role"]), "content": str(m["content"])} for m in p] for p in rows["prompt"]]
    return [rating_messages(s, u) for s, u in zip(rows["system"], rows["user"])]


def prompt_token_counts(
    tokenizer: Any,
    rows: pd.DataFrame,
    chat_template_kwargs: Mapping[str, Any] | None = None,
    batch: int = 256,
) -> np.ndarray:
    """Tokens of each row's prompt as the model sees it: the chat template applied with
    add_generation_prompt=True."""
    texts = [
        tokenizer.apply_chat_template(
            m, tokenize=False, add_generation_prompt=True, **(chat_template_kwargs or {})
        )
        for m in _messages(rows)
    ]
    counts: list[int] = []
    for i in range(0, len(texts), batch):
        encoded = tokenizer(texts[i : i + batch], add_special_tokens=False)["input_ids"]
        counts.extend(len(ids) for ids in encoded)
    return np.asarray(counts, dtype=np.int64)


def _summary(tokens: np.ndarray, chars: np.ndarray) -> dict[str, float]:
    if len(tokens) == 0:
        return {"mean_tokens": None, "median_tokens": None, "max_tokens": None, "mean_chars": None}
    return {
        "mean_tokens": float(tokens.mean()),
        "median_tokens": float(np.median(tokens)),
        "max_tokens": int(tokens.max()),
        "mean_chars": float(chars.mean()),
    }


def prompt_length_stats(
    tokenizer: Any,
    compact_rows: pd.DataFrame,
    full_rows: pd.DataFrame,
    chat_template_kwargs: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Prompt tokens of the compact prompts (sketch + last max_history items) against the full-history
    prompts on the same samples (joined on sample_id; rows of either table without a partner are left
    out): {"n", "compact": {mean_tokens, median_tokens, max_tokens, mean_chars}, "full": {...},
    "mean_token_ratio": compact mean / full mean}. Rows are verl rows or prompt tables."""
    full_rows = full_rows.drop_duplicates("sample_id").set_index("sample_id", drop=False)
    compact_rows = compact_rows[compact_rows["sample_id"].isin(full_rows.index)].drop_duplicates("sample_id")
    full_rows = full_rows.loc[compact_rows["sample_id"]]
    result: dict[str, Any] = {"n": int(len(compact_rows))}
    for name, rows in (("compact", compact_rows), ("full", full_rows)):
        tokens = prompt_token_counts(tokenizer, rows, chat_template_kwargs)
        chars = np.asarray([sum(len(m["content"]) for m in ms) for ms in _messages(rows)], dtype=np.int64)
        result[name] = _summary(tokens, chars)
    full_mean = result["full"]["mean_tokens"]
    result["mean_token_ratio"] = result["compact"]["mean_tokens"] / full_mean if full_mean else None
    return result


def prepare_verl_data(
    items: pd.DataFrame,
    interactions: pd.DataFrame,
    samples: pd.DataFrame,
    clusters: pd.DataFrame,
    names: pd.DataFrame,
    tokenizer: Any,
    *,
    dataset: str,
    domain: str,
    config: VerlDataConfig = VerlDataConfig(),
    chat_template_kwargs: Mapping[str, Any] | None = None,
    scale: RatingScale | None = None,
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Sketches -> compact prompts -> verl rows per verl split ("train", "val", "test"), train
    subsampled as configured; plus stats: sample counts, the sketch statistics, the rating scale and
    the prompt lengths (compact vs full history on `length_stats_split`; skipped when tokenizer is
    None). `scale` defaults to the scale of the interactions' ratings (recforge.data.scale)."""
    scale = rating_scale(interactions["rating"]) if scale is None else scale
    sketch_config = SketchConfig(domain=domain, pos_threshold=config.pos_threshold, max_topics=config.max_topics)
    sketches, sketch_stats = interest_sketches(interactions, samples, clusters, names, sketch_config)
    prompts = build_prompts(
        trim_categories(items, config.max_categories), interactions, samples, sketches,
        PromptConfig(domain=domain, max_history=config.max_history, scale=scale),
        target_rating_stats(interactions, samples) if config.item_stats else None,
    )
    rows = verl_rows(prompts, dataset, scale)
    splits: dict[str, pd.DataFrame] = {}
    counts: dict[str, dict[str, int]] = {}
    for split, name in VERL_SPLITS.items():
        in_split = rows[rows["split"] == split]
        kept = subsample(in_split, config.max_train_samples, config.seed, config.sample_order) if split == "train" else in_split
        splits[name] = kept.reset_index(drop=True)
        counts[split] = {
            "samples": int((samples["split"] == split).sum()),
            "unlabelled_dropped": int(((prompts["split"] == split) & ~np.isfinite(prompts["label"])).sum()),
            "rows": int(len(kept)),
        }
    stats: dict[str, Any] = {
        "dataset": dataset,
        "domain": domain,
        "rating_scale": scale.as_dict(),
        "config": {f.name: getattr(config, f.name) for f in fields(config)},
        "splits": counts,
        "sketch": sketch_stats,
        "mean_history_lines": float(prompts["n_history"].mean()) if len(prompts) else 0.0,
    }
    if tokenizer is not None:
        target = rows[rows["split"] == config.length_stats_split]
        picked = samples[samples["sample_id"].astype(str).isin(set(target["sample_id"]))]
        # The reference: every topic, full category paths and the whole history.
        full_sketches, _ = interest_sketches(
            interactions, picked, clusters, names, SketchConfig(domain=domain, pos_threshold=config.pos_threshold)
        )
        full = build_prompts(
            items, interactions, picked, full_sketches, PromptConfig(domain=domain, max_history=None, scale=scale),
            target_rating_stats(interactions, picked) if config.item_stats else None,
        )
        stats["prompt_lengths"] = {
            "split": config.length_stats_split,
            "max_history": config.max_history,
            **prompt_length_stats(tokenizer, target, verl_rows(full, dataset, scale), chat_template_kwargs),
        }
        lengths = stats["prompt_lengths"]
        log.info(
            "prompt tokens on %s (%d samples): compact mean %.0f, full-history mean %.0f",
            config.length_stats_split,
            lengths["n"],
            lengths["compact"]["mean_tokens"] or 0,
            lengths["full"]["mean_tokens"] or 0,
        )
    log.info("verl rows: %s", {k: v["rows"] for k, v in counts.items()})
    return splits, stats


def write_verl_data(
    splits: Mapping[str, pd.DataFrame],
    stats: Mapping[str, Any],
    paths: Mapping[str, str | Path],
    stats_path: str | Path,
) -> None:
    """Each verl split ("train", "val", "test") to paths[name] (parquet), stats to JSON."""
    for name, frame in splits.items():
        write_parquet(frame, paths[name])
    write_json(dict(stats), stats_path)


def rows_scale(rows: pd.DataFrame) -> RatingScale:
    """The rating scale the verl rows were written with (their reward_model's rating_scale)."""
    scales = {tuple(sorted(dict(r["rating_scale"]).items())) for r in rows["reward_model"]}
    if len(scales) != 1:
        raise ValueError(f"verl rows carry {len(scales)} rating scales; expected one (rebuild the isir prompts)")
    return RatingScale(**dict(scales.pop()))
