"""How a camera moved between two views: SPAR's view-change and camera-pose quantities.

Definitions from the SPAR paper (/work/shared/papers/003_*, appendix 7.5 "View chang infer" and "Camera
pose"); the paper leaves the frame and the rotation order to "designed rules", so they are fixed here.

View change (camera 1 -> camera 2), `view_change`
--------------------------------------------------
Translation frame: camera 1's gravity-aligned heading frame (`cam_gravity:<view 1>`):

    up      = unit up_world                      (= -Gravity.down_world)
    f       = camera 1's optical axis (+z of cam 1) in the world
    f_h     = normalise(f - (f . up) up)         camera 1's heading: its optical axis laid flat
    right_h = f_h x up                           horizontal, to camera 1's right
    d       = c2 - c1                            camera centres, world, metres

    move_right = d . right_h     move_up = d . up     move_forward = d . f_h

Rotation, measured on the optical axes (f1, f2) only:

    rotate_left = signed angle about up from heading 1 to heading 2, in (-180, 180] degrees;
                  counter-clockwise seen from above = turning left = positive
    rotate_up   = elevation(f2) - elevation(f1),   elevation(f) = asin(f . up)

Order: first yaw about gravity by rotate_left, then pitch about the camera's new (horizontal) right axis by
rotate_up. This is exact for roll-free cameras (image x axis horizontal); roll is not measured, so a
rolled camera is described by where its optical axis points. A camera whose optical axis is within
VERTICAL_VIEW_MIN_DEG of straight up or down has no usable heading: "vertical_view".

Seen from above (up out of the page), camera 1 at c1 looking along f_h:

                 f_h (move_forward +)
                  ^
                  |       * c2      move_right = d . right_h  (> 0 here)
                  |      /          move_forward = d . f_h    (> 0 here)
                  |    / d
                  |  /
                  c1 ------------> right_h (move_right +)
         rotate_left + : heading turns counter-clockwise (towards -right_h)

Without gravity (up_world None) camera 1's own axes are used instead: right = +x, up = -y (the image's up),
forward = +z; the `frame` field says which ("cam:<view 1>" or "cam_gravity:<view 1>").

Text forms (each parses back with spatialforge.bench.parsers.parse_view_change to `rounded_components`):
- `released_string`: SPAR-Bench's released answers, `move_right:1.2,move_up:0.4,move_forward:1.4,rotate_up:5,
  rotate_left:90`; metres to 1 decimal, whole degrees; a negative component is written with the opposite key
  and a positive value (move_left, move_down, move_backward, rotate_down, rotate_right); a component that
  rounds to zero is written with the positive key and 0 (never "-0.0").
- `paper_string`: the SPAR paper's fill-in form, "move right: 1.2, move up: 0.4, move forward: 1.4, rotate up:
  5, rotate left: 90" (same keys and rounding, spaces instead of underscores).
- `sentence`: "Move 1.2 meters right, move 0.4 meters up and move 1.4 meters forward, then rotate up by 5
  degrees and turn left by 90 degrees." Components that round to zero are left out, as in the paper's
  example "Move 0.6 meters forward. Rotate down by 10 degrees. Turn right by 10 degrees."

Camera in image (camera 2 seen from camera 1), `camera_in_image`
----------------------------------------------------------------
Camera 2's centre in camera 1's OpenCV frame, projected with camera 1's intrinsics (SPAR eq. 9): the pixel
(u, v), the point on SPAR's 0-1000 grid (round(u / W * 1000), round(v / H * 1000)), and the depth z (metres).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from spatialforge.geometry.camera import PinholeCamera
from spatialforge.geometry.transforms import RigidTransform

# A camera looking within this angle of straight up or down has no stable heading: its horizontal optical
# axis has length cos(elevation), so pose noise of e degrees moves the heading by about e / sin(this angle);
# 15 degrees keeps that amplification below 4x. Indoor scans almost never look this steeply.
VERTICAL_VIEW_MIN_DEG = 15.0
# Camera 2 closer than this in front of camera 1 (z, metres) has no stable place in image 1: a few
# centimetres of motion would throw its pixel across the image. Refused as "camera_behind".
CAMERA_NEAR_M = 0.1

# Rejection reasons (stable snake_case).
VERTICAL_VIEW = "vertical_view"
CAMERA_BEHIND = "camera_behind"
CAMERA_OUTSIDE_IMAGE = "camera_outside_image"

# SPAR's normalised image grid (appendix 7.5, eq. 9): 0 at the left/top edge, 1000 at the right/bottom.
GRID_1000 = 1000

# The five components in SPAR-Bench's order, with the key of each sign (bench.parsers.viewchange).
COMPONENTS = ("move_right", "move_up", "move_forward", "rotate_up", "rotate_left")
_NEGATIVE_KEY = {
    "move_right": "move_left",
    "move_up": "move_down",
    "move_forward": "move_backward",
    "rotate_up": "rotate_down",
    "rotate_left": "rotate_right",
}
_MOVE_DECIMALS = 1  # metres to 0.1 m, as the released strings
_ROTATE_DECIMALS = 0  # whole degrees


class ViewChange(NamedTuple):
    """Motion from camera 1 to camera 2: metres in `frame` (camera 1's heading frame), radians."""

    move_right_m: float
    move_up_m: float
    move_forward_m: float
    rotate_left_rad: float  # yaw about up, counter-clockwise seen from above = left, in (-pi, pi]
    rotate_up_rad: float  # elevation(camera 2 axis) - elevation(camera 1 axis)
    frame: str  # "cam_gravity:<view 1>" (gravity known) or "cam:<view 1>" (camera 1's own axes)


class CameraInImage(NamedTuple):
    """Where camera 2's centre appears in image 1."""

    u_px: float  # pixel column (0-based, integer = pixel centre)
    v_px: float  # pixel row
    x_1000: int  # SPAR 0-1000 grid: round(u / W * 1000), clamped to [0, 1000]
    y_1000: int  # round(v / H * 1000), clamped to [0, 1000]
    depth_m: float  # z of camera 2's centre in camera 1's frame, metres


# ---------------------------------------------------------------- geometry


def _unit(v: np.ndarray, what: str) -> np.ndarray:
    v = np.asarray(v, dtype=float).reshape(-1)
    n = float(np.linalg.norm(v)) if v.shape == (3,) else 0.0
    if not (math.isfinite(n) and n > 1e-12):
        raise ValueError(f"{what} must be a finite non-zero (3,) vector, got {v.tolist()}")
    return v / n


def _check_pose(world_from_cam: RigidTransform, name: str) -> None:
    if not world_from_cam.is_rigid():
        raise ValueError(f"{name} ({world_from_cam.name}) is not a rigid transform")


def _gravity_frame_name(cam_frame: str) -> str:
    """'cam:<id>' -> 'cam_gravity:<id>' (the gravity-aligned frame of the same camera)."""
    view_id = cam_frame[len("cam:") :] if cam_frame.startswith("cam:") else cam_frame
    return f"cam_gravity:{view_id}"


def _elevation(direction: np.ndarray, up: np.ndarray) -> float:
    """asin(direction . up), radians; direction and up are unit (3,) vectors in one frame."""
    return math.asin(max(-1.0, min(1.0, float(direction @ up))))


def _is_vertical(direction: np.ndarray, up: np.ndarray) -> bool:
    return abs(_elevation(direction, up)) > math.radians(90.0 - VERTICAL_VIEW_MIN_DEG)


def _heading(direction: np.ndarray, up: np.ndarray) -> np.ndarray:
    """(3,) unit horizontal part of a (3,) direction that is not vertical."""
    flat = direction - float(direction @ up) * up
    return flat / np.linalg.norm(flat)


def view_change(
    world_from_cam1: RigidTransform, world_from_cam2: RigidTransform, up_world: np.ndarray | None
) -> ViewChange | str:
    """How camera 1 moves and turns to become camera 2 (module docstring), or "vertical_view".

    world_from_cam1/2: OpenCV camera -> the same world frame (View.world_from_cam); up_world: (3,) up in
    that world (-Gravity.down_world, any length), or None to measure in camera 1's own axes.
    """
    if world_from_cam1.dst != world_from_cam2.dst:
        raise ValueError(f"poses are in different frames: {world_from_cam1.name} and {world_from_cam2.name}")
    _check_pose(world_from_cam1, "world_from_cam1")
    _check_pose(world_from_cam2, "world_from_cam2")
    r1, r2 = world_from_cam1.rotation, world_from_cam2.rotation  # (3, 3) world_from_cam
    f1, f2 = r1[:, 2], r2[:, 2]  # (3,) optical axes, world
    if up_world is None:
        up = -r1[:, 1]  # camera 1's image "up", world
        frame = world_from_cam1.src
    else:
        up = _unit(up_world, "up_world")
        frame = _gravity_frame_name(world_from_cam1.src)
    if _is_vertical(f1, up) or _is_vertical(f2, up):
        return VERTICAL_VIEW
    forward_h = _heading(f1, up)  # (3,) world
    right_h = np.cross(forward_h, up)  # (3,) world, unit: forward_h is perpendicular to up
    d = world_from_cam2.translation - world_from_cam1.translation  # (3,) m, world
    heading2 = _heading(f2, up)
    # Signed angle about up from heading 1 to heading 2 (right-handed about up: counter-clockwise from above).
    yaw = math.atan2(float(np.cross(forward_h, heading2) @ up), float(forward_h @ heading2))
    if yaw <= -math.pi:  # atan2 returns -pi for a reversal: report it as +pi (left), per (-pi, pi]
        yaw = math.pi
    return ViewChange(
        move_right_m=float(d @ right_h),
        move_up_m=float(d @ up),
        move_forward_m=float(d @ forward_h),
        rotate_left_rad=yaw,
        rotate_up_rad=_elevation(f2, up) - _elevation(f1, up),
        frame=frame,
    )


def camera_in_image(
    camera1: PinholeCamera, world_from_cam1: RigidTransform, world_from_cam2: RigidTransform
) -> CameraInImage | str:
    """Where camera 2's centre appears in image 1 (SPAR eq. 9).

    Refusals: "camera_behind" (z <= CAMERA_NEAR_M in camera 1) and "camera_outside_image".
    """
    if world_from_cam1.dst != world_from_cam2.dst:
        raise ValueError(f"poses are in different frames: {world_from_cam1.name} and {world_from_cam2.name}")
    _check_pose(world_from_cam1, "world_from_cam1")
    if not np.isfinite(world_from_cam2.translation).all():
        raise ValueError(f"world_from_cam2 ({world_from_cam2.name}) has a non-finite translation")
    center_cam1 = world_from_cam1.inverse().apply(world_from_cam2.translation)  # (3,) m, cam 1
    z = float(center_cam1[2])
    if z <= CAMERA_NEAR_M:
        return CAMERA_BEHIND
    uv, _ = camera1.project(center_cam1)  # (1, 2) pixels
    if not bool(camera1.in_image(uv)[0]):
        return CAMERA_OUTSIDE_IMAGE
    u, v = float(uv[0, 0]), float(uv[0, 1])
    # u may be -0.5 .. W - 0.5 (the image area): clamp the grid point onto 0..1000.
    x_1000 = min(GRID_1000, max(0, round(u / camera1.width * GRID_1000)))
    y_1000 = min(GRID_1000, max(0, round(v / camera1.height * GRID_1000)))
    return CameraInImage(u, v, x_1000, y_1000, z)


# ---------------------------------------------------------------- text


def _rounded(value: float, decimals: int) -> float:
    """value rounded as the text writes it (Python's format rounding), with -0.0 turned into 0.0."""
    r = float(f"{value:.{decimals}f}")
    return 0.0 if r == 0.0 else r


def rounded_components(vc: ViewChange) -> dict[str, float]:
    """The five signed components as the texts state them: metres to 0.1, whole degrees (parser keys)."""
    return {
        "move_right": _rounded(vc.move_right_m, _MOVE_DECIMALS),
        "move_up": _rounded(vc.move_up_m, _MOVE_DECIMALS),
        "move_forward": _rounded(vc.move_forward_m, _MOVE_DECIMALS),
        "rotate_up": _rounded(math.degrees(vc.rotate_up_rad), _ROTATE_DECIMALS),
        "rotate_left": _rounded(math.degrees(vc.rotate_left_rad), _ROTATE_DECIMALS),
    }


def _signed_terms(vc: ViewChange) -> list[tuple[str, str]]:
    """[(key, magnitude text)] in COMPONENTS order; the key carries the sign (zero: the positive key)."""
    terms = []
    for key, value in rounded_components(vc).items():
        decimals = _MOVE_DECIMALS if key.startswith("move") else _ROTATE_DECIMALS
        written_key = _NEGATIVE_KEY[key] if value < 0 else key
        terms.append((written_key, f"{abs(value):.{decimals}f}"))
    return terms


def released_string(vc: ViewChange) -> str:
    """SPAR-Bench's released form.

    'move_right:1.2,move_up:0.4,move_forward:1.4,rotate_up:5,rotate_left:90'
    """
    return ",".join(f"{key}:{amount}" for key, amount in _signed_terms(vc))


def paper_string(vc: ViewChange) -> str:
    """The SPAR paper's form.

    'move right: 1.2, move up: 0.4, move forward: 1.4, rotate up: 5, rotate left: 90'
    """
    return ", ".join(f"{key.replace('_', ' ')}: {amount}" for key, amount in _signed_terms(vc))


def sentence(vc: ViewChange) -> str:
    """Natural text: 'Move 1.2 meters right, move 0.4 meters up and move 1.4 meters forward, then rotate up by
    5 degrees and turn left by 90 degrees.' Components that round to zero are left out."""
    moves, turns = [], []
    for key, amount in _signed_terms(vc):
        if float(amount) == 0.0:
            continue
        verb, direction = key.split("_")
        if verb == "move":
            moves.append(f"move {amount} meters {direction}")
        elif direction in ("up", "down"):
            turns.append(f"rotate {direction} by {amount} degrees")
        else:
            turns.append(f"turn {direction} by {amount} degrees")
    if not moves and not turns:
        return "Stay in place: move 0.0 meters forward and turn left by 0 degrees."
    parts = [_join_and(moves), _join_and(turns)]
    text = ", then ".join(p for p in parts if p)
    return text[0].upper() + text[1:] + "."


def _join_and(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
