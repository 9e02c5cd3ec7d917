# One evaluator for every method; metrics.json gathers a dataset's enabled methods with provenance.


rule evaluate:
    input:
        **data_tables(),
        predictions="results/{dataset}/predictions/{method}.parquet",
    output:
        "results/{dataset}/metrics/{method}.json",
    log:
        "results/{dataset}/logs/{method}/evaluate.log",
    benchmark:
        "results/{dataset}/benchmarks/{method}/evaluate.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        protocol=lambda wc: protocol_of(wc.method),
        ks=config["evaluation"]["ks"],
        rating_scale=lambda wc: rating_scale_override(wc.dataset),
        # The ctr protocol's label threshold: the one the dataset's CTR windows use (MovieLens: 3.0).
        like_threshold=lambda wc: ctr_like_threshold(wc.dataset),
    script:
        "../workflow/scripts/evaluate.py"


rule gather_metrics:
    input:
        # Cost figures of the enabled methods, one named input each (workflow/methods.yaml).
        unpack(lambda wc: efficiency_inputs(wc.dataset)),
        metrics=lambda wc: expand(
            "results/{dataset}/metrics/{method}.json",
            dataset=wc.dataset,
            method=enabled_methods(wc.dataset),
        ),
    output:
        "results/{dataset}/metrics.json",
    log:
        "results/{dataset}/logs/gather_metrics.log",
    benchmark:
        "results/{dataset}/benchmarks/gather_metrics.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        config=lambda wc: {
            "dataset": config["datasets"][wc.dataset],
            "evaluation": config["evaluation"],
            "methods": {
                m: method_config(wc.dataset, m) for m in enabled_methods(wc.dataset)
            },
        },
        # Benchmark globs of every job each method needs (workflow/methods.yaml `cost`).
        cost=lambda wc: {
            m: cost_patterns(METHODS[m]) for m in enabled_methods(wc.dataset)
        },
    script:
        "../workflow/scripts/gather_metrics.py"
