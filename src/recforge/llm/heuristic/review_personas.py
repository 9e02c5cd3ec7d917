"""Seed 003 stages 3 and 4 without a model: personas from an item's review aspects, and the judge.

Personas: each review is keyed by (liked?, its leading aspect label: purchase purpose, else category
preference, else quality criterion, else usage context); groups of reviews with the same key are
personas, largest first, critics (rating below the like threshold) kept as their own personas. Name,
description and rationale are written from the group's aspect labels and quote a review's evidence.
At least `min_personas` when the item has two or more reviews (extra personas anchored on the next
most frequent labels), one for a single review, at most `max_personas`.

Selection: the persona whose text shares the most label words with the user's liked history
(aspect labels, review titles, item summaries), ties to the lower ID; written in the seed's
"Reasoning: ... Selection: P#" format.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from recforge.llm.heuristic.stats import join_words

_ORDER = ("purchase_purpose", "category_preference", "quality_criteria", "usage_context")
_NOUN = {"purchase_purpose": "Buyer", "category_preference": "Enthusiast", "quality_criteria": "Stickler",
         "usage_context": "Reader"}
_SMALL = frozenset("a an and as the of for with it is on at to".split())
_WORD = re.compile(r"[a-z][a-z'-]+")


def _labels(aspects: Mapping[str, Any], key: str) -> list[str]:
    value = aspects.get(key)
    return [v.strip() for v in str(value).split(",") if v.strip()] if value else []


def _key(review: Mapping[str, Any], threshold: float) -> tuple[bool, str, str]:
    liked = float(review["rating"]) >= threshold
    for field in _ORDER:
        labels = _labels(review["aspects"], field)
        if labels:
            return liked, field, labels[0]
    return liked, "category_preference", "general interest"


def _title(label: str) -> str:
    words = [w for w in re.split(r"[\s,]+", label) if w and w.lower() not in _SMALL][:2]
    return " ".join(w[:1].upper() + w[1:] for w in words)


def _counts(reviews: Sequence[Mapping[str, Any]], field: str) -> list[str]:
    counter: Counter[str] = Counter()
    for review in reviews:
        counter.update(_labels(review["aspects"], field))
    return [label for label, _ in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))]


def _evidence(reviews: Sequence[Mapping[str, Any]], field: str) -> str | None:
    for review in reviews:
        reason = review["aspects"].get(f"{field}_reason")
        if reason:
            return str(reason)
    for review in reviews:
        for other in _ORDER:
            reason = review["aspects"].get(f"{other}_reason")
            if reason:
                return str(reason)
    return None


def _persona(index: int, liked: bool, field: str, label: str, group: Sequence[Mapping[str, Any]], domain: str) -> dict:
    noun = _NOUN[field] if liked else "Critic"
    name = f"{_title(label) or 'General'} {noun}"
    topics = _counts(group, "category_preference")[:2]
    quality = _counts(group, "quality_criteria")[:2]
    usage = _counts(group, "usage_context")[:2]
    purpose = _counts(group, "purchase_purpose")[:2]
    first = (f"This reader picks the {domain} {'for' if field == 'purchase_purpose' else 'out of interest in'} {label}"
             if liked else f"This reader comes to the {domain} for {label} but holds it to a high standard")
    first += f" and follows {join_words(topics)}." if topics and label not in topics else "."
    second = (f"They judge every issue by {join_words(quality)}." if quality
              else f"They value a {domain} that delivers on {join_words(purpose or topics or [label])}.")
    third = (f"They are {join_words(usage)}." if usage and usage[0].startswith("a ")
             else f"Their habit is {join_words(usage)}." if usage
             else f"They {'keep coming back to it' if liked else 'are quick to cancel when it disappoints'}.")
    evidence = _evidence(group, field)
    ratings = [float(r["rating"]) for r in group]
    mean = sum(ratings) / len(ratings)
    signal = f'a reviewer wrote "{evidence}"' if evidence else f"{len(group)} review(s) rate it {mean:.1f} on average"
    rationale = (f"This persona appreciates this item because it serves {label}: {signal}." if liked
                 else f"This persona appreciates this item because it promises {label}, although {signal}.")
    return {"ID": f"P{index}", "Name": name, "Description": f"{first} {second} {third}",
            "Preference_Rationale": rationale}


def review_personas(ctx: Mapping[str, Any]) -> str:
    reviews, domain = ctx["reviews"], ctx["domain"]
    threshold = float(ctx["like_threshold"])
    groups: dict[tuple[bool, str, str], list] = {}
    for review in reviews:
        groups.setdefault(_key(review, threshold), []).append(review)
    ordered = sorted(groups.items(), key=lambda g: (-len(g[1]), not g[0][0], g[0][1], g[0][2]))
    max_n = int(ctx["max_personas"])
    min_n = 1 if len(reviews) <= 1 else min(int(ctx["min_personas"]), max_n)
    chosen = ordered[:max_n]
    # Too few distinct keys: anchor extra personas on the next most frequent labels of liked reviews.
    used = {label for (_, _, label), _ in chosen}
    liked = [r for r in reviews if float(r["rating"]) >= threshold] or list(reviews)
    for field in _ORDER:
        for label in _counts(liked, field):
            if len(chosen) >= min_n:
                break
            if label not in used:
                used.add(label)
                chosen.append(((True, field, label), [r for r in liked if label in _labels(r["aspects"], field)]))
    if len(chosen) < min_n and reviews:  # no labels at all: split the raters by opinion
        chosen.append(((False, "quality_criteria", "overall quality"), list(reviews)))
    personas = [_persona(i + 1, liked_, field, label, group, domain)
                for i, ((liked_, field, label), group) in enumerate(chosen)]
    return json.dumps({"personas": personas}, ensure_ascii=False)


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _SMALL and len(w) > 2}


def review_persona_selection(ctx: Mapping[str, Any]) -> str:
    threshold = float(ctx["like_threshold"])
    history = ctx["history"]
    liked = [h for h in history if float(h["rating"]) >= threshold] or list(history)
    labels: Counter[str] = Counter()
    for h in liked:
        for field in _ORDER:
            labels.update(_labels(h.get("aspects") or {}, field))
    profile_words: Counter[str] = Counter()
    for label, n in labels.items():
        for w in _words(label):
            profile_words[w] += 2 * n
    for h in liked:
        for w in _words(f"{h['review_title']} {h['summary']}"):
            profile_words[w] += 1

    def score(p: Mapping[str, str]) -> tuple[int, int]:
        words = _words(f"{p['Name']} {p['Description']} {p['Preference_Rationale']}")
        number = int(p["ID"][1:]) if p["ID"][1:].isdigit() else 0
        return sum(profile_words[w] for w in words), -number

    best = max(ctx["personas"], key=score)
    top = [label for label, _ in labels.most_common(3)]
    prefs = join_words(top) or "no clear preference"
    return (
        f"Reasoning: The user's core preferences are {prefs}, judged from {len(liked)} liked reviews. "
        f"{best['Name']} ({best['ID']}) shares the most of these preferences, so it best explains why the "
        f"user chose item {ctx['target_id']}.\nSelection: {best['ID']}"
    )
