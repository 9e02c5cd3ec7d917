"""The tiny model's chat template: ChatML, the format of Qwen3, so that prompts rendered for the
tiny model look like those of the real Qwen3 presets.

`enable_thinking=False` appends an empty think block to the generation prompt, as Qwen3's template
does (seed 000's answer-only prompts rely on it). Assistant turns are wrapped in {% generation %}
so TRL can compute assistant-only losses (return_assistant_tokens_mask)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from recforge.models.tokens import IM_END, IM_START

CHATML_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'assistant' -%}"
    "{{- '<|im_start|>assistant\\n' -}}"
    "{% generation %}{{- message['content'] + '<|im_end|>' -}}{% endgeneration %}"
    "{{- '\\n' -}}"
    "{%- else -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{- '<|im_start|>assistant\\n' -}}"
    "{%- if enable_thinking is defined and enable_thinking is false -%}"
    "{{- '<think>\\n\\n</think>\\n\\n' -}}"
    "{%- endif -%}"
    "{%- endif -%}"
)


def chatml(messages: Sequence[Mapping[str, str]], add_generation_prompt: bool = False) -> str:
    """The same rendering in Python, for building the corpus before any tokenizer exists (a test checks
    that it matches the Jinja template exactly)."""
    text = "".join(f"{IM_START}{m['role']}\n{m['content']}{IM_END}\n" for m in messages)
    if add_generation_prompt:
        text += f"{IM_START}assistant\n"
    return text
