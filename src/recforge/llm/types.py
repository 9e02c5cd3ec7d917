"""Requests in, responses out: the types every backend and every LLM stage share."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Sampling:
    """Decoding settings, sent explicitly (never left to a model's generation_config defaults)."""

    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    max_tokens: int = 256
    seed: int = 0
    stop: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "stop": list(self.stop)}


@dataclass(frozen=True)
class GenerationRequest:
    """One prompt. `request_id` is the caller's stable id (item_id, user_id, ...) used to map responses
    back; it is not part of the cache key, so two ids with the same prompt cost one call.

    `task` and `context` say what is asked in data form: the heuristic backend writes from them, and
    real LLMs see `messages`, rendered from the same context by recforge.text.render."""

    request_id: str
    task: str
    messages: tuple[dict[str, str], ...]
    context: dict[str, Any] = field(default_factory=dict)
    sampling: Sampling = Sampling()
    response_schema: dict[str, Any] | None = None  # JSON schema the answer must satisfy


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(
            self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens
        )


@dataclass(frozen=True)
class GenerationResponse:
    """One answer. `backend` and `model` say who wrote it; `parsed` holds the validated JSON of a
    structured request; `error` is set when the answer never validated (after the repair retries).
    `attempts` counts the calls it took (1 + repairs); `cached` is True when read from the cache."""

    request_id: str
    text: str
    backend: str
    model: str
    usage: Usage = Usage()
    finish_reason: str = "stop"
    parsed: Any = None
    error: str | None = None
    attempts: int = 1
    cached: bool = False

    def to_record(self) -> dict[str, Any]:
        """JSON-able form stored in the cache (request_id excluded: the cache is keyed by content)."""
        return {
            "text": self.text,
            "backend": self.backend,
            "model": self.model,
            "usage": asdict(self.usage),
            "finish_reason": self.finish_reason,
            "parsed": self.parsed,
            "error": self.error,
            "attempts": self.attempts,
        }

    @classmethod
    def from_record(cls, request_id: str, record: dict[str, Any], cached: bool) -> "GenerationResponse":
        return cls(
            request_id=request_id,
            text=record["text"],
            backend=record["backend"],
            model=record["model"],
            usage=Usage(**record["usage"]),
            finish_reason=record.get("finish_reason", "stop"),
            parsed=record.get("parsed"),
            error=record.get("error"),
            attempts=record.get("attempts", 1),
            cached=cached,
        )


class LLMError(RuntimeError):
    """A generation stage cannot go on (bad credentials, unreachable server, bad request)."""
