"""Prompt wording and the completion format shared by every OneRec-Think task, training stage and
predictor (so that what is trained is exactly what is decoded).

System prompts follow the released code (seed notes 1.4): the official sequential prompt (also the
prompt of the reasoning stage: CoT and no-CoT see identical inputs, unlike the released evaluation,
whose CoT inputs carried titles and categories, issue #4), and the fork's alignment, caption and
general prompts.

Completion format (official, `train_beauty_sid_rec.py` / `train_beauty_RA.py`):

    "<think>\\n{cot}\\n</think>\\n<|sid_begin|><s_a_..>...<|sid_end|>"

with cot = "" for the no-CoT answer ("<think>\\n\\n</think>\\n<|sid_begin|>..."). The model's EOS
(<|im_end|> for ChatML tokenizers) is appended by TRL. Prompts are rendered with the tokenizer's
own chat template, generation prompt included; decoding appends `answer_prefix(cot)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from recforge.models.tokens import SID_BEGIN, THINK_END, THINK_START

SEQUENTIAL_SYSTEM = (
    "You are a professional recommendation expert who needs to recommend the next possible purchase "
    "for users based on their purchase history. Please predict the most likely next product that the "
    "user will purchase based on the user's historical purchase information."
)
ALIGNMENT_SYSTEM = "You are given grounded user persona text. Reproduce it verbatim."
ALIGNMENT_USER = "Persona text:"
CAPTION_SYSTEM = (
    "You are an expert content analyst. Given an itemic token, generate a concise and accurate "
    "textual description of its content."
)
CAPTION_USER = "Provide a description for the itemic token: {sid}."
GENERAL_SYSTEM = "You are a helpful assistant. Continue the provided text."
GENERAL_USER = "Continue the text:"


def history_text(sids: Sequence[str]) -> str:
    """The official sequential prompt body: "The user has purchased the following items: a; b;"."""
    return "The user has purchased the following items: " + "; ".join(sids) + ";"


def sequential_prompt(sids: Sequence[str], style: str = "official") -> tuple[str, str]:
    """(system, user) of a sequential row: the official prompt, or the compact one (no system prompt,
    the SIDs back to back: each is delimited by its own <|sid_begin|>/<|sid_end|> tokens)."""
    if style == "compact":
        return "", "".join(sids)
    return SEQUENTIAL_SYSTEM, history_text(sids)


def completion(sid: str, cot: str = "") -> str:
    """The assistant answer: think block (empty without CoT), then the SID."""
    return f"{THINK_START}\n{cot.strip()}\n{THINK_END}\n{sid}"


def answer_prefix(cot: str = "") -> str:
    """What decoding appends to a rendered prompt before constrained SID generation: the answer up to
    and including <|sid_begin|>. completion(sid, cot) == answer_prefix(cot) + sid[len(SID_BEGIN):]."""
    return f"{THINK_START}\n{cot.strip()}\n{THINK_END}\n{SID_BEGIN}"


def think_prefix() -> str:
    """What CoT decoding appends to a rendered prompt before the model writes its reasoning."""
    return f"{THINK_START}\n"


def messages(system: str, user: str) -> list[dict[str, str]]:
    out = [{"role": "system", "content": system}] if system else []
    return out + [{"role": "user", "content": user}]


def render_prompt(tokenizer: Any, system: str, user: str) -> str:
    """The chat-rendered prompt text with the generation prompt ("<|im_start|>assistant\\n")."""
    return tokenizer.apply_chat_template(messages(system, user), tokenize=False, add_generation_prompt=True)


def think_text(generated: str) -> str:
    """The reasoning of a generated continuation of `think_prefix()`: everything before the first
    </think> or <|sid_begin|> (a think must never carry SID tokens), stripped."""
    for stop in (THINK_END, SID_BEGIN, "<|im_end|>"):
        generated = generated.split(stop, 1)[0]
    return generated.replace(THINK_START, "").strip()
