"""Semantic IDs of every item from its text embedding (recforge.sid), with the quantiser's report."""

from recforge.embed.items import load_item_embeddings
from recforge.io import write_json
from recforge.logs import setup_logging
from recforge.sid import RQVAEConfig, fit_rqkmeans, fit_rqvae, write_sids

setup_logging(snakemake.log[0])
settings = dict(snakemake.params.sid)
embeddings = load_item_embeddings(snakemake.input.vectors, snakemake.input.ids)
if settings["quantiser"] == "rqkmeans":
    sids = fit_rqkmeans(
        embeddings.vectors,
        embeddings.item_ids,
        levels=settings["levels"],
        codebook_size=settings["codebook_size"],
        seed=settings["seed"],
        niter=settings["rqkmeans"]["niter"],
        resolve=settings["resolve"],
        balanced=settings["rqkmeans"]["balanced"],
    )
else:
    config = RQVAEConfig.from_dict(
        {**settings["rqvae"], "levels": settings["levels"], "codebook_size": settings["codebook_size"], "seed": settings["seed"]}
    )
    sids = fit_rqvae(embeddings.vectors, embeddings.item_ids, config, resolve=settings["resolve"])
write_sids(sids, snakemake.output.sids)
write_json(sids.report, snakemake.output.report)
