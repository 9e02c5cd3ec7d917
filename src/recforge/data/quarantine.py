"""Bad-row policy: raise at the first bad row (default) or set bad rows aside and count them.

Nothing is ever dropped silently. Three kinds of bookkeeping end up in the data report:

* ``quarantined``: rows rejected as bad input (only possible with ``on_error: quarantine``; with
  ``on_error: raise`` the first one raises a DataError). They are also written to quarantine.jsonl
  with file, line, reason and the raw text.
* ``dropped``: rows removed by a documented policy (k-core filtering, de-duplication of repeat
  interactions, ...). Not errors, so they never raise.
* ``repaired``: values changed on the way in (HTML entities unescaped, placeholder brands blanked...).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

from recforge.data.errors import ConfigError, DataError

OnError = Literal["raise", "quarantine"]
ON_ERROR_VALUES = get_args(OnError)


@dataclass
class QuarantinedRow:
    file: str
    line: int | None
    key: str  # short reason, used for counting
    reason: str  # full reason, with row-specific detail
    raw: str | None


@dataclass
class Quarantine:
    """Collects rejected rows (or raises), and counts dropped and repaired rows by reason."""

    mode: str = "raise"
    rows: list[QuarantinedRow] = field(default_factory=list)
    dropped: Counter = field(default_factory=Counter)
    repaired: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        if self.mode not in ON_ERROR_VALUES:
            raise ConfigError(f"on_error must be one of {ON_ERROR_VALUES}, got {self.mode!r}")

    @property
    def raising(self) -> bool:
        return self.mode == "raise"

    def reject(self, file: str | Path, line: int | None, reason: str, raw: str | None = None,
               *, key: str | None = None) -> None:
        """A bad row: raise a DataError, or (quarantine mode) record it and return.

        `key` is the short reason used for counting (defaults to `reason`); the full reason, which may
        carry row-specific details, goes to quarantine.jsonl.
        """
        if self.raising:
            raise DataError(file, line, reason)
        self.rows.append(QuarantinedRow(str(file), line, key or reason, reason, raw))

    def reject_error(self, error: DataError, raw: str | None = None, *, key: str | None = None) -> None:
        """Same as `reject` for an already-built DataError (e.g. from a reader)."""
        if self.raising:
            raise error
        self.rows.append(QuarantinedRow(error.file, error.line, key or error.kind, error.reason, raw))

    def drop(self, reason: str, n: int = 1) -> None:
        if n:
            self.dropped[reason] += int(n)

    def repair(self, reason: str, n: int = 1) -> None:
        if n:
            self.repaired[reason] += int(n)

    @property
    def quarantined(self) -> Counter:
        """Rejected rows counted by (short) reason."""
        return Counter(r.key for r in self.rows)

    def counts(self) -> dict[str, dict[str, int]]:
        """The three counters, sorted by reason, as plain dicts for the report."""
        return {
            "quarantined": dict(sorted(self.quarantined.items())),
            "dropped": dict(sorted(self.dropped.items())),
            "repaired": dict(sorted(self.repaired.items())),
        }

    def records(self) -> list[dict]:
        """quarantine.jsonl rows; missing raw texts are read back from the source files."""
        self._fill_raw()
        return [
            {"file": r.file, "line": r.line, "reason": r.key, "detail": r.reason, "raw": r.raw} for r in self.rows
        ]

    def write(self, path: Path) -> None:
        with open(path, "w", encoding="utf-8") as fh:
            for rec in self.records():
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")

    def _fill_raw(self) -> None:
        # Row-level checks on DataFrames know only file and line; reading the raw text back here keeps
        # big tables from carrying a copy of every source line.
        from recforge.data.io import read_raw_lines

        wanted: dict[str, set[int]] = {}
        for r in self.rows:
            if r.raw is None and r.line is not None:
                wanted.setdefault(r.file, set()).add(r.line)
        for file, lines in wanted.items():
            try:
                texts = read_raw_lines(Path(file), lines)
            except (OSError, DataError):
                continue
            for r in self.rows:
                if r.file == file and r.raw is None and r.line in texts:
                    r.raw = texts[r.line]
