# Base models, item embeddings and the shared item-summary LLM stage: built once per dataset and
# used by every method. Each rule reads only its own config section (models / embedder / llm).


include: "models_common.smk"


rule build_tiny_model:
    input:
        items_table="results/{dataset}/data/items.parquet",
        interactions_table="results/{dataset}/data/interactions.parquet",
    output:
        weights="results/{dataset}/models/tiny/model.safetensors",
        config="results/{dataset}/models/tiny/config.json",
        tokenizer="results/{dataset}/models/tiny/tokenizer.json",
        report="results/{dataset}/models/tiny/build_report.json",
    log:
        "results/{dataset}/logs/models/build_tiny_model.log",
    benchmark:
        "results/{dataset}/benchmarks/models/build_tiny_model.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=60,
        gpu=gpu_request(1),
    params:
        tiny=config["models"]["tiny"],
        domain=lambda wc: llm_domain(wc.dataset),
    script:
        "../workflow/scripts/build_tiny_model.py"


rule convert_packaged_model:
    output:
        weights="results/models/{packaged_model}/model.safetensors",
        provenance="results/models/{packaged_model}/provenance.json",
    log:
        "results/logs/models/convert_{packaged_model}.log",
    benchmark:
        "results/benchmarks/models/convert_{packaged_model}.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=30,
    params:
        preset=lambda wc: PACKAGED_MODELS[wc.packaged_model].name,
        source=lambda wc: vars(PACKAGED_MODELS[wc.packaged_model].packaged),
    script:
        "../workflow/scripts/convert_packaged_model.py"


rule embed_items:
    input:
        items_table="results/{dataset}/data/items.parquet",
    output:
        vectors="results/{dataset}/embeddings/{embedder}.npy",
        ids="results/{dataset}/embeddings/{embedder}.ids.parquet",
        meta="results/{dataset}/embeddings/{embedder}.json",
    log:
        "results/{dataset}/logs/embeddings/{embedder}.log",
    benchmark:
        "results/{dataset}/benchmarks/embeddings/{embedder}.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=60,
        gpu=gpu_request(1),
    params:
        spec=lambda wc: config["embedder"]["presets"][wc.embedder],
    script:
        "../workflow/scripts/embed_items.py"


rule summarize_items:
    input:
        unpack(llm_model_input("item_summaries")),
        items_table="results/{dataset}/data/items.parquet",
    output:
        summaries="results/{dataset}/text/item_summaries.parquet",
        usage="results/{dataset}/text/item_summaries.usage.json",
    log:
        "results/{dataset}/logs/text/item_summaries.log",
    benchmark:
        "results/{dataset}/benchmarks/text/item_summaries.tsv"
    conda:
        "../envs/llm.yaml"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
        gpu=llm_gpus("item_summaries"),
    params:
        llm=llm_settings("item_summaries"),
        task=config["llm"]["tasks"]["item_summary"],
        domain=lambda wc: llm_domain(wc.dataset),
        cache=llm_cache("item_summaries"),
    script:
        "../workflow/scripts/summarize_items.py"
