"""Room area of a scene: a synthetic 5 m x 4 m room stored as a point cloud (.npy) or a mesh (.ply), in
several frames and units, and every refusal."""

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from spatialforge.geometry.rotations import rot_x, rot_z
from spatialforge.scene.records import METRIC_SCALE_KEY, AssetRef, Gravity, Scene
from spatialforge.scene.room import (
    MIN_ROOM_AREA_M2,
    NO_GRAVITY,
    NO_METRIC_SCALE,
    NO_SCENE_GEOMETRY,
    ROOM_TOO_SMALL,
    UNSUPPORTED_GEOMETRY_KIND,
    RoomArea,
    floor_plane_axes,
    room_area,
)
from tests.scene.builders import tiny_scene

ROOM_W, ROOM_D = 5.0, 4.0  # m: floor [-2.5, 2.5] x [-1, 3] around the camera of tiny_scene (world z up)
FLOOR_Z, CEILING_Z = -1.3, 1.2  # m


def room_points(seed: int = 0, width: float = ROOM_W, depth: float = ROOM_D) -> np.ndarray:
    """(N, 3) world points of a scanned room: floor (400 points / m^2), the four walls (2 cm x 10 cm
    sampling), a table top and legs, and three stray points seen through a window."""
    rng = np.random.default_rng(seed)
    x0, y0 = -width / 2, -1.0
    n_floor = int(400 * width * depth)
    floor = np.column_stack([rng.uniform(x0, x0 + width, n_floor), rng.uniform(y0, y0 + depth, n_floor)])
    floor = np.column_stack([floor, np.full(n_floor, FLOOR_Z)])
    walls = []
    for z in np.arange(FLOOR_Z, CEILING_Z, 0.1):
        for x in np.arange(x0, x0 + width, 0.02):
            walls += [[x, y0, z], [x, y0 + depth, z]]
        for y in np.arange(y0, y0 + depth, 0.02):
            walls += [[x0, y, z], [x0 + width, y, z]]
    table_x = rng.uniform(x0 + 0.3 * width, x0 + 0.6 * width, 500)
    table_y = rng.uniform(y0 + 0.4 * depth, y0 + 0.6 * depth, 500)
    table = np.column_stack([table_x, table_y, np.full(500, -0.55)])
    strays = np.array([[x0 - 3.0, 0.0, 0.0], [0.0, y0 + depth + 4.0, 0.5], [x0 - 6.0, 2.0, -1.0]])
    return np.concatenate([floor, np.array(walls), table, strays])


def scene_with(tmp_path: Path, **changes) -> Scene:
    return replace(tiny_scene(tmp_path, write_image=False), **changes)


def save_npy(tmp_path: Path, name: str, array: np.ndarray) -> str:
    np.save(tmp_path / name, array)
    return name


def area_of(scene: Scene) -> RoomArea:
    result = room_area(scene)
    assert isinstance(result, RoomArea), result
    return result


def test_point_cloud_room_area(tmp_path):
    # 5 m x 4 m = 20 m^2 (measured 19.995); the stray points add nothing, the table and walls lie inside the
    # footprint. Asserted: 0.5 % (tests/geometry/test_concave_hull.py: the grid error is far below that).
    cloud = AssetRef(save_npy(tmp_path, "room.npy", room_points()), "npy_f32", frame="world")
    result = area_of(scene_with(tmp_path, point_cloud=cloud))
    assert result.area_m2 == pytest.approx(ROOM_W * ROOM_D, rel=0.005)
    assert result.geometry == "point_cloud"
    assert result.n_points == len(room_points())
    assert len(result.boundary_m) == 1
    np.testing.assert_allclose(result.plane_axes_world, [[1, 0, 0], [0, 1, 0]], atol=1e-12)


def test_gravity_along_another_axis_and_a_rotated_world(tmp_path):
    # The same room in a world rotated by R (points p' = R p, down' = R down): the same area, because the
    # projection follows gravity, not the world's z axis.
    rotation = rot_z(0.8) @ rot_x(1.1)
    points = room_points() @ rotation.T
    cloud = AssetRef(save_npy(tmp_path, "room.npy", points), "npy_f32", frame="world")
    base = area_of(
        scene_with(
            tmp_path,
            point_cloud=AssetRef(save_npy(tmp_path, "b.npy", room_points()), "npy_f32", frame="world"),
        )
    )
    down = tuple(float(c) for c in rotation @ np.array([0.0, 0.0, -1.0]))
    scene = scene_with(tmp_path, point_cloud=cloud, gravity=Gravity(down, "exact"))
    # The grid's phase and orientation in the floor plane differ: equal up to the grid error (0.5 %).
    assert area_of(scene).area_m2 == pytest.approx(base.area_m2, rel=0.005)


def test_millimetres_and_a_camera_frame(tmp_path):
    # Stored in millimetres (scale_to_m 0.001) in the camera frame of view v0 (tiny_scene's level camera:
    # world = (x_cam, z_cam, -y_cam), so cam = (x_w, -z_w, y_w)).
    world = room_points()
    cam = np.column_stack([world[:, 0], -world[:, 2], world[:, 1]]) * 1000.0
    cloud = AssetRef(save_npy(tmp_path, "room_mm.npy", cam), "npy_f32", frame="cam:v0", scale_to_m=0.001)
    reference = AssetRef(save_npy(tmp_path, "room.npy", world), "npy_f32", frame="world")
    # Equal up to float round-off (see test_a_frame_of_its_own_through_metadata).
    assert area_of(scene_with(tmp_path, point_cloud=cloud)).area_m2 == pytest.approx(
        area_of(scene_with(tmp_path, point_cloud=reference)).area_m2, rel=1e-4
    )


def test_a_frame_of_its_own_through_metadata(tmp_path):
    # ScanNet-style: the mesh is in the unaligned "scan" frame and metadata["world_from_scan"] (4 x 4,
    # row-major) aligns it: world = R scan + t with R a 30 deg turn about z, t = (1.5, -0.5, 0.2). The points
    # are stored as scan = R^T (world - t), so the area equals the world-frame reference.
    rotation, shift = rot_z(math.radians(30.0)), np.array([1.5, -0.5, 0.2])
    world_from_scan = np.eye(4)
    world_from_scan[:3, :3], world_from_scan[:3, 3] = rotation, shift
    world = room_points()
    scan = (world - shift) @ rotation  # rows: R^T (p - t)
    cloud = AssetRef(save_npy(tmp_path, "scan.npy", scan), "npy_f32", frame="scan")
    reference = AssetRef(save_npy(tmp_path, "room.npy", world), "npy_f32", frame="world")
    aligned = scene_with(tmp_path, point_cloud=cloud, metadata={"world_from_scan": world_from_scan.tolist()})
    # Equal up to float round-off: the walls lie on cell boundaries (x = -2.5 m), where a point moved by
    # 1e-16 m changes cell, so the grid points differ by a hair.
    assert area_of(aligned).area_m2 == pytest.approx(
        area_of(scene_with(tmp_path, point_cloud=reference)).area_m2, rel=1e-4
    )
    bad = {
        "wrong_type": [["a"] * 4] * 4,
        "wrong_shape": np.eye(3).tolist(),
        "non_finite": [[float("nan")] * 4] * 4,
        "non_orthonormal_rotation": np.diag([2.0, 1.0, 1.0, 1.0]).tolist(),
    }
    for reason, matrix in bad.items():
        assert room_area(replace(aligned, metadata={"world_from_scan": matrix})) == reason
    not_a_last_row = world_from_scan.copy()
    not_a_last_row[3, 0] = 1.0
    assert room_area(replace(aligned, metadata={"world_from_scan": not_a_last_row.tolist()})) == "wrong_shape"
    assert room_area(replace(aligned, metadata={})) == "unsupported_frame"


def test_extra_columns_and_nan_rows(tmp_path):
    # (N, 6) xyz + rgb: the first three columns are the position; rows with NaN are no data and dropped.
    points = room_points()
    with_colour = np.column_stack([points, np.ones((len(points), 3))])
    with_nan = np.concatenate([with_colour, np.full((10, 6), np.nan)])
    cloud = AssetRef(save_npy(tmp_path, "room6.npy", with_nan), "npy_f32", frame="world")
    reference = AssetRef(save_npy(tmp_path, "room.npy", points), "npy_f32", frame="world")
    got = area_of(scene_with(tmp_path, point_cloud=cloud))
    assert got.n_points == len(points)
    assert got.area_m2 == area_of(scene_with(tmp_path, point_cloud=reference)).area_m2


def write_ascii_ply(path: Path, vertices: np.ndarray) -> None:
    """A PLY mesh: the vertices and one triangle per consecutive vertex triple (faces are skipped)."""
    faces = [(i, i + 1, i + 2) for i in range(0, len(vertices) - 2, 3)]
    lines = [
        "ply",
        "format ascii 1.0",
        f"element vertex {len(vertices)}",
        "property float x",
        "property float y",
        "property float z",
        f"element face {len(faces)}",
        "property list uchar int vertex_indices",
        "end_header",
    ]
    lines += [f"{x:.6f} {y:.6f} {z:.6f}" for x, y, z in vertices]
    lines += [f"3 {a} {b} {c}" for a, b, c in faces]
    path.write_text("\n".join(lines) + "\n")


def test_mesh_route(tmp_path):
    points = room_points()
    write_ascii_ply(tmp_path / "room.ply", points)
    mesh = AssetRef("room.ply", "ply", frame="world")
    cloud = AssetRef(save_npy(tmp_path, "room.npy", points), "npy_f32", frame="world")
    result = area_of(scene_with(tmp_path, mesh=mesh, point_cloud=cloud))
    assert result.geometry == "mesh"  # SPAR's input, preferred over the point cloud
    assert result.n_points == len(points)
    assert result.area_m2 == pytest.approx(ROOM_W * ROOM_D, rel=0.005)


def test_unusable_meshes_give_the_ply_readers_reason(tmp_path):
    (tmp_path / "no_end.ply").write_text("ply\nformat ascii 1.0\nelement vertex 5\nproperty float x\n")
    write_ascii_ply(tmp_path / "cut.ply", room_points()[:30])
    (tmp_path / "cut.ply").write_text("\n".join((tmp_path / "cut.ply").read_text().splitlines()[:-20]))
    for name, reason in [
        ("no_end.ply", "bad_header"),
        ("cut.ply", "truncated_data"),
        ("gone.ply", "missing_file"),
    ]:
        assert room_area(scene_with(tmp_path, mesh=AssetRef(name, "ply", frame="world"))) == reason


def test_room_below_the_minimum_is_refused(tmp_path):
    # 1.5 m x 2 m = 3 m^2 < MIN_ROOM_AREA_M2 (4 m^2).
    assert 1.5 * 2.0 < MIN_ROOM_AREA_M2
    small = AssetRef(save_npy(tmp_path, "small.npy", room_points(width=1.5, depth=2.0)), "npy_f32", "world")
    assert room_area(scene_with(tmp_path, point_cloud=small)) == ROOM_TOO_SMALL
    assert isinstance(room_area(scene_with(tmp_path, point_cloud=small), min_area_m2=2.0), RoomArea)


def test_refusals(tmp_path):
    good = AssetRef(save_npy(tmp_path, "room.npy", room_points()), "npy_f32", frame="world")
    assert room_area(scene_with(tmp_path)) == NO_SCENE_GEOMETRY
    assert room_area(scene_with(tmp_path, point_cloud=good, gravity=None)) == NO_GRAVITY
    not_metric = scene_with(tmp_path, point_cloud=good, metadata={METRIC_SCALE_KEY: False})
    assert room_area(not_metric) == NO_METRIC_SCALE


@pytest.mark.parametrize(
    ("name", "content", "asset_changes", "reason"),
    [
        ("absent.npy", None, {}, "missing_file"),
        ("garbage.npy", b"not a numpy file at all", {}, "unreadable_file"),
        ("ints.npy", np.zeros((10, 3), dtype=np.int32), {}, "wrong_type"),
        ("flat.npy", np.zeros((10, 2)), {}, "wrong_shape"),
        ("vector.npy", np.zeros(30), {}, "wrong_shape"),
        ("room.npy", "points", {"kind": "las"}, UNSUPPORTED_GEOMETRY_KIND),
        ("room.npy", "points", {"frame": "cam:nowhere"}, "unsupported_frame"),
        ("room.npy", "points", {"frame": None}, "unsupported_frame"),
        ("room.npy", "points", {"path": "../outside.npy"}, "path_escapes_root"),
        (
            "line.npy",
            np.column_stack([np.linspace(0, 5, 50), np.zeros(50), np.zeros(50)]),
            {},
            "collinear_points",
        ),
    ],
)
def test_unusable_files_give_their_reason(tmp_path, name, content, asset_changes, reason):
    if isinstance(content, bytes):
        (tmp_path / name).write_bytes(content)
    elif isinstance(content, np.ndarray):
        np.save(tmp_path / name, content)
    elif content == "points":
        np.save(tmp_path / name, room_points())
    asset = replace(AssetRef(name, "npy_f32", frame="world"), **asset_changes)
    assert room_area(scene_with(tmp_path, point_cloud=asset)) == reason


def test_floor_plane_axes_are_orthonormal_and_right_handed():
    for up in ([0, 0, 1], [0, 0, -2], [1, 0, 0], [0.3, -0.2, 0.9]):
        axes = floor_plane_axes(np.array(up, float))
        u = np.array(up, float) / np.linalg.norm(up)
        np.testing.assert_allclose(axes @ axes.T, np.eye(2), atol=1e-12)
        np.testing.assert_allclose(axes @ u, [0, 0], atol=1e-12)
        assert np.linalg.det(np.stack([axes[0], axes[1], u])) == pytest.approx(1.0)
    assert math.isclose(floor_plane_axes(np.array([0.0, 0.0, 1.0]))[0][0], 1.0)
