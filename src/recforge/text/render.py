"""Task contexts -> chat messages, one function per task, dispatched by `render`."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from recforge.data.scale import RatingScale
from recforge.text import templates as T
from recforge.text.items import as_text, category_path, item_card, item_line, rating_stats_text


def _rating_text(rating: Any) -> str:
    if rating is None or rating != rating:  # None or NaN
        return "?"
    return f"{float(rating):g}"


def _liked(item: Mapping[str, Any], threshold: float) -> str:
    rating = item.get("rating")
    if rating is None or rating != rating:
        return "Rated"
    return "Liked" if float(rating) >= threshold else "Disliked"


def cluster_name(ctx: Mapping[str, Any]) -> list[dict[str, str]]:
    lines = "\n".join(f"- {item_line(i)}" for i in ctx["items"])
    return T.CLUSTER_NAME.fill(domain=ctx["domain"], n_items=len(ctx["items"]), item_lines=lines)


def item_summary(ctx: Mapping[str, Any]) -> list[dict[str, str]]:
    return T.ITEM_SUMMARY.fill(
        domain=ctx["domain"], max_words=ctx["max_words"], item_card=item_card(ctx["item"])
    )


def user_summary(ctx: Mapping[str, Any]) -> list[dict[str, str]]:
    lines = "\n".join(f"{item_line(i)}, {_rating_text(i.get('rating'))}" for i in ctx["history"])
    return T.USER_SUMMARY.fill(
        domain=ctx["domain"], n_items=len(ctx["history"]), history_lines=lines, max_words=ctx["max_words"]
    )


def personas(ctx: Mapping[str, Any]) -> list[dict[str, str]]:
    lines = (
        "\n".join(
            f"- {_rating_text(r['rating'])}; likes: {', '.join(r['liked_categories']) or 'unknown'}; "
            f"dislikes: {', '.join(r['disliked_categories']) or 'unknown'}"
            for r in ctx["raters"]
        )
        or "- (no ratings)"
    )
    return T.PERSONAS.fill(
        item_card=item_card(ctx["item"]),
        rater_lines=lines,
        min_personas=ctx["min_personas"],
        max_personas=ctx["max_personas"],
    )


def persona_selection(ctx: Mapping[str, Any]) -> list[dict[str, str]]:
    profile = "\n".join(f"- {_liked(i, ctx['like_threshold'])}: {item_line(i)}" for i in ctx["history"])
    options = "\n".join(
        f"{p['ID']}. {p['Name']}: {p['Description']} (Reasoning: {p['Preference_Rationale']})"
        for p in ctx["personas"]
    )
    return T.PERSONA_SELECTION.fill(
        profile_lines=profile, target_line=item_line(ctx["target"]), persona_lines=options
    )


def review_aspects(ctx: Mapping[str, Any]) -> list[dict[str, str]]:
    return T.REVIEW_ASPECTS.fill(
        domain=ctx["domain"],
        review_title=ctx["review_title"] or "(none)",
        rating=_rating_text(ctx.get("rating")),
        review_text=ctx["review_text"] or "(empty)",
    )


def review_personas(ctx: Mapping[str, Any]) -> list[dict[str, str]]:
    """The seed's persona input: the item summary and each review's non-null extractions."""
    blocks = []
    for i, review in enumerate(ctx["reviews"], 1):
        kept = {k: v for k, v in review["aspects"].items() if v is not None and str(v).lower() != "none"}
        blocks.append(f"Review {i} (rating {_rating_text(review.get('rating'))}) Extracted Aspects:\n"
                      + json.dumps(kept, ensure_ascii=False))
    return T.REVIEW_PERSONAS.fill(
        domain=ctx["domain"],
        summary=ctx["summary"] or "(none)",
        review_blocks="\n".join(blocks) or "(no reviews)",
        min_personas=ctx["min_personas"],
        max_personas=ctx["max_personas"],
    )


def review_persona_selection(ctx: Mapping[str, Any]) -> list[dict[str, str]]:
    """Seed 003's selection input: "- Liked|Disliked: review title | item summary" per history review,
    the target's id only, and "ID. Name: Description (Reasoning: rationale)" per persona."""
    threshold = float(ctx["like_threshold"])
    profile = "\n".join(
        f"- {'Liked' if float(h['rating']) >= threshold else 'Disliked'}: {h['review_title']} | {h['summary']}"
        for h in ctx["history"]
    )
    options = "\n".join(
        f"{p['ID']}. {p['Name']}: {p['Description']} (Reasoning: {p['Preference_Rationale']})"
        for p in ctx["personas"]
    )
    return T.REVIEW_PERSONA_SELECTION.fill(
        profile_lines=profile or "- (none)", target_id=ctx["target_id"], persona_lines=options
    )


def rerank_candidates(ctx: Mapping[str, Any]) -> list[dict[str, str]]:
    return T.RERANK_CANDIDATES.fill(
        domain=ctx["domain"],
        history_lines="\n".join(f"- {item_line(i)}" for i in ctx["history"]) or "- (none)",
        candidate_lines="\n".join(f"{n}. {item_line(i)}" for n, i in enumerate(ctx["candidates"], 1)),
        n_candidates=len(ctx["candidates"]),
    )


def rationale(ctx: Mapping[str, Any]) -> list[dict[str, str]]:
    history = "\n".join(f"{_liked(i, ctx['like_threshold'])} {item_line(i)}" for i in ctx["history"])
    title = as_text(ctx["target"].get("title"))
    label = ctx.get("label")
    if label is None:
        label_line = ""
        step_two = "Explain with reasoning whether the user will like or dislike the next item -"
    else:
        word = "LIKE" if label == "like" else "DISLIKE"
        label_line = f"Now, we know that the user will {word} the next item - {title}\n"
        step_two = f"Explain with reasoning why the user will {word} the next item -"
    return T.RATIONALE.fill(
        domain=ctx["domain"],
        profile=ctx.get("profile") or "unknown",
        history_lines=history,
        label_line=label_line,
        step_two=step_two,
        target_line=item_line(ctx["target"]),
    )


def rating_cot(ctx: Mapping[str, Any]) -> list[dict[str, str]]:
    history = ctx["history"][-ctx["max_history"] :] if ctx["max_history"] > 0 else []
    lines = "\n".join(f"{item_line(i)}, {_rating_text(i.get('rating'))}" for i in history)
    sketch = as_text(ctx.get("sketch"))
    scale = RatingScale(**ctx.get("rating_scale", {}))
    return T.RATING_COT.fill(
        domain=ctx["domain"],
        rating_min=scale.text(scale.min),
        rating_max=scale.text(scale.max),
        sketch_block=f"{sketch}\n\n" if sketch else "",
        history_lines=lines,
        target_line=item_line(ctx["target"]) + rating_stats_text(ctx.get("target_stats")),
    )


def next_items(ctx: Mapping[str, Any]) -> list[dict[str, str]]:
    history = ", ".join(f"'{as_text(i.get('title'))}'" for i in ctx["history"])
    return T.NEXT_ITEMS.fill(domain=ctx["domain"], history=history, n_items=ctx["n_items"])


RENDERERS: dict[str, Callable[[Mapping[str, Any]], list[dict[str, str]]]] = {
    "cluster_name": cluster_name,
    "item_summary": item_summary,
    "user_summary": user_summary,
    "personas": personas,
    "persona_selection": persona_selection,
    "review_aspects": review_aspects,
    "review_personas": review_personas,
    "review_persona_selection": review_persona_selection,
    "rerank_candidates": rerank_candidates,
    "rationale": rationale,
    "rating_cot": rating_cot,
    "next_items": next_items,
}


def render(task: str, context: Mapping[str, Any]) -> list[dict[str, str]]:
    """The chat messages of `task` for `context`."""
    try:
        renderer = RENDERERS[task]
    except KeyError:
        raise KeyError(f"no prompt renderer for task {task!r}; known: {sorted(RENDERERS)}") from None
    return renderer(context)


def template_id(task: str) -> str:
    """`name@vN` of the template a task renders with (recorded next to every output)."""
    return T.get_template(task).id


__all__ = ["render", "template_id", "category_path"]
