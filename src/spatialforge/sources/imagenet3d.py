"""ImageNet3D object poses (Ma et al., NeurIPS 2024; HF `ccvl/ImageNet3D`, github.com/wufeim/imagenet3d).

SpatialLLM (paper 001, sec. 3.2) builds its 3D-informed probing data (azimuth / elevation viewpoint of each
object) from ImageNet3D. Layout (root = the `imagenet3d` folder, or a folder holding it):

    imagenet3d/<category>/<image_stem>.JPEG
    imagenet3d/<category>/<image_stem>.npz      "annotations": 1-D object array of dicts, one per object

Per object we read azimuth, elevation, theta (radians), distance (CAD-normalised units, not metres),
viewport (px), px/py or principal (px), bbox (x1, y1, x2, y2 px), height/width (image size), and optionally
class, cad_index, focal, object_status, dense, ignore; other keys are ignored. The .npz is read with
sources.safe_npz (a restricted unpickler): never `np.load(allow_pickle=True)` on downloaded files.

Camera model (PASCAL3D+'s, also in the authors' render_utils.py): in the CAD frame (z up) the camera centre
is C = d (cos e sin a, -cos e cos a, sin e), looking at the CAD origin; the camera's rotation is
R = Rx(e - pi/2) Rz(-a) into an OpenGL-style camera (x right, y up, looking along -z); points project with
focal length viewport px (PASCAL3D+'s focal = 1 times viewport), are rotated in the image plane by theta
(counter-clockwise on screen for theta > 0, as R2d(theta) acts on y-up image coordinates), and the CAD
origin lands on the principal pixel (px, py).

Our scene (one per image): the world frame is the OpenCV camera frame of the one view (identity pose, no
gravity); the camera is fx = fy = viewport, principal point at the image centre ((W-1)/2, (H-1)/2). Each
object's centre is on the ray through (px, py) at `distance` from the camera (CAD units), so it projects
to (px, py) exactly. Its rotation is cam_from_cad = A @ CV_FROM_GL @ Rz(theta) @ R, with A the smallest
rotation taking the optical axis onto that ray: then the direction from the object to the camera, written
in the CAD frame, is exactly C / |C|, and our viewpoint tasks recover the annotated azimuth and elevation.
(The annotation's virtual camera has its principal point at (px, py); ours differs from it by the rotation
A about the camera centre, which moves the object's projected shape by a second-order perspective effect
only.) Object frame: +x front, +y left, +z up (geometry.boxes); CAD_FROM_OBJECT maps it into the CAD frame
under the ASSUMPTION named there. Box: a nominal cube whose projected size matches the annotated 2D box.
Lengths are not metres: Scene.metadata["metric_scale"] is False, so every metric task is skipped
("no_metric_scale") and references never rank by distance or size.

Per-object skips (counted in Scene.metadata["skipped_annotations"], as the Omni3D adapter does): "no_pose"
(no principal point, or distance exactly 0: the release's objects annotated in 2D only; the authors'
preprocessing drops both), "pose_unreliable" (object_status "status_bad": "very hard to tell the pose"),
"ignored_by_source" (ignore flag > 0, dropped by the authors' preprocessing), "elevation_out_of_range"
(|elevation| > 90 deg after wrapping). Malformed values are a RecordError for the whole image.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spatialforge.errors import RecordError
from spatialforge.geometry.boxes import OrientedBox3D
from spatialforge.geometry.boxes2d import Box2D
from spatialforge.geometry.camera import PinholeCamera
from spatialforge.geometry.rotations import rot_x, rot_z
from spatialforge.geometry.transforms import RigidTransform
from spatialforge.scene.records import METRIC_SCALE_KEY, UNLOCATED_CATEGORIES_KEY, Object3D, Scene, View
from spatialforge.sources.base import SourceAdapter
from spatialforge.sources.common import normalize_category, observe, read_image_size, safe_join
from spatialforge.sources.fronts import has_semantic_front
from spatialforge.sources.registry import register_source
from spatialforge.sources.safe_npz import read_npz_array

SOURCE = "imagenet3d"
NESTED_FOLDER = "imagenet3d"
LICENSE = "CC BY-NC 4.0"  # HF dataset card of ccvl/ImageNet3D
ANNOTATIONS_KEY = "annotations"
NPZ_SUFFIX = ".npz"
# Image file suffixes, in the order we look for them (the release uses .JPEG).
IMAGE_SUFFIXES = (".JPEG", ".jpeg", ".jpg", ".JPG", ".png", ".PNG")
DISTANCE_UNIT = "imagenet3d_cad"
POSE_CONVENTION = (
    "PASCAL3D+ viewpoint (azimuth, elevation, theta, distance, principal px/py, focal 1 x viewport px); "
    "camera centre on the ray through the principal pixel; CAD front assumed along -y (left +x, up +z)"
)

# ASSUMPTION, to verify against a real sample rendered with its CAD model: ImageNet3D's canonical CAD frame
# (PASCAL3D+'s) has the object's front along -y, its left along +x and up along +z, so annotated azimuth 0
# looks at the front and azimuth +90 deg at the object's left side (PASCAL VOC view labels read azimuth 0
# as Frontal and 90 as Left; tasks/viewpoint.py). Under it, our object axes in CAD coordinates are:
CAD_FRONT_AXIS = (0.0, -1.0, 0.0)
CAD_LEFT_AXIS = (1.0, 0.0, 0.0)
CAD_UP_AXIS = (0.0, 0.0, 1.0)
# (3, 3) cad_from_object: columns are our object's +x (front), +y (left), +z (up) in the CAD frame.
CAD_FROM_OBJECT = np.array([CAD_FRONT_AXIS, CAD_LEFT_AXIS, CAD_UP_AXIS]).T
# (3, 3) cv_from_gl: OpenCV camera (x right, y down, z forward) from PASCAL3D+'s (x right, y up, z back).
CV_FROM_GL = np.diag([1.0, -1.0, -1.0])
# PASCAL3D+ writes focal = 1 (the focal length is viewport px); another value has no documented meaning.
EXPECTED_FOCAL = 1.0
# The object_status the authors' preprocessing drops (wufeim/imagenet3d README and preprocess_data.py).
UNRELIABLE_STATUS = "status_bad"

NO_POSE = "no_pose"
POSE_UNRELIABLE = "pose_unreliable"
IGNORED_BY_SOURCE = "ignored_by_source"
ELEVATION_OUT_OF_RANGE = "elevation_out_of_range"
SKIP_REASONS = (NO_POSE, POSE_UNRELIABLE, IGNORED_BY_SOURCE, ELEVATION_OUT_OF_RANGE)


@dataclass(frozen=True)
class PoseAnnotation:
    """One posed object of an .npz, validated. Angles in radians as annotated (not yet wrapped); distance in
    CAD units; principal and bbox in 0-based pixels (the authors' renderer draws them with OpenCV)."""

    index: int
    category_raw: str
    azimuth_rad: float
    elevation_rad: float
    theta_rad: float
    distance: float
    principal: tuple[float, float]
    bbox: Box2D
    viewport: float
    cad_index: int | None
    extras: dict[str, Any]


# ---------------------------------------------------------------- geometry


def wrap_to_pi(angle_rad: float) -> float:
    """angle wrapped to (-pi, pi]."""
    r = math.remainder(angle_rad, 2.0 * math.pi)  # [-pi, pi]
    return math.pi if r <= -math.pi else r + 0.0  # + 0.0: no -0.0


def camera_centre_cad(azimuth_rad: float, elevation_rad: float, distance: float) -> np.ndarray:
    """(3,) PASCAL3D+ camera centre in the CAD frame (z up), CAD units."""
    ce = math.cos(elevation_rad)
    return distance * np.array(
        [ce * math.sin(azimuth_rad), -ce * math.cos(azimuth_rad), math.sin(elevation_rad)]
    )


def gl_from_cad(azimuth_rad: float, elevation_rad: float) -> np.ndarray:
    """(3, 3) PASCAL3D+'s R: CAD frame -> its camera (x right, y up, looking along -z); R @ C = (0, 0, d)."""
    return rot_x(elevation_rad - math.pi / 2.0) @ rot_z(-azimuth_rad)


def rotation_onto(direction: np.ndarray) -> np.ndarray:
    """(3, 3) the smallest rotation taking +z onto the unit vector `direction` (z component > 0)."""
    k = np.array([-direction[1], direction[0], 0.0])  # z x direction, |k| = sin(angle)
    c = float(direction[2])  # cos(angle) > 0: the principal pixel is in front of the camera
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + kx + kx @ kx / (1.0 + c)  # Rodrigues with unnormalised axis


def cam_from_object(pose: PoseAnnotation, ray_cam: np.ndarray) -> np.ndarray:
    """(3, 3) rotation of our object frame (x front, y left, z up) into the OpenCV camera frame.

    ray_cam: (3,) unit direction from the camera centre through the principal pixel, camera frame.
    Rz(theta) in PASCAL3D+'s camera frame is its in-plane rotation R2d(theta): rotating x, y before the
    perspective division is the same as rotating the projected point after it.
    """
    cam_from_cad = (
        rotation_onto(ray_cam)
        @ CV_FROM_GL
        @ rot_z(pose.theta_rad)
        @ gl_from_cad(pose.azimuth_rad, pose.elevation_rad)
    )
    return cam_from_cad @ CAD_FROM_OBJECT


def nominal_cube_side(bbox: Box2D, distance: float, focal_px: float) -> float:
    """Side of a cube at `distance` whose projection spans the larger side of the 2D box (CAD units)."""
    return max(bbox.width, bbox.height) * distance / focal_px


# ---------------------------------------------------------------- annotation parsing


def _err(reason: str, message: str, file: str, index: int | None, field: str) -> RecordError:
    where = field if index is None else f"annotations[{index}].{field}"
    return RecordError(reason, message, file=file, field=where)


def _number(ann: dict[str, Any], key: str, *, file: str, index: int) -> float:
    """A finite float from a Python or numpy number (or a one-element array); RecordError naming the key."""
    if key not in ann:
        raise _err("missing_field", f"required key {key!r} missing", file, index, key)
    value = ann[key]
    if isinstance(value, (bool, np.bool_, str, bytes)) or value is None:
        raise _err("wrong_type", f"expected a number, got {value!r}"[:200], file, index, key)
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise _err("wrong_type", f"expected a number, got {value!r}"[:200], file, index, key) from None
    if arr.size != 1:
        raise _err("wrong_shape", f"expected one number, got shape {arr.shape}", file, index, key)
    number = float(arr.reshape(()))
    if not math.isfinite(number):
        raise _err("non_finite", f"NaN or infinite value {number}", file, index, key)
    return number


def _integer(ann: dict[str, Any], key: str, *, file: str, index: int) -> int:
    number = _number(ann, key, file=file, index=index)
    if not number.is_integer():
        raise _err("wrong_type", f"expected an integer, got {number}", file, index, key)
    return int(number)


def _vector(value: object, size: int, *, file: str, index: int, key: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise _err("wrong_type", f"expected {size} numbers, got {value!r}"[:200], file, index, key) from None
    if arr.shape != (size,):
        raise _err("wrong_shape", f"expected {size} numbers, got shape {arr.shape}", file, index, key)
    if not np.all(np.isfinite(arr)):
        raise _err("non_finite", f"NaN or infinite value in {arr.tolist()}", file, index, key)
    return arr


def _has_principal(ann: dict[str, Any]) -> bool:
    return ("px" in ann and "py" in ann) or "principal" in ann


def _principal(ann: dict[str, Any], *, file: str, index: int) -> tuple[float, float]:
    """(px, py): px / py when present (what the authors' renderer uses), else `principal`."""
    if "px" in ann and "py" in ann:
        return _number(ann, "px", file=file, index=index), _number(ann, "py", file=file, index=index)
    p = _vector(ann["principal"], 2, file=file, index=index, key="principal")
    return float(p[0]), float(p[1])


def _optional_text(ann: dict[str, Any], key: str) -> str | None:
    value = ann.get(key)
    return value if isinstance(value, str) else None


def image_size_of(ann: dict[str, Any], *, file: str, index: int) -> tuple[int, int] | None:
    """(width, height) the annotation states, or None if it states neither."""
    if "width" not in ann and "height" not in ann:
        return None
    width = _integer(ann, "width", file=file, index=index)
    height = _integer(ann, "height", file=file, index=index)
    if width <= 0 or height <= 0:
        raise _err("out_of_range", f"image size must be positive, got {width}x{height}", file, index, "width")
    return width, height


def skip_reason(ann: dict[str, Any], *, file: str, index: int) -> str | None:
    """Why a well-typed annotation carries no usable pose (SKIP_REASONS), or None."""
    if not _has_principal(ann):
        return NO_POSE
    if "distance" in ann and _number(ann, "distance", file=file, index=index) == 0.0:
        return NO_POSE
    if _optional_text(ann, "object_status") == UNRELIABLE_STATUS:
        return POSE_UNRELIABLE
    if "ignore" in ann and _is_ignored(ann, file=file, index=index):
        return IGNORED_BY_SOURCE
    return None


def _is_ignored(ann: dict[str, Any], *, file: str, index: int) -> bool:
    """The `ignore` flag, stored as a number (the authors test `ignore > 0`) or possibly as a bool."""
    if isinstance(ann["ignore"], (bool, np.bool_)):
        return bool(ann["ignore"])
    return _number(ann, "ignore", file=file, index=index) > 0


def parse_pose(ann: dict[str, Any], *, file: str, index: int, folder_category: str) -> PoseAnnotation:
    """A posed annotation (skip_reason is None) -> PoseAnnotation, or RecordError naming the key."""
    number = {
        key: _number(ann, key, file=file, index=index)
        for key in ("azimuth", "elevation", "theta", "distance", "viewport")
    }
    if number["distance"] < 0.0:
        raise _err("out_of_range", f"distance must be > 0, got {number['distance']}", file, index, "distance")
    if number["viewport"] <= 0.0:
        raise _err("out_of_range", f"viewport must be > 0, got {number['viewport']}", file, index, "viewport")
    if "focal" in ann and _number(ann, "focal", file=file, index=index) != EXPECTED_FOCAL:
        raise _err(
            "unsupported_value",
            f"focal must be {EXPECTED_FOCAL} (PASCAL3D+: focal length = viewport px), got {ann['focal']!r}",
            file,
            index,
            "focal",
        )
    if "bbox" not in ann:
        raise _err("missing_field", "required key 'bbox' missing", file, index, "bbox")
    x1, y1, x2, y2 = _vector(ann["bbox"], 4, file=file, index=index, key="bbox").tolist()
    bbox = Box2D(x1, y1, x2, y2)
    if not bbox.is_valid():
        raise _err(
            "invalid_box2d",
            f"degenerate box, needs x1 < x2 and y1 < y2: {bbox.as_list()}",
            file,
            index,
            "bbox",
        )
    category_raw = ann.get("class", folder_category)
    if not isinstance(category_raw, str) or not category_raw.strip():
        raise _err(
            "wrong_type", f"expected a non-empty string, got {category_raw!r}"[:200], file, index, "class"
        )
    cad_index = _integer(ann, "cad_index", file=file, index=index) if "cad_index" in ann else None
    extras = {key: ann[key] for key in ("object_status", "dense") if isinstance(ann.get(key), str)}
    return PoseAnnotation(
        index=index,
        category_raw=category_raw,
        azimuth_rad=number["azimuth"],
        elevation_rad=number["elevation"],
        theta_rad=number["theta"],
        distance=number["distance"],
        principal=_principal(ann, file=file, index=index),
        bbox=bbox,
        viewport=number["viewport"],
        cad_index=cad_index,
        extras=extras,
    )


def read_annotations(path: Path) -> list[dict[str, Any]]:
    """The .npz's "annotations": a 1-D object array whose items are all dicts."""
    array = read_npz_array(path, ANNOTATIONS_KEY)
    if array.dtype != object or array.ndim != 1:
        raise RecordError(
            "wrong_type",
            f"expected a 1-D object array of dicts, got {array.dtype} of shape {array.shape}",
            file=str(path),
            field=ANNOTATIONS_KEY,
        )
    items = array.tolist()
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise _err(
                "wrong_type",
                f"expected a dict, got {type(item).__name__}",
                str(path),
                None,
                f"annotations[{i}]",
            )
    return items


# ---------------------------------------------------------------- adapter


@register_source(SOURCE)
class ImageNet3DSource(SourceAdapter):
    description = "ImageNet3D object poses (PASCAL3D+-style viewpoints; no metric scale)"
    input_layout = (
        "ImageNet3D release: imagenet3d/<category>/<stem>.JPEG with <stem>.npz beside it "
        "(np.savez object array 'annotations', read without unpickling arbitrary code)"
    )

    def __init__(self, input_path: str | Path) -> None:
        super().__init__(input_path)
        nested = self.input_path / NESTED_FOLDER
        self.root = nested if nested.is_dir() else self.input_path

    def iter_items(self) -> Iterator[Scene | RecordError]:
        """Categories and stems in sorted order; one category folder is listed at a time."""
        if not self.root.is_dir():
            raise RecordError(
                "missing_file", "not a folder: expected the imagenet3d root", file=str(self.root)
            )
        for category in self._categories():
            for stem, (npz_name, image_name) in sorted(self._stems(category).items()):
                key = f"{category}/{stem}"
                try:
                    yield self._scene(category, stem, npz_name, image_name)
                except RecordError as e:
                    yield e.located(record=key)

    def _categories(self) -> list[str]:
        with os.scandir(self.root) as it:
            return sorted(e.name for e in it if not e.name.startswith(".") and e.is_dir())

    def _stems(self, category: str) -> dict[str, tuple[str | None, str | None]]:
        """stem -> (npz file name, image file name), either None when missing (reported by _scene)."""
        npz: dict[str, str] = {}
        images: dict[str, str] = {}
        with os.scandir(self.root / category) as it:
            names = sorted(e.name for e in it if not e.name.startswith(".") and e.is_file())
        for name in names:
            stem, suffix = os.path.splitext(name)
            if suffix == NPZ_SUFFIX:
                npz[stem] = name
            elif suffix in IMAGE_SUFFIXES:
                best = images.get(stem)
                if best is None or IMAGE_SUFFIXES.index(suffix) < IMAGE_SUFFIXES.index(
                    os.path.splitext(best)[1]
                ):
                    images[stem] = name
        return {stem: (npz.get(stem), images.get(stem)) for stem in npz.keys() | images.keys()}

    def _scene(self, category: str, stem: str, npz_name: str | None, image_name: str | None) -> Scene:
        record = f"{category}/{stem}"
        if npz_name is None:
            raise RecordError(
                "missing_file",
                f"image without annotations ({stem}{NPZ_SUFFIX})",
                file=str(self.root / category / str(image_name)),
            )
        npz_rel = f"{category}/{npz_name}"
        npz_path = safe_join(self.root, npz_rel, file=str(self.root), record=record, field="annotations")
        if image_name is None:
            raise RecordError(
                "missing_file", f"annotations without an image ({stem}.JPEG)", file=str(npz_path)
            )
        image_rel = f"{category}/{image_name}"
        image_path = safe_join(self.root, image_rel, file=str(npz_path), record=record, field="image")
        file = str(npz_path)
        annotations = read_annotations(npz_path)

        width, height = self._image_size(annotations, image_path, file=file, record=record)
        poses: list[PoseAnnotation] = []
        skipped: Counter[str] = Counter()
        unlocated: set[str] = set()  # categories of dropped objects: still in the picture
        for index, ann in enumerate(annotations):
            reason = skip_reason(ann, file=file, index=index)
            if reason is None:
                pose = parse_pose(ann, file=file, index=index, folder_category=category)
                if abs(wrap_to_pi(pose.elevation_rad)) > math.pi / 2.0:
                    reason = ELEVATION_OUT_OF_RANGE
                else:
                    poses.append(pose)
            if reason is not None:
                skipped[reason] += 1
                name = ann.get("class", category)
                unlocated.add(normalize_category(name if isinstance(name, str) and name else category))
        if not poses:
            raise RecordError(
                "no_posed_objects",
                f"none of {len(annotations)} annotation(s) has a usable pose "
                f"(skipped: {dict(sorted(skipped.items()))})",
                file=file,
                field=ANNOTATIONS_KEY,
            )
        viewports = sorted({p.viewport for p in poses})
        if len(viewports) > 1:
            raise RecordError(
                "inconsistent_viewport",
                f"objects of one image disagree on the viewport (focal length px): {viewports}",
                file=file,
                field="viewport",
            )
        f = viewports[0]
        camera = PinholeCamera(f, f, (width - 1) / 2.0, (height - 1) / 2.0, width, height)
        view = View(stem, image_rel, camera, RigidTransform.identity("world", f"cam:{stem}"))
        objects = tuple(self._object(pose, camera, view, record) for pose in poses)
        return Scene(
            scene_id=f"{SOURCE}/{record}",
            capture_id=f"{SOURCE}/{record}",
            source=SOURCE,
            split=None,
            license=LICENSE,
            asset_root=str(self.root.resolve()),
            views=(view,),
            objects=objects,
            gravity=None,
            metadata={
                METRIC_SCALE_KEY: False,
                "distance_unit": DISTANCE_UNIT,
                "pose_convention": POSE_CONVENTION,
                "skipped_annotations": dict(sorted(skipped.items())),
                UNLOCATED_CATEGORIES_KEY: sorted(unlocated),
            },
        )

    @staticmethod
    def _image_size(
        annotations: list[dict[str, Any]], image_path: Path, *, file: str, record: str
    ) -> tuple[int, int]:
        """(width, height): every annotation that states a size and the image header must agree."""
        header = read_image_size(image_path, record=record, field="image")
        for index, ann in enumerate(annotations):
            stated = image_size_of(ann, file=file, index=index)
            if stated is not None and stated != header:
                raise _err(
                    "image_size_mismatch",
                    f"annotation says {stated[0]}x{stated[1]}, the image file is {header[0]}x{header[1]}",
                    file,
                    index,
                    "width/height",
                )
        return header

    @staticmethod
    def _object(pose: PoseAnnotation, camera: PinholeCamera, view: View, record: str) -> Object3D:
        px, py = pose.principal
        ray = np.array([(px - camera.cx) / camera.fx, (py - camera.cy) / camera.fy, 1.0])
        ray /= np.linalg.norm(ray)  # (3,) unit, camera frame
        centre = pose.distance * ray  # (3,) CAD units, camera (= world) frame
        side = nominal_cube_side(pose.bbox, pose.distance, camera.fx)
        box = OrientedBox3D(centre, cam_from_object(pose, ray), np.full(3, side))
        category = normalize_category(pose.category_raw)
        attributes: dict[str, Any] = {
            "azimuth_rad": pose.azimuth_rad,
            "elevation_rad": pose.elevation_rad,
            "theta_rad": pose.theta_rad,
            "distance_cad": pose.distance,
            "cad_index": pose.cad_index,
            "principal_px": [px, py],
            **pose.extras,
        }
        return Object3D(
            object_id=str(pose.index),
            source_id=f"{record}#{pose.index}",
            category=category,
            box=box,
            has_front=has_semantic_front(category),
            source_category=pose.category_raw,
            observations=(observe(box, camera, view.view_id, annotated_box2d=pose.bbox),),
            attributes=attributes,
        )
