"""Text generation for every LLM stage: requests in, responses out.

    from recforge.llm import LLMSettings, make_request, run_stage, Sampling
    requests = [make_request(item_id, "item_summary", context, Sampling(max_tokens=128)), ...]
    run = run_stage(requests, LLMSettings.from_dict(params), cache_path, usage_path, stage="...")
    run.responses  # GenerationResponse per request, in order; .backend/.model say who wrote it

Backends: `heuristic` (deterministic, no model; the CPU default), `openai` (any OpenAI-compatible
server), `transformers` (local HF causal LM), `vllm` (offline, GPUs). Every call goes through a durable
SQLite cache (recforge.llm.cache), so a rerun or a crash never pays twice.
"""

from recforge.llm.cache import ResponseCache, request_key
from recforge.llm.requests import make_request
from recforge.llm.runner import generate
from recforge.llm.settings import LLMSettings, Pricing, make_backend
from recforge.llm.stage import run_stage
from recforge.llm.types import GenerationRequest, GenerationResponse, LLMError, Sampling, Usage
from recforge.llm.usage import GenerationRun

__all__ = [
    "GenerationRequest",
    "GenerationResponse",
    "GenerationRun",
    "LLMError",
    "LLMSettings",
    "Pricing",
    "ResponseCache",
    "Sampling",
    "Usage",
    "generate",
    "make_backend",
    "make_request",
    "request_key",
    "run_stage",
]
