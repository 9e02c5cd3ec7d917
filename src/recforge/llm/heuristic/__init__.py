"""The deterministic no-model backend: writes each task's answer from the request's data context.

The CPU default. Its outputs are content derived from the data (distinctive terms, rating statistics,
catalogue fields), not placeholders, and they are identical on every run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from recforge.llm.heuristic.aspects import review_aspects
from recforge.llm.heuristic.clusters import cluster_name
from recforge.llm.heuristic.personas import persona_selection, personas
from recforge.llm.heuristic.reasoning import rating_cot, rationale
from recforge.llm.heuristic.review_personas import review_persona_selection, review_personas
from recforge.llm.heuristic.summaries import item_summary, user_summary
from recforge.llm.types import GenerationRequest, GenerationResponse, LLMError, Usage

WRITERS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "cluster_name": cluster_name,
    "item_summary": item_summary,
    "user_summary": user_summary,
    "personas": personas,
    "persona_selection": persona_selection,
    "review_aspects": review_aspects,
    "review_personas": review_personas,
    "review_persona_selection": review_persona_selection,
    "rationale": rationale,
    "rating_cot": rating_cot,
}

# Bump when any writer changes its output: part of the cache key (as the backend's model name).
HEURISTIC_VERSION = "heuristic-v2"  # v2: rating_cot thinking without the verdict sentence


def write(task: str, context: Mapping[str, Any]) -> str:
    """The heuristic answer for one task context."""
    try:
        writer = WRITERS[task]
    except KeyError:
        raise LLMError(
            f"the heuristic backend has no writer for task {task!r}; known: {sorted(WRITERS)}"
        ) from None
    return writer(context)


class HeuristicBackend:
    name = "heuristic"
    uses_context = True  # its output depends on the context, so the cache key must include it

    def __init__(self) -> None:
        self.model = HEURISTIC_VERSION

    def identity(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.model}

    def run(
        self,
        items: Sequence[tuple[str, GenerationRequest]],
        on_result: Callable[[str, GenerationResponse], None],
    ) -> None:
        for key, request in items:
            text = write(request.task, request.context)
            # No tokenizer: usage is counted in whitespace words (cost is zero anyway).
            prompt_words = sum(len(m["content"].split()) for m in request.messages)
            on_result(
                key,
                GenerationResponse(
                    request_id=request.request_id,
                    text=text,
                    backend=self.name,
                    model=self.model,
                    usage=Usage(prompt_words, len(text.split())),
                ),
            )

    def close(self) -> None:
        pass
