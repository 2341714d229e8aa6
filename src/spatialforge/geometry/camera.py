"""Pinhole camera in the OpenCV convention.

Camera frame: +x right, +y down, +z forward (metres). Pixel coordinates (u, v): u to the right, v down,
0-based, with integer values at pixel *centres* (OpenCV / KITTI / Omni3D). A pixel (u, v) covers
[u - 0.5, u + 0.5) x [v - 0.5, v + 0.5); the image spans [-0.5, width - 0.5] x [-0.5, height - 0.5].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Points closer than this in front of the camera are treated as not projectable (metres).
MIN_DEPTH_M = 1e-3


@dataclass(frozen=True)
class PinholeCamera:
    """Intrinsics fx, fy, cx, cy (pixels) and image size (pixels). No distortion."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    @classmethod
    def from_matrix(cls, k: np.ndarray, width: int, height: int) -> PinholeCamera:
        """From a (3, 3) intrinsic matrix [[fx, s, cx], [0, fy, cy], [0, 0, 1]]; skew must be 0."""
        k = np.asarray(k, dtype=float)
        if k.shape != (3, 3):
            raise ValueError(f"intrinsic matrix must be (3, 3), got {k.shape}")
        # Zero skew and a [0, 0, 1] last row, up to float round-off relative to the focal length.
        tol = 1e-6 * max(abs(k[0, 0]), 1.0)
        if abs(k[0, 1]) > tol or abs(k[1, 0]) > tol or not np.allclose(k[2], [0, 0, 1], atol=1e-9):
            raise ValueError(f"intrinsic matrix must be [[fx,0,cx],[0,fy,cy],[0,0,1]], got {k.tolist()}")
        return cls(float(k[0, 0]), float(k[1, 1]), float(k[0, 2]), float(k[1, 2]), int(width), int(height))

    def matrix(self) -> np.ndarray:
        """(3, 3) K."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    def project(self, points_cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 3) camera-frame points -> ((N, 2) pixels, (N,) depth z in metres).

        Points with z <= MIN_DEPTH_M get NaN pixels; callers decide how to treat them (see
        `project_box_to_2d` for clipping box edges at the near plane instead).
        """
        p = np.atleast_2d(np.asarray(points_cam, dtype=float))
        z = p[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            u = self.fx * p[:, 0] / z + self.cx
            v = self.fy * p[:, 1] / z + self.cy
        uv = np.stack([u, v], axis=1)
        uv[z <= MIN_DEPTH_M] = np.nan
        return uv, z

    def unproject(self, uv: np.ndarray, depth_m: np.ndarray) -> np.ndarray:
        """(N, 2) pixels and (N,) z-depth (metres, along +z, not ray length) -> (N, 3) camera points."""
        uv = np.atleast_2d(np.asarray(uv, dtype=float))
        z = np.asarray(depth_m, dtype=float).reshape(-1)
        x = (uv[:, 0] - self.cx) / self.fx * z
        y = (uv[:, 1] - self.cy) / self.fy * z
        return np.stack([x, y, z], axis=1)

    def point_map(self, depth_m: np.ndarray) -> np.ndarray:
        """(H, W) z-depth in metres -> (H, W, 3) camera-frame point map; NaN depth stays NaN."""
        depth = np.asarray(depth_m, dtype=float)
        if depth.shape != (self.height, self.width):
            raise ValueError(
                f"depth map shape {depth.shape} != camera size (H, W) = {(self.height, self.width)}"
            )
        # Per column and per row once, then broadcast: the same arithmetic, ((u - cx) / fx) * z, as a full
        # (H, W) pixel grid would do, at a fifth of the time (the training loader builds one per view).
        x_over_z = (np.arange(self.width, dtype=float) - self.cx) / self.fx  # (W,)
        y_over_z = (np.arange(self.height, dtype=float) - self.cy) / self.fy  # (H,)
        out = np.empty((self.height, self.width, 3))
        np.multiply(x_over_z[None, :], depth, out=out[..., 0])
        np.multiply(y_over_z[:, None], depth, out=out[..., 1])
        out[..., 2] = depth
        return out

    def in_image(self, uv: np.ndarray) -> np.ndarray:
        """(N,) bool: pixel lies inside the image area [-0.5, W - 0.5] x [-0.5, H - 0.5]."""
        uv = np.atleast_2d(uv)
        return (
            np.isfinite(uv).all(axis=1)
            & (uv[:, 0] >= -0.5)
            & (uv[:, 0] <= self.width - 0.5)
            & (uv[:, 1] >= -0.5)
            & (uv[:, 1] <= self.height - 0.5)
        )

    def scaled(self, sx: float, sy: float | None = None) -> PinholeCamera:
        """Camera for the image resized by (sx, sy); keeps the pixel-centre convention."""
        sy = sx if sy is None else sy
        return PinholeCamera(
            self.fx * sx,
            self.fy * sy,
            (self.cx + 0.5) * sx - 0.5,
            (self.cy + 0.5) * sy - 0.5,
            round(self.width * sx),
            round(self.height * sy),
        )
