"""The `openai` backend against a real OpenAI-compatible server: `transformers serve` serving the tiny
test model on localhost, optionally behind a fault-injecting proxy."""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from llm_fixtures.fault_proxy import FAULTS, FaultProxy
from llm_fixtures.helpers import movies_items, shared_test_model, transformers_server
from recforge.llm import LLMError, LLMSettings, ResponseCache, Sampling, generate, make_request, run_stage
from recforge.llm.backends.openai_http import OpenAIBackend
from recforge.llm.settings import OpenAISettings
from recforge.text.contexts import item_info

pytest.importorskip("openai")
pytest.importorskip("fastapi")  # transformers[serving]

SECRET = "sk-recforge-test-7f3a9c"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return shared_test_model(tmp_path_factory)


@pytest.fixture(scope="module")
def server(model_dir):
    with transformers_server(model_dir) as url:
        yield url


def settings(base_url: str, model_dir: Path, **overrides) -> OpenAISettings:
    values = dict(
        model=str(model_dir),
        base_url=base_url,
        api_key_env=None,
        max_concurrency=4,
        max_attempts=5,
        backoff_base_s=0.05,
        backoff_max_s=0.5,
        timeout_s=60,
        json_mode="none",
    )
    values.update(overrides)
    return OpenAISettings(**values)


def summary_requests(n: int, offset: int = 0, max_tokens: int = 12):
    rows = movies_items().iloc[offset : offset + n].to_dict("records")
    return [
        make_request(
            r["item_id"],
            "item_summary",
            {"domain": "movie", "item": item_info(r), "max_words": 30},
            Sampling(max_tokens=max_tokens),
        )
        for r in rows
    ]


def test_stage_through_a_real_server_keeps_the_key_secret(server, model_dir, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)  # even debug logs (openai, httpx) must not carry the key
    monkeypatch.setenv("RECFORGE_TEST_KEY", SECRET)
    requests = summary_requests(12)
    with FaultProxy(server, api_key=SECRET) as proxy:  # the proxy checks the key really is sent
        llm = LLMSettings(
            backend="openai", openai=settings(proxy.url, model_dir, api_key_env="RECFORGE_TEST_KEY")
        )
        run = run_stage(requests, llm, tmp_path / "cache.sqlite", tmp_path / "usage.json", stage="test")
    assert len(proxy.forwarded) == 12
    assert [r.request_id for r in run.responses] == [r.request_id for r in requests]
    assert all(r.backend == "openai" and r.model.startswith(str(model_dir)) for r in run.responses)
    assert sum(bool(r.text) for r in run.responses) >= 10
    assert len({r.text for r in run.responses}) > 1  # the tiny model conditions on the prompt
    usage = json.loads((tmp_path / "usage.json").read_text())
    assert usage["calls_sent"] == 12 and usage["tokens_this_run"]["prompt"] > 12 * 20
    assert usage["tokens_this_run"]["completion"] > 0
    # The key is in no artifact: cache DB (and its WAL), sidecar.
    for path in tmp_path.iterdir():
        assert SECRET.encode() not in path.read_bytes(), path.name
    assert "HTTP Request" in caplog.text or "Request options" in caplog.text  # debug logs were on
    assert SECRET not in caplog.text


def test_served_answers_equal_local_transformers_answers(server, model_dir, tmp_path):
    from recforge.llm.backends.transformers_local import TransformersBackend
    from recforge.llm.settings import TransformersSettings

    requests = summary_requests(6, offset=40)
    with ResponseCache(tmp_path / "a.sqlite") as a, ResponseCache(tmp_path / "b.sqlite") as b:
        served = generate(requests, OpenAIBackend(settings(server, model_dir)), a, progress=False)
        local = generate(
            requests,
            TransformersBackend(TransformersSettings(model=str(model_dir), batch_size=3)),
            b,
            progress=False,
        )

    # transformers serve returns special tokens the model generated (<|im_start|>) where the local
    # backend decodes with skip_special_tokens=True; the generated tokens are the same.
    def plain(text: str) -> str:
        return text.replace("<|im_start|>", "").replace("<|endoftext|>", "").strip()

    assert [plain(r.text) for r in served.responses] == [plain(r.text) for r in local.responses]
    assert [r.usage for r in served.responses] == [r.usage for r in local.responses]


def test_bad_key_fails_fast_with_a_clear_error(server, model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("RECFORGE_TEST_KEY", "sk-wrong-key-123")
    with FaultProxy(server, api_key=SECRET) as proxy:
        backend = OpenAIBackend(settings(proxy.url, model_dir, api_key_env="RECFORGE_TEST_KEY"))
        start = time.monotonic()
        with ResponseCache(tmp_path / "c.sqlite") as cache, pytest.raises(LLMError) as error:
            generate(summary_requests(8), backend, cache, progress=False)
    assert time.monotonic() - start < 10
    assert "rejected the API key from $RECFORGE_TEST_KEY (HTTP 401)" in str(error.value)
    assert "sk-wrong-key" not in str(error.value)
    assert sum(proxy.attempts.values()) <= 4  # one try per worker, no retries


def test_missing_key_variable_is_a_clear_error(model_dir, monkeypatch):
    monkeypatch.delenv("RECFORGE_UNSET_KEY", raising=False)
    with pytest.raises(LLMError, match="RECFORGE_UNSET_KEY is not set"):
        OpenAIBackend(settings("http://127.0.0.1:9/v1", model_dir, api_key_env="RECFORGE_UNSET_KEY"))


def test_unreachable_server_gives_up_after_bounded_retries(model_dir, tmp_path):
    from llm_fixtures.helpers import free_port

    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    backend = OpenAIBackend(settings(url, model_dir, max_attempts=3, backoff_base_s=0.01))
    start = time.monotonic()
    with (
        ResponseCache(tmp_path / "c.sqlite") as cache,
        pytest.raises(LLMError, match="after 3 attempts.*cannot reach"),
    ):
        generate(summary_requests(3), backend, cache, progress=False)
    assert time.monotonic() - start < 15


def test_every_request_completes_once_despite_faults(server, model_dir, tmp_path):
    requests = summary_requests(24, offset=100)
    with ResponseCache(tmp_path / "clean.sqlite") as cache:
        clean = generate(requests, OpenAIBackend(settings(server, model_dir)), cache, progress=False)
    with FaultProxy(server, faults=FAULTS) as proxy, ResponseCache(tmp_path / "faulty.sqlite") as cache:
        faulty = generate(requests, OpenAIBackend(settings(proxy.url, model_dir)), cache, progress=False)
        cached = len(cache)
    assert {f: proxy.injected[f] for f in FAULTS} == {f: 6 for f in FAULTS}  # each fault hit 6 requests
    # Nothing lost: every request answered, as the fault-free run answers it.
    assert [r.text for r in faulty.responses] == [r.text for r in clean.responses]
    assert all(r.error is None for r in faulty.responses) and cached == 24
    # Nothing duplicated: every prompt reached the model exactly once.
    bodies = [json.dumps(b["messages"], sort_keys=True) for b in proxy.forwarded]
    assert len(bodies) == 24 and len(set(bodies)) == 24
    assert faulty.sent == 24  # retries are transport-level; one response per request


def test_malformed_json_answers_are_repaired(server, model_dir, tmp_path):
    valid = json.dumps(
        {
            "personas": [
                {
                    "ID": "P1",
                    "Name": "Heist Fan",
                    "Description": "Likes heists.",
                    "Preference_Rationale": "This persona appreciates this item because of the heist.",
                }
            ]
        }
    )
    items = movies_items().head(3).to_dict("records")
    requests = [
        make_request(
            r["item_id"],
            "personas",
            {
                "domain": "movie",
                "item": item_info(r),
                "raters": [],
                "min_personas": 1,
                "max_personas": 2,
                "like_threshold": 4.0,
            },
            Sampling(max_tokens=8),
        )
        for r in items
    ]
    with (
        FaultProxy(server, corrupt_structured=True, valid_structured_answer=valid) as proxy,
        ResponseCache(tmp_path / "c.sqlite") as cache,
    ):
        run = generate(
            requests, OpenAIBackend(settings(proxy.url, model_dir)), cache, max_repairs=2, progress=False
        )
    assert all(r.error is None and r.attempts == 2 for r in run.responses)
    assert all(r.parsed["personas"][0]["Name"] == "Heist Fan" for r in run.responses)
    assert len(proxy.forwarded) == 6 and run.sent == 6


STAGE = """
import json, sys
import pandas as pd
from recforge.llm import LLMSettings
from recforge.llm.item_summaries import ItemSummaryConfig, summarize_items
from recforge.logs import setup_logging
args = json.loads(sys.argv[1])
setup_logging(args["log"])
config = ItemSummaryConfig(domain="movie", max_tokens=12, max_words=30)
summarize_items(pd.read_parquet(args["items"]), config,
                LLMSettings.from_dict(args["llm"]), args["cache"], args["out"], args["usage"])
"""


def run_stage_process(items: Path, llm: dict, cache: Path, out: Path) -> subprocess.Popen:
    args = {
        "items": str(items),
        "llm": llm,
        "cache": str(cache),
        "out": str(out),
        "usage": str(out.with_suffix(".usage.json")),
        "log": str(out.with_suffix(".log")),
    }
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-c", STAGE, json.dumps(args)], env=env)


def cached_rows(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # table not created yet


def test_killed_stage_resumes_without_resending(server, model_dir, tmp_path):
    from recforge.llm import request_key
    from recforge.llm.item_summaries import ItemSummaryConfig, item_summary_requests

    n = 300
    frame = movies_items().iloc[:n]
    items = tmp_path / "items.parquet"
    frame.to_parquet(items, index=False)
    cache = tmp_path / "cache.sqlite"
    requests = item_summary_requests(frame, ItemSummaryConfig(domain="movie", max_tokens=12, max_words=30))
    identity = {"backend": "openai", "model": str(model_dir), "json_mode": "none"}
    body_of = {
        request_key(r, identity, False): json.dumps(list(r.messages), sort_keys=True) for r in requests
    }
    assert len(body_of) == n

    def sent(proxy) -> list[str]:
        return [json.dumps(b["messages"], sort_keys=True) for b in proxy.forwarded]

    with FaultProxy(server) as proxy:
        llm = {"backend": "openai", "openai": {**settings(proxy.url, model_dir).__dict__}}
        first = run_stage_process(items, llm, cache, tmp_path / "first.parquet")
        while cached_rows(cache) < n // 3:
            assert first.poll() is None, "the stage finished before it could be killed"
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait()
        assert first.returncode == -signal.SIGKILL
        assert not (tmp_path / "first.parquet").exists()  # no half-written output
        proxy.wait_idle()  # requests in flight at the kill reach the server, unanswered
        with sqlite3.connect(cache) as db:
            completed = {body_of[k] for (k,) in db.execute("SELECT key FROM responses")}
        assert n // 3 <= len(completed) < n
        assert completed <= set(sent(proxy))
        proxy.forwarded.clear()

        second = run_stage_process(items, llm, cache, tmp_path / "resumed.parquet")
        assert second.wait(timeout=300) == 0
        resent = sent(proxy)
    # No completed request was sent again; every missing one was sent once.
    assert not completed & set(resent)
    assert len(resent) == len(set(resent)) and completed | set(resent) == set(body_of.values())
    usage = json.loads((tmp_path / "resumed.usage.json").read_text())
    assert usage["from_cache"] == len(completed) and usage["calls_sent"] == n - len(completed)
    # The output equals that of an uninterrupted run.
    reference = run_stage_process(
        items,
        {"backend": "openai", "openai": {**settings(server, model_dir).__dict__}},
        tmp_path / "fresh.sqlite",
        tmp_path / "reference.parquet",
    )
    assert reference.wait(timeout=300) == 0
    resumed, expected = pd.read_parquet(tmp_path / "resumed.parquet"), pd.read_parquet(
        tmp_path / "reference.parquet"
    )
    pd.testing.assert_frame_equal(resumed, expected)
    assert list(resumed["item_id"]) == list(frame["item_id"]) and resumed["error"].isna().all()
