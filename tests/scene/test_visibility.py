"""scene.visibility: depth-tested visibility on hand-built scenes with fractions and boxes computed here.

Setup for the hand-computed cases: world = the camera frame (world_from_cam = identity, OpenCV: x right,
y down, z forward); camera 100 x 100 px, fx = fy = 100, principal point (49.5, 49.5). A unit cube centred
at (0, 0, 4) shows the camera only its front face (z = 3.5, normal -z): for a side face, e.g. +x at
x = 0.5, n . (C - f) = (1, 0, 0) . (-0.5, 0, -4) < 0. The face is sampled on an 8 x 8 grid of cell centres,
x, y in {+-0.0625, +-0.1875, +-0.3125, +-0.4375}, all at z = 3.5, so a sample projects to
u = 100 x / 3.5 + 49.5: the outermost at 49.5 +- 12.5 = 37.0 and 62.0.
"""

from __future__ import annotations

import numpy as np
import pytest

from spatialforge.geometry.boxes import OrientedBox3D, project_box_to_2d
from spatialforge.geometry.camera import PinholeCamera
from spatialforge.geometry.raycast import depth_at_pixels, stack_boxes
from spatialforge.geometry.transforms import RigidTransform
from spatialforge.scene.records import View
from spatialforge.scene.visibility import (
    BOX2D_KIND,
    MIN_VISIBLE_FRACTION,
    SAMPLES_BOX,
    VisibilityTarget,
    box_face_samples,
    depth_camera_of,
    depth_tolerance_m,
    observe_view,
    resample_depth_to_camera,
    subsample_vertices,
)

CAM = PinholeCamera(100.0, 100.0, 49.5, 49.5, 100, 100)
POSE = RigidTransform.identity("world", "cam:v")
CUBE = OrientedBox3D(np.array([0.0, 0.0, 4.0]), np.eye(3), np.ones(3))
BACK_WALL = OrientedBox3D(np.array([0.0, 0.0, 8.05]), np.eye(3), np.array([20.0, 20.0, 0.1]))
GRID = np.array([-0.4375, -0.3125, -0.1875, -0.0625, 0.0625, 0.1875, 0.3125, 0.4375])


def rendered(
    boxes: list[OrientedBox3D], camera: PinholeCamera = CAM, pose: RigidTransform = POSE
) -> np.ndarray:
    v, u = np.mgrid[0 : camera.height, 0 : camera.width]
    uv = np.stack([u.ravel(), v.ravel()], axis=1).astype(float)
    return depth_at_pixels(camera, pose, uv, stack_boxes(boxes)).reshape(camera.height, camera.width)


def observe(targets, depth, depth_camera=CAM, camera=CAM, pose=POSE):  # noqa: ANN001, ANN201
    return observe_view("v", camera, pose, depth, depth_camera, targets)


def test_front_face_samples_are_the_grid() -> None:
    points, owner = box_face_samples([CUBE], np.zeros(3))
    assert points.shape == (64, 3) and set(owner.tolist()) == {0}
    np.testing.assert_allclose(points[:, 2], 3.5)
    assert sorted(set(np.round(points[:, 0], 6))) == GRID.tolist()


def test_a_fully_visible_box() -> None:
    result = observe([VisibilityTarget("cube", CUBE)], rendered([CUBE, BACK_WALL]))
    fact = result.facts[0]
    assert (fact.sampled, fact.in_front, fact.in_image, fact.visible) == (64, 64, 64, 64)
    assert fact.visible_fraction == 1.0 and fact.truncation == 0.0 and fact.rejection is None
    assert fact.sample_kind == SAMPLES_BOX and fact.median_depth_m == pytest.approx(3.5)
    obs = result.observations["cube"]
    np.testing.assert_allclose(obs.box2d.as_list(), [37.0, 37.0, 62.0, 62.0])
    assert fact.box_area_px == pytest.approx(625.0)
    assert obs.box2d_kind == BOX2D_KIND and obs.visibility == 1.0 and obs.truncation == 0.0
    assert obs.view_id == "v" and not obs.behind_camera and not result.tally


def test_a_box_hidden_behind_a_wall_in_the_depth_map() -> None:
    wall = OrientedBox3D(np.array([0.0, 0.0, 2.0]), np.eye(3), np.array([10.0, 10.0, 0.1]))
    result = observe([VisibilityTarget("cube", CUBE)], rendered([wall, CUBE, BACK_WALL]))
    assert result.facts[0].visible == 0 and result.facts[0].in_image == 64
    assert result.observations == {} and result.tally == {"low_visible_fraction": 1}


def test_a_wall_covering_the_left_half() -> None:
    # Depth 2.0 m in columns 0..49 (a wall), the box elsewhere. Columns of the sample grid: u = 100 x / 3.5
    # + 49.5 -> x = -0.0625 at u = 47.71 (column 48, covered), x = +0.0625 at u = 51.29 (column 51, free):
    # the 4 right columns of 8 are visible -> 32 / 64 = 0.5, box from u = 51.2857 to 62.0.
    depth = rendered([CUBE, BACK_WALL])
    depth[:, :50] = 2.0
    result = observe([VisibilityTarget("cube", CUBE)], depth)
    fact = result.facts[0]
    assert fact.visible == 32 and fact.visible_fraction == 0.5 and fact.truncation == 0.0
    np.testing.assert_allclose(
        result.observations["cube"].box2d.as_list(), [49.5 + 100 * 0.0625 / 3.5, 37.0, 62.0, 62.0]
    )


def test_a_box_half_outside_the_image() -> None:
    # Principal point on the right edge (cx = 99.5): u = 100 x / 3.5 + 99.5, so the x > 0 half of the grid
    # lands beyond u = 99.5 (out), the x < 0 half inside: in_image 32 of 64 in front -> truncation 0.5,
    # visible 32 -> 0.5; box from u = 99.5 - 12.5 = 87.0 to 99.5 - 100 * 0.0625 / 3.5 = 97.714.
    cam = PinholeCamera(100.0, 100.0, 99.5, 49.5, 100, 100)
    result = observe(
        [VisibilityTarget("cube", CUBE)], rendered([CUBE, BACK_WALL], cam), camera=cam, depth_camera=cam
    )
    fact = result.facts[0]
    assert (fact.in_front, fact.in_image, fact.visible) == (64, 32, 32)
    assert fact.truncation == 0.5 and fact.visible_fraction == 0.5
    np.testing.assert_allclose(
        result.observations["cube"].box2d.as_list(), [87.0, 37.0, 99.5 - 100 * 0.0625 / 3.5, 62.0]
    )
    assert result.observations["cube"].truncation == 0.5


def test_a_box_behind_the_camera() -> None:
    behind = OrientedBox3D(np.array([0.0, 0.0, -4.0]), np.eye(3), np.ones(3))
    result = observe([VisibilityTarget("b", behind)], rendered([BACK_WALL]))
    fact = result.facts[0]
    assert fact.sampled == 64 and fact.in_front == 0 and fact.truncation is None  # its +z face faces us
    assert fact.rejection == "behind_camera" and result.tally == {"behind_camera": 1}


def test_camera_inside_a_box_and_outside_the_frustum() -> None:
    around = OrientedBox3D(np.zeros(3), np.eye(3), np.full(3, 2.0))
    aside = OrientedBox3D(
        np.array([30.0, 0.0, 4.0]), np.eye(3), np.ones(3)
    )  # u = 100 * 29.5 / 4.5 + ... >> 100
    result = observe([VisibilityTarget("a", around), VisibilityTarget("s", aside)], rendered([BACK_WALL]))
    assert [f.rejection for f in result.facts] == ["camera_inside_box", "outside_image"]


def test_mesh_vertices_front_visible_back_self_occluded() -> None:
    # Vertices on the front (z = 3.5) and back (z = 4.5) faces, 8 x 8 each: the back ones lie behind the
    # box's own front surface (depth 3.5 < 4.5 - 0.135) -> 64 / 128 = 0.5 visible, above the 0.1 minimum.
    g = GRID
    xs, ys = np.meshgrid(g, g)
    front = np.stack([xs.ravel(), ys.ravel(), np.full(64, 3.5)], axis=1)
    back = front + [0.0, 0.0, 1.0]
    result = observe([VisibilityTarget("m", CUBE, np.vstack([front, back]))], rendered([CUBE, BACK_WALL]))
    fact = result.facts[0]
    assert fact.sample_kind == "mesh_vertices" and (fact.sampled, fact.visible) == (128, 64)
    assert fact.visible_fraction == 0.5 >= MIN_VISIBLE_FRACTION["mesh_vertices"]


def test_depth_tolerance_boundary() -> None:
    # Samples at z = 3.5: tolerance max(0.05, 0.03 * 3.5) = 0.105 m. Depth 3.5 - 0.104 lets them through,
    # 3.5 - 0.106 hides them.
    assert depth_tolerance_m(np.array([3.5, 1.0]))[0] == pytest.approx(0.105)
    assert depth_tolerance_m(np.array([1.0]))[0] == 0.05
    seen = observe([VisibilityTarget("c", CUBE)], np.full((100, 100), 3.5 - 0.104))
    hidden = observe([VisibilityTarget("c", CUBE)], np.full((100, 100), 3.5 - 0.106))
    assert seen.facts[0].visible == 64 and hidden.facts[0].visible == 0


def test_small_far_and_depthless_objects_are_rejected_by_name() -> None:
    tiny = OrientedBox3D(np.array([0.0, 0.0, 4.0]), np.eye(3), np.full(3, 0.04))  # ~1 px across
    far = OrientedBox3D(np.array([0.0, 0.0, 12.0]), np.eye(3), np.full(3, 3.0))  # median depth 10.5 m
    depth = rendered([tiny, far])
    result = observe([VisibilityTarget("tiny", tiny), VisibilityTarget("far", far)], depth)
    assert [f.rejection for f in result.facts] == ["small_box", "out_of_depth_range"]
    assert result.facts[1].median_depth_m == pytest.approx(10.5)
    nodata = observe([VisibilityTarget("c", CUBE)], np.full((100, 100), np.nan))
    assert nodata.facts[0].rejection == "no_depth_data" and nodata.tally == {"no_depth_data": 1}
    zeros = observe([VisibilityTarget("c", CUBE)], np.zeros((100, 100)))
    assert zeros.facts[0].rejection == "no_depth_data"  # 0 = no data, as in depth PNGs


def test_depth_through_its_own_camera() -> None:
    # A half-resolution depth raster with its own intrinsics gives the same answer as the full one.
    half = PinholeCamera(50.0, 50.0, 24.5, 24.5, 50, 50)
    full = observe([VisibilityTarget("cube", CUBE)], rendered([CUBE, BACK_WALL]))
    low = observe([VisibilityTarget("cube", CUBE)], rendered([CUBE, BACK_WALL], half), depth_camera=half)
    assert low.facts == full.facts
    with pytest.raises(ValueError, match="does not match"):
        observe([VisibilityTarget("cube", CUBE)], np.zeros((10, 10)), depth_camera=half)


def test_many_objects_at_once_equal_one_by_one() -> None:
    # A moved camera looking at three boxes, one partly behind another: one projection for all of them
    # gives the same facts as three separate calls.
    pose = RigidTransform(np.eye(3), np.array([0.3, -0.2, 0.0]), "world", "cam:v")
    boxes = [
        CUBE,
        OrientedBox3D(np.array([0.6, 0.1, 6.0]), np.eye(3), np.array([1.0, 2.0, 1.0])),
        OrientedBox3D(np.array([-1.2, 0.0, 5.0]), np.eye(3), np.array([0.5, 0.5, 0.5])),
    ]
    depth = rendered([*boxes, BACK_WALL], pose=pose)
    targets = [VisibilityTarget(str(i), b) for i, b in enumerate(boxes)]
    together = observe(targets, depth, pose=pose)
    alone = [observe([t], depth, pose=pose).facts[0] for t in targets]
    assert list(together.facts) == alone
    assert 0.0 < together.facts[1].visible_fraction < 1.0  # the second box is partly hidden by the cube


def test_visible_box_agrees_with_the_projection_of_an_unoccluded_box() -> None:
    # Independent check: for an unoccluded box seen obliquely, the bounds of the visible samples fall
    # inside the exact projection and cover most of it (grid cells are 1/8 of a face).
    pose = RigidTransform(np.eye(3), np.array([1.5, -0.8, 0.0]), "world", "cam:v")
    box = OrientedBox3D(np.array([0.0, 0.0, 4.0]), np.eye(3), np.array([1.0, 0.8, 1.2]))
    result = observe([VisibilityTarget("b", box)], rendered([box, BACK_WALL], pose=pose), pose=pose)
    got = result.observations["b"].box2d
    exact = project_box_to_2d(box.transformed(pose.inverse()), CAM)
    assert exact is not None
    assert (
        exact.x_min <= got.x_min
        and got.x_max <= exact.x_max
        and exact.y_min <= got.y_min
        and got.y_max <= exact.y_max
    )
    assert got.area >= 0.7 * exact.area


def test_subsample_vertices_is_even_and_deterministic() -> None:
    v = np.arange(3000, dtype=float).reshape(1000, 3)
    out = subsample_vertices(v, 10)
    assert len(out) == 10 and out[0].tolist() == v[0].tolist() and out[-1].tolist() == v[-1].tolist()
    np.testing.assert_array_equal(subsample_vertices(v[:5], 10), v[:5])


def test_resample_depth_to_camera_picks_the_containing_pixel() -> None:
    # Depth raster 4 x 3 (W x H) whose value encodes its pixel (10 * row + col); the image camera doubles
    # the size. Image pixel (u, v) looks along x = (u - 3.5) / 2; it meets the raster at col = x + 1.5 ->
    # floor(col + 0.5): u = 0 -> -1.75 + 1.5 = -0.25 -> col 0; u = 7 -> 1.75 + 1.5 = 3.25 -> col 3.
    depth_cam = PinholeCamera(1.0, 1.0, 1.5, 1.0, 4, 3)
    image_cam = PinholeCamera(2.0, 2.0, 3.5, 2.5, 8, 6)
    depth = 10.0 * np.arange(3)[:, None] + np.arange(4)[None, :] + 1.0
    out = resample_depth_to_camera(depth, depth_cam, image_cam)
    assert out.shape == (6, 8)
    assert out[0].tolist() == [1, 1, 2, 2, 3, 3, 4, 4]  # row 0 of the image: v = 0 -> y = -1.25 -> row 0
    assert out[:, 0].tolist() == [1, 1, 11, 11, 21, 21]
    # A raster that does not cover the image leaves NaN.
    narrow = PinholeCamera(1.0, 1.0, 0.0, 1.0, 2, 3)
    assert np.isnan(resample_depth_to_camera(depth[:, :2], narrow, image_cam)[:, -1]).all()


def test_depth_camera_of_a_view() -> None:
    meta = {"depth_camera": {"fx": 1.0, "fy": 2.0, "cx": 3.0, "cy": 4.0, "width": 5, "height": 6}}
    view = View("v", "i.png", CAM, POSE, metadata=meta)
    assert depth_camera_of(view) == PinholeCamera(1.0, 2.0, 3.0, 4.0, 5, 6)
    assert depth_camera_of(View("v", "i.png", CAM, POSE)) is None
