"""Pose-based keyframe subsampling of a posed image sequence (SPAR appendix 7.3, "Image subsampling").

SPAR drops frames that look like a frame already kept: for a candidate frame i and an already kept frame
j it first compares camera translations, d = |t_i - t_j| (Euclidean, metres); if d is within the
translation threshold it compares rotations, theta = arccos((trace(R_j^T R_i) - 1) / 2) (the angle of the
relative rotation); if theta is also within the rotation threshold, frame i is redundant. A frame is kept
when no kept frame is close in *both* translation and rotation. SPAR reports that this drops about 90 % of
the frames of a scan.

Our rule, exactly: walk the frames in capture order; frame 0 is always kept; frame i is dropped iff some
already kept frame j has d <= translation_m AND theta <= rotation_deg, and kept otherwise. "Within"
includes the threshold itself (SPAR: "if d <= tau_t ... rotation filtering"). The walk is greedy in capture
order, so the kept set depends on the order (reversing a trajectory can keep different frames); that is
intended: it keeps the first frame of each new viewpoint as the camera reaches it.

The thresholds SPAR used for ScanNet and ScanNet++ are missing from our copy of the paper (the numbers
were lost from the text of appendix 7.3), so the per-source defaults below are ours, chosen to keep about
10 % of a 30 fps handheld scan (measured on a synthetic walking trajectory in tests/scene/test_keyframes.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import NamedTuple

import numpy as np

from spatialforge.geometry.transforms import RigidTransform
from spatialforge.scene.records import Scene

# Defaults, per source. A handheld scan walks at ~0.3-0.5 m/s and turns at ~15-30 deg/s; at 30 fps that is
# 1-1.7 cm and 0.5-1 deg per frame. 0.15 m / 10 deg is crossed every ~10-15 frames, keeping ~7-10 % of
# the frames, and a new kept frame is at most a short step (or a small turn) away from the previous one,
# so consecutive keyframes still overlap (cross-view tasks need co-visible objects).
SCANNET_TRANSLATION_M = 0.15
SCANNET_ROTATION_DEG = 10.0
# CA-1M captures are the same kind of handheld iPad scan (ARKitScenes), released at full frame rate; the
# thresholds are spatial, so the same values keep the same viewpoints whatever the frame rate.
CA1M_TRANSLATION_M = 0.15
CA1M_ROTATION_DEG = 10.0
# For a scenes JSONL of synthetic trajectories (`spatialforge keyframes`), whose views are already sparse.
DEFAULT_TRANSLATION_M = SCANNET_TRANSLATION_M
DEFAULT_ROTATION_DEG = SCANNET_ROTATION_DEG


class KeyframeReport(NamedTuple):
    """What subsampling did to one sequence."""

    frames_in: int
    frames_kept: int
    kept_view_ids: tuple[str, ...]
    translation_m: float
    rotation_deg: float

    @property
    def kept_fraction(self) -> float:
        return self.frames_kept / self.frames_in if self.frames_in else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "frames_in": self.frames_in,
            "frames_kept": self.frames_kept,
            "translation_m": self.translation_m,
            "rotation_deg": self.rotation_deg,
        }


def check_thresholds(translation_m: float, rotation_deg: float) -> None:
    """ValueError unless both thresholds are finite and >= 0 (0 keeps every distinct pose)."""
    for name, value in (("translation_m", translation_m), ("rotation_deg", rotation_deg)):
        if not (math.isfinite(value) and value >= 0.0):
            raise ValueError(f"keyframe threshold {name} must be a finite number >= 0, got {value!r}")


def _pose_arrays(world_from_cams: Sequence[RigidTransform] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """((N, 3) camera centres in the world, (N, 3, 3) world_from_cam rotations)."""
    if isinstance(world_from_cams, np.ndarray):
        m = np.asarray(world_from_cams, dtype=float)
        if m.ndim != 3 or m.shape[1:] not in ((4, 4), (3, 4)):
            raise ValueError(f"expected (N, 4, 4) or (N, 3, 4) poses, got {m.shape}")
        return m[:, :3, 3].copy(), m[:, :3, :3].copy()
    if not world_from_cams:
        return np.zeros((0, 3)), np.zeros((0, 3, 3))
    centres = np.array([t.translation for t in world_from_cams], dtype=float)
    rotations = np.array([t.rotation for t in world_from_cams], dtype=float)
    return centres, rotations


def select_keyframes(
    world_from_cams: Sequence[RigidTransform] | np.ndarray, translation_m: float, rotation_deg: float
) -> list[int]:
    """Indices (ascending) of the frames kept by the SPAR rule above; pure, no side effects.

    world_from_cams: per frame, in capture order, the camera-to-world transform (RigidTransforms or an
    (N, 4, 4) array). Frame i is compared with every frame kept before it (vectorised over those).
    """
    check_thresholds(translation_m, rotation_deg)
    centres, rotations = _pose_arrays(world_from_cams)
    n = len(centres)
    if n == 0:
        return []
    # theta <= r  <=>  cos(theta) >= cos(r)  <=>  trace(R_j^T R_i) >= 1 + 2 cos(r): no arccos per pair.
    # The trace is clamped to [-1, 3] like the angle formula's argument, so round-off cannot flip a test.
    min_trace = 1.0 + 2.0 * math.cos(math.radians(min(rotation_deg, 180.0)))
    kept = [0]
    kept_centres = np.empty((n, 3))
    kept_rotations = np.empty((n, 3, 3))
    kept_centres[0], kept_rotations[0] = centres[0], rotations[0]
    for i in range(1, n):
        k = len(kept)
        near = np.linalg.norm(kept_centres[:k] - centres[i], axis=1) <= translation_m  # (k,)
        if near.any():
            # trace(R_j^T R_i) = sum over elements of R_j * R_i, for each kept j that is near.
            traces = np.clip(np.einsum("kab,ab->k", kept_rotations[:k][near], rotations[i]), -1.0, 3.0)
            if np.any(traces >= min_trace - 1e-12):
                continue
        kept_centres[k], kept_rotations[k] = centres[i], rotations[i]
        kept.append(i)
    return kept


def rotation_angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    """Angle of the relative rotation a^T b in degrees (trace formula, argument clamped to [-1, 1])."""
    cos = (float(np.trace(np.asarray(a).T @ np.asarray(b))) - 1.0) / 2.0
    return math.degrees(math.acos(min(1.0, max(-1.0, cos))))


def subsample_scene(scene: Scene, translation_m: float, rotation_deg: float) -> tuple[Scene, KeyframeReport]:
    """The scene with only its keyframe views (in their order) and the observations made in them.

    Objects are kept even when no kept view observes them (they are still in the scene). Views are taken
    in the scene's view order, which multi-view sources write in capture order.
    """
    kept = select_keyframes([v.world_from_cam for v in scene.views], translation_m, rotation_deg)
    views = tuple(scene.views[i] for i in kept)
    kept_ids = {v.view_id for v in views}
    objects = tuple(
        replace(o, observations=tuple(ob for ob in o.observations if ob.view_id in kept_ids))
        for o in scene.objects
    )
    report = KeyframeReport(
        len(scene.views), len(views), tuple(v.view_id for v in views), translation_m, rotation_deg
    )
    return replace(scene, views=views, objects=objects), report
