# Semantic IDs (recforge.sid): item text embeddings -> residual quantiser -> one unique code tuple per
# item, rendered as <|sid_begin|><s_a_12><s_b_7><s_c_200><|sid_end|>. Used by OneRec-Think (seed 002).


rule build_sids:
    input:
        vectors=lambda wc: item_embeddings(config["sid"]["embedder"], wc.dataset)[
            "embeddings"
        ],
        ids=lambda wc: item_embeddings(config["sid"]["embedder"], wc.dataset)[
            "embedding_ids"
        ],
    output:
        sids="results/{dataset}/sid/sids.parquet",
        # collision rate before/after resolution, utilisation and perplexity per level,
        # reconstruction error, wall time
        report="results/{dataset}/sid/report.json",
    log:
        "results/{dataset}/logs/sid/build_sids.log",
    benchmark:
        "results/{dataset}/benchmarks/sid/build_sids.tsv"
    conda:
        "../envs/torch-train.yaml"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        sid=config["sid"],
    script:
        "../workflow/scripts/build_sids.py"
