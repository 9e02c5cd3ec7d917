"""Check a predictions parquet file against its protocol's schema (docs/contracts.md) before scoring.

The check reads only the parquet schema, so a wrong column type is reported with the file's name before
any data is loaded or joined.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def _is_str(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        return _is_str(t.value_type)
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _is_number(t: pa.DataType) -> bool:
    return pa.types.is_floating(t) or pa.types.is_integer(t)


def _is_list_of(inner: Callable[[pa.DataType], bool]) -> Callable[[pa.DataType], bool]:
    def check(t: pa.DataType) -> bool:
        is_list = pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t)
        # An all-empty list column may be written as list<null>; accept it.
        return is_list and (inner(t.value_type) or pa.types.is_null(t.value_type))

    return check


# column -> (type check, what the contract says, required)
_COMMON = {"sample_id": (_is_str, "str", True), "split": (_is_str, "str", True)}
SCHEMAS: dict[str, dict[str, tuple[Callable[[pa.DataType], bool], str, bool]]] = {
    "rating": {**_COMMON, "prediction": (_is_number, "float64", True), "raw_output": (_is_str, "str", False)},
    "topk": {
        **_COMMON,
        "items": (_is_list_of(_is_str), "list[str]", True),
        "scores": (_is_list_of(_is_number), "list[float]", False),
    },
    "rerank": {**_COMMON, "items": (_is_list_of(_is_str), "list[str]", True)},
    "ctr": {**_COMMON, "probability": (_is_number, "float64", True)},
}


def check_predictions_schema(path: str | Path, protocol: str) -> None:
    """Raise ValueError naming `path` if a required column is missing or any known column has the wrong type."""
    if protocol not in SCHEMAS:
        raise ValueError(f"unknown protocol {protocol!r}; expected one of {tuple(SCHEMAS)}")
    schema = pq.read_schema(path)
    types = {field.name: field.type for field in schema}
    problems = []
    for column, (check, wanted, required) in SCHEMAS[protocol].items():
        if column not in types:
            if required:
                problems.append(f"missing column {column!r} ({wanted})")
        elif not check(types[column]):
            problems.append(f"column {column!r} is {types[column]}, expected {wanted}")
    if problems:
        raise ValueError(f"{path}: predictions do not match the {protocol!r} schema: " + "; ".join(problems))
