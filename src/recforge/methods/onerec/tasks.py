"""The four OneRec-Think task tables (prompt/completion pairs in chat form) and their mixture.

Every table has the columns of ROW_COLUMNS: `task`, `split` (the phase whose data the row may be
trained or evaluated on), `key` (sample_id, user_id or item_id), `user_id`, `target` (the target
item_id, "" where none or hidden), `history` (item ids shown in the prompt, oldest first), `system`,
`user` (the chat turns) and `completion` (the assistant answer; "" for test rows, whose answer is
never written down). Built only from what a model may see for the row's split:

- sequential (Sequential Preference Modeling): one row per sample of splits.parquet; history = the
  user's events before the sample's position (recforge.data.sequences.histories), shown as SIDs in the
  official prompt; answer = the target's SID after an empty think block. Train rows are every train
  sample (the fork's sliding windows), so they only ever see train events.
- alignment (Interleaved User Persona Grounding): one train row per user from train-phase events only
  (`{sid}, its title is "..", its categories are ".."` per item, then "User Summary: .." from a
  summary of train-phase events), and one valid row from train+valid events (valid loss only).
- caption (Itemic Dense Captioning): SID -> "{title}. {item summary or description}" for every
  catalogue item (item metadata, no user event), all rows `train`.
- general (General Language Modeling): the fork used UltraChat and COIG-CQIA from the hub; with no hub
  here the general text is the catalogue's own text (item description, else its summary) as plain LM
  text, without SIDs. It keeps the language-modelling pressure, not the chat-domain breadth.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from recforge.data.sequences import histories
from recforge.methods.onerec import prompts as P
from recforge.methods.onerec.config import MixtureConfig, TaskConfig
from recforge.text.items import as_list, as_text

log = logging.getLogger(__name__)

ROW_COLUMNS = ("task", "split", "key", "user_id", "target", "history", "system", "user", "completion")
TASKS = ("alignment", "sequential", "caption", "general")


def _frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(ROW_COLUMNS))
    for column in ROW_COLUMNS:
        if column != "history":
            frame[column] = frame[column].astype(object)
    return frame


def item_lookup(items: pd.DataFrame) -> dict[str, dict]:
    return {as_text(r["item_id"]): r for r in items.to_dict("records")}


def sequential_rows(interactions: pd.DataFrame, samples: pd.DataFrame, sid_of: Mapping[str, str],
                    cfg: TaskConfig, splits: tuple[str, ...] = ("train", "valid", "test")) -> pd.DataFrame:
    """One row per sample of `splits` (train: every sample, or each user's last one when
    cfg.sequential_train is "last"), in the prompt style cfg.prompt. Train rows whose history or target
    has no SID are dropped; valid and test rows are kept (every sample must be predicted)."""
    chosen = samples[samples["split"].isin(list(splits))]
    if cfg.sequential_train == "last":
        train = chosen["split"] == "train"
        last = chosen[train].groupby("user_id", sort=False)["position"].transform("max")
        chosen = chosen[~train | (chosen["position"] == last.reindex(chosen.index))]
    hist = histories(interactions, chosen, max_len=cfg.max_history)
    rows = []
    for sample_id, user_id, target, split in chosen[["sample_id", "user_id", "item_id", "split"]].itertuples(index=False):
        shown = [i for i in hist[sample_id] if i in sid_of]
        has_target = target in sid_of
        if split == "train" and (not shown or not has_target):
            continue
        hidden = split == "test"
        system, user = P.sequential_prompt([sid_of[i] for i in shown], cfg.prompt)
        rows.append({
            "task": "sequential", "split": split, "key": sample_id, "user_id": user_id,
            "target": "" if hidden else target, "history": shown, "system": system, "user": user,
            "completion": "" if hidden or not has_target else P.completion(sid_of[target]),
        })
    return _frame(rows)


def item_description(sid: str, item: Mapping) -> str:
    categories = " > ".join(as_list(item.get("categories")))
    return f'{sid}, its title is "{as_text(item.get("title"))}", its categories are "{categories}"'


def alignment_rows(interactions: pd.DataFrame, items: pd.DataFrame, sid_of: Mapping[str, str],
                   user_summaries: Mapping[str, str], cfg: TaskConfig) -> pd.DataFrame:
    """Per user: a `train` row from train-phase events, a `valid` row from train+valid events."""
    info = item_lookup(items)
    events = interactions.sort_values(["user_id", "position"], kind="stable")
    rows = []
    for split, phases in (("train", ("train",)), ("valid", ("train", "valid"))):
        seen = events[events["split"].isin(phases)]
        for user_id, group in seen.groupby("user_id", sort=True)["item_id"]:
            shown = [i for i in group.tolist() if i in sid_of][-cfg.max_history :]
            if not shown:
                continue
            text = P.history_text([item_description(sid_of[i], info.get(i, {})) for i in shown])
            summary = as_text(user_summaries.get(user_id)) or "Unknown."
            rows.append({
                "task": "alignment", "split": split, "key": user_id, "user_id": user_id, "target": "",
                "history": shown, "system": P.ALIGNMENT_SYSTEM, "user": P.ALIGNMENT_USER,
                "completion": f"{text} User Summary: {summary}",
            })
    return _frame(rows)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rstrip() + "..."


def caption_rows(items: pd.DataFrame, sid_of: Mapping[str, str], item_summaries: Mapping[str, str],
                 cfg: TaskConfig) -> pd.DataFrame:
    rows = []
    for item_id, item in sorted(item_lookup(items).items()):
        if item_id not in sid_of:
            continue
        title = as_text(item.get("title"))
        body = as_text(item_summaries.get(item_id)) or as_text(item.get("description"))
        text = ". ".join(t for t in (title, body) if t)
        if not text:
            continue
        rows.append({
            "task": "caption", "split": "train", "key": item_id, "user_id": "", "target": item_id,
            "history": [], "system": P.CAPTION_SYSTEM, "user": P.CAPTION_USER.format(sid=sid_of[item_id]),
            "completion": _cut(text, cfg.caption_max_chars),
        })
    return _frame(rows)


def general_rows(items: pd.DataFrame, item_summaries: Mapping[str, str], cfg: TaskConfig) -> pd.DataFrame:
    rows = []
    for item_id, item in sorted(item_lookup(items).items()):
        text = as_text(item.get("description")).strip("[]'\" ") or as_text(item_summaries.get(item_id))
        if len(text.split()) < 5:
            continue
        rows.append({
            "task": "general", "split": "train", "key": item_id, "user_id": "", "target": "",
            "history": [], "system": P.GENERAL_SYSTEM, "user": P.GENERAL_USER,
            "completion": _cut(text, cfg.general_max_chars),
        })
    return _frame(rows)


def build_tasks(items: pd.DataFrame, interactions: pd.DataFrame, samples: pd.DataFrame,
                sid_of: Mapping[str, str], item_summaries: Mapping[str, str],
                user_summaries: Mapping[str, str], cfg: TaskConfig) -> dict[str, pd.DataFrame]:
    tables = {
        "alignment": alignment_rows(interactions, items, sid_of, user_summaries, cfg),
        "sequential": sequential_rows(interactions, samples, sid_of, cfg),
        "caption": caption_rows(items, sid_of, item_summaries, cfg),
        "general": general_rows(items, item_summaries, cfg),
    }
    for name, table in tables.items():
        log.info("task %s: %s", name, table["split"].value_counts().to_dict())
    return tables


def mix(tables: Mapping[str, pd.DataFrame], cfg: MixtureConfig) -> pd.DataFrame:
    """The training mixture (train rows only). As the fork's HEAD: scale = min_i(len_i / ratio_i)
    (further capped by `total`), n_i = int(scale * ratio_i) rows sampled from task i without
    replacement (seeded), then shuffled. Tasks with ratio 0 or no rows are left out."""
    ratios = {t: float(r) for t, r in cfg.ratios.items() if float(r) > 0}
    unknown = set(ratios) - set(tables)
    if unknown:
        raise ValueError(f"mixture ratios name unknown tasks {sorted(unknown)}")
    train = {t: tables[t][tables[t]["split"] == "train"] for t in ratios}
    train = {t: f for t, f in train.items() if len(f)}
    if not train:
        raise ValueError("no task has training rows")
    norm = sum(ratios[t] for t in train)
    share = {t: ratios[t] / norm for t in train}
    scale = min(len(f) / share[t] for t, f in train.items())
    if cfg.total is not None:
        scale = min(scale, float(cfg.total))
    parts = []
    for n, (task, frame) in enumerate(sorted(train.items())):
        count = int(scale * share[task] + 1e-9)
        parts.append(frame.sample(n=count, random_state=cfg.seed + n))
        log.info("mixture: %s %d of %d rows (%.2f%%)", task, count, len(frame), 100 * share[task])
    mixed = pd.concat(parts, ignore_index=True)
    return mixed.sample(frac=1.0, random_state=cfg.seed).reset_index(drop=True)


def subsample(frame: pd.DataFrame, n: int | None, seed: int) -> pd.DataFrame:
    """A seeded subsample of at most n rows (all rows when n is None), original order kept."""
    if n is None or len(frame) <= n:
        return frame
    picked = np.sort(np.random.default_rng(seed).choice(len(frame), size=n, replace=False))
    return frame.iloc[picked]
