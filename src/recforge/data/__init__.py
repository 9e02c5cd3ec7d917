"""Data layer: source adapters -> validated canonical tables (docs/contracts.md) + data report."""

from recforge.data.build import build_dataset, load_dataset
from recforge.data.canonical import CanonicalDataset, read_dataset
from recforge.data.errors import ConfigError, DataError

__all__ = ["CanonicalDataset", "ConfigError", "DataError", "build_dataset", "load_dataset", "read_dataset"]
