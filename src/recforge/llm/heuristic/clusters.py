"""Cluster names from the most distinctive terms of the cluster's nearest items."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from typing import Any

from recforge.llm.heuristic.stats import join_words
from recforge.text.terms import item_terms


def distinctive_terms(ctx: Mapping[str, Any]) -> list[tuple[str, float]]:
    """Terms ranked by (share of cluster items having the term) * log(catalogue size / catalogue
    document frequency): frequent inside the cluster, rare outside it."""
    items = ctx["items"]
    counts: Counter[str] = Counter()
    for item in items:
        counts.update(item_terms(item))
    n_catalogue = max(int(ctx["n_catalogue"]), 1)
    df = ctx["term_df"]
    scored = []
    for term, count in counts.items():
        if count < 2 and len(items) > 3:  # a term of one item says nothing about the cluster
            continue
        idf = math.log((n_catalogue + 1) / (df.get(term, count) + 1)) + 1.0
        scored.append((term, count / len(items) * idf))
    scored.sort(key=lambda t: (-t[1], t[0]))
    return scored


def cluster_name(ctx: Mapping[str, Any]) -> str:
    ranked = distinctive_terms(ctx)
    categories: list[str] = []
    for term, _ in ranked:
        name = term[4:]
        # Skip near-duplicates along a path ("Anime" next to "Anime & Manga").
        if term.startswith("cat:") and not any(name in c or c in name for c in categories):
            categories.append(name)
        if len(categories) == 2:
            break
    words = [t[2:] for t, _ in ranked if t.startswith("w:")][:3]
    if categories and words:
        phrase = f"{join_words(categories)}: {', '.join(w.capitalize() for w in words)}"
    elif categories:
        phrase = join_words(categories)
    elif words:
        phrase = f"{ctx['domain'].capitalize()}s about {join_words(words)}"
    else:
        phrase = f"Assorted {ctx['domain']}s"
    return f"- Theme: {' '.join(phrase.split()[:10])}"
