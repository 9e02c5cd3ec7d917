# SASRec: a saved model (reused later as teacher and candidate retriever), then top-K predictions.


rule sasrec_train:
    input:
        **data_tables(),
    output:
        # safetensors weights + model.json (config, item index, training log); refit/ the same for
        # the train+valid model that scores test samples (refit_for_test)
        model=directory("results/{dataset}/sasrec/model"),
    log:
        "results/{dataset}/logs/sasrec/train.log",
    benchmark:
        "results/{dataset}/benchmarks/sasrec/train.tsv"
    conda:
        "../envs/torch-train.yaml"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=60,
        gpu=1,
    params:
        settings=lambda wc: method_config(wc.dataset, "sasrec"),
    script:
        "../workflow/scripts/sasrec_train.py"


rule sasrec_predict:
    input:
        **data_tables(),
        model=rules.sasrec_train.output.model,
    output:
        "results/{dataset}/predictions/sasrec.parquet",
    log:
        "results/{dataset}/logs/sasrec/predict.log",
    benchmark:
        "results/{dataset}/benchmarks/sasrec/predict.tsv"
    conda:
        "../envs/torch-train.yaml"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=20,
    params:
        k=lambda wc: max(config["evaluation"]["ks"]),
        exclude_history=lambda wc: method_config(wc.dataset, "sasrec")[
            "exclude_history"
        ],
    script:
        "../workflow/scripts/sasrec_predict.py"
