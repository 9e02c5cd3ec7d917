# Input functions and config lookups shared by every rule file.
import copy
from pathlib import Path

import yaml

from recforge.data.errors import ConfigError
from recforge.data.options import check_options
from recforge.eval.costs import cost_patterns

DATASETS = sorted(config["datasets"])
# The method table (workflow/methods.yaml): protocol, config section, predict rule, cost figures.
METHODS = yaml.safe_load(Path(workflow.basedir, "workflow/methods.yaml").read_text())


def check_methods():
    """Every dataset's `methods` must be in the method table: caught at parse time, so a dry run
    reports it."""
    for dataset, settings in config["datasets"].items():
        unknown = sorted(set(settings["methods"]) - set(METHODS))
        if unknown:
            raise ValueError(
                f"datasets.{dataset}.methods: unknown method(s) {unknown}; "
                f"known (workflow/methods.yaml): {sorted(METHODS)}"
            )


check_methods()


def check_adapter_options():
    """Every dataset's adapter options against its adapter's signature (names, required ones, values;
    recforge.data.options): caught at parse time, so a dry run reports a typo or a bad value.
    """
    for dataset, settings in config["datasets"].items():
        try:
            check_options(settings["adapter"], settings["options"])
        except ConfigError as exc:
            raise ValueError(f"datasets.{dataset}.options: {exc}") from None


check_adapter_options()


wildcard_constraints:
    dataset="|".join(DATASETS),


def dataset_config(wildcards):
    return config["datasets"][wildcards.dataset]


def dataset_source_files(wildcards):
    """Every file an adapter reads, so that editing a source file rebuilds the dataset."""
    files = []
    for value in dataset_config(wildcards)["options"].values():
        path = Path(str(value))
        if path.is_file():
            files.append(str(path))
        elif path.is_dir():
            files.extend(sorted(str(p) for p in path.rglob("*") if p.is_file()))
    return files


def method_config(dataset, method):
    """The global settings of a method (its table entry's `config` section) with the dataset's
    overrides merged over them."""
    method = METHODS[method]["config"] if method in METHODS else method
    return canonical(
        merged(
            config["methods"].get(method, {}),
            config["datasets"][dataset].get("overrides", {}).get(method, {}),
        )
    )


def canonical(value):
    """Mappings with their keys sorted, recursively. Snakemake compares params including key order,
    and a config file that restates a key moves it (its merge puts the file's keys first): without
    this, restating a default would rerun the rules that read it."""
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


def merged(base, override):
    """A copy of `base` with `override` merged in key by key, nested mappings included (an override of
    one stage setting keeps the stage's other settings)."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        out[key] = (
            merged(out[key], value)
            if isinstance(value, dict) and isinstance(out.get(key), dict)
            else copy.deepcopy(value)
        )
    return out


def gpu_request(gpus):
    """`resources: gpu=gpu_request(n)`: the GPUs a job asks for, capped by the run's global `gpu`
    resource when it declares one: profiles/local declares `gpu=0` (a CPU machine), so no rule there
    asks for a GPU and training runs on CPU; a GPU workstation passes `--resources gpu=N`.
    """

    def request(wildcards):
        limit = workflow.global_resources.get("gpu")
        limit = getattr(limit, "value", limit)
        return gpus if limit is None else min(gpus, int(limit))

    return request


def rating_scale_override(dataset):
    """The dataset's `rating_scale` ({min, max, step}), or None: the scale of its observed ratings
    (recforge.data.scale)."""
    return config["datasets"][dataset].get("rating_scale")


def enabled_methods(dataset):
    return config["datasets"][dataset]["methods"]


def predicted_by(rule_name):
    """Wildcard constraint of a predict rule: the methods whose `predict` entry names it."""
    return "|".join(m for m, spec in METHODS.items() if spec["predict"] == rule_name)


def protocol_of(method):
    return METHODS[method]["protocol"]


def efficiency_inputs(dataset):
    """Named inputs of gather_metrics' efficiency section: each enabled method's cost figures."""
    inputs = {}
    for method in enabled_methods(dataset):
        for name, pattern in METHODS[method].get("efficiency", {}).items():
            inputs[name.format(method=method)] = pattern.format(
                dataset=dataset, method=method
            )
    return inputs


def data_tables(dataset="{dataset}"):
    """The canonical tables as named inputs (`items` is reserved by Snakemake, hence the _table names)."""
    return {
        f"{name}_table": f"results/{dataset}/data/{name}.parquet"
        for name in ("items", "interactions", "splits")
    }


include: "train_common.smk"
