"""benchmarks/hierarchy_toy.py: answers follow the depth fields and markers, examples are reproducible, and an
arm trains and is scored end to end."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.benchmark_scripts import load_script, script_path

pytest.importorskip("torch")


SCRIPT = script_path("hierarchy_toy")


def _script():
    return load_script("hierarchy_toy")


def _cell(script, marker) -> int:
    x, y = marker.geometry_px
    return int(y * script.GRID / script.SIZE) * script.GRID + int(x * script.GRID / script.SIZE)


def test_answers_follow_the_marked_cells_depths():
    script = _script()
    for index in range(300):
        answer, (red, green), depths = script.example("compare", index, seed=0)
        assert (red.colour, green.colour) == ("red", "green") and _cell(script, red) != _cell(script, green)
        a, b = depths.flat[_cell(script, red)], depths.flat[_cell(script, green)]
        assert abs(a - b) >= script.COMPARE_MARGIN_M
        assert answer == ("the red point" if a < b else "the green point")
        answer, (red,), depths = script.example("lookup", index, seed=0)
        assert answer == ("yes" if depths.flat[_cell(script, red)] < script.THRESHOLD_M else "no")
        answer, (point,), _ = script.example("colour", index, seed=0)
        assert answer == point.colour


def test_examples_are_reproducible_and_drawn_as_the_question_says():
    script = _script()
    one, two = script.example("compare", 7, seed=3), script.example("compare", 7, seed=3)
    assert one[0] == two[0] and one[1] == two[1] and np.array_equal(one[2], two[2])
    drawn = np.asarray(script.sample("compare", 7, seed=3).images[0])
    for marker in one[1]:
        x, y = (int(v) for v in marker.geometry_px)
        assert tuple(drawn[y, x]) != (128, 128, 128)  # the marker is on the grey image
    points = script.point_map(one[2])
    side = script.SIZE // script.GRID
    assert points.xyz[side // 2, side // 2, 2] == pytest.approx(one[2][0, 0])
    assert {script.example("lookup", i, seed=0)[0] for i in range(60)} == {"yes", "no"}
    assert {script.example("compare", i, seed=0)[0] for i in range(60)} == {
        "the red point",
        "the green point",
    }


def test_coordinate_references_name_the_same_points_and_draw_nothing():
    script = _script()
    answer, (red, green), _ = script.example("compare", 11, seed=0)
    named = script.sample("compare", 11, seed=0, reference="coordinates")
    (x1, y1), (x2, y2) = (tuple(round(v) for v in m.geometry_norm) for m in (red, green))
    assert f"the point at ({x1}, {y1}) or the point at ({x2}, {y2})" in named.prompt
    assert named.answer == {"the red point": "the first", "the green point": "the second"}[answer]
    assert np.all(np.asarray(named.images[0]) == 128)  # the plain grey image
    lookup = script.sample("lookup", 11, seed=0, reference="coordinates")
    assert lookup.prompt.startswith("Is the point at (") and lookup.answer in ("yes", "no")


def test_an_arm_trains_and_is_scored(tmp_path):
    out = tmp_path / "toy.json"
    command = [sys.executable, str(SCRIPT), "--arms", "with_lookup", "--steps", "4", "--every", "2"]
    done = subprocess.run([*command, "--held-out", "8", "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    (run,) = json.loads(out.read_text())["runs"]
    assert [row["step"] for row in run["curve"]] == [2, 4]
    # the record names the seed, the rate and the device it ran at
    assert (run["seed"], run["lr"], run["device"]) == (0, 3e-4, "cpu")
    assert all(0.0 <= row["compare"] <= 1.0 and 0.0 <= row["lookup"] <= 1.0 for row in run["curve"])
    bad = subprocess.run([*command[:2], "--arms", "nope", "--out", str(out)], capture_output=True, text=True)
    assert bad.returncode != 0 and "unknown ['nope']" in bad.stderr
    bad = subprocess.run(
        [*command[:2], "--decoders", "64by2", "--out", str(out)], capture_output=True, text=True
    )
    assert bad.returncode != 0 and "'64by2' is not a list of WIDTHxLAYERS" in bad.stderr


def test_a_staged_arm_trains_stage_two_from_stage_one(tmp_path):
    """SpatialLLM Table 2 on the toy: stage 1 on its own tasks, read; stage 2 on the shared tasks from stage
    1's saved model (the same shape), read at its own checkpoints."""
    out = tmp_path / "staged.json"
    command = [sys.executable, str(SCRIPT), "--arms", "stage_early,lookup_only", "--decoders", "32x1"]
    command += ["--stage1-steps", "3", "--steps", "4", "--every", "2", "--batch", "4", "--held-out", "8"]
    done = subprocess.run([*command, "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    staged, plain = json.loads(out.read_text())["runs"]
    script = _script()
    assert staged["stage1_tasks"] == list(script.STAGED["stage_early"][0]) == ["lookup", "colour"]
    assert staged["tasks"] == ["compare", "lookup"] and staged["stage1_steps"] == 3
    # stage 1 is read at every --every and at its end, on both scored tasks
    assert [row["step"] for row in staged["stage1_curve"]] == [2, 3]
    assert all(set(row) >= {"lookup", "compare"} for row in staged["stage1_curve"])
    assert [row["step"] for row in staged["curve"]] == [2, 4]
    assert staged["parameters"] == plain["parameters"]  # stage 2 kept stage 1's decoder size
    bad = subprocess.run([*command, "--stage1-steps", "0", "--out", str(out)], capture_output=True, text=True)
    assert bad.returncode != 0 and "--stage1-steps: 0 is not a positive number of steps" in bad.stderr
