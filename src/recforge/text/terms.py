"""Word and category terms for the distinctive-term statistics of heuristic text writers."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from recforge.text.items import as_list, as_text, is_generic_category

# Words that name formats and editions rather than content, and English function words.
STOPWORDS = frozenset(
    """a an and are as at be by for from has have in is it its of on or that the this to was were will
    with vol volume edition dvd blu ray bluray vhs hd 4k uhd digital copy set disc discs season seasons
    complete collection series widescreen fullscreen special collector collectors pack box movie movies
    tv import region new version ultimate deluxe remastered anniversary ii iii iv part amazon
    one two my me i you your we our his her he she they them not no all""".split()
)
_WORD = re.compile(r"[a-z][a-z'\-]+")


def title_words(title: str) -> list[str]:
    """Content words of a title, lower-case, without format words ("[Blu-ray]") or stopwords."""
    title = re.sub(r"\[[^\]]*\]|\([^)]*\)", " ", title.lower())
    return [w.strip("'-") for w in _WORD.findall(title) if w.strip("'-") not in STOPWORDS and len(w) > 2]


def item_terms(item: Mapping[str, Any]) -> set[str]:
    """An item's terms: "cat:<category>" for each content category and "w:<word>" for title words."""
    terms = {f"cat:{c}" for c in content_categories(item)}
    terms.update(f"w:{w}" for w in title_words(as_text(item.get("title"))))
    return terms


def document_frequency(items: Iterable[Mapping[str, Any]]) -> tuple[dict[str, int], int]:
    """Term -> number of items having it, and the number of items."""
    df: dict[str, int] = {}
    n = 0
    for item in items:
        n += 1
        for term in item_terms(item):
            df[term] = df.get(term, 0) + 1
    return df, n


def content_categories(item: Mapping[str, Any]) -> list[str]:
    """An item's categories without catalogue roots and generic shop categories, in path order
    (deduplicated)."""
    categories = as_list(item.get("categories"))
    seen: list[str] = []
    for c in categories:
        if not is_generic_category(c) and c not in seen:
            seen.append(c)
    return seen
