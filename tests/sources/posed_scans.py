"""Tiny posed scans built from code: a box room, cameras we place, depth ray-cast from the boxes.

World frame: z up, metres. The room is 6 x 6 m (walls at x = +-3, y = +-3, 2.5 m high, 0.1 m thick, a
floor slab under z = 0). Cameras are placed with `look_at` (OpenCV: x right, y down, z forward). Depth is
the exact ray cast onto every box (geometry.raycast), so what a camera sees is known by construction.

Writers: `write_scannet_scan` (SensReader export + annotations or a VoteNet box export) and
`write_ca1m_tar` (a CA-1M capture tar). Both take the same `Room` and poses.
"""

from __future__ import annotations

import io
import json
import math
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from spatialforge.geometry.boxes import OrientedBox3D
from spatialforge.geometry.camera import PinholeCamera
from spatialforge.geometry.raycast import depth_at_pixels, stack_boxes
from spatialforge.geometry.rotations import rot_x, rot_z
from spatialforge.geometry.transforms import RigidTransform


@dataclass(frozen=True)
class Thing:
    """A box in the room: world centre, size (x, y, z extents), yaw about z (degrees)."""

    label: str
    center: tuple[float, float, float]
    size: tuple[float, float, float]
    yaw_deg: float = 0.0

    @property
    def box(self) -> OrientedBox3D:
        return OrientedBox3D(np.array(self.center), rot_z(math.radians(self.yaw_deg)), np.array(self.size))


WALLS = (
    Thing("wall", (3.05, 0.0, 1.25), (0.1, 6.2, 2.5)),
    Thing("wall", (-3.05, 0.0, 1.25), (0.1, 6.2, 2.5)),
    Thing("wall", (0.0, 3.05, 1.25), (6.2, 0.1, 2.5)),
    Thing("wall", (0.0, -3.05, 1.25), (6.2, 0.1, 2.5)),
    Thing("floor", (0.0, 0.0, -0.05), (6.2, 6.2, 0.1)),
)


@dataclass(frozen=True)
class Room:
    """Objects to annotate and extra occluders (drawn in depth, not annotated)."""

    objects: tuple[Thing, ...]
    occluders: tuple[Thing, ...] = ()
    walls: tuple[Thing, ...] = WALLS

    def all_boxes(self) -> list[OrientedBox3D]:
        return [t.box for t in (*self.objects, *self.occluders, *self.walls)]


# A table and a chair in front of the cameras, and a cabinet behind a partition (seen only from the right).
DEFAULT_ROOM = Room(
    objects=(
        Thing("table", (0.0, 1.6, 0.4), (1.2, 0.8, 0.8)),
        Thing("office chair", (-1.0, 1.2, 0.45), (0.5, 0.5, 0.9), yaw_deg=20.0),
        Thing("kitchen cabinet", (0.3, 2.6, 0.5), (0.6, 0.4, 1.0)),
    ),
    occluders=(Thing("partition", (-0.2, 2.3, 1.0), (1.6, 0.05, 2.0)),),
)


def look_at(position: Sequence[float], target: Sequence[float], view_id: str = "v") -> RigidTransform:
    """world_from_cam of an OpenCV camera at `position` looking at `target` (world z up, no roll)."""
    p, t = np.asarray(position, float), np.asarray(target, float)
    z = (t - p) / np.linalg.norm(t - p)
    x = np.cross(z, [0.0, 0.0, 1.0])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    return RigidTransform(np.stack([x, y, z], axis=1), p, "world", f"cam:{view_id}")


def render_depth(room: Room, camera: PinholeCamera, world_from_cam: RigidTransform) -> np.ndarray:
    """(H, W) metres: the ray cast through every pixel centre onto the room's boxes (NaN = nothing)."""
    v, u = np.mgrid[0 : camera.height, 0 : camera.width]
    uv = np.stack([u.ravel(), v.ravel()], axis=1).astype(float)
    z = depth_at_pixels(camera, world_from_cam, uv, stack_boxes(room.all_boxes()))
    return z.reshape(camera.height, camera.width)


def depth_png_bytes(depth_m: np.ndarray) -> bytes:
    mm = np.where(np.isfinite(depth_m), np.round(depth_m * 1000.0), 0).astype(np.uint16)
    buf = io.BytesIO()
    Image.fromarray(mm).save(buf, format="PNG")
    return buf.getvalue()


def rgb_png_bytes(width: int, height: int, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (120, 110, 100)).save(buf, format=fmt)
    return buf.getvalue()


def box_surface_points(box: OrientedBox3D, per_edge: int = 5) -> np.ndarray:
    """(6 * per_edge^2, 3) points on a box's six faces (a grid including the edges), world frame."""
    g = np.linspace(-0.5, 0.5, per_edge)
    a, b = np.meshgrid(g, g, indexing="ij")
    a, b = a.ravel(), b.ravel()
    local = []
    for axis in range(3):
        u, v = (axis + 1) % 3, (axis + 2) % 3
        for sign in (0.5, -0.5):
            p = np.zeros((len(a), 3))
            p[:, axis], p[:, u], p[:, v] = sign, a, b
            local.append(p)
    pts = np.concatenate(local) * box.size  # (K, 3) object frame, metres
    return pts @ box.rotation.T + box.center


# ---------------------------------------------------------------- ScanNet


SCANNET_COLOR = PinholeCamera(250.0, 250.0, 159.5, 119.5, 320, 240)
# Depth camera of the same pose: other size, other aspect and principal point (like ScanNet's 640 x 480).
SCANNET_DEPTH = PinholeCamera(126.0, 127.0, 79.0, 60.0, 160, 120)
# world_from_scan of the test scan: a turn of 30 degrees about z and a shift (ScanNet-like).
AXIS_ALIGNMENT = RigidTransform(rot_z(math.radians(30.0)), np.array([1.5, -0.5, 0.0]), "world", "scan")


def matrix_text(m: np.ndarray) -> str:
    return "".join(" ".join(f"{v:.6f}" for v in row) + "\n" for row in np.asarray(m))


@dataclass
class ScanSpec:
    scene: str = "scene0007_01"
    room: Room = DEFAULT_ROOM
    poses: Sequence[RigidTransform] = ()
    boxes: str = "annotations"  # or "bbox_npy" or "none"
    axis_alignment: RigidTransform | None = AXIS_ALIGNMENT
    include_wall_instance: bool = True
    extras: dict = field(default_factory=dict)


def default_poses() -> list[RigidTransform]:
    """Six frames walking right along x at 1.4 m height, looking at the table; frames 1 and 3 are 2 cm
    repeats of 0 and 2 (dropped by keyframing at 0.15 m / 10 deg), so keyframes are 0, 2, 4, 5."""
    xs = (-0.4, -0.38, 0.0, 0.02, 0.4, 0.8)
    return [look_at((x, -1.5, 1.4), (x * 0.5, 1.6, 0.4), str(i)) for i, x in enumerate(xs)]


def write_scannet_scan(root: Path, spec: ScanSpec) -> Path:
    """<root>/scans/<scene>/ in the SensReader export layout; returns the scan folder."""
    scan = root / "scans" / spec.scene
    for sub in ("color", "depth", "pose", "intrinsic"):
        (scan / sub).mkdir(parents=True, exist_ok=True)
    align = spec.axis_alignment or RigidTransform.identity("world", "scan")
    poses = list(spec.poses) or default_poses()
    color_jpg = rgb_png_bytes(SCANNET_COLOR.width, SCANNET_COLOR.height, "JPEG")
    for i, world_from_cam in enumerate(poses):
        scan_from_cam = align.inverse() @ RigidTransform(
            world_from_cam.rotation, world_from_cam.translation, "world", "c"
        )
        (scan / "pose" / f"{i}.txt").write_text(matrix_text(scan_from_cam.matrix()))
        (scan / "color" / f"{i}.jpg").write_bytes(color_jpg)
        depth = render_depth(spec.room, SCANNET_DEPTH, world_from_cam)
        (scan / "depth" / f"{i}.png").write_bytes(depth_png_bytes(depth))
    for name, cam in (("intrinsic_color.txt", SCANNET_COLOR), ("intrinsic_depth.txt", SCANNET_DEPTH)):
        k = np.eye(4)
        k[:3, :3] = cam.matrix()
        (scan / "intrinsic" / name).write_text(matrix_text(k))
    for name in ("extrinsic_color.txt", "extrinsic_depth.txt"):
        (scan / "intrinsic" / name).write_text(matrix_text(np.eye(4)))
    meta = "colorWidth = 320\ncolorHeight = 240\n"
    if spec.axis_alignment is not None:
        meta += "axisAlignment = " + " ".join(f"{v:.9f}" for v in spec.axis_alignment.matrix().ravel()) + "\n"
    (scan / f"{spec.scene}.txt").write_text(meta)
    if spec.boxes == "annotations":
        write_annotations(scan, spec, align)
    elif spec.boxes == "bbox_npy":
        rows = [[*t.center, *t.size, nyu40_id(t.label)] for t in spec.room.objects if t.yaw_deg == 0.0]
        np.save(scan / f"{spec.scene}_bbox.npy", np.array(rows, dtype=float))
    return scan


def nyu40_id(label: str) -> int:
    return {"table": 7, "kitchen cabinet": 3, "office chair": 5, "wall": 1}[label]


def write_annotations(scan: Path, spec: ScanSpec, align: RigidTransform) -> None:
    """`_vh_clean_2.ply` (binary, with a face element), segs.json and aggregation.json: every object (and one
    wall) is two segments of surface points, in the scan frame."""
    things = list(spec.room.objects) + ([spec.room.walls[2]] if spec.include_wall_instance else [])
    scan_from_world = align.inverse()
    chunks, seg_indices, groups = [], [], []
    for obj_id, thing in enumerate(things):
        pts = scan_from_world.apply(box_surface_points(thing.box))  # (K, 3) scan frame
        half = len(pts) // 2
        segs = [100 + 2 * obj_id, 101 + 2 * obj_id]
        seg_indices += [segs[0]] * half + [segs[1]] * (len(pts) - half)
        chunks.append(pts)
        groups.append({"id": obj_id, "objectId": obj_id, "segments": segs, "label": thing.label})
    vertices = np.concatenate(chunks)
    seg_indices.append(999)  # one unlabelled vertex (belongs to no instance)
    vertices = np.vstack([vertices, [[0.0, 0.0, 0.0]]])
    write_binary_ply(scan / f"{spec.scene}_vh_clean_2.ply", vertices, faces=[[0, 1, 2], [1, 2, 3]])
    (scan / f"{spec.scene}_vh_clean_2.0.010000.segs.json").write_text(
        json.dumps({"params": {}, "sceneId": spec.scene, "segIndices": seg_indices})
    )
    (scan / f"{spec.scene}.aggregation.json").write_text(
        json.dumps({"sceneId": f"scannet.{spec.scene}", "segGroups": groups})
    )


def write_binary_ply(
    path: Path, vertices: np.ndarray, faces: Sequence[Sequence[int]] = (), order: str = "<"
) -> None:
    fmt = "binary_little_endian" if order == "<" else "binary_big_endian"
    header = (
        f"ply\nformat {fmt} 1.0\ncomment test\nelement vertex {len(vertices)}\n"
        "property float x\nproperty float y\nproperty float z\n"
        "property uchar red\nproperty uchar green\nproperty uchar blue\n"
        f"element face {len(faces)}\nproperty list uchar int vertex_indices\nend_header\n"
    )
    row = np.dtype(
        [("x", order + "f4"), ("y", order + "f4"), ("z", order + "f4"), ("r", "u1"), ("g", "u1"), ("b", "u1")]
    )
    data = np.zeros(len(vertices), dtype=row)
    data["x"], data["y"], data["z"] = vertices[:, 0], vertices[:, 1], vertices[:, 2]
    data["r"], data["g"], data["b"] = 10, 20, 30
    body = data.tobytes()
    for f in faces:
        body += np.array([len(f)], dtype="u1").tobytes() + np.array(f, dtype=order + "i4").tobytes()
    path.write_bytes(header.encode("ascii") + body)


# ---------------------------------------------------------------- CA-1M


CA1M_IMAGE = PinholeCamera(60.0, 60.0, 31.5, 23.5, 64, 48)
CA1M_DEPTH = PinholeCamera(30.0, 30.0, 15.5, 11.5, 32, 24)  # a quarter-size ARKit-like raster (half here)
# laser_from_world: the laser frame is y-up (a turn of -90 deg about x from our z-up world) and shifted.
LASER_FROM_WORLD = RigidTransform(rot_x(math.radians(-90.0)), np.array([0.2, 0.1, -0.3]), "laser", "world")


def cam_from_gravity(world_from_cam: RigidTransform) -> np.ndarray:
    """(3, 3) T_gravity of a camera: the gravity-aligned frame (same heading, +y down) into the camera."""
    down = np.array([0.0, 0.0, -1.0])
    forward = world_from_cam.rotation[:, 2].copy()
    forward[2] = 0.0
    forward /= np.linalg.norm(forward)
    x = np.cross(down, forward)
    world_from_gravity = np.stack([x, down, forward], axis=1)
    return world_from_cam.rotation.T @ world_from_gravity


def ca1m_members(
    room: Room,
    poses: Sequence[RigidTransform],
    video: str = "42898570",
    *,
    transpose_gravity: bool = False,
    world_instances: bool = True,
) -> dict[str, bytes]:
    """name -> bytes of a CA-1M capture tar (timestamps 1e9 * (i + 1) ns)."""
    out: dict[str, bytes] = {}
    image = rgb_png_bytes(CA1M_IMAGE.width, CA1M_IMAGE.height)
    for i, world_from_cam in enumerate(poses):
        ts = str(1_000_000_000 * (i + 1))
        laser_from_cam = LASER_FROM_WORLD @ RigidTransform(
            world_from_cam.rotation, world_from_cam.translation, "world", "c"
        )
        t_gravity = cam_from_gravity(world_from_cam)
        cam_from_world = world_from_cam.inverse()
        instances = [
            {
                "id": f"obj{j}",
                "category": "object",
                "position": cam_from_world.apply(t.box.center).tolist(),
                "scale": list(t.size),
                "R": (cam_from_world.rotation @ t.box.rotation).tolist(),
                "box_2d_rend": [0, 0, 1, 1],
            }
            for j, t in enumerate(room.objects)
        ]
        prefix = f"{video}/{ts}."
        out[prefix + "wide/image.png"] = image
        out[prefix + "wide/image/K.json"] = json.dumps(CA1M_IMAGE.matrix().tolist()).encode()
        out[prefix + "wide/depth.png"] = depth_png_bytes(render_depth(room, CA1M_DEPTH, world_from_cam))
        out[prefix + "wide/depth/K.json"] = json.dumps(CA1M_DEPTH.matrix().tolist()).encode()
        out[prefix + "wide/T_gravity.json"] = json.dumps(
            (t_gravity.T if transpose_gravity else t_gravity).tolist()
        ).encode()
        out[prefix + "gt/RT.json"] = json.dumps(laser_from_cam.matrix().tolist()).encode()
        out[prefix + "wide/instances.json"] = json.dumps(instances).encode()
    if world_instances:
        things = [*room.objects, room.walls[0]]
        entries = [
            {
                "id": f"obj{j}" if j < len(room.objects) else "wall0",
                "category": "object" if j < len(room.objects) else "wall",
                "position": LASER_FROM_WORLD.apply(t.box.center).tolist(),
                "scale": list(t.size),
                "R": (LASER_FROM_WORLD.rotation @ t.box.rotation).tolist(),
            }
            for j, t in enumerate(things)
        ]
        out[f"{video}/world.gt/instances.json"] = json.dumps(entries).encode()
    return out


def write_tar(path: Path, members: dict[str, bytes], extra: Sequence[tarfile.TarInfo] = ()) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra:
            tar.addfile(info, io.BytesIO(b"x" * info.size) if info.isfile() else None)
    return path
