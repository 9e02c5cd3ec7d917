"""Reasoning targets for stage 3 (Reasoning Activation): "<think>{cot}</think>" before the SID.

The released code wrote one template sentence from the TARGET's category ("The user is likely to buy
items in {categories} category"), which states the answer (seed notes 1.4). Here a CoT is written from
the sample's history alone: the context handed to the writer holds the history and never the target,
so it cannot state or hint the answer. Two writers:

- `history_cot` (deterministic, used when llm.backend is `heuristic`): recent items, recurring
  categories and brands with their counts, the rating pattern, and the interest the most recent items
  share;
- an LLM through recforge.llm with this module's own template `ONEREC_COT` (same PromptTemplate class
  as recforge.text.templates), for any other backend. Its answers are checked with `leaked_terms`
  (words of the target's title/categories that no history item has); a leaking answer is replaced by
  the deterministic CoT and counted.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recforge.llm import GenerationRequest, LLMSettings, Sampling, run_stage
from recforge.llm.heuristic.stats import cap_words, join_words, quoted_titles, rating_stats, top_categories
from recforge.methods.onerec import prompts as P
from recforge.methods.onerec.config import CotConfig
from recforge.methods.onerec.tasks import _frame, item_lookup
from recforge.text.contexts import rated_item
from recforge.text.items import as_text, item_line
from recforge.text.templates import PromptTemplate
from recforge.text.terms import STOPWORDS, content_categories

log = logging.getLogger(__name__)

ONEREC_COT = PromptTemplate(
    name="onerec_cot",
    version=1,
    system="You are a recommendation analyst who reasons about a user's purchase history.",
    user=(
        "Below are the $n_items ${domain}s a user bought, oldest first, as Title, Categories, Rating "
        "(1 to 5; '?' where unknown):\n$history_lines\n\n"
        "In at most $max_words words, reason about what the user is interested in now: recurring "
        "categories and brands, how the most recent items differ from older ones, and the rating "
        "pattern. Do not name a specific next $domain; end with the kind of $domain the user is likely "
        "to want next. Answer with the reasoning only."
    ),
)


# ---------------------------------------------------------------------------------------- contexts
def rated_histories(interactions: pd.DataFrame, samples: pd.DataFrame, max_len: int) -> dict[str, list[tuple[str, float]]]:
    """sample_id -> [(item_id, rating)] of the user's last max_len events before the sample's
    position (the same slice as recforge.data.sequences.histories)."""
    events = interactions.sort_values(["user_id", "position"], kind="stable")
    by_user = {u: (g["item_id"].tolist(), g["rating"].tolist()) for u, g in events.groupby("user_id", sort=False)}
    out = {}
    for sample_id, user_id, position in samples[["sample_id", "user_id", "position"]].itertuples(index=False):
        item_ids, ratings = by_user.get(user_id, ([], []))
        end = min(int(position), len(item_ids))
        begin = max(0, end - max_len)
        out[sample_id] = list(zip(item_ids[begin:end], ratings[begin:end]))
    return out


def cot_contexts(rows: pd.DataFrame, interactions: pd.DataFrame, samples: pd.DataFrame, items: pd.DataFrame,
                 cfg: CotConfig, domain: str, max_history: int, like_threshold: float = 4.0) -> dict[str, dict]:
    """key -> context of each sequential row (its shown history with ratings; no target)."""
    info = item_lookup(items)
    rated = rated_histories(interactions, samples[samples["sample_id"].isin(set(rows["key"]))], max_history)
    contexts = {}
    for key, shown in zip(rows["key"], rows["history"]):
        keep = set(shown)
        history = [rated_item(info.get(i, {"item_id": i}), r) for i, r in rated.get(key, []) if i in keep]
        contexts[key] = {"domain": domain, "history": history, "recent": cfg.recent,
                         "max_words": cfg.max_words, "like_threshold": like_threshold}
    return contexts


# -------------------------------------------------------------------------------------- the writer
def _counted(items: Sequence[Mapping[str, Any]], names: Sequence[str], n: int) -> str:
    counts = Counter(c for i in items for c in dict.fromkeys(content_categories(i)))
    return join_words([f"{c} ({counts[c]} of {n})" for c in names])


def history_cot(ctx: Mapping[str, Any]) -> str:
    """A deterministic reasoning paragraph from the history only (oldest first)."""
    history, domain = list(ctx["history"]), ctx["domain"]
    if not history:
        return f"There is no earlier {domain} to go on, so a widely bought {domain} is the safest choice."
    n = len(history)
    recent = history[-int(ctx.get("recent", 5)) :]
    latest = list({as_text(i.get("title")): i for i in reversed(recent)}.values())  # newest first, distinct
    parts = [f"The user bought {n} {domain}{'s' if n > 1 else ''}; the most recent "
             f"{'are' if len(latest) > 1 else 'is'} {quoted_titles(latest, 3) or 'untitled'}."]
    overall = top_categories(history, 3)
    counts = Counter(c for i in history for c in dict.fromkeys(content_categories(i)))
    recurring = [c for c in overall if counts[c] > 1]
    if recurring:
        parts.append(f"Recurring categories: {_counted(history, recurring, n)}.")
    elif overall:
        parts.append(f"No category repeats yet; the items span {join_words(overall)}.")
    brands = Counter(as_text(i.get("brand")) for i in history if as_text(i.get("brand")))
    repeated = [b for b, c in brands.most_common(2) if c > 1]
    if repeated:
        parts.append(f"The user comes back to {join_words(repeated)}.")
    stats = rating_stats(history, float(ctx.get("like_threshold", 4.0)))
    if stats.n:
        mood = "mostly satisfied" if stats.disliked * 3 <= stats.n else "selective"
        parts.append(f"Ratings average {stats.mean:.1f} ({stats.liked} liked, {stats.disliked} disliked): "
                     f"the user is {mood}.")
    now = top_categories(recent, 2)
    if now and overall and now[0] != overall[0]:
        parts.append(f"Lately the interest moved towards {join_words(now)}, "
                     f"so the next {domain} most likely continues that.")
    elif now:
        parts.append(f"Recent purchases stay with {join_words(now)}, so the next {domain} most likely does too.")
    else:
        parts.append(f"The next {domain} most likely resembles the recent ones.")
    return cap_words(" ".join(parts), int(ctx.get("max_words", 80)))


# ---------------------------------------------------------------------------------- leak checking
_WORD = re.compile(r"[a-z0-9][a-z0-9'\-]*")


def _words(text: str) -> set[str]:
    return {w.strip("'-") for w in _WORD.findall(text.lower()) if len(w.strip("'-")) > 2} - STOPWORDS


def item_words(item: Mapping[str, Any]) -> set[str]:
    """Words of an item's title, categories and brand."""
    text = " ".join([as_text(item.get("title")), " ".join(content_categories(item)), as_text(item.get("brand"))])
    return _words(text)


def target_only_words(target: Mapping[str, Any], history: Sequence[Mapping[str, Any]], domain: str = "") -> set[str]:
    """Words of the target's title/categories/brand that no history item (nor the domain noun) has."""
    seen = set().union(*(item_words(i) for i in history)) if history else set()
    return item_words(target) - seen - _words(domain)


def leaked_terms(cot: str, target: Mapping[str, Any], history: Sequence[Mapping[str, Any]], domain: str = "") -> set[str]:
    """Target-only words that occur in `cot` as whole words."""
    return target_only_words(target, history, domain) & _words(cot)


# ----------------------------------------------------------------------------------- generation
def cot_request(key: str, ctx: Mapping[str, Any], sampling: Sampling) -> GenerationRequest:
    lines = "\n".join(
        f"{item_line(i)}, {'?' if i.get('rating') is None else format(float(i['rating']), 'g')}"
        for i in ctx["history"]
    )
    messages = ONEREC_COT.fill(domain=ctx["domain"], n_items=len(ctx["history"]), history_lines=lines,
                               max_words=ctx["max_words"])
    return GenerationRequest(request_id=str(key), task=ONEREC_COT.name, messages=tuple(messages),
                             context=dict(ctx), sampling=sampling)


def write_cots(contexts: Mapping[str, Mapping[str, Any]], targets: Mapping[str, Mapping[str, Any]],
               cfg: CotConfig, settings: LLMSettings | None = None, cache_path: str | Path | None = None,
               usage_path: str | Path | None = None) -> pd.DataFrame:
    """key -> cot, source ("history_stats" or backend/model), leaked (bool, replaced). `targets` is
    read only by the leak check, never by a writer."""
    keys = list(contexts)
    if settings is None or settings.backend == "heuristic":
        texts = [history_cot(contexts[k]) for k in keys]
        sources = ["history_stats"] * len(keys)
    else:
        sampling = Sampling(temperature=cfg.temperature, max_tokens=cfg.max_tokens, seed=cfg.seed)
        run = run_stage([cot_request(k, contexts[k], sampling) for k in keys], settings, cache_path,
                        usage_path, stage="onerec_cot")
        texts = [P.think_text(r.text) if not r.error else history_cot(contexts[k]) for k, r in zip(keys, run.responses)]
        sources = [f"{r.backend}/{r.model}" if not r.error else "history_stats" for r in run.responses]
    leaked = []
    for n, key in enumerate(keys):
        ctx = contexts[key]
        bad = leaked_terms(texts[n], targets.get(key, {}), ctx["history"], ctx["domain"]) if key in targets else set()
        if bad:
            texts[n], sources[n] = history_cot(ctx), "history_stats"
        leaked.append(bool(bad))
    if any(leaked):
        log.warning("CoT: %d of %d answers named target-only words and were replaced", sum(leaked), len(keys))
    return pd.DataFrame({"key": keys, "cot": texts, "source": sources, "leaked": np.array(leaked, dtype=bool)})


def reasoning_rows(sequential: pd.DataFrame, cots: Mapping[str, str], sid_of: Mapping[str, str]) -> pd.DataFrame:
    """Stage-3 rows: the sequential rows (train/valid, with a target) whose answer is the CoT, then the
    SID; same prompts as the sequential task (identical inputs for CoT and no-CoT)."""
    rows = []
    for row in sequential.to_dict("records"):
        if row["split"] == "test" or not row["target"] or row["target"] not in sid_of or row["key"] not in cots:
            continue
        rows.append({**row, "task": "reasoning", "completion": P.completion(sid_of[row["target"]], cots[row["key"]])})
    return _frame(rows)
