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

import numpy as np

from spatialforge.geometry.boxes import OrientedBox3D
from spatialforge.geometry.gravity import gravity_aligned_from_cam
from spatialforge.geometry.transforms import RigidTransform
from spatialforge.qa.references import (
    Reference,
    ReferenceRefusal,
    marker_reference,
    reference_options,
    visibility_refusal,
)
from spatialforge.scene.records import Object3D, Scene, View
from spatialforge.tasks.sampling import below


class ViewContext:
    """One view of one scene, with its visible objects and their boxes in the camera and judging frames."""

    def __init__(self, scene: Scene, view: View) -> None:
        self.scene = scene
        self.view = view
        self.cam_frame = view.frame  # "cam:<view_id>"
        self.has_gravity = scene.gravity is not None
        self.judge_frame = f"cam_gravity:{view.view_id}" if self.has_gravity else self.cam_frame
        self._cam_from_world = view.cam_from_world()
        # (3, 3) judge_from_cam: rotation only (same origin), identity without gravity.
        if scene.gravity is not None:
            up_world = -np.asarray(scene.gravity.down_world, dtype=float)
            self._judge_from_cam = gravity_aligned_from_cam(view.world_from_cam, up_world).rotation
        else:
            self._judge_from_cam = np.eye(3)
        self._references: dict[str, list[Reference] | ReferenceRefusal] = {}

    @cached_property
    def _visibility(self) -> dict[str, ReferenceRefusal | None]:
        """object_id -> why it is not visible in this view (qa.references.visibility_refusal), or None."""
        return {o.object_id: visibility_refusal(self.scene, self.view, o) for o in self.scene.objects}

    @cached_property
    def visible(self) -> tuple[Object3D, ...]:
        """Objects visible in this view with a well-formed box (finite, positive size), in scene order."""
        return tuple(
            o for o in self.scene.objects if self._visibility[o.object_id] is None and o.box.is_well_formed
        )

    @cached_property
    def boxes_cam(self) -> dict[str, OrientedBox3D]:
        """object_id -> box in the camera frame, for visible objects."""
        return {o.object_id: o.box.transformed(self._cam_from_world) for o in self.visible}

    @cached_property
    def boxes_judge(self) -> dict[str, OrientedBox3D]:
        """object_id -> box in the judging frame (cam_gravity when gravity is known), for visible objects."""
        if not self.has_gravity:
            return self.boxes_cam
        judge_from_cam = RigidTransform(self._judge_from_cam, np.zeros(3), self.judge_frame, self.cam_frame)
        return {oid: box.transformed(judge_from_cam) for oid, box in self.boxes_cam.items()}

    def front_judge(self, obj: Object3D) -> np.ndarray | None:
        """(3,) obj's front in the judging frame, or None when it has none."""
        if not obj.has_front:
            return None
        return self.boxes_judge[obj.object_id].front_direction()

    @cached_property
    def distances(self) -> dict[str, float]:
        """object_id -> metres, Euclidean, camera centre to box centre, for visible objects."""
        return {oid: float(np.linalg.norm(box.center)) for oid, box in self.boxes_cam.items()}

    # -------------------------------------------------------------- references

    def _options(self, obj: Object3D) -> list[Reference] | ReferenceRefusal:
        cached = self._references.get(obj.object_id)
        if cached is None:
            cached = reference_options(
                self.scene, self.view, obj, visibility=lambda o: self._visibility[o.object_id]
            )
            self._references[obj.object_id] = cached
        return cached

    def refer(
        self,
        obj: Object3D,
        rng: random.Random,
        used_colours: Sequence[str],
        avoid_criteria: frozenset[str] = frozenset(),
    ) -> Reference | ReferenceRefusal:
        """A unique reference to obj, drawn by rng; text references whose criterion is in avoid_criteria
        are not used (they would give the answer away), falling back to a box marker. A marker gets the
        first colour not in used_colours."""
        options = self._options(obj)
        if isinstance(options, ReferenceRefusal):
            return options
        usable = (
            [r for r in options if r.criterion is None or r.criterion not in avoid_criteria]
            if avoid_criteria
            else options
        )
        if usable and usable[0].kind != "marker":
            return usable[below(rng, len(usable))]
        return marker_reference(self.view, obj, used_colours)
