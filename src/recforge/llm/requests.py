"""Build requests from task contexts: messages from recforge.text, schema from its output specs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from recforge.llm.types import GenerationRequest, Sampling
from recforge.text.outputs import OUTPUT_SCHEMAS
from recforge.text.render import render


def make_request(
    request_id: str, task: str, context: Mapping[str, Any], sampling: Sampling = Sampling()
) -> GenerationRequest:
    """A request for `task` whose prompt and (for the heuristic backend) answer both come from
    `context`. Structured tasks (personas) carry their JSON schema."""
    return GenerationRequest(
        request_id=str(request_id),
        task=task,
        messages=tuple(render(task, context)),
        context=dict(context),
        sampling=sampling,
        response_schema=OUTPUT_SCHEMAS.get(task),
    )
