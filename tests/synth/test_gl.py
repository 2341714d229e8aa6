"""The OpenGL (EGL) backend: importable without moderngl, and where a headless context can be created, the
same ids and depth as the numpy rasteriser."""

from __future__ import annotations

import importlib.util
import sys
import threading

import numpy as np
import pytest

from spatialforge.geometry.camera import PinholeCamera
from spatialforge.synth import gl, raster
from spatialforge.synth.raster import box_mesh, validate_meshes
from tests.synth.test_raster import look_at, quad, random_room

GREY = (0.6, 0.6, 0.6)


def run_in_new_thread(fn):
    """fn() in a fresh thread (which has no GL context yet); returns its result or re-raises its error."""
    out: dict[str, object] = {}

    def target() -> None:
        try:
            out["result"] = fn()
        except BaseException as exc:  # handed back to the caller
            out["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in out:
        raise out["error"]  # type: ignore[misc]
    return out["result"]


def test_the_module_imports_and_explains_itself_without_moderngl(monkeypatch):
    monkeypatch.setitem(sys.modules, "moderngl", None)  # `import moderngl` now raises ImportError
    spec = importlib.util.spec_from_file_location("gl_without_moderngl", gl.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # importing needs no moderngl
    cam = PinholeCamera(50, 50, 15.5, 11.5, 32, 24)
    pose = look_at((0, 0, 1), (1, 0, 1))
    with pytest.raises(RuntimeError, match=r'pip install "spatialforge\[render\]"'):
        run_in_new_thread(lambda: module.render_view([box_mesh((3, 0, 1), (1, 1, 1), GREY, 1)], cam, pose))
    assert run_in_new_thread(module.is_available) is False


@pytest.fixture(scope="module")
def egl():
    if importlib.util.find_spec("moderngl") is None:
        pytest.skip("moderngl is not installed")
    if not gl.is_available():
        pytest.skip("no headless EGL context can be created here")
    return gl


def faces_and_depth(backend, meshes, cam, pose, near_m=0.05):
    return backend.rasterize_scene(validate_meshes(meshes), cam, pose, near_m)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gl_matches_numpy_on_a_room_of_boxes(egl, seed):
    rng = np.random.default_rng(seed)
    meshes = random_room(rng)
    cam = PinholeCamera(110.0, 110.0, 79.5, 59.5, 160, 120)
    pose = look_at((-3.5 + seed, -3.0, 1.6), (0.5, 0.2, 0.4))
    reference = raster.render_view(meshes, cam, pose)
    view = egl.render_view(meshes, cam, pose)
    assert view.rgb.shape == reference.rgb.shape and view.rgb.dtype == np.uint8
    assert view.depth_m.dtype == np.float32 and view.instance.dtype == np.int32
    assert np.mean(view.instance == reference.instance) >= 0.99
    both = ~np.isnan(view.depth_m) & ~np.isnan(reference.depth_m)
    assert np.mean(both) > 0.3 and np.mean(np.isnan(view.depth_m) != np.isnan(reference.depth_m)) < 0.01
    relative = np.abs(view.depth_m[both] - reference.depth_m[both]) / reference.depth_m[both]
    assert np.mean(relative <= 1e-3) >= 0.99
    # Where both see the same face, depth agrees within 1e-3 relative everywhere, and so does the colour.
    face_np, _ = faces_and_depth(raster, meshes, cam, pose)
    face_gl, _ = faces_and_depth(egl, meshes, cam, pose)
    assert np.mean(face_np == face_gl) >= 0.99
    same = (face_np == face_gl) & (face_np >= 0)
    np.testing.assert_allclose(view.depth_m[same], reference.depth_m[same], rtol=1e-3)
    np.testing.assert_array_equal(view.rgb[same], reference.rgb[same])


def test_gl_clips_at_the_same_near_plane(egl):
    # Camera 0.1 m above a floor that extends behind it, looking 30 degrees down, near_m = 0.5.
    cam = PinholeCamera(40.0, 40.0, 31.5, 23.5, 64, 48)
    pose = look_at((0, 0, 0.1), (1, 0, 0.1 - np.tan(np.radians(30))))
    floor = quad([(-5, -5, 0), (5, -5, 0), (5, 5, 0), (-5, 5, 0)], GREY, 0)
    reference = raster.render_view([floor], cam, pose, near_m=0.5)
    view = egl.render_view([floor], cam, pose, near_m=0.5)
    assert np.mean(np.isnan(view.depth_m) == np.isnan(reference.depth_m)) >= 0.99
    both = ~np.isnan(view.depth_m) & ~np.isnan(reference.depth_m)
    np.testing.assert_allclose(view.depth_m[both], reference.depth_m[both], rtol=1e-3)
    assert np.nanmin(view.depth_m) >= 0.5 * (1 - 1e-3)


def test_gl_renders_in_any_thread_and_skips_colour_when_asked(egl):
    cam = PinholeCamera(50.0, 50.0, 31.5, 23.5, 64, 48)
    pose = look_at((0, 0, 1), (1, 0, 1))
    meshes = [
        box_mesh((3, 0, 1), (1, 1, 1), (0.9, 0.1, 0.1), 4),
        quad([(-1, -4, 0), (8, -4, 0), (8, 4, 0), (-1, 4, 0)]),
    ]
    here = egl.render_view(meshes, cam, pose, shade=False)
    there = run_in_new_thread(lambda: egl.render_view(meshes, cam, pose, shade=False))
    for a, b in zip(here, there, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not here.rgb.any() and (here.instance == 4).sum() > 50
