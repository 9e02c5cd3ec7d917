"""Small helpers shared by the adapters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from recforge.data.canonical import SOURCE_FILE, SOURCE_LINE
from recforge.data.errors import DataError
from recforge.data.quarantine import Quarantine

EVENT_COLUMNS = ["user_id", "item_id", "rating", "timestamp", SOURCE_FILE, SOURCE_LINE]


def require(rec: Mapping[str, Any], fields: Mapping[str, type | tuple[type, ...]], file: Path | str,
            line: int, quarantine: Quarantine) -> bool:
    """True if every field is present, non-null and of the expected type; else reject the row."""
    for name, typ in fields.items():
        value = rec.get(name)
        if value is None:
            quarantine.reject(file, line, f"missing required field {name!r}", key="missing_field")
            return False
        # bool is an int subclass but never a valid id, count or rating
        if not isinstance(value, typ) or isinstance(value, bool):
            quarantine.reject(file, line, f"field {name!r} has type {type(value).__name__}, "
                              f"expected {getattr(typ, '__name__', typ)}", key="bad_field")
            return False
    return True


def event_frame(rows: list[tuple]) -> pd.DataFrame:
    """Raw event rows (user, item, rating, timestamp ms or None, file, line) as a typed frame."""
    frame = pd.DataFrame(rows, columns=EVENT_COLUMNS)
    frame["user_id"] = frame["user_id"].astype(str)
    frame["item_id"] = frame["item_id"].astype(str)
    frame["rating"] = pd.to_numeric(frame["rating"], errors="coerce").astype("float64")
    frame["timestamp"] = pd.array(frame["timestamp"].astype(object).where(frame["timestamp"].notna(), None),
                                  dtype="Int64")
    frame[SOURCE_LINE] = frame[SOURCE_LINE].astype("int64")
    return frame


def check_path(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise DataError(path, None, f"{what} not found", kind="missing_file")
    return path


def parse_number(value: str, parse: Callable[[str], Any], file: Path | str, line: int, field: str,
                 quarantine: Quarantine) -> Any:
    """`parse(value)`, or reject the row (returns None) when the value does not parse."""
    try:
        return parse(value.strip())
    except (ValueError, AttributeError):
        quarantine.reject(file, line, f"field {field!r}: cannot parse {value!r}", key="bad_field")
        return None
