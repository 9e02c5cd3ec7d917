# RecLM-uni (seed 001): intermediate dataset -> SASRec teacher service labels -> SFT per variant
# (cgen: titles, token: semantic IDs, ret: retrieval head) -> constrained predictions; reclm_cgen_grpo:
# GRPO from cgen's model (trie-constrained rollouts, ranking reward), run when a dataset lists it.
# Needs rules/models_common.smk (base_model, item_embeddings), rules/common.smk, rules/sasrec.smk
# (the teacher's model) and rules/sid.smk (reclm_token). Settings: methods.reclm.<section>.


include: "reclm_common.smk"


wildcard_constraints:
    variant="|".join(RECLM_VARIANTS),


rule reclm_export:
    input:
        unpack(base_model_input),
        **data_tables(),
    output:
        category=f"{RECLM}/data/category.jsonl",
        metas=f"{RECLM}/data/metas.jsonl",
        sequential=f"{RECLM}/data/sequential.jsonl",
    log:
        "results/{dataset}/logs/reclm/export.log",
    benchmark:
        "results/{dataset}/benchmarks/reclm/export.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        tokenizer=lambda wc: base_model(wc.dataset).path,
    script:
        "../workflow/scripts/reclm_export.py"


# Starts the SASRec teacher service (127.0.0.1:methods.reclm.teacher.port), asks it for the labels,
# stops it; the table is written only when every label arrived.
rule reclm_samples:
    input:
        **data_tables(),
        # A retrained SASRec relabels: the labels are its top lists.
        teacher=rules.sasrec_train.output.model,
        chat=reclm_chat,
    output:
        f"{RECLM}/samples.parquet",
    log:
        "results/{dataset}/logs/reclm/samples.log",
    benchmark:
        "results/{dataset}/benchmarks/reclm/samples.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        samples=lambda wc: reclm_config(wc.dataset, "samples"),
        teacher=lambda wc: reclm_config(wc.dataset, "teacher"),
    script:
        "../workflow/scripts/reclm_samples.py"


# A variant's own sample table (when `variants.<variant>.samples` changes the shared settings).
use rule reclm_samples as reclm_variant_samples with:
    output:
        f"{RECLM}/{{variant}}/samples.parquet",
    log:
        "results/{dataset}/logs/reclm/{variant}_samples.log",
    benchmark:
        "results/{dataset}/benchmarks/reclm/{variant}_samples.tsv"
    params:
        samples=lambda wc: reclm_config(wc.dataset, "samples", wc.variant),
        teacher=lambda wc: reclm_teacher_config(wc.dataset, wc.variant),


rule reclm_sft:
    input:
        unpack(base_model_input),
        unpack(reclm_sft_inputs),
        samples=lambda wc: reclm_samples_path(wc.dataset, wc.variant),
        metas=rules.reclm_export.output.metas,
        chat=reclm_chat,
    output:
        model=directory(f"{RECLM}/{{variant}}/model"),
        report=f"{RECLM}/{{variant}}/sft.report.json",
    log:
        "results/{dataset}/logs/reclm/{variant}_sft.log",
    benchmark:
        "results/{dataset}/benchmarks/reclm/{variant}_sft.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        **MODEL_RESOURCES,
    params:
        **train_params("recforge.methods.reclm.entry:sft", reclm_stage_settings),
    shell:
        TRAIN_SHELL


rule reclm_grpo:
    input:
        start=f"{RECLM}/cgen/model",
        samples=lambda wc: reclm_samples_path(wc.dataset, "cgen"),
        metas=rules.reclm_export.output.metas,
        chat=lambda wc: reclm_config(wc.dataset, "samples", "cgen_grpo")["chat_path"],
    output:
        model=directory(f"{RECLM}/cgen_grpo/model"),
        report=f"{RECLM}/cgen_grpo/grpo.report.json",
    log:
        "results/{dataset}/logs/reclm/cgen_grpo.log",
    benchmark:
        "results/{dataset}/benchmarks/reclm/cgen_grpo.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        **MODEL_RESOURCES,
    params:
        **train_params("recforge.methods.reclm.entry:grpo", reclm_grpo_settings),
    shell:
        TRAIN_SHELL


rule reclm_predict:
    input:
        unpack(reclm_predict_inputs),
        **data_tables(),
        metas=rules.reclm_export.output.metas,
        chat=reclm_chat,
    output:
        predictions="results/{dataset}/predictions/{method}.parquet",
        efficiency=f"{RECLM}/efficiency/{{method}}.json",
    log:
        "results/{dataset}/logs/{method}/predict.log",
    benchmark:
        "results/{dataset}/benchmarks/{method}/predict.tsv"
    wildcard_constraints:
        method=predicted_by("reclm_predict"),
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        **MODEL_RESOURCES,
    params:
        variant=lambda wc: reclm_variant(wc.method),
        settings=lambda wc: {
            section: reclm_config(wc.dataset, section, reclm_variant(wc.method))
            for section in ("predict", "samples")
        },
        load=lambda wc: {
            k: v for k, v in base_model_load(wc.dataset).items() if k != "lora"
        },
    script:
        "../workflow/scripts/reclm_predict.py"
