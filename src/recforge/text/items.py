"""Canonical item rows -> text.

Item rows come from items.parquet (docs/contracts.md) or from plain dicts; list columns may arrive as
numpy arrays from parquet, hence `as_list`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# Versions of the renderings below: part of an embedding artifact's metadata, so a changed rendering
# is visible in what was embedded.
EMBEDDING_TEXT_VERSION = 1


def as_list(value: Any) -> list[str]:
    """A list column value (list, tuple, numpy array, None) as a list of non-empty strings."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    try:
        return [str(v) for v in value if v is not None and str(v) != ""]
    except TypeError:
        return []


def as_text(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    return "" if text == "nan" else text.strip()


def category_path(item: Mapping[str, Any], sep: str = " > ", drop_root: bool = False) -> str:
    """The category path, root first. drop_root removes a leading catalogue root ("Movies & TV"),
    which says nothing about an item within its own catalogue."""
    categories = as_list(item.get("categories"))
    if drop_root and categories and is_generic_category(categories[0]):
        categories = categories[1:]
    return sep.join(categories)


# Category names that describe a format, a studio, a shop section or a promotion rather than what an
# item is about ("Blu-ray", "All Sony Pictures Titles", "Today's Deals"); Amazon paths are full of
# them, and a summary that says "the user likes Studio Specials" is useless.
_GENERIC_CATEGORY = re.compile(
    r"^(all |studio specials|featured|genre for|today's deals|movies$|tv$|television$|blu-ray|dvd|"
    r"boxed sets|general$|special editions|fully loaded|the big |spotlight|dts$|independently "
    r"distributed|award winners|oscar|past oscar|mother's day|father's day|characters & series|"
    r"unknown$|new releases|holidays & seasonal|prime video|imports?$|widescreen|4k"
    # Amazon catalogue roots: they name the whole catalogue, not the item.
    r"|(movies & tv|all beauty|beauty|luxury beauty|beauty & personal care|industrial & scientific|"
    r"books|kindle store|cds & vinyl|video games|toys & games|sports & outdoors|electronics|"
    r"home & kitchen|clothing, shoes & jewelry|health & household|grocery & gourmet food|"
    r"office products|tools & home improvement|automotive|pet supplies|cell phones & accessories)$)"
    r"|(home (entertainment|video)|titles|deals|gift ideas|store|shop|entertainment)$",
    re.IGNORECASE,
)


def is_generic_category(name: str) -> bool:
    return bool(_GENERIC_CATEGORY.search(name.strip()))


def truncate_words(text: str, max_words: int) -> str:
    words = text.split()
    if len(words) <= max_words:
        return " ".join(words)
    return " ".join(words[:max_words]) + " ..."


def item_line(item: Mapping[str, Any]) -> str:
    """One line "Title, Cat1|Cat2|..." as in the seed-000 prompts (history lines, candidate)."""
    parts = [as_text(item.get("title")) or f"item {as_text(item.get('item_id'))}"]
    path = category_path(item, sep="|")
    if path:
        parts.append(path)
    return ", ".join(parts)


def rating_stats_text(stats: Mapping[str, Any] | None) -> str:
    """The candidate line's suffix on other users' ratings of the item ({n, mean}; None: no suffix):
    "; rated 4.2 on average by 8 other users", or "; not rated by other users yet"."""
    if stats is None:
        return ""
    n = int(stats["n"])
    if n <= 0:
        return "; not rated by other users yet"
    return f"; rated {float(stats['mean']):.1f} on average by {n} other user{'s' if n > 1 else ''}"


def item_card(item: Mapping[str, Any], max_description_words: int = 80) -> str:
    """A multi-line description of an item with every field the catalogue has (empty ones left out)."""
    lines = [f"Title: {as_text(item.get('title')) or 'unknown'}"]
    path = category_path(item)
    if path:
        lines.append(f"Categories: {path}")
    brand = as_text(item.get("brand"))
    if brand:
        lines.append(f"Brand: {brand}")
    features = as_list(item.get("features"))
    if features:
        lines.append("Features: " + "; ".join(features[:8]))
    description = as_text(item.get("description"))
    if description:
        lines.append("Description: " + truncate_words(description, max_description_words))
    return "\n".join(lines)


def embedding_text(item: Mapping[str, Any]) -> str:
    """The text a sentence embedder sees: the seed-000 format (title, category path, features) plus the
    brand and the start of the description where the catalogue has them."""
    text = (
        f"Title: {as_text(item.get('title'))}.\n"
        f"Category: {category_path(item, sep='|')}.\n"
        f"Feature: {'###'.join(as_list(item.get('features')))}."
    )
    brand = as_text(item.get("brand"))
    if brand:
        text += f"\nBrand: {brand}."
    description = as_text(item.get("description"))
    if description:
        text += f"\nDescription: {truncate_words(description, 60)}"
    return text
