# Seed 000 (isir): interest sketch -> verl prompts -> (cold-start SFT) -> GRPO -> teacher CoT ->
# teacher hidden states -> hidden-aligned answer-only student. Methods: isir (aligned student),
# isir_noalign (kd_ratio 0), isir_cot (the GRPO teacher reasoning). Library: recforge.methods.isir.


include: "isir_common.smk"


rule isir_clusters:
    input:
        vectors=lambda wc: isir_embeddings(wc)["embeddings"],
        ids=lambda wc: isir_embeddings(wc)["embedding_ids"],
    output:
        clusters=f"{ISIR}/clusters.parquet",
    log:
        "results/{dataset}/logs/isir/clusters.log",
    benchmark:
        "results/{dataset}/benchmarks/isir/clusters.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        clusters=lambda wc: isir(wc.dataset)["clusters"],
    script:
        "../workflow/scripts/isir_clusters.py"


rule isir_cluster_names:
    input:
        unpack(llm_model_input("isir_cluster_names")),
        clusters=rules.isir_clusters.output.clusters,
        items_table="results/{dataset}/data/items.parquet",
    output:
        names=f"{ISIR}/cluster_names.parquet",
        usage=f"{ISIR}/cluster_names.usage.json",
    log:
        "results/{dataset}/logs/isir/cluster_names.log",
    benchmark:
        "results/{dataset}/benchmarks/isir/cluster_names.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=60,
        gpu=llm_gpus("isir_cluster_names"),
    params:
        llm=llm_settings("isir_cluster_names"),
        task=lambda wc: isir(wc.dataset)["cluster_names"],
        domain=lambda wc: llm_domain(wc.dataset),
        cache=llm_cache("isir_cluster_names"),
    script:
        "../workflow/scripts/isir_cluster_names.py"


rule isir_prompts:
    input:
        unpack(base_model_input),
        **data_tables(),
        clusters=rules.isir_clusters.output.clusters,
        names=rules.isir_cluster_names.output.names,
    output:
        train=f"{ISIR}/verl/train.parquet",
        val=f"{ISIR}/verl/val.parquet",
        test=f"{ISIR}/verl/test.parquet",
        stats=f"{ISIR}/verl/stats.json",
        prompt_lengths=f"{ISIR}/verl/prompt_lengths.json",
    log:
        "results/{dataset}/logs/isir/prompts.log",
    benchmark:
        "results/{dataset}/benchmarks/isir/prompts.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=20,
    params:
        tokenizer=lambda wc: base_model(wc.dataset).path,
        domain=lambda wc: llm_domain(wc.dataset),
        rating_scale=lambda wc: rating_scale_override(wc.dataset),
        isir=isir_keys(
            "max_history",
            "max_topics",
            "max_categories",
            "item_stats",
            "pos_threshold",
            "max_train_samples",
            "seed",
            "sample_order",
        ),
    script:
        "../workflow/scripts/isir_prompts.py"


rule isir_traces:
    input:
        unpack(llm_model_input("isir_traces")),
        **data_tables(),
        clusters=rules.isir_clusters.output.clusters,
        names=rules.isir_cluster_names.output.names,
        train=rules.isir_prompts.output.train,
        valid=rules.isir_prompts.output.val,
    output:
        traces=f"{ISIR}/sft/traces.parquet",
        usage=f"{ISIR}/sft/traces.usage.json",
    log:
        "results/{dataset}/logs/isir/traces.log",
    benchmark:
        "results/{dataset}/benchmarks/isir/traces.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
        gpu=llm_gpus("isir_traces"),
    params:
        llm=llm_settings("isir_traces"),
        domain=lambda wc: llm_domain(wc.dataset),
        isir=isir_keys(
            "max_history",
            "max_topics",
            "max_categories",
            "item_stats",
            "pos_threshold",
            "seed",
            "sample_order",
        ),
        sft=isir_keys(
            "max_train_samples", "max_valid_samples", "trace_sampling", section="sft"
        ),
        cache=llm_cache("isir_traces"),
    script:
        "../workflow/scripts/isir_traces.py"


rule isir_sft:
    input:
        unpack(base_model_input),
        train=rules.isir_prompts.output.train,
        valid=rules.isir_prompts.output.val,
        traces=rules.isir_traces.output.traces,
    output:
        model=directory(f"{ISIR}/sft/model"),
        report=f"{ISIR}/sft/report.json",
    log:
        "results/{dataset}/logs/isir/sft.log",
    benchmark:
        "results/{dataset}/benchmarks/isir/sft.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        **MODEL_RESOURCES,
    params:
        **train_params("recforge.methods.isir.entry:sft", isir_stage_settings("sft")),
    shell:
        TRAIN_SHELL


rule isir_grpo:
    input:
        unpack(isir_policy_start),
        train=rules.isir_prompts.output.train,
        valid=rules.isir_prompts.output.val,
    output:
        model=directory(f"{ISIR}/grpo/model"),
        report=f"{ISIR}/grpo/report.json",
    log:
        "results/{dataset}/logs/isir/grpo.log",
    benchmark:
        "results/{dataset}/benchmarks/isir/grpo.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        **MODEL_RESOURCES,
    params:
        **train_params("recforge.methods.isir.entry:grpo", isir_stage_settings("grpo")),
    shell:
        TRAIN_SHELL


rule isir_teacher:
    input:
        model=rules.isir_grpo.output.model,
        train=rules.isir_prompts.output.train,
    output:
        traces=f"{ISIR}/teacher/train_cot.parquet",
        report=f"{ISIR}/teacher/report.json",
    log:
        "results/{dataset}/logs/isir/teacher.log",
    benchmark:
        "results/{dataset}/benchmarks/isir/teacher.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        **MODEL_RESOURCES,
    params:
        isir=isir_keys("seed", "sample_order", "teacher"),
        load=lambda wc: isir_load(wc.dataset),
    script:
        "../workflow/scripts/isir_teacher.py"


rule isir_teacher_states:
    input:
        model=rules.isir_grpo.output.model,
        train=rules.isir_prompts.output.train,
        traces=rules.isir_teacher.output.traces,
    output:
        states=directory(f"{ISIR}/teacher/states"),
    log:
        "results/{dataset}/logs/isir/teacher_states.log",
    benchmark:
        "results/{dataset}/benchmarks/isir/teacher_states.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        **MODEL_RESOURCES,
    params:
        hidden=lambda wc: isir(wc.dataset)["hidden"],
        load=lambda wc: isir_load(wc.dataset),
    script:
        "../workflow/scripts/isir_teacher_states.py"


rule isir_align:
    input:
        start=rules.isir_grpo.output.model,
        train=rules.isir_prompts.output.train,
        valid=rules.isir_prompts.output.val,
        teacher_states=rules.isir_teacher_states.output.states,
    output:
        model=directory(f"{ISIR}/student_{{student}}/model"),
        report=f"{ISIR}/student_{{student}}/report.json",
    log:
        "results/{dataset}/logs/isir/student_{student}.log",
    benchmark:
        "results/{dataset}/benchmarks/isir/student_{student}.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        **MODEL_RESOURCES,
    params:
        **train_params(
            "recforge.methods.isir.entry:align", isir_stage_settings("align")
        ),
    shell:
        TRAIN_SHELL


rule isir_predict:
    input:
        model=isir_prediction_model,
        valid=rules.isir_prompts.output.val,
        test=rules.isir_prompts.output.test,
    output:
        predictions="results/{dataset}/predictions/{method}.parquet",
        efficiency="results/{dataset}/isir/efficiency/{method}.json",
    log:
        "results/{dataset}/logs/{method}/predict.log",
    benchmark:
        "results/{dataset}/benchmarks/{method}/predict.tsv"
    wildcard_constraints:
        method=predicted_by("isir_predict"),
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        **MODEL_RESOURCES,
    params:
        mode=lambda wc: "cot" if wc.method == "isir_cot" else "answer_only",
        predict=lambda wc: isir(wc.dataset)["predict"],
        load=lambda wc: isir_load(wc.dataset),
    script:
        "../workflow/scripts/isir_predict.py"
