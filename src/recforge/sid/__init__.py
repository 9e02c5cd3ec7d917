"""Semantic IDs: item vectors -> short unique code tuples, rendered as <s_a_12><s_b_7>... tokens.

Quantisers: RQ-KMeans (faiss residual k-means, fast) and RQ-VAE (torch, LC-Rec/LETTER recipe with
Sinkhorn on the last level). Collisions are resolved so every item's code is unique ("reassign" to
the nearest free last-level code, or "append" a TIGER disambiguation level). See docs/sid.md.

    sids = fit_rqkmeans(vectors, item_ids, levels=3, codebook_size=256, seed=0, niter=20)
    write_sids(sids, "sids.parquet"); sids = read_sids("sids.parquet")
    sid_text(sids.codes[0])  # "<|sid_begin|><s_a_12><s_b_7><s_c_200><|sid_end|>"
"""

from recforge.sid.collisions import collision_groups, resolve_collisions
from recforge.sid.io import parse_sid_text, read_sids, sid_text, write_sids
from recforge.sid.report import collision_rate, perplexity, sid_report, utilisation
from recforge.sid.rqkmeans import ResidualCodebooks, fit_rqkmeans, residual_kmeans
from recforge.sid.rqvae import RQVAEConfig, fit_rqvae, load_rqvae, save_rqvae
from recforge.sid.sinkhorn import sinkhorn_assign
from recforge.sid.types import SemanticIds

__all__ = [
    "RQVAEConfig",
    "ResidualCodebooks",
    "SemanticIds",
    "collision_groups",
    "collision_rate",
    "fit_rqkmeans",
    "fit_rqvae",
    "load_rqvae",
    "parse_sid_text",
    "perplexity",
    "read_sids",
    "residual_kmeans",
    "resolve_collisions",
    "save_rqvae",
    "sid_report",
    "sid_text",
    "sinkhorn_assign",
    "utilisation",
    "write_sids",
]
