"""LLM settings from the `llm` config section, and the backend factory."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

BackendName = Literal["heuristic", "openai", "vllm", "transformers"]


@dataclass(frozen=True)
class Pricing:
    """USD per million tokens, for the cost estimate in each stage's usage sidecar."""

    prompt_per_million: float = 0.0
    completion_per_million: float = 0.0

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.prompt_per_million + completion_tokens * self.completion_per_million
        ) / 1e6


@dataclass(frozen=True)
class OpenAISettings:
    model: str
    base_url: str = "https://api.openai.com/v1"
    # Name of the environment variable holding the key; None for local servers that need none. The
    # key itself never appears in config, logs, caches or outputs.
    api_key_env: str | None = "OPENAI_API_KEY"
    max_concurrency: int = 8
    max_attempts: int = 6  # per request, first try included; then the stage fails with a clear error
    backoff_base_s: float = 1.0
    backoff_max_s: float = 30.0
    timeout_s: float = 120.0
    # How to ask for structured output: "none" (prompt + validation + repair; works everywhere,
    # e.g. `transformers serve`), "json_object", or "json_schema" (OpenAI, vLLM serve).
    json_mode: Literal["none", "json_object", "json_schema"] = "none"
    extra_body: dict[str, Any] = field(default_factory=dict)  # e.g. {"chat_template_kwargs": {...}}


@dataclass(frozen=True)
class TransformersSettings:
    model: str  # local directory or hub id of a causal LM with a chat template
    dtype: str = "float32"
    device: str = "cpu"
    attn_implementation: str = "sdpa"
    batch_size: int = 8
    chat_template_kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VLLMSettings:
    model: str
    dtype: str = "bfloat16"
    tensor_parallel_size: int = 1
    gpu_memory_utilization: float = 0.85
    max_model_len: int = 4096
    seed: int = 0
    enforce_eager: bool = False
    chunk_size: int = 512  # requests per llm.chat call: results are cached after each chunk
    guided_json: bool = True  # constrain structured requests with the schema (xgrammar/outlines)
    chat_template_kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LLMSettings:
    backend: BackendName = "heuristic"
    max_repairs: int = 2
    pricing: Pricing = Pricing()
    openai: OpenAISettings | None = None
    transformers: TransformersSettings | None = None
    vllm: VLLMSettings | None = None

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "LLMSettings":
        """From a resolved settings dict: {backend, max_repairs, pricing, <backend>: {...}}."""
        backend = raw.get("backend", "heuristic")
        sub = raw.get(backend) or {}
        kinds = {"openai": OpenAISettings, "transformers": TransformersSettings, "vllm": VLLMSettings}
        return cls(
            backend=backend,
            max_repairs=int(raw.get("max_repairs", 2)),
            pricing=Pricing(**(raw.get("pricing") or {})),
            **({backend: kinds[backend](**sub)} if backend in kinds else {}),
        )


def make_backend(settings: LLMSettings):
    """The backend named by the settings; only its own dependencies are imported."""
    if settings.backend == "heuristic":
        from recforge.llm.heuristic import HeuristicBackend

        return HeuristicBackend()
    if settings.backend == "openai":
        from recforge.llm.backends.openai_http import OpenAIBackend

        return OpenAIBackend(_required(settings.openai, "openai"))
    if settings.backend == "transformers":
        from recforge.llm.backends.transformers_local import TransformersBackend

        return TransformersBackend(_required(settings.transformers, "transformers"))
    if settings.backend == "vllm":
        from recforge.llm.backends.vllm_offline import VLLMBackend

        return VLLMBackend(_required(settings.vllm, "vllm"))
    raise ValueError(f"unknown LLM backend {settings.backend!r}")


def _required(value, name: str):
    if value is None:
        raise ValueError(f"backend {name!r} selected but its settings are missing")
    return value
