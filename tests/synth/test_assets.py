"""Object catalogue of the synthetic world: sizes, tight bounds, closed outward parts, visible fronts."""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import pytest
import trimesh

from spatialforge.sources.fronts import has_semantic_front
from spatialforge.synth import assets_core
from spatialforge.synth.assets import (
    BACK_ROLES,
    CATALOGUE,
    FRONT_ROLES,
    PALETTE,
    AssetMesh,
    CategorySpec,
    build_mesh,
    categories,
    palette_rgb,
    sample_size,
)
from spatialforge.synth.assets import _register as register
from spatialforge.synth.assets_core import Part, box, cylinder, frustum, part_colour, rotated
from spatialforge.synth.assets_views import axis_view, shaded_image

NAMES = tuple(CATALOGUE)
FRONTED = tuple(n for n, s in CATALOGUE.items() if s.has_front)
GREY = palette_rgb("grey")


def _mid(spec: CategorySpec) -> np.ndarray:
    return (np.asarray(spec.size_min_m) + np.asarray(spec.size_max_m)) / 2


def _sizes(spec: CategorySpec) -> list[np.ndarray]:
    rng = random.Random(hash(spec.name) % 1000)
    return [np.asarray(spec.size_min_m), np.asarray(spec.size_max_m), sample_size(spec, rng)]


def _face_roles(spec: CategorySpec, size: np.ndarray) -> np.ndarray:
    """(F,) role of every face of build_mesh's output (parts are concatenated in order)."""
    return np.concatenate([[p.role] * len(p.faces) for p in spec.build(size)])


# ------------------------------------------------------------------------------------------ catalogue shape
def test_settings_hold_the_required_categories() -> None:
    indoor = {s.name for s in categories("indoor")}
    tabletop = {s.name for s in categories("tabletop")}
    street = {s.name for s in categories("street")}
    assert {"table", "desk", "chair", "sofa", "bed", "bookshelf", "lamp", "cabinet", "monitor", "plant", "tv",
            "nightstand", "dresser"} <= indoor  # fmt: skip
    assert (
        len(tabletop) >= 8 and {"mug", "bowl", "bottle", "cup", "book", "laptop", "vase", "box"} <= tabletop
    )
    assert {"car", "truck", "bus", "pedestrian", "cyclist", "traffic cone", "tree", "traffic sign"} <= street
    assert indoor | tabletop | street == set(CATALOGUE)
    assert [s.name for s in categories("street")] == [n for n in NAMES if CATALOGUE[n].setting == "street"]


def test_unknown_setting_and_duplicate_names_raise() -> None:
    with pytest.raises(ValueError, match="setting"):
        categories("space")
    chair = CATALOGUE["chair"]
    with pytest.raises(ValueError, match="duplicate category name.*'chair'"):
        register((chair,), (chair,))


@pytest.mark.parametrize("name", NAMES)
def test_has_front_agrees_with_sources_fronts(name: str) -> None:
    assert CATALOGUE[name].has_front == has_semantic_front(name)


def test_spec_rejects_a_front_that_fronts_py_does_not_have() -> None:
    table = CATALOGUE["table"]
    with pytest.raises(ValueError, match="has_front"):
        CategorySpec("table", "indoor", table.size_min_m, table.size_max_m, True, "floor", True, table.build,
                     front_cue="shape")  # fmt: skip
    with pytest.raises(ValueError, match="size_min_m"):
        CategorySpec("table", "indoor", (1, 1, 1), (0.5, 1, 1), False, "floor", True, table.build)
    with pytest.raises(ValueError, match="round_xy"):
        CategorySpec(
            "table", "indoor", (1, 2, 1), (1, 2, 1), False, "floor", True, table.build, round_xy=True
        )
    with pytest.raises(ValueError, match="colours"):
        CategorySpec(
            "table", "indoor", (1, 1, 1), (1, 1, 1), False, "floor", True, table.build, colours=("mauve",)
        )


def test_supports_and_placement() -> None:
    supports = {n for n, s in CATALOGUE.items() if s.supports}
    assert {"table", "desk", "cabinet", "dresser", "nightstand", "bookshelf"} == supports
    assert all(s.placement == "surface" for s in categories("tabletop"))
    assert CATALOGUE["monitor"].placement == "surface" and CATALOGUE["tv"].placement == "surface"
    assert all(s.placement == "floor" for s in categories("street"))


# ------------------------------------------------------------------------------------------- sizes and mesh
def test_sizes_are_realistic() -> None:
    def rng_of(name: str) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(CATALOGUE[name].size_min_m), np.asarray(CATALOGUE[name].size_max_m)

    car_lo, car_hi = rng_of("car")
    assert 3.5 <= car_lo[0] and car_hi[0] <= 5.0 and 1.3 <= car_lo[2] and car_hi[2] <= 1.8
    assert rng_of("mug")[1].max() < 0.15 and rng_of("mug")[0][2] >= 0.08  # a mug is ~8-10 cm tall
    ped_lo, ped_hi = rng_of("pedestrian")
    assert ped_lo[2] >= 1.5 and ped_hi[2] <= 1.95
    assert 10.0 <= rng_of("bus")[0][0] and rng_of("bus")[1][0] <= 13.5 and rng_of("bus")[1][1] <= 2.55
    assert 0.68 <= rng_of("table")[0][2] and rng_of("table")[1][2] <= 0.8  # dining height
    assert 0.72 <= rng_of("desk")[0][2] and rng_of("desk")[1][2] <= 0.76  # EN 527
    assert rng_of("bed")[0][0] >= 1.9 and rng_of("bed")[1][0] <= 2.2
    assert rng_of("tv")[0][1] > rng_of("tv")[1][0]  # a tv is much wider than deep
    for spec in CATALOGUE.values():
        assert 0.005 <= min(spec.size_min_m) and max(spec.size_max_m) <= 13.0, spec.name


@pytest.mark.parametrize("name", ["chair"])
def test_chair_seat_height_band(name: str) -> None:
    spec = CATALOGUE[name]
    for size in _sizes(spec):
        parts = spec.build(size)
        seat = next(p for p in parts if p.role == "seat_cushion")
        seat_height = seat.vertices[:, 2].max() + size[2] / 2  # metres above the floor (z = -h/2)
        assert 0.40 <= seat_height <= 0.50, (size, seat_height)


@pytest.mark.parametrize("name", NAMES)
def test_mesh_is_tight_closed_and_coloured(name: str) -> None:
    spec = CATALOGUE[name]
    for size in _sizes(spec):
        mesh = build_mesh(spec, size, GREY)
        assert isinstance(mesh, AssetMesh)
        np.testing.assert_allclose(mesh.vertices.min(axis=0), -size / 2, atol=1e-6)
        np.testing.assert_allclose(mesh.vertices.max(axis=0), size / 2, atol=1e-6)
        assert (
            mesh.faces.dtype == np.int64 and mesh.faces.min() >= 0 and mesh.faces.max() < len(mesh.vertices)
        )
        assert mesh.face_colours.shape == (len(mesh.faces), 3)
        assert np.all((mesh.face_colours >= 0) & (mesh.face_colours <= 1))
        tri = mesh.vertices[mesh.faces]
        areas = np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1) / 2
        assert np.all(areas > 0), "degenerate triangles"
        for part in spec.build(size):
            solid = trimesh.Trimesh(part.vertices, part.faces, process=False)
            assert solid.is_watertight and solid.is_winding_consistent, (name, part.role)
            assert solid.volume > 0, (name, part.role)  # outward normals


@pytest.mark.parametrize("name", NAMES)
def test_triangle_counts_are_modest(name: str) -> None:
    faces = len(build_mesh(CATALOGUE[name], _mid(CATALOGUE[name]), GREY).faces)
    limit = 300 if CATALOGUE[name].setting == "tabletop" else 600
    assert faces <= limit, faces


def test_a_furnished_room_stays_under_5000_triangles() -> None:
    room = ["table", "chair", "chair", "chair", "chair", "sofa", "bed", "bookshelf", "lamp", "cabinet"]
    room += ["monitor", "plant", "tv", "nightstand", "dresser"]
    total = sum(len(build_mesh(CATALOGUE[n], _mid(CATALOGUE[n]), GREY).faces) for n in room)
    assert len(room) == 15 and total < 5000, total


def test_bad_inputs_raise_clear_errors() -> None:
    spec = CATALOGUE["mug"]
    for bad in ([0.1, 0.1], [0.1, float("nan"), 0.1], [0.1, 0.0, 0.1], [-0.1, 0.1, 0.1]):
        with pytest.raises(ValueError, match="size_m"):
            build_mesh(spec, np.asarray(bad), GREY)
    for bad_rgb in ((1.2, 0, 0), (0.5, 0.5), (float("nan"), 0, 0)):
        with pytest.raises(ValueError, match="body_rgb"):
            build_mesh(spec, _mid(spec), bad_rgb)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="size"):
        spec.build(np.array([0.1, 0.1]))
    with pytest.raises(ValueError, match="colour name"):
        palette_rgb("mauve")


# ---------------------------------------------------------------------------------------------- sample_size
class _ScriptedRandom(random.Random):
    def __init__(self, values: list[float]) -> None:
        super().__init__(0)
        self._values = list(values)

    def random(self) -> float:
        return self._values.pop(0)


def test_sample_size_hand_computed() -> None:
    # draws: shared 0.2, own 0.4 / 0.6 / 0.8 -> u = 0.5*0.2 + 0.5*own = (0.3, 0.4, 0.5)
    # table min (0.8, 0.6, 0.70), max (1.8, 1.0, 0.78): (0.8 + 1.0*0.3, 0.6 + 0.4*0.4, 0.70 + 0.08*0.5)
    size = sample_size(CATALOGUE["table"], _ScriptedRandom([0.2, 0.4, 0.6, 0.8]))
    np.testing.assert_allclose(size, [1.1, 0.76, 0.74])
    # round_xy: y reuses x's u = 0.3; bowl (0.12, 0.12, 0.05)-(0.20, 0.20, 0.09): (0.144, 0.144, 0.07)
    size = sample_size(CATALOGUE["bowl"], _ScriptedRandom([0.2, 0.4, 0.6, 0.8]))
    np.testing.assert_allclose(size, [0.144, 0.144, 0.07])


@pytest.mark.parametrize("name", NAMES)
def test_sample_size_is_deterministic_and_in_range(name: str) -> None:
    spec = CATALOGUE[name]
    a = [sample_size(spec, random.Random(7)) for _ in range(3)]
    b = [sample_size(spec, random.Random(7)) for _ in range(3)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    rng = random.Random(11)
    draws = np.array([sample_size(spec, rng) for _ in range(50)])
    assert np.all(draws >= np.asarray(spec.size_min_m)) and np.all(draws <= np.asarray(spec.size_max_m))
    if spec.round_xy:
        assert np.array_equal(draws[:, 0], draws[:, 1])
    spread = np.asarray(spec.size_max_m) > np.asarray(spec.size_min_m)
    assert np.all(np.ptp(draws, axis=0)[spread] > 0)


def test_sample_size_rejects_a_non_random_rng() -> None:
    with pytest.raises(ValueError, match="rng"):
        sample_size(CATALOGUE["mug"], np.random.default_rng(0))  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------- palette
def test_palette_names_unique_and_colours_distinct() -> None:
    names = [n for n, _ in PALETTE]
    assert len(names) >= 10 and len(set(names)) == len(names)
    assert {"red", "blue", "green", "yellow", "orange", "purple", "white", "black", "grey", "brown"} <= set(
        names
    )
    rgbs = np.array([rgb for _, rgb in PALETTE])
    assert np.all((rgbs >= 0) & (rgbs <= 1))
    dmin = min(np.linalg.norm(a - b) for a, b in itertools.combinations(rgbs, 2))
    assert dmin > 0.15, dmin
    # white is sRGB 0.95: ((0.95 + 0.055) / 1.055) ** 2.4 = 0.952607 ** 2.4 = 0.89001
    np.testing.assert_allclose(palette_rgb("white"), [0.89001] * 3, atol=1e-5)


def test_srgb_to_linear_known_values() -> None:
    # 0.5 sRGB -> ((0.5 + 0.055) / 1.055) ** 2.4 = 0.21404; 0.04 is on the linear toe: 0.04 / 12.92 = 0.003096
    np.testing.assert_allclose(
        assets_core.srgb_to_linear((0.5, 0.04, 1.0)), (0.21404, 0.0030960, 1.0), atol=1e-5
    )


def test_part_colour_tone_and_contrast() -> None:
    v = box((0, 0, 0), (1, 1, 1))
    body = (0.8, 0.4, 0.2)  # luminance 0.2126*0.8 + 0.7152*0.4 + 0.0722*0.2 = 0.4706 -> "light"
    assert part_colour(Part(v.vertices, v.faces, tone=-0.5), body) == pytest.approx((0.4, 0.2, 0.1))
    assert part_colour(Part(v.vertices, v.faces, tone=0.5), body) == pytest.approx((0.9, 0.7, 0.6))
    assert part_colour(Part(v.vertices, v.faces, tone=0.5, contrast=True), body) == pytest.approx(
        (0.4, 0.2, 0.1)
    )
    dark = (0.1, 0.0, 0.2)  # luminance 0.0357 -> contrast lightens: 0.1 + 0.9*0.5 = 0.55 ...
    assert part_colour(Part(v.vertices, v.faces, tone=-0.5, contrast=True), dark) == pytest.approx(
        (0.55, 0.5, 0.6)
    )
    assert part_colour(Part(v.vertices, v.faces, colour=(0.1, 0.2, 0.3)), body) == (0.1, 0.2, 0.3)
    with pytest.raises(ValueError, match="tone"):
        Part(v.vertices, v.faces, tone=1.5)
    with pytest.raises(ValueError, match="colour"):
        Part(v.vertices, v.faces, colour=(2.0, 0, 0))


# ---------------------------------------------------------------------------------------------- primitives
def test_primitives_fill_their_boxes_with_outward_normals() -> None:
    for part in (
        box((-1, -2, -3), (1, 2, 3)),
        cylinder((0, 0, 0), (0.2, 0.4, 1.0), axis="x", taper=0.5),
        cylinder((0, 0, 0), (0.2, 0.4, 1.0), axis="y", taper=2.0),
        frustum((0, 0, 0), (2, 1, 1), top_x=(0.5, 1.0), top_y=(0.2, 0.8)),
    ):
        solid = trimesh.Trimesh(part.vertices, part.faces, process=False)
        assert solid.is_watertight and solid.volume > 0
    c = cylinder((0, 0, 0), (1, 1, 2), sections=16, taper=0.5)  # radius 0.5 at the bottom, 0.25 at the top
    top = c.vertices[c.vertices[:, 2] > 1.9]
    assert np.ptp(top[:, 0]) == pytest.approx(0.5)
    # frustum volume: height 1, bottom 2 x 1 = 2, top 0.5 x 0.6 = 0.3; prismatoid with mid section
    # (1.25 x 0.8 = 1.0): V = (2 + 4*1.0 + 0.3) / 6 = 1.05
    f = frustum((0, 0, 0), (2, 1, 1), top_x=(0.5, 1.0), top_y=(0.2, 0.8))
    assert trimesh.Trimesh(f.vertices, f.faces, process=False).volume == pytest.approx(1.05)
    with pytest.raises(ValueError, match="frustum top"):
        frustum((0, 0, 0), (1, 1, 1), top_x=(0.5, 1.5), top_y=(0, 1))
    with pytest.raises(ValueError, match="lo < hi"):
        box((0, 0, 0), (1, 0, 1))


def test_rotated_quarter_turn_about_z() -> None:
    # +x unit box corner (1, 0, 0) turns to (0, 1, 0) about z through the origin
    b = box((0.5, -0.1, -0.1), (1.0, 0.1, 0.1))
    r = rotated(b, "z", math.pi / 2, (0, 0, 0))
    np.testing.assert_allclose(r.vertices.min(axis=0), [-0.1, 0.5, -0.1], atol=1e-12)
    np.testing.assert_allclose(r.vertices.max(axis=0), [0.1, 1.0, 0.1], atol=1e-12)


# ------------------------------------------------------------------------------------- renderer-free views
def _two_step_mesh() -> AssetMesh:
    """Lower block x in [-1, 1], z in [-1, 0]; upper block x in [-1, 0], z in [0, 1] (a step open to +x)."""
    parts = [box((-1, -1, -1), (1, 1, 0)), box((-1, -1, 0), (0, 1, 1), colour=(1.0, 0.0, 0.0))]
    off = len(parts[0].vertices)
    return AssetMesh(
        np.concatenate([p.vertices for p in parts]),
        np.concatenate([parts[0].faces, parts[1].faces + off]),
        np.array([[0.5, 0.5, 0.5]] * 12 + [[1.0, 0.0, 0.0]] * 12),
    )


def test_axis_view_on_a_hand_built_step() -> None:
    mesh = _two_step_mesh()
    front = axis_view(mesh, "x", 1, pixels=8)  # rows = y, columns = z (ascending)
    back = axis_view(mesh, "x", -1, pixels=8)
    assert np.all(front.face >= 0) and np.all(back.face >= 0)
    # from +x: lower half (z < 0) hits x = 1 (depth 0), upper half hits x = 0 (depth 1); from -x all depth 0
    np.testing.assert_allclose(front.depth[:, :4], 0.0, atol=1e-12)
    np.testing.assert_allclose(front.depth[:, 4:], 1.0, atol=1e-12)
    np.testing.assert_allclose(back.depth, 0.0, atol=1e-12)
    np.testing.assert_allclose(front.colour[:, 4:], np.broadcast_to([1.0, 0.0, 0.0], (8, 4, 3)))
    top = axis_view(mesh, "z", 1, pixels=8)  # rows = x: x < 0 sees the red upper block at depth 0
    np.testing.assert_allclose(top.depth[:4], 0.0, atol=1e-12)
    np.testing.assert_allclose(top.depth[4:], 1.0, atol=1e-12)
    img = shaded_image(mesh, "x", 1, pixels=8)
    assert img.shape == (8, 8, 3) and img.dtype == np.uint8
    with pytest.raises(ValueError, match="axis"):
        axis_view(mesh, "w", 1)


def test_normal_weighted_mean_colour_cannot_see_fronts() -> None:
    # Why the front tests use first-hit views: every part is a closed solid of one colour, so its +x-facing
    # and -x-facing areas are equal (the surface integral of n dA over a closed surface is zero), and the
    # area-weighted mean colour of n_x > 0.5 faces equals that of n_x < -0.5 faces even for a monitor.
    mesh = build_mesh(CATALOGUE["monitor"], _mid(CATALOGUE["monitor"]), GREY)
    tri = mesh.vertices[mesh.faces]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    area = np.linalg.norm(n, axis=1) / 2
    nx = n[:, 0] / (2 * area)

    def mean(sel: np.ndarray) -> np.ndarray:
        return (mesh.face_colours[sel] * area[sel, None]).sum(axis=0) / area[sel].sum()

    np.testing.assert_allclose(mean(nx > 0.5), mean(nx < -0.5), atol=1e-9)


# ---------------------------------------------------------------------------------------------- fronts
_PIXELS = 40


def _front_back(name: str) -> tuple[CategorySpec, np.ndarray, object, object, np.ndarray]:
    spec = CATALOGUE[name]
    size = _mid(spec)
    mesh = build_mesh(spec, size, GREY)
    front, back = axis_view(mesh, "x", 1, _PIXELS), axis_view(mesh, "x", -1, _PIXELS)
    silhouette = front.face >= 0
    assert np.array_equal(silhouette, back.face >= 0)  # opposite orthographic views share the silhouette
    return spec, size, front, back, silhouette


@pytest.mark.parametrize("name", FRONTED)
def test_front_looks_different_from_back(name: str) -> None:
    spec, size, front, back, sil = _front_back(name)
    if spec.front_cue == "shape":
        # open front: seen from +x the nearest surface is on average much deeper than seen from -x
        deeper = np.mean(front.depth[sil] - back.depth[sil]) / size[0]
        assert deeper > 0.2, deeper
    for colour in spec.colours:  # every body colour the category may be painted in
        rgb = build_mesh(spec, size, palette_rgb(colour)).face_colours
        differ = np.linalg.norm(rgb[front.face[sil]] - rgb[back.face[sil]], axis=1) > 0.1
        assert differ.mean() > 0.03, (colour, differ.mean())


@pytest.mark.parametrize("name", FRONTED)
def test_front_features_are_seen_from_plus_x_only(name: str) -> None:
    spec, size, front, back, sil = _front_back(name)
    roles = _face_roles(spec, size)
    front_seen = np.isin(roles[front.face[sil]], list(FRONT_ROLES)).mean()
    front_from_back = np.isin(roles[back.face[sil]], list(FRONT_ROLES)).mean()
    assert front_seen > 0.025 and front_from_back < 0.01, (front_seen, front_from_back)
    back_roles = [r for r in set(roles) if r in BACK_ROLES]
    if back_roles:
        assert (
            np.isin(roles[back.face[sil]], back_roles).mean()
            > np.isin(roles[front.face[sil]], back_roles).mean()
        )
    # and the front parts sit further towards +x than the back parts (or than the centre when none)
    parts = spec.build(size)
    fx = np.mean([p.vertices[:, 0].mean() for p in parts if p.role in FRONT_ROLES])
    bxs = [p.vertices[:, 0].mean() for p in parts if p.role in BACK_ROLES]
    assert fx > (np.mean(bxs) if bxs else -0.25 * size[0]), (fx, bxs)


def test_front_less_sign_is_the_same_from_both_sides() -> None:
    spec, size, front, back, sil = _front_back("traffic sign")
    rgb = build_mesh(spec, size, palette_rgb("blue")).face_colours
    assert np.mean(np.linalg.norm(rgb[front.face[sil]] - rgb[back.face[sil]], axis=1) > 0.1) < 0.01


def test_turning_a_car_swaps_its_front_and_back_views() -> None:
    # metamorphic: yaw the car by 180 degrees (x -> -x, y -> -y): its +x view is the old -x view mirrored in y
    spec = CATALOGUE["car"]
    mesh = build_mesh(spec, _mid(spec), GREY)
    turned = AssetMesh(mesh.vertices * np.array([-1.0, -1.0, 1.0]), mesh.faces, mesh.face_colours)
    old_back = axis_view(mesh, "x", -1, _PIXELS)
    new_front = axis_view(turned, "x", 1, _PIXELS)
    np.testing.assert_array_equal(new_front.face, old_back.face[::-1])
