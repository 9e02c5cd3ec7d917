"""Contrastive training of the shared tower, with the encoder chosen on valid only.

Each labelled pair (user, train target, selected persona) gives a profile (the user's events before
the target, `encoder.profile_rows`) and a positive (the selected persona); the other pairs of the
batch are negatives (in-batch InfoNCE with temperature and label smoothing; a persona picked twice in
a batch is masked, not a negative). Linear warm-up then linear decay, AdamW. The encoder before
training and after each epoch is scored by re-ranking the valid candidate lists with the pure persona
score (NDCG@10); the best one is saved (ties: the earlier). Test samples are never read.
"""

from __future__ import annotations

import copy
import logging
import random
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from recforge.io import write_json
from recforge.methods.persona4rec.caches import persona_texts
from recforge.methods.persona4rec.encoder import encode, info_nce, profile, profile_rows, train_top_layers
from recforge.methods.persona4rec.rerank import ScoringIndex, ndcg_at, persona_lists, reranked
from recforge.methods.persona4rec.settings import EncoderSettings

log = logging.getLogger(__name__)


def training_examples(selections: pd.DataFrame, history: pd.DataFrame, settings: EncoderSettings) -> list[dict]:
    """One example per labelled pair: its history texts (oldest first) and positive persona uid."""
    by_user = {u: g for u, g in history.groupby("user_id", sort=False)}
    examples = []
    for pair in selections[selections["persona_uid"].notna()].itertuples(index=False):
        events = by_user.get(pair.user_id)
        if events is None:
            continue
        rows = profile_rows(events["position"].to_numpy(), events["rating"].to_numpy(dtype=np.float64),
                            int(pair.position), settings.k_recent, settings.min_rating)
        if len(rows):
            examples.append({"texts": events["text"].to_numpy()[rows].tolist(), "persona": pair.persona_uid})
    if settings.max_train_pairs is not None:
        examples = examples[: settings.max_train_pairs]
    return examples


def valid_ndcg(model, history: pd.DataFrame, personas: pd.DataFrame, valid: pd.DataFrame, settings: EncoderSettings) -> float:
    """NDCG@10 of the pure persona re-ranking of the valid candidate lists under `model` (a valid
    profile reads train-phase events only, so only those are encoded)."""
    model.eval()
    history = history[history["split"] == "train"]
    with torch.no_grad():
        index = ScoringIndex.build(encode(model, persona_texts(personas)).cpu().numpy(), personas["item_id"].tolist(),
                                   encode(model, history["text"].tolist()).cpu().numpy(), history)
    scores, _ = persona_lists(valid, index, settings.k_recent, settings.gamma, settings.min_rating)
    return ndcg_at(reranked(valid, scores, None), valid["item_id"].tolist())


def train_encoder(model, selections: pd.DataFrame, history: pd.DataFrame, personas: pd.DataFrame,
                  candidates: pd.DataFrame, settings: EncoderSettings, out_dir: str | Path, report_path: str | Path) -> dict:
    """Train `model` (a SentenceTransformer) in place, save the valid-selected one to `out_dir`."""
    start = time.perf_counter()
    torch.manual_seed(settings.seed)
    rng = random.Random(settings.seed)
    examples = training_examples(selections, history, settings)
    valid = candidates[candidates["split"] == "valid"].reset_index(drop=True)
    uid_text = dict(zip(personas["persona_uid"], persona_texts(personas)))
    steps_per_epoch = (len(examples) + settings.batch_size - 1) // settings.batch_size
    total = max(1, steps_per_epoch * settings.epochs)
    trainable = train_top_layers(model, settings.train_layers)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=settings.lr, weight_decay=settings.weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min((s + 1) / max(1, settings.warmup_steps),
                                                                          max(0.0, (total - s) / max(1, total - settings.warmup_steps))))
    curve = [{"epoch": 0, "valid_ndcg@10": valid_ndcg(model, history, personas, valid, settings), "loss": None}]
    best, best_state = curve[0], copy.deepcopy(model.state_dict())
    log.info("epoch 0 (before training): valid NDCG@10 %.4f; %d pairs, %d steps/epoch, %d trainable parameters",
             curve[0]["valid_ndcg@10"], len(examples), steps_per_epoch, trainable)
    for epoch in range(1, settings.epochs + 1):
        model.train()
        rng.shuffle(examples)
        losses, epoch_started = [], time.perf_counter()
        for step in range(steps_per_epoch):
            batch = examples[step * settings.batch_size : (step + 1) * settings.batch_size]
            if len(batch) < 2:
                continue
            texts = [t for ex in batch for t in ex["texts"]]
            vectors = encode(model, texts, batch_size=16, grad=True)
            bounds = np.cumsum([0] + [len(ex["texts"]) for ex in batch])
            profiles = torch.stack([profile(vectors[a:b], settings.gamma) for a, b in zip(bounds[:-1], bounds[1:])])
            positives = encode(model, [uid_text[ex["persona"]] for ex in batch], batch_size=len(batch), grad=True)
            loss = info_nce(profiles, positives, settings.temperature, settings.label_smoothing,
                            [ex["persona"] for ex in batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
            if (step + 1) % 10 == 0:
                per_step = (time.perf_counter() - epoch_started) / (step + 1)
                log.info("epoch %d step %d/%d: loss %.4f, %.2f s/step, %.0f s left in the epoch", epoch, step + 1,
                         steps_per_epoch, np.mean(losses[-10:]), per_step, per_step * (steps_per_epoch - step - 1))
        score = valid_ndcg(model, history, personas, valid, settings)
        entry = {"epoch": epoch, "valid_ndcg@10": score, "loss": float(np.mean(losses)) if losses else None}
        curve.append(entry)
        log.info("epoch %d: train loss %s, valid NDCG@10 %.4f", epoch, entry["loss"], score)
        if score > best["valid_ndcg@10"]:
            best, best_state = entry, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    model.save(str(out_dir))
    report = {"pairs": len(examples), "trainable_parameters": trainable, "steps_per_epoch": steps_per_epoch, "curve": curve,
              "selected_epoch": best["epoch"], "selected_on": "valid NDCG@10 (persona4rec re-ranking)",
              "valid_samples": int(len(valid)), "wall_s": round(time.perf_counter() - start, 2)}
    write_json(report, report_path)
    return report
