"""Any OpenAI-compatible chat server (OpenAI, `vllm serve`, `transformers serve`).

Bounded concurrency (a fixed pool of workers), per-request retries with exponential backoff and full
jitter on 429, 5xx, timeouts, dropped connections and unparseable response bodies; fail fast (no retry)
on a rejected key, an unknown model or a rejected request. The openai client's own retries are turned
off so that this policy is the only one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Sequence
from typing import Any

from recforge.llm.backends.base import OnResult
from recforge.llm.settings import OpenAISettings
from recforge.llm.types import GenerationRequest, GenerationResponse, LLMError, Usage

log = logging.getLogger(__name__)


def api_key_from_env(variable: str | None) -> str:
    if variable is None:
        return "no-key"  # local servers ignore it; the client insists on some value
    value = os.environ.get(variable)
    if not value:
        raise LLMError(f"the API key environment variable {variable} is not set (llm.openai.api_key_env)")
    return value


class _Transient(Exception):
    """A failure worth retrying."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


def request_body(request: GenerationRequest, settings: OpenAISettings) -> dict[str, Any]:
    """The chat.completions.create arguments for one request."""
    s = request.sampling
    body: dict[str, Any] = {
        "model": settings.model,
        "messages": list(request.messages),
        "temperature": s.temperature,
        "top_p": s.top_p,
        "max_tokens": s.max_tokens,
        "seed": s.seed,
    }
    if s.stop:
        body["stop"] = list(s.stop)
    if request.response_schema is not None and settings.json_mode == "json_object":
        body["response_format"] = {"type": "json_object"}
    elif request.response_schema is not None and settings.json_mode == "json_schema":
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": request.task, "schema": request.response_schema},
        }
    if settings.extra_body:
        body["extra_body"] = dict(settings.extra_body)
    return body


class OpenAIBackend:
    name = "openai"
    uses_context = False

    def __init__(self, settings: OpenAISettings) -> None:
        import openai  # the dependency of this backend only

        self._openai = openai
        self.settings = settings
        self.model = settings.model
        self._api_key = api_key_from_env(settings.api_key_env)

    def identity(self) -> dict[str, Any]:
        # The base URL is left out on purpose: the same model behind another server (or port) gives
        # the same answers. The key is never part of the identity.
        return {"backend": self.name, "model": self.model, "json_mode": self.settings.json_mode}

    def run(self, items: Sequence[tuple[str, GenerationRequest]], on_result: OnResult) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            asyncio.run(self._run(items, on_result))
            return
        # Called from inside an event loop (a notebook): run ours in a worker thread.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, self._run(items, on_result)).result()

    async def _run(self, items: Sequence[tuple[str, GenerationRequest]], on_result: OnResult) -> None:
        client = self._openai.AsyncOpenAI(
            base_url=self.settings.base_url,
            api_key=self._api_key,
            max_retries=0,
            timeout=self.settings.timeout_s,
        )
        queue: asyncio.Queue[tuple[str, GenerationRequest]] = asyncio.Queue()
        for item in items:
            queue.put_nowait(item)

        async def worker() -> None:
            while True:
                try:
                    key, request = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                on_result(key, await self._complete(client, request))

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(min(self.settings.max_concurrency, len(items))):
                    group.create_task(worker())
        except* Exception as errors:  # a failed request ends the run: surface its error, not a group
            raise errors.exceptions[0] from None
        finally:
            await client.close()

    async def _complete(self, client: Any, request: GenerationRequest) -> GenerationResponse:
        s = self.settings
        last = ""
        for attempt in range(1, s.max_attempts + 1):
            try:
                return await self._call_once(client, request)
            except _Transient as problem:
                last = str(problem)
                if attempt == s.max_attempts:
                    break
                delay = min(s.backoff_max_s, s.backoff_base_s * 2 ** (attempt - 1))
                delay = random.uniform(0, delay)  # full jitter: concurrent retries spread out
                if problem.retry_after is not None:
                    delay = max(delay, min(problem.retry_after, s.backoff_max_s))
                log.warning(
                    "request %s: %s (attempt %d/%d); retrying in %.2fs",
                    request.request_id,
                    problem,
                    attempt,
                    s.max_attempts,
                    delay,
                )
                await asyncio.sleep(delay)
        raise LLMError(
            f"giving up on request {request.request_id} after {s.max_attempts} attempts against "
            f"{s.base_url}: {last}"
        )

    async def _call_once(self, client: Any, request: GenerationRequest) -> GenerationResponse:
        o = self._openai
        s = self.settings
        try:
            completion = await client.chat.completions.create(**request_body(request, s))
        except (o.AuthenticationError, o.PermissionDeniedError) as error:
            raise LLMError(
                f"{s.base_url} rejected the API key from ${s.api_key_env} (HTTP {error.status_code}); "
                "check the key and the base URL"
            ) from None
        except o.NotFoundError:
            raise LLMError(f"{s.base_url} does not serve model {s.model!r} (HTTP 404)") from None
        except o.RateLimitError as error:
            raise _Transient("rate limited (HTTP 429)", _retry_after(error)) from None
        except o.APITimeoutError:
            raise _Transient(f"timed out after {s.timeout_s}s") from None
        except o.APIConnectionError as error:
            raise _Transient(f"cannot reach {s.base_url} ({error.__cause__ or error})") from None
        except o.APIStatusError as error:
            if error.status_code >= 500 or error.status_code in (408, 409):
                raise _Transient(f"server error (HTTP {error.status_code})") from None
            raise LLMError(
                f"{s.base_url} rejected the request (HTTP {error.status_code}): {error.message}"
            ) from None
        except (o.APIResponseValidationError, json.JSONDecodeError, ValueError) as error:
            raise _Transient(f"unparseable response body ({type(error).__name__})") from None
        choices = getattr(completion, "choices", None)
        if not choices or getattr(choices[0], "message", None) is None:
            raise _Transient("response without choices")
        choice = choices[0]
        usage = getattr(completion, "usage", None)
        return GenerationResponse(
            request_id=request.request_id,
            text=choice.message.content or "",
            backend=self.name,
            model=getattr(completion, "model", None) or self.model,  # the exact model that answered
            usage=Usage(
                int(getattr(usage, "prompt_tokens", 0) or 0),
                int(getattr(usage, "completion_tokens", 0) or 0),
            ),
            finish_reason=choice.finish_reason or "stop",
        )

    def close(self) -> None:
        pass


def _retry_after(error: Any) -> float | None:
    try:
        return float(error.response.headers.get("retry-after"))
    except (AttributeError, TypeError, ValueError):
        return None
