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
    # One torch thread whatever -c is: the thread count changes float rounding (1 vs 2 threads differ by
    # ~4e-6 in the weights after 2 Movies epochs), and training stops by epoch count, so a fixed thread
    # count makes the model and its metrics bit-identical across runs and machines of the same software.
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
        gpu=gpu_request(1),
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
    threads: 1  # as sasrec_train: scores (and ranks on near-ties) independent of -c
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
