"""Seed 003 stage 1 without a model: the four aspects of one review, found by cue phrases.

Each aspect has a lexicon of cue patterns, each mapped to a short label. The review is split into
sentences; an aspect's value lists the labels of the cues found (first occurrence order, at most
three), its `_reason` is the first sentence that holds one of them, cut to 30 words; an aspect with no
cue is null, as the seed's prompt asks for a review that does not say. The output is the stage's JSON
schema (recforge.text.outputs.ASPECTS_SCHEMA), so a real model and this writer are interchangeable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from recforge.text.outputs import ASPECT_KEYS

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")

# (pattern, label): patterns are matched on lower-case text with word boundaries.
CUES: dict[str, list[tuple[str, str]]] = {
    "category_preference": [
        (r"recipes?|cook(ing|s)?|food|meals?|baking|dinner", "cooking and recipes"),
        (r"fashion|style|beauty|makeup|clothes|clothing", "fashion and beauty"),
        (r"fitness|workouts?|exercise|health(y)?|diet|nutrition|weight", "health and fitness"),
        (r"travel(s|ing)?|destinations?|trips?|vacations?", "travel"),
        (r"politic(s|al)|news|current events|world affairs|economy|economics", "news and politics"),
        (r"science|scientific|technology|tech|computers?|gadgets?|pc", "science and technology"),
        (r"garden(ing)?|plants?|decor(ating)?|home|house|design", "home and garden"),
        (r"hunting|fishing|outdoors?|camping|hiking", "outdoor sports"),
        (r"cars?|motorcycles?|automotive|trucks?", "cars and vehicles"),
        (r"financ(e|ial)|money|invest(ing|ment)s?|business|stocks?", "business and finance"),
        (r"celebrit(y|ies)|gossip|entertainment|movies?|tv|television|hollywood", "entertainment and celebrities"),
        (r"music|guitar|songs?|bands?", "music"),
        (r"crafts?|knitting|sewing|quilting|diy", "crafts and DIY"),
        (r"kids?|children|child|parenting|family|teens?|girls?", "family and kids"),
        (r"sports?|running|runners?|golf|football|baseball|cycling|yoga", "sports"),
        (r"history|historical|archaeology|nature|wildlife|animals?|pets?|horses?", "history and nature"),
        (r"wine|drinks?|cocktails?", "wine and drinks"),
        (r"stor(y|ies)|fiction|literature|essays?|humou?r|puzzles?", "stories and essays"),
        (r"men'?s|women'?s", "gender-focused lifestyle"),
    ],
    "purchase_purpose": [
        (r"gift|present|christmas|birthday", "as a gift"),
        (r"for (my|our) (wife|husband|son|daughter|kids?|children|mother|father|mom|dad|family|grand\w+)", "for a family member"),
        (r"renew(ed|al|ing)?|resubscrib\w*|again", "renewing a subscription"),
        (r"keep (me |us )?(up|current|informed)|stay (informed|current|up to date)|up to date", "staying informed"),
        (r"learn(ed|ing)?|educat\w+|knowledge|tips|advice|how to", "learning and advice"),
        (r"ideas?|inspir\w+", "ideas and inspiration"),
        (r"relax\w*|entertain\w*|fun|enjoy(ment)?", "enjoyment"),
        (r"work|professional|job|career|business", "work"),
        (r"cheap|deal|price|bargain|free", "a good deal"),
    ],
    "quality_criteria": [
        (r"articles?|writing|written|writers?|journalism|content|stor(y|ies)", "article quality"),
        (r"ads?|advertis\w+|commercials?|inserts?", "amount of advertising"),
        (r"pictures?|photos?|photography|images?|layout|glossy", "photos and layout"),
        (r"pric(e|ed|es)|cost|value|worth|money|expensive|cheap", "value for money"),
        (r"thin|pages?|short|length|issues? (are|is) (small|thin)", "length of issues"),
        (r"informative|useful|helpful|practical|accurate|in-depth|detailed", "usefulness"),
        (r"boring|dull|interesting|entertaining|fun|witty", "how engaging it is"),
        (r"bias(ed)?|liberal|conservative|agenda|opinion", "balance of viewpoints"),
        (r"deliver(y|ed)?|arriv(e|ed|es)|late|never (got|received)|shipping|mail", "delivery reliability"),
        (r"customer service|cancel\w*|billing|charged|auto-?renew\w*", "subscription service"),
    ],
    "usage_context": [
        (r"every (month|week|issue)|monthly|weekly|each (month|issue)", "reads every issue"),
        (r"cover to cover|front to back", "reads cover to cover"),
        (r"kindle|tablet|ipad|digital|online|app", "digital reading"),
        (r"travel(ing)?|plane|flights?|commute|train", "reading on the go"),
        (r"bathroom|bed|coffee|breakfast|lunch|relax\w*|evening", "reading at home to unwind"),
        (r"waiting room|office|work|classroom|school|students?", "reading at work or school"),
        (r"kitchen|cook(ing)? from|tried the recipes?|made the", "using it in the kitchen"),
        (r"years|since \d{4}|long ?time|decades?", "a long-time reader"),
        (r"(my|our) (wife|husband|kids?|children|family)", "shared with the family"),
    ],
}
_COMPILED = {
    aspect: [(re.compile(rf"\b(?:{pattern})\b"), label) for pattern, label in cues] for aspect, cues in CUES.items()
}
MAX_LABELS = 3
MAX_REASON_WORDS = 30


def _sentences(title: str, text: str) -> list[str]:
    parts = [s.strip() for s in _SENTENCE.split(text or "") if s.strip()]
    return ([title.strip()] if title and title.strip() else []) + parts


def extract(review_title: str, review_text: str) -> dict[str, str | None]:
    """The eight aspect fields of one review (see the module docstring)."""
    sentences = _sentences(review_title, review_text)
    lowered = [s.lower() for s in sentences]
    out: dict[str, str | None] = {}
    for aspect, cues in _COMPILED.items():
        labels: list[str] = []
        reason = None
        for sentence, low in zip(sentences, lowered):
            for pattern, label in cues:
                if pattern.search(low) and label not in labels:
                    labels.append(label)
                    if reason is None:
                        words = sentence.split()
                        reason = " ".join(words[:MAX_REASON_WORDS]) + (" ..." if len(words) > MAX_REASON_WORDS else "")
        out[f"{aspect}_reason"] = reason
        out[aspect] = ", ".join(labels[:MAX_LABELS]) if labels else None
    return {key: out[key] for key in ASPECT_KEYS}


def review_aspects(ctx: Mapping[str, Any]) -> str:
    return json.dumps(extract(str(ctx.get("review_title") or ""), str(ctx.get("review_text") or "")),
                      ensure_ascii=False)
