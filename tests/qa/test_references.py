"""Unique object references on hand-built scenes (one level 640x480 view, fx = fy = 500, cx = 319.5).

Objects are placed by their camera-frame centre (x right, y down, z forward); for a level camera the world
centre is UPRIGHT_FROM_CAM @ cam, and u = 500 * x / z + 319.5 for the box centre.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spatialforge.geometry.boxes import OrientedBox3D, project_box_to_2d
from spatialforge.geometry.boxes2d import Box2D
from spatialforge.geometry.camera import PinholeCamera
from spatialforge.geometry.gravity import UPRIGHT_FROM_CAM, level_world_from_cam
from spatialforge.geometry.transforms import RigidTransform
from spatialforge.qa.references import (
    MARKER_COLOURS,
    MIN_VISIBILITY,
    Reference,
    ReferenceRefusal,
    choose_reference,
    normalize_box_1000,
    reference_options,
    visible_objects,
)
from spatialforge.scene.records import Gravity, Object3D, ObjectObservation, Scene, View

CHAIR = (0.5, 0.5, 0.9)  # length, width, height m


def _view() -> View:
    lv = level_world_from_cam(None)
    return View(
        view_id="v0",
        image_path="img/v0.png",
        camera=PinholeCamera(500.0, 500.0, 319.5, 239.5, 640, 480),
        world_from_cam=RigidTransform(lv.rotation, lv.translation, "world", "cam:v0"),
    )


def _obj(
    oid: str,
    category: str,
    cam_xyz: tuple[float, float, float],
    size: tuple[float, float, float] = CHAIR,
    *,
    box2d: Box2D | None | str = "project",
    behind: bool = False,
) -> Object3D:
    """Object whose centre is cam_xyz in the camera frame; box2d projected from the 3D box unless given."""
    view = _view()
    box = OrientedBox3D(UPRIGHT_FROM_CAM @ np.asarray(cam_xyz, dtype=float), np.eye(3), size)  # world
    if box2d == "project":
        box2d = project_box_to_2d(box.transformed(view.cam_from_world()), view.camera)
    return Object3D(
        object_id=oid,
        source_id=f"toy:{oid}",
        category=category,
        box=box,
        has_front=False,
        observations=(ObjectObservation("v0", box2d, "projected", behind_camera=behind),),
    )


def _scene(*objects: Object3D) -> Scene:
    return Scene("toy/0", "toy", "toy", "train", "CC0", "/nonexistent", (_view(),), objects, Gravity())


def _texts(scene: Scene, oid: str) -> list[str]:
    options = reference_options(scene, scene.views[0], scene.object(oid))
    assert isinstance(options, list), options
    return [r.text for r in options]


def _refusal(scene: Scene, oid: str, **kwargs: object) -> str:
    options = reference_options(scene, scene.views[0], scene.object(oid), **kwargs)  # type: ignore[arg-type]
    assert isinstance(options, ReferenceRefusal), options
    return options.reason


def _row_of_chairs() -> Scene:
    # u = 132.0, 319.5, 507.0 px: gaps 187.5 px >> 32 px (5% of 640). Distances 4.27, 4.00, 4.27 m differ
    # by 0.27 m < 10% of 4 m, so no nearest/farthest; equal sizes, so no largest/tallest.
    return _scene(
        _obj("a", "chair", (-1.5, 0.0, 4.0)),
        _obj("b", "chair", (0.0, 0.0, 4.0)),
        _obj("c", "chair", (1.5, 0.0, 4.0)),
        _obj("t", "table", (0.0, 0.5, 3.0), (1.2, 0.8, 0.75)),
    )


def test_unique_category_is_bare() -> None:
    assert _texts(_row_of_chairs(), "t") == ["the table"]


def test_three_chairs_in_a_row() -> None:
    scene = _row_of_chairs()
    assert _texts(scene, "a") == ["the leftmost chair"]
    assert _texts(scene, "c") == ["the rightmost chair"]
    assert _texts(scene, "b") == ["the second chair from the left", "the second chair from the right"]
    b = reference_options(scene, scene.views[0], scene.object("b"))
    assert isinstance(b, list) and {r.kind for r in b} == {"ordinal"} and b[0].marker is None


def test_side_by_side_chairs_get_markers_not_ordinals() -> None:
    # u = 313.25 and 325.75 px: 12.5 px apart < 32 px; same distance and size.
    scene = _scene(_obj("a", "chair", (-0.05, 0.0, 4.0)), _obj("b", "chair", (0.05, 0.0, 4.0)))
    view = scene.views[0]
    first = choose_reference(scene, view, scene.object("a"), random.Random(0))
    assert isinstance(first, Reference) and first.kind == "marker" and first.marker is not None
    assert first.text == "the chair (highlighted by the red box)"
    second = choose_reference(scene, view, scene.object("b"), random.Random(0), used_colours=("red",))
    assert isinstance(second, Reference) and second.marker is not None
    assert second.marker.colour != first.marker.colour
    assert second.text == f"the chair (highlighted by the {second.marker.colour} box)"
    assert _refusal(scene, "a", allow_markers=False) == "ambiguous_no_marker"
    assert _refusal(scene, "a", used_colours=MARKER_COLOURS) == "no_free_marker_colour"
    # The QA record's marker keeps colour and both geometries, at the view's place in the question's images.
    qa_marker = first.marker.to_qa_marker(image_index=0)
    assert (qa_marker.kind, qa_marker.colour, qa_marker.image_index) == ("box", "red", 0)
    assert qa_marker.geometry_px == first.marker.pixel
    assert qa_marker.geometry_norm == first.marker.normalized_1000


def test_nearest_and_farthest() -> None:
    # Same u (319.5 px); distances 2 m and 6 m.
    scene = _scene(_obj("n", "chair", (0.0, 0.0, 2.0)), _obj("f", "chair", (0.0, 0.0, 6.0)))
    assert _texts(scene, "n") == ["the nearest chair"]
    assert _texts(scene, "f") == ["the farthest chair"]


def test_largest_smallest_tallest_shortest() -> None:
    # Side by side (no left/right), same distance; sizes differ by 2x per side (8x volume, 2x height).
    scene = _scene(
        _obj("s", "box", (-0.05, 0.0, 4.0), (0.3, 0.3, 0.3)),
        _obj("l", "box", (0.05, 0.0, 4.0), (0.6, 0.6, 0.6)),
    )
    assert _texts(scene, "s") == ["the smallest box", "the shortest box"]
    assert _texts(scene, "l") == ["the largest box", "the tallest box"]


def test_chair_behind_camera_is_not_visible() -> None:
    front = _obj("f", "chair", (0.0, 0.0, 4.0))
    flagged = _obj("b", "chair", (0.0, 0.0, -3.0), box2d=None, behind=True)
    # Observation says "in front" with a box, but its centre has z < 0: geometry wins.
    unflagged = _obj("u", "chair", (1.0, 0.0, -2.0), box2d=Box2D(10, 10, 200, 200))
    scene = _scene(front, flagged, unflagged)
    assert [o.object_id for o in visible_objects(scene, scene.views[0])] == ["f"]
    assert _refusal(scene, "b") == "behind_camera"
    assert _refusal(scene, "u") == "behind_camera"
    assert _texts(scene, "f") == ["the chair"]


def test_visibility_refusals() -> None:
    no_box = _obj("n", "lamp", (0.0, 0.0, 4.0), box2d=None)
    tiny = _obj("t", "cup", (1.0, 0.0, 4.0), box2d=Box2D(100, 100, 110, 110))  # 100 px^2 < 307.2 px^2
    unobserved = Object3D("x", "toy:x", "vase", OrientedBox3D(np.zeros(3), np.eye(3), CHAIR), False)
    scene = _scene(no_box, tiny, unobserved)
    assert _refusal(scene, "n") == "no_box2d"
    assert _refusal(scene, "t") == "below_min_area"
    assert _refusal(scene, "x") == "not_visible"


def test_mostly_occluded_objects_are_not_asked_about() -> None:
    """A source that states visibility (Omni3D, the synthetic world) below MIN_VISIBILITY = 0.33: refused;
    at or above it, or unstated (None), the object is visible."""
    import dataclasses

    def with_visibility(obj: Object3D, visibility: float | None) -> Object3D:
        obs = dataclasses.replace(obj.observations[0], visibility=visibility)
        return dataclasses.replace(obj, observations=(obs,))

    hidden = with_visibility(_obj("h", "lamp", (-1.0, 0.0, 4.0)), 0.2)
    edge = with_visibility(_obj("e", "vase", (1.0, 0.0, 4.0)), MIN_VISIBILITY)
    unstated = _obj("u", "cup", (0.0, 0.0, 3.0))
    scene = _scene(hidden, edge, unstated)
    assert _refusal(scene, "h") == "mostly_occluded"
    assert _texts(scene, "e") == ["the vase"] and _texts(scene, "u") == ["the cup"]
    assert [o.object_id for o in visible_objects(scene, scene.views[0])] == ["e", "u"]


def test_unrankable_same_category_blocks_text_but_not_markers() -> None:
    # A second chair is in view but too small to rank: "the chair" would not be unique to a viewer.
    scene = _scene(
        _obj("a", "chair", (0.0, 0.0, 4.0)),
        _obj("t", "chair", (2.0, 0.0, 9.0), box2d=Box2D(400, 200, 410, 210)),
    )
    assert _texts(scene, "a") == ["the chair (highlighted by the red box)"]
    assert _refusal(scene, "a", allow_markers=False) == "unrankable_same_category"


def test_normalized_coordinates_hand_computed() -> None:
    # 640x480: 64/640 = 0.1, 48/480 = 0.1, 320/640 = 0.5, 240/480 = 0.5 -> (100, 100, 500, 500).
    assert normalize_box_1000(Box2D(64, 48, 320, 240), 640, 480) == (100, 100, 500, 500)
    # Image border (pixel-centre convention): -0.5 -> round(-0.78) = -1 clamped to 0; 639.5 -> round(999.2).
    assert normalize_box_1000(Box2D(-0.5, -0.5, 639.5, 479.5), 640, 480) == (0, 0, 999, 999)
    scene = _scene(
        _obj("a", "chair", (-0.05, 0.0, 4.0), box2d=Box2D(64, 48, 320, 240)),
        _obj("b", "chair", (0.05, 0.0, 4.0), box2d=Box2D(70, 48, 330, 240)),
    )
    ref = choose_reference(scene, scene.views[0], scene.object("a"), random.Random(1))
    assert isinstance(ref, Reference) and ref.marker is not None
    assert ref.marker.kind == "box" and ref.marker.view_id == "v0"
    assert ref.marker.pixel == (64.0, 48.0, 320.0, 240.0)
    assert ref.marker.normalized_1000 == (100, 100, 500, 500)


def _mirrored(scene: Scene) -> Scene:
    """Negate the camera x of every object (cx = (W - 1) / 2, so u -> 639 - u exactly)."""
    out = []
    for o in scene.objects:
        c = UPRIGHT_FROM_CAM.T @ o.box.center  # (3,) camera frame
        out.append(_obj(o.object_id, o.category, (-c[0], c[1], c[2]), tuple(o.box.size)))
    return _scene(*out)


SWAP = {
    "leftmost": "rightmost",
    "rightmost": "leftmost",
    **{f"{w}_from_left": f"{w}_from_right" for w in ("second", "third", "fourth", "fifth")},
    **{f"{w}_from_right": f"{w}_from_left" for w in ("second", "third", "fourth", "fifth")},
}


def _criteria(scene: Scene, oid: str) -> set[str | None]:
    options = reference_options(scene, scene.views[0], scene.object(oid))
    return {r.criterion for r in options} if isinstance(options, list) else {options.reason}


def test_mirror_swaps_leftmost_and_rightmost() -> None:
    mirrored = _mirrored(_row_of_chairs())
    assert _texts(mirrored, "a") == ["the rightmost chair"]
    assert _texts(mirrored, "c") == ["the leftmost chair"]
    assert _texts(mirrored, "t") == ["the table"]


@st.composite
def _chairs(draw: st.DrawFn) -> Scene:
    n = draw(st.integers(2, 5))
    objs = []
    for i in range(n):
        x = draw(st.floats(-2.0, 2.0))
        z = draw(st.floats(2.0, 8.0))
        s = draw(st.floats(0.3, 1.0))
        objs.append(_obj(str(i), "chair", (x, 0.0, z), (s, s, s)))
    return _scene(*objs)


@settings(max_examples=40, deadline=None)
@given(_chairs())
def test_text_references_are_unique_and_mirror_swaps(scene: Scene) -> None:
    view = scene.views[0]
    owner: dict[str, str] = {}
    for o in visible_objects(scene, view):
        options = reference_options(scene, view, o)
        assert isinstance(options, list) and options
        for r in options:
            if r.kind != "marker":
                assert owner.setdefault(r.text, o.object_id) == o.object_id, r.text
    mirrored = _mirrored(scene)
    for o in scene.objects:
        expected = {SWAP.get(c, c) if c else c for c in _criteria(scene, o.object_id)}  # type: ignore[arg-type]
        assert _criteria(mirrored, o.object_id) == expected


def test_choice_is_driven_by_the_given_rng() -> None:
    scene = _row_of_chairs()
    view, b = scene.views[0], scene.object("b")
    picks = {choose_reference(scene, view, b, random.Random(seed)).text for seed in range(20)}  # type: ignore[union-attr]
    assert picks == {"the second chair from the left", "the second chair from the right"}
    again = [choose_reference(scene, view, b, random.Random(7)) for _ in range(2)]
    assert again[0] == again[1]


def test_unknown_refusal_reason_rejected() -> None:
    with pytest.raises(ValueError, match="unknown refusal reason"):
        ReferenceRefusal("bogus")
