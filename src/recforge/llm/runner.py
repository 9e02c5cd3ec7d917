"""Requests in, responses out, through the cache: the one entry point of every LLM stage."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from tqdm.auto import tqdm

from recforge.llm.backends.base import Backend
from recforge.llm.cache import ResponseCache, request_key
from recforge.llm.structured import InvalidOutput, repair_request, validate
from recforge.llm.types import GenerationRequest, GenerationResponse, Usage
from recforge.llm.usage import GenerationRun

log = logging.getLogger(__name__)


def generate(
    requests: Sequence[GenerationRequest],
    backend: Backend,
    cache: ResponseCache,
    *,
    max_repairs: int = 2,
    progress: bool = True,
) -> GenerationRun:
    """One response per request (`.responses`, in request order), with counts and token usage.

    Requests whose key is cached are not sent. Requests with the same key are sent once. A structured
    request (response_schema set) whose answer does not validate is re-asked with a repair message up
    to `max_repairs` times; if it still fails, its response carries `error` (and is cached, so a rerun
    does not pay for it again). Every final response is committed to the cache as soon as it exists.
    """
    identity = backend.identity()
    keys = [request_key(r, identity, backend.uses_context) for r in requests]
    first: dict[str, GenerationRequest] = {}
    for key, request in zip(keys, requests):
        first.setdefault(key, request)
    done: dict[str, GenerationResponse] = {
        key: GenerationResponse.from_record(first[key].request_id, record, cached=True)
        for key, record in cache.get_many(first).items()
    }
    pending = [(key, first[key]) for key in first if key not in done]
    log.info(
        "%s/%s: %d requests, %d distinct, %d cached, %d to send",
        backend.name,
        backend.model,
        len(requests),
        len(first),
        len(done),
        len(pending),
    )
    n_cached = len(done)
    rounds = _Rounds(
        cache,
        done,
        max_repairs,
        tqdm(total=len(pending), desc=f"{backend.name} generate", disable=not progress, mininterval=2),
    )
    try:
        for attempt in range(1, max_repairs + 2):
            if not pending:
                break
            pending = rounds.run(backend, pending, attempt)
    finally:
        rounds.bar.close()
    return GenerationRun(
        responses=[dataclasses.replace(done[key], request_id=r.request_id) for key, r in zip(keys, requests)],
        backend=backend.name,
        model=backend.model,
        distinct=len(first),
        cached=n_cached,
        sent=rounds.calls,
        usage_sent=sum(rounds.spent.values(), Usage()),
        usage_all=sum((r.usage for r in done.values()), Usage()),
    )


class _Rounds:
    """One round sends every pending request once; answers that fail their schema come back as the
    next round's repair requests. Final answers are committed to the cache as they arrive."""

    def __init__(
        self, cache: ResponseCache, done: dict[str, GenerationResponse], max_repairs: int, bar
    ) -> None:
        self.cache, self.done, self.max_repairs, self.bar = cache, done, max_repairs, bar
        self.calls = 0
        self.spent: dict[str, Usage] = {}

    def run(
        self, backend: Backend, pending: list[tuple[str, GenerationRequest]], attempt: int
    ) -> list[tuple[str, GenerationRequest]]:
        current = dict(pending)
        retry: list[tuple[str, GenerationRequest]] = []

        def on_result(key: str, response: GenerationResponse) -> None:
            self.calls += 1
            usage = self.spent.get(key, Usage()) + response.usage
            self.spent[key] = usage
            request = current[key]
            parsed, error = None, None
            if request.response_schema is not None:
                try:
                    parsed = validate(response.text, request.response_schema)
                except InvalidOutput as problem:
                    if attempt <= self.max_repairs:
                        log.warning(
                            "request %s: invalid answer (%s); asking for a repair",
                            request.request_id,
                            problem,
                        )
                        retry.append((key, repair_request(request, response.text, str(problem))))
                        return
                    error = f"invalid after {attempt} attempts: {problem}"
            final = dataclasses.replace(
                response, usage=usage, parsed=parsed, error=error, attempts=attempt, cached=False
            )
            self.cache.put(key, request.task, final.to_record())
            self.done[key] = final
            self.bar.update(1)

        backend.run(pending, on_result)
        return retry
