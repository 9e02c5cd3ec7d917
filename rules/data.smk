# Source files -> canonical tables (docs/contracts.md) and a data report.


rule prepare_dataset:
    input:
        dataset_source_files,
    output:
        **data_tables(),
        report="results/{dataset}/data/data_report.json",
    log:
        "results/{dataset}/logs/data/prepare_dataset.log",
    benchmark:
        "results/{dataset}/benchmarks/data/prepare_dataset.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=30,
    params:
        adapter=lambda wc: dataset_config(wc)["adapter"],
        options=lambda wc: dataset_config(wc)["options"],
    script:
        "../workflow/scripts/prepare_dataset.py"
