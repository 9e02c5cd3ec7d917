"""The protocol every backend implements."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from recforge.llm.types import GenerationRequest, GenerationResponse

# Called once per finished request with the caller's opaque key; the runner commits it to the cache
# right away, which is what makes a killed stage resumable.
OnResult = Callable[[str, GenerationResponse], None]


class Backend(Protocol):
    name: str
    model: str
    uses_context: bool

    def identity(self) -> dict[str, Any]:
        """What, besides the request, determines the output (backend, model, output-changing
        settings). Goes into the cache key: never put a secret here."""
        ...

    def run(self, items: Sequence[tuple[str, GenerationRequest]], on_result: OnResult) -> None:
        """Answer every request, calling on_result as each one finishes. Transient failures are retried
        inside; a failure that retrying cannot fix raises recforge.llm.types.LLMError."""
        ...

    def close(self) -> None: ...
