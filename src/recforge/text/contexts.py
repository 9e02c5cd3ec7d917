"""What each text task is given: plain JSON-able dicts, typed.

A context is the single source of a request: `recforge.text.render` turns it into chat messages for a
real LLM, and the heuristic backend writes its answer from the same context. Callers build contexts
from the training-visible data only (no valid/test targets): a context is exactly what the writer may
know.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal, NotRequired, TypedDict

from recforge.text.items import as_list, as_text
from recforge.text.terms import document_frequency, item_terms


class ItemInfo(TypedDict, total=False):
    item_id: str
    title: str
    categories: list[str]
    description: str
    brand: str
    features: list[str]


class RatedItem(ItemInfo, total=False):
    rating: float | None  # None where the source has no explicit rating


class RaterProfile(TypedDict):
    """One user who rated an item, reduced to what persona writing needs."""

    rating: float | None
    liked_categories: list[str]  # the user's most frequent categories among liked items
    disliked_categories: list[str]


class Persona(TypedDict):
    ID: str
    Name: str
    Description: str
    Preference_Rationale: str


class ClusterNameContext(TypedDict):
    domain: str  # "movie", "beauty product", ...
    items: list[ItemInfo]  # the cluster's items nearest to its centroid, nearest first
    # Document frequency over the whole catalogue of every term that occurs in `items` (terms as
    # produced by recforge.text.terms), so that "distinctive" can be judged without the catalogue.
    term_df: dict[str, int]
    n_catalogue: int


class ItemSummaryContext(TypedDict):
    domain: str
    item: ItemInfo
    max_words: int


class UserSummaryContext(TypedDict):
    domain: str
    history: list[RatedItem]  # oldest first
    max_words: int
    like_threshold: float  # rating >= this counts as liked


class PersonasContext(TypedDict):
    domain: str
    item: ItemInfo
    raters: list[RaterProfile]
    min_personas: int
    max_personas: int
    like_threshold: float  # a rating >= this counts as liked


class PersonaSelectionContext(TypedDict):
    domain: str
    history: list[RatedItem]  # oldest first
    personas: list[Persona]
    target: ItemInfo
    like_threshold: float


class RationaleContext(TypedDict):
    domain: str
    profile: str  # a user summary, "" if none
    history: list[RatedItem]  # oldest first
    target: ItemInfo
    # "like"/"dislike": rationalise a known label (reasoning ground truth); None: predict.
    label: Literal["like", "dislike"] | None
    like_threshold: float


class RatingCotContext(TypedDict):
    domain: str
    sketch: str  # the interest sketch ("" if none)
    history: list[RatedItem]  # oldest first; the prompt shows the last max_history
    target: ItemInfo
    rating: float | None  # the known rating to explain (teacher data), or None to predict
    max_history: int
    rating_scale: NotRequired[dict[str, float]]  # {min, max, step} (recforge.data.scale); absent: 1-5
    # {n, mean}: other users' train-phase ratings of the target (methods.isir.item_stats); absent: none shown
    target_stats: NotRequired[dict[str, float]]


def item_info(row: Mapping[str, Any]) -> ItemInfo:
    """An items.parquet row (or dict) as an ItemInfo with plain lists and strings."""
    return ItemInfo(
        item_id=as_text(row.get("item_id")),
        title=as_text(row.get("title")),
        categories=as_list(row.get("categories")),
        description=as_text(row.get("description")),
        brand=as_text(row.get("brand")),
        features=as_list(row.get("features")),
    )


def rated_item(row: Mapping[str, Any], rating: float | None) -> RatedItem:
    info = RatedItem(**item_info(row))
    info["rating"] = None if rating is None or rating != rating else float(rating)
    return info


def cluster_name_context(
    domain: str, nearest: Iterable[Mapping[str, Any]], catalogue: Iterable[Mapping[str, Any]]
) -> ClusterNameContext:
    """Context for naming one cluster from its nearest items; the catalogue's document frequencies are
    kept only for the terms those items have, so a context stays small."""
    items = [item_info(i) for i in nearest]
    df, n = document_frequency(catalogue)
    wanted = set().union(*(item_terms(i) for i in items)) if items else set()
    return ClusterNameContext(
        domain=domain, items=items, term_df={t: df[t] for t in sorted(wanted) if t in df}, n_catalogue=n
    )
