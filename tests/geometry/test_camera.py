import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spatialforge.geometry.camera import PinholeCamera

CAM = PinholeCamera(fx=500.0, fy=400.0, cx=320.0, cy=240.0, width=640, height=480)


def test_project_hand_checked():
    # A point 1 m right, 0.5 m down, 4 m ahead: u = 500*1/4 + 320 = 445, v = 400*0.5/4 + 240 = 290.
    uv, z = CAM.project(np.array([[1.0, 0.5, 4.0]]))
    np.testing.assert_allclose(uv, [[445.0, 290.0]])
    np.testing.assert_allclose(z, [4.0])


def test_points_behind_camera_do_not_project():
    uv, z = CAM.project(np.array([[0.0, 0.0, -2.0], [0.0, 0.0, 0.0]]))
    assert np.isnan(uv).all()
    np.testing.assert_allclose(z, [-2.0, 0.0])


@settings(max_examples=50, deadline=None)
@given(
    st.floats(-600, 1200),
    st.floats(-400, 900),
    st.floats(0.1, 80.0),
)
def test_unproject_inverts_project(u, v, depth):
    p = CAM.unproject(np.array([[u, v]]), np.array([depth]))
    uv, z = CAM.project(p)
    np.testing.assert_allclose(uv, [[u, v]], atol=1e-7)
    np.testing.assert_allclose(z, [depth])


def test_point_map_from_depth():
    cam = PinholeCamera(2.0, 2.0, 1.0, 0.5, width=3, height=2)
    depth = np.array([[1.0, 2.0, np.nan], [4.0, 4.0, 4.0]])
    pm = cam.point_map(depth)
    assert pm.shape == (2, 3, 3)
    # pixel (u=0, v=0): x = (0-1)/2*1 = -0.5, y = (0-0.5)/2*1 = -0.25
    np.testing.assert_allclose(pm[0, 0], [-0.5, -0.25, 1.0])
    # pixel (u=2, v=1) at 4 m: x = (2-1)/2*4 = 2, y = (1-0.5)/2*4 = 1
    np.testing.assert_allclose(pm[1, 2], [2.0, 1.0, 4.0])
    assert np.isnan(pm[0, 2]).all()
    with pytest.raises(ValueError, match="depth map shape"):
        cam.point_map(np.ones((3, 2)))


def test_point_map_equals_the_per_pixel_formula_bit_for_bit():
    # Broadcast per row and column, the arithmetic must stay ((u - cx) / fx) * z for every pixel (u, v).
    rng = np.random.default_rng(0)
    cam = PinholeCamera(525.3, 519.7, 319.2, 241.9, width=64, height=48)
    depth = rng.uniform(0.1, 9.0, (48, 64))
    depth[rng.random((48, 64)) < 0.1] = np.nan
    v, u = np.mgrid[0:48, 0:64].astype(float)
    expected = np.stack([(u - cam.cx) / cam.fx * depth, (v - cam.cy) / cam.fy * depth, depth], axis=-1)
    assert np.array_equal(cam.point_map(depth), expected, equal_nan=True)


def test_from_matrix_round_trip_and_rejects_skew():
    cam = PinholeCamera.from_matrix(CAM.matrix(), 640, 480)
    assert cam == CAM
    k = CAM.matrix()
    k[0, 1] = 3.0
    with pytest.raises(ValueError):
        PinholeCamera.from_matrix(k, 640, 480)
    with pytest.raises(ValueError):
        PinholeCamera.from_matrix(np.eye(4), 640, 480)


def test_scaled_camera_keeps_pixel_centre_convention():
    half = CAM.scaled(0.5)
    assert (half.width, half.height) == (320, 240)
    p = np.array([[0.3, -0.2, 3.0]])
    uv_full, _ = CAM.project(p)
    uv_half, _ = half.project(p)
    # Continuous image coordinates (pixel edges at -0.5) scale by the factor.
    np.testing.assert_allclose((uv_full + 0.5) * 0.5 - 0.5, uv_half)


def test_in_image_bounds():
    uv = np.array([[-0.5, -0.5], [639.5, 479.5], [-0.6, 10], [10, 479.6], [np.nan, 1]])
    assert CAM.in_image(uv).tolist() == [True, True, False, False, False]
