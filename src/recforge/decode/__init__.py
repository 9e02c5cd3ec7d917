"""Exact trie-constrained decoding: beam search that can only produce real catalogue items, by SID
tokens (OneRec-Think style, prompt ends with `<|sid_begin|>`) or by title inside `<SOI>...<EOI>`
amid free text (RecLM-uni style). One trie and one logits processor serve both modes."""

from recforge.decode.generate import (
    constrained_generate,
    decoding_config,
    items_in,
    sid_sequences,
    title_sequences,
)
from recforge.decode.processor import TrieLogitsProcessor
from recforge.decode.trie import ItemTrie

__all__ = [
    "ItemTrie",
    "TrieLogitsProcessor",
    "constrained_generate",
    "decoding_config",
    "items_in",
    "sid_sequences",
    "title_sequences",
]
