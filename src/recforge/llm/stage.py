"""Run one LLM stage: generate through the cache, then log and write the usage sidecar."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

from recforge.io import write_json
from recforge.llm.cache import ResponseCache
from recforge.llm.runner import generate
from recforge.llm.settings import LLMSettings, make_backend
from recforge.llm.types import GenerationRequest
from recforge.llm.usage import GenerationRun, log_report, usage_report

log = logging.getLogger(__name__)


def run_stage(
    requests: Sequence[GenerationRequest],
    settings: LLMSettings,
    cache_path: str | Path,
    usage_path: str | Path,
    stage: str,
) -> GenerationRun:
    """Generate every request with the configured backend through the durable cache at `cache_path`,
    log token usage and estimated cost, and write them to `usage_path` (JSON)."""
    start = time.perf_counter()
    backend = make_backend(settings)
    try:
        with ResponseCache(cache_path) as cache:
            run = generate(requests, backend, cache, max_repairs=settings.max_repairs)
    finally:
        backend.close()
    report = usage_report(run, settings.pricing, stage, time.perf_counter() - start)
    log_report(report)
    write_json(report, usage_path)
    if run.failed:
        log.warning("%s: %d responses never validated; they carry an error", stage, run.failed)
    return run
