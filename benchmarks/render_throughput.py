"""Render throughput: milliseconds per frame of the synthetic-world renderer and the process's peak RSS.

Builds a room (floor, four walls, ceiling) holding --boxes random boxes (12 triangles each, so the default 250
boxes make ~3,000 triangles), then renders --frames views from cameras standing inside the room, turning
around it, at each requested resolution. Reports the median and the spread of ms per frame (the first frame is
timed separately: it includes one-off costs such as GL context creation). Usage:

    python benchmarks/render_throughput.py --sizes 320x240 640x480 --frames 30 --backend numpy \
        --out benchmarks/results/render_throughput.json
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import sys
import time
from pathlib import Path


def build_scene(n_boxes: int, seed: int) -> list:
    """Room 8 m x 6 m x 3 m (stuff, instance 0) with n_boxes boxes (instances 1..n) on and above its floor."""
    import numpy as np

    from spatialforge.geometry.rotations import rot_z
    from spatialforge.synth.raster import box_mesh

    rng = np.random.default_rng(seed)
    half = np.array([4.0, 3.0, 1.5])  # room half extents, m
    room = [
        box_mesh((0, 0, -0.05), (8.2, 6.2, 0.1), (0.55, 0.45, 0.35), 0),  # floor slab, top at z = 0
        box_mesh((0, 0, 3.05), (8.2, 6.2, 0.1), (0.9, 0.9, 0.9), 0),  # ceiling
        box_mesh((half[0] + 0.05, 0, 1.5), (0.1, 6.2, 3.0), (0.8, 0.8, 0.7), 0),  # walls
        box_mesh((-half[0] - 0.05, 0, 1.5), (0.1, 6.2, 3.0), (0.7, 0.8, 0.8), 0),
        box_mesh((0, half[1] + 0.05, 1.5), (8.2, 0.1, 3.0), (0.8, 0.7, 0.8), 0),
        box_mesh((0, -half[1] - 0.05, 1.5), (8.2, 0.1, 3.0), (0.75, 0.75, 0.75), 0),
    ]
    boxes = []
    for i in range(n_boxes):
        size = rng.uniform(0.1, 0.8, 3)
        center = np.array(
            [rng.uniform(-3.5, 3.5), rng.uniform(-2.5, 2.5), size[2] / 2 + rng.choice([0.0, 0.8, 1.5])]
        )
        colour = rng.uniform(0.05, 0.95, 3)
        boxes.append(box_mesh(center, size, colour, i + 1, rot_z(rng.uniform(0, 2 * np.pi))))
    return room + boxes


def camera_poses(n_frames: int):
    """cam_from_world for n_frames cameras 1.5 m above the floor near the room centre, turning full circle and
    tilted 15 degrees down."""
    import numpy as np

    from spatialforge.geometry.transforms import RigidTransform

    poses = []
    for k in range(n_frames):
        yaw = 2 * np.pi * k / max(n_frames, 1)
        forward = np.array([np.cos(yaw), np.sin(yaw), -np.tan(np.radians(15))])
        forward /= np.linalg.norm(forward)
        right = np.cross(forward, [0.0, 0.0, 1.0])
        right /= np.linalg.norm(right)
        down = np.cross(forward, right)
        world_from_cam_rot = np.stack([right, down, forward], axis=1)  # columns: camera axes in world
        centre = np.array([0.5 * np.cos(yaw + 1.0), 0.5 * np.sin(yaw + 1.0), 1.5])
        world_from_cam = RigidTransform(world_from_cam_rot, centre, "world", "cam")
        poses.append(world_from_cam.inverse())
    return poses


def measure(backend: str, meshes: list, width: int, height: int, n_frames: int) -> dict:
    """Render n_frames views at width x height; ms of the first frame and median / min / max of the rest."""
    import numpy as np

    from spatialforge.geometry.camera import PinholeCamera

    if backend == "gl":
        from spatialforge.synth.gl import render_view
    else:
        from spatialforge.synth.raster import render_view
    f = 0.8 * width  # ~64 degrees horizontal field of view
    camera = PinholeCamera(f, f, (width - 1) / 2, (height - 1) / 2, width, height)
    times_ms = []
    covered = []
    for cam_from_world in camera_poses(n_frames + 1):
        start = time.perf_counter()
        view = render_view(meshes, camera, cam_from_world)
        times_ms.append((time.perf_counter() - start) * 1e3)
        covered.append(float(np.mean(view.instance > 0)))
    rest = times_ms[1:]
    return {
        "backend": backend,
        "size": f"{width}x{height}",
        "frames": n_frames,
        "first_ms": round(times_ms[0], 2),
        "median_ms": round(statistics.median(rest), 2),
        "min_ms": round(min(rest), 2),
        "max_ms": round(max(rest), 2),
        "object_pixel_fraction": round(statistics.mean(covered), 3),
    }


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boxes", type=int, default=250, help="random boxes in the room (12 triangles each)")
    parser.add_argument("--sizes", nargs="+", default=["320x240", "640x480"], help="WIDTHxHEIGHT")
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--backend", choices=["numpy", "gl"], default="numpy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)

    meshes = build_scene(args.boxes, args.seed)
    n_triangles = sum(len(m.faces) for m in meshes)
    rows = []
    for size in args.sizes:
        width, height = (int(s) for s in size.lower().split("x"))
        row = measure(args.backend, meshes, width, height, args.frames)
        row["triangles"] = n_triangles
        rows.append(row)
        print(
            f"{row['backend']:6s} {row['size']:>9s} {n_triangles} triangles:"
            f" median {row['median_ms']:.1f} ms/frame"
            f" (min {row['min_ms']:.1f}, max {row['max_ms']:.1f}, first {row['first_ms']:.1f}),"
            f" objects cover {row['object_pixel_fraction']:.0%} of pixels"
        )
    rss = peak_rss_mib()
    print(f"peak RSS {rss:.0f} MiB")
    if args.out:
        result = {
            "rows": rows,
            "peak_rss_mib": round(rss, 1),
            "python": platform.python_version(),
            "machine": platform.processor() or platform.machine(),
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
