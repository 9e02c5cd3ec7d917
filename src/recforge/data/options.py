"""A dataset's adapter options, checked before any file is read: the adapter's signature is its schema.

An adapter's keyword parameters are exactly the options a dataset's config may set, with their defaults;
an option with a fixed set of values is annotated ``Literal[...]``, so the accepted values are written
once, where the adapter reads them. rules/common.smk runs `check_options` on every dataset when the
config is loaded, so that `snakemake -n` reports a typo (``on_eror``) or a bad value
(``split: leave-one-out``); `load_dataset` runs it again for callers outside the workflow.
Checks that need the files (paths exist, their contents) stay with the adapters.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Union

from recforge.data.adapters import ADAPTERS
from recforge.data.canonical import CanonicalDataset
from recforge.data.errors import ConfigError

REQUIRED = inspect.Parameter.empty


def get_adapter(name: str) -> Callable[..., CanonicalDataset]:
    try:
        return ADAPTERS[name]
    except KeyError:
        raise ConfigError(f"unknown adapter {name!r}; known: {sorted(ADAPTERS)}") from None


def adapter_options(name: str) -> dict[str, Any]:
    """The options an adapter accepts, with their defaults (REQUIRED where there is none)."""
    return {opt: p.default for opt, p in inspect.signature(get_adapter(name)).parameters.items()}


def option_types(name: str) -> dict[str, Any]:
    """Each option's annotation, resolved (the adapters use `from __future__ import annotations`)."""
    hints = typing.get_type_hints(get_adapter(name))
    return {opt: hints[opt] for opt in adapter_options(name) if opt in hints}


def check_options(name: str, options: Mapping[str, Any]) -> None:
    """Raise ConfigError on an unknown adapter, an unknown or missing option, or a value its
    annotation rejects; each message names the option and what is accepted."""
    accepted = adapter_options(name)
    where = f"adapter {name!r}"
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ConfigError(f"{where}: unknown option(s) {unknown}; accepted: {sorted(accepted)}")
    missing = sorted(k for k, v in accepted.items() if v is REQUIRED and k not in options)
    if missing:
        raise ConfigError(f"{where}: missing required option(s) {missing}; accepted: {sorted(accepted)}")
    for opt, hint in option_types(name).items():
        if opt in options and not _accepts(hint, options[opt]):
            raise ConfigError(f"{where}: {opt} must be {_describe(hint)}, got {options[opt]!r}")


def _accepts(hint: Any, value: Any) -> bool:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return value in args
    if origin in (Union, types.UnionType):
        return any(_accepts(h, value) for h in args)
    if hint is type(None):
        return value is None
    if hint in (str, Path):  # a path comes from YAML as a string
        return isinstance(value, (str, Path))
    if hint in (int, float):  # bool is an int subclass but never a count or a ratio
        numeric = (int, float) if hint is float else int
        return isinstance(value, numeric) and not isinstance(value, bool)
    if origin in (Sequence, list, tuple):
        return isinstance(value, (list, tuple)) and all(_accepts(args[0], v) for v in value)
    return True  # an annotation this check does not know: the adapter checks the value itself


def _describe(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return f"one of {list(args)}"
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(h) for h in args)
    if origin in (Sequence, list, tuple):
        return f"a list of {_describe(args[0])}"
    return "null" if hint is type(None) else getattr(hint, "__name__", str(hint))
