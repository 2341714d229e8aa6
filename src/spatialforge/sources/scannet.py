"""ScanNet-style posed scans -> one multi-view Scene per scan (keyframes, depth-tested visibility).

Layout (input = the folder holding `scans/`, the `scans/` folder itself, or one scan folder):

    scans/<scene>/color/<i>.jpg          colour frames (ScanNet: 1296 x 968)
    scans/<scene>/depth/<i>.png          16-bit depth, millimetres, 0 = no data (ScanNet: 640 x 480)
    scans/<scene>/pose/<i>.txt           4 x 4 camera-to-world ("scan" frame); rows of -inf = lost tracking
    scans/<scene>/intrinsic/intrinsic_color.txt, intrinsic_depth.txt   4 x 4 (K in the top-left 3 x 3)
    scans/<scene>/intrinsic/extrinsic_color.txt, extrinsic_depth.txt   4 x 4, optional, must be identity
    scans/<scene>/<scene>.txt            `key = value` lines; `axisAlignment = 16 numbers` (row-major 4 x 4)
    boxes, either (option boxes=auto picks the first that exists):
      annotations: <scene>_vh_clean_2.ply + <scene>_vh_clean_2.0.010000.segs.json (segIndices, one segment
                   id per mesh vertex) + <scene>.aggregation.json (segGroups: objectId, label, segments)
      bbox_npy:    <scene>_bbox.npy (or <scene>_aligned_bbox.npy): (N, 7) cx cy cz dx dy dz nyu40_id in the
                   axis-aligned frame (VoteNet / mmdetection3d `batch_load_scannet_data.py`), in the scan
                   folder or in the folder named by the bbox_dir option (default also tried:
                   <root>/scannet_train_detection_data)

Formats checked against the public code that writes or reads them (read, not copied): ScanNet
`SensReader/python/SensorData.py` (`export_depth_images`: uint16 PNG, depth shift 1000; `export_poses`:
`camera_to_world`, 4 lines of `%f`; `export_intrinsics`: intrinsic_/extrinsic_ color / depth .txt),
ScanNet `BenchmarkScripts/3d_helpers/export_train_mesh_for_evaluation.py` (segGroups objectId, label,
segments; segIndices per vertex of `_vh_clean_2.ply`) and VoteNet `scannet/load_scannet_data.py` (meta line
`axisAlignment = ...`, vertices aligned by `pts @ axis_align_matrix.T`, boxes = (min + max) / 2 and max - min
of an instance's aligned vertices, label = nyu40 id) and `batch_load_scannet_data.py` (`<scene>_bbox.npy`).

Frames and conventions:
- camera: OpenCV (ScanNet poses are OpenCV camera-to-world); pixel centres 0-based (K as given).
- world = the axis-aligned scan frame: world_from_cam = axisAlignment @ pose. ScanNet scans are z-up
  (axisAlignment only turns the scan about z and shifts it so walls follow the axes); without an
  axisAlignment line the identity is used and metadata says so. Gravity (0, 0, -1), source
  "scan_alignment"; the tilt of the alignment's z axis is recorded (0 for a pure turn about z).
- boxes: both routes give AXIS-ALIGNED boxes in the aligned frame (rotation identity): no yaw, no semantic
  front, so has_front is False for every object (the box's +x is the room's x, not the object's front).
  The annotation route also gives each instance's mesh vertices, used as visibility samples.
- wall / floor / ceiling instances are dropped (they are structure, not objects to ask about).
- categories: the annotation's raw label normalised (sources.common.normalize_category), or its NYU40
  class through the label_map option (scannetv2-labels.combined.tsv: raw_category -> nyu40class); bbox
  rows carry NYU40 ids, named from NYU40_NAMES.
- depth (640 x 480, its own K) differs from colour in size AND aspect: visibility reads it through its own
  camera (scene.visibility); the View keeps the raw file as depth (png_u16, scale 0.001) and the depth
  camera in view.metadata["depth_camera"].
- capture_id = scannet/<room>: sceneXXXX without the _YY rescan suffix (rescans of a room never split).

Per-frame problems are counted skips of that frame (metadata["frames_skipped"], reasons below); the scan
survives while at least MIN_FRAMES keyframes remain, else it is a RecordError ("too_few_frames").
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from PIL import Image, UnidentifiedImageError

from spatialforge.errors import RecordError
from spatialforge.geometry.boxes import OrientedBox3D
from spatialforge.geometry.camera import PinholeCamera
from spatialforge.geometry.rotations import is_rotation, nearest_rotation
from spatialforge.geometry.transforms import RigidTransform
from spatialforge.scene.keyframes import (
    SCANNET_ROTATION_DEG,
    SCANNET_TRANSLATION_M,
    KeyframeReport,
    select_keyframes,
)
from spatialforge.scene.records import AssetRef, Gravity, Object3D, ObjectObservation, Scene, View
from spatialforge.scene.visibility import DEPTH_CAMERA_KEY, VisibilityTarget, observe_view, subsample_vertices
from spatialforge.sources.base import SourceAdapter, option_choice, option_float, option_int
from spatialforge.sources.common import normalize_category, parse_floats, read_image_size, read_text
from spatialforge.sources.ply import read_ply_vertices
from spatialforge.sources.registry import register_source

SOURCE = "scannet"
LICENSE = "ScanNet Terms of Use (non-commercial research and education; cite Dai et al., CVPR 2017)"
SCANS_FOLDER = "scans"
VOTENET_FOLDER = "scannet_train_detection_data"
DEPTH_SCALE_TO_M = 0.001  # SensReader: depth shift 1000 (millimetres)
GRAVITY_SOURCE = "scan_alignment"
# Scene.mesh: the `_vh_clean_2.ply` as stored, kind "ply" (scene.room reads it), in the frame "scan" (the
# unaligned reconstruction) when an axisAlignment exists; Scene.metadata[WORLD_FROM_SCAN_KEY] holds that
# 4 x 4 world_from_scan (row-major), so world = M[:3, :3] @ p + M[:3, 3].
MESH_KIND = "ply"
SCAN_FRAME = "scan"
WORLD_FROM_SCAN_KEY = "world_from_scan"
# Annotations that are room structure, not objects (ScanNet raw labels and NYU40 classes alike).
STRUCTURE_CATEGORIES = frozenset({"wall", "floor", "ceiling"})
# NYU40 class names by id (1-based), as in ScanNet's scannetv2-labels.combined.tsv `nyu40class` column.
NYU40_NAMES = (
    "wall", "floor", "cabinet", "bed", "chair", "sofa", "table", "door", "window", "bookshelf",
    "picture", "counter", "blinds", "desk", "shelves", "curtain", "dresser", "pillow", "mirror",
    "floor mat", "clothes", "ceiling", "books", "refridgerator", "television", "paper", "towel",
    "shower curtain", "box", "whiteboard", "person", "night stand", "toilet", "sink", "lamp",
    "bathtub", "bag", "otherstructure", "otherfurniture", "otherprop",
)  # fmt: skip
# NYU40 spellings that would read badly in a question (the raw name stays in source_category).
CATEGORY_FIXES = {
    "refridgerator": "refrigerator",
    "otherstructure": "other structure",
    "otherfurniture": "other furniture",
    "otherprop": "other prop",
}
# A scan needs this many usable keyframes to be a multi-view scene.
MIN_FRAMES = 2
# ScanNet writes poses with `%f` (6 decimals) from float32: R^T R is off by ~1e-6. 1e-3 still refuses
# anything that is not a rotation (a scaled, sheared or garbage matrix); accepted rotations are projected
# onto SO(3) so the record holds an exact one.
POSE_ROTATION_TOL = 1e-3
# An extrinsic_*.txt further than this from the identity would put colour and depth at different poses.
EXTRINSIC_TOL = 1e-4
IMAGE_DIR, DEPTH_DIR, POSE_DIR, INTRINSIC_DIR = "color", "depth", "pose", "intrinsic"
ROOM_PATTERN = re.compile(r"(scene\d{4})_\d{2}")

# Frame skip reasons (metadata["frames_skipped"], adapter stats "frames_skipped/<reason>"); objects dropped
# (structure, empty or degenerate instances) are counted in metadata["objects_dropped"].
MISSING_POSE, MISSING_COLOR, MISSING_DEPTH = "missing_pose", "missing_color", "missing_depth"
INVALID_POSE = "invalid_pose"  # -inf / nan rows: the scan lost tracking
MALFORMED_POSE = "malformed_pose"
NON_RIGID_POSE = "non_rigid_pose"
UNREADABLE_DEPTH, UNREADABLE_IMAGE = "unreadable_depth", "unreadable_image"

BOX_ROUTES = ("auto", "annotations", "bbox_npy")


class FrameFiles(NamedTuple):
    frame: int
    color: Path | None
    depth: Path | None
    pose: Path | None


@dataclass(frozen=True)
class SceneObject:
    """An object before observations: its box in the world, identity and (annotations) its vertices."""

    object_id: str
    source_id: str
    category: str
    source_category: str
    box: OrientedBox3D
    vertices: np.ndarray | None  # (M, 3) world, at most MAX_SAMPLES_PER_OBJECT rows


# ---------------------------------------------------------------- shared by the posed-scan adapters


def pose_from_values(values: Sequence[float] | np.ndarray, view_id: str) -> RigidTransform | str:
    """16 numbers (row-major 4 x 4 camera-to-world) -> world_from_cam, or the reason the frame is unusable:
    INVALID_POSE (NaN / inf: lost tracking), NON_RIGID_POSE (last row not 0 0 0 1, or R not a rotation
    within POSE_ROTATION_TOL). Accepted rotations are projected onto SO(3)."""
    m = np.asarray(values, dtype=float).reshape(4, 4)
    if not np.all(np.isfinite(m)):
        return INVALID_POSE
    if not np.allclose(m[3], [0.0, 0.0, 0.0, 1.0], atol=1e-6) or not is_rotation(
        m[:3, :3], POSE_ROTATION_TOL
    ):
        return NON_RIGID_POSE
    return RigidTransform(nearest_rotation(m[:3, :3]), m[:3, 3], "world", f"cam:{view_id}")


def read_depth_png_m(source: Path | bytes, *, file: str, scale_to_m: float = DEPTH_SCALE_TO_M) -> np.ndarray:
    """(H, W) float64 metres from a 16-bit single-channel PNG (path or bytes); 0 -> NaN (no data).
    RecordError("unreadable_file" / "wrong_type") naming the file."""
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as im:
            mode = im.mode
            raw = np.asarray(im)
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError) as e:
        raise RecordError(
            "unreadable_file", f"cannot read depth PNG: {e}", file=file, field="depth"
        ) from None
    if not (mode.startswith("I;16") or mode == "I") or raw.ndim != 2:
        raise RecordError(
            "wrong_type", f"expected a 16-bit single-channel PNG, got mode {mode}", file=file, field="depth"
        )
    depth = raw.astype(np.float64) * scale_to_m
    depth[~(depth > 0)] = np.nan
    return depth


def camera_dict(camera: PinholeCamera) -> dict[str, float | int]:
    """A camera as plain JSON (view.metadata[DEPTH_CAMERA_KEY]; scene.visibility.depth_camera_of reads it)."""
    return {
        "fx": camera.fx,
        "fy": camera.fy,
        "cx": camera.cx,
        "cy": camera.cy,
        "width": camera.width,
        "height": camera.height,
    }


def observe_keyframes(
    views: Sequence[View],
    depths: Sequence[tuple[np.ndarray, PinholeCamera]],
    targets: Sequence[VisibilityTarget],
) -> tuple[dict[str, list[ObjectObservation]], Counter]:
    """Depth-tested observations of every target in every view (scene.visibility), per object in view
    order, and the tally of rejection reasons over all views."""
    per_object: dict[str, list[ObjectObservation]] = {t.object_id: [] for t in targets}
    tally: Counter = Counter()
    for view, (depth_m, depth_camera) in zip(views, depths, strict=True):
        result = observe_view(view.view_id, view.camera, view.world_from_cam, depth_m, depth_camera, targets)
        tally.update(result.tally)
        for oid, obs in result.observations.items():
            per_object[oid].append(obs)
    return per_object, tally


def keyframe_options(
    options: Mapping[str, str], translation_m: float, rotation_deg: float, *, source: str
) -> tuple[float, float]:
    """(translation_m, rotation_deg) from the keyframe_translation_m / keyframe_rotation_deg options, else
    the given defaults."""
    return (
        option_float(options, "keyframe_translation_m", translation_m, source=source),
        option_float(options, "keyframe_rotation_deg", rotation_deg, source=source),
    )


KEYFRAME_OPTIONS = {
    "keyframe_translation_m": "keyframes: a frame within this distance (m) AND rotation of a kept frame is "
    "dropped (SPAR appendix 7.3)",
    "keyframe_rotation_deg": "keyframes: rotation threshold in degrees (see keyframe_translation_m)",
    "frame_stride": "read every n-th frame only, before keyframe selection (default 1)",
}


def category_name(raw: str) -> str:
    """Raw label or NYU40 class -> our category (normalised; NYU40's run-together names spelled out)."""
    name = normalize_category(raw)
    return CATEGORY_FIXES.get(name, name)


def room_of(scene_name: str) -> str:
    """`scene0012_01` -> `scene0012` (the room; rescans _YY of it share one capture_id); else unchanged."""
    m = ROOM_PATTERN.fullmatch(scene_name)
    return m.group(1) if m else scene_name


# ---------------------------------------------------------------- small readers


def read_matrix4(path: Path, *, record: str, field: str) -> np.ndarray:
    """A 4 x 4 matrix written as 4 lines of 4 numbers (SensReader's save_mat_to_file)."""
    tokens = read_text(path, record=record, field=field).split()
    return parse_floats(tokens, count=16, file=str(path), record=record, field=field).reshape(4, 4)


def read_intrinsics(path: Path, width: int, height: int, *, record: str) -> PinholeCamera:
    """intrinsic_*.txt (K in the top-left 3 x 3 of a 4 x 4) for an image of the given size."""
    m = read_matrix4(path, record=record, field="intrinsics")
    try:
        camera = PinholeCamera.from_matrix(m[:3, :3], width, height)
    except ValueError as e:
        raise RecordError(
            "bad_intrinsics", str(e), file=str(path), record=record, field="intrinsics"
        ) from None
    if camera.fx <= 0 or camera.fy <= 0:
        raise RecordError(
            "bad_intrinsics",
            f"focal lengths must be positive, got fx={camera.fx} fy={camera.fy}",
            file=str(path),
            record=record,
            field="intrinsics",
        )
    return camera


def read_meta(path: Path, *, record: str) -> dict[str, str]:
    """`<scene>.txt`: `key = value` lines (ScanNet scan meta). Missing file -> {}."""
    if not path.is_file():
        return {}
    out: dict[str, str] = {}
    for line in read_text(path, record=record).splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def read_axis_alignment(meta: Mapping[str, str], path: Path, *, record: str) -> np.ndarray | None:
    """(4, 4) world_from_scan from `axisAlignment = 16 numbers` (row-major), None when absent."""
    raw = meta.get("axisAlignment")
    if raw is None:
        return None
    m = parse_floats(raw.split(), count=16, file=str(path), record=record, field="axisAlignment").reshape(
        4, 4
    )
    if not np.allclose(m[3], [0.0, 0.0, 0.0, 1.0], atol=1e-6) or not is_rotation(
        m[:3, :3], POSE_ROTATION_TOL
    ):
        raise RecordError(
            "non_rigid_transform",
            "axisAlignment is not a rigid transform (rotation + translation, last row 0 0 0 1)",
            file=str(path),
            record=record,
            field="axisAlignment",
        )
    m = m.copy()
    m[:3, :3] = nearest_rotation(m[:3, :3])
    return m


def read_label_map(path: Path) -> dict[str, str]:
    """scannetv2-labels.combined.tsv: raw_category -> nyu40class (tab-separated, header row)."""
    text = read_text(path, field="label_map")
    rows = csv.DictReader(text.splitlines(), delimiter="\t")
    if rows.fieldnames is None or not {"raw_category", "nyu40class"} <= set(rows.fieldnames):
        raise RecordError(
            "missing_field",
            "label map needs the columns raw_category and nyu40class",
            file=str(path),
            field="label_map",
        )
    return {row["raw_category"]: row["nyu40class"] for row in rows if row.get("raw_category")}


def load_json(path: Path, *, record: str, field: str) -> Any:
    try:
        return json.loads(read_text(path, record=record, field=field))
    except json.JSONDecodeError as e:
        raise RecordError("invalid_json", str(e), file=str(path), record=record, field=field) from None


# ---------------------------------------------------------------- boxes


def annotation_objects(
    scan_dir: Path,
    scene: str,
    world_from_scan: np.ndarray,
    *,
    label_map: Mapping[str, str] | None,
    dropped: Counter,
) -> list[SceneObject]:
    """Instances of `<scene>.aggregation.json` over the segments of the `_vh_clean_2` mesh, as axis-aligned
    boxes of their aligned vertices (VoteNet's rule: centre (min + max) / 2, size max - min)."""
    ply = scan_dir / f"{scene}_vh_clean_2.ply"
    segs_path = scan_dir / f"{scene}_vh_clean_2.0.010000.segs.json"
    agg_path = scan_dir / f"{scene}.aggregation.json"
    vertices_scan = read_ply_vertices(ply)  # (N, 3) scan frame
    vertices = vertices_scan @ world_from_scan[:3, :3].T + world_from_scan[:3, 3]  # (N, 3) world
    seg_ids = _segment_indices(
        load_json(segs_path, record=scene, field="segIndices"), len(vertices), segs_path, scene
    )
    order = np.argsort(seg_ids, kind="stable")
    unique, starts, counts = np.unique(seg_ids[order], return_index=True, return_counts=True)
    segment_slice = {int(s): (int(a), int(c)) for s, a, c in zip(unique, starts, counts, strict=True)}
    agg = load_json(agg_path, record=scene, field="segGroups")
    groups = agg.get("segGroups") if isinstance(agg, dict) else None
    if not isinstance(groups, list):
        raise RecordError(
            "missing_field", "no segGroups list", file=str(agg_path), record=scene, field="segGroups"
        )
    out: list[SceneObject] = []
    seen: set[str] = set()
    for i, group in enumerate(groups):
        field = f"segGroups[{i}]"
        object_id, label, segments = _group_fields(group, agg_path, scene, field)
        if object_id in seen:
            raise RecordError(
                "duplicate_id",
                f"objectId {object_id} appears twice",
                file=str(agg_path),
                record=scene,
                field=field,
            )
        seen.add(object_id)
        category = category_name(label_map.get(label, label) if label_map is not None else label)
        if label_map is not None and label not in label_map:
            dropped["unmapped_label"] += 1
        if category in STRUCTURE_CATEGORIES:
            dropped["structure_dropped"] += 1
            continue
        missing = [s for s in segments if s not in segment_slice]
        if missing:
            raise RecordError(
                "inconsistent_annotation",
                f"segments {missing[:5]} are not in segIndices",
                file=str(agg_path),
                record=scene,
                field=f"{field}.segments",
            )
        index = (
            np.concatenate([order[a : a + c] for a, c in (segment_slice[s] for s in segments)])
            if segments
            else None
        )
        if index is None or len(index) == 0:
            dropped["empty_instance"] += 1
            continue
        own = vertices[np.sort(index)]  # (M, 3) world, mesh order
        lo, hi = own.min(axis=0), own.max(axis=0)
        if np.any(hi - lo <= 0):
            dropped["degenerate_box"] += 1
            continue
        box = OrientedBox3D((lo + hi) / 2.0, np.eye(3), hi - lo)
        out.append(
            SceneObject(
                object_id,
                f"{scene}.aggregation.json:{field}",
                category,
                label,
                box,
                subsample_vertices(own),
            )
        )
    return out


def _segment_indices(data: Any, n_vertices: int, path: Path, scene: str) -> np.ndarray:
    seg = data.get("segIndices") if isinstance(data, dict) else None
    if not isinstance(seg, list) or not all(isinstance(s, int) and not isinstance(s, bool) for s in seg):
        raise RecordError(
            "wrong_type",
            "segIndices must be a list of integers",
            file=str(path),
            record=scene,
            field="segIndices",
        )
    if len(seg) != n_vertices:
        raise RecordError(
            "inconsistent_annotation",
            f"segIndices has {len(seg)} entries, the mesh has {n_vertices} vertices",
            file=str(path),
            record=scene,
            field="segIndices",
        )
    return np.asarray(seg, dtype=np.int64)


def _group_fields(group: Any, path: Path, scene: str, field: str) -> tuple[str, str, list[int]]:
    where = {"file": str(path), "record": scene}
    if not isinstance(group, dict):
        raise RecordError("wrong_type", "a segGroup must be an object", field=field, **where)
    object_id, label, segments = group.get("objectId"), group.get("label"), group.get("segments")
    if not isinstance(object_id, int) or isinstance(object_id, bool):
        raise RecordError(
            "wrong_type",
            f"objectId must be an integer, got {object_id!r}",
            field=f"{field}.objectId",
            **where,
        )
    if not isinstance(label, str) or not label.strip():
        raise RecordError(
            "wrong_type", f"label must be a non-empty string, got {label!r}", field=f"{field}.label", **where
        )
    if not isinstance(segments, list) or not all(
        isinstance(s, int) and not isinstance(s, bool) for s in segments
    ):
        raise RecordError(
            "wrong_type", "segments must be a list of integers", field=f"{field}.segments", **where
        )
    return str(object_id), label, segments


def bbox_npy_objects(path: Path, scene: str, *, dropped: Counter) -> list[SceneObject]:
    """Rows `cx cy cz dx dy dz nyu40_id` (axis-aligned frame) of a VoteNet / mmdetection3d box export."""
    try:
        rows = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise RecordError("unreadable_file", f"cannot read .npy: {e}", file=str(path), record=scene) from None
    if rows.ndim != 2 or rows.shape[1] != 7 or not np.issubdtype(rows.dtype, np.number):
        raise RecordError(
            "wrong_shape",
            f"expected (N, 7) numbers, got {rows.dtype} {rows.shape}",
            file=str(path),
            record=scene,
        )
    rows = rows.astype(float)
    out: list[SceneObject] = []
    for i, row in enumerate(rows):
        field = f"row {i}"
        if not np.all(np.isfinite(row)):
            raise RecordError(
                "non_finite", "NaN or infinite value", file=str(path), record=scene, field=field
            )
        label = row[6]
        if label != round(label) or not 1 <= label <= len(NYU40_NAMES):
            raise RecordError(
                "unknown_label_id",
                f"label {label} is not an NYU40 id (1..{len(NYU40_NAMES)})",
                file=str(path),
                record=scene,
                field=f"{field} label",
            )
        name = NYU40_NAMES[int(label) - 1]
        if name in STRUCTURE_CATEGORIES:
            dropped["structure_dropped"] += 1
            continue
        if np.any(row[3:6] <= 0):
            dropped["degenerate_box"] += 1
            continue
        box = OrientedBox3D(row[:3], np.eye(3), row[3:6])
        out.append(
            SceneObject(
                str(i), f"{path.name}:{i}", normalize_category(name), f"nyu40:{int(label)}", box, None
            )
        )
    return out


# ---------------------------------------------------------------- adapter


@register_source(SOURCE)
class ScanNetSource(SourceAdapter):
    description = "ScanNet-style posed scans (SensReader export + instance annotations or box export)"
    input_layout = (
        "scans/<scene>/ with color/*.jpg, depth/*.png (mm), pose/*.txt, intrinsic/, <scene>.txt "
        "(axisAlignment) and <scene>.aggregation.json + segs.json + _vh_clean_2.ply or <scene>_bbox.npy"
    )
    OPTIONS = {
        "boxes": "auto (annotations if present, else the box export) | annotations | bbox_npy",
        "bbox_dir": f"folder of <scene>_bbox.npy (default: the scan folder, then <root>/{VOTENET_FOLDER})",
        "label_map": "scannetv2-labels.combined.tsv: name objects by their NYU40 class, not the raw label",
        "split": "split name written into every scene (ScanNet's split lists are separate files)",
        **KEYFRAME_OPTIONS,
    }

    def __init__(
        self,
        input_path: str | Path,
        options: Mapping[str, str] | None = None,
        *,
        output_path: str | Path | None = None,
    ) -> None:
        super().__init__(input_path, options, output_path=output_path)
        self.box_route = option_choice(self.options, "boxes", BOX_ROUTES, source=SOURCE)
        self.translation_m, self.rotation_deg = keyframe_options(
            self.options, SCANNET_TRANSLATION_M, SCANNET_ROTATION_DEG, source=SOURCE
        )
        self.frame_stride = option_int(self.options, "frame_stride", 1, source=SOURCE)
        self.split = self.options.get("split") or None
        self.bbox_dir = Path(self.options["bbox_dir"]) if "bbox_dir" in self.options else None
        self._label_map: dict[str, str] | None = None
        if "label_map" in self.options:
            self._label_map = read_label_map(Path(self.options["label_map"]))
        root = self.input_path
        if (root / SCANS_FOLDER).is_dir():
            self.scans_dir, self.only = root / SCANS_FOLDER, None
        elif (root / POSE_DIR).is_dir():
            self.scans_dir, self.only = root.parent, root.name
        else:
            self.scans_dir, self.only = root, None

    def record_keys(self) -> Iterator[str]:
        if not self.scans_dir.is_dir():
            raise RecordError("missing_file", "no scans folder", file=str(self.scans_dir))
        if self.only is not None:
            yield self.only
            return
        yield from sorted(p.name for p in self.scans_dir.iterdir() if p.is_dir())

    # ------------------------------------------------------------ one scan

    def load_record(self, key: str) -> Scene:
        scan_dir = self.scans_dir / key
        skipped: Counter = Counter()
        meta_path = scan_dir / f"{key}.txt"
        alignment = read_axis_alignment(read_meta(meta_path, record=key), meta_path, record=key)
        world_from_scan = np.eye(4) if alignment is None else alignment
        frames = self._frames(scan_dir, key, skipped)
        posed = self._posed_frames(frames, key, world_from_scan, skipped)
        kept = select_keyframes([t for _, t in posed], self.translation_m, self.rotation_deg)
        keyframes = KeyframeReport(
            len(posed),
            len(kept),
            tuple(str(posed[i][0].frame) for i in kept),
            self.translation_m,
            self.rotation_deg,
        )
        color_k = scan_dir / INTRINSIC_DIR / "intrinsic_color.txt"
        depth_k = scan_dir / INTRINSIC_DIR / "intrinsic_depth.txt"
        self._check_extrinsics(scan_dir, key)
        views, depths = self._views([posed[i] for i in kept], color_k, depth_k, key, skipped)
        if len(views) < MIN_FRAMES:
            raise RecordError(
                "too_few_frames",
                f"{len(views)} usable keyframes (need {MIN_FRAMES}); frames skipped: {dict(skipped)}",
                file=str(scan_dir),
                record=key,
                field="frames",
            )
        dropped: Counter = Counter()
        objects, box_source = self._objects(scan_dir, key, world_from_scan, dropped)
        targets = [VisibilityTarget(o.object_id, o.box, o.vertices) for o in objects]
        per_object, tally = observe_keyframes(views, depths, targets)
        count_posed_scene(
            self.stats, keyframes, len(views), skipped, dropped, tally, len(objects), per_object
        )
        mesh_name = f"{key}_vh_clean_2.ply"
        # The mesh is stored in the scan frame; without an axisAlignment that frame is the world itself.
        mesh_frame = "world" if alignment is None else SCAN_FRAME
        tilt = math.degrees(math.acos(min(1.0, max(-1.0, float(world_from_scan[2, 2])))))
        return Scene(
            scene_id=f"{SOURCE}/{key}",
            capture_id=f"{SOURCE}/{room_of(key)}",
            source=SOURCE,
            split=self.split,
            license=LICENSE,
            asset_root=str(scan_dir.resolve()),
            views=tuple(views),
            objects=tuple(
                Object3D(
                    object_id=o.object_id,
                    source_id=o.source_id,
                    category=o.category,
                    box=o.box,
                    has_front=False,  # axis-aligned boxes: +x is the room's x, not a front
                    source_category=o.source_category,
                    observations=tuple(per_object[o.object_id]),
                    attributes={"box_source": box_source},
                )
                for o in objects
            ),
            gravity=Gravity((0.0, 0.0, -1.0), GRAVITY_SOURCE),
            mesh=AssetRef(mesh_name, MESH_KIND, frame=mesh_frame)
            if (scan_dir / mesh_name).is_file()
            else None,
            metadata={
                WORLD_FROM_SCAN_KEY: world_from_scan.tolist(),
                "axis_alignment": "absent: identity" if alignment is None else f"{key}.txt axisAlignment",
                "axis_alignment_tilt_deg": round(tilt, 6),
                "box_source": box_source,
                "keyframes": {**keyframes.as_dict(), "frame_stride": self.frame_stride},
                "frames_skipped": dict(sorted(skipped.items())),
                "objects_dropped": dict(sorted(dropped.items())),
                "visibility_rejected": dict(sorted(tally.items())),
            },
        )

    def _frames(self, scan_dir: Path, key: str, skipped: Counter) -> list[FrameFiles]:
        """Every frame id found in color/, depth/ or pose/ (numeric stems, in order), strided; frames
        missing one of the three files are counted and dropped."""
        if not (scan_dir / POSE_DIR).is_dir():
            raise RecordError("missing_file", "no pose/ folder", file=str(scan_dir / POSE_DIR), record=key)
        found: dict[str, dict[int, Path]] = {}
        for sub, ext in ((IMAGE_DIR, ".jpg"), (DEPTH_DIR, ".png"), (POSE_DIR, ".txt")):
            folder = scan_dir / sub
            found[sub] = (
                {
                    int(p.stem): p
                    for p in folder.iterdir()
                    if p.suffix == ext and p.stem.isdigit() and p.is_file()
                }
                if folder.is_dir()
                else {}
            )
        ids = sorted(set().union(*(set(d) for d in found.values())))[:: self.frame_stride]
        out: list[FrameFiles] = []
        for i in ids:
            files = FrameFiles(i, found[IMAGE_DIR].get(i), found[DEPTH_DIR].get(i), found[POSE_DIR].get(i))
            missing = [
                reason
                for reason, path in (
                    (MISSING_POSE, files.pose),
                    (MISSING_COLOR, files.color),
                    (MISSING_DEPTH, files.depth),
                )
                if path is None
            ]
            if missing:
                skipped[missing[0]] += 1
                continue
            out.append(files)
        return out

    def _posed_frames(
        self, frames: list[FrameFiles], key: str, world_from_scan: np.ndarray, skipped: Counter
    ) -> list[tuple[FrameFiles, RigidTransform]]:
        """Frames with a usable pose, as (files, world_from_cam = axisAlignment @ pose)."""
        align = RigidTransform.from_matrix(world_from_scan, "world", "scan")
        out = []
        for files in frames:
            assert files.pose is not None
            view_id = str(files.frame)
            try:
                text = files.pose.read_text(encoding="utf-8")
                values = [float(t) for t in text.split()]
            except (OSError, UnicodeDecodeError, ValueError):
                skipped[MALFORMED_POSE] += 1
                continue
            if len(values) != 16:
                skipped[MALFORMED_POSE] += 1
                continue
            pose = pose_from_values(values, view_id)
            if isinstance(pose, str):
                skipped[pose] += 1
                continue
            scan_from_cam = RigidTransform(pose.rotation, pose.translation, "scan", f"cam:{view_id}")
            world_from_cam = align @ scan_from_cam
            out.append(
                (
                    files,
                    RigidTransform(
                        nearest_rotation(world_from_cam.rotation),
                        world_from_cam.translation,
                        "world",
                        f"cam:{view_id}",
                    ),
                )
            )
        return out

    def _check_extrinsics(self, scan_dir: Path, key: str) -> None:
        for name in ("extrinsic_color.txt", "extrinsic_depth.txt"):
            path = scan_dir / INTRINSIC_DIR / name
            if path.is_file():
                m = read_matrix4(path, record=key, field="extrinsics")
                if np.max(np.abs(m - np.eye(4))) > EXTRINSIC_TOL:
                    raise RecordError(
                        "unsupported_extrinsics",
                        "colour and depth must share the pose (extrinsic must be the identity)",
                        file=str(path),
                        record=key,
                        field="extrinsics",
                    )

    def _views(
        self,
        keyframes: list[tuple[FrameFiles, RigidTransform]],
        color_k: Path,
        depth_k: Path,
        key: str,
        skipped: Counter,
    ) -> tuple[list[View], list[tuple[np.ndarray, PinholeCamera]]]:
        """Views of the keyframes whose image header and depth PNG read; the depth maps with their camera."""
        views: list[View] = []
        depths: list[tuple[np.ndarray, PinholeCamera]] = []
        cameras: dict[tuple[str, int, int], PinholeCamera] = {}

        def camera(path: Path, width: int, height: int) -> PinholeCamera:
            k = (str(path), width, height)
            if k not in cameras:
                cameras[k] = read_intrinsics(path, width, height, record=key)
            return cameras[k]

        for files, world_from_cam in keyframes:
            assert files.color is not None and files.depth is not None
            view_id = str(files.frame)
            try:
                width, height = read_image_size(files.color, record=key, field="image")
            except RecordError:
                skipped[UNREADABLE_IMAGE] += 1
                continue
            try:
                depth_m = read_depth_png_m(files.depth, file=str(files.depth))
            except RecordError:
                skipped[UNREADABLE_DEPTH] += 1
                continue
            depth_camera = camera(depth_k, depth_m.shape[1], depth_m.shape[0])
            views.append(
                View(
                    view_id=view_id,
                    image_path=f"{IMAGE_DIR}/{files.color.name}",
                    camera=camera(color_k, width, height),
                    world_from_cam=world_from_cam,
                    depth=AssetRef(
                        f"{DEPTH_DIR}/{files.depth.name}", "png_u16", f"cam:{view_id}", DEPTH_SCALE_TO_M
                    ),
                    metadata={"frame_index": files.frame, DEPTH_CAMERA_KEY: camera_dict(depth_camera)},
                )
            )
            depths.append((depth_m, depth_camera))
        return views, depths

    def _objects(
        self, scan_dir: Path, key: str, world_from_scan: np.ndarray, dropped: Counter
    ) -> tuple[list[SceneObject], str]:
        agg = scan_dir / f"{key}.aggregation.json"
        route = self.box_route
        if route == "auto":
            route = "annotations" if agg.is_file() else "bbox_npy"
        if route == "annotations":
            return annotation_objects(
                scan_dir, key, world_from_scan, label_map=self._label_map, dropped=dropped
            ), route
        return bbox_npy_objects(self._bbox_path(scan_dir, key), key, dropped=dropped), route

    def _bbox_path(self, scan_dir: Path, key: str) -> Path:
        folders = (
            [self.bbox_dir]
            if self.bbox_dir is not None
            else [scan_dir, self.scans_dir.parent / VOTENET_FOLDER]
        )
        names = (f"{key}_bbox.npy", f"{key}_aligned_bbox.npy")
        for folder in folders:
            for name in names:
                if (folder / name).is_file():
                    return folder / name
        raise RecordError(
            "missing_file",
            f"no boxes: neither {key}.aggregation.json nor {' / '.join(names)} "
            f"in {', '.join(map(str, folders))}",
            file=str(scan_dir),
            record=key,
            field="boxes",
        )


def count_posed_scene(
    stats: Counter,
    keyframes: KeyframeReport,
    n_views: int,
    skipped: Counter,
    dropped: Counter,
    not_visible: Counter,
    n_objects: int,
    per_object: Mapping[str, list[ObjectObservation]],
) -> None:
    """Add one posed scan's counts to an adapter's stats (the ingest report's source_stats): frames posed
    and kept, views, objects, observations, and every frame skip, object drop and visibility refusal by
    reason. Shared by the ScanNet and CA-1M adapters."""
    stats["scenes"] += 1
    stats["frames_posed"] += keyframes.frames_in
    stats["frames_kept"] += keyframes.frames_kept
    stats["views"] += n_views
    stats["objects"] += n_objects
    stats["observations"] += sum(len(v) for v in per_object.values())
    for reason, n in skipped.items():
        stats[f"frames_skipped/{reason}"] += n
    for reason, n in dropped.items():
        stats[f"objects_dropped/{reason}"] += n
    for reason, n in not_visible.items():
        stats[f"not_visible/{reason}"] += n
