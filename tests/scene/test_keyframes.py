"""scene.keyframes: SPAR appendix 7.3 pose subsampling on hand-built trajectories, a measured keep rate on a
synthetic handheld scan, scene subsampling, and the `spatialforge keyframes` command."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from spatialforge.cli.main import app
from spatialforge.geometry.boxes2d import Box2D
from spatialforge.geometry.rotations import rot_y, rot_z
from spatialforge.geometry.transforms import RigidTransform
from spatialforge.scene.io import read_scenes, write_scenes
from spatialforge.scene.keyframes import (
    DEFAULT_ROTATION_DEG,
    DEFAULT_TRANSLATION_M,
    SCANNET_ROTATION_DEG,
    SCANNET_TRANSLATION_M,
    rotation_angle_deg,
    select_keyframes,
    subsample_scene,
)
from spatialforge.scene.records import ObjectObservation, View
from tests.scene.builders import tiny_scene


def pose(x: float = 0.0, y: float = 0.0, yaw_deg: float = 0.0, pitch_deg: float = 0.0) -> RigidTransform:
    """A camera at (x, y, 0) turned by yaw about z, then pitch about its own y axis."""
    r = rot_z(math.radians(yaw_deg)) @ rot_y(math.radians(pitch_deg))
    return RigidTransform(r, np.array([x, y, 0.0]), "world", "cam")


def test_pure_translation_steps() -> None:
    # Steps of 0.125 m (exact in binary), threshold 0.3 m, no rotation: a frame is kept once it is more than
    # 0.3 m from every kept frame: x = 0 (kept), 0.125, 0.25 (within), 0.375 (kept, idx 3), 0.5, 0.625
    # (within 0.25 of 0.375), 0.75 (kept, idx 6), 0.875, 1.0, 1.125 (kept, idx 9).
    poses = [pose(x=0.125 * i) for i in range(10)]
    assert select_keyframes(poses, 0.3, 5.0) == [0, 3, 6, 9]


def test_a_frame_exactly_at_the_threshold_is_within() -> None:
    # d = 0.25 exactly <= 0.25 and no rotation: redundant (SPAR: "if d <= tau_t, rotation filtering").
    poses = [pose(x=0.25 * i) for i in range(5)]  # 0, .25, .5, .75, 1.0
    assert select_keyframes(poses, 0.25, 5.0) == [0, 2, 4]


def test_pure_rotation_steps() -> None:
    # Yaw steps of 4 deg at one spot, threshold 10 deg: 0 (kept), 4, 8 (within), 12 (kept, idx 3), 16, 20,
    # 24 (kept, idx 6), 28, 32, 36 (kept, idx 9). Translation never separates them (same spot).
    poses = [pose(yaw_deg=4.0 * i) for i in range(10)]
    assert select_keyframes(poses, 0.15, 10.0) == [0, 3, 6, 9]


def test_rotation_about_any_axis_counts() -> None:
    # Pitch instead of yaw: same angles, same keyframes (the trace formula is axis-free).
    poses = [pose(pitch_deg=4.0 * i) for i in range(10)]
    assert select_keyframes(poses, 0.15, 10.0) == [0, 3, 6, 9]
    # trace(Rz(a) Ry(b)) = cos a cos b + cos a + cos b; a = 30, b = 40 deg: (0.66341 + 0.86603 + 0.76604 - 1)
    # / 2 = 0.64774 -> 49.628 deg.
    assert rotation_angle_deg(pose().rotation, pose(yaw_deg=30.0, pitch_deg=40.0).rotation) == pytest.approx(
        49.6284, abs=1e-4
    )


def test_a_frame_is_dropped_only_when_close_in_both() -> None:
    # 1: far in translation, same rotation -> kept. 2: same place as 1, turned 90 deg -> kept.
    # 3: 5 cm from 2 and 2 deg off it -> within both -> dropped. 4: back at 0's pose -> dropped (0 is kept).
    poses = [pose(), pose(x=1.0), pose(x=1.0, yaw_deg=90.0), pose(x=1.05, yaw_deg=92.0), pose()]
    assert select_keyframes(poses, 0.15, 10.0) == [0, 1, 2]


def test_combined_walk_and_turn() -> None:
    # Every frame moves 0.1 m and turns 6 deg; thresholds 0.25 m / 15 deg. Kept 0; 1 (0.1, 6) and 2 (0.2,
    # 12) are within both; 3 is 0.3 m away -> kept; 4, 5 within 0.2 m / 12 deg of 3; 6 kept; and so on.
    poses = [pose(x=0.1 * i, yaw_deg=6.0 * i) for i in range(10)]
    assert select_keyframes(poses, 0.25, 15.0) == [0, 3, 6, 9]
    # With a looser distance (0.45 m) the rotation decides: 18 deg > 15 at every third frame as well.
    assert select_keyframes(poses, 0.45, 15.0) == [0, 3, 6, 9]
    # With a tight angle (5 deg) every frame turns enough to be kept.
    assert select_keyframes(poses, 0.45, 5.0) == list(range(10))


def test_greedy_in_capture_order_not_order_independent() -> None:
    # x = 0, 0.2, 0.4, 0.6 with 0.3 m: forward keeps {0, 0.4}; backward keeps {0.6, 0.2}. Documented.
    xs = [0.0, 0.2, 0.4, 0.6]
    forward = select_keyframes([pose(x=x) for x in xs], 0.3, 10.0)
    backward = select_keyframes([pose(x=x) for x in reversed(xs)], 0.3, 10.0)
    assert [xs[i] for i in forward] == [0.0, 0.4]
    assert [list(reversed(xs))[i] for i in backward] == [0.6, 0.2]


def test_first_frame_always_kept_and_array_input() -> None:
    assert select_keyframes([], 0.1, 1.0) == []
    assert select_keyframes([pose(x=5.0)], 0.1, 1.0) == [0]
    poses = [pose(x=0.1 * i, yaw_deg=6.0 * i) for i in range(10)]
    stacked = np.stack([p.matrix() for p in poses])  # (N, 4, 4)
    assert select_keyframes(stacked, 0.25, 15.0) == select_keyframes(poses, 0.25, 15.0)
    # Zero thresholds keep every distinct pose and drop exact repeats only.
    assert select_keyframes([pose(), pose(), pose(x=1e-9)], 0.0, 0.0) == [0, 2]


@pytest.mark.parametrize(("t", "r"), [(-0.1, 10.0), (0.1, float("nan")), (float("inf"), 1.0)])
def test_bad_thresholds(t: float, r: float) -> None:
    with pytest.raises(ValueError, match="keyframe threshold"):
        select_keyframes([pose()], t, r)


def handheld_trajectory(seconds: float = 40.0, fps: float = 30.0) -> list[RigidTransform]:
    """A person scanning a room: walks 0.35 m/s along a meandering path (0.3 m side to side every 12.6 s),
    faces where they walk plus a +-25 deg head sweep every 5 s, and nods +-8 deg every 4 s."""
    out = []
    for i in range(int(seconds * fps)):
        t = i / fps
        x, y = 0.35 * t, 0.3 * math.sin(0.5 * t)
        heading = math.degrees(math.atan2(0.15 * math.cos(0.5 * t), 0.35))
        yaw = heading + 25.0 * math.sin(2 * math.pi * t / 5.0)
        pitch = 8.0 * math.sin(2 * math.pi * t / 4.0)
        out.append(pose(x, y, yaw, pitch))
    return out


def test_defaults_keep_about_ten_percent_of_a_30_fps_handheld_scan() -> None:
    poses = handheld_trajectory()
    kept = select_keyframes(poses, SCANNET_TRANSLATION_M, SCANNET_ROTATION_DEG)
    fraction = len(kept) / len(poses)
    # Measured: 108 of 1200 frames (9.0 %) with 0.15 m / 10 deg. SPAR reports ~90 % dropped.
    assert 0.06 <= fraction <= 0.14, fraction
    # Consecutive keyframes stay close (overlapping views): never more than ~2 thresholds apart.
    centres = np.array([poses[i].translation for i in kept])
    assert np.max(np.linalg.norm(np.diff(centres, axis=0), axis=1)) < 2 * SCANNET_TRANSLATION_M


def multi_view_scene(tmp_path: Path, xs: list[float]) -> tuple:
    base = tiny_scene(tmp_path)
    v0 = base.views[0]
    views = tuple(
        replace(
            v0,
            view_id=f"f{i}",
            world_from_cam=RigidTransform(
                v0.world_from_cam.rotation, np.array([x, 0.0, 0.0]), "world", f"cam:f{i}"
            ),
        )
        for i, x in enumerate(xs)
    )
    obs = tuple(ObjectObservation(v.view_id, Box2D(1, 1, 20, 20), "projected") for v in views)
    objects = tuple(replace(o, observations=obs) for o in base.objects)
    return replace(base, views=views, objects=objects)


def test_subsample_scene_drops_views_and_their_observations(tmp_path: Path) -> None:
    scene = multi_view_scene(tmp_path, [0.0, 0.05, 0.5, 0.52])
    out, report = subsample_scene(scene, 0.15, 10.0)
    assert [v.view_id for v in out.views] == ["f0", "f2"]
    assert all([ob.view_id for ob in o.observations] == ["f0", "f2"] for o in out.objects)
    assert len(out.objects) == len(scene.objects)
    assert report.frames_in == 4 and report.frames_kept == 2 and report.kept_view_ids == ("f0", "f2")
    assert report.as_dict() == {"frames_in": 4, "frames_kept": 2, "translation_m": 0.15, "rotation_deg": 10.0}
    assert isinstance(out.views[0], View) and report.kept_fraction == 0.5


def test_keyframes_command(tmp_path: Path) -> None:
    multi = multi_view_scene(tmp_path, [0.0, 0.05, 0.5, 0.52, 1.0])
    single = replace(tiny_scene(tmp_path), scene_id="toy/train/0002")
    src = tmp_path / "scenes.jsonl"
    write_scenes(src, [multi, single])
    out = tmp_path / "kf.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "keyframes",
            "--input",
            str(src),
            "--output",
            str(out),
            "--translation-m",
            "0.2",
            "--rotation-deg",
            "5",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "kept 3 of 5 frames (60.0 %)" in result.output
    scenes = list(read_scenes(out))
    assert [len(s.views) for s in scenes] == [3, 1]
    report = json.loads(Path(str(out) + ".report.json").read_text())
    assert report["frames_in"] == 5 and report["frames_kept"] == 3 and report["single_view_scenes"] == 1
    assert report["scenes"][0]["kept_view_ids"] == ["f0", "f2", "f4"]
    # Defaults when no threshold is given; a negative threshold is refused.
    again = CliRunner().invoke(app, ["keyframes", "-i", str(src), "-o", str(tmp_path / "d.jsonl")])
    assert (
        again.exit_code == 0
        and f"translation {DEFAULT_TRANSLATION_M} m, rotation {DEFAULT_ROTATION_DEG}" in again.output
    )
    bad = CliRunner().invoke(
        app, ["keyframes", "-i", str(src), "-o", str(tmp_path / "b.jsonl"), "--translation-m", "-1"]
    )
    assert bad.exit_code != 0 and "translation_m" in bad.output
