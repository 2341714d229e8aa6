"""export/groups.py: scene groups from a run bucket or a QA file; bad input is an error naming the file."""

from __future__ import annotations

import json

import pytest

from spatialforge.errors import RecordError
from spatialforge.export.groups import by_images, iter_qa_file, iter_run_bucket
from tests.export.conftest import run_records


def test_run_buckets_and_the_qa_file_give_the_same_groups(small_run):
    from_buckets = [g for b in range(4) for g in iter_run_bucket(small_run, b)]
    from_file = list(iter_qa_file(small_run / "data.jsonl", small_run.parent / "scenes.jsonl"))
    assert [(g.scene.scene_id, list(g.records)) for g in from_buckets] == [
        (g.scene.scene_id, list(g.records)) for g in from_file
    ]
    assert sum(len(g.records) for g in from_file) == len(run_records(small_run))
    for g in from_file:
        assert all(r["scene_id"] == g.scene.scene_id for r in g.records)
        groups = by_images(g.records)
        assert sum(len(v) for v in groups.values()) == len(g.records)


def test_a_scene_missing_from_the_scenes_file_is_named(small_run, tmp_path):
    scenes = (small_run.parent / "scenes.jsonl").read_text().splitlines()
    (tmp_path / "scenes.jsonl").write_text(scenes[1] + "\n")  # the first scene is gone
    first = json.loads(scenes[0])["scene_id"]
    with pytest.raises(RecordError, match="not in") as e:
        list(iter_qa_file(small_run / "data.jsonl", tmp_path / "scenes.jsonl"))
    assert e.value.reason == "scene_not_found" and e.value.record in (
        first,
        json.loads(scenes[1])["scene_id"],
    )


def test_records_of_a_scene_split_apart_are_refused(small_run, tmp_path):
    lines = (small_run / "data.jsonl").read_text().splitlines()
    first_scene = json.loads(lines[0])["scene_id"]
    other = next(i for i, line in enumerate(lines) if json.loads(line)["scene_id"] != first_scene)
    shuffled = [lines[0], lines[other], *lines[1:other], *lines[other + 1 :]]
    (tmp_path / "qa.jsonl").write_text("\n".join(shuffled) + "\n")
    with pytest.raises(RecordError, match="not contiguous"):
        list(iter_qa_file(tmp_path / "qa.jsonl", small_run.parent / "scenes.jsonl"))
