# Classic baselines that fit in one step: rating means, biased MF, most-popular.


rule rating_mean:
    input:
        **data_tables(),
    output:
        "results/{dataset}/predictions/{method}.parquet",
    log:
        "results/{dataset}/logs/{method}/predict.log",
    benchmark:
        "results/{dataset}/benchmarks/{method}/predict.tsv"
    wildcard_constraints:
        method=predicted_by("rating_mean"),
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    script:
        "../workflow/scripts/rating_mean.py"


rule mf:
    input:
        **data_tables(),
    output:
        "results/{dataset}/predictions/mf.parquet",
    log:
        "results/{dataset}/logs/mf/train_predict.log",
    benchmark:
        "results/{dataset}/benchmarks/mf/train_predict.tsv"
    conda:
        "../envs/torch-train.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        settings=lambda wc: method_config(wc.dataset, "mf"),
    script:
        "../workflow/scripts/mf.py"


rule gbdt:
    input:
        **data_tables(),
    output:
        predictions="results/{dataset}/predictions/gbdt.parquet",
        report="results/{dataset}/gbdt/report.json",
    log:
        "results/{dataset}/logs/gbdt/train_predict.log",
    benchmark:
        "results/{dataset}/benchmarks/gbdt/train_predict.tsv"
    conda:
        "../envs/torch-train.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        settings=lambda wc: method_config(wc.dataset, "gbdt"),
    script:
        "../workflow/scripts/gbdt.py"


rule popularity:
    input:
        **data_tables(),
    output:
        "results/{dataset}/predictions/popularity.parquet",
    log:
        "results/{dataset}/logs/popularity/predict.log",
    benchmark:
        "results/{dataset}/benchmarks/popularity/predict.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        settings=lambda wc: method_config(wc.dataset, "popularity"),
        k=lambda wc: max(config["evaluation"]["ks"]),
    script:
        "../workflow/scripts/popularity.py"
