"""How seed 000 renders one verl prompt for each model that reads it.

- CoT (GRPO policy, teacher): chat template + generation prompt; the model writes <think>..</think>
  <answer>r</answer> itself.
- Teacher hidden state: the CoT prompt + the teacher's own reasoning + "\\n<answer>": the state at that
  last token is what the student is aligned to.
- Answer-only (student): the CoT prompt + an empty think block + "<answer>": one generated token is the
  rating. The student's aligned position is the same "<answer>" token.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from recforge.models.tokens import ANSWER_END, ANSWER_START, THINK_END, THINK_START, add_tokens

EMPTY_THINK = f"{THINK_START}\n{THINK_END}\n"


def messages(prompt: Any) -> list[dict[str, str]]:
    """A verl prompt cell (list of role/content structs, possibly a numpy array from parquet) as a
    plain list of dicts."""
    return [{"role": str(m["role"]), "content": str(m["content"])} for m in prompt]


def cot_prompt(tokenizer: Any, prompt: Sequence[Mapping[str, str]]) -> str:
    return tokenizer.apply_chat_template(messages(prompt), tokenize=False, add_generation_prompt=True)


def answer_only_prompt(tokenizer: Any, prompt: Sequence[Mapping[str, str]]) -> str:
    return cot_prompt(tokenizer, prompt) + EMPTY_THINK + ANSWER_START


def teacher_state_text(tokenizer: Any, prompt: Sequence[Mapping[str, str]], thinking: str) -> str:
    """`thinking` is the teacher's output up to and including </think> ("" when it wrote none)."""
    return cot_prompt(tokenizer, prompt) + thinking.rstrip() + "\n" + ANSWER_START


def split_thinking(completion: str) -> str | None:
    """The completion up to and including its last </think>, or None when it has none."""
    end = completion.rfind(THINK_END)
    return None if end < 0 else completion[: end + len(THINK_END)]


def load_for_training(path: str, dtype: str, attn_implementation: str) -> tuple[Any, Any]:
    """The model and tokenizer a stage starts from, on CPU (the trainer places it), with the seed-000
    tags as single tokens: a real checkpoint gets <answer>/</answer> (and <think> if missing) added by
    the token registry's rule; the tiny model already has them."""
    from recforge.models.loading import load_causal_lm

    model, tokenizer = load_causal_lm(path, dtype=dtype, attn_implementation=attn_implementation, device="cpu")
    add_tokens(tokenizer, [THINK_START, THINK_END, ANSWER_START, ANSWER_END], model)
    model.train()
    return model, tokenizer
