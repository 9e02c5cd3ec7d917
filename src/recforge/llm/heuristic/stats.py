"""Rating and category statistics that the heuristic writers put into words."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from recforge.text.items import as_text
from recforge.text.terms import content_categories, title_words


def rating_of(item: Mapping[str, Any]) -> float | None:
    rating = item.get("rating")
    if rating is None or rating != rating:  # NaN
        return None
    return float(rating)


@dataclass(frozen=True)
class RatingStats:
    n: int  # items with a rating
    mean: float | None
    liked: int
    disliked: int

    def describe(self, noun: str) -> str:
        if self.n == 0 or self.mean is None:
            return f"no rated {noun}s"
        plural = noun if self.n == 1 else f"{noun}s"
        counts = f"{self.liked} liked, {self.disliked} disliked"
        return f"{self.n} {plural} rated {self.mean:.1f} on average ({counts})"


def rating_stats(items: Sequence[Mapping[str, Any]], like_threshold: float) -> RatingStats:
    ratings = [r for r in (rating_of(i) for i in items) if r is not None]
    if not ratings:
        return RatingStats(0, None, 0, 0)
    liked = sum(r >= like_threshold for r in ratings)
    return RatingStats(len(ratings), sum(ratings) / len(ratings), liked, len(ratings) - liked)


def top_categories(items: Sequence[Mapping[str, Any]], k: int) -> list[str]:
    """The k most frequent content categories, ties broken by first appearance (deterministic)."""
    counts: Counter[str] = Counter()
    for item in items:
        counts.update(content_categories(item))
    return [c for c, _ in counts.most_common(k)]


def similarity(a: Mapping[str, Any], b: Mapping[str, Any]) -> float:
    """Jaccard overlap of content categories plus a small bonus for shared title words (sequels,
    franchises, product lines)."""
    ca, cb = set(content_categories(a)), set(content_categories(b))
    score = len(ca & cb) / len(ca | cb) if ca | cb else 0.0
    wa, wb = set(title_words(as_text(a.get("title")))), set(title_words(as_text(b.get("title"))))
    if wa & wb:
        score += 0.5
    return score


def similar_items(
    history: Sequence[Mapping[str, Any]], target: Mapping[str, Any], k: int = 10
) -> list[Mapping[str, Any]]:
    """History items most similar to the target (score > 0), most similar first, at most k."""
    scored = [(similarity(item, target), -i, item) for i, item in enumerate(history)]
    scored = [s for s in scored if s[0] > 0]
    scored.sort(key=lambda s: (s[0], s[1]), reverse=True)  # later items win ties: more recent
    return [item for _, _, item in scored[:k]]


def join_words(words: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    words = list(words)
    if not words:
        return ""
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " and " + words[-1]


def quoted_titles(items: Sequence[Mapping[str, Any]], k: int) -> str:
    return join_words([f'"{as_text(i.get("title"))}"' for i in items[:k] if as_text(i.get("title"))])


def cap_words(text: str, max_words: int) -> str:
    """Cut to max_words words, ending on the last full sentence inside the limit where there is one."""
    words = text.split()
    if len(words) <= max_words:
        return text
    cut = " ".join(words[:max_words])
    end = cut.rfind(". ")
    return cut[: end + 1] if end > len(cut) // 2 else cut.rstrip(",;:") + "."
