"""RecLM SFT samples from train events (seed notes 001, B.1-B.3) and their chat rendering.

Train samples (`draw_train_samples`): per user, `samples_per_user` draws over the user's TRAIN-phase
sequence s (never a valid or test event): t ~ U{1..len(s)-1}, start ~ U{max(0, t - max_item_length)
.. t-1}; the prompt shows s[start:t], the target is s[t]. (The seed draws one such sample per user per
epoch; here the draws are made once, seeded, so the teacher is asked once.) With `positions: last`
(not the seed's) every draw takes the user's last train event as its target and the
`max_item_length` events before it as its history, the train position closest to valid and test; the
draws of a user then differ in template, item count, candidates and chat turn.

Labels (`label_samples`): item_count ~ U{1..topk}; the teacher's top list for the user's whole train
prefix s[:t] (its items excluded by the service) with the target removed; output = ([target] +
teacher)[:item_count]: the ground truth first, then the teacher's top-(item_count - 1).

Prompts: one of the seed's train templates, uniformly (`cs_mr`: templates 0-3, `mr`: 2-3,
`generate`: 0 and 2); candidate templates list `candidate_num ~ U{topk..candidate_num}` candidates
(the output items plus random catalogue items outside the history and the output, shuffled). With
probability `multi_round_ratio` a general-chat pair is put before or after the recommendation turn (2
rounds). The answer is
"1. <SOI>A<EOI>\\n 2. <SOI>B<EOI>\\n" (numbers when `idx`).

Valid and test prompts (`eval_rows`): the sample's last `max_item_length` history items (events before
the target, recforge.data.sequences.histories), template `eval_template` (-1: the seed's test wording),
item_count = topk; label [target].
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from recforge.data.sequences import histories, user_sequences
from recforge.methods._common import select_samples, train_events
from recforge.methods.reclm.config import SampleConfig
from recforge.models.tokens import ITEM_END, ITEM_START
from recforge.text.templates import RECLM_SEQREC, RECLM_TEST

# "generate" is not the seed's: only the templates without a candidate list, i.e. the task valid and test
# pose (in the seed's groups half the rows ask to pick the answer out of a list that holds it).
TEMPLATE_GROUPS = {"cs_mr": (0, 1, 2, 3), "mr": (2, 3), "generate": (0, 2)}
CANDIDATE_TEMPLATES = (1, 3)
EVAL_TEMPLATE = -1  # the test template


def draw_train_samples(interactions: pd.DataFrame, cfg: SampleConfig) -> pd.DataFrame:
    """DataFrame[sample_id, user_id, split="train", history, prefix, target]: `history` the prompt's
    items, `prefix` every train item before the target (what the teacher sees)."""
    rng = random.Random(cfg.seed)
    rows = []
    for user, seq in user_sequences(train_events(interactions)).items():
        if len(seq) < 2:
            continue
        for n in range(cfg.samples_per_user):
            if cfg.positions == "last":
                t = len(seq) - 1
                start = max(0, t - cfg.max_item_length)
            else:
                t = rng.randint(1, len(seq) - 1)
                start = rng.randint(max(0, t - cfg.max_item_length), t - 1)
            rows.append((f"{user}:{t}:{n}", user, "train", seq[start:t], seq[:t], seq[t]))
    return pd.DataFrame(rows, columns=["sample_id", "user_id", "split", "history", "prefix", "target"])


def label_lists(targets: Sequence[str], teacher: Sequence[Sequence[str]], counts: Sequence[int]) -> list[list[str]]:
    """([target] + teacher list without the target)[:count] per sample."""
    return [([t] + [i for i in map(str, top) if i != t])[:c] for t, top, c in zip(targets, teacher, counts)]


def label_samples(samples: pd.DataFrame, teacher: Callable[[list[str], list[list[str]], int], list[list[str]]],
                  catalogue: Sequence[str], chat_size: int, cfg: SampleConfig, batch_size: int = 256) -> pd.DataFrame:
    """Train samples with `outputs` (the label list), `template`, `candidates` and the optional chat turn
    (`chat`: index into the chat set or -1; `chat_first`). `teacher(users, prefixes, k)` returns each
    user's top-k (the service). Every random draw is seeded by cfg.seed."""
    rng = random.Random(cfg.seed + 1)
    counts = [rng.randint(1, cfg.topk) for _ in range(len(samples))]
    tops: list[list[str]] = []
    users, prefixes = samples["user_id"].tolist(), [list(p) for p in samples["prefix"]]
    for lo in range(0, len(samples), batch_size):
        tops.extend(teacher(users[lo : lo + batch_size], prefixes[lo : lo + batch_size], cfg.topk))
    out = samples.copy()
    out["outputs"] = label_lists(out["target"].tolist(), tops, counts)
    group = TEMPLATE_GROUPS[cfg.tasks]
    templates, candidates, chats, first = [], [], [], []
    items = list(map(str, catalogue))
    for history, outputs in zip(out["history"], out["outputs"]):
        template = rng.choice(group)
        templates.append(template)
        cands: list[str] = []
        if template in CANDIDATE_TEMPLATES:
            size = rng.randint(cfg.topk, cfg.candidate_num)
            taken = set(map(str, history)) | set(outputs)
            cands = list(outputs)
            for _ in range(20 * size):  # rejection sampling; a tiny catalogue may give fewer
                if len(cands) >= max(size, len(outputs)):
                    break
                item = items[rng.randrange(len(items))]
                if item not in taken:
                    taken.add(item)
                    cands.append(item)
            rng.shuffle(cands)
        candidates.append(cands)
        multi = chat_size > 0 and rng.random() < cfg.multi_round_ratio
        chats.append(rng.randrange(chat_size) if multi else -1)
        first.append(bool(rng.random() < 0.5) if multi else False)
    out["item_count"] = [len(o) for o in out["outputs"]]
    out["template"], out["candidates"], out["chat"], out["chat_first"] = templates, candidates, chats, first
    return out.drop(columns=["prefix"])


def eval_rows(interactions: pd.DataFrame, samples: pd.DataFrame, splits: Sequence[str], cfg: SampleConfig) -> pd.DataFrame:
    """Valid/test rows in the train rows' layout: label [target], the test template, item_count topk.
    `excluded` is the sample's whole history (never recommended)."""
    chosen = select_samples(samples, tuple(splits))
    full = histories(interactions, chosen)
    return pd.DataFrame({
        "sample_id": chosen["sample_id"].tolist(), "user_id": chosen["user_id"].tolist(),
        "split": chosen["split"].tolist(),
        "history": [list(h[-cfg.max_item_length:]) for h in full],
        "target": chosen["item_id"].astype(str).tolist(),
        "outputs": [[str(t)] for t in chosen["item_id"]],
        "item_count": cfg.topk, "template": cfg.eval_template, "candidates": [[] for _ in range(len(chosen))],
        "chat": -1, "chat_first": False, "excluded": [list(h) for h in full],
    })


# ------------------------------------------------------------------------------------ rendering
HISTORY_SEPARATOR, QUOTE = " → ", "'"


def history_text(history: Sequence[str], item_text: Mapping[str, str]) -> str:
    return HISTORY_SEPARATOR.join(f"{QUOTE}{item_text[str(i)]}{QUOTE}" for i in history)


def history_char_spans(text: str, history: Sequence[str], item_text: Mapping[str, str]) -> list[tuple[int, int]]:
    """[start, end) in `text` of each history item's own text, in history order, where `text` holds
    the history as history_text writes it (at its first occurrence); [] when it does not."""
    at = text.find(history_text(history, item_text)) if len(history) else -1
    if at < 0:
        return []
    spans = []
    for item in history:
        start = at + len(QUOTE)
        end = start + len(item_text[str(item)])
        spans.append((start, end))
        at = end + len(QUOTE + HISTORY_SEPARATOR)
    return spans


def answer_text(items: Sequence[str], item_text: Mapping[str, str], idx: bool = True) -> str:
    """"1. <SOI>A<EOI>\\n 2. <SOI>B<EOI>\\n" (without numbers when not idx)."""
    parts = [f"{ITEM_START}{item_text[str(i)]}{ITEM_END}" for i in items]
    if idx:
        parts = [f"{n}. {p}" for n, p in enumerate(parts, start=1)]
    return "\n ".join(parts) + "\n"


def request_text(row: Mapping[str, Any], item_text: Mapping[str, str]) -> str:
    template = RECLM_TEST if int(row["template"]) == EVAL_TEMPLATE else RECLM_SEQREC[int(row["template"])]
    fields = {"history": history_text(row["history"], item_text), "item_count": int(row["item_count"]),
              "candidates": ", ".join(f"'{item_text[str(i)]}'" for i in row["candidates"])}
    return template.fill(**fields)[-1]["content"]


def conversation(row: Mapping[str, Any], item_text: Mapping[str, str], chat: Sequence[tuple[str, str]],
                 idx: bool = True, with_answer: bool = True) -> list[dict[str, str]]:
    """Chat messages of a row: system, [chat pair], request, answer, [chat pair]. Without the answer,
    the messages end with the request (a generation prompt)."""
    messages = [{"role": "system", "content": RECLM_TEST.system}]
    pair = []
    if int(row["chat"]) >= 0:
        q, a = chat[int(row["chat"])]
        pair = [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    if pair and row["chat_first"]:
        messages += pair
    messages.append({"role": "user", "content": request_text(row, item_text)})
    if not with_answer:
        return messages
    messages.append({"role": "assistant", "content": answer_text(row["outputs"], item_text, idx)})
    if pair and not row["chat_first"]:
        messages += pair
    return messages


def read_chat(path: str | Path) -> list[tuple[str, str]]:
    """The general-chat set: JSON lines {"question", "answer"} (resources/chat/README.md)."""
    pairs = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            pairs.append((str(record["question"]), str(record["answer"])))
    if not pairs:
        raise ValueError(f"{path}: no chat pairs")
    return pairs
