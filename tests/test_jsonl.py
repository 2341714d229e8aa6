"""spatialforge.jsonl: writing in chunks, and decoding what orjson refuses."""

from __future__ import annotations

import json
import math

import pytest

from spatialforge.jsonl import WRITE_CHUNK, JsonlWriter, decode_line, iter_jsonl


def _records(n: int):
    for i in range(n):
        yield {"i": i, "text": f"line {i} \u00e9"}


@pytest.mark.parametrize("n", [0, 1, WRITE_CHUNK, WRITE_CHUNK + 1, 3 * WRITE_CHUNK - 7])
def test_write_all_equals_one_write_per_record(tmp_path, n: int) -> None:
    with JsonlWriter(tmp_path / "a.jsonl", lambda r: r) as a:
        a.write_all(_records(n))  # a generator: consumed chunk by chunk
    with JsonlWriter(tmp_path / "b.jsonl", lambda r: r) as b:
        for record in _records(n):
            b.write(record)
    assert a.count == b.count == n
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()


def test_decode_line_reads_what_orjson_refuses_and_names_bad_lines(tmp_path) -> None:
    assert math.isnan(decode_line('{"x": NaN}')["x"])  # the stdlib reads NaN literals
    assert isinstance(decode_line('{"n": 123456789012345678901234567890}')["n"], float)  # not an int
    with pytest.raises(json.JSONDecodeError):
        decode_line('{"x": ')
    path = tmp_path / "s.jsonl"
    path.write_text('{"a": 1}\n{"a": \n')
    got = list(iter_jsonl(path, lambda data, where: data))
    assert got[0] == {"a": 1}
    assert got[1].reason == "truncated_line" and "line 2" in str(got[1])
