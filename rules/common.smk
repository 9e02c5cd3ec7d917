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
    return merged(
        config["methods"].get(method, {}),
        config["datasets"][dataset].get("overrides", {}).get(method, {}),
    )


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


def enabled_methods(dataset):
    return config["datasets"][dataset]["methods"]


def data_tables(dataset="{dataset}"):
    """The canonical tables as named inputs (`items` is reserved by Snakemake, hence the _table names)."""
    return {
        f"{name}_table": f"results/{dataset}/data/{name}.parquet"
        for name in ("items", "interactions", "splits")
    }
