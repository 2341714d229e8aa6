"""`spatialforge draw-markers` as a user runs it: exit codes, messages, files written."""

import dataclasses
import json
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from spatialforge.cli.main import app
from spatialforge.demo.box_scenes import random_box_scenes
from spatialforge.scene.io import write_scenes

runner = CliRunner()


def run(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def _scenes_and_qa(tmp_path: Path) -> tuple[Path, Path]:
    scenes = [
        dataclasses.replace(s, asset_root=str(tmp_path / "assets"))
        for s in random_box_scenes(3, seed=0, n_objects=20)
    ]
    scenes_path = tmp_path / "scenes.jsonl"
    write_scenes(scenes_path, scenes)
    for s in scenes[1:]:  # the first scene's image is missing
        path = tmp_path / "assets" / s.views[0].image_path
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (640, 480), (90, 90, 90)).save(path, format="PNG")
    result = run(
        "generate",
        "-s",
        scenes_path,
        "-o",
        tmp_path / "qa",
        "-t",
        "relative_size,closer_of_two",
        "--buckets",
        2,
    )
    assert result.exit_code == 0, result.output
    return scenes_path, tmp_path / "qa" / "data.jsonl"


def test_draw_markers_writes_copies_and_reports_skips(tmp_path):
    scenes_path, qa = _scenes_and_qa(tmp_path)
    out = tmp_path / "marked"
    result = run("draw-markers", "--qa", qa, "--scenes", scenes_path, "--output", out)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "draw_report.json").read_text())
    lines = [json.loads(line) for line in (out / "data_marked.jsonl").read_text().splitlines()]
    assert len(lines) == report["records"] > 0
    assert f"{report['records_marked']} of {report['records_with_markers']} records" in result.output
    # Scene 0 has no image: its marker records (11 with this seed) are listed by reason.
    assert report["skipped"]["image_missing"] > 0 and "image_missing" in result.output
    assert report["records_marked"] + sum(report["skipped"].values()) == report["records_with_markers"]
    again = run("draw-markers", "-q", qa, "-s", scenes_path, "-o", out)
    assert again.exit_code == 0 and f"0 drawn, {report['copies_drawn']} reused" in again.output


def test_draw_markers_bad_options_exit_2(tmp_path):
    scenes_path, qa = _scenes_and_qa(tmp_path)
    result = run("draw-markers", "-q", tmp_path / "nope.jsonl", "-s", scenes_path, "-o", tmp_path / "m")
    assert result.exit_code == 2 and "nope.jsonl" in result.output
    result = run("draw-markers", "-q", qa, "-s", scenes_path, "-o", tmp_path / "m", "--image-format", "gif")
    assert result.exit_code == 2 and "image format" in result.output
    qa.write_text(qa.read_text() + "not json\n")
    result = run("draw-markers", "-q", qa, "-s", scenes_path, "-o", tmp_path / "m")
    assert result.exit_code == 2 and "invalid_json" in result.output
    result = run("draw-markers", "-q", qa, "-s", scenes_path, "-o", tmp_path / "m", "--skip-invalid")
    assert result.exit_code == 0 and "invalid lines left out" in result.output
