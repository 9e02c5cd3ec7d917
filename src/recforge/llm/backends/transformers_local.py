"""Local batched generation with any Hugging Face causal LM that has a chat template."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from recforge.llm.backends.base import OnResult
from recforge.llm.settings import TransformersSettings
from recforge.llm.types import GenerationRequest, GenerationResponse, Sampling, Usage

log = logging.getLogger(__name__)


def generation_kwargs(sampling: Sampling, tokenizer: Any) -> dict[str, Any]:
    """Every decoding knob set explicitly: a model's generation_config defaults (sampling, top-k)
    must not leak in."""
    greedy = sampling.temperature <= 0
    kwargs: dict[str, Any] = {
        "max_new_tokens": sampling.max_tokens,
        "do_sample": not greedy,
        "num_beams": 1,
        "top_k": None,
        "repetition_penalty": 1.0,
        "pad_token_id": tokenizer.pad_token_id,
        "eos_token_id": tokenizer.eos_token_id,
    }
    if greedy:
        kwargs.update(temperature=None, top_p=None)
    else:
        kwargs.update(temperature=sampling.temperature, top_p=sampling.top_p)
    return kwargs


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    cuts = [text.find(s) for s in stop if s and s in text]
    if not cuts:
        return text, False
    return text[: min(cuts)], True


class TransformersBackend:
    name = "transformers"
    uses_context = False

    def __init__(self, settings: TransformersSettings) -> None:
        from recforge.models.loading import fingerprint, load_causal_lm

        self.settings = settings
        self.model = fingerprint(settings.model)
        self._lm, self._tokenizer = load_causal_lm(
            settings.model, settings.dtype, settings.attn_implementation, settings.device
        )

    def identity(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.model, "dtype": self.settings.dtype}

    def prompt_text(self, request: GenerationRequest) -> str:
        return self._tokenizer.apply_chat_template(
            list(request.messages),
            tokenize=False,
            add_generation_prompt=True,
            **self.settings.chat_template_kwargs,
        )

    def run(self, items: Sequence[tuple[str, GenerationRequest]], on_result: OnResult) -> None:
        import torch

        # Requests with the same sampling settings share a generate() call; within a group, similar
        # prompt lengths share a batch (less padding).
        groups: dict[Sampling, list[tuple[str, GenerationRequest, str]]] = defaultdict(list)
        for key, request in items:
            groups[request.sampling].append((key, request, self.prompt_text(request)))
        tok = self._tokenizer
        for sampling, group in groups.items():
            group.sort(key=lambda g: len(g[2]))
            kwargs = generation_kwargs(sampling, tok)
            for start in range(0, len(group), self.settings.batch_size):
                batch = group[start : start + self.settings.batch_size]
                inputs = tok(
                    [g[2] for g in batch], return_tensors="pt", padding=True, add_special_tokens=False
                ).to(self.settings.device)
                torch.manual_seed(sampling.seed)  # a batch's samples depend only on the seed and batch
                with torch.no_grad():
                    out = self._lm.generate(**inputs, **kwargs)
                new = out[:, inputs["input_ids"].shape[1] :]
                for row, (key, request, _) in enumerate(batch):
                    ids = new[row].tolist()
                    if tok.eos_token_id in ids:
                        ids = ids[: ids.index(tok.eos_token_id) + 1]
                        finish = "stop"
                    else:
                        ids = [i for i in ids if i != tok.pad_token_id]
                        finish = "length"
                    text, stopped = cut_at_stop(tok.decode(ids, skip_special_tokens=True), sampling.stop)
                    on_result(
                        key,
                        GenerationResponse(
                            request_id=request.request_id,
                            text=text.strip(),
                            backend=self.name,
                            model=self.model,
                            usage=Usage(int(inputs["attention_mask"][row].sum()), len(ids)),
                            finish_reason="stop" if stopped else finish,
                        ),
                    )

    def close(self) -> None:
        self._lm = None
