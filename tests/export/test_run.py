"""export/run.py: shards resume to identical files, configs are checked, bad images are counted, the
datasheet states what the run made."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from spatialforge.engine.generate import GenerateConfig, magnitude_bin, run_generate
from spatialforge.engine.runner import ConfigMismatchError
from spatialforge.export.base import ExportOptions
from spatialforge.export.datasheet import build_datasheet
from spatialforge.export.run import run_export, shard_marker
from tests.export.conftest import run_records

OPTIONS = ExportOptions(writers=("llava", "chat", "spar"), max_side=64)


def _tree(root: Path) -> dict[str, bytes]:
    skip = {"manifest.json", "datasheet.json", "datasheet.md"}  # they hold timings and the folder's path
    # Marked copies live in the export folder and are named by absolute path: compare with it set aside.
    return {
        p.relative_to(root).as_posix(): p.read_bytes().replace(str(root).encode(), b"<out>")
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name not in skip and "shards" not in p.parts
    }


def test_a_killed_export_resumes_to_the_same_files(small_run, tmp_path):
    full = tmp_path / "full"
    run_export(small_run, full, OPTIONS)
    resumed = tmp_path / "resumed"
    run_export(small_run, resumed, OPTIONS)
    # Kill after the fact: shard 2 lost its marker and its files (a crash mid-shard leaves only .partial).
    shard_marker(resumed, 2).unlink()
    for part in resumed.rglob("part-00002.jsonl"):
        part.rename(part.with_name(part.name + ".partial"))
    report = run_export(small_run, resumed, OPTIONS)
    assert report.shards_resumed == report.shards - 1
    assert _tree(full) == {k: v for k, v in _tree(resumed).items() if not k.endswith(".partial")}


def test_two_workers_write_the_same_files(small_run, tmp_path):
    run_export(small_run, tmp_path / "a", OPTIONS)
    from spatialforge.engine.backends import Backend

    run_export(small_run, tmp_path / "b", OPTIONS, backend=Backend("local", 2))
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")


def test_resume_with_other_options_is_refused(small_run, tmp_path):
    run_export(small_run, tmp_path / "out", OPTIONS)
    with pytest.raises(ConfigMismatchError, match="options"):
        run_export(small_run, tmp_path / "out", ExportOptions(writers=("llava",)))


def test_an_unfinished_generate_run_is_refused(small_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(small_run, run)
    (run / "buckets" / "bucket-00001.done.json").unlink()
    with pytest.raises(ValueError, match="not finished"):
        run_export(run, tmp_path / "out", OPTIONS)
    with pytest.raises(FileNotFoundError, match="config.json"):
        run_export(tmp_path, tmp_path / "out2", OPTIONS)


def test_a_scene_with_an_unreadable_image_is_left_out_and_counted(tmp_path, small_run):
    # A copy of one synthetic scene whose first image is then corrupted.
    scenes_src = small_run.parent / "scenes.jsonl"
    line = scenes_src.read_text().splitlines()[0]
    scene = json.loads(line)
    root = tmp_path / "assets"
    shutil.copytree(scene["asset_root"], root)
    scene["asset_root"] = str(root)
    (root / scene["views"][0]["image_path"]).write_bytes(b"not a png")
    scenes = tmp_path / "scenes.jsonl"
    scenes.write_text(json.dumps(scene) + "\n")
    run_generate(scenes, tmp_path / "run", GenerateConfig(seed=1, max_qa_per_scene=8), n_buckets=1)
    n_records = len(run_records(tmp_path / "run"))
    report = run_export(tmp_path / "run", tmp_path / "out", OPTIONS)
    assert report.skipped == {"scene_unreadable_image": n_records}
    assert report.records == 0 and report.writers["llava"]["samples"] == 0
    assert json.loads((tmp_path / "out" / "llava" / "llava.json").read_text()) == []


def test_image_root_makes_paths_relative_and_must_contain_the_export(small_run, tmp_path):
    scenes_root = Path(
        json.loads((small_run.parent / "scenes.jsonl").read_text().splitlines()[0])["asset_root"]
    )
    common = Path(*Path(scenes_root).parts[:2])  # e.g. /tmp: contains the assets and tmp_path
    with pytest.raises(ValueError, match="must contain the export directory"):
        run_export(
            small_run, tmp_path / "out", ExportOptions(writers=("llava",), image_root=str(scenes_root))
        )
    run_export(small_run, tmp_path / "rel", ExportOptions(writers=("llava",), image_root=str(common)))
    samples = json.loads((tmp_path / "rel" / "llava" / "llava.json").read_text())
    for s in samples:
        images = [s["image"]] if isinstance(s["image"], str) else s["image"]
        assert all(not Path(p).is_absolute() and (common / p).exists() for p in images)


def test_datasheet_counts_match_the_data(small_run):
    records = run_records(small_run)
    sheet = build_datasheet(small_run)
    assert sheet["dataset"]["records"] == len(records)
    for key in ("task", "level", "format"):
        assert sum(sheet["composition"][key].values()) == len(records)
        assert sheet["composition"][key] == {
            str(k): n for k, n in __import__("collections").Counter(str(r[key]) for r in records).items()
        }
    assert sheet["sources"] == dict(__import__("collections").Counter(r["source"] for r in records))
    assert sheet["licenses"] == {"CC0-1.0": len(records)}
    numeric = [
        r for r in records
        if r["format"] in ("free", "fill", "sentence")
        and isinstance(r["answer_value"], (int, float)) and not isinstance(r["answer_value"], bool)
    ]  # fmt: skip
    binned = sum(n for bins in sheet["answers"]["numeric_magnitude_bins"].values() for n in bins.values())
    assert binned == len(numeric)
    letters = sum(n for d in sheet["answers"]["mcq_letter"].values() for n in d.values())
    assert letters == sum(r["format"] == "mcq" for r in records)
    assert sheet["config"]["params"]["seed"] == 7
    md = (small_run / "datasheet.md").read_text()
    for heading in (
        "## Composition",
        "## Sources and licences",
        "## Answer distributions",
        "## Configuration",
    ):
        assert heading in md


@pytest.mark.parametrize(
    ("value", "bin_"),
    [
        (0, "0"),
        (1, "1"),
        (1.5, "1"),
        (1.8, "1.78"),
        (10, "10"),
        (1000, "1e+03"),
        (0.05, "0.0316"),
        (-3, "-1.78"),
    ],
)
def test_magnitude_bins(value, bin_):
    # k = floor(4 * log10(|v|)): 1.8 -> floor(1.02) = 1 -> 10^0.25 = 1.78; 0.05 -> floor(-5.2) = -6 ->
    # 10^-1.5 = 0.0316; exact powers of ten land on their own edge.
    assert magnitude_bin(value) == bin_
