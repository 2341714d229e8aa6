"""The leakage guard's exclusion lists: built-in rules, list files, image keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spatialforge.bench.builder.exclusions import (
    BUILTIN_EXCLUSIONS,
    ExclusionList,
    ExclusionMatcher,
    image_key,
    load_exclusion_list,
    resolve_exclusions,
)
from spatialforge.errors import RecordError
from tests.bench.builder.conftest import hand_scene


@pytest.mark.parametrize(
    ("path", "key"),
    [
        # The same KITTI photo as Omni3D's paths name it and as the KITTI adapter reads it.
        ("KITTI_object/training/image_2/000123.png", "training/image_2/000123.png"),
        ("training/image_2/000123.png", "training/image_2/000123.png"),
        ("/data/kitti/object/training/image_2/000123.png", "training/image_2/000123.png"),
        ("C:\\data\\KITTI\\Training\\Image_2\\000123.PNG", "training/image_2/000123.png"),
        ("./images/v0.png", "images/v0.png"),
        ("v0.png", "v0.png"),
        ("SUNRGBD/kv1/NYUdata/NYU0001/image/NYU0001.jpg", "nyu0001/image/nyu0001.jpg"),
    ],
)
def test_image_key_hand_checked(path: str, key: str) -> None:
    assert image_key(path) == key


@pytest.mark.parametrize(
    ("name", "source", "split", "excluded"),
    [
        ("spatialvqa", "omni3d", "test", True),
        ("spatialvqa", "omni3d", "val", True),
        ("spatialvqa", "omni3d", "train", False),
        ("spatialvqa", "kitti", "test", False),  # the rule is Omni3D's split, not any source's
        ("cvbench3d", "omni3d", "val", True),
        ("spatialrgpt_bench", "omni3d", "test", True),
        ("sparbench", "scannet", "val", True),
        ("sparbench", "scannetpp", "val", True),
        ("sparbench", "structured3d", "val", True),
        ("sparbench", "scannet", "train", False),
        ("sparbench", "arkitscenes", "val", False),
        ("vsibench", "arkitscenes", "validation", True),
        ("vsibench", "arkitscenes", "val", True),
        ("vsibench", "scannet", "val", True),
        ("vsibench", "scannet", None, False),
        ("vsibench", "structured3d", "val", False),
    ],
)
def test_builtin_rules_match_by_source_and_split(name: str, source: str, split: str | None, excluded: bool):
    scene = hand_scene("s", source=source, split=split)
    assert (BUILTIN_EXCLUSIONS[name].match(scene) == "source_split") is excluded


def test_builtin_lists_say_where_they_come_from() -> None:
    for lst in BUILTIN_EXCLUSIONS.values():
        assert lst.note and lst.rules and lst.origin == "builtin"


def test_match_precedence_and_every_kind() -> None:
    lst = ExclusionList(
        "l",
        capture_ids=frozenset({"cap"}),
        scene_ids=frozenset({"scene"}),
        image_keys=frozenset({"training/image_2/000123.png"}),
    )
    assert lst.match(hand_scene("scene", "cap")) == "capture"  # the capture wins: it is the whole unit
    assert lst.match(hand_scene("scene", "other")) == "scene"
    assert lst.match(hand_scene("x", image_path="kitti/Training/image_2/000123.png")) == "image"
    assert lst.match(hand_scene("x", image_path="kitti/training/image_3/000123.png")) is None
    assert lst.match(hand_scene("x")) is None


def test_text_list_every_entry_kind(tmp_path: Path) -> None:
    path = tmp_path / "mine.txt"
    path.write_text(
        "# a benchmark's own list\n"
        "capture: scannet/scene0011\n"
        "scene:scannet/scene0011_01   # a rescan\n"
        "\n"
        "image:KITTI_object/training/image_2/000123.png\n"
        "source:omni3d/test\n"
        "source:kitti\n"
    )
    lst = load_exclusion_list(path)
    assert lst.name == "mine" and lst.origin == str(path)
    assert lst.capture_ids == {"scannet/scene0011"}
    assert lst.scene_ids == {"scannet/scene0011_01"}
    assert lst.image_keys == {"training/image_2/000123.png"}
    assert lst.match(hand_scene("a", source="omni3d", split="test")) == "source_split"
    assert lst.match(hand_scene("a", source="omni3d", split="train")) is None
    assert lst.match(hand_scene("a", source="kitti", split="train")) == "source_split"  # no split: all
    assert lst.match(hand_scene("a", source="kitti", split=None)) == "source_split"


def test_json_list_and_a_benchmarks_captures_json(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text(
        json.dumps(
            {
                "name": "cv3d",
                "note": "exact",
                "rules": [{"source": "omni3d", "splits": ["test"]}],
                "capture_ids": ["c1"],
                "scene_ids": ["s1"],
                "images": ["Omni3D/KITTI_object/training/image_2/000007.png"],
            }
        )
    )
    lst = load_exclusion_list(path)
    assert (lst.name, lst.note) == ("cv3d", "exact")
    assert lst.capture_ids == {"c1"} and lst.scene_ids == {"s1"}
    assert lst.image_keys == {"training/image_2/000007.png"}
    assert lst.summary()["rules"] == [{"source": "omni3d", "splits": ["test"]}]
    captures = tmp_path / "captures.json"  # what `bench build` writes
    captures.write_text(json.dumps({"capture_ids": ["synth/cap0", "synth/cap1"]}, indent=2) + "\n")
    from_bench = load_exclusion_list(captures)
    assert from_bench.name == "captures" and from_bench.capture_ids == {"synth/cap0", "synth/cap1"}
    assert from_bench.match(hand_scene("x", "synth/cap1")) == "capture"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("capture:a\nnonsense\n", 2),
        ("# c\n\ncapture:\n", 3),  # a kind without a value
        ("capture:a\nscene:b\nfolder:c\n", 3),  # an unknown kind
    ],
)
def test_malformed_text_list_names_file_and_line(tmp_path: Path, text: str, line: int) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(RecordError) as err:
        load_exclusion_list(path)
    assert err.value.reason == "invalid_exclusion_list"
    assert err.value.file == str(path) and err.value.record == f"line {line}"


@pytest.mark.parametrize(
    "data",
    [
        {"capture_ids": "cap0"},  # a string, not a list
        {"images": [1, 2]},
        {"rules": [{"splits": ["test"]}]},  # a rule without a source
        {"rules": ["omni3d/test"]},
    ],
)
def test_malformed_json_list_is_refused_naming_the_file(tmp_path: Path, data: dict) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(RecordError) as err:
        load_exclusion_list(path)
    assert err.value.file == str(path) and err.value.reason == "invalid_exclusion_list"


def test_json_that_does_not_parse_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"capture_ids": ["a",\n  "b"\n')
    with pytest.raises(RecordError) as err:
        load_exclusion_list(path)
    assert err.value.file == str(path)


def test_json_that_does_not_parse_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"capture_ids": ["a",\n  "b"\n  "c"]}\n')
    with pytest.raises(RecordError) as err:
        load_exclusion_list(path)
    assert err.value.record == "line 3"


def test_json_list_with_an_unknown_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "typo.json"
    path.write_text(json.dumps({"capture_id": ["scannet/scene0011"]}))  # "capture_ids" misspelt
    with pytest.raises(RecordError, match="capture_id"):
        load_exclusion_list(path)


def test_unreadable_list_is_a_record_error(tmp_path: Path) -> None:
    with pytest.raises(RecordError) as err:
        load_exclusion_list(tmp_path / "missing.txt")
    assert err.value.reason == "unreadable_file"
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00capture")
    with pytest.raises(RecordError):
        load_exclusion_list(binary)


def test_resolve_names_files_and_all(tmp_path: Path) -> None:
    path = tmp_path / "mine.txt"
    path.write_text("capture:x\n")
    lists = resolve_exclusions(["sparbench"], [path])
    assert [lst.name for lst in lists] == ["sparbench", "mine"]
    assert [lst.name for lst in resolve_exclusions(["all"])] == list(BUILTIN_EXCLUSIONS)
    with pytest.raises(ValueError, match="spatialvqa2"):
        resolve_exclusions(["spatialvqa2"])


def test_matcher_counts_the_first_list_that_matches() -> None:
    a = ExclusionList("a", scene_ids=frozenset({"s1"}))
    b = ExclusionList("b", scene_ids=frozenset({"s1", "s2"}))
    matcher = ExclusionMatcher([a, b])
    assert matcher.excluded_by(hand_scene("s1")) == "a/scene"
    assert matcher.excluded_by(hand_scene("s2")) == "b/scene"
    assert matcher.excluded_by(hand_scene("s3")) is None
    assert matcher.counts == {"a/scene": 1, "b/scene": 1}
    assert [s["name"] for s in matcher.summaries()] == ["a", "b"]
