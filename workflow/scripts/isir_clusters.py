"""Topic clusters of a dataset's items: faiss k-means on their embeddings (recforge.methods.isir.clusters)."""

import faiss

from recforge.embed.items import load_item_embeddings
from recforge.io import write_parquet
from recforge.logs import setup_logging
from recforge.settings import typed
from recforge.methods.isir.clusters import ClusterConfig, kmeans_clusters

setup_logging(snakemake.log[0])
faiss.omp_set_num_threads(snakemake.threads)
embeddings = load_item_embeddings(snakemake.input.vectors, snakemake.input.ids)
clusters = kmeans_clusters(embeddings, typed(ClusterConfig, snakemake.params.clusters, "methods.isir.clusters"))
write_parquet(clusters, snakemake.output.clusters)
