"""The numpy rasteriser: hand-computed boxes, analytic depth from ray casting, clipping, watertightness,
a metamorphic rigid-motion test and input checks.

Most scenes use world = camera frame (cam_from_world = identity, +z forward, +y down) so the projected
rectangles can be worked out by hand: u = fx x / z + cx, v = fy y / z + cy.
"""

from __future__ import annotations

import numpy as np
import pytest

from spatialforge.geometry.boxes import OrientedBox3D
from spatialforge.geometry.camera import PinholeCamera
from spatialforge.geometry.raycast import (
    Plane,
    camera_ray_directions,
    cast_rays,
    ray_plane_hits,
    stack_boxes,
)
from spatialforge.geometry.rotations import rot_x, rot_y, rot_z
from spatialforge.geometry.transforms import RigidTransform
from spatialforge.synth import raster
from spatialforge.synth.raster import (
    RenderMesh,
    box_mesh,
    clip_triangles_near,
    render_view,
    srgb_encode,
)

IDENTITY = RigidTransform.identity("cam", "world")
GREY = (0.6, 0.6, 0.6)


def camera(cx: float = 31.3, cy: float = 23.4, width: int = 64, height: int = 48, f: float = 128.0):
    return PinholeCamera(f, f, cx, cy, width, height)


def quad(corners, colour=GREY, instance_id: int = 1) -> RenderMesh:
    """Two triangles (0, 1, 2) and (0, 2, 3) over four corners (4, 3) m."""
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    return RenderMesh(np.asarray(corners, float), faces, np.tile(colour, (2, 1)), instance_id)


def look_at(centre, target) -> RigidTransform:
    """cam_from_world for a camera at centre (world, z up) looking at target, image +y pointing down."""
    forward = np.asarray(target, float) - np.asarray(centre, float)
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    world_from_cam = RigidTransform(np.stack([right, down, forward], axis=1), np.asarray(centre, float),
                                    "world", "cam")  # fmt: skip
    return world_from_cam.inverse()


def pixel_grid(cam: PinholeCamera) -> np.ndarray:
    """(H*W, 2) pixel centres (u, v), row-major like a flattened image."""
    v, u = np.mgrid[0 : cam.height, 0 : cam.width]
    return np.stack([u.ravel(), v.ravel()], axis=1).astype(float)


def rectangle_mask(cam: PinholeCamera, cols: tuple[int, int], rows: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: True on columns cols[0]..cols[1] and rows rows[0]..rows[1] (inclusive)."""
    mask = np.zeros((cam.height, cam.width), dtype=bool)
    mask[rows[0] : rows[1] + 1, cols[0] : cols[1] + 1] = True
    return mask


# ------------------------------------------------------------------------------------------- hand values


def test_a_box_seen_head_on_covers_its_projected_rectangle_at_the_face_distance():
    # Box centre (0, 0.125, 5), size (1.5, 0.75, 2): front face z = 5 - 1 = 4 m, x in [-0.75, 0.75],
    # y in [-0.25, 0.5]. With f = 128, cx = 31.3, cy = 23.4:
    #   u = 128 x / 4 + 31.3 = 32 x + 31.3 in [7.3, 55.3]  -> pixel columns 8..55
    #   v = 32 y + 23.4 in [15.4, 39.4]                    -> pixel rows 16..39
    # The sides and back (z up to 6) project inside that rectangle, so it is the whole silhouette.
    cam = camera()
    view = render_view([box_mesh((0, 0.125, 5), (1.5, 0.75, 2), GREY, 7)], cam, IDENTITY)
    expected = rectangle_mask(cam, (8, 55), (16, 39))
    np.testing.assert_array_equal(view.instance, np.where(expected, 7, 0))
    assert np.all(view.depth_m[expected] == np.float32(4.0))
    assert np.all(np.isnan(view.depth_m[~expected]))
    assert view.rgb.dtype == np.uint8 and view.rgb.shape == (48, 64, 3)
    assert view.depth_m.dtype == np.float32 and view.instance.dtype == np.int32


def test_edges_through_pixel_centres_follow_the_top_left_rule():
    # Same box with cx = 31, cy = 23: u in [7, 55], v in [15, 39], every edge exactly on pixel centres.
    # A pixel centre on a left or top edge is covered, on a right or bottom edge it is not: columns 7..54,
    # rows 15..38 (48 x 24 pixels, the rectangle's area in pixels).
    cam = camera(cx=31.0, cy=23.0)
    view = render_view([box_mesh((0, 0.125, 5), (1.5, 0.75, 2), GREY, 7)], cam, IDENTITY)
    np.testing.assert_array_equal(view.instance > 0, rectangle_mask(cam, (7, 54), (15, 38)))
    assert (view.instance > 0).sum() == 48 * 24


def test_a_near_box_hides_a_far_one_whatever_the_order():
    # Near: centre (0, 0, 3), size (1, 0.5, 1): front z = 2.5, u = 128 x / 2.5 + 31.3 = 51.2 x + 31.3 in
    # [5.7, 56.9] -> columns 6..56; v = 51.2 y + 23.4 in [10.6, 36.2] -> rows 11..36.
    # Far: centre (0.5, 0, 8), size (4, 3, 2): front z = 7, x in [-1.5, 2.5] -> u in [3.9, 77.0]: it fills
    # the rest of the image (y in [-1.5, 1.5] -> v in [-4.0, 50.8]) except columns 0..3.
    cam = camera()
    near = box_mesh((0, 0, 3), (1, 0.5, 1), (0.9, 0.1, 0.1), 1)
    far = box_mesh((0.5, 0, 8), (4, 3, 2), (0.1, 0.1, 0.9), 2)
    near_mask = rectangle_mask(cam, (6, 56), (11, 36))
    far_mask = rectangle_mask(cam, (4, 63), (0, 47)) & ~near_mask
    for meshes in ([near, far], [far, near]):
        view = render_view(meshes, cam, IDENTITY)
        np.testing.assert_array_equal(view.instance == 1, near_mask)
        np.testing.assert_array_equal(view.instance == 2, far_mask)
        assert np.all(view.depth_m[near_mask] == np.float32(2.5))
        assert np.all(view.depth_m[far_mask] == np.float32(7.0))
        assert np.all(view.instance[:, :4] == 0)
    first, second = render_view([near, far], cam, IDENTITY), render_view([far, near], cam, IDENTITY)
    np.testing.assert_array_equal(first.rgb, second.rgb)


def test_lambert_shading_with_ambient_in_srgb():
    # Light straight down (0, 0, -1) in a z-up world, ambient 0.45, grey 0.6 (linear):
    #   floor (normal +z): 0.6 * (0.45 + 0.55 * 1) = 0.6 -> sRGB 1.055 * 0.6^(1/2.4) - 0.055 = 0.7977 -> 203
    #   wall (normal horizontal): 0.6 * 0.45 = 0.27 -> 0.5564 -> 142
    #   background 0.78, 0.85, 0.92 (linear) -> 229, 237, 246
    # Camera 1 m above the floor looking along +x at a wall 3 m ahead; the bottom row (10.4 degrees down)
    # passes under the wall and meets the floor 5.4 m ahead.
    cam = camera(cx=31.5, cy=23.5)
    cam_from_world = look_at((0, 0, 1), (1, 0, 1))
    floor = quad([(-1, -4, 0), (8, -4, 0), (8, 4, 0), (-1, 4, 0)], GREY, 0)
    wall = quad([(3, -0.5, 0.5), (3, 0.5, 0.5), (3, 0.5, 1.5), (3, -0.5, 1.5)], GREY, 0)
    view = render_view([floor, wall], cam, cam_from_world, light_dir_world=(0, 0, -1))
    np.testing.assert_array_equal(view.rgb[47, 31], [203, 203, 203])  # bottom row: floor
    np.testing.assert_array_equal(view.rgb[23, 31], [142, 142, 142])  # image centre: wall
    np.testing.assert_array_equal(view.rgb[0, 0], [229, 237, 246])  # above the 1.5 m wall top: nothing
    np.testing.assert_array_equal(srgb_encode(np.array([0.0, 1.0, 0.0031308])), [0, 255, 10])
    # Two-sided: the wall wound the other way (normal towards +x, away from the camera) looks the same.
    flipped = quad([(3, -0.5, 0.5), (3, -0.5, 1.5), (3, 0.5, 1.5), (3, 0.5, 0.5)], GREY, 0)
    again = render_view([floor, flipped], cam, cam_from_world, light_dir_world=(0, 0, -1))
    np.testing.assert_array_equal(again.rgb, view.rgb)


def test_shade_false_keeps_ids_and_depth_and_skips_colour():
    cam = camera()
    meshes = [box_mesh((0, 0, 3), (1, 0.5, 1), (0.9, 0.1, 0.1), 1)]
    shaded = render_view(meshes, cam, IDENTITY)
    bare = render_view(meshes, cam, IDENTITY, shade=False)
    np.testing.assert_array_equal(bare.instance, shaded.instance)
    np.testing.assert_array_equal(bare.depth_m, shaded.depth_m)
    assert not bare.rgb.any()


def test_stuff_has_depth_but_instance_zero():
    cam = camera()
    view = render_view([box_mesh((0, 0, 5), (20, 20, 1), GREY, 0)], cam, IDENTITY)
    assert np.all(view.instance == 0)
    assert np.all(view.depth_m == np.float32(4.5))  # 5 - 1 / 2


# -------------------------------------------------------------------------------- analytic ray casting


def test_a_slanted_plane_has_the_depth_of_the_ray_plane_intersection():
    # Plane n . X = 4 with n = (0.3, -0.4, 0.866) / |n|, covered by a large quad in front of the camera.
    cam = camera(width=80, height=60, cx=39.7, cy=29.2, f=70.0)
    normal = np.array([0.3, -0.4, 0.866])
    normal /= np.linalg.norm(normal)
    e1 = np.cross(normal, [1.0, 0.0, 0.0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(normal, e1)
    centre = 4.0 * normal
    corners = [centre + 30 * (a * e1 + b * e2) for a, b in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    view = render_view([quad(corners)], cam, IDENTITY)
    uv = pixel_grid(cam)
    expected = ray_plane_hits(np.zeros(3), camera_ray_directions(cam, uv), Plane(tuple(normal), 4.0))
    expected = expected.reshape(cam.height, cam.width)
    assert np.all(view.instance == 1)  # the quad is big enough to fill the image
    np.testing.assert_allclose(view.depth_m, expected, rtol=2e-7)  # float32 output


def test_rotated_boxes_match_ray_casting_pixel_for_pixel():
    rng = np.random.default_rng(3)
    cam = camera(width=96, height=72, cx=47.6, cy=35.3, f=80.0)
    boxes = []
    for _ in range(5):
        rotation = rot_z(rng.uniform(0, 6.3)) @ rot_y(rng.uniform(0, 6.3)) @ rot_x(rng.uniform(0, 6.3))
        centre = np.array([rng.uniform(-1.5, 1.5), rng.uniform(-1, 1), rng.uniform(3, 7)])
        boxes.append(OrientedBox3D(centre, rotation, rng.uniform(0.3, 1.5, 3)))
    meshes = [box_mesh(b.center, b.size, GREY, i + 1, b.rotation) for i, b in enumerate(boxes)]
    view = render_view(meshes, cam, IDENTITY)
    expected = cast_rays(np.zeros(3), camera_ray_directions(cam, pixel_grid(cam)), stack_boxes(boxes))
    expected = expected.reshape(cam.height, cam.width)
    np.testing.assert_array_equal(np.isnan(view.depth_m), np.isnan(expected))
    np.testing.assert_allclose(view.depth_m, expected, rtol=1e-6)
    assert (view.instance > 0).sum() > 1000  # the scene is not trivially empty


# --------------------------------------------------------------------------------------- near clipping


def test_a_floor_extending_behind_the_camera_renders_with_exact_depth():
    # Camera 1.5 m above a 20 m x 20 m floor centred under it, looking level along +x: half the floor is
    # behind the camera, so its triangles cross the near plane. Below the horizon (v > cy) every pixel sees
    # the floor at the depth of the ray-plane intersection out to the floor's edge 10 m ahead (depth
    # 1.5 * 60 / (v - 29.5) <= 10 from row v = 38.5 on), above it nothing.
    cam = camera(width=80, height=60, cx=39.5, cy=29.5, f=60.0)
    cam_from_world = look_at((0, 0, 1.5), (1, 0, 1.5))
    floor = quad([(-10, -10, 0), (10, -10, 0), (10, 10, 0), (-10, 10, 0)], GREY, 0)
    view = render_view([floor], cam, cam_from_world)
    world_from_cam = cam_from_world.inverse()
    dirs_world = world_from_cam.apply_direction(camera_ray_directions(cam, pixel_grid(cam)))
    t = ray_plane_hits(world_from_cam.translation, dirs_world, Plane((0.0, 0.0, 1.0), 0.0))
    hit_world = world_from_cam.translation + np.where(np.isfinite(t), t, 0.0)[:, None] * dirs_world
    inside = np.isfinite(t) & np.all(np.abs(hit_world[:, :2]) <= 10.0, axis=1)
    expected = np.where(inside, t, np.nan).reshape(cam.height, cam.width)
    np.testing.assert_array_equal(np.isnan(view.depth_m), np.isnan(expected))
    np.testing.assert_allclose(view.depth_m, expected, rtol=1e-6)
    assert np.all(np.isnan(view.depth_m[:38])) and not np.any(np.isnan(view.depth_m[39:]))


def test_the_near_plane_cuts_surfaces_closer_than_near_m():
    # Camera 0.1 m above the floor looking 30 degrees down: the floor ahead starts at depth ~0.2 m in the
    # bottom rows. With near_m = 0.5 the pixels whose floor depth is below 0.5 m see nothing; the others keep
    # their exact depth.
    cam = camera(width=64, height=48, cx=31.5, cy=23.5, f=40.0)
    cam_from_world = look_at((0, 0, 0.1), (1, 0, 0.1 - np.tan(np.radians(30))))
    floor = quad([(-5, -5, 0), (5, -5, 0), (5, 5, 0), (-5, 5, 0)], GREY, 0)
    view = render_view([floor], cam, cam_from_world, near_m=0.5)
    world_from_cam = cam_from_world.inverse()
    dirs_world = world_from_cam.apply_direction(camera_ray_directions(cam, pixel_grid(cam)))
    t = ray_plane_hits(world_from_cam.translation, dirs_world, Plane((0.0, 0.0, 1.0), 0.0))
    t = t.reshape(cam.height, cam.width)
    assert np.nanmin(t) < 0.3  # the cut really removes visible floor
    seen = (t >= 0.5) & (t < 4.0)  # well inside the floor and beyond the near plane
    cut = t < 0.5 - 1e-9
    assert cut.sum() > 50 and seen.sum() > 500
    assert np.all(np.isnan(view.depth_m[cut]))
    np.testing.assert_allclose(view.depth_m[seen], t[seen], rtol=1e-6)
    assert np.nanmin(view.depth_m) >= np.float32(0.5)


def test_clipping_keeps_the_part_in_front_of_the_near_plane():
    near = 1.0
    one_in_front = np.array([[[0.0, 0.0, 3.0], [1.0, 0.0, -1.0], [0.0, 1.0, -1.0]]])
    two_in_front = np.array([[[0.0, 0.0, -1.0], [1.0, 0.0, 3.0], [0.0, 1.0, 3.0]]])
    behind = np.array([[[0.0, 0.0, 0.5], [1.0, 0.0, 0.2], [0.0, 1.0, -4.0]]])
    for triangles, n_out in ((one_in_front, 1), (two_in_front, 2), (behind, 0)):
        clipped, parent = clip_triangles_near(triangles, near)
        assert len(clipped) == n_out and np.all(parent == 0)
        assert np.all(clipped[..., 2] >= near)
    # One in front: the apex (0, 0, 3) and the points at z = 1 halfway along its edges:
    # (0.5, 0, 1) and (0, 0.5, 1).
    clipped, _ = clip_triangles_near(one_in_front, near)
    np.testing.assert_allclose(clipped[0], [[0, 0, 3], [0.5, 0, 1], [0, 0.5, 1]])
    # Two in front: the quad (0.5, 0, 1), (1, 0, 3), (0, 1, 3), (0, 0.5, 1) (z = 1 is halfway from the
    # behind vertex at z = -1 to the front ones at z = 3); its area is the two triangles' areas together.
    clipped, _ = clip_triangles_near(two_in_front, near)
    area = sum(0.5 * np.linalg.norm(np.cross(t[1] - t[0], t[2] - t[0])) for t in clipped)
    a, b, c, d = map(np.array, ([0.5, 0, 1], [1, 0, 3], [0, 1, 3], [0, 0.5, 1]))
    expected = 0.5 * np.linalg.norm(np.cross(b - a, c - a)) + 0.5 * np.linalg.norm(np.cross(c - a, d - a))
    assert area == pytest.approx(expected)


def test_a_triangle_entirely_behind_the_camera_renders_nothing():
    cam = camera()
    behind = RenderMesh(np.array([[-1.0, -1, -2], [1, -1, -2], [0, 1, -3]]), np.array([[0, 1, 2]]),
                        np.array([GREY]), 1)  # fmt: skip
    view = render_view([behind], cam, IDENTITY)
    assert np.all(np.isnan(view.depth_m)) and not view.instance.any()
    np.testing.assert_array_equal(
        view.rgb, np.broadcast_to(srgb_encode(raster.DEFAULT_BACKGROUND_RGB), view.rgb.shape)
    )


def test_empty_scene_and_meshes_without_faces_render_background():
    cam = camera()
    empty = RenderMesh(np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64), np.zeros((0, 3)), 3)
    for meshes in ([], [empty]):
        view = render_view(meshes, cam, IDENTITY)
        assert np.all(np.isnan(view.depth_m)) and not view.instance.any()


# ---------------------------------------------------------------------------------------- watertight


def render_alone(meshes, cam) -> list[np.ndarray]:
    return [render_view([m], cam, IDENTITY, shade=False).instance > 0 for m in meshes]


@pytest.mark.parametrize("diagonal_through_centres", [True, False])
def test_two_triangles_of_a_quad_cover_it_once_with_no_crack(diagonal_through_centres):
    # Quad at z = 2 with f = 128: u = 64 x + cx. With cx = cy = 0 and corners x, y in {0.1, 0.6} the corners
    # project to (6.4, 6.4) and (38.4, 38.4): the diagonal u = v passes exactly through the pixel centres
    # (k, k), k = 7..38. Columns and rows 7..38 are covered: 32 x 32 pixels.
    # The other case shifts cx by 0.37 so the diagonal passes between centres.
    cx = 0.0 if diagonal_through_centres else 0.37
    cam = camera(cx=cx, cy=0.0)
    corners = np.array([[0.1, 0.1, 2], [0.6, 0.1, 2], [0.6, 0.6, 2], [0.1, 0.6, 2]])
    lower = RenderMesh(corners, np.array([[0, 1, 2]]), np.array([GREY]), 1)
    upper = RenderMesh(corners, np.array([[0, 2, 3]]), np.array([GREY]), 2)
    first, second = render_alone([lower, upper], cam)
    assert not np.any(first & second)  # no pixel written by both
    cols = (7, 38) if diagonal_through_centres else (7, 38)  # 6.77..38.77 -> 7..38 as well
    np.testing.assert_array_equal(first | second, rectangle_mask(cam, cols, (7, 38)))
    both = render_view([lower, upper], cam, IDENTITY)
    np.testing.assert_array_equal(both.instance == 1, first)
    np.testing.assert_array_equal(both.instance == 2, second)


def test_a_triangle_fan_covers_its_polygon_exactly_once():
    # Nine triangles around a shared centre vertex, all at z = 3: each pixel of the polygon belongs to
    # exactly one of them; together they cover what a single convex polygon would (a fan from vertex 0).
    cam = camera(width=64, height=64, cx=32.0, cy=32.0)
    angles = np.linspace(0, 2 * np.pi, 10)[:-1] + 0.1
    rim = np.stack([np.cos(angles), np.sin(angles), np.full(9, 3.0)], axis=1)  # (9, 3) m
    vertices = np.vstack([[0.03, -0.02, 3.0], rim])
    fan = [
        RenderMesh(vertices, np.array([[0, 1 + k, 1 + (k + 1) % 9]]), np.array([GREY]), 1) for k in range(9)
    ]
    masks = np.stack(render_alone(fan, cam))
    assert masks.sum(axis=0).max() == 1
    polygon = RenderMesh(
        vertices[1:], np.array([[0, k, k + 1] for k in range(1, 8)]), np.tile(GREY, (7, 1)), 1
    )
    np.testing.assert_array_equal(masks.any(axis=0), render_alone([polygon], cam)[0])


def test_small_fragment_batches_give_the_same_image(monkeypatch):
    cam = camera()
    meshes = [box_mesh((0, 0, 3), (1, 0.5, 1), (0.9, 0.1, 0.1), 1), box_mesh((0.5, 0, 8), (4, 3, 2), GREY, 2)]
    reference = render_view(meshes, cam, IDENTITY)
    monkeypatch.setattr(raster, "FRAGMENTS_PER_BATCH", 97)
    batched = render_view(meshes, cam, IDENTITY)
    for a, b in zip(reference, batched, strict=True):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------------- metamorphic


def random_room(rng: np.random.Generator) -> list[RenderMesh]:
    meshes = [box_mesh((0, 0, -0.05), (8, 8, 0.1), (0.5, 0.4, 0.3), 0)]  # floor slab, top at z = 0
    for i in range(6):
        size = rng.uniform(0.3, 1.2, 3)
        centre = (rng.uniform(-2.5, 2.5), rng.uniform(-2.5, 2.5), size[2] / 2)
        meshes.append(box_mesh(centre, size, rng.uniform(0, 1, 3), i + 1, rot_z(rng.uniform(0, 6.3))))
    return meshes


def test_moving_world_and_camera_together_changes_nothing():
    rng = np.random.default_rng(11)
    meshes = random_room(rng)
    cam = camera(width=96, height=72, cx=47.5, cy=35.5, f=70.0)
    cam_from_world = look_at((-3.5, -3.0, 1.6), (0.5, 0.2, 0.4))
    light = np.array([0.3, -0.5, -1.0])
    # A rigid motion new_from_world: rotation about a tilted axis and a translation.
    motion = RigidTransform(
        rot_x(0.7) @ rot_z(2.1) @ rot_y(-0.4), np.array([12.0, -7.5, 3.25]), "new", "world"
    )
    moved = [RenderMesh(motion.apply(m.vertices), m.faces, m.face_colours, m.instance_id) for m in meshes]
    cam_from_new = cam_from_world @ motion.inverse()
    before = render_view(meshes, cam, cam_from_world, light_dir_world=light)
    after = render_view(moved, cam, cam_from_new, light_dir_world=motion.apply_direction(light))
    assert len(np.unique(before.instance)) == 7  # every box is in view
    np.testing.assert_array_equal(after.instance, before.instance)
    np.testing.assert_allclose(after.depth_m, before.depth_m, rtol=1e-5)
    assert np.abs(after.rgb.astype(int) - before.rgb.astype(int)).max() <= 1


def test_rendering_is_deterministic():
    rng = np.random.default_rng(5)
    meshes = random_room(rng)
    cam = camera(width=96, height=72, cx=47.5, cy=35.5, f=70.0)
    pose = look_at((-3.5, -3.0, 1.6), (0.5, 0.2, 0.4))
    a, b = render_view(meshes, cam, pose), render_view(meshes, cam, pose)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


# ------------------------------------------------------------------------------------------- bad input


def good_mesh() -> RenderMesh:
    return box_mesh((0, 0, 3), (1, 1, 1), GREY, 1)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (lambda m: m._replace(vertices=m.vertices[:, :2]), r"meshes\[1\]\.vertices must be a \(V, 3\)"),
        (
            lambda m: m._replace(vertices=np.where(np.arange(8)[:, None] == 2, np.nan, m.vertices)),
            r"meshes\[1\]\.vertices contains NaN",
        ),  # fmt: skip
        (lambda m: m._replace(vertices=m.vertices + np.array([np.inf, 0, 0])), r"meshes\[1\]\.vertices"),
        (lambda m: m._replace(faces=m.faces.reshape(-1)), r"meshes\[1\]\.faces must be \(F, 3\)"),
        (lambda m: m._replace(faces=m.faces.astype(float)), r"meshes\[1\]\.faces must hold integer"),
        (lambda m: m._replace(faces=m.faces + 1), r"meshes\[1\]\.faces has vertex indices outside \[0, 8\)"),
        (lambda m: m._replace(faces=m.faces - 1), r"meshes\[1\]\.faces has vertex indices outside"),
        (
            lambda m: m._replace(face_colours=m.face_colours[:5]),
            r"meshes\[1\]\.face_colours must be \(F, 3\)",
        ),
        (lambda m: m._replace(face_colours=m.face_colours * 2), r"meshes\[1\]\.face_colours .*\[0, 1\]"),
        (lambda m: m._replace(face_colours=m.face_colours - 0.7), r"meshes\[1\]\.face_colours"),
        (lambda m: m._replace(instance_id=-1), r"meshes\[1\]\.instance_id must be >= 0"),
        (lambda m: m._replace(instance_id=1.0), r"meshes\[1\]\.instance_id must be an int"),
        (lambda m: (m.vertices, m.faces), r"meshes\[1\] must be a RenderMesh"),
    ],
)
def test_bad_meshes_are_named_in_the_error(bad, message):
    with pytest.raises(ValueError, match=message):
        render_view([good_mesh(), bad(good_mesh())], camera(), IDENTITY)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"near_m": 0.0}, "near_m"),
        ({"near_m": float("nan")}, "near_m"),
        ({"ambient": 1.5}, "ambient"),
        ({"background_rgb": (0.5, 0.5)}, "background_rgb"),
        ({"background_rgb": (0.5, 0.5, 2.0)}, "background_rgb"),
        ({"light_dir_world": (0.0, 0.0, 0.0)}, "light_dir_world"),
    ],
)
def test_bad_view_arguments_are_named_in_the_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        render_view([good_mesh()], camera(), IDENTITY, **kwargs)


def test_bad_camera_pose_and_mesh_container_are_refused():
    with pytest.raises(ValueError, match="cam_from_world"):
        render_view([good_mesh()], camera(), RigidTransform(2 * np.eye(3), np.zeros(3), "cam", "world"))
    with pytest.raises(ValueError, match="camera"):
        render_view([good_mesh()], PinholeCamera(100, 100, 10, 10, 0, 20), IDENTITY)
    with pytest.raises(ValueError, match="meshes must be a sequence"):
        render_view(good_mesh(), camera(), IDENTITY)
    with pytest.raises(ValueError, match="size"):
        box_mesh((0, 0, 0), (1, 0, 1), GREY, 1)
