"""Line-numbered readers and their error messages (file:line: reason)."""

from __future__ import annotations

import gzip
import random
import re
from pathlib import Path

import pytest

from recforge.data.errors import DataError
from recforge.data.io import (
    Quarantine,
    iter_csv,
    iter_jsonl,
    iter_separated,
    iter_whitespace_rows,
    read_raw_lines,
)


def _big_gzip(path: Path, n: int = 3000) -> Path:
    rng = random.Random(0)
    lines = [f'{{"k": {i}, "v": "{rng.getrandbits(128):032x}"}}\n' for i in range(n)]
    with open(path, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) as gz:
        gz.write("".join(lines).encode())
    return path


def test_jsonl_line_numbers_skip_blank_lines(tmp_path, write_jsonl):
    path = write_jsonl(tmp_path / "a.jsonl.gz", [{"a": 1}, "", {"a": 2}, "   "])
    assert [(n, r["a"]) for n, r in iter_jsonl(path)] == [(1, 1), (3, 2)]


def test_plain_jsonl_and_bom(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes('\ufeff{"a": "é"}\n{"a": 2}\n'.encode())
    assert [r["a"] for _, r in iter_jsonl(path)] == ["é", 2]


def test_malformed_json_names_file_and_line(tmp_path, write_jsonl):
    path = write_jsonl(tmp_path / "train.jsonl.gz", [{"a": 1}, {"a": 2}, '{"a": 3,, }', {"a": 4}])
    with pytest.raises(DataError, match=r"train\.jsonl\.gz:3: malformed JSON \(Expecting") as exc:
        list(iter_jsonl(path))
    assert exc.value.line == 3 and exc.value.file.endswith("train.jsonl.gz")


def test_json_that_is_not_an_object(tmp_path, write_jsonl):
    path = write_jsonl(tmp_path / "x.jsonl", [{"a": 1}, "[1, 2]"])
    with pytest.raises(DataError, match=r"x\.jsonl:2: expected a JSON object"):
        list(iter_jsonl(path))


def test_truncated_gzip_names_file_and_line(tmp_path):
    path = _big_gzip(tmp_path / "history.jsonl.gz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"history\.jsonl\.gz:\d+: truncated gzip") as exc:
        list(iter_jsonl(path))
    assert exc.value.line > 1  # the lines before the damage were read and counted


def test_corrupt_gzip_names_file_and_line(tmp_path):
    path = _big_gzip(tmp_path / "valid.jsonl.gz", n=50)
    data = bytearray(path.read_bytes())
    data[-8] ^= 0xFF  # CRC32 of the trailer: every line decodes, the stream check fails at the end
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"valid\.jsonl\.gz:51: corrupt gzip stream \(CRC check failed"):
        list(iter_jsonl(path))


def test_garbled_gzip_payload_is_located(tmp_path):
    # Flipped bytes in the middle either break the deflate stream or decode to garbage; both ways the
    # error names the file and the line where reading stopped.
    path = _big_gzip(tmp_path / "valid.jsonl.gz")
    data = bytearray(path.read_bytes())
    for i in range(len(data) // 2, len(data) // 2 + 64):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"valid\.jsonl\.gz:\d+: ") as exc:
        list(iter_jsonl(path))
    assert 1 < exc.value.line <= 3001


def test_gz_name_without_gzip_content(tmp_path):
    path = tmp_path / "test.jsonl.gz"
    path.write_text('{"a": 1}\n')
    with pytest.raises(DataError, match=r"test\.jsonl\.gz:1: corrupt gzip: not a gzip file"):
        list(iter_jsonl(path))


def test_non_utf8_names_file_and_line(tmp_path):
    path = tmp_path / "meta.jsonl"
    path.write_bytes(b'{"a": "ok"}\n{"a": "caf\xe9"}\n')
    with pytest.raises(DataError, match=r"meta\.jsonl:2: not valid utf-8 \(byte 0xe9 at column 11\)"):
        list(iter_jsonl(path))


def test_non_utf8_inside_gzip(tmp_path):
    path = tmp_path / "h.jsonl.gz"
    with gzip.open(path, "wb") as gz:
        gz.write(b'{"a": 1}\n{"a": 2}\n{"a": "\xff"}\n')
    with pytest.raises(DataError, match=r"h\.jsonl\.gz:3: not valid utf-8"):
        list(iter_jsonl(path))


def test_reader_quarantine_records_and_continues(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_bytes(b'{"a": 1}\nnot json\n{"a": "\xff"}\n{"a": 4}\n')
    q = Quarantine("quarantine")
    assert [n for n, _ in iter_jsonl(path, q)] == [1, 4]
    assert q.quarantined == {"malformed_json": 1, "bad_encoding": 1}
    recs = q.records()
    assert [(r["line"], r["reason"]) for r in recs] == [(2, "malformed_json"), (3, "bad_encoding")]
    assert recs[0]["raw"] == "not json" and recs[0]["file"] == str(path)


def test_csv_records_start_lines_and_multiline_fields(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text('a,b\n1,"x"\n2,"multi\nline"\n\n3,z\n', encoding="utf-8")
    assert list(iter_csv(path)) == [(1, ["a", "b"]), (2, ["1", "x"]), (3, ["2", "multi\nline"]), (6, ["3", "z"])]


def test_csv_non_utf8_and_malformed(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"a,b\n1,2\n3,\xff\n")
    with pytest.raises(DataError, match=r"bad\.csv:3: not valid utf-8"):
        list(iter_csv(path))
    path.write_bytes(b'a,b\n1,"unterminated\n')
    with pytest.raises(DataError, match=r"bad\.csv:2: malformed CSV"):
        list(iter_csv(path))


def test_whitespace_and_separated_rows(tmp_path):
    txt = tmp_path / "seq.txt"
    txt.write_text("1 1 2 3\n\n2  4\t5\n")
    assert list(iter_whitespace_rows(txt)) == [(1, ["1", "1", "2", "3"]), (3, ["2", "4", "5"])]
    dat = tmp_path / "movies.dat"
    dat.write_bytes("1::Misérables, Les (1995)::Drama\n".encode("latin-1"))
    assert list(iter_separated(dat, "::", "latin-1")) == [(1, ["1", "Misérables, Les (1995)", "Drama"])]
    with pytest.raises(DataError, match=r"movies\.dat:1: not valid utf-8"):
        list(iter_separated(dat, "::", "utf-8"))


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=re.escape(str(tmp_path / "nope.jsonl")) + r":\?: file not found"):
        list(iter_jsonl(tmp_path / "nope.jsonl"))


def test_read_raw_lines(tmp_path, write_jsonl):
    path = write_jsonl(tmp_path / "a.jsonl.gz", [{"a": 1}, {"a": 2}, {"a": 3}])
    assert read_raw_lines(path, {2, 3}) == {2: '{"a": 2}', 3: '{"a": 3}'}


def test_delimited_last_line_without_line_end_is_reported(tmp_path):
    # A file cut short loses its final newline; a number cut inside still parses, so this is the trace.
    cut = {"r.csv": (b"1,10,4.0,978300760\n1,20,3.5,97830", iter_csv, ()),
           "r.dat": (b"1::10::4::978300760\n1::20::3::97830", iter_separated, ("::",)),
           "seq.txt": (b"u1 1 2 3\nu2 4 5", iter_whitespace_rows, ())}
    for name, (data, reader, args) in cut.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(DataError, match=re.escape(name) + r":2: last line has no line ending: the file may be cut"):
            list(reader(path, *args))
        q = Quarantine("quarantine")
        assert [n for n, _ in reader(path, *args, quarantine=q)] == [1]
        assert q.quarantined == {"no_line_end": 1} and q.records()[0]["line"] == 2
        path.write_bytes(data + b"\r\n")  # complete (CRLF too): read as is
        assert [n for n, _ in reader(path, *args)] == [1, 2]
    # a JSON line cut short no longer parses, so JSON lines may end without a newline
    path = tmp_path / "last.jsonl"
    path.write_bytes(b'{"a": 1}\n{"a": 2}')
    assert [n for n, _ in iter_jsonl(path)] == [1, 2]
