"""Train the tiny model's byte-level BPE tokenizer on domain text (item texts and rendered prompts)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from recforge.models.chat_template import CHATML_TEMPLATE
from recforge.models.tokens import CHAT_SPECIAL_TOKENS, END_OF_TEXT, IM_END, STRUCTURAL_TOKENS, add_tokens

log = logging.getLogger(__name__)


def train_bpe_tokenizer(texts: Iterable[str], vocab_size: int, min_frequency: int = 2):
    """A PreTrainedTokenizerFast: byte-level BPE (any string encodes, no unknown token) with the chat
    control tokens as special tokens at ids 0..2, the structural tokens added by the registry rule,
    and the ChatML chat template. `vocab_size` counts the BPE vocabulary including the special
    tokens; the structural tokens come on top."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(CHAT_SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # all 256 bytes: nothing is unknown
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token=IM_END,  # a chat answer ends with <|im_end|>
        pad_token=END_OF_TEXT,
        chat_template=CHATML_TEMPLATE,
        model_max_length=1 << 20,
        padding_side="left",
        clean_up_tokenization_spaces=False,
    )
    tokenizer.add_special_tokens({"additional_special_tokens": [IM_END, END_OF_TEXT, "<|im_start|>"]})
    add_tokens(tokenizer, STRUCTURAL_TOKENS)
    log.info(
        "tokenizer: %d tokens (BPE %d + structural %d)",
        len(tokenizer),
        bpe.get_vocab_size(),
        len(STRUCTURAL_TOKENS),
    )
    return tokenizer
