"""Line-numbered readers for the source formats: JSON lines (plain or gzip), CSV, separated text.

Every reader yields ``(line_number, record)`` with 1-based physical line numbers so that any later
check can name the offending line. Problems are reported as DataError ``file:line: reason``:

* a corrupt or truncated gzip stream always raises (the rows after the damage are unknowable, so
  they cannot be counted);
* a line that is not valid in the file's encoding, or not valid JSON / CSV, raises too, unless a
  Quarantine in ``quarantine`` mode is passed, which records it and reading goes on;
* so does the last line of a delimited file (CSV, ``::``, whitespace) when it has no line ending: a file
  cut short loses it, and a number cut inside still parses (timestamp 978300760 -> 97830), so the
  missing line end is the only trace. (A JSON line cut short no longer parses, so JSON lines may end
  without one.)
"""

from __future__ import annotations

import csv
import gzip
import json
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from recforge.data.errors import DataError
from recforge.data.quarantine import Quarantine

__all__ = [
    "Quarantine",
    "iter_csv",
    "iter_jsonl",
    "iter_separated",
    "iter_text_lines",
    "iter_whitespace_rows",
    "read_raw_lines",
]

GZIP_MAGIC = b"\x1f\x8b"


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if path.name.endswith(".gz") and magic != GZIP_MAGIC:
        # A .gz name with other content is damage, not a plain-text file to be read as is.
        raise DataError(path, 1, "corrupt gzip: not a gzip file (bad magic bytes)", kind="corrupt_gzip")
    return magic == GZIP_MAGIC


def iter_byte_lines(path: str | Path) -> Iterator[tuple[int, bytes]]:
    """Raw lines (with their line ending) of a plain or gzip file, numbered from 1."""
    path = Path(path)
    if not path.exists():
        raise DataError(path, None, "file not found", kind="missing_file")
    gz = _is_gzip(path)
    lineno = 0
    fh = gzip.open(path, "rb") if gz else open(path, "rb")
    with fh:
        it = iter(fh)
        while True:
            try:
                raw = next(it)
            except StopIteration:
                return
            except EOFError as exc:  # stream ends before the end-of-stream marker
                raise DataError(path, lineno + 1, f"truncated gzip stream ({exc})", kind="corrupt_gzip") from exc
            except (gzip.BadGzipFile, zlib.error) as exc:
                raise DataError(path, lineno + 1, f"corrupt gzip stream ({exc})", kind="corrupt_gzip") from exc
            except OSError as exc:
                if not gz:
                    raise
                raise DataError(path, lineno + 1, f"corrupt gzip stream ({exc})", kind="corrupt_gzip") from exc
            lineno += 1
            yield lineno, raw


def _decode(path: Path, lineno: int, raw: bytes, encoding: str) -> str:
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.start + 1].hex()
        raise DataError(
            path, lineno, f"not valid {encoding} (byte 0x{bad} at column {exc.start + 1})", kind="bad_encoding"
        ) from exc
    if lineno == 1 and text.startswith("\ufeff"):
        text = text[1:]  # a UTF-8 byte-order mark is not data
    return text


def _decoded(path: str | Path, encoding: str, quarantine: Quarantine | None,
             keep_ends: bool, line_end_required: bool = False) -> Iterator[tuple[int, str]]:
    path = Path(path)
    for lineno, raw in iter_byte_lines(path):
        try:
            text = _decode(path, lineno, raw, encoding)
            # lines are split after b"\n", so only the last one can lack it
            if line_end_required and not raw.endswith(b"\n") and raw.strip():
                raise DataError(path, lineno, "last line has no line ending: the file may be cut short "
                                "(truncated); end it with a newline if it is complete", kind="no_line_end")
        except DataError as err:
            if quarantine is None:
                raise
            quarantine.reject_error(err, raw.decode(encoding, errors="replace").rstrip("\r\n"))
            continue
        yield lineno, text if keep_ends else text.rstrip("\r\n")


def iter_text_lines(path: str | Path, encoding: str = "utf-8", quarantine: Quarantine | None = None,
                    line_end_required: bool = False) -> Iterator[tuple[int, str]]:
    """Decoded lines without their line ending (blank lines included)."""
    return _decoded(path, encoding, quarantine, keep_ends=False, line_end_required=line_end_required)


def iter_jsonl(path: str | Path, quarantine: Quarantine | None = None) -> Iterator[tuple[int, dict]]:
    """JSON objects of a .jsonl or .jsonl.gz file; blank lines are skipped (not data)."""
    for lineno, text in iter_text_lines(path, "utf-8", quarantine):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            err = DataError(path, lineno, f"malformed JSON ({exc})", kind="malformed_json")
        else:
            if isinstance(obj, dict):
                yield lineno, obj
                continue
            err = DataError(path, lineno, f"expected a JSON object, got {type(obj).__name__}", kind="malformed_json")
        if quarantine is None:
            raise err
        quarantine.reject_error(err, text)


def iter_csv(path: str | Path, *, delimiter: str = ",", encoding: str = "utf-8",
             quarantine: Quarantine | None = None) -> Iterator[tuple[int, list[str]]]:
    """CSV records with the line on which each record starts (quoted fields may span lines).

    Blank lines are skipped. The header, if any, is yielded like any other record.
    """
    consumed = 0

    def lines() -> Iterable[str]:
        nonlocal consumed
        for lineno, text in _decoded(path, encoding, quarantine, keep_ends=True, line_end_required=True):
            consumed = lineno
            yield text

    reader = csv.reader(lines(), delimiter=delimiter, strict=True)
    while True:
        start = consumed + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            err = DataError(path, start, f"malformed CSV ({exc})", kind="malformed_csv")
            if quarantine is None:
                raise err from exc
            quarantine.reject_error(err)
            continue
        if row:
            yield start, row


def iter_whitespace_rows(path: str | Path, encoding: str = "utf-8",
                         quarantine: Quarantine | None = None) -> Iterator[tuple[int, list[str]]]:
    """Whitespace-separated tokens of each non-blank line (e.g. ``user item item ...``)."""
    for lineno, text in iter_text_lines(path, encoding, quarantine, line_end_required=True):
        tokens = text.split()
        if tokens:
            yield lineno, tokens


def iter_separated(path: str | Path, sep: str, encoding: str = "utf-8",
                   quarantine: Quarantine | None = None) -> Iterator[tuple[int, list[str]]]:
    """Fields of each non-blank line split on a literal separator (MovieLens ``::`` files)."""
    for lineno, text in iter_text_lines(path, encoding, quarantine, line_end_required=True):
        if text.strip():
            yield lineno, text.split(sep)


def read_raw_lines(path: Path, lines: set[int]) -> dict[int, str]:
    """The given lines of a file as text (undecodable bytes replaced), for quarantine records."""
    out: dict[int, str] = {}
    if not lines:
        return out
    last = max(lines)
    for lineno, raw in iter_byte_lines(path):
        if lineno in lines:
            out[lineno] = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if lineno >= last:
            break
    return out
