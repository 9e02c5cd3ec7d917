"""Embed a dataset's item texts with one embedder (recforge.embed.embed_items)."""

import pandas as pd
import torch

from recforge.embed import EmbedderSpec, embed_items, save_item_embeddings
from recforge.logs import setup_logging

setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
spec = EmbedderSpec.from_dict(snakemake.wildcards.embedder, dict(snakemake.params.spec))
embeddings, meta = embed_items(pd.read_parquet(snakemake.input.items_table), spec)
save_item_embeddings(embeddings, meta, snakemake.output.vectors, snakemake.output.ids, snakemake.output.meta)
