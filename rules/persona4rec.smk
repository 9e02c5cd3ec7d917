# Seed 003 (Persona4Rec): reviews -> aspects -> (item summaries) -> grouped -> personas -> histories
# -> selection -> encoder -> caches -> candidate lists (SASRec) -> re-ranked lists -> evaluate.
# Methods: rerank_base (the candidate lists as given), persona4rec, persona4rec_blend.


include: "persona4rec_common.smk"


rule persona4rec_reviews:
    input:
        interactions_table="results/{dataset}/data/interactions.parquet",
        reviews=p4r_review_file,
    output:
        reviews=f"{P4R}/reviews.parquet",
        report=f"{P4R}/reviews.report.json",
    log:
        "results/{dataset}/logs/persona4rec/reviews.log",
    benchmark:
        "results/{dataset}/benchmarks/persona4rec/reviews.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        adapter=lambda wc: dataset_config(wc)["adapter"],
    script:
        "../workflow/scripts/persona4rec_reviews.py"


rule persona4rec_aspects:
    input:
        unpack(llm_model_input("persona4rec_aspects")),
        reviews=rules.persona4rec_reviews.output.reviews,
    output:
        aspects=f"{P4R}/aspects.parquet",
        usage=f"{P4R}/aspects.usage.json",
    log:
        "results/{dataset}/logs/persona4rec/aspects.log",
    benchmark:
        "results/{dataset}/benchmarks/persona4rec/aspects.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=llm_gpus("persona4rec_aspects"),
    params:
        llm=llm_settings("persona4rec_aspects"),
        settings=p4r_section("aspects"),
        domain=lambda wc: llm_domain(wc.dataset),
        cache=llm_cache("persona4rec_aspects"),
    script:
        "../workflow/scripts/persona4rec_aspects.py"


rule persona4rec_grouped:
    input:
        aspects=rules.persona4rec_aspects.output.aspects,
        items_table="results/{dataset}/data/items.parquet",
        summaries="results/{dataset}/text/item_summaries.parquet",
    output:
        f"{P4R}/grouped.parquet",
    log:
        "results/{dataset}/logs/persona4rec/grouped.log",
    benchmark:
        "results/{dataset}/benchmarks/persona4rec/grouped.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        max_reviews=lambda wc: p4r_config(wc.dataset)["personas"]["max_reviews"],
    script:
        "../workflow/scripts/persona4rec_grouped.py"


rule persona4rec_personas:
    input:
        unpack(llm_model_input("persona4rec_personas")),
        grouped=rules.persona4rec_grouped.output[0],
    output:
        personas=f"{P4R}/personas.parquet",
        usage=f"{P4R}/personas.usage.json",
    log:
        "results/{dataset}/logs/persona4rec/personas.log",
    benchmark:
        "results/{dataset}/benchmarks/persona4rec/personas.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=llm_gpus("persona4rec_personas"),
    params:
        llm=llm_settings("persona4rec_personas"),
        settings=p4r_section("personas"),
        like_threshold=p4r_like_threshold,
        domain=lambda wc: llm_domain(wc.dataset),
        cache=llm_cache("persona4rec_personas"),
    script:
        "../workflow/scripts/persona4rec_personas.py"


rule persona4rec_histories:
    input:
        aspects=rules.persona4rec_aspects.output.aspects,
        items_table="results/{dataset}/data/items.parquet",
        splits_table="results/{dataset}/data/splits.parquet",
        summaries="results/{dataset}/text/item_summaries.parquet",
        personas=rules.persona4rec_personas.output.personas,
    output:
        history=f"{P4R}/history.parquet",
        pairs=f"{P4R}/pairs.parquet",
    log:
        "results/{dataset}/logs/persona4rec/histories.log",
    benchmark:
        "results/{dataset}/benchmarks/persona4rec/histories.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        settings=p4r_section("selection"),
        like_threshold=p4r_like_threshold,
    script:
        "../workflow/scripts/persona4rec_histories.py"


rule persona4rec_selection:
    input:
        unpack(llm_model_input("persona4rec_selection")),
        pairs=rules.persona4rec_histories.output.pairs,
        history=rules.persona4rec_histories.output.history,
        personas=rules.persona4rec_personas.output.personas,
    output:
        selections=f"{P4R}/selections.parquet",
        usage=f"{P4R}/selections.usage.json",
    log:
        "results/{dataset}/logs/persona4rec/selection.log",
    benchmark:
        "results/{dataset}/benchmarks/persona4rec/selection.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=240,
        gpu=llm_gpus("persona4rec_selection"),
    params:
        llm=llm_settings("persona4rec_selection"),
        settings=p4r_section("selection"),
        like_threshold=p4r_like_threshold,
        cache=llm_cache("persona4rec_selection"),
    script:
        "../workflow/scripts/persona4rec_selection.py"


rule persona4rec_candidates:
    input:
        splits_table="results/{dataset}/data/splits.parquet",
        first_stage="results/{dataset}/predictions/sasrec.parquet",
    output:
        candidates=f"{P4R}/candidates.parquet",
        report=f"{P4R}/candidates.report.json",
    log:
        "results/{dataset}/logs/persona4rec/candidates.log",
    benchmark:
        "results/{dataset}/benchmarks/persona4rec/candidates.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        k=p4r_section("candidates"),
    script:
        "../workflow/scripts/persona4rec_candidates.py"


rule persona4rec_train:
    input:
        selections=rules.persona4rec_selection.output.selections,
        history=rules.persona4rec_histories.output.history,
        personas=rules.persona4rec_personas.output.personas,
        candidates=rules.persona4rec_candidates.output.candidates,
    output:
        model=directory(f"{P4R}/encoder"),
        report=f"{P4R}/encoder.report.json",
    log:
        "results/{dataset}/logs/persona4rec/train.log",
    benchmark:
        "results/{dataset}/benchmarks/persona4rec/train.tsv"
    conda:
        "../envs/torch-train.yaml"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
        gpu=gpu_request(1),
    params:
        settings=p4r_section("encoder"),
        embedder=p4r_embedder,
    script:
        "../workflow/scripts/persona4rec_train.py"


rule persona4rec_cache:
    input:
        model=rules.persona4rec_train.output.model,
        history=rules.persona4rec_histories.output.history,
        personas=rules.persona4rec_personas.output.personas,
    output:
        cache=directory(f"{P4R}/cache"),
    log:
        "results/{dataset}/logs/persona4rec/cache.log",
    benchmark:
        "results/{dataset}/benchmarks/persona4rec/cache.tsv"
    conda:
        "../envs/torch-train.yaml"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=60,
        gpu=gpu_request(1),
    params:
        device=lambda wc: p4r_config(wc.dataset)["encoder"]["device"],
    script:
        "../workflow/scripts/persona4rec_cache.py"


rule rerank_base_predict:
    input:
        candidates=rules.persona4rec_candidates.output.candidates,
    output:
        "results/{dataset}/predictions/{method}.parquet",
    log:
        "results/{dataset}/logs/{method}/predict.log",
    benchmark:
        "results/{dataset}/benchmarks/{method}/predict.tsv"
    wildcard_constraints:
        method=predicted_by("rerank_base_predict"),
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    script:
        "../workflow/scripts/rerank_base_predict.py"


rule persona4rec_predict:
    input:
        candidates=rules.persona4rec_candidates.output.candidates,
        cache=rules.persona4rec_cache.output.cache,
    output:
        predictions="results/{dataset}/predictions/{method}.parquet",
        efficiency=f"{P4R}/efficiency/{{method}}.json",
    log:
        "results/{dataset}/logs/{method}/predict.log",
    benchmark:
        "results/{dataset}/benchmarks/{method}/predict.tsv"
    wildcard_constraints:
        method=predicted_by("persona4rec_predict"),
    conda:
        "../envs/data.yaml"
    threads: 1  # the latency figures are single-threaded
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        settings=lambda wc: p4r_config(wc.dataset),
    script:
        "../workflow/scripts/persona4rec_predict.py"
