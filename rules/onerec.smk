# OneRec-Think (seed 002): tasks -> stage 1 token warm-up -> stage 2 multi-task SFT -> stage 3 reasoning
# activation (+ rejection sampling) -> optional GRPO -> constrained beam-search predictions.
# Needs rules/models_common.smk (base_model, llm_* helpers), rules/common.smk (data_tables,
# method_config) and a rule that writes results/{dataset}/sid/sids.parquet (build_sids).
# Settings: methods.onerec_think.<section>; each rule reads only its sections, so editing a later
# stage's settings reruns nothing before it.


include: "onerec_common.smk"


rule onerec_user_summaries:
    input:
        unpack(llm_model_input("onerec_user_summaries")),
        **data_tables(),
    output:
        summaries=f"{ONEREC}/user_summaries.parquet",
        usage=f"{ONEREC}/user_summaries.usage.json",
    log:
        "results/{dataset}/logs/onerec/user_summaries.log",
    benchmark:
        "results/{dataset}/benchmarks/onerec/user_summaries.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
        gpu=llm_gpus("onerec_user_summaries"),
    params:
        llm=llm_settings("onerec_user_summaries"),
        settings=lambda wc: onerec_config(wc.dataset, "user_summary"),
        domain=lambda wc: llm_domain(wc.dataset),
        cache=llm_cache("onerec_user_summaries"),
    script:
        "../workflow/scripts/onerec_user_summaries.py"


rule onerec_tasks:
    input:
        **data_tables(),
        item_summaries="results/{dataset}/text/item_summaries.parquet",
        user_summaries=rules.onerec_user_summaries.output.summaries,
        sids="results/{dataset}/sid/sids.parquet",
    output:
        **{task: f"{ONEREC}/tasks/{task}.parquet" for task in ONEREC_TASKS},
        mixture=f"{ONEREC}/tasks/mixture.parquet",
    log:
        "results/{dataset}/logs/onerec/tasks.log",
    benchmark:
        "results/{dataset}/benchmarks/onerec/tasks.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=30,
    params:
        tasks=lambda wc: onerec_config(wc.dataset, "tasks"),
        mixture=lambda wc: onerec_config(wc.dataset, "mixture"),
        domain=lambda wc: llm_domain(wc.dataset),
    script:
        "../workflow/scripts/onerec_tasks.py"


rule onerec_cot:
    input:
        unpack(llm_model_input("onerec_cot")),
        **data_tables(),
        sequential=f"{ONEREC}/tasks/sequential.parquet",
        sids="results/{dataset}/sid/sids.parquet",
    output:
        reasoning=f"{ONEREC}/tasks/reasoning.parquet",
        cots=f"{ONEREC}/tasks/cots.parquet",
        usage=f"{ONEREC}/tasks/cots.usage.json",
    log:
        "results/{dataset}/logs/onerec/cot.log",
    benchmark:
        "results/{dataset}/benchmarks/onerec/cot.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
        gpu=llm_gpus("onerec_cot"),
    params:
        llm=llm_settings("onerec_cot"),
        tasks=lambda wc: onerec_config(wc.dataset, "tasks"),
        cot=lambda wc: onerec_config(wc.dataset, "cot"),
        domain=lambda wc: llm_domain(wc.dataset),
        cache=llm_cache("onerec_cot"),
    script:
        "../workflow/scripts/onerec_cot.py"


rule onerec_stage1:
    input:
        unpack(base_model_input),
        items_table="results/{dataset}/data/items.parquet",
        sids="results/{dataset}/sid/sids.parquet",
        alignment=f"{ONEREC}/tasks/alignment.parquet",
        sequential=f"{ONEREC}/tasks/sequential.parquet",
    output:
        model=directory(f"{ONEREC}/stage1"),
        report=f"{ONEREC}/stage1.report.json",
    log:
        "results/{dataset}/logs/onerec/stage1.log",
    benchmark:
        "results/{dataset}/benchmarks/onerec/stage1.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        **MODEL_RESOURCES,
    params:
        **train_params(
            "recforge.methods.onerec.entry:stage1",
            onerec_stage_settings("stage1"),
        ),
    shell:
        TRAIN_SHELL


rule onerec_stage2:
    input:
        start=rules.onerec_stage1.output.model,
        sids="results/{dataset}/sid/sids.parquet",
        mixture=f"{ONEREC}/tasks/mixture.parquet",
        sequential=f"{ONEREC}/tasks/sequential.parquet",
    output:
        model=directory(f"{ONEREC}/stage2"),
        report=f"{ONEREC}/stage2.report.json",
    log:
        "results/{dataset}/logs/onerec/stage2.log",
    benchmark:
        "results/{dataset}/benchmarks/onerec/stage2.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        **MODEL_RESOURCES,
    params:
        **train_params(
            "recforge.methods.onerec.entry:stage2",
            onerec_stage_settings("stage2"),
        ),
    shell:
        TRAIN_SHELL


rule onerec_stage3:
    input:
        start=rules.onerec_stage2.output.model,
        sids="results/{dataset}/sid/sids.parquet",
        reasoning=rules.onerec_cot.output.reasoning,
    output:
        model=directory(f"{ONEREC}/stage3"),
        report=f"{ONEREC}/stage3.report.json",
    log:
        "results/{dataset}/logs/onerec/stage3.log",
    benchmark:
        "results/{dataset}/benchmarks/onerec/stage3.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        **MODEL_RESOURCES,
    params:
        **train_params(
            "recforge.methods.onerec.entry:stage3",
            onerec_stage_settings("stage3", "rejection"),
        ),
    shell:
        TRAIN_SHELL


rule onerec_grpo:
    input:
        start=rules.onerec_stage3.output.model,
        sids="results/{dataset}/sid/sids.parquet",
        reasoning=rules.onerec_cot.output.reasoning,
    output:
        model=directory(f"{ONEREC}/grpo"),
        report=f"{ONEREC}/grpo.report.json",
    log:
        "results/{dataset}/logs/onerec/grpo.log",
    benchmark:
        "results/{dataset}/benchmarks/onerec/grpo.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        **MODEL_RESOURCES,
    params:
        **train_params(
            "recforge.methods.onerec.entry:grpo",
            onerec_stage_settings("grpo"),
        ),
    shell:
        TRAIN_SHELL


rule onerec_think_predict:
    input:
        **data_tables(),
        model=onerec_prediction_model,
        sids="results/{dataset}/sid/sids.parquet",
        sequential=f"{ONEREC}/tasks/sequential.parquet",
    output:
        "results/{dataset}/predictions/{method}.parquet",
    log:
        "results/{dataset}/logs/{method}/predict.log",
    benchmark:
        "results/{dataset}/benchmarks/{method}/predict.tsv"
    wildcard_constraints:
        method=predicted_by("onerec_think_predict"),
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        **MODEL_RESOURCES,
    params:
        base=onerec_base,
        settings=lambda wc: onerec_config(wc.dataset, "predict"),
        k=lambda wc: max(config["evaluation"]["ks"]),
        cot=lambda wc: wc.method == "onerec_think_cot",
    script:
        "../workflow/scripts/onerec_predict.py"
