"""Structured outputs: pull JSON out of a model's answer, validate it, and phrase a repair request."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from recforge.llm.types import GenerationRequest


class InvalidOutput(ValueError):
    pass


def extract_json(text: str) -> Any:
    """The JSON value in `text`: code fences stripped, then the outermost {...} (models often wrap
    JSON in prose or ``` fences)."""
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.split("\n", 1)[1] if "\n" in stripped else ""
        stripped = stripped.rsplit("```", 1)[0]
    start, end = stripped.find("{"), stripped.rfind("}")
    if start < 0 or end <= start:
        raise InvalidOutput("no JSON object found in the answer")
    try:
        return json.loads(stripped[start : end + 1])
    except json.JSONDecodeError as error:
        raise InvalidOutput(f"the JSON does not parse: {error}") from None


def validate(text: str, schema: dict[str, Any]) -> Any:
    """The parsed JSON of `text` if it satisfies `schema`; InvalidOutput otherwise."""
    value = extract_json(text)
    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as error:
        path = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise InvalidOutput(f"at {path}: {error.message}") from None
    return value


def repair_request(request: GenerationRequest, bad_text: str, problem: str) -> GenerationRequest:
    """The original conversation plus the invalid answer and a request to fix it."""
    schema = json.dumps(request.response_schema, separators=(",", ":"))
    messages = (
        *request.messages,
        {"role": "assistant", "content": bad_text},
        {
            "role": "user",
            "content": (
                f"Your answer is not valid ({problem}). Reply again with only a JSON object that "
                f"satisfies this JSON schema, and nothing else:\n{schema}"
            ),
        },
    )
    return GenerationRequest(
        request_id=request.request_id,
        task=request.task,
        messages=messages,
        context=request.context,
        sampling=request.sampling,
        response_schema=request.response_schema,
    )
