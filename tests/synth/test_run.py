"""`spatialforge synth` (synth.run): sharded like the engine, same output for any workers, resumable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spatialforge.engine.runner import ConfigMismatchError, bucket_path, split_path
from spatialforge.scene.io import read_scenes
from spatialforge.scene.validate import scene_problems
from spatialforge.synth.run import SCENES_NAME, run_synth
from spatialforge.synth.world import SynthConfig

CONFIG = SynthConfig(setting="tabletop", views=2, width=96, height=72)


def _files(root: Path) -> dict[str, bytes]:
    """Every rendered file and the scene records (asset_root, the absolute output folder, set aside)."""
    rendered = [p for d in ("images", "depth", "masks") for p in (root / d).rglob("*") if p.is_file()]
    out = {str(p.relative_to(root)): p.read_bytes() for p in rendered}
    lines = []
    for line in (root / SCENES_NAME).read_text().splitlines():
        record = json.loads(line)
        assert record.pop("asset_root") == str(root.resolve())
        lines.append(json.dumps(record, sort_keys=True))
    out[SCENES_NAME] = "\n".join(lines).encode()
    return out


def test_one_or_two_workers_make_the_same_scenes_and_files(tmp_path):
    a = run_synth(tmp_path / "a", 6, CONFIG, workers=1, n_buckets=3)
    b = run_synth(tmp_path / "b", 6, CONFIG, workers=2, n_buckets=3)
    assert a.scenes == b.scenes == 6 and a.records == 6
    files_a, files_b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert files_a == files_b
    assert (
        sum(name.endswith(".png") and name.startswith("images") for name in files_a) == 12
    )  # 6 scenes x 2 views
    scenes = list(read_scenes(tmp_path / "a" / SCENES_NAME))
    assert sorted(s.scene_id for s in scenes) == [f"synth_tabletop/{i:06d}" for i in range(6)]
    for scene in scenes:  # with the files on disk, every check passes (image sizes, paths inside the root)
        assert scene_problems(scene, check_files=True) == []
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    assert report["tallies"]["views"] == {"rendered": 12}
    assert sum(report["tallies"]["objects_per_category"].values()) == sum(len(s.objects) for s in scenes)


def test_a_killed_run_resumes_to_the_same_output(tmp_path):
    out = tmp_path / "run"
    run_synth(out, 5, CONFIG, n_buckets=3)
    before = _files(out)
    # A kill mid-bucket: a bucket lost its marker and data file, and one of its images is half written.
    b = next(b for b in range(3) if split_path(out, b).read_text().strip())
    bucket = bucket_path(out, b)
    marker = bucket.with_name(bucket.name.replace(".jsonl", ".done.json"))
    first_scene = json.loads(split_path(out, b).read_text().splitlines()[0])["scene_id"]
    setting, index = first_scene.removeprefix("synth_").split("/")
    victim = out / "images" / f"{setting}_{index}" / "v0.png"
    assert marker.exists() and victim.exists()
    marker.unlink()
    bucket.unlink()
    victim.write_bytes(victim.read_bytes()[:100])
    report = run_synth(out, 5, CONFIG, n_buckets=3)
    assert report.buckets_resumed == 2 and report.scenes == 5
    assert _files(out) == before


def test_a_resume_with_other_arguments_is_refused(tmp_path):
    run_synth(tmp_path / "run", 2, CONFIG, n_buckets=2)
    with pytest.raises(ConfigMismatchError):
        run_synth(tmp_path / "run", 2, SynthConfig(setting="street", width=96, height=72), n_buckets=2)


def test_bad_arguments_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="count"):
        run_synth(tmp_path / "x", 0, CONFIG)
    with pytest.raises(ValueError, match="setting"):
        SynthConfig(setting="moon")
    with pytest.raises(ValueError, match="views"):
        SynthConfig(views=0)


def test_the_demo_path_never_imports_torch():
    """The first README command must stay light: synthesis, rendering, QA generation and the gallery."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import spatialforge.demo.run, spatialforge.synth.run, spatialforge.synth.gl\n"
        "import spatialforge.engine.generate, spatialforge.inspect.gallery, spatialforge.cli.main\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_plan_line_without_an_index_is_a_counted_skip(tmp_path):
    from spatialforge.synth.run import SynthJob, synth_item

    job = SynthJob(CONFIG, str(tmp_path))
    for bad in (
        {"scene_id": "synth_tabletop/000001"},
        {"scene_id": "x", "index": -3},
        {"scene_id": "x", "index": "7"},
    ):
        result = synth_item(bad, job)
        assert result.records == () and dict(result.rejected) == {"plan_line_without_index": 1}
    assert not any(tmp_path.iterdir())  # nothing written for a bad line
