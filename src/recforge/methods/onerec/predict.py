"""Constrained beam search over SIDs: valid ranking for selection, and the prediction files.

`onerec_think`: prompt (chat-rendered sequential prompt) + "<think>\\n\\n</think>\\n<|sid_begin|>", then
recforge.decode.constrained_generate under the catalogue trie (every item's full SID prefix, not the
released per-position bigram table). `onerec_think_cot`: prompt + "<think>\\n", the model writes its
reasoning until </think> (greedy by default; with num_thinks > 1 sampled, the lists of all thinks
merged by best rank), then "\\n</think>\\n<|sid_begin|>" and the same constrained beam search. Both
methods see the identical prompt (history as SIDs). Lists are de-duplicated and cut to k.

History exclusion (`exclude_history`, default): the items of the sample's FULL history are dropped from
the beams before the cut to k, the same set popularity and SASRec exclude (every event of the user
before the sample's position, from the canonical tables via recforge.data.sequences.histories; for a
test sample this includes the valid target), not just the last `tasks.max_history` items the prompt
shows. The search asks for max(k, num_beams) items to leave room; where the history takes more than
num_beams - k of them, the list is shorter than k (counted in the log).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from recforge.data.sequences import histories
from recforge.eval.metrics import first_hit_rank, hit_at_k, ndcg_at_k
from recforge.methods._common import select_samples, topk_frame
from recforge.methods.onerec import prompts as P
from recforge.methods.onerec.config import PredictConfig, RankEvalConfig
from recforge.methods.onerec.vocab import SidIndex, build_trie
from recforge.models.tokens import SID_BEGIN, THINK_END

log = logging.getLogger(__name__)


@dataclass
class SidDecoder:
    """The trie plus the constrained generation function (recforge.decode.constrained_generate unless
    another with the same signature is given, e.g. in tests)."""

    trie: Any
    generate: Callable[..., list[list[str]]] | None = None

    @classmethod
    def build(cls, tokenizer: Any, sids: SidIndex) -> "SidDecoder":
        return cls(build_trie(tokenizer, sids))

    def rank(self, model: Any, tokenizer: Any, prompts: Sequence[str], k: int, num_beams: int,
             batch_size: int) -> list[list[str]]:
        """Ranked item ids per prompt (each prompt ends with <|sid_begin|>)."""
        generate = self.generate
        if generate is None:
            from recforge.decode import constrained_generate as generate
        if not prompts:
            return []
        ranked = generate(model, tokenizer, list(prompts), self.trie, k=k, num_beams=max(num_beams, k),
                          batch_size=batch_size, mode="sid")
        return [dedupe(r)[:k] for r in ranked]


def dedupe(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


def merge_rankings(lists: Sequence[Sequence[str]], k: int) -> list[str]:
    """One list from several: items by their best rank in any list, then by how many lists hold them,
    then by first appearance."""
    best: dict[str, tuple[int, int, int]] = {}
    order = 0
    for ranked in lists:
        for rank, item in enumerate(dedupe(ranked)):
            old = best.get(item)
            if old is None:
                best[item] = (rank, -1, order)
                order += 1
            else:
                best[item] = (min(old[0], rank), old[1] - 1, old[2])
    return [item for item, _ in sorted(best.items(), key=lambda kv: kv[1])][:k]


def generate_thinks(model: Any, tokenizer: Any, prompts: Sequence[str], *, max_new_tokens: int, n: int = 1,
                    do_sample: bool = False, temperature: float = 1.0, top_p: float = 1.0, top_k: int = 0,
                    batch_size: int = 16, seed: int = 0) -> list[list[str]]:
    """n reasoning texts per prompt (each prompt ends with the think prefix); generation stops at
    </think>, <|sid_begin|> or EOS, and the text is cut there (prompts.think_text)."""
    import torch

    stops = [tokenizer.convert_tokens_to_ids(THINK_END), tokenizer.convert_tokens_to_ids(SID_BEGIN)]
    if tokenizer.eos_token_id is not None:
        stops.append(tokenizer.eos_token_id)
    tokenizer.padding_side = "left"
    device = next(model.parameters()).device
    torch.manual_seed(seed)
    out: list[list[str]] = []
    kwargs = dict(do_sample=do_sample, num_return_sequences=n, eos_token_id=stops,
                  pad_token_id=tokenizer.pad_token_id, max_new_tokens=max_new_tokens)
    if do_sample:
        kwargs.update(temperature=temperature, top_p=top_p, top_k=top_k)
    else:
        kwargs.update(num_beams=1, temperature=None, top_p=None, top_k=None)
        if n > 1:
            raise ValueError("greedy decoding gives one think per prompt; use do_sample for n > 1")
    with torch.no_grad():
        starts = range(0, len(prompts), batch_size)
        for lo in tqdm(starts, desc="thinks", unit="batch", mininterval=30, disable=len(starts) < 2):
            batch = tokenizer(list(prompts[lo : lo + batch_size]), return_tensors="pt", padding=True,
                              add_special_tokens=False).to(device)
            generated = model.generate(**batch, **kwargs)
            texts = tokenizer.batch_decode(generated[:, batch["input_ids"].shape[1] :], skip_special_tokens=True)
            thinks = [P.think_text(t) for t in texts]
            out.extend(thinks[i : i + n] for i in range(0, len(thinks), n))
    return out


def rank_rows(model: Any, tokenizer: Any, rows: pd.DataFrame, decoder: SidDecoder, *, cot: bool, k: int,
              num_beams: int, batch_size: int, max_think_tokens: int = 64, num_thinks: int = 1,
              think_temperature: float = 1.0, think_top_p: float = 0.95, seed: int = 0) -> tuple[list[list[str]], list[list[str]]]:
    """(ranked item ids, thinks) per row of a sequential table (columns system, user)."""
    rendered = [P.render_prompt(tokenizer, s, u) for s, u in zip(rows["system"], rows["user"])]
    if not cot:
        return decoder.rank(model, tokenizer, [p + P.answer_prefix() for p in rendered], k, num_beams, batch_size), [[] for _ in rendered]
    sampled = num_thinks > 1
    thinks = generate_thinks(model, tokenizer, [p + P.think_prefix() for p in rendered],
                             max_new_tokens=max_think_tokens, n=num_thinks, do_sample=sampled,
                             temperature=think_temperature, top_p=think_top_p, batch_size=batch_size, seed=seed)
    flat = [p + P.answer_prefix(t) for p, ts in zip(rendered, thinks) for t in ts]
    lists = decoder.rank(model, tokenizer, flat, k, num_beams, batch_size)
    per_row = [lists[i : i + num_thinks] for i in range(0, len(lists), num_thinks)]
    return [merge_rankings(ls, k) for ls in per_row], thinks


def ranking_metrics(ranked: Sequence[Sequence[str]], targets: Sequence[str], k: int = 10) -> dict[str, float]:
    ranks = np.array([first_hit_rank(list(r), t) for r, t in zip(ranked, targets)], dtype=np.int64)
    return {f"HR@{k}": float(hit_at_k(ranks, k).mean()) if len(ranks) else 0.0,
            f"NDCG@{k}": float(ndcg_at_k(ranks, k).mean()) if len(ranks) else 0.0}


def valid_ranking(model: Any, tokenizer: Any, rows: pd.DataFrame, decoder: SidDecoder, cfg: RankEvalConfig,
                  cot: bool) -> dict[str, float]:
    """HR@k and NDCG@k of the valid rows (greedy think when `cot`)."""
    ranked, _ = rank_rows(model, tokenizer, rows, decoder, cot=cot, k=cfg.k, num_beams=cfg.num_beams,
                          batch_size=cfg.batch_size, max_think_tokens=cfg.max_think_tokens)
    return ranking_metrics(ranked, list(rows["target"]), cfg.k)


def excluded_items(interactions: pd.DataFrame, samples: pd.DataFrame, keys: Sequence[str],
                   splits: Sequence[str] = ("valid", "test")) -> list[set[str]]:
    """The item ids each sample of `keys` (sample_ids, as in the sequential rows' `key`) must not be
    recommended: its full history, built exactly as popularity and SASRec build theirs
    (select_samples + recforge.data.sequences.histories, no length cap)."""
    chosen = select_samples(samples, tuple(splits))
    full = histories(interactions, chosen)
    missing = [key for key in keys if key not in full.index]
    if missing:
        raise ValueError(f"{len(missing)} sequential rows have no sample in splits {list(splits)} "
                         f"(e.g. {missing[:3]})")
    return [set(map(str, full[key])) for key in keys]


def predict(model: Any, tokenizer: Any, sequential: pd.DataFrame, decoder: SidDecoder, cfg: PredictConfig,
            cot: bool, interactions: pd.DataFrame | None = None,
            samples: pd.DataFrame | None = None) -> pd.DataFrame:
    """topk predictions (sample_id, split, items) for the sequential rows of cfg.splits, plus the
    thinks (`thinks` column, list[str]) for the CoT method.

    With cfg.exclude_history, `interactions` and `samples` (the canonical interactions and splits
    tables) give each sample's full history, which is excluded (excluded_items). Without them only the
    prompt's history (the sequential rows' `history`, at most tasks.max_history items) can be
    excluded; that is logged as a warning."""
    rows = sequential[sequential["split"].isin(list(cfg.splits))]
    model.eval()
    searched = max(cfg.k, cfg.num_beams) if cfg.exclude_history else cfg.k
    ranked, thinks = rank_rows(model, tokenizer, rows, decoder, cot=cot, k=searched, num_beams=cfg.num_beams,
                               batch_size=cfg.batch_size, max_think_tokens=cfg.max_think_tokens,
                               num_thinks=cfg.num_thinks, think_temperature=cfg.think_temperature,
                               think_top_p=cfg.think_top_p, seed=cfg.seed)
    if cfg.exclude_history:
        if interactions is not None and samples is not None:
            seen = excluded_items(interactions, samples, rows["key"].tolist(), cfg.splits)
        else:
            log.warning("no interactions/samples tables: excluding only the prompt's history")
            seen = [set(map(str, history)) for history in rows["history"]]
        ranked = [[i for i in map(str, r) if i not in s] for r, s in zip(ranked, seen)]
    lists = [list(map(str, r))[: cfg.k] for r in ranked]
    frame = topk_frame(rows["key"].tolist(), rows["split"].tolist(), lists)
    if cot:
        frame["thinks"] = thinks
    short = sum(len(items) < cfg.k for items in lists)
    if short:
        log.info("%d of %d lists have fewer than k=%d items (%d items searched%s)", short, len(lists), cfg.k,
                 searched, ", history excluded" if cfg.exclude_history else "")
    log.info("predicted %d samples (%s)", len(frame), frame["split"].value_counts().to_dict())
    return frame
