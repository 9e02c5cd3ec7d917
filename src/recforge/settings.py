"""Typed settings from config mappings: the one helper every module uses to turn a config section into
its settings dataclass, rejecting unknown keys and naming missing ones.

config/config.yaml is where defaults are written; a dataclass default exists for callers outside the
workflow (tests, notebooks) and must equal config.yaml's value (tests/test_settings_defaults.py compares
them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, fields
from typing import Any, TypeVar

T = TypeVar("T")


def typed(cls: type[T], raw: Mapping[str, Any] | None, where: str | None = None) -> T:
    """`cls(**raw)` with unknown and missing keys reported by name (and by config location `where`)."""
    raw = dict(raw or {})
    names = {f.name for f in fields(cls)}
    place = f"{where}: " if where else ""
    unknown = sorted(set(raw) - names)
    if unknown:
        raise ValueError(f"{place}unknown {cls.__name__} keys {unknown}; known: {sorted(names)}")
    missing = sorted(
        f.name for f in fields(cls)
        if f.default is MISSING and f.default_factory is MISSING and f.name not in raw
    )
    if missing:
        raise ValueError(f"{place}{cls.__name__} needs {missing}")
    return cls(**raw)
