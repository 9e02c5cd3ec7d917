"""Item personas from the raters' profiles; persona selection by category overlap with the user."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from recforge.llm.heuristic.stats import join_words, rating_of, top_categories
from recforge.text.items import as_text
from recforge.text.terms import content_categories

_FAN_NOUNS = ("Enthusiast", "Devotee", "Explorer", "Collector", "Aficionado", "Seeker", "Fan")


def _title_case(words: str) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in words.split())


def _name(anchor: str, liked: bool, index: int) -> str:
    head = _title_case(anchor.split(" & ")[0].split(",")[0])
    head = " ".join(head.split()[:2])
    noun = _FAN_NOUNS[index % len(_FAN_NOUNS)] if liked else "Critic"
    return f"{head} {noun}"


def personas(ctx: Mapping[str, Any]) -> str:
    """Group raters by (liked the item?, their favourite category); each group becomes a persona,
    largest groups first, critics kept as their own personas (the seed asks to preserve minority
    opinions)."""
    item, domain = ctx["item"], ctx["domain"]
    title = as_text(item.get("title")) or f"this {domain}"
    item_categories = content_categories(item) or [domain]
    threshold = float(ctx["like_threshold"])
    groups: dict[tuple[bool, str], list[float | None]] = defaultdict(list)
    for rater in ctx["raters"]:
        rating = rater.get("rating")
        liked = rating is None or float(rating) >= threshold
        favourites = rater["liked_categories"] if liked else rater["disliked_categories"]
        anchor = favourites[0] if favourites else item_categories[0]
        groups[(liked, anchor)].append(rating)
    ordered = sorted(groups.items(), key=lambda g: (-len(g[1]), not g[0][0], g[0][1]))
    max_n, min_n = int(ctx["max_personas"]), int(ctx["min_personas"])
    chosen = ordered[:max_n]
    # Fewer groups than asked: add personas anchored on the item's own categories.
    extra = [c for c in item_categories if all(c != a for (_, a), _ in chosen)]
    while len(chosen) < min_n and extra and ctx["raters"]:
        chosen.append(((True, extra.pop(0)), []))
    out = []
    for index, ((liked, anchor), ratings) in enumerate(chosen):
        known = [r for r in ratings if r is not None]
        signal = (
            f"{len(ratings)} rater(s) who favour {anchor} rated it {sum(known) / len(known):.1f} on average"
            if known
            else f"it belongs to {join_words(item_categories[:2])}"
        )
        if liked:
            description = (
                f"This {domain} lover is drawn to {anchor}. They look for {join_words(item_categories[:2])} "
                f"and value titles that deliver on their genre. They return to {title} for what it shares "
                f"with their favourites."
            )
            rationale = f"This persona appreciates this item because {signal}."
        else:
            description = (
                f"This critic holds {anchor} to a high standard. "
                f"They approach {join_words(item_categories[:2])} "
                f"critically and notice weaknesses quickly. They engage with {title} but are often left "
                f"unsatisfied."
            )
            rationale = f"This persona appreciates this item because it touches {anchor}, although {signal}."
        out.append(
            {
                "ID": f"P{index + 1}",
                "Name": _name(anchor, liked, index),
                "Description": description,
                "Preference_Rationale": rationale,
            }
        )
    return json.dumps({"personas": out}, ensure_ascii=False)


def persona_selection(ctx: Mapping[str, Any]) -> str:
    threshold = float(ctx["like_threshold"])
    history = ctx["history"]
    liked = [i for i in history if (rating_of(i) or 0.0) >= threshold] or list(history)
    preferences = top_categories(liked, 5)
    pref_words = {w.lower() for c in preferences for w in c.replace("&", " ").split()}

    def score(p: Mapping[str, str]) -> tuple[int, int]:
        text = f"{p['Name']} {p['Description']} {p['Preference_Rationale']}".lower()
        overlap = sum(w in text for w in pref_words)
        return overlap, -int(p["ID"][1:]) if p["ID"][1:].isdigit() else 0

    best = max(ctx["personas"], key=score)
    prefs = join_words(preferences[:3]) or "no clear category"
    return (
        f"Reasoning: The user's core preferences are {prefs}, judged from {len(liked)} liked items. "
        f"{best['Name']} ({best['ID']}) shares the most of these interests, so it best explains why the "
        f"user engages with {as_text(ctx['target'].get('title')) or 'the target item'}.\n"
        f"Selection: {best['ID']}"
    )
