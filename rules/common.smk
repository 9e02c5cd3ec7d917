# Input functions and config lookups shared by every rule file.
import copy
from pathlib import Path

from recforge.methods.registry import protocol_of

DATASETS = sorted(config["datasets"])


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
    """The global settings of a method with the dataset's overrides merged over them."""
    settings = copy.deepcopy(config["methods"].get(method, {}))
    settings.update(config["datasets"][dataset].get("overrides", {}).get(method, {}))
    return settings


def enabled_methods(dataset):
    return config["datasets"][dataset]["methods"]


def data_tables(dataset="{dataset}"):
    """The canonical tables as named inputs (`items` is reserved by Snakemake, hence the _table names)."""
    return {
        f"{name}_table": f"results/{dataset}/data/{name}.parquet"
        for name in ("items", "interactions", "splits")
    }
