"""Item summaries from the catalogue fields; user summaries from the user's rating history."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from recforge.llm.heuristic.stats import (
    cap_words,
    join_words,
    quoted_titles,
    rating_of,
    rating_stats,
    top_categories,
)
from recforge.text.items import as_list, as_text, category_path
from recforge.text.terms import content_categories

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _article(noun: str) -> str:
    return "an" if noun[:1].lower() in "aeiou" else "a"


def item_summary(ctx: Mapping[str, Any]) -> str:
    item, domain = ctx["item"], ctx["domain"]
    title = as_text(item.get("title")) or f"This {domain}"
    categories = content_categories(item)
    brand = as_text(item.get("brand"))
    sentence = f"{title} is {_article(domain)} {domain}"
    if categories:
        sentence += f" in {join_words(categories[-3:])}"
    elif category_path(item, drop_root=True):
        sentence += f" listed under {category_path(item, drop_root=True)}"
    if brand:
        sentence += f" by {brand}"
    parts = [sentence + "."]
    description = as_text(item.get("description")).strip("[]'\" ")
    if description:
        # The first sentences of the description carry the what-it-is; later ones are usually
        # marketing, shipping or legal text.
        parts.extend(s.strip() for s in _SENTENCE_END.split(description)[:3] if s.strip())
    features = as_list(item.get("features"))
    if features:
        parts.append("Key features: " + "; ".join(features[:4]) + ".")
    return cap_words(" ".join(parts), int(ctx["max_words"]))


def user_summary(ctx: Mapping[str, Any]) -> str:
    history, domain, threshold = ctx["history"], ctx["domain"], float(ctx["like_threshold"])
    if not history:
        return f"The user has no recorded {domain}s yet."
    stats = rating_stats(history, threshold)
    liked = [i for i in history if (rating_of(i) or 0.0) >= threshold]
    disliked = [i for i in history if rating_of(i) is not None and rating_of(i) < threshold]
    parts = [f"The user has interacted with {len(history)} {domain}s"]
    if stats.n:
        parts[
            0
        ] += f", rating them {stats.mean:.1f} on average ({stats.liked} liked, {stats.disliked} disliked)"
    parts[0] += "."
    liked_categories = top_categories(liked or history, 3)
    if liked_categories:
        parts.append(f"The user gravitates towards {join_words(liked_categories)}.")
    if disliked:
        # A category among both liked and disliked items is not a dislike: keep the rest.
        disliked_categories = [c for c in top_categories(disliked, 3) if c not in liked_categories]
        if disliked_categories:
            parts.append(f"The user tends to dislike {join_words(disliked_categories[:2])}.")
    recent_liked = list(reversed(liked))[:3]
    if recent_liked:
        parts.append(f"Recent favourites include {quoted_titles(recent_liked, 3)}.")
    elif not stats.n:
        parts.append(f"Recent {domain}s include {quoted_titles(list(reversed(history)), 3)}.")
    return cap_words(" ".join(parts), int(ctx["max_words"]))
