# Next-item transitions (recforge.methods.next_item): the worked example of docs/adding-a-method.md.


rule next_item_predict:
    input:
        **data_tables(),
    output:
        "results/{dataset}/predictions/{method}.parquet",
    log:
        "results/{dataset}/logs/{method}/predict.log",
    benchmark:
        "results/{dataset}/benchmarks/{method}/predict.tsv"
    wildcard_constraints:
        method=predicted_by("next_item_predict"),
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        settings=lambda wc: method_config(wc.dataset, wc.method),
        k=lambda wc: max(config["evaluation"]["ks"]),
    script:
        "../workflow/scripts/next_item.py"
