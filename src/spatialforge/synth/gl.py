"""The renderer on OpenGL through headless EGL (moderngl): `render_view` as in `spatialforge.synth.raster`.

Optional backend: install with `pip install "spatialforge[render]"` (moderngl). Importing this module never
needs moderngl; calling `render_view` without it raises RuntimeError.

What the GPU does and what stays shared. Both backends validate the meshes, shade the faces and compose the
view with the same numpy code (`raster.validate_meshes`, `raster.compose_view`); OpenGL only replaces the
rasterisation step, drawing each triangle with its index (gl_PrimitiveID + 1) and its z-depth into one
two-channel float32 target. So colours and instance ids agree exactly wherever the two backends see the same
face; they can differ only on pixels whose centre lies on a shared edge or silhouette (tie rules differ) and
where two surfaces are within float precision of each other.

Details:
- Triangles are sent in the camera frame (transformed on the CPU in float64, then float32), so precision does
  not depend on how far the scene is from the world origin.
- The projection maps pixel centre u to window x = u + 0.5 (GL samples at window centres) and row v to window
  y = v + 0.5, so the framebuffer's first row read back is image row 0 (no flip).
- OpenGL clips at z_cam = near_m, the numpy backend's near plane. The depth test uses a linear depth
  gl_FragDepth = z / far (far = just beyond the farthest vertex), uniform precision over the scene.
- z-depth = 1 / gl_FragCoord.w: 1/w is interpolated linearly in screen space, which is exactly 1/z on a
  planar triangle (perspective-correct, as in the numpy backend).
- An EGL context belongs to the thread that created it: each thread gets its own, created on first use and
  kept (with framebuffers per image size) for later calls in that thread.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from spatialforge.geometry.camera import PinholeCamera
from spatialforge.geometry.transforms import RigidTransform
from spatialforge.synth.raster import (
    DEFAULT_AMBIENT,
    DEFAULT_BACKGROUND_RGB,
    DEFAULT_LIGHT_DIR_WORLD,
    RenderedView,
    RenderMesh,
    SceneTriangles,
    render_with,
    transform_points_elementwise,
)

INSTALL_HINT = 'pip install "spatialforge[render]"'
# Face ids travel as float32 (id + 1), exact up to 2^24.
MAX_TRIANGLES = 1 << 24

_VERTEX_SHADER = """
#version 330 core
uniform mat4 clip_from_cam;
in vec3 in_cam;
void main() {
    gl_Position = clip_from_cam * vec4(in_cam, 1.0);
}
"""

_FRAGMENT_SHADER = """
#version 330 core
uniform float far_m;
out vec2 face_and_depth;
void main() {
    float depth_m = 1.0 / gl_FragCoord.w;
    gl_FragDepth = clamp(depth_m / far_m, 0.0, 1.0);
    face_and_depth = vec2(float(gl_PrimitiveID + 1), depth_m);
}
"""

_local = threading.local()


def _import_moderngl() -> Any:
    try:
        import moderngl
    except ImportError as exc:  # the optional dependency is missing
        raise RuntimeError(f"the OpenGL renderer needs moderngl: {INSTALL_HINT}") from exc
    return moderngl


class _ThreadRenderer:
    """One EGL context with its shader program and framebuffers per image size (used by one thread)."""

    def __init__(self) -> None:
        moderngl = _import_moderngl()
        try:
            self.ctx = moderngl.create_standalone_context(backend="egl")
        except Exception as exc:  # EGL missing or no usable device: say so, with the cause
            raise RuntimeError(
                f"cannot create a headless EGL OpenGL context ({exc}); use the numpy backend"
            ) from exc
        self.program = self.ctx.program(vertex_shader=_VERTEX_SHADER, fragment_shader=_FRAGMENT_SHADER)
        self.framebuffers: dict[tuple[int, int], Any] = {}

    def framebuffer(self, width: int, height: int) -> Any:
        key = (width, height)
        if key not in self.framebuffers:
            target = self.ctx.texture((width, height), 2, dtype="f4")
            depth = self.ctx.depth_renderbuffer((width, height))
            self.framebuffers[key] = self.ctx.framebuffer(color_attachments=[target], depth_attachment=depth)
        return self.framebuffers[key]

    def rasterize(
        self, triangles_cam: np.ndarray, camera: PinholeCamera, near_m: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """(F, 3, 3) camera-frame triangles (m) -> ((H, W) int64 face index, -1 for none; (H, W) float32
        z-depth in metres, NaN for none)."""
        width, height = camera.width, camera.height
        fbo = self.framebuffer(width, height)
        fbo.use()
        self.ctx.viewport = (0, 0, width, height)
        self.ctx.enable(self.ctx.DEPTH_TEST)
        self.ctx.disable(self.ctx.CULL_FACE)
        fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        if len(triangles_cam):
            far_m = max(float(triangles_cam[..., 2].max()) * 1.01 + 1.0, 2.0 * near_m)
            self.program["clip_from_cam"].write(clip_from_cam(camera, near_m, far_m).T.astype("f4").tobytes())
            self.program["far_m"].value = far_m
            vbo = self.ctx.buffer(np.ascontiguousarray(triangles_cam, dtype="f4").tobytes())
            vao = self.ctx.vertex_array(self.program, [(vbo, "3f", "in_cam")])
            try:
                vao.render(mode=self.ctx.TRIANGLES)
            finally:
                vao.release()
                vbo.release()
        raw = np.frombuffer(fbo.read(components=2, dtype="f4"), dtype=np.float32)
        raw = raw.reshape(height, width, 2)  # row 0 = window y 0.5 = image row v = 0
        face = raw[..., 0].astype(np.int64) - 1
        depth = np.where(face >= 0, raw[..., 1], np.float32(np.nan)).astype(np.float32)
        return face, depth


def clip_from_cam(camera: PinholeCamera, near_m: float, far_m: float) -> np.ndarray:
    """(4, 4) OpenGL clip matrix of an OpenCV camera: window x = u + 0.5, window y = v + 0.5, w = z, and
    z_ndc = -1 at z = near_m, +1 at z = far_m (the near plane clips at near_m)."""
    w, h = camera.width, camera.height
    m = np.zeros((4, 4))
    m[0, 0] = 2.0 * camera.fx / w
    m[0, 2] = 2.0 * (camera.cx + 0.5) / w - 1.0
    m[1, 1] = 2.0 * camera.fy / h
    m[1, 2] = 2.0 * (camera.cy + 0.5) / h - 1.0
    m[2, 2] = (far_m + near_m) / (far_m - near_m)
    m[2, 3] = -2.0 * far_m * near_m / (far_m - near_m)
    m[3, 2] = 1.0
    return m


def _renderer() -> _ThreadRenderer:
    renderer = getattr(_local, "renderer", None)
    if renderer is None:
        renderer = _ThreadRenderer()
        _local.renderer = renderer
    return renderer


def is_available() -> bool:
    """True when moderngl is installed and this thread can create (or already has) a headless EGL context."""
    try:
        _renderer()
    except RuntimeError:
        return False
    return True


def rasterize_scene(
    scene: SceneTriangles, camera: PinholeCamera, cam_from_world: RigidTransform, near_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Like raster.rasterize_scene, on the GPU: ((H, W) int64 face index, -1 for none; (H, W) float32 z-depth
    in metres, NaN for none)."""
    if len(scene.triangles_world) >= MAX_TRIANGLES:
        raise ValueError(
            f"meshes: at most {MAX_TRIANGLES - 1} triangles per view, got {len(scene.triangles_world)}"
        )
    triangles_cam = transform_points_elementwise(cam_from_world, scene.triangles_world)  # (F, 3, 3) m, cam
    return _renderer().rasterize(triangles_cam, camera, near_m)


def render_view(
    meshes: Sequence[RenderMesh],
    camera: PinholeCamera,
    cam_from_world: RigidTransform,
    *,
    near_m: float = 0.05,
    shade: bool = True,
    background_rgb: Sequence[float] = DEFAULT_BACKGROUND_RGB,
    light_dir_world: Sequence[float] = DEFAULT_LIGHT_DIR_WORLD,
    ambient: float = DEFAULT_AMBIENT,
) -> RenderedView:
    """Same contract as spatialforge.synth.raster.render_view, rasterised by OpenGL (EGL, headless).

    RuntimeError when moderngl is missing or no EGL context can be created."""
    return render_with(
        rasterize_scene,
        meshes,
        camera,
        cam_from_world,
        near_m,
        shade,
        background_rgb,
        light_dir_world,
        ambient,
    )
