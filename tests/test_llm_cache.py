"""The durable cache and the runner: keys, resumption, deduplication, concurrent writers, repairs."""

from __future__ import annotations

import json
import multiprocessing
from dataclasses import replace

import pytest

from recforge.llm import (
    GenerationResponse,
    ResponseCache,
    Sampling,
    Usage,
    generate,
    make_request,
    request_key,
)
from recforge.llm.heuristic import HeuristicBackend
from recforge.llm.settings import OpenAISettings
from recforge.text.outputs import PERSONAS_SCHEMA


def summary_request(i: int, **sampling) -> object:
    item = {"item_id": f"i{i}", "title": f"Movie number {i}", "categories": ["Movies & TV", "Drama"]}
    return make_request(
        f"i{i}", "item_summary", {"domain": "movie", "item": item, "max_words": 20}, Sampling(**sampling)
    )


class CountingBackend(HeuristicBackend):
    """The real heuristic backend, recording which keys reach it."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def run(self, items, on_result):
        self.seen.extend(key for key, _ in items)
        super().run(items, on_result)


class ScriptedBackend:
    """Answers structured requests from a script of texts (per call), for the repair loop."""

    name, model, uses_context = "scripted", "script-1", False

    def __init__(self, texts: list[str]) -> None:
        self.texts, self.calls = list(texts), 0

    def identity(self):
        return {"backend": self.name, "model": self.model}

    def run(self, items, on_result):
        for key, request in items:
            text = self.texts[min(self.calls, len(self.texts) - 1)]
            self.calls += 1
            on_result(key, GenerationResponse(request.request_id, text, self.name, self.model, Usage(10, 5)))

    def close(self):
        pass


def test_key_depends_on_content_not_on_request_id():
    identity = {"backend": "openai", "model": "m"}
    a, b = summary_request(1), summary_request(1)
    assert request_key(a, identity, False) == request_key(replace(b, request_id="other"), identity, False)
    assert request_key(a, identity, False) != request_key(
        summary_request(1, temperature=0.7), identity, False
    )
    assert request_key(a, identity, False) != request_key(summary_request(2), identity, False)
    assert request_key(a, identity, False) != request_key(a, {"backend": "openai", "model": "m2"}, False)
    other_context = replace(a, context={**a.context, "max_words": 99})
    assert request_key(a, identity, False) == request_key(other_context, identity, False)  # LLM: prompt only
    assert request_key(a, identity, True) != request_key(other_context, identity, True)  # heuristic: context


def test_openai_identity_never_holds_the_key(monkeypatch):
    pytest.importorskip("openai")
    from recforge.llm.backends.openai_http import OpenAIBackend

    monkeypatch.setenv("RECFORGE_TEST_KEY", "sk-secret-AAAA")
    backend = OpenAIBackend(OpenAISettings(model="m", api_key_env="RECFORGE_TEST_KEY"))
    assert "sk-secret" not in json.dumps(backend.identity())
    monkeypatch.setenv("RECFORGE_TEST_KEY", "sk-secret-BBBB")
    other = OpenAIBackend(OpenAISettings(model="m", api_key_env="RECFORGE_TEST_KEY"))
    req = summary_request(1)
    assert request_key(req, backend.identity(), False) == request_key(req, other.identity(), False)


def test_resume_sends_only_what_is_missing(tmp_path):
    requests = [summary_request(i) for i in range(40)]
    with ResponseCache(tmp_path / "c.sqlite") as cache:
        first = CountingBackend()
        generate(requests[:15], first, cache, progress=False)
        second = CountingBackend()
        run = generate(requests, second, cache, progress=False)
    assert len(first.seen) == 15 and len(second.seen) == 25 and not set(first.seen) & set(second.seen)
    assert run.cached == 15 and run.sent == 25 and len(run.responses) == 40
    assert [r.cached for r in run.responses] == [True] * 15 + [False] * 25


def test_duplicate_prompts_are_sent_once(tmp_path):
    requests = [summary_request(1), replace(summary_request(1), request_id="copy"), summary_request(2)]
    backend = CountingBackend()
    with ResponseCache(tmp_path / "c.sqlite") as cache:
        run = generate(requests, backend, cache, progress=False)
    assert len(backend.seen) == 2 and run.distinct == 2
    assert [r.request_id for r in run.responses] == ["i1", "copy", "i2"]
    assert run.responses[0].text == run.responses[1].text


def _writer(path: str, worker: int, n: int) -> None:
    with ResponseCache(path, timeout_s=60) as cache:
        for i in range(n):
            key = f"k{(i * 7 + worker) % (n + 50)}"  # workers overlap on many keys
            record = {
                "text": f"w{worker}",
                "backend": "b",
                "model": "m",
                "usage": {"prompt_tokens": 1, "completion_tokens": 1},
            }
            cache.put(key, "t", record)


def test_concurrent_writers_are_safe(tmp_path):
    path = str(tmp_path / "shared.sqlite")
    ResponseCache(path).close()
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(path, w, 150)) for w in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    expected = {f"k{(i * 7 + w) % 200}" for w in range(4) for i in range(150)}
    with ResponseCache(path) as cache:
        assert len(cache) == len(expected)
        assert set(cache.get_many(expected)) == expected


def persona_request() -> object:
    item = {"item_id": "i1", "title": "Heat", "categories": ["Movies & TV", "Action"]}
    ctx = {
        "domain": "movie",
        "item": item,
        "raters": [],
        "min_personas": 1,
        "max_personas": 2,
        "like_threshold": 4.0,
    }
    request = make_request("i1", "personas", ctx, Sampling())
    assert request.response_schema == PERSONAS_SCHEMA
    return request


PERSONA = {
    "ID": "P1",
    "Name": "Heist Fan",
    "Description": "Likes heists.",
    "Preference_Rationale": "This persona appreciates this item because of the heist.",
}
VALID = "```json\n" + json.dumps({"personas": [PERSONA]}) + "\n```"  # fenced, as models often answer


def test_invalid_structured_answer_is_repaired(tmp_path):
    backend = ScriptedBackend(['{"personas": [', VALID])
    with ResponseCache(tmp_path / "c.sqlite") as cache:
        run = generate([persona_request()], backend, cache, max_repairs=2, progress=False)
    response = run.responses[0]
    assert response.error is None and response.attempts == 2 and backend.calls == 2
    assert response.parsed["personas"][0]["Name"] == "Heist Fan"
    assert response.usage == Usage(20, 10) and run.sent == 2


def test_never_valid_answer_is_reported_and_not_paid_twice(tmp_path):
    with ResponseCache(tmp_path / "c.sqlite") as cache:
        backend = ScriptedBackend(['{"personas": []}'])
        run = generate([persona_request()], backend, cache, max_repairs=2, progress=False)
        assert backend.calls == 3 and run.failed == 1
        assert "invalid after 3 attempts" in run.responses[0].error
        again = ScriptedBackend([VALID])
        rerun = generate([persona_request()], again, cache, max_repairs=2, progress=False)
    assert again.calls == 0 and rerun.responses[0].error is not None
