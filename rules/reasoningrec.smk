# Seed 004 (ReasoningRec): CTR windows -> item descriptions and user profiles -> prompts ->
# label-conditioned reasoning -> LoRA SFT (predfirst; with or without the reasoning) selected on valid
# AUC -> P(Yes) at the prediction slot. Methods reasoningrec, reasoningrec_noreason,
# reasoningrec_zeroshot, and the baselines ctr_logreg (features) and ctr_sasrec (SASRec's score) on the
# same windows.


include: "reasoningrec_common.smk"


rule reasoningrec_windows:
    input:
        **data_tables(),
    output:
        windows=f"{RR}/windows.parquet",
        report=f"{RR}/windows.json",
    log:
        "results/{dataset}/logs/reasoningrec/windows.log",
    benchmark:
        "results/{dataset}/benchmarks/reasoningrec/windows.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        settings=lambda wc: {
            k: reasoningrec(wc.dataset)[k]
            for k in ("history", "profile_items", "like_threshold")
        },
    script:
        "../workflow/scripts/reasoningrec_windows.py"


rule reasoningrec_texts:
    input:
        unpack(llm_model_input("reasoningrec_texts")),
        windows=rules.reasoningrec_windows.output.windows,
        items_table="results/{dataset}/data/items.parquet",
    output:
        descriptions=f"{RR}/descriptions.parquet",
        profiles=f"{RR}/profiles.parquet",
        usage=f"{RR}/texts.usage.json",
    log:
        "results/{dataset}/logs/reasoningrec/texts.log",
    benchmark:
        "results/{dataset}/benchmarks/reasoningrec/texts.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=60,
        gpu=llm_gpus("reasoningrec_texts"),
    params:
        settings=lambda wc: rr_text_settings(wc.dataset),
        llm=llm_settings("reasoningrec_texts"),
        domain=lambda wc: llm_domain(wc.dataset),
        cache=lambda wc: f"{config['llm']['cache_dir']}/{wc.dataset}",
    script:
        "../workflow/scripts/reasoningrec_texts.py"


rule reasoningrec_prompts:
    input:
        windows=rules.reasoningrec_windows.output.windows,
        items_table="results/{dataset}/data/items.parquet",
        descriptions=rules.reasoningrec_texts.output.descriptions,
        profiles=rules.reasoningrec_texts.output.profiles,
    output:
        prompts=f"{RR}/prompts.parquet",
    log:
        "results/{dataset}/logs/reasoningrec/prompts.log",
    benchmark:
        "results/{dataset}/benchmarks/reasoningrec/prompts.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        like_threshold=lambda wc: reasoningrec(wc.dataset)["like_threshold"],
        domain=lambda wc: llm_domain(wc.dataset),
    script:
        "../workflow/scripts/reasoningrec_prompts.py"


rule reasoningrec_rationales:
    input:
        unpack(llm_model_input("reasoningrec_rationales")),
        windows=rules.reasoningrec_windows.output.windows,
        items_table="results/{dataset}/data/items.parquet",
        profiles=rules.reasoningrec_texts.output.profiles,
    output:
        rationales=f"{RR}/rationales.parquet",
        usage=f"{RR}/rationales.usage.json",
    log:
        "results/{dataset}/logs/reasoningrec/rationales.log",
    benchmark:
        "results/{dataset}/benchmarks/reasoningrec/rationales.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=60,
        gpu=llm_gpus("reasoningrec_rationales"),
    params:
        task=lambda wc: reasoningrec(wc.dataset)["reasoning"],
        test_rows=lambda wc: reasoningrec(wc.dataset)["predict"]["reasoning_samples"],
        like_threshold=lambda wc: reasoningrec(wc.dataset)["like_threshold"],
        llm=llm_settings("reasoningrec_rationales"),
        domain=lambda wc: llm_domain(wc.dataset),
        cache=llm_cache("reasoningrec_rationales"),
    script:
        "../workflow/scripts/reasoningrec_rationales.py"


rule reasoningrec_sft:
    input:
        unpack(rr_model_input),
        prompts=rules.reasoningrec_prompts.output.prompts,
        rationales=rules.reasoningrec_rationales.output.rationales,
    output:
        model=directory(f"{RR}/sft_{{rr_variant}}"),
        report=f"{RR}/sft_{{rr_variant}}.report.json",
    log:
        "results/{dataset}/logs/reasoningrec/sft_{rr_variant}.log",
    benchmark:
        "results/{dataset}/benchmarks/reasoningrec/sft_{rr_variant}.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        **MODEL_RESOURCES,
    params:
        **train_params(
            "recforge.methods.reasoningrec.train:sft", rr_sft_settings, rr_model_name
        ),
    shell:
        TRAIN_SHELL


rule reasoningrec_predict:
    input:
        unpack(rr_predict_input),
        prompts=rules.reasoningrec_prompts.output.prompts,
        rationales=rules.reasoningrec_rationales.output.rationales,
    output:
        predictions="results/{dataset}/predictions/{method}.parquet",
        efficiency=f"{RR}/efficiency/{{method}}.json",
    log:
        "results/{dataset}/logs/{method}/predict.log",
    benchmark:
        "results/{dataset}/benchmarks/{method}/predict.tsv"
    wildcard_constraints:
        method=predicted_by("reasoningrec_predict"),
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        **MODEL_RESOURCES,
    params:
        model=rr_predict_model,
        load=lambda wc: base_model_load(wc.dataset, rr_model_name(wc.dataset)),
        settings=lambda wc: reasoningrec(wc.dataset)["predict"],
        embedder=lambda wc: config["embedder"]["presets"][
            reasoningrec(wc.dataset)["predict"]["similarity_embedder"]
        ],
    script:
        "../workflow/scripts/reasoningrec_predict.py"


rule ctr_logreg_predict:
    input:
        **data_tables(),
        windows=rules.reasoningrec_windows.output.windows,
    output:
        "results/{dataset}/predictions/{method}.parquet",
    log:
        "results/{dataset}/logs/{method}/predict.log",
    benchmark:
        "results/{dataset}/benchmarks/{method}/predict.tsv"
    wildcard_constraints:
        method=predicted_by("ctr_logreg_predict"),
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        settings=lambda wc: method_config(wc.dataset, wc.method),
        like_threshold=lambda wc: reasoningrec(wc.dataset)["like_threshold"],
    script:
        "../workflow/scripts/ctr_logreg.py"


rule ctr_sasrec_predict:
    input:
        **data_tables(),
        windows=rules.reasoningrec_windows.output.windows,
        model=rules.sasrec_train.output.model,
    output:
        "results/{dataset}/predictions/{method}.parquet",
    log:
        "results/{dataset}/logs/{method}/predict.log",
    benchmark:
        "results/{dataset}/benchmarks/{method}/predict.tsv"
    wildcard_constraints:
        method=predicted_by("ctr_sasrec_predict"),
    conda:
        "../envs/torch-train.yaml"
    threads: 1  # as sasrec_predict: scores independent of -c
    resources:
        mem_mb=8000,
        runtime=10,
    params:
        settings=lambda wc: method_config(wc.dataset, wc.method),
    script:
        "../workflow/scripts/ctr_sasrec.py"
