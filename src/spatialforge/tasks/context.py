"""Per-view facts every task needs, computed once per (scene, view) and shared by all tasks.

Frames (SPEC section 1): `cam` is the view's OpenCV camera frame (+x right, +y down, +z forward);
`judge` is the frame left/right, above/below and horizontal/vertical are judged in: the gravity-aligned
camera frame (`cam_gravity:<view>`, +y exactly along gravity) when the scene knows gravity, else the camera
frame itself. Both share the camera's origin, so distances to the camera and between objects are the same
in either; depth (z) is taken in `cam`, the image's own viewing direction.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from spatialforge.errors import RecordError
from spatialforge.geometry.gravity import gravity_aligned_from_cam
from spatialforge.qa.references import (
    MARKER_COLOURS,
    Reference,
    ReferenceRefusal,
    first_free_colour,
    marker_reference_in,
    no_free_colour,
    reference_options,
    visibility_refusal,
)
from spatialforge.scene.records import Object3D, Scene, View
from spatialforge.tasks.sampling import below

if TYPE_CHECKING:
    from spatialforge.scene.depth import DepthSampler

Vec3 = tuple[float, float, float]

# Reasons a view cannot serve a task at all (ViewContext.unmet_requirement).
NO_DEPTH = "no_depth"
NO_GRAVITY = "no_gravity"
SINGLE_VIEW = "single_view"
NO_METRIC_SCALE = "no_metric_scale"
# The requirements that hold or fail for a whole view (the others are checked per object by the tasks).
VIEW_REQUIREMENTS = ("depth", "gravity", "multi_view", "metric_scale")


class ViewContext:
    """One view of one scene: its visible objects, and their centres, fronts and camera distances in the
    camera and judging frames as plain floats (computed together in one numpy pass, then read by key: tasks
    look them up for every candidate, where numpy's per-call overhead would dominate)."""

    def __init__(self, scene: Scene, view: View, also_visible_in: Sequence[ViewContext] = ()) -> None:
        """also_visible_in: other views' contexts of the same scene; an object visible in any of them counts
        as visible here too, with its centre and front still taken in this view's frames. That is the main
        viewpoint of a multi-view question (tasks/multiview.py): objects seen in any image, judged from the
        first image's camera. Such a context names no object itself: each is named in an image it is visible
        in (Mention.image)."""
        self.scene = scene
        self.view = view
        self.cam_frame = view.frame  # "cam:<view_id>"
        self.has_gravity = scene.gravity is not None
        self.judge_frame = f"cam_gravity:{view.view_id}" if self.has_gravity else self.cam_frame
        cam_from_world = view.cam_from_world()
        # (3,) unit world up (None without gravity); (3, 3) judge_from_cam: rotation only (same origin),
        # identity without gravity.
        self.up_world = (
            -np.asarray(scene.gravity.down_world, dtype=float) if scene.gravity is not None else None
        )
        if self.up_world is not None:
            judge_from_cam = gravity_aligned_from_cam(view.world_from_cam, self.up_world).rotation
        else:
            judge_from_cam = np.eye(3)
        self.judge_from_cam = judge_from_cam  # (3, 3) rotation, same origin
        # Each object's (bottom, top) along up_world, filled on demand (vertical_extent).
        self._vertical: dict[str, tuple[float, float]] = {}
        self._references: dict[str, list[Reference] | ReferenceRefusal] = {}
        self._usable: dict[tuple[str, frozenset[str]], list[Reference]] = {}
        # (object_id, colour, image number) -> its box-marker reference (the clipped 2D box and its 0-1000
        # grid are computed once per object and colour, not for every question that marks it).
        self._markers: dict[tuple[str, str, int | None], Reference] = {}
        # object_id -> (3,) box centre, metres, in cam / in the judging frame, and (3,) unit front in the
        # judging frame (None for front-less objects), for the visible objects below; the Euclidean distance
        # camera centre -> box centre, metres, for every object (references compare a visible object with
        # its whole category).
        self.center_cam: dict[str, Vec3] = {}
        self.center_judge: dict[str, Vec3] = {}
        self._front_judge: dict[str, Vec3 | None] = {}
        objects = scene.objects
        boxes = [o.box for o in objects]
        centres_world = np.array([b.center for b in boxes]).reshape(-1, 3)  # (M, 3) m, world
        cam = centres_world @ cam_from_world.rotation.T + cam_from_world.translation  # (M, 3) m, cam
        judge = cam @ judge_from_cam.T  # (M, 3) m, judging frame
        fronts_world = np.array([b.rotation[:, 0] for b in boxes]).reshape(-1, 3)  # (M, 3) object +x, world
        fronts = fronts_world @ (judge_from_cam @ cam_from_world.rotation).T  # (M, 3) judging frame
        cam_rows, judge_rows, front_rows = cam.tolist(), judge.tolist(), fronts.tolist()
        self.distances: dict[str, float] = dict(
            zip((o.object_id for o in objects), np.linalg.norm(cam, axis=1).tolist(), strict=True)
        )
        self._visibility = {
            o.object_id: visibility_refusal(scene, view, o, center_z=row[2])
            for o, row in zip(objects, cam_rows, strict=True)
        }
        if also_visible_in:
            # Visible in this view or in another of the set: the refusal here only when none sees it.
            for other in also_visible_in:
                for oid, refusal in other._visibility.items():
                    if refusal is None:
                        self._visibility[oid] = None
        visible = []
        for i, o in enumerate(objects):
            # Visible in this view, with a well-formed box (finite, positive size); in scene order.
            if self._visibility[o.object_id] is None and o.box.is_well_formed:
                visible.append(o)
                oid = o.object_id
                self.center_cam[oid] = tuple(cam_rows[i])
                self.center_judge[oid] = tuple(judge_rows[i])
                self._front_judge[oid] = tuple(front_rows[i]) if o.has_front else None
        self.visible: tuple[Object3D, ...] = tuple(visible)

    def unmet_requirement(self, requires: Sequence[str]) -> str | None:
        """Why this view cannot serve a task declaring `requires` (spec.REQUIREMENTS), or None: "no_depth"
        (neither a depth map nor a point map), "no_gravity" (scene without a known gravity), "single_view"
        (a multi-view task on a one-view scene), "no_metric_scale" (lengths not in metres, e.g. ImageNet3D).
        "boxes" and "box2d" always hold here, and "front" is a
        property of each object, which tasks check themselves."""
        if "depth" in requires and self.view.depth is None and self.view.point_map is None:
            return NO_DEPTH
        if "gravity" in requires and not self.has_gravity:
            return NO_GRAVITY
        if "multi_view" in requires and len(self.scene.views) < 2:
            return SINGLE_VIEW
        if "metric_scale" in requires and not self.scene.has_metric_scale:
            return NO_METRIC_SCALE
        return None

    @cached_property
    def depth(self) -> DepthSampler | str:
        """The view's depth at pixels (scene.depth.open_depth), opened on the first call only: a raster is
        read once per view and only when a task asks for depth, and nothing is computed for the others.
        A string instead of a sampler says why there is none: "no_depth" (neither depth nor point map),
        "point_map_unsupported", or "depth_<reason>" for an asset that cannot be read (missing_file, ...)."""
        if self.view.depth is None and self.view.point_map is None:
            return NO_DEPTH
        # Imported here: the depth readers pull in scipy.io and PIL, which tasks without depth never need.
        from spatialforge.scene.depth import POINT_MAP_UNSUPPORTED, open_depth

        try:
            return open_depth(self.scene, self.view)
        except RecordError as e:
            return POINT_MAP_UNSUPPORTED if e.reason == POINT_MAP_UNSUPPORTED else f"depth_{e.reason}"

    def vertical_extent(self, obj: Object3D) -> tuple[float, float] | None:
        """(bottom, top) of obj's box along world up, metres (None without gravity); once per object."""
        if self.up_world is None:
            return None
        cached = self._vertical.get(obj.object_id)
        if cached is None:
            cached = self._vertical[obj.object_id] = obj.box.extent_along(self.up_world)
        return cached

    def visibility_of(self, obj: Object3D) -> ReferenceRefusal | None:
        """Why obj is not visible in this view (qa.references.visibility_refusal), None if it is."""
        return self._visibility[obj.object_id]

    def _distance_of(self, obj: Object3D) -> float:
        return self.distances[obj.object_id]

    def front_judge(self, obj: Object3D) -> Vec3 | None:
        """(3,) obj's unit front in the judging frame, or None when it has none (obj must be visible)."""
        return self._front_judge[obj.object_id]

    # -------------------------------------------------------------- references

    def _options(self, obj: Object3D) -> list[Reference] | ReferenceRefusal:
        cached = self._references.get(obj.object_id)
        if cached is None:
            cached = reference_options(
                self.scene, self.view, obj, visibility=self.visibility_of, distance=self._distance_of
            )
            self._references[obj.object_id] = cached
        return cached

    def refer(
        self,
        obj: Object3D,
        rng: random.Random,
        used_colours: Sequence[str],
        avoid_criteria: frozenset[str] = frozenset(),
        colours: Sequence[str] = MARKER_COLOURS,
    ) -> Reference | ReferenceRefusal:
        """A unique reference to obj, drawn by rng; text references whose criterion is in avoid_criteria
        are not used (they would give the answer away), falling back to a box marker. A marker gets the
        first colour of `colours` not in used_colours."""
        key = (obj.object_id, avoid_criteria)
        usable = self._usable.get(key)
        if usable is None:
            options = self._options(obj)
            if isinstance(options, ReferenceRefusal):
                return options
            usable = [r for r in options if r.criterion is None or r.criterion not in avoid_criteria]
            self._usable[key] = usable
        if usable and usable[0].kind != "marker":
            return usable[below(rng, len(usable))]
        return self.marker(obj, used_colours, colours)

    def marker(
        self,
        obj: Object3D,
        used_colours: Sequence[str],
        colours: Sequence[str] = MARKER_COLOURS,
        image_number: int | None = None,
    ) -> Reference | ReferenceRefusal:
        """qa.references.marker_reference in this view (the first colour of `colours` not in used_colours),
        built once per object, colour and image number."""
        colour = first_free_colour(colours, used_colours)
        if colour is None:
            return no_free_colour(used_colours)
        key = (obj.object_id, colour, image_number)
        found = self._markers.get(key)
        if found is None:
            found = self._markers[key] = marker_reference_in(self.view, obj, colour, image_number)
        return found
