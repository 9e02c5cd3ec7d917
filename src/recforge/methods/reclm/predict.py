"""RecLM predictions (topk protocol) and the seed's diagnostics as rates.

`predict`: the valid/test rows of `cfg.splits` (samples.eval_rows: the test template, the last
`max_item_length` history items in the prompt, the sample's whole history excluded) -> Decoder.rank ->
`sample_id, split, items`. Lists are in answer order, cut to k; a list can be shorter than k when the
model ends its answer early (counted in `correct_count_rate`).

`diagnostics` (seed notes 001, B.10, every figure a rate): per split, over all list entries,
non_exist_rate (entries naming no catalogue item), repeat_rate, in_history_rate and
target_category_rate (entries in the target's deepest category), and correct_count_rate (lists with
exactly k items). `efficiency` adds, on the same `throughput_rows` test rows, lists per second of the
constrained decoder and of unconstrained generation with the unconstrained lists' diagnostics, and the
multi-round check: after the recommendation turn a general question from the chat set is asked;
`general_reply_clean_rate` is the share of those replies without <SOI>/<EOI>, `rec_reply_k_rate` the
share of recommendation replies with exactly k items.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from recforge.methods._common import topk_frame
from recforge.methods.reclm.config import PredictConfig
from recforge.methods.reclm.data import render
from recforge.methods.reclm.decode import Decoder, timed
from recforge.methods.reclm.samples import answer_text, conversation
from recforge.methods.reclm.sft import prompts_of
from recforge.models.tokens import ITEM_END, ITEM_START

log = logging.getLogger(__name__)


def diagnostics(lists: Sequence[Sequence[str | None]], histories: Sequence[Sequence[str]], targets: Sequence[str],
                catalogue: set[str], category_of: Mapping[str, str], category_items: Mapping[str, set[str]],
                k: int) -> dict[str, float]:
    entries = repeats = outside = in_history = same_category = exact = 0
    for items, history, target in zip(lists, histories, targets):
        items = list(items)[:k]
        exact += len(items) == k
        seen: set = set()
        history = set(map(str, history))
        members = category_items.get(category_of.get(str(target), ""), set())
        for item in items:
            entries += 1
            repeats += item in seen
            seen.add(item)
            outside += item is None or item not in catalogue
            in_history += item in history
            same_category += item in members
    n = max(entries, 1)
    return {"non_exist_rate": outside / n, "repeat_rate": repeats / n, "in_history_rate": in_history / n,
            "target_category_rate": same_category / n, "correct_count_rate": exact / max(len(lists), 1),
            "entries": entries, "lists": len(lists)}


def rank(model: Any, decoder: Decoder, prompts: Sequence[str], rows: pd.DataFrame, cfg: PredictConfig, idx: bool,
         constrained: bool = True) -> list[list[str | None]]:
    """The rows' lists decoded as `cfg` says (unconstrained: plain generation, for the comparison)."""
    return decoder.rank(model, prompts, [list(e) for e in rows["excluded"]], k=cfg.k, num_beams=cfg.num_beams,
                        batch_size=cfg.batch_size, max_new_tokens=cfg.max_new_tokens, constrained=constrained,
                        **({"min_items": cfg.min_items, "item_beams": cfg.item_beams, "idx": idx} if constrained else {}))


def predict(model: Any, decoder: Decoder, rows: pd.DataFrame, item_text: Mapping[str, str], chat: Sequence,
            cfg: PredictConfig, idx: bool = True) -> tuple[pd.DataFrame, list[list[str]]]:
    """`idx`: the answers are numbered (samples.idx)."""
    model.eval()
    rows = rows[rows["split"].isin(list(cfg.splits))]
    lists = rank(model, decoder, prompts_of(decoder.tokenizer, rows, item_text, chat), rows, cfg, idx)
    lists = [[str(i) for i in items][: cfg.k] for items in lists]
    short = sum(len(items) < cfg.k for items in lists)
    log.info("predicted %d samples; %d lists shorter than k=%d", len(lists), short, cfg.k)
    return topk_frame(rows["sample_id"].tolist(), rows["split"].tolist(), lists), lists


def efficiency(model: Any, decoder: Decoder, rows: pd.DataFrame, lists: Sequence[Sequence[str]],
               item_text: Mapping[str, str], chat: Sequence, cfg: PredictConfig, category_of: Mapping[str, str],
               constrained_kind: str, idx: bool = True) -> dict:
    """The seed's diagnostics of the predictions, the constrained-vs-unconstrained comparison and the
    multi-round check (module docstring)."""
    rows = rows[rows["split"].isin(list(cfg.splits))].reset_index(drop=True)
    catalogue = set(decoder.trie.item_ids)
    category_items: dict[str, set[str]] = {}
    for item, cat in category_of.items():
        for depth in range(1, len(cat.split(", ")) + 1) if cat else ():
            category_items.setdefault(", ".join(cat.split(", ")[:depth]), set()).add(item)
    diag = lambda ls, rs: diagnostics(ls, rs["excluded"].tolist(), rs["target"].tolist(), catalogue, category_of,  # noqa: E731
                                      category_items, cfg.k)
    out: dict[str, Any] = {"k": cfg.k, "splits": {}}
    for split in cfg.splits:
        at = np.flatnonzero(rows["split"].to_numpy() == split)
        out["splits"][split] = diag([lists[i] for i in at], rows.iloc[at])
    timing_rows = rows[rows["split"] == cfg.splits[-1]].head(cfg.throughput_rows)
    if len(timing_rows):
        prompts = prompts_of(decoder.tokenizer, timing_rows, item_text, chat)
        constrained, t_c = timed(rank, model, decoder, prompts, timing_rows, cfg, idx)
        free, t_u = timed(rank, model, decoder, prompts, timing_rows, cfg, idx, constrained=False)
        out["throughput"] = {
            "rows": len(timing_rows), "batch_size": cfg.batch_size, "num_beams": cfg.num_beams,
            "max_new_tokens": cfg.max_new_tokens, "constrained_kind": constrained_kind,
            "constrained_min_items": cfg.min_items, "constrained_item_beams": cfg.item_beams,
            "constrained_lists_per_s": len(timing_rows) / t_c, "unconstrained_lists_per_s": len(timing_rows) / t_u,
            "constrained_s": t_c, "unconstrained_s": t_u,
            "constrained": diag(constrained, timing_rows), "unconstrained": diag(free, timing_rows),
        }
    mr_rows = rows.head(cfg.multi_round_rows)
    if len(mr_rows) and chat:
        out["multi_round"] = multi_round(model, decoder, mr_rows, item_text, chat, cfg, idx)
    return out


def multi_round(model: Any, decoder: Decoder, rows: pd.DataFrame, item_text: Mapping[str, str], chat: Sequence,
                cfg: PredictConfig, idx: bool = True) -> dict:
    tokenizer = decoder.tokenizer
    records = rows.to_dict("records")
    rec_lists = rank(model, decoder, prompts_of(tokenizer, rows, item_text, chat), rows, cfg, idx)
    follow_ups = []
    for n, (row, items) in enumerate(zip(records, rec_lists)):
        messages = conversation(row, item_text, chat, with_answer=False)
        messages += [{"role": "assistant", "content": answer_text(items, item_text)},
                     {"role": "user", "content": chat[n % len(chat)][0]}]
        follow_ups.append(render(tokenizer, messages, add_generation_prompt=True))
    replies = decoder.generate_text(model, follow_ups, batch_size=cfg.batch_size, max_new_tokens=cfg.max_new_tokens,
                                    constrained=decoder.head is None)
    clean = [ITEM_START not in r and ITEM_END not in r for r in replies]
    return {"rows": len(rows), "rec_reply_k_rate": float(np.mean([len(x) == cfg.k for x in rec_lists])),
            "general_reply_clean_rate": float(np.mean(clean)), "example_general_reply": replies[0][:300]}
