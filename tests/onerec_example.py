"""The hand-built OneRec-Think example shared by tests/test_onerec_*.py: two users, eight items, 3-level
codes written directly with numpy, a small BPE tokenizer and a random tiny Qwen3."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recforge.methods._common import loo_frames

ITEMS = [
    # item_id, title, categories, brand, description
    ("i1", "Rose Face Cream", ["Beauty", "Skin Care", "Face Creams"], "Acme", "A light rose cream for daily use on dry skin."),
    ("i2", "Aloe Face Wash", ["Beauty", "Skin Care", "Cleansers"], "Acme", "A gentle aloe wash that cleans without drying."),
    ("i3", "Argan Hair Oil", ["Beauty", "Hair Care", "Oils"], "Bolt", "Argan oil that tames frizz and adds shine."),
    ("i4", "Mint Shampoo", ["Beauty", "Hair Care", "Shampoos"], "Bolt", "A cooling mint shampoo for oily scalps."),
    ("i5", "Velvet Lipstick", ["Beauty", "Makeup", "Lips"], "Coral", "A matte velvet lipstick in deep red tones."),
    ("i6", "Kohl Eyeliner", ["Beauty", "Makeup", "Eyes"], "Coral", "A smudge-proof kohl pencil for bold eyes."),
    # valid / test targets that no train event has: titles and categories unique to them
    ("i7", "Zinnia Nail Lacquer", ["Beauty", "Manicure", "Lacquers"], "Dahlia", "Glossy zinnia nail lacquer in bright orange shades."),
    ("i8", "Quartz Body Scrub", ["Beauty", "Bath", "Scrubs"], "Ember", "A quartz salt scrub that polishes rough body skin."),
    ("i9", "Jasmine Perfume Mist", ["Beauty", "Fragrance", "Mists"], "Fable", "A fresh jasmine mist for a light floral scent."),
    ("i10", "Walnut Foot Balm", ["Beauty", "Feet", "Balms"], "Grove", "A rich walnut balm that softens cracked heels."),
]

# u1: train i1 i2 i1 i3, valid i7, test i8; u2: train i3 i4 i5 i6 i5, valid i9, test i10
SEQUENCES = {"u1": ["i1", "i2", "i1", "i3", "i7", "i8"], "u2": ["i3", "i4", "i5", "i6", "i5", "i9", "i10"]}
RATINGS = {"u1": [5, 4, 5, 3, 5, 4], "u2": [4, 4, 5, 2, 5, 4, 3]}
HELD_OUT = {"i7", "i8", "i9", "i10"}  # valid/test targets only

CODES = np.array(
    [[0, 0, 0], [0, 1, 1], [1, 0, 2], [1, 1, 3], [2, 0, 0], [2, 1, 1], [3, 0, 2], [3, 1, 3], [0, 2, 0], [1, 2, 1]],
    dtype=np.int64,
)


def items_frame() -> pd.DataFrame:
    rows = []
    for item_id, title, cats, brand, desc in ITEMS:
        text = "; ".join([title, " > ".join(cats), brand])
        rows.append({"item_id": item_id, "title": title, "categories": cats, "description": desc,
                     "brand": brand, "features": [], "text": text})
    return pd.DataFrame(rows)


def tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(items, interactions, samples) in the canonical layout."""
    interactions, samples = loo_frames(SEQUENCES, RATINGS, first_target=1)
    return items_frame(), interactions, samples


def sids_frame() -> pd.DataFrame:
    from recforge.sid.io import sid_text

    return pd.DataFrame({"item_id": [i[0] for i in ITEMS], "codes": list(CODES), "sid": [sid_text(c) for c in CODES]})


def sid_of() -> dict[str, str]:
    frame = sids_frame()
    return dict(zip(frame["item_id"], frame["sid"]))


def tokenizer():
    from recforge.methods.onerec import prompts as P
    from recforge.models.tokenizer import train_bpe_tokenizer

    texts = [f"{t} {' '.join(c)} {b} {d}" for _, t, c, b, d in ITEMS] * 4
    texts += [P.SEQUENTIAL_SYSTEM, P.ALIGNMENT_SYSTEM, P.CAPTION_SYSTEM, P.GENERAL_SYSTEM] * 4
    texts += ["The user bought items; the most recent are recurring categories ratings average liked"] * 4
    return train_bpe_tokenizer(texts, vocab_size=400)


def save_tiny_model(path, seed: int = 0) -> None:
    """A random tiny Qwen3 (tied embeddings) and its tokenizer, saved at `path` like a base model."""
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    tok = tokenizer()
    torch.manual_seed(seed)
    config = Qwen3Config(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, head_dim=16, tie_word_embeddings=True,
                         pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, bos_token_id=None,
                         max_position_embeddings=2048)
    model = Qwen3ForCausalLM(config)
    model.save_pretrained(path, safe_serialization=True)
    tok.save_pretrained(path)
