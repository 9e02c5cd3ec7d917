"""The one exception type for bad input data.

Every message has the form ``<file>:<line>: <reason>`` so that a user can open the offending file at
the offending line. "line" is the 1-based physical line of the record (for CSV: the line on which the
record starts; for whole-file problems such as a truncated gzip stream: the line at which reading
stopped).
"""

from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """Bad input data, located by file and 1-based line (or row)."""

    def __init__(self, file: str | Path, line: int | None, reason: str, *, kind: str | None = None) -> None:
        self.file = str(file)
        self.line = line
        self.reason = reason
        #: short machine-readable category ("malformed_json", "unknown_item", ...) used to count
        #: quarantined rows by reason
        self.kind = kind or reason
        where = f"{self.file}:{line}" if line is not None else f"{self.file}:?"
        super().__init__(f"{where}: {reason}")


class ConfigError(ValueError):
    """A dataset's options (config mapping) are wrong: unknown key, missing key, bad value."""
