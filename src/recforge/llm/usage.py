"""Token usage and estimated cost of a generation run, for the stage log and its JSON sidecar."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from recforge.llm.settings import Pricing
from recforge.llm.types import GenerationResponse, Usage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenerationRun:
    """The responses of one `generate` call (request order) and what it took."""

    responses: list[GenerationResponse]
    backend: str
    model: str
    distinct: int  # distinct cache keys among the requests
    cached: int  # distinct keys answered from the cache
    sent: int  # backend calls made in this run (repairs included)
    usage_sent: Usage  # tokens of the calls made in this run
    usage_all: Usage  # tokens of every distinct response, cached ones included

    @property
    def failed(self) -> int:
        return sum(r.error is not None for r in self.responses)


def usage_report(run: GenerationRun, pricing: Pricing, stage: str, wall_s: float) -> dict[str, Any]:
    """The sidecar: counts, tokens and estimated cost (USD) of this run and of the whole output."""
    return {
        "stage": stage,
        "backend": run.backend,
        "model": run.model,
        "requests": len(run.responses),
        "distinct_requests": run.distinct,
        "from_cache": run.cached,
        "calls_sent": run.sent,
        "failed": run.failed,
        "tokens_this_run": {
            "prompt": run.usage_sent.prompt_tokens,
            "completion": run.usage_sent.completion_tokens,
        },
        "tokens_all_responses": {
            "prompt": run.usage_all.prompt_tokens,
            "completion": run.usage_all.completion_tokens,
        },
        "estimated_cost_usd_this_run": round(
            pricing.cost(run.usage_sent.prompt_tokens, run.usage_sent.completion_tokens), 6
        ),
        "estimated_cost_usd_all_responses": round(
            pricing.cost(run.usage_all.prompt_tokens, run.usage_all.completion_tokens), 6
        ),
        "pricing_usd_per_million": {
            "prompt": pricing.prompt_per_million,
            "completion": pricing.completion_per_million,
        },
        "token_unit": "whitespace words" if run.backend == "heuristic" else "model tokens",
        "wall_s": round(wall_s, 3),
    }


def log_report(report: dict[str, Any]) -> None:
    log.info(
        "%s via %s/%s: %d requests (%d distinct, %d from cache, %d calls sent, %d failed); "
        "tokens this run: %d prompt + %d completion; estimated cost this run $%.4f (all responses $%.4f)",
        report["stage"],
        report["backend"],
        report["model"],
        report["requests"],
        report["distinct_requests"],
        report["from_cache"],
        report["calls_sent"],
        report["failed"],
        report["tokens_this_run"]["prompt"],
        report["tokens_this_run"]["completion"],
        report["estimated_cost_usd_this_run"],
        report["estimated_cost_usd_all_responses"],
    )
