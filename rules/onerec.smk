# OneRec-Think (seed 002): tasks -> stage 1 token warm-up -> stage 2 multi-task SFT -> stage 3 reasoning
# activation (+ rejection sampling) -> optional GRPO -> constrained beam-search predictions.
# Needs rules/models_common.smk (base_model, llm_* helpers), rules/common.smk (data_tables,
# method_config) and a rule that writes results/{dataset}/sid/sids.parquet (build_sids).
# Settings: methods.onerec_think.<section>; each rule reads only its sections, so editing a later
# stage's settings reruns nothing before it.


include: "onerec_common.smk"


rule onerec_user_summaries:
    input:
        unpack(llm_model_input),
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
        gpu=llm_gpus,
    params:
        llm=lambda wc: llm_settings(wc.dataset),
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
        unpack(llm_model_input),
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
        gpu=llm_gpus,
    params:
        llm=lambda wc: llm_settings(wc.dataset),
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
        # merged model (model.safetensors, config, tokenizer) + stage_report.json (valid selection)
        model=directory(f"{ONEREC}/stage1"),
    log:
        "results/{dataset}/logs/onerec/stage1.log",
    benchmark:
        "results/{dataset}/benchmarks/onerec/stage1.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        mem_mb=base_model_resource("train", "mem_mb"),
        runtime=base_model_resource("train", "runtime"),
        gpu=base_model_resource("train", "gpu"),
    params:
        base=onerec_base,
        train=lambda wc: onerec_config(wc.dataset, "stage1"),
        rank_eval=lambda wc: onerec_config(wc.dataset, "rank_eval"),
    script:
        "../workflow/scripts/onerec_stage1.py"


rule onerec_stage2:
    input:
        stage1=rules.onerec_stage1.output.model,
        sids="results/{dataset}/sid/sids.parquet",
        mixture=f"{ONEREC}/tasks/mixture.parquet",
        sequential=f"{ONEREC}/tasks/sequential.parquet",
    output:
        model=directory(f"{ONEREC}/stage2"),
    log:
        "results/{dataset}/logs/onerec/stage2.log",
    benchmark:
        "results/{dataset}/benchmarks/onerec/stage2.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        mem_mb=base_model_resource("train", "mem_mb"),
        runtime=base_model_resource("train", "runtime"),
        gpu=base_model_resource("train", "gpu"),
    params:
        base=onerec_base,
        train=lambda wc: onerec_config(wc.dataset, "stage2"),
        rank_eval=lambda wc: onerec_config(wc.dataset, "rank_eval"),
        lora=lambda wc: asdict(base_model(wc.dataset).lora),
    script:
        "../workflow/scripts/onerec_stage2.py"


rule onerec_stage3:
    input:
        stage2=rules.onerec_stage2.output.model,
        sids="results/{dataset}/sid/sids.parquet",
        reasoning=rules.onerec_cot.output.reasoning,
    output:
        model=directory(f"{ONEREC}/stage3"),
    log:
        "results/{dataset}/logs/onerec/stage3.log",
    benchmark:
        "results/{dataset}/benchmarks/onerec/stage3.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        mem_mb=base_model_resource("train", "mem_mb"),
        runtime=base_model_resource("train", "runtime"),
        gpu=base_model_resource("train", "gpu"),
    params:
        base=onerec_base,
        train=lambda wc: onerec_config(wc.dataset, "stage3"),
        rank_eval=lambda wc: onerec_config(wc.dataset, "rank_eval"),
        rejection=lambda wc: onerec_config(wc.dataset, "rejection"),
    script:
        "../workflow/scripts/onerec_stage3.py"


rule onerec_grpo:
    input:
        stage3=rules.onerec_stage3.output.model,
        sids="results/{dataset}/sid/sids.parquet",
        reasoning=rules.onerec_cot.output.reasoning,
    output:
        model=directory(f"{ONEREC}/grpo"),
    log:
        "results/{dataset}/logs/onerec/grpo.log",
    benchmark:
        "results/{dataset}/benchmarks/onerec/grpo.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        mem_mb=base_model_resource("train", "mem_mb"),
        runtime=base_model_resource("train", "runtime"),
        gpu=base_model_resource("train", "gpu"),
    params:
        base=onerec_base,
        grpo=lambda wc: onerec_config(wc.dataset, "grpo"),
        rank_eval=lambda wc: onerec_config(wc.dataset, "rank_eval"),
    script:
        "../workflow/scripts/onerec_grpo.py"


rule onerec_think_predict:
    input:
        model=rules.onerec_stage2.output.model,
        sids="results/{dataset}/sid/sids.parquet",
        sequential=f"{ONEREC}/tasks/sequential.parquet",
    output:
        "results/{dataset}/predictions/onerec_think.parquet",
    log:
        "results/{dataset}/logs/onerec/predict.log",
    benchmark:
        "results/{dataset}/benchmarks/onerec/predict.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        mem_mb=base_model_resource("generate", "mem_mb"),
        runtime=base_model_resource("generate", "runtime"),
        gpu=base_model_resource("generate", "gpu"),
    params:
        base=onerec_base,
        settings=lambda wc: onerec_config(wc.dataset, "predict"),
        k=lambda wc: max(config["evaluation"]["ks"]),
        cot=False,
    script:
        "../workflow/scripts/onerec_predict.py"


rule onerec_think_cot_predict:
    input:
        model=onerec_cot_model,
        sids="results/{dataset}/sid/sids.parquet",
        sequential=f"{ONEREC}/tasks/sequential.parquet",
    output:
        "results/{dataset}/predictions/onerec_think_cot.parquet",
    log:
        "results/{dataset}/logs/onerec/predict_cot.log",
    benchmark:
        "results/{dataset}/benchmarks/onerec/predict_cot.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        mem_mb=base_model_resource("generate", "mem_mb"),
        runtime=base_model_resource("generate", "runtime"),
        gpu=base_model_resource("generate", "gpu"),
    params:
        base=onerec_base,
        settings=lambda wc: onerec_config(wc.dataset, "predict"),
        k=lambda wc: max(config["evaluation"]["ks"]),
        cot=True,
    script:
        "../workflow/scripts/onerec_predict.py"
