"""predictions.jsonl of an evaluation run: torn tails cut and counted, edited files refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spatialforge.errors import RecordError
from spatialforge.evaluate.store import PredictionStore


def line(item_id: str, prediction: str = "A") -> bytes:
    return (json.dumps({"id": item_id, "prediction": prediction}) + "\n").encode()


def test_missing_file_is_an_empty_run(tmp_path: Path) -> None:
    store = PredictionStore(tmp_path / "predictions.jsonl")
    assert store.load() == {} and store.torn_lines == 0


def test_append_then_load(tmp_path: Path) -> None:
    path = tmp_path / "predictions.jsonl"
    store = PredictionStore(path)
    store.append({"id": "a", "prediction": "B"})
    store.append({"id": "b", "prediction": "yes"})
    store.close()
    assert PredictionStore(path).load() == {
        "a": {"id": "a", "prediction": "B"},
        "b": {"id": "b", "prediction": "yes"},
    }


@pytest.mark.parametrize("tail", [b'{"id": "c", "predic', b'{"id": "c", "prediction": "A"}'])
def test_a_torn_last_line_is_cut_and_counted(tmp_path: Path, tail: bytes) -> None:
    """A kill mid-write leaves half a line, or a whole record without its newline: both are cut."""
    path = tmp_path / "predictions.jsonl"
    good = line("a") + line("b")
    path.write_bytes(good + tail)
    store = PredictionStore(path)
    assert set(store.load()) == {"a", "b"}
    assert store.torn_lines == 1
    assert path.read_bytes() == good  # appending now starts on a fresh line
    store.append({"id": "c", "prediction": "B"})
    store.close()
    again = PredictionStore(path)
    assert again.load()["c"]["prediction"] == "B" and again.torn_lines == 0


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b"{not json\n", "invalid_json"),
        (b'["a"]\n', "missing_field"),
        (b'{"prediction": "A"}\n', "missing_field"),
        (b'{"id": 7, "prediction": "A"}\n', "missing_field"),
    ],
)
def test_a_complete_but_invalid_line_is_refused(tmp_path: Path, bad: bytes, reason: str) -> None:
    path = tmp_path / "predictions.jsonl"
    content = line("a") + bad + line("b")
    path.write_bytes(content)
    with pytest.raises(RecordError) as err:
        PredictionStore(path).load()
    assert err.value.reason == reason and err.value.record == "line 2" and err.value.file == str(path)
    assert path.read_bytes() == content  # nothing cut from a file edited by hand


def test_an_invalid_line_that_is_not_last_is_never_taken_for_a_torn_one(tmp_path: Path) -> None:
    path = tmp_path / "predictions.jsonl"
    path.write_bytes(line("a") + b'{"id": "b", "pre\n' + line("c"))
    with pytest.raises(RecordError):
        PredictionStore(path).load()


def test_a_duplicate_id_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "predictions.jsonl"
    path.write_bytes(line("a") + line("b") + line("a", "B"))
    with pytest.raises(RecordError) as err:
        PredictionStore(path).load()
    assert err.value.reason == "duplicate_id" and err.value.record == "line 3"
