"""Offline batched generation with vLLM on GPUs (`LLM.chat` with per-request SamplingParams).

vllm is imported only when this backend is built; without it (any CPU machine) the error says how to
get it. Requests go in chunks so that finished chunks reach the cache before the next one starts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from recforge.llm.backends.base import OnResult
from recforge.llm.settings import VLLMSettings
from recforge.llm.types import GenerationRequest, GenerationResponse, LLMError, Usage

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "the 'vllm' LLM backend needs the vllm package on a CUDA machine "
    "(conda env envs/vllm.yaml, or `pip install vllm`); on CPU use llm.backend: transformers, "
    "openai or heuristic"
)


def import_vllm() -> Any:
    try:
        import vllm
    except ImportError as error:
        raise LLMError(f"{INSTALL_HINT} ({error})") from None
    return vllm


def sampling_kwargs(request: GenerationRequest) -> dict[str, Any]:
    """Keyword arguments of vllm.SamplingParams for one request (structured output separately)."""
    s = request.sampling
    kwargs: dict[str, Any] = {
        "n": 1,
        "temperature": s.temperature,
        "top_p": s.top_p if s.temperature > 0 else 1.0,
        "top_k": -1,  # explicit: no model-default top-k
        "max_tokens": s.max_tokens,
        "seed": s.seed,
        "stop": list(s.stop) or None,
        "skip_special_tokens": True,
    }
    return kwargs


def structured_outputs(vllm: Any, schema: dict[str, Any]) -> dict[str, Any]:
    """The SamplingParams field that constrains decoding to `schema` in this vLLM version:
    `structured_outputs=StructuredOutputsParams(json=...)` (vLLM >= 0.10.2) or
    `guided_decoding=GuidedDecodingParams(json=...)` (older)."""
    params = vllm.sampling_params
    if hasattr(params, "StructuredOutputsParams"):
        return {"structured_outputs": params.StructuredOutputsParams(json=schema)}
    return {"guided_decoding": params.GuidedDecodingParams(json=schema)}


class VLLMBackend:
    name = "vllm"
    uses_context = False

    def __init__(self, settings: VLLMSettings) -> None:
        from recforge.models.loading import fingerprint

        self._vllm = import_vllm()
        self.settings = settings
        self.model = fingerprint(settings.model)
        self._llm = self._vllm.LLM(
            model=settings.model,
            dtype=settings.dtype,
            tensor_parallel_size=settings.tensor_parallel_size,
            gpu_memory_utilization=settings.gpu_memory_utilization,
            max_model_len=settings.max_model_len,
            seed=settings.seed,
            enforce_eager=settings.enforce_eager,
            trust_remote_code=False,
        )

    def identity(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "model": self.model,
            "dtype": self.settings.dtype,
            "guided_json": self.settings.guided_json,
        }

    def sampling_params(self, request: GenerationRequest) -> Any:
        kwargs = sampling_kwargs(request)
        if request.response_schema is not None and self.settings.guided_json:
            kwargs.update(structured_outputs(self._vllm, request.response_schema))
        return self._vllm.SamplingParams(**kwargs)

    def run(self, items: Sequence[tuple[str, GenerationRequest]], on_result: OnResult) -> None:
        size = self.settings.chunk_size
        for start in range(0, len(items), size):
            chunk = items[start : start + size]
            outputs = self._llm.chat(
                [list(request.messages) for _, request in chunk],
                sampling_params=[self.sampling_params(request) for _, request in chunk],
                use_tqdm=True,
                chat_template_kwargs=self.settings.chat_template_kwargs or None,
            )
            for (key, request), output in zip(chunk, outputs):
                completion = output.outputs[0]
                on_result(
                    key,
                    GenerationResponse(
                        request_id=request.request_id,
                        text=completion.text.strip(),
                        backend=self.name,
                        model=self.model,
                        usage=Usage(len(output.prompt_token_ids or []), len(completion.token_ids)),
                        finish_reason=completion.finish_reason or "stop",
                    ),
                )
            log.info("vllm: %d/%d requests done", min(start + size, len(items)), len(items))

    def close(self) -> None:
        self._llm = None
