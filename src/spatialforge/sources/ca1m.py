"""CA-1M (Cubify Anything, Apple ml-cubifyanything) capture tars -> one multi-view Scene per capture.

Layout: one WebDataset tar per capture, `ca1m-<split>-<video_id>.tar` (input = a tar or a folder of them).
Members are `<video_id>/<timestamp_ns>.<sensor>/<measurement>`; per frame we use

    <ts>.wide/image.png          RGB, pre-rotated upright (1024 x 768, or transposed)
    <ts>.wide/image/K.json       3 x 3 intrinsics of that image
    <ts>.wide/depth.png          uint16 millimetres, ARKit LiDAR depth (256 x 192)   } depth=wide (default)
    <ts>.wide/depth/K.json       3 x 3 intrinsics of the depth raster                }
    <ts>.gt/depth.png            uint16 mm, rendered from the laser scan (512 x 384), } depth=gt
    <ts>.gt/depth/K.json         0 = unregistered                                     }
    <ts>.wide/T_gravity.json     3 x 3 rotation encoding the camera's pitch and roll
    <ts>.gt/RT.json              4 x 4 (row-major) camera-to-world pose in the laser-scanner frame
    <ts>.wide/instances.json     per-frame boxes, camera frame: [{id, category, position, scale, R, ...}]
    world.gt/instances.json      the capture's boxes in the laser-scanner frame (same fields)

Sources (read, not copied): apple/ml-cubifyanything README ("Understanding the CA-1M data": member names,
sizes, units, RT row-major, frames oriented upright, world.gt/instances.json with structural labels) and
`cubifyanything/dataset.py` (`read_instances`: `id`, `category`, `position`, `scale`, `R`, 2D boxes
`box_2d_rend` / `box_2d_proj`; `gt/RT` a 4 x 4, `wide/image/K` a 3 x 3, `wide/T_gravity` a 3 x 3; boxes of
`wide/instances` are in camera coordinates), and `capture_stream.get_camera_to_gravity_transform`, whose
result (the T_gravity of live captures) "gets applied after predictions to put it in camera space".

Conventions:
- T_gravity is read as cam_from_gravity: the gravity-aligned frame (same heading, +y exactly down, OpenCV
  like) rotated into the camera, so the camera-frame "down" is T_gravity @ (0, 1, 0). Each keyframe then
  gives "down" in the laser frame, R_wc @ T_gravity @ e_y; these must agree within GRAVITY_AGREEMENT_DEG
  (a transposed reading disagrees as soon as frames pitch or roll differently: "inconsistent_gravity").
  The world is the laser frame turned by the smallest rotation that takes their mean "down" to
  (0, 0, -1): z up, Gravity((0, 0, -1), "calibration").
- boxes keep their orientation R (CA-1M boxes are oriented): local axes are permuted (never flipped in
  handedness) so the local axis closest to world up becomes +z (height); scale = full extents. CA-1M is
  class-agnostic: most boxes carry category "object", kept as given (SPEC 7: without labels expect
  visual-marker references). No box has an annotated front: has_front is False for all.
- structural boxes (wall, floor, ceiling, door frame in world.gt) are dropped.
- objects: world.gt/instances.json when present, else each id's first per-frame box among the keyframes
  (moved to the world by that frame's pose).
- the tar is never extracted: members are listed, checked (no absolute names, no '..', no links or
  special files, none over MAX_MEMBER_BYTES; else RecordError "unsafe_tar_member" / "oversized_tar_member"
  for the whole capture) and only keyframes' images and depths are read and written out, into the assets
  folder (option assets; default `<output>.assets/`), `<video_id>/<ts>.image.png` (the PNG bytes as
  stored) and `<ts>.depth.png` (the chosen depth resampled nearest-neighbour into the image camera,
  uint16 mm, so it has the image's size). Scene.asset_root is `<assets>/<video_id>`.
"""

from __future__ import annotations

import io
import json
import math
import re
import tarfile
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

import numpy as np
from PIL import Image, UnidentifiedImageError

from spatialforge.errors import RecordError
from spatialforge.geometry.boxes import OrientedBox3D
from spatialforge.geometry.camera import PinholeCamera
from spatialforge.geometry.rotations import is_rotation, nearest_rotation
from spatialforge.geometry.transforms import RigidTransform
from spatialforge.scene.keyframes import (
    CA1M_ROTATION_DEG,
    CA1M_TRANSLATION_M,
    KeyframeReport,
    select_keyframes,
)
from spatialforge.scene.records import AssetRef, Gravity, Object3D, Scene, View
from spatialforge.scene.visibility import VisibilityTarget, resample_depth_to_camera
from spatialforge.sources.base import SourceAdapter, option_choice, option_int
from spatialforge.sources.common import normalize_category
from spatialforge.sources.registry import register_source
from spatialforge.sources.scannet import (
    KEYFRAME_OPTIONS,
    MALFORMED_POSE,
    MIN_FRAMES,
    MISSING_POSE,
    POSE_ROTATION_TOL,
    UNREADABLE_DEPTH,
    UNREADABLE_IMAGE,
    camera_dict,
    count_posed_scene,
    keyframe_options,
    observe_keyframes,
    pose_from_values,
    read_depth_png_m,
)

SOURCE = "ca1m"
LICENSE = "CC BY-NC-ND 4.0 (CA-1M, Apple; cite Lazarow et al., Cubify Anything, CVPR 2025)"
TAR_NAME = re.compile(r"ca1m-(?P<split>[A-Za-z]+)-(?P<video>\d+)\.tar")
DEPTH_SCALE_TO_M = 0.001  # uint16 millimetres (README)
# The largest member we read: a 1024 x 768 RGB PNG is at most ~2.4 MB, JSONs are kilobytes. Anything
# bigger is not a CA-1M member and is refused before a byte of it is read.
MAX_MEMBER_BYTES = 64 * 1024 * 1024
# Per-frame "down" directions in the laser frame must agree within this (degrees): IMU gravity is good to
# ~1 deg; a wrong reading of T_gravity (transposed) disagrees by twice the camera's tilt changes.
GRAVITY_AGREEMENT_DEG = 5.0
STRUCTURE_CATEGORIES = frozenset({"wall", "floor", "ceiling", "door frame"})
WORLD_KEY = "world"
# Measurements we read (member name after `<ts>.`, compared lower-case as WebDataset does).
IMAGE, IMAGE_K = "wide/image.png", "wide/image/k.json"
GRAVITY, POSE, INSTANCES = "wide/t_gravity.json", "gt/rt.json", "wide/instances.json"
DEPTHS = {"wide": ("wide/depth.png", "wide/depth/k.json"), "gt": ("gt/depth.png", "gt/depth/k.json")}
WORLD_INSTANCES = "gt/instances.json"

# Frame skip reasons besides the pose ones shared with scannet.
MISSING_IMAGE, MISSING_INTRINSICS, MISSING_DEPTH = "missing_image", "missing_intrinsics", "missing_depth"
MISSING_GRAVITY, BAD_GRAVITY, BAD_INTRINSICS = "missing_gravity", "bad_gravity", "bad_intrinsics"
UNSAFE_MEMBER, OVERSIZED_MEMBER = "unsafe_tar_member", "oversized_tar_member"


class Frame(NamedTuple):
    ts: str
    members: dict[str, tarfile.TarInfo]


class Instance(NamedTuple):
    """One instances.json entry, checked: box in the frame the file uses (camera or laser)."""

    instance_id: str
    category: str
    center: np.ndarray  # (3,) m
    rotation: np.ndarray  # (3, 3) frame_from_box
    size: np.ndarray  # (3,) m, full extents along the box's own axes


# ---------------------------------------------------------------- tar access


def check_member(member: tarfile.TarInfo, *, file: str) -> None:
    """RecordError for a member we refuse to touch: absolute or '..' names, links, special files, giants."""
    name = member.name
    parts = PurePosixPath(name).parts
    if name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]) or "\\" in name:
        raise RecordError(
            UNSAFE_MEMBER, f"member name {name!r} leaves the archive", file=file, field=f"member {name}"
        )
    if member.issym() or member.islnk():
        raise RecordError(UNSAFE_MEMBER, f"member {name!r} is a link", file=file, field=f"member {name}")
    if not (member.isfile() or member.isdir()):
        raise RecordError(
            UNSAFE_MEMBER, f"member {name!r} is not a regular file", file=file, field=f"member {name}"
        )
    if member.size > MAX_MEMBER_BYTES:
        raise RecordError(
            OVERSIZED_MEMBER,
            f"member {name!r} is {member.size} bytes (limit {MAX_MEMBER_BYTES})",
            file=file,
            field=f"member {name}",
        )


def read_member(tar: tarfile.TarFile, member: tarfile.TarInfo, *, file: str) -> bytes:
    """The bytes of a checked regular member (never more than its declared size)."""
    handle = tar.extractfile(member)
    if handle is None:
        raise RecordError(
            "unreadable_file", f"member {member.name!r} has no data", file=file, field=member.name
        )
    with handle:
        data = handle.read(member.size + 1)
    if len(data) != member.size:
        raise RecordError(
            "truncated_data", f"member {member.name!r} is cut short", file=file, field=member.name
        )
    return data


def member_json(tar: tarfile.TarFile, member: tarfile.TarInfo, *, file: str) -> Any:
    try:
        return json.loads(read_member(tar, member, file=file).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RecordError("invalid_json", str(e), file=file, field=member.name) from None


def matrix(value: Any, shape: tuple[int, int], *, finite: bool = True) -> np.ndarray | None:
    """A float array of `shape` (or its flat form), finite unless finite=False; None otherwise."""
    try:
        a = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None
    if a.size != shape[0] * shape[1] or (finite and not np.all(np.isfinite(a))):
        return None
    return a.reshape(shape)


# ---------------------------------------------------------------- geometry helpers


def upright_box(center: np.ndarray, rotation: np.ndarray, size: np.ndarray, up: np.ndarray) -> OrientedBox3D:
    """The same box with its local axes permuted so the one closest to `up` is +z pointing up; the
    other two follow cyclically (x, y, z stays right-handed), sizes permuted with them."""
    k = int(np.argmax(np.abs(rotation.T @ up)))  # local axis most aligned with up
    order = [(k + 1) % 3, (k + 2) % 3, k]  # cyclic: keeps det = +1
    r = rotation[:, order]
    if float(r[:, 2] @ up) < 0.0:
        r = r @ np.diag([1.0, -1.0, -1.0])  # turn the box over about its new x: z up, still a rotation
    return OrientedBox3D(center, r, np.asarray(size, dtype=float)[order])


def rotation_taking(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(3, 3) the smallest rotation R with R @ a = b for unit vectors a, b (Rodrigues)."""
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    axis = np.cross(a, b)
    s, c = float(np.linalg.norm(axis)), float(a @ b)
    if s < 1e-12:
        if c > 0:
            return np.eye(3)
        # Opposite: half a turn about any axis perpendicular to a.
        perp = np.cross(a, [1.0, 0.0, 0.0] if abs(a[0]) < 0.9 else [0.0, 1.0, 0.0])
        perp /= np.linalg.norm(perp)
        return 2.0 * np.outer(perp, perp) - np.eye(3)
    k = axis / s
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + s * kx + (1.0 - c) * kx @ kx


def angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    cos = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    return math.degrees(math.acos(min(1.0, max(-1.0, cos))))


def parse_instances(
    data: Any, *, file: str, field: str, dropped: Counter, errors: dict[str, str]
) -> list[Instance]:
    """A checked instances.json list; malformed entries are counted ("bad_instance") and left out."""
    if not isinstance(data, list):
        raise RecordError("wrong_type", "instances must be a JSON list", file=file, field=field)
    out: list[Instance] = []
    for i, entry in enumerate(data):
        parsed = _instance(entry)
        if isinstance(parsed, str):
            dropped["bad_instance"] += 1
            errors.setdefault("bad_instance", f"{file} {field}[{i}]: {parsed}")
            continue
        out.append(parsed)
    return out


def _instance(entry: Any) -> Instance | str:
    """One instances.json entry as an Instance, or what is wrong with it."""
    if not isinstance(entry, dict):
        return "not an object"
    iid, category = entry.get("id"), entry.get("category")
    center = matrix(entry.get("position"), (1, 3))
    size = matrix(entry.get("scale"), (1, 3))
    rot = matrix(entry.get("R"), (3, 3))
    if not isinstance(iid, (str, int)) or isinstance(iid, bool) or str(iid) == "":
        return f"id {iid!r}"
    if not isinstance(category, str) or not category.strip():
        return f"category {category!r}"
    if center is None or size is None or rot is None:
        return "position / scale / R missing, mis-shaped or not finite"
    if np.any(size <= 0):
        return f"scale {size.ravel().tolist()} not positive"
    if not is_rotation(rot, POSE_ROTATION_TOL):
        return "R is not a rotation"
    return Instance(str(iid), category, center.ravel(), nearest_rotation(rot), size.ravel())


# ---------------------------------------------------------------- adapter


@register_source(SOURCE)
class Ca1mSource(SourceAdapter):
    description = "CA-1M capture tars (Cubify Anything): posed frames, depth, oriented boxes, T_gravity"
    input_layout = "ca1m-<split>-<video_id>.tar (one per capture), or a folder of them"
    OPTIONS = {
        "assets": "folder for the keyframes' extracted images and depths (default: <output>.assets)",
        "depth": "wide (ARKit LiDAR depth, default) | gt (laser-scan rendered depth, 0 = unregistered)",
        "split": "split name (default: from the tar name ca1m-<split>-<id>.tar)",
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
        self.depth_source = option_choice(self.options, "depth", tuple(DEPTHS), source=SOURCE)
        self.translation_m, self.rotation_deg = keyframe_options(
            self.options, CA1M_TRANSLATION_M, CA1M_ROTATION_DEG, source=SOURCE
        )
        self.frame_stride = option_int(self.options, "frame_stride", 1, source=SOURCE)
        if "assets" not in self.options and self.output_path is None:
            raise RecordError(
                "missing_option",
                "CA-1M frames are extracted: give --option assets=<folder> (or run through `ingest`)",
                field="option assets",
            )

    def assets_dir(self) -> Path:
        """Where keyframes are written: the assets option, else `<output>.assets` beside the scenes file."""
        if "assets" in self.options:
            return Path(self.options["assets"])
        return Path(str(self.output_path) + ".assets")

    def record_keys(self) -> Iterator[str]:
        if self.input_path.is_file():
            yield str(self.input_path)
            return
        if not self.input_path.is_dir():
            raise RecordError("missing_file", "no such tar file or folder", file=str(self.input_path))
        yield from sorted(str(p) for p in self.input_path.iterdir() if p.suffix == ".tar" and p.is_file())

    def load_record(self, key: str) -> Scene:
        path = Path(key)
        try:
            tar = tarfile.open(path, "r:")
        except (OSError, tarfile.TarError) as e:
            raise RecordError("unreadable_file", f"not a readable tar: {e}", file=key) from None
        with tar:
            return self._capture(tar, path)

    # ------------------------------------------------------------ one capture

    def _capture(self, tar: tarfile.TarFile, path: Path) -> Scene:
        file = str(path)
        video, frames, world_member = self._index(tar, file)
        skipped: Counter = Counter()
        errors: dict[str, str] = {}
        posed = self._posed(tar, frames[:: self.frame_stride], file, skipped)
        kept = select_keyframes([pose for _, pose in posed], self.translation_m, self.rotation_deg)
        keyframes = KeyframeReport(
            len(posed), len(kept), tuple(posed[i][0].ts for i in kept), self.translation_m, self.rotation_deg
        )
        loaded = [f for f in (self._keyframe(tar, *posed[i], file, skipped) for i in kept) if f is not None]
        if len(loaded) < MIN_FRAMES:
            raise RecordError(
                "too_few_frames",
                f"{len(loaded)} usable keyframes (need {MIN_FRAMES}); frames skipped: {dict(skipped)}",
                file=file,
                record=video,
                field="frames",
            )
        world_from_laser, spread = self._world_from_laser(loaded, file, video)
        asset_root = self.assets_dir() / video
        asset_root.mkdir(parents=True, exist_ok=True)
        views, depths = [], []
        for frame in loaded:
            view, depth = self._view(frame, world_from_laser, asset_root)
            views.append(view)
            depths.append(depth)
        dropped: Counter = Counter()
        objects, objects_from = self._objects(
            tar, world_member, loaded, world_from_laser, file, dropped, errors
        )
        targets = [VisibilityTarget(o.object_id, o.box) for o in objects]
        per_object, tally = observe_keyframes(views, depths, targets)
        match = TAR_NAME.fullmatch(path.name)
        split = self.options.get("split") or (match.group("split") if match else None)
        count_posed_scene(
            self.stats, keyframes, len(views), skipped, dropped, tally, len(objects), per_object
        )
        return Scene(
            scene_id=f"{SOURCE}/{split}/{video}" if split else f"{SOURCE}/{video}",
            capture_id=f"{SOURCE}/{video}",
            source=SOURCE,
            split=split,
            license=LICENSE,
            asset_root=str(asset_root.resolve()),
            views=tuple(views),
            objects=tuple(
                Object3D(
                    object_id=o.object_id,
                    source_id=o.source_id,
                    category=o.category,
                    box=o.box,
                    has_front=False,  # CA-1M boxes are class-agnostic; no front is annotated
                    source_category=o.source_category,
                    observations=tuple(per_object[o.object_id]),
                )
                for o in objects
            ),
            gravity=Gravity((0.0, 0.0, -1.0), "calibration"),
            metadata={
                "world_from_laser": RigidTransform(world_from_laser, np.zeros(3), "world", "laser")
                .matrix()
                .tolist(),
                "gravity_spread_deg": round(spread, 4),
                "objects_from": objects_from,
                "depth_source": self.depth_source,
                "keyframes": {**keyframes.as_dict(), "frame_stride": self.frame_stride},
                "frames_skipped": dict(sorted(skipped.items())),
                "objects_dropped": dict(sorted(dropped.items())),
                "first_errors": errors,
                "visibility_rejected": dict(sorted(tally.items())),
                "note": "class-agnostic boxes (most categories are 'object'): expect marker references",
            },
        )

    def _index(self, tar: tarfile.TarFile, file: str) -> tuple[str, list[Frame], tarfile.TarInfo | None]:
        """Check every member and group the files by timestamp: (video id, frames in time order, world)."""
        videos: set[str] = set()
        frames: dict[str, dict[str, tarfile.TarInfo]] = {}
        world: tarfile.TarInfo | None = None
        for member in tar.getmembers():
            check_member(member, file=file)
            if member.isdir():
                continue
            video, sep, rest = member.name.partition("/")
            stamp, dot, measurement = rest.partition(".")
            if not sep or not dot:
                self.stats["members_ignored"] += 1
                continue
            videos.add(video)
            key = measurement.lower()
            if stamp == WORLD_KEY and key == WORLD_INSTANCES:
                world = member
            elif stamp.isdigit():
                frames.setdefault(stamp, {})[key] = member
            else:
                self.stats["members_ignored"] += 1
        if len(videos) != 1:
            raise RecordError(
                "mixed_captures",
                f"expected the members of one capture, found video ids {sorted(videos)[:5]}",
                file=file,
                field="members",
            )
        ordered = [Frame(ts, frames[ts]) for ts in sorted(frames, key=int)]
        return videos.pop(), ordered, world

    def _posed(
        self, tar: tarfile.TarFile, frames: list[Frame], file: str, skipped: Counter
    ) -> list[tuple[Frame, RigidTransform]]:
        out = []
        for frame in frames:
            member = frame.members.get(POSE)
            if member is None:
                skipped[MISSING_POSE] += 1
                continue
            try:
                values = matrix(member_json(tar, member, file=file), (4, 4), finite=False)
            except RecordError:
                values = None
            if values is None:
                # Not JSON, or not 16 numbers. (NaN / Infinity read as numbers: invalid_pose below.)
                skipped[MALFORMED_POSE] += 1
                continue
            pose = pose_from_values(values, frame.ts)
            if isinstance(pose, str):
                skipped[pose] += 1
                continue
            out.append((frame, pose))
        return out

    def _keyframe(
        self, tar: tarfile.TarFile, frame: Frame, laser_from_cam: RigidTransform, file: str, skipped: Counter
    ) -> _Keyframe | None:
        """Everything one keyframe needs, read and checked; None (counted) when a part is missing or bad."""
        depth_name, depth_k_name = DEPTHS[self.depth_source]
        m = frame.members
        for reason, name in (
            (MISSING_IMAGE, IMAGE),
            (MISSING_INTRINSICS, IMAGE_K),
            (MISSING_GRAVITY, GRAVITY),
            (MISSING_DEPTH, depth_name),
            (MISSING_INTRINSICS, depth_k_name),
        ):
            if name not in m:
                skipped[reason] += 1
                return None
        try:
            image_bytes = read_member(tar, m[IMAGE], file=file)
            with Image.open(io.BytesIO(image_bytes)) as im:
                width, height = im.size
                if im.format != "PNG":
                    raise OSError(f"expected a PNG, got {im.format}")
        except (RecordError, OSError, UnidentifiedImageError, Image.DecompressionBombError):
            skipped[UNREADABLE_IMAGE] += 1
            return None
        try:
            depth_m = read_depth_png_m(
                read_member(tar, m[depth_name], file=file), file=f"{file}:{m[depth_name].name}"
            )
        except RecordError:
            skipped[UNREADABLE_DEPTH] += 1
            return None
        try:
            k_image = matrix(member_json(tar, m[IMAGE_K], file=file), (3, 3))
            k_depth = matrix(member_json(tar, m[depth_k_name], file=file), (3, 3))
            gravity = matrix(member_json(tar, m[GRAVITY], file=file), (3, 3))
        except RecordError:
            skipped["malformed_json"] += 1
            return None
        try:
            if k_image is None or k_depth is None:
                raise ValueError("not a finite 3 x 3 matrix")
            camera = PinholeCamera.from_matrix(k_image, width, height)
            depth_camera = PinholeCamera.from_matrix(k_depth, depth_m.shape[1], depth_m.shape[0])
            if min(camera.fx, camera.fy, depth_camera.fx, depth_camera.fy) <= 0:
                raise ValueError("focal lengths must be positive")
        except ValueError:
            skipped[BAD_INTRINSICS] += 1
            return None
        if gravity is None or not is_rotation(gravity, POSE_ROTATION_TOL):
            skipped[BAD_GRAVITY] += 1
            return None
        instances = m.get(INSTANCES)
        return _Keyframe(
            frame.ts,
            laser_from_cam,
            camera,
            depth_camera,
            depth_m,
            image_bytes,
            nearest_rotation(gravity),
            instances,
        )

    def _world_from_laser(self, frames: list[_Keyframe], file: str, video: str) -> tuple[np.ndarray, float]:
        """(3, 3) world_from_laser turning the keyframes' mean "down" to -z, and the largest disagreement
        (degrees) of one frame's "down" with that mean."""
        downs = np.array(
            [f.laser_from_cam.rotation @ f.cam_from_gravity[:, 1] for f in frames]
        )  # (K, 3) laser
        mean = downs.sum(axis=0)
        if np.linalg.norm(mean) < 1e-9:
            spread = 180.0
        else:
            spread = max(angle_deg(d, mean) for d in downs)
        if spread > GRAVITY_AGREEMENT_DEG:
            raise RecordError(
                "inconsistent_gravity",
                f"per-frame gravity (T_gravity @ y, moved to the laser frame by RT) disagrees by "
                f"{spread:.1f} deg (limit {GRAVITY_AGREEMENT_DEG}); T_gravity is read as cam_from_gravity",
                file=file,
                record=video,
                field="T_gravity",
            )
        return rotation_taking(mean, np.array([0.0, 0.0, -1.0])), spread

    def _view(
        self, frame: _Keyframe, world_from_laser: np.ndarray, asset_root: Path
    ) -> tuple[View, tuple[np.ndarray, PinholeCamera]]:
        """The keyframe as a View; its image and resampled depth written under asset_root."""
        ts = frame.ts
        rotation = nearest_rotation(world_from_laser @ frame.laser_from_cam.rotation)
        world_from_cam = RigidTransform(
            rotation, world_from_laser @ frame.laser_from_cam.translation, "world", f"cam:{ts}"
        )
        image_name, depth_name = f"{ts}.image.png", f"{ts}.depth.png"
        (asset_root / image_name).write_bytes(frame.image_bytes)
        registered = resample_depth_to_camera(frame.depth_m, frame.depth_camera, frame.camera)  # (H, W) m
        millimetres = np.where(np.isfinite(registered), np.round(registered / DEPTH_SCALE_TO_M), 0.0)
        Image.fromarray(np.clip(millimetres, 0, 65535).astype(np.uint16)).save(asset_root / depth_name)
        view = View(
            view_id=ts,
            image_path=image_name,
            camera=frame.camera,
            world_from_cam=world_from_cam,
            depth=AssetRef(depth_name, "png_u16", f"cam:{ts}", DEPTH_SCALE_TO_M),
            timestamp_s=int(ts) / 1e9,
            metadata={
                "depth_source": self.depth_source,
                # The raster's own camera before resampling (the written depth has the image camera).
                "source_depth_camera": camera_dict(frame.depth_camera),
                "T_gravity": frame.cam_from_gravity.tolist(),
            },
        )
        return view, (frame.depth_m, frame.depth_camera)

    def _objects(
        self,
        tar: tarfile.TarFile,
        world_member: tarfile.TarInfo | None,
        frames: list[_Keyframe],
        world_from_laser: np.ndarray,
        file: str,
        dropped: Counter,
        errors: dict[str, str],
    ) -> tuple[list[_Object], str]:
        up = np.array([0.0, 0.0, 1.0])
        found: dict[str, _Object] = {}
        if world_member is not None:
            data = member_json(tar, world_member, file=file)
            for inst in parse_instances(
                data, file=file, field=world_member.name, dropped=dropped, errors=errors
            ):
                center = world_from_laser @ inst.center
                box = upright_box(center, world_from_laser @ inst.rotation, inst.size, up)
                self._add(found, inst, box, f"world.gt/instances.json:{inst.instance_id}", dropped)
            return list(found.values()), "world.gt/instances.json"
        for frame in frames:
            if frame.instances is None:
                continue
            data = member_json(tar, frame.instances, file=file)
            for inst in parse_instances(
                data, file=file, field=frame.instances.name, dropped=dropped, errors=errors
            ):
                if inst.instance_id in found:
                    continue
                world_rot = world_from_laser @ frame.laser_from_cam.rotation  # world_from_cam rotation
                center = world_rot @ inst.center + world_from_laser @ frame.laser_from_cam.translation
                box = upright_box(center, world_rot @ inst.rotation, inst.size, up)
                self._add(found, inst, box, f"{frame.ts}.wide/instances.json:{inst.instance_id}", dropped)
        return list(found.values()), "per-frame wide/instances.json (first keyframe with each id)"

    @staticmethod
    def _add(
        found: dict[str, _Object], inst: Instance, box: OrientedBox3D, source_id: str, dropped: Counter
    ) -> None:
        category = normalize_category(inst.category)
        if category in STRUCTURE_CATEGORIES:
            dropped["structure_dropped"] += 1
            return
        if inst.instance_id in found:
            dropped["duplicate_instance"] += 1
            return
        found[inst.instance_id] = _Object(inst.instance_id, source_id, category, inst.category, box)


class _Keyframe(NamedTuple):
    ts: str
    laser_from_cam: RigidTransform
    camera: PinholeCamera
    depth_camera: PinholeCamera
    depth_m: np.ndarray  # (H_d, W_d) metres, NaN = no data
    image_bytes: bytes
    cam_from_gravity: np.ndarray  # (3, 3)
    instances: tarfile.TarInfo | None


class _Object(NamedTuple):
    object_id: str
    source_id: str
    category: str
    source_category: str
    box: OrientedBox3D
