"""The training loader's fast paths give exactly what the straightforward computations give.

Each reference below is the code the loader ran before it was made faster (a whole scene parsed per
sample, np.load, a float64 point map then copied to float32, 2-D fancy indexing, per-image tensors
stacked): samples and collated batches must equal them bit for bit, whether caches hit or miss. Plus the
behaviour of the caches themselves: the resolved-root cache of resolve_inside still refuses every escape,
and SceneStore.view keeps only what reading a view needs.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from spatialforge.errors import RecordError
from spatialforge.geometry.camera import PinholeCamera
from spatialforge.models.backbones.base import IGNORE_INDEX
from spatialforge.models.config import named_config
from spatialforge.models.image_transform import ImageTransform
from spatialforge.models.pointmap import PointMap, point_map_from_depth
from spatialforge.models.processing import Sample, collate, position_ids_from_mask
from spatialforge.qa.draw_markers import draw_markers
from spatialforge.scene import records
from spatialforge.scene.codec import scene_to_dict
from spatialforge.scene.depth import _read_npy, load_depth
from spatialforge.scene.io import read_scenes
from spatialforge.scene.records import RAYCAST_DEPTH_KIND, AssetRef, Scene, View, resolve_inside
from spatialforge.scene.visibility import DEPTH_CAMERA_KEY
from spatialforge.synth.run import run_synth
from spatialforge.synth.world import SynthConfig
from spatialforge.train.data import SceneStore, SourceConfig, markers_on, open_source
from tests.scene.builders import tiny_scene


def _same(a: np.ndarray | torch.Tensor | None, b: np.ndarray | torch.Tensor | None) -> bool:
    """Both None, or the same type, dtype, shape and bytes (NaN payloads included)."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        both = isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)
        return both and a.dtype == b.dtype and _same(a.contiguous().numpy(), b.contiguous().numpy())
    same_layout = a.dtype == b.dtype and a.shape == b.shape
    return same_layout and np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()


# ---------------------------------------------------------------- references (the code before)


def reference_load_depth(scene: Scene, view: View) -> np.ndarray:
    """load_depth's raster kinds as written before: np.load / PIL to float64, scaled, resampled, float32."""
    from spatialforge.scene.visibility import depth_camera_of, resample_depth_to_camera

    asset = view.depth
    path = resolve_inside(scene.asset_root, asset.path)
    if asset.kind == "npy_f32":
        depth = np.load(path, allow_pickle=False).astype(np.float64) * asset.scale_to_m
    else:
        with Image.open(path) as im:
            depth = np.asarray(im).astype(np.float64) * asset.scale_to_m
    cam = view.camera
    if depth.shape != (cam.height, cam.width):
        depth = resample_depth_to_camera(depth, depth_camera_of(view), cam)
    depth = depth.astype(np.float32)
    depth[~(np.isfinite(depth) & (depth > 0))] = np.nan
    return depth


def reference_point_map(depth: np.ndarray, camera: PinholeCamera) -> PointMap:
    """point_map_from_depth as written before: camera.point_map in float64, then copied to float32."""
    z = np.asarray(depth).astype(np.float64)
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(z) & (z > 0)
    z = np.where(valid, z, np.nan)
    xyz = np.array(camera.point_map(z), dtype=np.float32)
    xyz[~valid] = np.nan
    return PointMap(xyz, valid)


def reference_image(transform: ImageTransform, image: Image.Image) -> np.ndarray:
    rgb = image.convert("RGB")
    plan = transform.plan(*rgb.size)
    resized = rgb.resize(plan.out, Image.Resampling.BICUBIC, box=plan.crop)
    pixels = np.asarray(resized, dtype=np.float32) / 255.0
    pixels = (pixels - np.asarray(transform.mean, np.float32)) / np.asarray(transform.std, np.float32)
    return np.ascontiguousarray(pixels.transpose(2, 0, 1))


def reference_resample_points(
    transform: ImageTransform, xyz: np.ndarray, valid: np.ndarray, image_size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    h, w = valid.shape
    plan = transform.plan(*image_size)
    x0, y0, x1, y1 = plan.crop
    out_w, out_h = plan.out
    sx, sy = w / image_size[0], h / image_size[1]
    u = x0 + (np.arange(out_w) + 0.5) * (x1 - x0) / out_w
    v = y0 + (np.arange(out_h) + 0.5) * (y1 - y0) / out_h
    cols = np.clip(np.floor(u * sx).astype(np.int64), 0, w - 1)
    rows = np.clip(np.floor(v * sy).astype(np.int64), 0, h - 1)
    return xyz[rows[:, None], cols[None, :]], valid[rows[:, None], cols[None, :]]


def reference_collate(model: Any, samples: list[Sample], *, with_labels: bool) -> dict[str, Any]:
    """processing.collate as written before: per-image tensors, torch.stack, a torch.tensor per row."""
    backbone, transforms = model.backbone, model.image_transforms()
    geometry = model.geometry is not None
    encoded, pixels = [], {name: [] for name in transforms}
    points, valid = [], []
    for sample in samples:
        encoded.append(
            backbone.encode_prompt(sample.prompt, len(sample.images), sample.answer if with_labels else None)
        )
        for index, image in enumerate(sample.images):
            for name, transform in transforms.items():
                pixels[name].append(torch.from_numpy(reference_image(transform, image)))
            if geometry:
                rgb = transforms["rgb"]
                point_map = sample.point_maps[index] if sample.point_maps else None
                if point_map is None:
                    xyz, ok = np.zeros((rgb.size, rgb.size, 3), np.float32), np.zeros((rgb.size,) * 2, bool)
                else:
                    xyz, ok = reference_resample_points(rgb, point_map.xyz, point_map.valid, image.size)
                points.append(torch.from_numpy(np.ascontiguousarray(xyz, dtype=np.float32)))
                valid.append(torch.from_numpy(np.ascontiguousarray(ok, dtype=bool)))
    length = max(len(e.input_ids) for e in encoded)
    b = len(encoded)
    input_ids = torch.full((b, length), backbone.pad_token_id, dtype=torch.long)
    labels = torch.full((b, length), IGNORE_INDEX, dtype=torch.long)
    token_types = torch.ones((b, length), dtype=torch.long)
    mask = torch.zeros((b, length), dtype=torch.long)
    for row, e in enumerate(encoded):
        n = len(e.input_ids)
        input_ids[row, length - n :] = torch.tensor(e.input_ids)
        labels[row, length - n :] = torch.tensor(e.labels)
        token_types[row, length - n :] = torch.tensor(e.token_type_ids)
        mask[row, length - n :] = 1
    return {
        "input_ids": input_ids,
        "attention_mask": mask,
        "token_type_ids": token_types,
        "position_ids": position_ids_from_mask(mask),
        "labels": labels if with_labels else None,
        "pixel_values": {
            name: torch.stack(t) if t else torch.zeros((0, 3, transforms[name].size, transforms[name].size))
            for name, t in pixels.items()
        },
        "points": torch.stack(points) if geometry and points else None,
        "points_valid": torch.stack(valid) if geometry and valid else None,
        "image_counts": [len(s.images) for s in samples],
    }


def reference_sample(scenes: dict[str, Scene], record: dict[str, Any], blank: bool) -> Sample:
    """EngineDataset.sample from first principles: the parsed scene, the image file, draw_markers, depth."""
    scene = scenes[record["scene_id"]]
    images, point_maps = [], []
    for k, image in enumerate(record["images"]):
        view = scene.view(image["view_id"])
        with Image.open(Path(scene.asset_root) / image["path"]) as im:
            picture = im.convert("RGB")
        markers = markers_on(record, k)
        if blank:
            picture = Image.new("RGB", picture.size, (128, 128, 128))
        elif markers:
            picture = draw_markers(picture, markers)
        images.append(picture)
        depth = None if blank else reference_load_depth(scene, view)
        point_maps.append(None if depth is None else reference_point_map(depth, view.camera))
    return Sample(record["question"], tuple(images), tuple(point_maps), record["answer"])


def assert_same_sample(got: Sample, want: Sample) -> None:
    assert (got.prompt, got.answer) == (want.prompt, want.answer)
    assert [(im.mode, im.size, im.tobytes()) for im in got.images] == [
        (im.mode, im.size, im.tobytes()) for im in want.images
    ]
    assert len(got.point_maps) == len(want.point_maps)
    for a, b in zip(got.point_maps, want.point_maps, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            assert _same(a.xyz, b.xyz) and _same(a.valid, b.valid)


def assert_same_batch(got: Any, want: dict[str, Any]) -> None:
    keys = (
        "input_ids",
        "attention_mask",
        "token_type_ids",
        "position_ids",
        "labels",
        "points",
        "points_valid",
    )
    for key in keys:
        assert _same(getattr(got, key), want[key]), key
    assert got.pixel_values.keys() == want["pixel_values"].keys()
    for name, tensor in want["pixel_values"].items():
        assert _same(got.pixel_values[name], tensor), name
    assert got.image_counts == want["image_counts"]


# ---------------------------------------------------------------- engine samples and batches


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """3 synthetic rooms x 2 views at 160 x 120 and their QA."""
    from spatialforge.engine.generate import GenerateConfig, run_generate
    from spatialforge.jsonl import decode_line

    root = tmp_path_factory.mktemp("loader_identity")
    run_synth(root / "synth", 3, SynthConfig(views=2, width=160, height=120), n_buckets=1)
    scenes = root / "synth" / "scenes.jsonl"
    run_generate(scenes, root / "qa", GenerateConfig(max_qa_per_scene=16), n_buckets=1)
    text = (root / "qa" / "data.jsonl").read_text(encoding="utf-8")
    return SimpleNamespace(
        root=root,
        scenes_path=scenes,
        qa=root / "qa" / "data.jsonl",
        records=[decode_line(line) for line in text.splitlines() if line.strip()],
        scenes={s.scene_id: s for s in read_scenes(scenes)},
    )


@pytest.fixture(scope="module")
def model() -> Any:
    from spatialforge.models.vlm import build_model

    # Two vision sources: a stretched 32 px primary and a 48 px centre crop with ImageNet mean / std.
    return build_model(named_config("test-small-mixed"))


def _engine(data: SimpleNamespace, **options: int) -> Any:
    return open_source(
        SourceConfig(path=str(data.qa), format="engine", scenes=str(data.scenes_path), options=options)
    )


@pytest.mark.parametrize(
    "options",
    [{}, {"view_cache": 0, "scene_cache": 0, "point_map_cache": 0}, {"view_cache": 1, "point_map_cache": 1}],
    ids=["default_caches", "no_caches", "tiny_caches"],
)
def test_engine_samples_equal_the_reference_reading(data: SimpleNamespace, options: dict[str, int]) -> None:
    ds = _engine(data, **options)
    assert len(ds) == len(data.records) > 20
    # The data cover two-view records and drawn markers.
    assert any(len(r["images"]) == 2 for r in data.records) and any(r.get("markers") for r in data.records)
    order = np.random.default_rng(3).permutation(len(ds))
    # Every example twice, in two orders: the second reading meets warm caches (or evicted ones).
    for i in [*order, *order[::-1]]:
        assert_same_sample(ds.sample(int(i)), reference_sample(data.scenes, ds.record(int(i)), blank=False))
    for i in order[:5]:
        want = reference_sample(data.scenes, ds.record(int(i)), blank=True)
        assert_same_sample(ds.sample(int(i), blank=True), want)


def test_collate_equals_the_stacking_reference(data: SimpleNamespace, model: Any) -> None:
    ds = _engine(data)
    samples = [ds.sample(i) for i in range(12)]
    pm = samples[0].point_maps[0]
    image = samples[0].images[0]
    half = PointMap(pm.xyz[::2, ::2].astype(np.float64), pm.valid[::2, ::2])  # float64, half resolution
    odd = [
        Sample("two images", (image, samples[1].images[0]), (pm, None), "yes"),  # one without a point map
        Sample("no geometry", (image.convert("RGBA"),), (), "no"),  # not RGB, no point maps at all
        Sample("grey", (image.convert("L").resize((90, 130)),), (None,), "3"),  # portrait, cropped by vit48
        Sample("coarse points", (image,), (half,), "maybe"),
        Sample("text only", (), (), "none"),
        ds.sample(3, blank=True),
    ]
    for batch in (samples, odd, [odd[4]], samples[:1]):
        for with_labels in (True, False):
            got = collate(model, batch, with_labels=with_labels)
            assert_same_batch(got, reference_collate(model, batch, with_labels=with_labels))


def test_batch_moves_and_pins_every_field(data: SimpleNamespace, model: Any) -> None:
    """The trainer's copy (`to(..., non_blocking=True)`) and the DataLoader's pinning keep every field; the
    cast reaches image pixels only (points stay float32 metres)."""
    ds = _engine(data)
    batch = collate(model, [ds.sample(i) for i in range(3)], with_labels=True)
    fields = vars(batch)  # every Batch field by name, as assert_same_batch reads a reference batch
    moved = batch.to("cpu", torch.bfloat16, non_blocking=True)
    assert all(v.dtype == torch.bfloat16 for v in moved.pixel_values.values())
    assert moved.points is not None and moved.points.dtype == torch.float32
    assert_same_batch(dataclasses.replace(moved, pixel_values=batch.pixel_values), fields)
    assert_same_batch(batch.to("cpu", non_blocking=True), fields)
    if torch.cuda.is_available():  # page-locked memory needs an accelerator
        pinned = batch.pin_memory()
        assert pinned.input_ids.is_pinned() and pinned.points is not None and pinned.points.is_pinned()
        assert_same_batch(pinned, fields)


# ---------------------------------------------------------------- the pieces


def test_image_transform_equals_the_reference() -> None:
    rng = np.random.default_rng(0)
    transforms = [
        ImageTransform(32),
        ImageTransform(48, "shortest_edge_crop", (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
        ImageTransform(17, "shortest_edge_crop", (0.1, 0.9, 0.3), (0.7, 0.05, 1.3)),
    ]
    for size in ((160, 120), (31, 77), (1, 1), (640, 480)):
        pixels = rng.integers(0, 256, (size[1], size[0], 4), dtype=np.uint8)
        images = [Image.fromarray(pixels, "RGBA"), Image.fromarray(pixels[..., :3], "RGB")]
        for image in (*images, Image.fromarray(pixels[..., 0], "L")):
            for transform in transforms:
                assert _same(transform.image(image), reference_image(transform, image))
                for h, w in ((size[1], size[0]), (7, 9), (size[1] * 2, size[0] * 2)):
                    xyz = rng.normal(size=(h, w, 3)).astype(np.float32)
                    valid = rng.random((h, w)) > 0.3
                    got = transform.point_map(xyz, valid, image.size)
                    want = reference_resample_points(transform, xyz, valid, image.size)
                    assert _same(got[0], want[0]) and _same(got[1], want[1])
    with pytest.raises(ValueError, match="float32"):
        transforms[0].image_into(image, np.zeros((3, 32, 32)))


def _awkward_depth(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Metres with every kind of value a depth file holds: NaN, +-inf, 0, -0, negative, tiny, huge."""
    depth = rng.uniform(0.1, 20.0, (h, w))
    specials = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, -1.5, 1e-40, 1e-310, 3e38, 1e300, 5e-324])
    spots = rng.random((h, w)) < 0.2
    depth[spots] = rng.choice(specials, spots.sum())
    return depth


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.uint16, np.int32])
def test_point_map_from_depth_equals_the_float64_reference(dtype: type) -> None:
    rng = np.random.default_rng(1)
    camera = PinholeCamera(121.77, 130.1, 79.5, 61.25, 160, 120)
    if np.issubdtype(dtype, np.integer):  # millimetres, zeros (no data) and, signed, negatives
        depth = rng.integers(max(-5, np.iinfo(dtype).min), 65535, (120, 160)).astype(dtype)
    else:
        with np.errstate(over="ignore"):
            depth = _awkward_depth(rng, 120, 160).astype(dtype)
    got, want = point_map_from_depth(depth, camera), reference_point_map(depth, camera)
    assert _same(got.xyz, want.xyz) and _same(got.valid, want.valid)


def _view_with(scene: Scene, depth: AssetRef, **metadata: Any) -> tuple[Scene, View]:
    view = dataclasses.replace(scene.views[0], depth=depth, metadata={**scene.views[0].metadata, **metadata})
    return dataclasses.replace(scene, views=(view,)), view


def test_load_depth_equals_the_reference(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    scene = tiny_scene(tmp_path)  # a 320 x 240 camera
    with np.errstate(over="ignore", invalid="ignore"):
        metres = _awkward_depth(rng, 240, 320)
        for dtype in (np.float32, np.float64, np.float16):
            np.save(tmp_path / f"d_{np.dtype(dtype).name}.npy", metres.astype(dtype))
    np.save(tmp_path / "fortran.npy", np.asfortranarray(metres.astype(np.float32)))
    np.save(tmp_path / "big_endian.npy", metres.astype(">f4"))
    millimetres = rng.integers(0, 65536, (240, 320), dtype=np.uint16)
    Image.fromarray(millimetres).save(tmp_path / "d.png")
    Image.fromarray(millimetres[::2, ::2]).save(tmp_path / "half.png")  # a 160 x 120 depth camera
    half_camera = {"fx": 150.0, "fy": 150.0, "cx": 79.5, "cy": 59.5, "width": 160, "height": 120}
    cases = [
        (AssetRef("d_float32.npy", "npy_f32"), {}),
        (AssetRef("d_float32.npy", "npy_f32", scale_to_m=0.001), {}),
        (AssetRef("d_float64.npy", "npy_f32", scale_to_m=0.37), {}),
        (AssetRef("d_float16.npy", "npy_f32"), {}),
        (AssetRef("fortran.npy", "npy_f32"), {}),
        (AssetRef("big_endian.npy", "npy_f32", scale_to_m=2.5), {}),
        (AssetRef("d.png", "png_u16", scale_to_m=0.001), {}),
        (AssetRef("d.png", "png_u16", scale_to_m=0.000123), {}),
        (AssetRef("half.png", "png_u16", scale_to_m=0.001), {DEPTH_CAMERA_KEY: half_camera}),
    ]
    for asset, metadata in cases:
        s, view = _view_with(scene, asset, **metadata)
        with np.errstate(over="ignore"):
            assert _same(load_depth(s, view), reference_load_depth(s, view)), asset
    s, view = _view_with(scene, AssetRef("half.png", "png_u16"))  # no depth camera: the size is refused
    with pytest.raises(RecordError, match=r"depth is \(120, 160\) \(H, W\), camera is \(240, 320\)"):
        load_depth(s, view)


def test_npy_reader_takes_np_saves_layout_and_leaves_the_rest_to_np_load(tmp_path: Path) -> None:
    arrays = {
        "f4": np.arange(12, dtype=np.float32).reshape(3, 4),
        "f8": np.linspace(0, 1, 6).reshape(2, 3),
        "f2": np.ones((1, 5), np.float16),
        "empty": np.zeros((0, 7), np.float32),
        "big": np.ones((1000, 3), np.float32),
    }
    for name, array in arrays.items():
        np.save(tmp_path / f"{name}.npy", array)
        got = _read_npy(tmp_path / f"{name}.npy")
        assert _same(got, np.load(tmp_path / f"{name}.npy")), name
    # Not np.save's float (H, W) layout: np.load reads it or refuses it, as before.
    np.save(tmp_path / "three_d.npy", np.ones((2, 2, 2), np.float32))
    np.save(tmp_path / "ints.npy", np.ones((2, 2), np.int32))
    with pytest.raises(RecordError, match="wrong_type|expected a 2-D float array"):
        _read_npy(tmp_path / "three_d.npy")
    with pytest.raises(RecordError, match="expected a 2-D float array"):
        _read_npy(tmp_path / "ints.npy")
    data = (tmp_path / "f4.npy").read_bytes()
    (tmp_path / "short.npy").write_bytes(data[:-4])
    with pytest.raises(RecordError, match="cannot read .npy"):
        _read_npy(tmp_path / "short.npy")
    (tmp_path / "long.npy").write_bytes(data + b"tail")  # np.load reads the array and ignores the rest
    assert _same(_read_npy(tmp_path / "long.npy"), arrays["f4"])
    # Headers padded more than np.save pads them (still aligned, or not): the same array either way.
    length = int.from_bytes(data[8:10], "little")
    header, body = data[10 : 10 + length], data[10 + length :]
    for extra in (64, 1):
        longer = header[:-1] + b" " * extra + b"\n"
        (tmp_path / "padded.npy").write_bytes(data[:8] + len(longer).to_bytes(2, "little") + longer + body)
        assert _same(_read_npy(tmp_path / "padded.npy"), arrays["f4"]), extra
    with pytest.raises(RecordError, match="cannot read .npy"):
        _read_npy(tmp_path / "missing.npy")


# ---------------------------------------------------------------- caches


def test_view_cache_keeps_the_view_and_parses_a_scene_once(
    data: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SceneStore(data.scenes_path, scene_cache=0)
    parsed: list[str] = []
    real = store.scene

    def counting(scene_id: str) -> Scene:
        parsed.append(scene_id)
        return real(scene_id)

    monkeypatch.setattr(store, "scene", counting)
    scene_id = next(iter(data.scenes))
    full = data.scenes[scene_id]
    for _ in range(3):
        for view in full.views:
            cut, got = store.view(scene_id, view.view_id)
            assert cut.views == (got,) and cut.objects == ()
            assert got.view_id == view.view_id
            # Nothing else differs from the whole scene (dicts: numpy arrays do not compare with ==).
            restored = dataclasses.replace(cut, views=full.views, objects=full.objects)
            assert scene_to_dict(restored) == scene_to_dict(full)
    assert parsed == [scene_id] * len(full.views)  # once per view, never again
    for _ in range(2):  # errors are not cached: each request raises the same
        with pytest.raises(RecordError, match="scene has no view 'nope'"):
            store.view(scene_id, "nope")
        with pytest.raises(RecordError, match="scene_not_found|no scene"):
            store.view("no/such/scene", "v0")
    assert scene_to_dict(store.scene(scene_id)) == scene_to_dict(full)  # scene() is still the whole scene


def test_view_cache_keeps_objects_for_ray_cast_depth(tmp_path: Path) -> None:
    scene = tiny_scene(tmp_path)
    view = dataclasses.replace(scene.views[0], depth=AssetRef("", RAYCAST_DEPTH_KIND))
    scene = dataclasses.replace(scene, views=(view,))
    path = tmp_path / "scenes.jsonl"
    path.write_text(json.dumps(scene_to_dict(scene)) + "\n")
    store = SceneStore(path)
    cut, _ = store.view(scene.scene_id, "v0")
    assert scene_to_dict(cut)["objects"] == scene_to_dict(scene)["objects"]  # what ray casting reads
    got = store.point_map(scene.scene_id, "v0")
    want = reference_point_map(load_depth(scene, view), view.camera)
    assert _same(got.xyz, want.xyz) and _same(got.valid, want.valid)


@pytest.mark.parametrize("hostile", ["../x.png", "/etc/passwd", "a/../../x.png", "C:/win.png", "..\\x.png"])
def test_resolve_inside_with_a_cached_root_refuses_hostile_paths(tmp_path: Path, hostile: str) -> None:
    assert resolve_inside(tmp_path, "ok.png") == (tmp_path / "ok.png").resolve()  # caches the root
    with pytest.raises(ValueError, match="escapes the dataset root"):
        resolve_inside(tmp_path, hostile)


def test_resolve_inside_with_a_cached_root_follows_links_made_later(tmp_path: Path) -> None:
    outside, root = tmp_path / "outside", tmp_path / "root"
    (outside / "deep").mkdir(parents=True)
    (root / "sub" / "real").mkdir(parents=True)
    (root / "sub" / "real" / "f.png").write_bytes(b"")
    assert resolve_inside(root, "sub/file.png") == (root / "sub" / "file.png").resolve()  # root now cached
    # Links made after the root was cached are still seen: every component below the root is checked.
    (root / "link").symlink_to(outside)
    (root / "sub" / "deeper").symlink_to(outside / "deep")
    (root / "sub" / "inner").symlink_to(root / "sub" / "real")
    for escaping in ("link/file.png", "sub/deeper/x.png", "link"):
        with pytest.raises(ValueError, match="via a link"):
            resolve_inside(root, escaping)
    assert resolve_inside(root, "sub/inner/a.png") == root.resolve() / "sub" / "real" / "a.png"
    # Missing components and files under files resolve as Path.resolve() does.
    for rel in ("", ".", "sub/./x.png", "sub//x.png", "nothing/here.png", "sub/real/f.png/b"):
        assert resolve_inside(root, rel) == (root.resolve() / rel).resolve(), rel


def test_resolve_inside_root_through_a_link_and_a_relative_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tmp_path / "data" / "real"
    (real / "img").mkdir(parents=True)
    (tmp_path / "alias").symlink_to(real)
    assert resolve_inside(tmp_path / "alias", "img/a.png") == real.resolve() / "img" / "a.png"
    assert resolve_inside(str(tmp_path / "alias"), "img/a.png") == real.resolve() / "img" / "a.png"
    # A relative root is cached per working directory.
    (tmp_path / "other" / "real" / "img").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "data")
    assert resolve_inside("real", "img/a.png") == real.resolve() / "img" / "a.png"
    monkeypatch.chdir(tmp_path / "other")
    assert resolve_inside("real", "img/a.png") == (tmp_path / "other" / "real").resolve() / "img" / "a.png"


def test_resolved_root_cache_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(records, "_RESOLVED_ROOTS", {})
    monkeypatch.setattr(records, "_RESOLVED_ROOTS_MAX", 4)
    for k in range(10):
        assert resolve_inside(tmp_path / f"r{k}", "a.png") == (tmp_path / f"r{k}" / "a.png").resolve()
        assert len(records._RESOLVED_ROOTS) <= 4
    assert os.fspath(tmp_path / "r9") in {key[0] for key in records._RESOLVED_ROOTS}
