"""Rationales (seed 004 like/dislike) and rating chains of thought (seed 000) from the user's rating
statistics on the history items most similar to the target."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from recforge.data.scale import RatingScale
from recforge.llm.heuristic.stats import (
    join_words,
    quoted_titles,
    rating_stats,
    similar_items,
    top_categories,
)
from recforge.text.items import as_text
from recforge.text.terms import content_categories


def _evidence(ctx: Mapping[str, Any], threshold: float) -> tuple[str, float | None]:
    """Sentences about the user's ratings overall and on similar items, and the rating they point to."""
    history, target, domain = ctx["history"], ctx["target"], ctx["domain"]
    overall = rating_stats(history, threshold)
    similar = similar_items(history, target)
    near = rating_stats(similar, threshold)
    target_categories = content_categories(target)
    lines = [f"Overall the user has {overall.describe(domain)}."]
    liked_categories = top_categories([i for i in history if (i.get("rating") or 0) >= threshold], 3)
    if liked_categories:
        lines.append(f"The user's favourite categories are {join_words(liked_categories)}.")
    where = join_words(target_categories[:3]) or "no informative category"
    lines.append(f'The candidate "{as_text(target.get("title"))}" is in {where}.')
    if near.n:
        lines.append(
            f"Among similar {domain}s ({quoted_titles(similar, 3)}) the user has {near.describe(domain)}."
        )
        estimate = near.mean
    else:
        lines.append(f"The user has rated no similar {domain}s, so the overall tendency decides.")
        estimate = overall.mean
    others = ctx.get("target_stats")
    if others and int(others["n"]) > 0:
        # The item's reception weighs as much as the user's own tendency.
        lines.append(f"Other users rated it {float(others['mean']):.1f} on average ({int(others['n'])} ratings).")
        estimate = float(others["mean"]) if estimate is None else (estimate + float(others["mean"])) / 2
    return " ".join(lines), estimate


def rationale(ctx: Mapping[str, Any]) -> str:
    threshold = float(ctx["like_threshold"])
    evidence, estimate = _evidence(ctx, threshold)
    label = ctx.get("label")
    if label is None:
        like = estimate is None or estimate >= threshold
    else:
        like = label == "like"
    verdict = "like" if like else "dislike"
    agreement = ""
    if label is not None and estimate is not None and (estimate >= threshold) != like:
        agreement = (
            " This goes against the user's usual ratings of similar items, so taste beyond the"
            " categories decides here."
        )
    return (
        f"{evidence}{agreement} Hence the user will likely {verdict} it.\n"
        f"Prediction: {'Yes' if like else 'No'}"
    )


def rating_cot(ctx: Mapping[str, Any]) -> str:
    threshold = 4.0  # seed 000: ratings >= 4 are "liked" in the interest sketch
    evidence, estimate = _evidence(ctx, threshold)
    known = ctx.get("rating")
    if known is None or known != known:
        known = estimate if estimate is not None else 4
    # The valid rating nearest to it, on the context's scale (1-5 whole stars when it names none).
    scale = RatingScale(**ctx.get("rating_scale", {}))
    steps = round((min(scale.max, max(scale.min, float(known))) - scale.min) / scale.step)
    rating = f"{scale.min + steps * scale.step:g}"
    # The thinking states the evidence only, not the rating: a tiny policy cannot compute the averages
    # it quotes, so a verdict inside the thinking was invented and the answer copied it (P(5) 0.99 at
    # <answer> on Movies' valid rows). Without it the answer is read from the prompt and the evidence,
    # and the distribution at <answer> keeps the model's uncertainty (issue 12).
    return f"<think>\n{evidence}\n</think>\n<answer>{rating}</answer>"
