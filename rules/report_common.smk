# Input functions of rules/report.smk.
REPORT = "results/{dataset}/report"


def report_file(name, caption, label):
    return report(
        f"{REPORT}/{name}",
        caption=f"../workflow/report/{caption}.rst",
        category="{dataset}",
        labels={"dataset": "{dataset}", "figure": label},
    )


def rating_methods(dataset):
    return [m for m in enabled_methods(dataset) if protocol_of(m) == "rating"]
