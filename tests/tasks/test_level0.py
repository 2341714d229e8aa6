"""Level-0 tasks (point_xyz, point_depth_order, depth_oo) on scenes whose depth is known by hand.

Camera for the depth scenes: 640 x 480, fx = fy = 500 px, principal point (320, 240) = exactly half the image
size, so the 0-1000 grid mirrors onto itself: grid x -> 1000 - x is pixel u -> 640 - u = 2 cx - u. A grid
point (x, y) is the pixel (0.64 x, 0.48 y). Level camera at the world origin: world = (x_cam, z_cam, -y_cam).
Windows (level0.window_offsets): +-3 columns (round(5 * 640 / 1000)) and +-2 rows (round(5 * 480 / 1000)).
"""

from __future__ import annotations

import dataclasses
import math
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import spatialforge.scene.depth as depth_module
from spatialforge.bench.parsers import parse_number, parse_vector, parse_yes_no
from spatialforge.demo.box_scenes import random_box_scenes
from spatialforge.engine.generate import GenerateConfig, generate_scene
from spatialforge.geometry.boxes import OrientedBox3D, _intersection_volume, project_box_to_2d
from spatialforge.geometry.camera import PinholeCamera
from spatialforge.geometry.gravity import level_world_from_cam
from spatialforge.geometry.rotations import rot_x, rot_z
from spatialforge.geometry.transforms import RigidTransform
from spatialforge.qa.records import qa_from_dict, qa_to_dict
from spatialforge.scene.records import (
    FLOOR_HEIGHT_KEY,
    RAYCAST_DEPTH_KIND,
    AssetRef,
    Gravity,
    Object3D,
    ObjectObservation,
    Scene,
    View,
)
from spatialforge.tasks.banks import is_sentence_answer, load_bank, load_common
from spatialforge.tasks.context import ViewContext
from spatialforge.tasks.level0 import (
    BOXES_OVERLAP,
    DEPTH_EDGE,
    DEPTH_HOLE_NEAR_PIXEL,
    DISTANCE_ORDER_DIFFERS,
    NO_DEPTH_AT_PIXEL,
    POINTS_TOO_CLOSE,
    SIMILAR_DEPTH,
    WITHIN_MARGIN,
    boxes_overlap,
    point_depth_order_at,
    point_xyz_at,
    window_offsets,
)
from spatialforge.tasks.registry import TASKS
from spatialforge.tasks.render import COORDINATE_NOTE, Renderer
from spatialforge.tasks.spec import Category, Fact, Pixel, Quantity, Vector, pixel_from_norm
from tests.tasks.scenes import Obj, make_scene, mirrored, moved

W, H, F = 640, 480, 500.0
CAM = PinholeCamera(F, F, W / 2, H / 2, W, H)
FLOOR_M = -1.3
LEVEL_TASKS = ("point_xyz", "point_depth_order")
# The two point tasks at equal weights, so each gets a share of the per-scene cap on every scene.
EVEN = GenerateConfig(
    tasks=LEVEL_TASKS, task_weights=tuple((t, 1.0) for t in LEVEL_TASKS), max_qa_per_scene=20
)


def _view(depth: AssetRef | None, view_id: str = "v0") -> View:
    lv = level_world_from_cam(None)
    world_from_cam = RigidTransform(lv.rotation, lv.translation, "world", f"cam:{view_id}")
    return View(view_id, f"{view_id}.jpg", CAM, world_from_cam, depth=depth)


def _objects(specs: list[tuple[str, tuple, tuple, float]], view: View) -> tuple[Object3D, ...]:
    """(category, world centre, size (l, w, h), yaw deg) -> objects observed in view (projected 2D boxes)."""
    out = []
    for i, (category, center, size, yaw) in enumerate(specs):
        box = OrientedBox3D(np.array(center, float), rot_z(math.radians(yaw)), np.array(size, float))
        box2d = project_box_to_2d(box.transformed(view.cam_from_world()), CAM)
        assert box2d is not None
        obs = ObjectObservation(view.view_id, box2d, "projected", None, None, None, False)
        out.append(Object3D(str(i), f"t:{i}", category, box, False, observations=(obs,)))
    return tuple(out)


def raycast_scene(specs, floor: float | None = FLOOR_M, scene_id: str = "t/raycast") -> Scene:
    view = _view(AssetRef("", RAYCAST_DEPTH_KIND, frame="world"))
    metadata = {} if floor is None else {FLOOR_HEIGHT_KEY: floor}
    gravity = Gravity((0.0, 0.0, -1.0), "exact")
    objects = _objects(specs, view)
    return Scene(scene_id, scene_id, "t", "train", "CC0", ".", (view,), objects, gravity, metadata=metadata)


def npy_scene(root: Path, depth: np.ndarray, scale_to_m: float = 1.0, name: str = "v0") -> Scene:
    """One view whose depth is `depth` (H, W) saved as npy_f32 under root."""
    (root / "depth").mkdir(parents=True, exist_ok=True)
    np.save(root / "depth" / f"{name}.npy", depth.astype(np.float32))
    view = _view(AssetRef(f"depth/{name}.npy", "npy_f32", frame="cam:v0", scale_to_m=scale_to_m))
    gravity = Gravity((0.0, 0.0, -1.0), "exact")
    return Scene("t/npy", "t/npy", "t", "train", "CC0", str(root), (view,), (), gravity)


# A 4 m wide, 3 m tall wall whose front face is 5 m ahead (world y = 5), sunk 0.2 m into the floor.
WALL = ("wall", (0.0, 5.25, 0.0), (4.0, 0.5, 3.0), 0.0)


def ctx_of(scene: Scene) -> ViewContext:
    return ViewContext(scene, scene.views[0])


def grid(x: int, y: int) -> Pixel:
    return pixel_from_norm(x, y, W, H)


def planar_depth() -> np.ndarray:
    """z = 4 + 0.002 (row - 240) m: 4 m at the centre row, 3.52 m at the top, 4.478 m at the bottom."""
    rows = np.arange(H, dtype=float)[:, None]
    return np.broadcast_to(4.0 + 0.002 * (rows - 240.0), (H, W)).copy()


def _xyz(fact: Fact | str) -> tuple[float, float, float]:
    assert isinstance(fact, Fact), fact
    assert isinstance(fact.answer, Vector) and fact.answer.kind == "position_m"
    return fact.answer.components


# ---------------------------------------------------------------- point_xyz, hand computed


def test_point_xyz_on_a_fronto_parallel_wall(tmp_path: Path):
    ctx = ctx_of(npy_scene(tmp_path, np.full((H, W), 4.0)))
    # Grid (250, 500) = pixel (160, 240): x = (160 - 320) / 500 * 4 = -1.28, y = (240 - 240) / 500 * 4 = 0.
    fact = point_xyz_at(ctx, grid(250, 500))
    assert _xyz(fact) == pytest.approx((-1.28, 0.0, 4.0), abs=1e-9)
    assert fact.frame == "cam:v0" and fact.task == "point_xyz" and fact.variant == ""
    assert [(m.slot, m.obj, m.role) for m in fact.mentions] == [("a", grid(250, 500), "point_a")]
    # Grid (800, 125) = pixel (512, 60): x = 192 / 500 * 4 = 1.536, y = -180 / 500 * 4 = -1.44.
    assert _xyz(point_xyz_at(ctx, grid(800, 125))) == pytest.approx((1.536, -1.44, 4.0), abs=1e-9)


def test_point_xyz_on_a_sloped_depth_map_back_projects_the_exact_position(tmp_path: Path):
    ctx = ctx_of(npy_scene(tmp_path, planar_depth()))
    # Grid (500, 750) = pixel (320, 360): row 360, z = 4 + 0.002 * 120 = 4.24; x = 0; y = 120 / 500 * 4.24.
    assert _xyz(point_xyz_at(ctx, grid(500, 750))) == pytest.approx((0.0, 1.0176, 4.24), abs=1e-6)
    # Grid (333, 333) = pixel (213.12, 159.84), inside pixel (column 213, row 160): z = 4 - 0.002 * 80 = 3.84,
    # read there, but back-projected at the exact position: x = (213.12 - 320) / 500 * 3.84 = -0.8208384,
    # y = (159.84 - 240) / 500 * 3.84 = -0.6156288.
    fact = point_xyz_at(ctx, grid(333, 333))
    assert _xyz(fact) == pytest.approx((-0.8208384, -0.6156288, 3.84), abs=1e-6)
    assert "depth map value at pixel (column 213, row 160)" in fact.reasoning[1]


def test_point_xyz_by_ray_casting_the_scene():
    ctx = ctx_of(raycast_scene([WALL]))
    # Centre: straight down the optical axis onto the wall, (0, 0, 5).
    assert _xyz(point_xyz_at(ctx, grid(500, 500))) == pytest.approx((0.0, 0.0, 5.0), abs=1e-9)
    # Grid (300, 400) = pixel (192, 192): x = -128 / 500 * 5 = -1.28, y = -48 / 500 * 5 = -0.48 (0.48 m up).
    assert _xyz(point_xyz_at(ctx, grid(300, 400))) == pytest.approx((-1.28, -0.48, 5.0), abs=1e-9)
    # Grid (100, 700) = pixel (64, 336), left of the wall (u in [120, 520] at 5 m): the floor, 1.3 m below,
    # z = 500 * 1.3 / 96 = 6.7708333, x = -256 / 500 * z = -3.4666667, y = 1.3.
    z = 650 / 96
    assert _xyz(point_xyz_at(ctx, grid(100, 700))) == pytest.approx((-256 / 500 * z, 1.3, z), abs=1e-9)


def test_reasoning_trace_ends_with_the_answer():
    scenes = list(random_box_scenes(4, seed=7))
    n = Counter()
    for scene in scenes:
        ctx = ctx_of(scene)
        for name in ("point_xyz", "point_depth_order", "depth_oo"):
            for fact in TASKS[name].candidates(ctx, random.Random(name)):
                if isinstance(fact, str):
                    continue
                n[name] += 1
                numbers = [float(t) for t in re.findall(r"-?\d+\.\d+", fact.reasoning[-1])]
                if name == "point_xyz":
                    # "point a in cam:v0 = (x, y, z) m", 3 decimals, and the x / y lines' results match too.
                    assert numbers == pytest.approx([round(c, 3) for c in fact.answer.components], abs=1e-9)
                    assert float(re.findall(r"= (-?\d+\.\d+) m$", fact.reasoning[2])[0]) == numbers[0]
                    assert float(re.findall(r"= (-?\d+\.\d+) m$", fact.reasoning[3])[0]) == numbers[1]
                elif name == "point_depth_order":
                    assert fact.reasoning[-2].endswith(f"-> point {fact.answer.value} is closer")
                else:
                    assert numbers[0] == pytest.approx(round(fact.answer.si_value, 3), abs=1e-9)
    assert min(n.values()) > 20, n


# ---------------------------------------------------------------- rejections


def test_window_size_follows_the_grid():
    offsets = window_offsets(W, H)
    assert offsets[0].tolist() == [0.0, 0.0] and len(offsets) == 7 * 5  # +-3 columns, +-2 rows
    assert len(window_offsets(100, 60)) == 3 * 3  # at least one pixel each way
    assert len(window_offsets(1920, 1080)) == 21 * 11  # +-round(9.6) = 10, +-round(5.4) = 5


def test_depth_edges_holes_and_missing_depth_on_a_depth_map(tmp_path: Path):
    depth = np.full((H, W), 2.0)
    depth[:, 320:] = 2.0 * 1.06  # a step of 6 %: beyond the 5 % band
    depth[100:111, :] = np.nan  # a hole across rows 100-110
    depth[400:, :] = 0.0  # no data (zero): rows 400 and below
    ctx = ctx_of(npy_scene(tmp_path, depth))
    # Grid x 500 -> u 320: the window (columns 317-323) straddles the step. x 498 -> u 318.72 -> column 319,
    # window 316-322: still across it. x 490 -> u 313.6 -> column 314, window 311-317: all 2.0 m.
    assert point_xyz_at(ctx, grid(500, 500)) == DEPTH_EDGE
    assert point_xyz_at(ctx, grid(498, 500)) == DEPTH_EDGE
    assert isinstance(point_xyz_at(ctx, grid(490, 500)), Fact)
    # Grid y 219 -> v 105.12, row 105: in the hole. y 233 -> v 111.84, row 112, window rows 110-114: the
    # hole's last row is in it. y 240 -> v 115.2, row 115, window 113-117: clear.
    assert point_xyz_at(ctx, grid(100, 219)) == NO_DEPTH_AT_PIXEL
    assert point_xyz_at(ctx, grid(100, 233)) == DEPTH_HOLE_NEAR_PIXEL
    assert isinstance(point_xyz_at(ctx, grid(100, 240)), Fact)
    assert point_xyz_at(ctx, grid(100, 900)) == NO_DEPTH_AT_PIXEL  # zero depth is no data


def test_a_step_within_the_band_is_not_an_edge(tmp_path: Path):
    depth = np.full((H, W), 2.0)
    depth[:, 320:] = 2.0 * 1.04  # 4 %: inside the 5 % band
    ctx = ctx_of(npy_scene(tmp_path, depth))
    assert _xyz(point_xyz_at(ctx, grid(500, 500))) == pytest.approx((0.0, 0.0, 2.08))


def test_depth_edges_and_holes_by_ray_casting():
    ctx = ctx_of(raycast_scene([WALL]))
    # Left edge of the wall at u = 320 - 500 * 2 / 5 = 120 = grid x 187.5; at grid y 700 (v = 336) the
    # floor behind it is at 650 / 96 = 6.77 m against the wall's 5 m.
    assert point_xyz_at(ctx, grid(188, 700)) == DEPTH_EDGE
    # Top of the wall (world z 1.5) at v = 240 - 500 * 1.5 / 5 = 90 = grid y 187.5, sky above it:
    # grid y 190 -> v 91.2 is on the wall, but its window rows 89.2-93.2 reach above the top.
    assert point_xyz_at(ctx, grid(500, 190)) == DEPTH_HOLE_NEAR_PIXEL
    assert point_xyz_at(ctx, grid(500, 100)) == NO_DEPTH_AT_PIXEL  # sky
    assert isinstance(point_xyz_at(ctx, grid(500, 200)), Fact)  # v 96: window rows 94-98, all wall


# ---------------------------------------------------------------- point_depth_order


def test_point_depth_order_hand_computed(tmp_path: Path):
    ctx = ctx_of(npy_scene(tmp_path, planar_depth()))
    # a = grid (500, 208) = pixel (320, 99.84), row 100: z = 4 - 0.28 = 3.72; b = (500, 833) = pixel
    # (320, 399.84), row 400: z = 4.32. Difference 0.6 m > margin max(0.1, 0.432): a is closer; the
    # distances agree: |a| = 3.72 sqrt(1 + 0.28032^2) = 3.8634, |b| = 4.32 sqrt(1 + 0.31968^2) = 4.5354.
    fact = point_depth_order_at(ctx, grid(500, 208), grid(500, 833))
    assert isinstance(fact, Fact)
    assert fact.answer == Category("a", {"a": "{a}", "b": "{b}"})
    assert [(m.slot, m.role) for m in fact.mentions] == [("a", "point_a"), ("b", "point_b")]
    assert fact.frame == "cam:v0"
    assert "distances to the camera: a 3.863 m, b 4.535 m" in fact.reasoning[-1]
    swapped = point_depth_order_at(ctx, grid(500, 833), grid(500, 208))
    assert isinstance(swapped, Fact) and swapped.answer.value == "b"
    # a = (500, 500), row 240: z = 4.0; b = (500, 625), v = 300: z = 4.12: 0.12 m < margin 0.412.
    assert point_depth_order_at(ctx, grid(500, 500), grid(500, 625)) == WITHIN_MARGIN
    # 60 grid units apart on each axis: 84.9 < 100.
    assert point_depth_order_at(ctx, grid(500, 500), grid(560, 560)) == POINTS_TOO_CLOSE


def test_point_depth_order_refuses_when_distance_and_depth_disagree(tmp_path: Path):
    depth = np.full((H, W), 3.4)
    depth[:60, :80] = 3.0  # a nearer patch in the top-left corner
    ctx = ctx_of(npy_scene(tmp_path, depth))
    # a = grid (40, 40) = pixel (25.6, 19.2), z = 3.0; b = centre, z = 3.4: depth says a (0.4 > 0.34), but
    # |a| = 3.0 sqrt(1 + 0.5888^2 + 0.4416^2) = 3.0 * 1.24165 = 3.725 > |b| = 3.4.
    assert point_depth_order_at(ctx, grid(40, 40), grid(500, 500)) == DISTANCE_ORDER_DIFFERS
    # The patch's inner corner, grid (115, 115) = pixel (73.6, 55.2) (window columns 71-77, rows 53-57):
    # |a| = 3.0 sqrt(1 + 0.4928^2 + 0.3696^2) = 3.5235 > 3.4: still refused.
    assert point_depth_order_at(ctx, grid(115, 115), grid(500, 500)) == DISTANCE_ORDER_DIFFERS
    # Behind the patch at 3.8 m instead, both orders agree (|a| = 3.725 < 3.8): a is closer.
    depth[60:, :] = 3.8
    depth[:, 80:] = 3.8
    fact = point_depth_order_at(ctx_of(npy_scene(tmp_path, depth, name="v1")), grid(40, 40), grid(500, 500))
    assert isinstance(fact, Fact) and fact.answer.value == "a"


def test_point_depth_order_candidates_are_distinct_and_balanced():
    values = Counter()
    for scene in random_box_scenes(6, seed=2):
        seen = set()
        for item in TASKS["point_depth_order"].candidates(ctx_of(scene), random.Random(0)):
            if isinstance(item, Fact):
                key = frozenset(m.obj.norm for m in item.mentions)
                assert key not in seen  # never the same pair twice
                seen.add(key)
                values[item.answer.value] += 1
    assert values["a"] > 0.3 * sum(values.values()) and values["b"] > 0.3 * sum(values.values())


# ---------------------------------------------------------------- views without depth


def test_views_without_depth_are_skipped_and_counted_once():
    scene = make_scene([Obj("0", "chair", (0.0, 4.0, -0.5), (0.6, 0.5, 0.9))])
    result = generate_scene(scene, EVEN)
    assert result.records == []
    assert result.rejected == {"point_xyz/no_depth": 1, "point_depth_order/no_depth": 1}
    # Asked directly, the tasks name the reason once and stop.
    for name in LEVEL_TASKS:
        assert list(TASKS[name].candidates(ctx_of(scene), random.Random(0))) == ["no_depth"]


def test_only_the_views_with_depth_are_asked():
    with_depth = raycast_scene([WALL])
    scene = dataclasses.replace(with_depth, views=(_view(None, "v1"), with_depth.views[0]))
    result = generate_scene(scene, EVEN)
    assert result.rejected["point_xyz/no_depth"] == 1 and result.rejected["point_depth_order/no_depth"] == 1
    assert result.records and {r["images"][0]["view_id"] for r in result.records} == {"v0"}


def test_point_map_only_and_unreadable_depth_are_named(tmp_path: Path):
    no_depth = _view(None)
    point_map_view = dataclasses.replace(no_depth, point_map=AssetRef("pm/v0.npy", "npy_f32", "cam:v0"))
    scene = dataclasses.replace(raycast_scene([WALL]), views=(point_map_view,))
    result = generate_scene(scene, EVEN)
    assert result.records == []
    assert result.rejected == {
        "point_xyz/point_map_unsupported": 1,
        "point_depth_order/point_map_unsupported": 1,
    }
    missing_view = _view(AssetRef("depth/none.npy", "npy_f32", "cam:v0"))
    missing = dataclasses.replace(scene, views=(missing_view,), asset_root=str(tmp_path))
    result = generate_scene(missing, EVEN)
    assert result.rejected == {"point_xyz/depth_missing_file": 1, "point_depth_order/depth_missing_file": 1}


def test_depth_is_read_once_per_view_and_only_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    calls: list[str] = []
    real = depth_module.load_depth

    def counting_load_depth(scene: Scene, view: View) -> np.ndarray:
        calls.append(view.view_id)
        return real(scene, view)

    monkeypatch.setattr(depth_module, "load_depth", counting_load_depth)
    base = npy_scene(tmp_path, planar_depth())
    specs = [
        ("chair", (-1.0, 3.0, -0.85), (0.5, 0.5, 0.9), 0.0),
        ("table", (1.0, 5.0, -0.9), (1.2, 0.8, 0.8), 0.0),
    ]
    scene = dataclasses.replace(base, objects=_objects(specs, base.views[0]))
    ctx_of(scene)  # building a context reads nothing
    assert calls == []
    others = ("depth_oo", "object_depth", "object_location", "relative_direction", "closer_of_two")
    result = generate_scene(scene, GenerateConfig(tasks=others, max_qa_per_scene=60))
    assert result.records and calls == []  # tasks that do not need depth never open it
    result = generate_scene(scene, EVEN)
    assert calls == ["v0"]  # both point tasks, one read
    assert {r["task"] for r in result.records} == set(LEVEL_TASKS)


# ---------------------------------------------------------------- metamorphic


SCENE_SPECS = [
    WALL,
    ("box", (1.5, 3.0, -1.0), (0.8, 0.6, 0.6), 30.0),
    ("cabinet", (-1.2, 2.5, -0.5), (0.5, 1.0, 1.6), -20.0),
]
PROBES = [grid(x, y) for x in range(60, 1000, 110) for y in range(60, 1000, 110)]


def _scaled(scene: Scene, k: float) -> Scene:
    """Boxes and floor scaled by k about the camera (the world origin); the camera is unchanged."""
    objects = tuple(
        dataclasses.replace(o, box=OrientedBox3D(o.box.center * k, o.box.rotation, o.box.size * k))
        for o in scene.objects
    )
    return dataclasses.replace(scene, objects=objects, metadata={FLOOR_HEIGHT_KEY: FLOOR_M * k})


def _mirror_pixel(p: Pixel) -> Pixel:
    return grid(1000 - p.norm[0], p.norm[1])


@pytest.mark.parametrize("k", [2.0, 3.5])
def test_scaling_the_scene_scales_depth_and_points(k: float, tmp_path: Path):
    scene = raycast_scene(SCENE_SPECS)
    ctx, big = ctx_of(scene), ctx_of(_scaled(scene, k))
    raster = npy_scene(tmp_path, planar_depth())
    raster_big = npy_scene(tmp_path, planar_depth(), scale_to_m=k)  # the same file read as k times larger
    for small_ctx, big_ctx in ((ctx, big), (ctx_of(raster), ctx_of(raster_big))):
        n = 0
        for p in PROBES:
            a, b = point_xyz_at(small_ctx, p), point_xyz_at(big_ctx, p)
            if isinstance(a, str):
                assert a == b, p
                continue
            n += 1
            # rel 1e-6: load_depth hands raster depth back as float32 after applying scale_to_m.
            assert _xyz(b) == pytest.approx(tuple(k * c for c in _xyz(a)), rel=1e-6, abs=1e-12)
        assert n >= 20
    # Depth order: every depth here exceeds 1 m, so the margin is the relative 10 % in both scenes.
    orders = 0
    for p, q in zip(PROBES, PROBES[7:], strict=False):
        a, b = point_depth_order_at(ctx, p, q), point_depth_order_at(big, p, q)
        assert (a if isinstance(a, str) else a.answer) == (b if isinstance(b, str) else b.answer), (p, q)
        orders += isinstance(a, Fact)
    assert orders >= 10


def test_mirroring_the_scene_flips_x():
    scene = raycast_scene(SCENE_SPECS)
    ctx, mirror = ctx_of(scene), ctx_of(mirrored(scene))
    n = 0
    for p in PROBES:
        a, b = point_xyz_at(ctx, p), point_xyz_at(mirror, _mirror_pixel(p))
        if isinstance(a, str):
            assert a == b, p
            continue
        n += 1
        x, y, z = _xyz(a)
        assert _xyz(b) == pytest.approx((-x, y, z), abs=1e-9)
    assert n >= 20
    orders = 0
    for p, q in zip(PROBES, PROBES[5:], strict=False):
        a, b = (
            point_depth_order_at(ctx, p, q),
            point_depth_order_at(mirror, _mirror_pixel(p), _mirror_pixel(q)),
        )
        assert (a if isinstance(a, str) else a.answer) == (b if isinstance(b, str) else b.answer), (p, q)
        orders += isinstance(a, Fact)
    assert orders >= 10


def test_moving_the_world_frame_changes_nothing():
    """Every box, the camera pose, gravity and the floor moved by one rigid transform: the floor
    {p : up . p = h} becomes {p' : up' . p' = h + up' . t} with up' = R up."""
    scene = raycast_scene(SCENE_SPECS)
    new_from_world = RigidTransform(rot_z(0.7) @ rot_x(0.4), np.array([5.0, -3.0, 2.0]), "world", "world")
    up_new = new_from_world.rotation @ np.array([0.0, 0.0, 1.0])
    floor_new = FLOOR_M + float(up_new @ new_from_world.translation)
    other = dataclasses.replace(moved(scene, new_from_world), metadata={FLOOR_HEIGHT_KEY: floor_new})
    ctx, ctx_moved = ctx_of(scene), ctx_of(other)
    n = 0
    for p in PROBES:
        a, b = point_xyz_at(ctx, p), point_xyz_at(ctx_moved, p)
        if isinstance(a, str):
            assert a == b, p
            continue
        n += 1
        assert _xyz(b) == pytest.approx(_xyz(a), abs=1e-9)
    assert n >= 20
    for p, q in zip(PROBES, PROBES[7:], strict=False):
        a, b = point_depth_order_at(ctx, p, q), point_depth_order_at(ctx_moved, p, q)
        assert (a if isinstance(a, str) else a.answer) == (b if isinstance(b, str) else b.answer), (p, q)


# ---------------------------------------------------------------- depth_oo


def _depth_oo_facts(scene: Scene, seeds=range(12)) -> dict[tuple[str, str], Fact]:
    out = {}
    for seed in seeds:
        for f in TASKS["depth_oo"].candidates(ctx_of(scene), random.Random(seed)):
            if isinstance(f, Fact):
                out[tuple(m.obj.object_id for m in f.mentions)] = f
    return out


def test_depth_oo_hand_computed():
    # Chair centre at world (-1, 3, -0.5): cam (-1, 0.5, 3), depth 3. Table at (1.2, 6, -0.9): depth 6.
    scene = make_scene(
        [
            Obj("0", "chair", (-1.0, 3.0, -0.5), (0.6, 0.4, 0.9)),
            Obj("1", "table", (1.2, 6.0, -0.9), (0.5, 1.2, 0.7)),
        ]
    )
    facts = _depth_oo_facts(scene)
    assert set(facts) == {("0", "1"), ("1", "0")}
    fact = facts[("0", "1")]  # given the chair, the table
    assert fact.answer == Quantity("length", pytest.approx(6.0), "mra")
    assert [(m.slot, m.obj.object_id, m.role) for m in fact.mentions] == [
        ("a", "0", "anchor"),
        ("b", "1", "target"),
    ]
    assert fact.frame == "cam:v0" and fact.avoid_criteria == frozenset({"nearest", "farthest"})
    stated = parse_number(fact.slots["a_depth"], to_unit="m")
    assert stated.ok and stated.value == pytest.approx(3.0, abs=0.016)  # feet: 1 decimal = 1.5 cm
    assert facts[("1", "0")].answer.si_value == pytest.approx(3.0)
    assert parse_number(facts[("1", "0")].slots["a_depth"], to_unit="m").value == pytest.approx(
        6.0, abs=0.016
    )


def test_depth_oo_skips_what_spar_skips():
    # Depths 4.0 and 4.3: 0.3 m < margin max(0.1, 0.43) -> similar_depth.
    similar = make_scene(
        [
            Obj("0", "chair", (-1.0, 4.0, -0.5), (0.6, 0.4, 0.9)),
            Obj("1", "lamp", (1.5, 4.3, -0.5), (0.4, 0.4, 1.5)),
        ]
    )
    items = [i for s in range(4) for i in TASKS["depth_oo"].candidates(ctx_of(similar), random.Random(s))]
    assert set(items) == {SIMILAR_DEPTH}
    # A box pushed 0.3 m into a sofa: their 3D boxes overlap.
    overlap = make_scene(
        [
            Obj("0", "sofa", (0.0, 4.0, -0.8), (0.9, 2.0, 0.8)),
            Obj("1", "box", (0.0, 4.9, -0.8), (0.6, 0.6, 0.6)),
        ]
    )
    items = [i for s in range(4) for i in TASKS["depth_oo"].candidates(ctx_of(overlap), random.Random(s))]
    assert set(items) == {BOXES_OVERLAP}


def test_boxes_overlap_by_separating_axes():
    def box(center, size, yaw=0.0):
        return OrientedBox3D(np.array(center, float), rot_z(math.radians(yaw)), np.array(size, float))

    table = box((0, 0, 0.375), (1.4, 0.8, 0.75))
    assert not boxes_overlap(table, box((0, 0, 0.975), (0.2, 0.6, 0.45)))  # a monitor standing on it
    assert boxes_overlap(table, box((0, 0, 0.95), (0.2, 0.6, 0.45)))  # sunk 2.5 cm into it
    assert boxes_overlap(table, box((0.1, 0.1, 0.3), (0.2, 0.2, 0.2)))  # inside it
    assert not boxes_overlap(table, box((2.0, 0, 0.375), (1.0, 1.0, 1.0)))
    # Two unit squares turned 45 deg, centres 1.5 m apart along x: their axis-aligned bounds (half-width
    # 0.7071) overlap, but the diamonds are 1.5 - 2 * 0.7071 = 0.086 m apart along x.
    a, b = box((0, 0, 0), (1, 1, 1), 45.0), box((1.5, 0, 0), (1, 1, 1), 45.0)
    assert not boxes_overlap(a, b)
    assert boxes_overlap(a, box((1.3, 0, 0), (1, 1, 1), 45.0))
    assert boxes_overlap(box((0, 0, 0), (1, 1, 1)), box((0.9, 0, 0), (1, 1, 1), 10.0))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_boxes_overlap_agrees_with_the_exact_intersection_volume():
    """Random nearby boxes in every orientation (so edge-edge cross-product axes decide some cases): with no
    tolerance, the separating-axis test says "overlap" exactly when the intersection has volume."""
    rng = random.Random(3)
    decided = Counter()
    for _ in range(300):
        boxes = []
        for _ in range(2):
            rotation = rot_z(rng.uniform(-3, 3)) @ rot_x(rng.uniform(-3, 3)) @ rot_z(rng.uniform(-3, 3))
            center = np.array([rng.uniform(-0.8, 0.8) for _ in range(3)])
            boxes.append(OrientedBox3D(center, rotation, np.array([rng.uniform(0.2, 1.0) for _ in range(3)])))
        volume = _intersection_volume(*boxes)
        if 0 < volume < 1e-6:
            continue  # grazing contact: below what either test resolves
        decided[volume > 0] += 1
        assert boxes_overlap(*boxes, tolerance_m=0.0) == (volume > 0)
    assert decided[True] > 50 and decided[False] > 50, decided


# ---------------------------------------------------------------- rendering


COMMON = load_common()


def _rendered(
    name: str, scenes: list[Scene], limit: int = 10, formats: tuple[str, ...] | None = None
) -> list[tuple[ViewContext, Fact, str, list]]:
    spec = TASKS[name]
    bank = load_bank(spec.name, spec.formats, spec.variants)
    out = []
    for scene in scenes:
        ctx = ctx_of(scene)
        renderer = Renderer(ctx, COMMON)
        facts = [f for f in spec.candidates(ctx, random.Random(name)) if isinstance(f, Fact)][:limit]
        for i, fact in enumerate(facts):
            for fmt in formats or spec.own_formats:
                records = renderer.render(spec, bank, fact, fmt, random.Random(f"{i}:{fmt}"), 5)
                if isinstance(records, str):
                    assert records == "no_distinct_distractors", records
                    continue
                out.append((ctx, fact, fmt, records))
    return out


def _pixel_text(record: dict[str, Any], pixel: Pixel) -> str:
    """How the record names the pixel: by coordinates (with the grid note) or by its point marker."""
    for m in record["markers"]:
        if m["kind"] == "point" and tuple(m["geometry_norm"]) == pixel.norm:
            assert tuple(m["geometry_px"]) == pixel.px and m["image_index"] == 0
            return f"the {m['colour']} point"
    assert COORDINATE_NOTE in record["question"]
    return f"the point at ({pixel.norm[0]}, {pixel.norm[1]})"


def _check_record(record: dict[str, Any], fact: Fact, fmt: str, name: str) -> None:
    assert qa_to_dict(qa_from_dict(record)) == record
    assert (record["task"], record["level"], record["format"], record["frame"]) == (name, 0, fmt, fact.frame)
    assert record["reasoning"] == list(fact.reasoning)
    assert "{" not in record["question"] and "{" not in record["answer"]
    for m in fact.mentions:
        if isinstance(m.obj, Pixel):
            assert _pixel_text(record, m.obj).lower() in record["question"].lower()
    if isinstance(fact.mentions[0].obj, Pixel):
        assert record["objects"] == []
        kinds = {m["kind"] for m in record["markers"]}
        assert kinds <= {"point"}
        assert (COORDINATE_NOTE in record["question"]) == (len(record["markers"]) < len(fact.mentions))


def test_point_xyz_renders():
    rendered = _rendered("point_xyz", list(random_box_scenes(3, seed=5)))
    named = Counter()
    for _, fact, fmt, records in rendered:
        (r,) = records
        _check_record(r, fact, fmt, "point_xyz")
        parsed = parse_vector(r["answer"])
        assert parsed.ok and np.allclose(parsed.value, fact.answer.components, atol=0.005 + 1e-9), r["answer"]
        assert r["answer_value"] == [round(c, 4) for c in fact.answer.components] and r["unit"] == "m"
        assert r["tolerance"]["metric"] == "position_within"
        named["marker" if r["markers"] else "coordinates"] += 1
    assert len(rendered) == 30 and min(named.values()) >= 5, named


def test_point_depth_order_renders():
    bank = load_bank("point_depth_order", ("free", "mcq", "tf"), ("",))
    rendered = _rendered("point_depth_order", list(random_box_scenes(4, seed=5)))
    formats = Counter()
    for _, fact, fmt, records in rendered:
        formats[fmt] += 1
        for r in records:
            _check_record(r, fact, fmt, "point_depth_order")
        texts = {m.slot: _pixel_text(records[0], m.obj) for m in fact.mentions}
        truth = texts[fact.answer.value]
        if fmt == "free":
            assert records[0]["answer_value"] == truth and truth.lower() in records[0]["answer"].lower()
        elif fmt == "mcq":
            options = {c["label"]: c["text"] for c in records[0]["choices"]}
            assert sorted(options.values()) == sorted(texts.values())  # two options: the two points
            assert options[records[0]["answer_value"]] == truth
        else:
            assert sorted(r["answer_value"] for r in records) == [False, True]
            other = texts["b" if fact.answer.value == "a" else "a"]
            template = next(t for t in bank.questions["tf"] if f"/{t.id}@" in records[0]["template_id"])
            for r in records:
                assert parse_yes_no(r["answer"]).value is r["answer_value"]
                # Every template asserts "{value} is the closer one": the True item names the truth there.
                value, rest = (truth, other) if r["answer_value"] else (other, truth)
                statement = template.text.format(value=value, other=rest, a=texts["a"], b=texts["b"])
                assert statement.lower() in r["question"].lower(), (statement, r["question"])
    assert set(formats) == {"free", "mcq", "tf"} and min(formats.values()) >= 5, formats


def test_depth_oo_renders_the_given_depth():
    rendered = _rendered("depth_oo", list(random_box_scenes(3, seed=5)))
    formats = Counter()
    for _, fact, fmt, records in rendered:
        formats[fmt] += 1
        for r in records:
            _check_record(r, fact, fmt, "depth_oo")
            assert fact.slots["a_depth"] in r["question"]
            assert [o["role"] for o in r["objects"]] == ["anchor", "target"]
        if fmt == "free":
            shown = parse_number(records[0]["answer"], to_unit="m")
            assert shown.value == pytest.approx(fact.answer.si_value, abs=0.016)
        if fmt == "tf":
            # The asserted value is the statement's last number: the truth in the True item.
            (true,) = [r for r in records if r["answer_value"]]
            value = parse_number(true["question"], to_unit="m").value
            assert value == pytest.approx(fact.answer.si_value, abs=0.016), true["question"]
    assert set(formats) == {"free", "mcq", "tf"} and min(formats.values()) >= 5, formats


@pytest.mark.parametrize("name", ["point_xyz", "point_depth_order", "depth_oo"])
def test_point_tasks_render_spar_fill_and_sentence(name: str) -> None:
    bank = load_bank(name, TASKS[name].formats, ("",))
    rendered = _rendered(name, list(random_box_scenes(3, seed=5)), formats=("fill", "sentence"))
    formats = Counter()
    for _, fact, fmt, records in rendered:
        (r,) = records
        formats[fmt] += 1
        _check_record(r, fact, fmt, name)
        answer = fact.answer
        if fmt == "sentence":
            answer_id = r["template_id"].split("+")[1].split("@")[0]
            assert is_sentence_answer(next(t for t in bank.answers["free"] if t.id == answer_id))
            continue
        # fill: the bare value after an answer-only line.
        assert r["question"].count("\n") >= 1 and r["choices"] == []
        if name == "point_xyz":
            assert not r["answer"].startswith("(") and "meters" in r["question"].split("\n")[-1]
            parsed = parse_vector(r["answer"])
            assert parsed.ok and np.allclose(parsed.value, answer.components, atol=0.005 + 1e-9)
        elif name == "point_depth_order":
            texts = {m.slot: _pixel_text(r, m.obj) for m in fact.mentions}
            assert r["answer"].lower() == texts[answer.value].lower()
            last = r["question"].split("\n")[-1]
            assert all(t in last for t in texts.values()), last  # the two points are listed
        else:
            unit = r["tolerance"]["params"]["default_unit"]
            read = parse_number(r["answer"], to_unit="m", default_unit=unit)
            assert read.ok and read.value == pytest.approx(answer.si_value, abs=0.016), (r["answer"], unit)
    assert formats == {"fill": len(rendered) // 2, "sentence": len(rendered) // 2} and len(rendered) >= 10
