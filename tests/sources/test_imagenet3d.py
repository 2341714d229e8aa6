"""ImageNet3D adapter: hand-checked pose conversion, viewpoint facts end to end, metamorphic, bad input.

Fixtures are built here (tiny PNG/JPEG images + np.savez object arrays, as the release stores them).
Geometry checks write the expected camera-frame axes by hand (OpenCV camera: x right, y down, z forward).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from spatialforge.engine.generate import GenerateConfig, generate_scene
from spatialforge.errors import RecordError
from spatialforge.geometry.boxes import project_box_to_2d
from spatialforge.qa.references import reference_options
from spatialforge.scene.codec import scene_to_dict
from spatialforge.scene.io import read_scenes
from spatialforge.scene.records import UNLOCATED_CATEGORIES_KEY, Scene
from spatialforge.scene.validate import check_scene
from spatialforge.sources import imagenet3d
from spatialforge.sources.imagenet3d import ImageNet3DSource, wrap_to_pi
from spatialforge.sources.ingest import ingest
from spatialforge.tasks.context import ViewContext
from spatialforge.tasks.registry import TASKS
from spatialforge.tasks.spec import Angle
from spatialforge.tasks.viewpoint import viewpoint_of

WIDTH, HEIGHT = 80, 60  # px
VIEWPORT = 3000  # px: focal length 1 x viewport
CENTRE = ((WIDTH - 1) / 2.0, (HEIGHT - 1) / 2.0)  # (39.5, 29.5) px, our principal point
TOL = 1e-9


def annotation(**overrides: Any) -> dict[str, Any]:
    """A posed object as the release stores it (numpy scalars and arrays included); bbox 30 x 24 px
    centred on the principal pixel (px, py)."""
    px, py = overrides.pop("px", 40.0), overrides.pop("py", 30.0)
    bx, by = (px, py) if isinstance(px, float) and isinstance(py, float) else (40.0, 30.0)
    ann: dict[str, Any] = {
        "azimuth": 0.3,
        "elevation": 0.2,
        "theta": 0.05,
        "distance": 5.0,
        "viewport": VIEWPORT,
        "focal": 1.0,
        "height": np.uint16(HEIGHT),
        "width": np.uint16(WIDTH),
        "bbox": np.array([bx - 15.0, by - 12.0, bx + 15.0, by + 12.0]),
        "class": "car",
        "cad_index": np.int64(3),
        "px": px,
        "py": py,
        "principal": np.array([px, py]),
        "object_status": "status_good",
        "dense": "dense_no",
        "sub_type": "sedan",  # unknown keys are ignored
    }
    ann.update(overrides)
    return {k: v for k, v in ann.items() if v is not _DROP}


_DROP = object()  # annotation(key=_DROP) leaves the key out


def object_array(items: list[Any]) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out


def write_image(
    root: Path,
    category: str,
    stem: str,
    annotations: list[Any],
    *,
    size: tuple[int, int] = (WIDTH, HEIGHT),
    suffix: str = ".JPEG",
) -> Path:
    """<root>/<category>/<stem><suffix> + <stem>.npz ("annotations" object array, np.savez pickles it)."""
    folder = root / category
    folder.mkdir(parents=True, exist_ok=True)
    fmt = "PNG" if suffix.lower() == ".png" else "JPEG"
    Image.new("RGB", size, (120, 90, 60)).save(folder / f"{stem}{suffix}", format=fmt)
    npz = folder / f"{stem}.npz"
    np.savez(npz, annotations=object_array(annotations))
    return npz


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """Two categories; chair/n03001627_7 holds two objects (a chair and a second, unposed one)."""
    root = tmp_path / "imagenet3d"
    write_image(root, "car", "n02958343_12", [annotation()])
    write_image(
        root,
        "chair",
        "n03001627_7",
        [
            annotation(**{"class": "chair"}, azimuth=2.0, elevation=6.0, theta=6.1, px=25.0, py=28.0),
            annotation(**{"class": "chair"}, azimuth=5.5, elevation=0.1, theta=0.0, px=58.0, py=34.0),
        ],
        suffix=".png",
    )
    return root


def items(root: Path) -> list[Scene | RecordError]:
    return list(ImageNet3DSource(root).iter_items())


def scenes(root: Path) -> list[Scene]:
    out = items(root)
    errors = [e for e in out if isinstance(e, RecordError)]
    assert not errors, errors
    return [check_scene(s) for s in out]  # type: ignore[arg-type]


def one_scene(tmp_path: Path, annotations: list[Any], **kwargs: Any) -> Scene:
    root = tmp_path / "one"
    write_image(root, "car", "img", annotations, **kwargs)
    (scene,) = scenes(root)
    return scene


def only_error(root: Path) -> RecordError:
    errors = [e for e in items(root) if isinstance(e, RecordError)]
    assert len(errors) == 1, errors
    return errors[0]


def error_for(tmp_path: Path, annotations: list[Any], **kwargs: Any) -> RecordError:
    root = tmp_path / "bad"
    npz = write_image(root, "car", "img", annotations, **kwargs)
    error = only_error(root)
    assert error.file == str(npz.resolve()) or error.file == str(npz), error
    assert error.record == "car/img"
    return error


def axes(scene: Scene, index: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(front, left, up) of an object in the camera (= world) frame."""
    r = scene.objects[index].box.rotation
    return r[:, 0], r[:, 1], r[:, 2]


# ---------------------------------------------------------------- scene structure


def test_walks_categories_and_images_in_sorted_order(dataset: Path) -> None:
    out = scenes(dataset)
    assert [s.scene_id for s in out] == ["imagenet3d/car/n02958343_12", "imagenet3d/chair/n03001627_7"]
    car, chair = out
    assert car.capture_id == car.scene_id and car.source == "imagenet3d" and car.split is None
    assert car.license == "CC BY-NC 4.0" and car.gravity is None
    assert car.asset_root == str(dataset.resolve())
    assert car.views[0].image_path == "car/n02958343_12.JPEG"
    assert chair.views[0].image_path == "chair/n03001627_7.png"
    assert car.metadata["metric_scale"] is False and not car.has_metric_scale
    assert car.metadata["distance_unit"] == "imagenet3d_cad"
    assert "-y" in car.metadata["pose_convention"]
    assert [o.source_id for o in chair.objects] == ["chair/n03001627_7#0", "chair/n03001627_7#1"]
    assert [o.category for o in chair.objects] == ["chair", "chair"]
    # The nested layout (a folder holding imagenet3d/) reads the same.
    assert [s.scene_id for s in scenes(dataset.parent)] == [s.scene_id for s in out]


def test_camera_and_identity_pose(dataset: Path) -> None:
    car = scenes(dataset)[0]
    view = car.views[0]
    cam = view.camera
    # fx = fy = 1 x viewport; principal point at the image centre ((80 - 1) / 2, (60 - 1) / 2).
    assert (cam.fx, cam.fy, cam.cx, cam.cy, cam.width, cam.height) == (3000, 3000, 39.5, 29.5, 80, 60)
    np.testing.assert_array_equal(view.world_from_cam.rotation, np.eye(3))
    np.testing.assert_array_equal(view.world_from_cam.translation, np.zeros(3))


def test_attributes_keep_the_raw_annotation(dataset: Path) -> None:
    obj = scenes(dataset)[1].objects[0]
    assert obj.attributes["azimuth_rad"] == 2.0 and obj.attributes["elevation_rad"] == 6.0
    assert obj.attributes["theta_rad"] == 6.1 and obj.attributes["distance_cad"] == 5.0
    assert obj.attributes["cad_index"] == 3 and obj.attributes["principal_px"] == [25.0, 28.0]
    assert obj.attributes["object_status"] == "status_good" and "sub_type" not in obj.attributes
    obs = obj.observation(obj.observations[0].view_id)
    assert obs is not None and obs.box2d_kind == "annotated"
    assert obs.box2d.as_list() == [10.0, 16.0, 40.0, 40.0]


def test_ingest_writes_and_reads_back(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "scenes.jsonl"
    report = ingest("imagenet3d", dataset, out)
    assert (report.written, report.objects, dict(report.skipped)) == (2, 3, {})
    back = list(read_scenes(out))
    assert [scene_to_dict(s) for s in back] == [scene_to_dict(s) for s in scenes(dataset)]


# ---------------------------------------------------------------- hand-checked pose conversion


def test_azimuth_0_front_faces_the_camera(tmp_path: Path) -> None:
    """(a, e, theta) = (0, 0, 0), principal at the image centre: camera at CAD -y = the object's front.
    Front (+x) points at the camera (-z cam); the object's left is the viewer's right (+x cam); up is image
    up (-y cam)."""
    scene = one_scene(tmp_path, [annotation(azimuth=0.0, elevation=0.0, theta=0.0, px=39.5, py=29.5)])
    front, left, up = axes(scene)
    np.testing.assert_allclose(front, [0, 0, -1], atol=TOL)
    np.testing.assert_allclose(left, [1, 0, 0], atol=TOL)
    np.testing.assert_allclose(up, [0, -1, 0], atol=TOL)
    np.testing.assert_allclose(scene.objects[0].box.center, [0, 0, 5.0], atol=TOL)


def test_azimuth_90_camera_on_the_objects_left(tmp_path: Path) -> None:
    """a = pi/2: C = d (1, 0, 0) = the object's left (CAD +x). Its left faces the camera and its front
    points to the viewer's left (-x cam), as for a car facing north seen from its west side."""
    scene = one_scene(tmp_path, [annotation(azimuth=math.pi / 2, elevation=0.0, theta=0.0, px=39.5, py=29.5)])
    front, left, up = axes(scene)
    np.testing.assert_allclose(front, [-1, 0, 0], atol=TOL)
    np.testing.assert_allclose(left, [0, 0, -1], atol=TOL)
    np.testing.assert_allclose(up, [0, -1, 0], atol=TOL)


def test_elevation_30_camera_above(tmp_path: Path) -> None:
    """e = pi/6: the camera looks down 30 deg at the object. up . (object->camera) = sin 30 = 0.5, so up
    = (0, -cos 30, -sin 30); the front tilts down in the image: (0, sin 30, -cos 30)."""
    scene = one_scene(tmp_path, [annotation(azimuth=0.0, elevation=math.pi / 6, theta=0.0, px=39.5, py=29.5)])
    front, _, up = axes(scene)
    s, c = 0.5, math.sqrt(3) / 2
    np.testing.assert_allclose(up, [0, -c, -s], atol=TOL)
    np.testing.assert_allclose(front, [0, s, -c], atol=TOL)
    vp = viewpoint_of(scene.objects[0], [0.0, 0.0, 0.0], None)
    assert not isinstance(vp, str)
    assert vp.elevation_rad == pytest.approx(math.pi / 6, abs=TOL) and vp.azimuth_rad == pytest.approx(
        0, abs=TOL
    )


def test_theta_rotates_counter_clockwise_on_screen(tmp_path: Path) -> None:
    """theta = pi/2 at (a, e) = (0, 0): up, image-up at theta 0, turns 90 deg counter-clockwise on screen to
    image-left (-x cam); the object's left turns from image-right to image-up."""
    scene = one_scene(tmp_path, [annotation(azimuth=0.0, elevation=0.0, theta=math.pi / 2, px=39.5, py=29.5)])
    front, left, up = axes(scene)
    np.testing.assert_allclose(front, [0, 0, -1], atol=TOL)
    np.testing.assert_allclose(left, [0, -1, 0], atol=TOL)
    np.testing.assert_allclose(up, [-1, 0, 0], atol=TOL)


@pytest.mark.parametrize("seed", range(6))
def test_centre_projects_to_principal_and_viewpoint_is_exact(tmp_path: Path, seed: int) -> None:
    """Off-centre principal pixels: the box centre projects to (px, py) within 1e-6 px, lies at `distance`
    from the camera, and the camera seen from the object has exactly the annotated azimuth / elevation."""
    rng = random.Random(seed)
    a, e, t = rng.uniform(0, 2 * math.pi), rng.uniform(-1.2, 1.2), rng.uniform(0, 2 * math.pi)
    px, py, d = rng.uniform(5, 75), rng.uniform(5, 55), rng.uniform(1, 20)
    scene = one_scene(
        tmp_path, [annotation(azimuth=a, elevation=e % (2 * math.pi), theta=t, distance=d, px=px, py=py)]
    )
    obj, view = scene.objects[0], scene.views[0]
    uv, _ = view.camera.project(obj.box.center[None, :])
    np.testing.assert_allclose(uv[0], [px, py], atol=1e-6)
    assert float(np.linalg.norm(obj.box.center)) == pytest.approx(d, rel=1e-12)
    vp = viewpoint_of(obj, [0.0, 0.0, 0.0], None)
    assert not isinstance(vp, str)
    assert vp.azimuth_rad == pytest.approx(wrap_to_pi(a), abs=TOL)
    assert vp.elevation_rad == pytest.approx(e, abs=TOL)


def test_projected_cube_roughly_covers_the_annotated_box(dataset: Path) -> None:
    for scene in scenes(dataset):
        for obj in scene.objects:
            projected = project_box_to_2d(obj.box, scene.views[0].camera, clip_to_image=False)
            annotated = obj.observations[0].box2d
            assert projected is not None and annotated is not None
            # Same centre (the cube's centre projects to the bbox centre = principal here), within 1 px.
            assert (projected.x_min + projected.x_max) / 2 == pytest.approx(
                (annotated.x_min + annotated.x_max) / 2, abs=1.0
            )
            assert (projected.y_min + projected.y_max) / 2 == pytest.approx(
                (annotated.y_min + annotated.y_max) / 2, abs=1.0
            )
            # Side = max(30, 24) px * d / f; a rotated cube projects 1x to sqrt(3)x its side.
            assert obj.box.size.tolist() == pytest.approx([30 * 5.0 / VIEWPORT] * 3)
            ratio = max(projected.width, projected.height) / max(annotated.width, annotated.height)
            assert 0.5 <= ratio <= 2.0


# ---------------------------------------------------------------- end to end through the viewpoint task


def viewpoint_facts(scene: Scene) -> dict[tuple[str, str], float]:
    """(object_id, variant) -> Angle value, over every candidate the registered task yields."""
    ctx = ViewContext(scene, scene.views[0])
    spec = TASKS["object_viewpoint_angle"]
    out: dict[tuple[str, str], float] = {}
    for _ in range(6):  # the task samples (object, variant) pairs; a few draws cover them all here
        for fact in spec.candidates(ctx, random.Random(_)):
            if isinstance(fact, str):
                continue
            assert isinstance(fact.answer, Angle)
            out[(fact.mentions[0].obj.object_id, fact.variant)] = fact.answer.value_rad
    return out


def test_viewpoint_angle_facts_equal_the_annotation(dataset: Path) -> None:
    car, chair = scenes(dataset)
    assert viewpoint_facts(car) == pytest.approx(
        {("0", "azimuth_deg"): 0.3, ("0", "elevation_deg"): 0.2}, abs=TOL
    )
    facts = viewpoint_facts(chair)
    # Annotated (2.0, 6.0) and (5.5, 0.1) rad: wrapped to (-pi, pi] and [-pi/2, pi/2].
    assert facts == pytest.approx(
        {
            ("0", "azimuth_deg"): 2.0,
            ("0", "elevation_deg"): 6.0 - 2 * math.pi,
            ("1", "azimuth_deg"): 5.5 - 2 * math.pi,
            ("1", "elevation_deg"): 0.1,
        },
        abs=TOL,
    )


def test_azimuth_plus_two_pi_changes_nothing(tmp_path: Path) -> None:
    base = one_scene(tmp_path / "a", [annotation(azimuth=1.1)])
    shifted = one_scene(tmp_path / "b", [annotation(azimuth=1.1 + 2 * math.pi)])
    np.testing.assert_allclose(shifted.objects[0].box.rotation, base.objects[0].box.rotation, atol=1e-12)
    np.testing.assert_allclose(shifted.objects[0].box.center, base.objects[0].box.center, atol=1e-12)
    assert viewpoint_facts(shifted) == pytest.approx(viewpoint_facts(base), abs=TOL)


@pytest.mark.parametrize("theta", [0.0, 0.7, math.pi, 5.9])
def test_theta_does_not_change_azimuth_or_elevation(tmp_path: Path, theta: float) -> None:
    base = one_scene(tmp_path / "a", [annotation(azimuth=4.0, elevation=0.4, theta=0.0, px=20.0, py=44.0)])
    rolled = one_scene(
        tmp_path / "b", [annotation(azimuth=4.0, elevation=0.4, theta=theta, px=20.0, py=44.0)]
    )
    assert viewpoint_facts(rolled) == pytest.approx(viewpoint_facts(base), abs=TOL)
    np.testing.assert_allclose(rolled.objects[0].box.center, base.objects[0].box.center, atol=1e-12)


def test_metric_tasks_are_skipped_for_no_metric_scale(dataset: Path) -> None:
    ctx = ViewContext(scenes(dataset)[0], scenes(dataset)[0].views[0])
    assert ctx.unmet_requirement(("boxes", "metric_scale")) == "no_metric_scale"


def test_front_less_categories_are_kept_without_a_front(tmp_path: Path) -> None:
    scene = one_scene(tmp_path, [annotation(**{"class": "bottle"}), annotation(**{"class": "car"})])
    assert [(o.category, o.has_front) for o in scene.objects] == [("bottle", False), ("car", True)]
    assert {key[0] for key in viewpoint_facts(scene)} == {"1"}


# ---------------------------------------------------------------- per-object skips


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"px": _DROP, "py": _DROP, "principal": _DROP}, "no_pose"),
        ({"distance": 0.0}, "no_pose"),
        ({"object_status": "status_bad"}, "pose_unreliable"),
        ({"ignore": 1}, "ignored_by_source"),
        ({"ignore": np.bool_(True)}, "ignored_by_source"),
        ({"elevation": math.pi / 2 + 0.3}, "elevation_out_of_range"),
        ({"elevation": 2 * math.pi - math.pi / 2 - 0.3}, "elevation_out_of_range"),
    ],
)
def test_objects_without_a_usable_pose_are_skipped_and_counted(
    tmp_path: Path, overrides: dict[str, Any], reason: str
) -> None:
    scene = one_scene(tmp_path, [annotation(), annotation(**overrides)])
    assert [o.object_id for o in scene.objects] == ["0"]
    assert scene.metadata["skipped_annotations"] == {reason: 1}


@pytest.mark.parametrize("ignore", [0, False, np.int64(0)])
def test_a_clear_ignore_flag_keeps_the_object(tmp_path: Path, ignore: object) -> None:
    scene = one_scene(tmp_path, [annotation(ignore=ignore)])
    assert len(scene.objects) == 1 and scene.metadata["skipped_annotations"] == {}


def test_principal_alone_is_enough(tmp_path: Path) -> None:
    scene = one_scene(tmp_path, [annotation(px=_DROP, py=_DROP, principal=np.array([20.0, 44.0]))])
    uv, _ = scene.views[0].camera.project(scene.objects[0].box.center[None, :])
    np.testing.assert_allclose(uv[0], [20.0, 44.0], atol=1e-6)


def test_an_image_with_no_posed_object_is_an_error(tmp_path: Path) -> None:
    error = error_for(tmp_path, [annotation(distance=0.0)])
    assert error.reason == "no_posed_objects" and "no_pose" in str(error)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("overrides", "reason", "field"),
    [
        ({"azimuth": _DROP}, "missing_field", "annotations[1].azimuth"),
        ({"viewport": _DROP}, "missing_field", "annotations[1].viewport"),
        ({"bbox": _DROP}, "missing_field", "annotations[1].bbox"),
        ({"elevation": float("nan")}, "non_finite", "annotations[1].elevation"),
        ({"distance": float("inf")}, "non_finite", "annotations[1].distance"),
        ({"px": float("nan"), "bbox": np.array([25.0, 18.0, 55.0, 42.0])}, "non_finite", "annotations[1].px"),
        ({"bbox": np.array([1.0, 2.0, np.inf, 4.0])}, "non_finite", "annotations[1].bbox"),
        ({"distance": -2.0}, "out_of_range", "annotations[1].distance"),
        ({"bbox": np.array([30.0, 20.0, 30.0, 40.0])}, "invalid_box2d", "annotations[1].bbox"),
        ({"bbox": np.array([50.0, 20.0, 30.0, 40.0])}, "invalid_box2d", "annotations[1].bbox"),
        ({"bbox": np.array([1.0, 2.0, 3.0])}, "wrong_shape", "annotations[1].bbox"),
        ({"azimuth": "0.5"}, "wrong_type", "annotations[1].azimuth"),
        ({"theta": True}, "wrong_type", "annotations[1].theta"),
        ({"class": 7}, "wrong_type", "annotations[1].class"),
        ({"focal": 2.0}, "unsupported_value", "annotations[1].focal"),
        ({"viewport": 2000}, "inconsistent_viewport", "viewport"),
        ({"width": np.uint16(WIDTH + 1)}, "image_size_mismatch", "annotations[1].width/height"),
        ({"height": _DROP}, "missing_field", "annotations[1].height"),
    ],
)
def test_malformed_annotation_is_a_named_error(
    tmp_path: Path, overrides: dict[str, Any], reason: str, field: str
) -> None:
    error = error_for(tmp_path, [annotation(), annotation(**overrides)])
    assert (error.reason, error.field) == (reason, field), error


def test_annotation_size_disagrees_with_the_image_file(tmp_path: Path) -> None:
    error = error_for(tmp_path, [annotation()], size=(WIDTH, HEIGHT + 2))
    assert error.reason == "image_size_mismatch" and "80x62" in str(error)


def test_annotation_that_is_not_a_dict(tmp_path: Path) -> None:
    error = error_for(tmp_path, [annotation(), ["not", "a", "dict"]])
    assert (error.reason, error.field) == ("wrong_type", "annotations[1]")


def test_npz_without_annotations(tmp_path: Path) -> None:
    root = tmp_path / "bad"
    npz = write_image(root, "car", "img", [annotation()])
    np.savez(npz, something_else=np.zeros(3))
    error = only_error(root)
    assert (error.reason, error.field, error.record) == ("missing_field", "annotations", "car/img")
    assert "img.npz" in str(error)


def test_annotations_not_an_object_array(tmp_path: Path) -> None:
    root = tmp_path / "bad"
    npz = write_image(root, "car", "img", [annotation()])
    np.savez(npz, annotations=np.zeros((2, 3)))
    assert only_error(root).reason == "wrong_type"


def test_unreadable_npz_names_the_file(tmp_path: Path) -> None:
    root = tmp_path / "bad"
    npz = write_image(root, "car", "img", [annotation()])
    npz.write_bytes(npz.read_bytes()[:100])
    error = only_error(root)
    assert error.reason == "unreadable_file" and str(npz) in str(error) and error.record == "car/img"


def test_hostile_pickle_in_annotations_is_refused(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (eval, ("1 + 1",))

    root = tmp_path / "bad"
    npz = write_image(root, "car", "img", [annotation()])
    np.savez(npz, annotations=object_array([annotation(payload=Evil())]))
    error = only_error(root)
    assert error.reason == "unsafe_pickle" and "builtins.eval" in str(error) and error.record == "car/img"


def test_image_and_annotations_must_both_exist(tmp_path: Path) -> None:
    root = tmp_path / "bad"
    write_image(root, "car", "only_npz", [annotation()]).with_suffix(".JPEG").unlink()
    npz = write_image(root, "car", "only_image", [annotation()])
    npz.unlink()
    errors = [e for e in items(root) if isinstance(e, RecordError)]
    assert [(e.reason, e.record) for e in errors] == [
        ("missing_file", "car/only_image"),
        ("missing_file", "car/only_npz"),
    ]


def test_good_records_survive_a_bad_neighbour(dataset: Path) -> None:
    (dataset / "car" / "zzz.npz").write_bytes(b"garbage")
    (dataset / "car" / "zzz.JPEG").write_bytes((dataset / "car" / "n02958343_12.JPEG").read_bytes())
    out = items(dataset)
    assert [type(x).__name__ for x in out] == ["Scene", "RecordError", "Scene"]


def test_a_linked_category_leaving_the_root_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write_image(outside, "car", "img", [annotation()])
    root = tmp_path / "root"
    root.mkdir()
    (root / "car").symlink_to(outside / "car", target_is_directory=True)
    error = only_error(root)
    assert error.reason == "path_escapes_root"


def test_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(RecordError) as e:
        items(tmp_path / "nope")
    assert e.value.reason == "missing_file"


def test_wrap_to_pi() -> None:
    assert wrap_to_pi(math.pi) == math.pi and wrap_to_pi(-math.pi) == math.pi
    assert wrap_to_pi(3 * math.pi / 2) == pytest.approx(-math.pi / 2)
    assert wrap_to_pi(2 * math.pi) == 0.0 and math.copysign(1.0, wrap_to_pi(-2 * math.pi)) == 1.0
    assert imagenet3d.CAD_FROM_OBJECT.tolist() == [[0, 1, 0], [-1, 0, 0], [0, 0, 1]]


# ---------------------------------------------------------------- references and generation


def test_a_dropped_object_makes_its_category_marker_only(tmp_path: Path) -> None:
    # Two cars in the picture, one without a pose: "the car" would be ambiguous; only a marker names it.
    scene = one_scene(tmp_path, [annotation(), annotation(distance=0.0)])
    category = scene.objects[0].category
    assert scene.metadata[UNLOCATED_CATEGORIES_KEY] == [category]
    options = reference_options(scene, scene.views[0], scene.objects[0])
    assert [r.kind for r in options] == ["marker"], options  # type: ignore[union-attr]
    complete = one_scene(tmp_path / "b", [annotation()])
    assert complete.metadata[UNLOCATED_CATEGORIES_KEY] == []
    assert [r.kind for r in reference_options(complete, complete.views[0], complete.objects[0])] == [
        "category"
    ]


def test_generate_asks_only_orientation_questions(dataset: Path) -> None:
    counted: Counter[str] = Counter()
    rejected: Counter[str] = Counter()
    for scene in scenes(dataset):
        result = generate_scene(scene, GenerateConfig(max_qa_per_scene=200))
        counted.update(r["task"] for r in result.records)
        rejected.update(result.rejected)
    assert counted and set(counted) <= {"object_orientation", "object_viewpoint", "object_viewpoint_angle"}
    assert any(key.endswith("/no_metric_scale") for key in rejected)
