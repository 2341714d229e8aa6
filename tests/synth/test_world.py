"""Synthetic scenes end to end (synth.world): renders agree with the ground truth they are written with.

Scenes are small (160 x 120) so the module stays fast; geometry does not depend on resolution.
"""

from __future__ import annotations

import json
import math
from functools import cache

import numpy as np
import pytest

from spatialforge.geometry.boxes import box_iou_3d, project_box_to_2d
from spatialforge.geometry.boxes2d import Box2D
from spatialforge.geometry.camera import PinholeCamera
from spatialforge.jsonl import encode_line
from spatialforge.scene.codec import scene_from_dict, scene_to_dict
from spatialforge.scene.depth import load_depth
from spatialforge.scene.validate import scene_problems
from spatialforge.synth.assets import CATALOGUE, build_mesh
from spatialforge.synth.cameras import world_from_cam_pose
from spatialforge.synth.layout import SYNTH_SETTINGS
from spatialforge.synth.raster import RenderMesh, render_view
from spatialforge.synth.world import SynthConfig, synthesize_scene, write_scene_assets

SMALL = {"width": 160, "height": 120}
N_PER_SETTING = 6


@cache
def scenes(setting: str, views: int = 1):
    config = SynthConfig(setting=setting, views=views, **SMALL)
    return [synthesize_scene(i, config) for i in range(N_PER_SETTING)]


def _iou_2d(a, b) -> float:
    ix = max(0.0, min(a.x_max, b.x_max) - max(a.x_min, b.x_min))
    iy = max(0.0, min(a.y_max, b.y_max) - max(a.y_min, b.y_min))
    inter = ix * iy
    return inter / (a.area + b.area - inter)


@pytest.mark.parametrize("setting", SYNTH_SETTINGS)
def test_scenes_are_valid_records_that_round_trip(setting):
    for synth in scenes(setting):
        scene = synth.scene
        assert scene_problems(scene, check_files=False) == [], scene.scene_id
        as_dict = json.loads(encode_line(scene_to_dict(scene)))
        assert scene_to_dict(scene_from_dict(as_dict)) == as_dict
        assert scene.gravity is not None and scene.gravity.source == "exact"
        assert sum(1 for o in scene.objects if o.observations) >= 2, (
            f"{scene.scene_id}: too few objects in view"
        )


@pytest.mark.parametrize("setting", SYNTH_SETTINGS)
def test_no_two_objects_interpenetrate_and_all_stand_on_something(setting):
    for synth in scenes(setting):
        objs = synth.scene.objects
        for i, a in enumerate(objs):
            for b in objs[i + 1 :]:
                assert box_iou_3d(a.box, b.box) < 1e-9, (
                    f"{synth.scene.scene_id}: {a.object_id} vs {b.object_id}"
                )
            bottom = a.box.center[2] - a.box.size[2] / 2  # boxes turn about z only
            on = a.attributes["on"]
            expected = (
                0.0
                if on in ("floor", "ground")
                else float(synth.scene.object(on).box.center[2] + synth.scene.object(on).box.size[2] / 2)
            )
            assert bottom == pytest.approx(expected, abs=1e-9), (
                f"{synth.scene.scene_id}: {a.object_id} floats"
            )


@pytest.mark.parametrize("setting", SYNTH_SETTINGS)
def test_sizes_stay_in_their_category_range(setting):
    for synth in scenes(setting):
        for o in synth.scene.objects:
            spec = CATALOGUE[o.category]
            lo, hi = np.array(spec.size_min_m), np.array(spec.size_max_m)
            if synth.scene.metadata["setting"] == "tabletop" and o.category == "table":
                hi = np.maximum(hi, [1.2, 0.75, 0.0])  # the tabletop table is at least 1.2 x 0.75 m
            assert np.all(o.box.size >= lo - 1e-9) and np.all(o.box.size <= hi + 1e-9), (
                o.category,
                o.box.size,
            )


def test_same_seed_same_scene_and_pixels_other_seed_other_scene():
    config = SynthConfig(setting="indoor", views=2, **SMALL)
    a, b = synthesize_scene(4, config), synthesize_scene(4, config)
    assert scene_to_dict(a.scene) == scene_to_dict(b.scene)
    for fa, fb in zip(a.frames, b.frames, strict=True):
        assert np.array_equal(fa.rgb, fb.rgb) and np.array_equal(fa.instance, fb.instance)
        assert np.array_equal(fa.depth_m, fb.depth_m, equal_nan=True)
    other = synthesize_scene(4, SynthConfig(setting="indoor", views=2, seed=1, **SMALL))
    assert scene_to_dict(other.scene)["objects"] != scene_to_dict(a.scene)["objects"]
    # Different scenes, different ids: a held-out set made with another seed shares no capture with this one.
    assert a.scene.scene_id == a.scene.capture_id == "synth_indoor/000004"
    assert other.scene.scene_id == other.scene.capture_id == "synth_indoor/seed1/000004"


def _silhouette_box(synth, obj, view):
    """2D box of the object's mesh vertices projected into the view (all in front of the camera here)."""
    spec = CATALOGUE[obj.category]
    asset = build_mesh(spec, obj.box.size, (0.5, 0.5, 0.5))
    vertices_world = asset.vertices @ obj.box.rotation.T + obj.box.center  # (V, 3) m, world
    uv, _ = view.camera.project(view.cam_from_world().apply(vertices_world))
    return Box2D(uv[:, 0].min(), uv[:, 1].min(), uv[:, 0].max(), uv[:, 1].max())


@pytest.mark.parametrize("setting", SYNTH_SETTINGS)
def test_masks_agree_with_projected_geometry_for_unoccluded_objects(setting):
    """For objects seen whole (visibility >= 0.98, no truncation): the mask's tight box equals the projected
    mesh's box up to pixel rounding, and overlaps the projected 3D box well (a lamp's or a mug's silhouette
    never fills its box, so that IoU is lower for round things; blocky furniture nearly coincides)."""
    mesh_ious, box_ious = [], []
    for synth in scenes(setting):
        for o in synth.scene.objects:
            for obs in o.observations:
                if obs.visibility < 0.98 or obs.truncation > 0.0:
                    continue
                view = synth.scene.view(obs.view_id)
                silhouette = _silhouette_box(synth, o, view)
                if silhouette.width < 8 or silhouette.height < 8:
                    continue  # a few pixels: rounding dominates
                mesh_ious.append(_iou_2d(obs.box2d, silhouette))
                projected = project_box_to_2d(synth.scene.object_in_camera(o, view), view.camera)
                box_ious.append(_iou_2d(obs.box2d, projected))
    assert len(mesh_ious) >= 5
    assert min(mesh_ious) > 0.75 and float(np.median(mesh_ious)) > 0.9, sorted(mesh_ious)[:5]
    assert float(np.median(box_ious)) > 0.6, sorted(box_ious)[:5]


@pytest.mark.parametrize("setting", SYNTH_SETTINGS)
def test_depth_back_projects_into_the_boxes_and_onto_the_floor(setting):
    for synth in scenes(setting)[:3]:
        scene = synth.scene
        for view, frame in zip(scene.views, synth.frames, strict=True):
            points_cam = view.camera.point_map(frame.depth_m.astype(float))  # (H, W, 3) m, cam
            points_world = view.world_from_cam.apply(points_cam.reshape(-1, 3)).reshape(points_cam.shape)
            for o in scene.objects:
                k = o.attributes["instance_id"]
                mine = points_world[frame.instance == k]  # (N, 3) m, world
                if len(mine):
                    inside = o.box.contains(mine, margin_m=0.01)
                    assert inside.mean() == 1.0, f"{scene.scene_id} {o.category}: {inside.mean():.3f} inside"
            stuff = (frame.instance == 0) & np.isfinite(frame.depth_m)
            z = points_world[stuff][:, 2]
            # Stuff is the floor / ground (z = 0), walls, ceiling or building fronts: nothing below the floor.
            assert z.min() > -0.01
            floor = np.abs(z) < 0.02
            assert floor.mean() > 0.1  # the floor is in view


def test_assets_written_match_the_frames_and_the_scene_reads_its_own_depth(tmp_path):
    config = SynthConfig(setting="tabletop", views=2, **SMALL)
    synth = synthesize_scene(1, config, asset_root=str(tmp_path))
    write_scene_assets(synth, tmp_path)
    from PIL import Image

    for view, frame in zip(synth.scene.views, synth.frames, strict=True):
        assert np.array_equal(np.asarray(Image.open(tmp_path / view.image_path)), frame.rgb)
        mask = np.asarray(Image.open(tmp_path / view.metadata["instance_mask"]))
        assert np.array_equal(mask.astype(np.int32), frame.instance)
        depth = load_depth(synth.scene, view)
        assert np.array_equal(depth, frame.depth_m, equal_nan=True) or np.allclose(
            depth, frame.depth_m, equal_nan=True
        )
    assert not list(tmp_path.rglob("*.partial"))


def test_multi_view_trajectory_moves_and_keeps_objects_in_common():
    for synth in scenes("indoor", views=3)[:4]:
        views = synth.scene.views
        if len(views) < 2:
            continue
        positions = [v.world_from_cam.translation for v in views]
        steps = [float(np.linalg.norm(b - a)) for a, b in zip(positions[:-1], positions[1:], strict=True)]
        assert all(0.1 < s < 1.0 for s in steps), steps
        seen = [{o.object_id for o in synth.scene.objects if o.observation(v.view_id)} for v in views]
        assert seen[0] & seen[1], "consecutive views share no object"


def test_cameras_differ_from_the_gravity_frame():
    """Pitch and roll: the camera's down axis is not world down in most views (SPEC section 1)."""
    tilts = []
    for setting in ("indoor", "tabletop"):
        for synth in scenes(setting):
            for v in synth.scene.views:
                down_cam_in_world = v.world_from_cam.rotation[:, 1]
                tilts.append(math.degrees(math.acos(min(1.0, -float(down_cam_in_world[2])))))
    assert np.median(tilts) > 5.0 and max(tilts) > 20.0


def test_facing_same_opposite_and_perpendicular_all_occur():
    kinds = set()
    for synth in scenes("indoor") + scenes("street"):
        fronts = [o.front_world() for o in synth.scene.objects if o.has_front]
        for i, a in enumerate(fronts):
            for b in fronts[i + 1 :]:
                angle = math.degrees(math.acos(max(-1.0, min(1.0, float(a @ b)))))
                kinds.add(
                    "same"
                    if angle < 15
                    else "opposite"
                    if angle > 165
                    else "perpendicular"
                    if 75 < angle < 105
                    else "other"
                )
    assert {"same", "opposite", "perpendicular"} <= kinds


def test_colours_name_objects_of_a_category_uniquely():
    for setting in SYNTH_SETTINGS:
        for synth in scenes(setting):
            pairs = [(o.category, o.attributes["colour"]) for o in synth.scene.objects]
            assert len(pairs) == len(set(pairs))


@pytest.mark.parametrize("name", sorted(n for n, spec in CATALOGUE.items() if spec.has_front))
def test_every_front_looks_different_from_the_back(name):
    """Render the object alone, head-on from in front (on its +x axis) and from behind, each lit from the
    camera; mirror the back view so the silhouettes line up; the object's pixels must differ clearly."""
    spec = CATALOGUE[name]
    size = (np.array(spec.size_min_m) + np.array(spec.size_max_m)) / 2
    mesh = build_mesh(spec, size, (0.5, 0.5, 0.5))
    render_mesh = RenderMesh(mesh.vertices, mesh.faces, mesh.face_colours, 1)
    distance = size[0] / 2 + 1.6 * float(max(size[1], size[2]))  # the y-z face fills about 60 % of the view
    camera = PinholeCamera(100.0, 100.0, 63.5, 63.5, 128, 128)
    views = []
    for side in (1.0, -1.0):
        position = np.array([side * distance, 0.0, 0.0])
        yaw = math.pi if side > 0 else 0.0  # look back at the origin
        world_from_cam = world_from_cam_pose(position, yaw, 0.0, 0.0, "v0")
        frame = render_view(
            [render_mesh], camera, world_from_cam.inverse(), light_dir_world=(-side, 0.0, -0.3)
        )
        assert (frame.instance == 1).sum() > 300, f"{name} not in view"
        views.append(frame)
    front, back = views
    back_rgb, back_ids = back.rgb[:, ::-1].astype(float), back.instance[:, ::-1]
    union = (front.instance == 1) | (back_ids == 1)
    diff = np.abs(front.rgb.astype(float) - back_rgb)[union].mean()
    assert diff > 12.0, f"{name}: front and back look alike (mean abs diff {diff:.1f} / 255 on its pixels)"


def test_the_gl_renderer_makes_the_same_scene():
    """`--renderer gl`: same layout and cameras; ids and visibility agree with the numpy backend up to
    pixels whose centre lies on a triangle edge."""
    from spatialforge.synth import gl

    if not gl.is_available():
        pytest.skip("no moderngl / EGL here")
    config = SynthConfig(setting="indoor", views=2, **SMALL)
    a = synthesize_scene(2, config)
    b = synthesize_scene(2, SynthConfig(setting="indoor", views=2, renderer="gl", **SMALL))
    centres = [[o.box.center.tolist() for o in s.scene.objects] for s in (a, b)]
    assert centres[0] == centres[1]
    for fa, fb in zip(a.frames, b.frames, strict=True):
        assert (fa.instance == fb.instance).mean() > 0.99
    for oa, ob in zip(a.scene.objects, b.scene.objects, strict=True):
        for obs_a, obs_b in zip(oa.observations, ob.observations, strict=False):
            assert abs(obs_a.visibility - obs_b.visibility) < 0.05


def test_unknown_renderer_is_refused():
    with pytest.raises(ValueError, match="renderer"):
        SynthConfig(renderer="vulkan")
