"""Rejection sampling with a beam-hit filter (the released "reconstruct" step between stage-3 rounds).

Released (`eval_and_reconstruct_data.py`): for each training row the current model samples 2 thinks
(temperature 0.8, top_p 0.95, top_k 200, at most 100 tokens, stop at <|sid_begin|>); after each think a
constrained beam search of width 5 lists SIDs; the row is a hit when the target is among the 10; a hit
keeps its templated CoT, a miss gets an empty think. Here (cfg.keep = "sampled", the default) a hit keeps
the first SAMPLED think whose beam list holds the target, so the next round trains on the model's own
reasoning that led to the answer (cfg.keep = "template" is the released behaviour); a miss gets an empty
think (cfg.on_miss = "empty", released), is dropped ("drop") or keeps its CoT ("template").
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from recforge.methods.onerec import prompts as P
from recforge.methods.onerec.config import RejectionConfig
from recforge.methods.onerec.predict import SidDecoder, generate_thinks
from recforge.methods.onerec.tasks import subsample

log = logging.getLogger(__name__)


def original_cot(completion: str) -> str:
    """The think text of a completion built by prompts.completion."""
    return P.think_text(completion.split(P.think_prefix(), 1)[-1])


def rejection_sample(model: Any, tokenizer: Any, rows: pd.DataFrame, decoder: SidDecoder,
                     sid_of: Mapping[str, str], cfg: RejectionConfig, seed_offset: int = 0) -> tuple[pd.DataFrame, dict]:
    """New training rows (same columns; completion rewritten) and counts {rows, hits, kept, dropped}."""
    rows = subsample(rows, cfg.max_rows, cfg.seed + seed_offset).reset_index(drop=True)
    model.eval()
    rendered = [P.render_prompt(tokenizer, s, u) for s, u in zip(rows["system"], rows["user"])]
    thinks = generate_thinks(model, tokenizer, [p + P.think_prefix() for p in rendered],
                             max_new_tokens=cfg.max_think_tokens, n=cfg.n_thinks, do_sample=True,
                             temperature=cfg.temperature, top_p=cfg.top_p, top_k=cfg.top_k,
                             batch_size=cfg.batch_size, seed=cfg.seed + seed_offset)
    flat = [p + P.answer_prefix(t) for p, ts in zip(rendered, thinks) for t in ts]
    lists = decoder.rank(model, tokenizer, flat, k=cfg.beam_width, num_beams=cfg.beam_width,
                         batch_size=cfg.batch_size)
    out, hits, dropped = [], 0, 0
    for n, row in enumerate(rows.to_dict("records")):
        target = row["target"]
        per_think = lists[n * cfg.n_thinks : (n + 1) * cfg.n_thinks]
        hit = next((t for t, ranked in zip(thinks[n], per_think) if target in ranked), None)
        if hit is not None:
            hits += 1
            cot = hit if cfg.keep == "sampled" else original_cot(row["completion"])
        elif cfg.on_miss == "drop":
            dropped += 1
            continue
        else:
            cot = "" if cfg.on_miss == "empty" else original_cot(row["completion"])
        out.append({**row, "completion": P.completion(sid_of[target], cot)})
    stats = {"rows": len(rows), "hits": hits, "kept": len(out), "dropped": dropped,
             "hit_rate": hits / len(rows) if len(rows) else 0.0}
    log.info("rejection sampling: %s", stats)
    return pd.DataFrame(out, columns=rows.columns), stats
