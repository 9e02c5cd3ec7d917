# The report (`snakemake --report`): per dataset a comparison page and figures, each flagged with
# report() and captioned in workflow/report/. Stage reports and the SID report are read from the
# dataset's results folder: every one of them is upstream of metrics.json.
include: "report_common.smk"


rule report_figures:
    input:
        **data_tables(),
        metrics="results/{dataset}/metrics.json",
        rating_predictions=lambda wc: expand(
            "results/{dataset}/predictions/{method}.parquet",
            dataset=wc.dataset,
            method=rating_methods(wc.dataset),
        ),
    output:
        table=report_file("comparison.html", "comparison", "1 comparison table"),
        quality_cost=report_file(
            "quality_vs_cost.png", "quality_vs_cost", "2 quality vs cost"
        ),
        curves=report_file(
            "training_curves.png", "training_curves", "3 training curves"
        ),
        sid=report_file("sid_codebooks.png", "sid_codebooks", "4 SID codebooks"),
        confusion=report_file(
            "rating_confusion.png", "rating_confusion", "5 rating confusion"
        ),
        isir_tokens=report_file(
            "isir_tokens.png", "isir_tokens", "6 isir prompt tokens"
        ),
        data=report_file("data.png", "data", "7 data"),
    log:
        "results/{dataset}/logs/report_figures.log",
    benchmark:
        "results/{dataset}/benchmarks/report_figures.tsv"
    conda:
        "../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        rating_methods=lambda wc: rating_methods(wc.dataset),
        rating_scale=lambda wc: rating_scale_override(wc.dataset),
    script:
        "../workflow/scripts/report_figures.py"
