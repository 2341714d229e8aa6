"""One synthetic scene end to end: layout -> meshes -> cameras -> rendered views -> a Scene record.

`synthesize_scene(index, config)` is a pure function of (config, index): the scene's randomness comes from
random.Random(f"{seed}:{setting}:{index}"), so any scene can be remade alone and any sharding gives the same
scenes. `write_scene_assets` writes what the Scene record points at, under the output folder (= the scene's
asset_root):

    images/<stem>/<view_id>.png   RGB, 8-bit
    depth/<stem>/<view_id>.npy    float32 (H, W) z-depth, metres, the view's camera frame; NaN = no surface
    masks/<stem>/<view_id>.png    16-bit instance ids: 0 = no object (floor, walls, sky), k = the object whose
                                  attributes["instance_id"] is k
with <stem> = "<setting>_<index:06d>".

Per view and object (ObjectObservation), all from the renders (never from the layout's intent):
- box2d: the tight box of the object's visible pixels (box2d_kind "mask"; pixel i covers [i - 0.5, i + 0.5]);
- visibility: visible pixels / pixels of the object rendered alone (same view, nothing else) in the image;
- truncation: 1 - (the alone render's pixels inside the image / its pixels on a canvas three times as wide and
  high around the image);
- an object with fewer than MIN_VISIBLE_PIXELS visible pixels has no observation in that view.
"""

from __future__ import annotations

import math
import os
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image

from spatialforge.geometry.boxes import project_box_to_2d
from spatialforge.geometry.boxes2d import Box2D
from spatialforge.geometry.camera import PinholeCamera
from spatialforge.geometry.rotations import rot_z
from spatialforge.geometry.transforms import RigidTransform
from spatialforge.scene.records import AssetRef, Gravity, Object3D, ObjectObservation, Scene, View
from spatialforge.sources.fronts import has_semantic_front
from spatialforge.synth import raster
from spatialforge.synth.assets import CATALOGUE, PALETTE, build_mesh
from spatialforge.synth.cameras import RIGS, pinhole_from_hfov, world_from_cam_pose
from spatialforge.synth.layout import SYNTH_SETTINGS, Layout, make_layout
from spatialforge.synth.raster import RenderedView, RenderMesh
from spatialforge.synth.stuff import stuff_for
from spatialforge.synth.views import camera_poses

SYNTH_FORMAT = 1  # bump when the same (config, index) would give a different scene
MIN_VISIBLE_PIXELS = 20
SYNTH_LICENSE = "CC0-1.0"
_PALETTE_RGB = dict(PALETTE)
RENDERERS = ("numpy", "gl")  # synth.raster (default, no system GL) and synth.gl (EGL, `spatialforge[render]`)


def renderer(name: str) -> Callable[..., RenderedView]:
    """The render_view function of a backend (both share one signature and contract)."""
    if name == "numpy":
        return raster.render_view
    if name == "gl":
        from spatialforge.synth import gl

        return gl.render_view
    raise ValueError(f"renderer must be one of {', '.join(RENDERERS)}, got {name!r}")


@dataclass(frozen=True)
class SynthConfig:
    """What decides a synthetic scene. hfov_deg None: drawn from the rig's range."""

    setting: str = "indoor"
    views: int = 1
    width: int = 640
    height: int = 480
    seed: int = 0
    hfov_deg: float | None = None
    renderer: str = "numpy"

    def __post_init__(self) -> None:
        if self.renderer not in RENDERERS:
            raise ValueError(f"renderer must be one of {', '.join(RENDERERS)}, got {self.renderer!r}")
        if self.setting not in SYNTH_SETTINGS:
            raise ValueError(f"setting must be one of {', '.join(SYNTH_SETTINGS)}, got {self.setting!r}")
        if self.views < 1:
            raise ValueError(f"views must be >= 1, got {self.views}")
        if not (16 <= self.width <= 4096 and 16 <= self.height <= 4096):
            raise ValueError(f"width and height must be 16-4096 px, got {self.width}x{self.height}")


class SynthScene(NamedTuple):
    scene: Scene
    frames: tuple[RenderedView, ...]  # one per scene view, same order
    rejected: Counter[str]  # placements and views that could not be made, by reason


def scene_stem(config: SynthConfig, index: int) -> str:
    """The scene's asset folder name; carries the seed when it is not 0, as scene_id does, so two seeds'
    image paths differ too (the leakage check compares relative image paths)."""
    if config.seed == 0:
        return f"{config.setting}_{index:06d}"
    return f"{config.setting}_seed{config.seed}_{index:06d}"


def scene_id(config: SynthConfig, index: int) -> str:
    """synth_<setting>/<index>, with the seed in it when it is not 0 (synth_indoor/seed7/000012): scenes of
    two seeds are different scenes, so their ids - and capture ids, the unit a benchmark holds out - must
    differ too (a held-out set made with another seed must not share ids with the training set)."""
    if config.seed == 0:
        return f"synth_{config.setting}/{index:06d}"
    return f"synth_{config.setting}/seed{config.seed}/{index:06d}"


def object_meshes(layout: Layout) -> list[RenderMesh]:
    """Each placement's catalogue mesh moved into the world (instance id = placement index + 1)."""
    out = []
    for i, p in enumerate(layout.placements):
        mesh = build_mesh(CATALOGUE[p.category], np.array(p.size_m), _PALETTE_RGB[p.colour])
        world_from_object = rot_z(p.yaw_rad)  # (3, 3): boxes turn about world up only
        vertices = mesh.vertices @ world_from_object.T + np.array(p.center_m)  # (V, 3) m, world
        out.append(RenderMesh(vertices, mesh.faces, mesh.face_colours, i + 1))
    return out


def _alone_pixels(
    render: Callable[..., RenderedView],
    mesh: RenderMesh,
    camera: PinholeCamera,
    cam_from_world: RigidTransform,
    projected: Box2D | None,
) -> tuple[int, int]:
    """(pixels inside the image, pixels on a canvas three times as wide and high around it) of the object
    rendered alone. Only a window around its projected 3D box (which holds the silhouette: the mesh lies in
    the box, and the box's projection clips at a nearer plane than the renderer) is rendered: the same pixels
    as the whole canvas at a fraction of the cost."""
    if projected is None:
        return 0, 0
    w, h = camera.width, camera.height
    # Window columns [c0, c1) and rows [r0, r1) in image pixels (pixel i covers [i - 0.5, i + 0.5]), one pixel
    # of slack each side, kept on the padded canvas [-w, 2w) x [-h, 2h).
    c0, c1 = max(-w, math.floor(projected.x_min) - 1), min(2 * w, math.ceil(projected.x_max) + 2)
    r0, r1 = max(-h, math.floor(projected.y_min) - 1), min(2 * h, math.ceil(projected.y_max) + 2)
    if c1 <= c0 or r1 <= r0:
        return 0, 0
    window = PinholeCamera(camera.fx, camera.fy, camera.cx - c0, camera.cy - r0, c1 - c0, r1 - r0)
    ids = render([mesh], window, cam_from_world, shade=False).instance == mesh.instance_id  # (r1-r0, c1-c0)
    rows = slice(max(0, r0) - r0, max(0, min(h, r1) - r0))
    cols = slice(max(0, c0) - c0, max(0, min(w, c1) - c0))
    return int(ids[rows, cols].sum()), int(ids.sum())


def observe(
    view_id: str,
    frame: RenderedView,
    meshes: list[RenderMesh],
    layout: Layout,
    camera: PinholeCamera,
    cam_from_world: RigidTransform,
    render: Callable[..., RenderedView] = raster.render_view,
) -> dict[int, ObjectObservation]:
    """Observations (by instance id) of the objects visible in one rendered view (module docstring)."""
    out: dict[int, ObjectObservation] = {}
    ids = frame.instance
    counts = np.bincount(ids.ravel(), minlength=len(meshes) + 1)
    for mesh, p in zip(meshes, layout.placements, strict=True):
        k = mesh.instance_id
        visible = int(counts[k])
        if visible < MIN_VISIBLE_PIXELS:
            continue
        mine = ids == k  # (H, W)
        rows = np.flatnonzero(mine.any(axis=1))
        cols = np.flatnonzero(mine.any(axis=0))
        box2d = Box2D(cols[0] - 0.5, rows[0] - 0.5, cols[-1] + 0.5, rows[-1] + 0.5)
        box_cam = p.box().transformed(cam_from_world)
        projected = project_box_to_2d(box_cam, camera, clip_to_image=False)  # pixels, may leave the image
        inside, full = _alone_pixels(render, mesh, camera, cam_from_world, projected)
        visibility = min(1.0, visible / inside) if inside else 1.0
        truncation = 1.0 - inside / full if full else 0.0
        out[k] = ObjectObservation(
            view_id,
            box2d,
            "mask",
            round(visibility, 4),
            round(truncation, 4),
            None,
            bool(box_cam.center[2] <= 0),
        )
    return out


def synthesize_scene(index: int, config: SynthConfig, asset_root: str = ".") -> SynthScene:
    """Scene `index` of `config` with its rendered frames (module docstring); nothing is written."""
    rng = random.Random(f"{config.seed}:{config.setting}:{index}")
    layout = make_layout(config.setting, rng)
    rejected = Counter(layout.rejected)
    rig, poses = camera_poses(layout, config.views, rng)
    if len(poses) < config.views:
        rejected["view_without_free_spot"] += config.views - len(poses)
    meshes = object_meshes(layout)
    stuff = stuff_for(layout, rng)
    scene_meshes = [RenderMesh(stuff.vertices, stuff.faces, stuff.face_colours, 0), *meshes]
    stem = scene_stem(config, index)
    render = renderer(config.renderer)
    views, frames = [], []
    observations: dict[int, list[ObjectObservation]] = {m.instance_id: [] for m in meshes}
    # One camera (lens) per trajectory, as one device records it.
    hfov = config.hfov_deg if config.hfov_deg is not None else rng.uniform(*RIGS[rig].hfov_deg)
    camera = pinhole_from_hfov(hfov, config.width, config.height)
    for v, pose in enumerate(poses):
        view_id = f"v{v}"
        world_from_cam = world_from_cam_pose(
            pose.position_m, pose.yaw_rad, pose.pitch_rad, pose.roll_rad, view_id
        )
        cam_from_world = world_from_cam.inverse()
        frame = render(scene_meshes, camera, cam_from_world)
        frames.append(frame)
        for k, obs in observe(view_id, frame, meshes, layout, camera, cam_from_world, render).items():
            observations[k].append(obs)
        views.append(
            View(
                view_id,
                f"images/{stem}/{view_id}.png",
                camera,
                world_from_cam,
                depth=AssetRef(
                    f"depth/{stem}/{view_id}.npy", "npy_f32", frame=f"cam:{view_id}", scale_to_m=1.0
                ),
                timestamp_s=round(0.5 * v, 3),
                metadata={"instance_mask": f"masks/{stem}/{view_id}.png", "rig": rig},
            )
        )
    objects = []
    for i, p in enumerate(layout.placements):
        support = layout.placements[p.support] if p.support is not None else None
        objects.append(
            Object3D(
                object_id=str(i),
                source_id=f"synth:{config.setting}:{config.seed}:{index}:{i}",
                category=p.category,
                box=p.box(),
                has_front=has_semantic_front(p.category),
                observations=tuple(observations[i + 1]),
                attributes={
                    "colour": p.colour,
                    "instance_id": i + 1,
                    "on": str(p.support)
                    if support is not None
                    else ("ground" if config.setting == "street" else "floor"),
                },
            )
        )
    sid = scene_id(config, index)
    scene = Scene(
        scene_id=sid,
        capture_id=sid,
        source=f"synth_{config.setting}",
        split="train",
        license=SYNTH_LICENSE,
        asset_root=asset_root,
        views=tuple(views),
        objects=tuple(objects),
        gravity=Gravity((0.0, 0.0, -1.0), "exact"),
        metadata={
            "synth_format": SYNTH_FORMAT,
            "setting": config.setting,
            "seed": config.seed,
            "index": index,
            **({"room_m": list(layout.room_m)} if layout.room_m is not None else {}),
        },
    )
    return SynthScene(scene, tuple(frames), rejected)


def _write_atomic(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    write(tmp)
    os.replace(tmp, path)


def write_scene_assets(synth: SynthScene, root: Path) -> None:
    """Write every file the scene's views name (images, depth, instance masks) under root, atomically."""
    for view, frame in zip(synth.scene.views, synth.frames, strict=True):
        _write_atomic(root / view.image_path, lambda t, f=frame: Image.fromarray(f.rgb).save(t, format="PNG"))
        assert view.depth is not None
        _write_atomic(root / view.depth.path, lambda t, f=frame: _save_npy(t, f.depth_m))
        mask = frame.instance.astype(
            np.uint16
        )  # (H, W) instance ids; scenes hold far fewer than 65,536 objects
        _write_atomic(
            root / view.metadata["instance_mask"], lambda t, m=mask: Image.fromarray(m).save(t, format="PNG")
        )


def _save_npy(path: Path, depth: np.ndarray) -> None:
    with open(path, "wb") as fh:
        np.save(fh, depth.astype(np.float32), allow_pickle=False)
