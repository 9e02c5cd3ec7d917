"""Item descriptions and user profiles for the prompts.

`generated` (default): through recforge.llm, cached, with usage. An item's description is written from
its catalogue fields only (title, categories, brand, price/features; the `item_summary` task), so no
review, and nothing later than any target, is read. A user's profile is written from the profile
window (windows.py: events before every window's history) with the `user_summary` task.

`paper`: the texts ReasoningRec ships (Mixtral-8x7B). Their item descriptions summarise *all* reviews
of an item, later ones included (a leak the config comment names); users without one get none.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pandas as pd

from recforge.io import read_json, write_json, write_parquet
from recforge.llm import LLMSettings, Sampling, make_request, run_stage
from recforge.llm.item_summaries import ItemSummaryConfig, summarize_items
from recforge.methods.reasoningrec.config import ReasoningRecSettings
from recforge.text.contexts import rated_item
from recforge.text.render import template_id

PAPER_ITEMS, PAPER_PROFILES = "processed_item_information.json", "user_profile_summary.json"


def clean(text: str) -> str:
    """One line: the paper's texts start with "\\n\\n" and carry inner newlines."""
    return " ".join(str(text or "").split())


def profile_contexts(windows: pd.DataFrame, items: pd.DataFrame, settings: ReasoningRecSettings,
                     domain: str) -> dict[str, dict]:
    """user_id -> user_summary context of the user's profile window (users with a non-empty one)."""
    info = {r["item_id"]: r for r in items.to_dict("records")}
    contexts = {}
    for w in windows.drop_duplicates("user_id").itertuples(index=False):
        if len(w.profile_items):
            history = [rated_item(info[i], r) for i, r in zip(w.profile_items, w.profile_ratings)]
            contexts[w.user_id] = {"domain": domain, "history": history, "max_words": settings.profile.max_words,
                                   "like_threshold": settings.like_threshold}
    return contexts


def generated_texts(windows: pd.DataFrame, items: pd.DataFrame, settings: ReasoningRecSettings, domain: str,
                    llm: LLMSettings, cache_dir: str | Path, usage_path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Descriptions and profiles through recforge.llm; both stages' usage reports in one JSON."""
    d, p = settings.description, settings.profile
    cache_dir = Path(cache_dir)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        descriptions = summarize_items(
            items, ItemSummaryConfig(domain, d.max_words, d.temperature, d.max_tokens, d.seed), llm,
            cache_dir / "reasoningrec_descriptions.sqlite", scratch / "descriptions.parquet",
            scratch / "descriptions.json")
        sampling = Sampling(temperature=p.temperature, max_tokens=p.max_tokens, seed=p.seed)
        contexts = profile_contexts(windows, items, settings, domain)
        requests = [make_request(user, "user_summary", ctx, sampling) for user, ctx in contexts.items()]
        run = run_stage(requests, llm, cache_dir / "reasoningrec_profiles.sqlite", scratch / "profiles.json",
                        stage="reasoningrec_profiles")
        write_json({"texts": "generated", "descriptions": read_json(scratch / "descriptions.json"),
                    "profiles": read_json(scratch / "profiles.json")}, usage_path)
    profiles = pd.DataFrame({"user_id": [r.request_id for r in run.responses],
                             "profile": [clean(r.text) for r in run.responses],
                             "source": template_id("user_summary")})
    desc = pd.DataFrame({"item_id": descriptions["item_id"], "description": descriptions["summary"].map(clean),
                         "source": descriptions["template"]})
    return desc, profiles


def paper_texts(folder: str | Path, items: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    folder = Path(folder)
    raw = json.loads((folder / PAPER_ITEMS).read_text(encoding="utf-8"))
    profiles = json.loads((folder / PAPER_PROFILES).read_text(encoding="utf-8"))
    desc = pd.DataFrame({"item_id": items["item_id"],
                         "description": [clean(raw.get(i, {}).get("description", "")) for i in items["item_id"]],
                         "source": "paper:mixtral-8x7b"})
    prof = pd.DataFrame({"user_id": list(profiles), "profile": [clean(v) for v in profiles.values()],
                         "source": "paper:mixtral-8x7b"})
    return desc, prof


def write_texts(windows: pd.DataFrame, items: pd.DataFrame, settings: ReasoningRecSettings, domain: str,
                llm: LLMSettings, cache_dir: str | Path, descriptions_path: str | Path, profiles_path: str | Path,
                usage_path: str | Path) -> None:
    if settings.texts == "paper":
        if not settings.paper_texts:
            raise ValueError("methods.reasoningrec.texts is 'paper' but paper_texts names no folder")
        desc, prof = paper_texts(settings.paper_texts, items)
        write_json({"texts": "paper", "folder": settings.paper_texts}, usage_path)
    elif settings.texts == "generated":
        desc, prof = generated_texts(windows, items, settings, domain, llm, cache_dir, usage_path)
    else:
        raise ValueError(f"methods.reasoningrec.texts must be generated or paper, got {settings.texts!r}")
    write_parquet(desc, descriptions_path)
    write_parquet(prof, profiles_path)

