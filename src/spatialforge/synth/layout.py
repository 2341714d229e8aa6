"""Procedural layouts: where each object of a synthetic scene stands, how it is turned, what colour it is.

Settings (SYNTH_SETTINGS):
- indoor: a room (4-7 m x 4-7 m, 2.6-3.1 m high; floor at z = 0, walls at x = +-W/2, y = +-D/2) with 6-10
  pieces of furniture on the floor and small objects on the tops of supports (tables, desks, cabinets...).
- tabletop: a room with one table in the middle and 5-9 small objects on its top; the camera looks down at it.
- street: a road along world +y (two lanes each way; x > 0 drives along +y), sidewalks, and vehicles, people,
  cyclists, cones, trees and signs; the camera rides in the right lane at vehicle height.

Physical plausibility: every object stands on the floor / ground (z = 0) or on the top face of a support,
footprints (synth.footprint) of objects on the same surface keep a clearance, so no two boxes interpenetrate;
objects stay inside the room or their street zone. Headings are drawn from three modes so that facing same /
opposite / perpendicular all occur: backed against a wall and facing into the room (85 % of the categories
whose CategorySpec.yaw_hint is "back_to_wall": shelves, cabinets, sofas, beds; 30 % of the rest), pulled up
to a table or desk and facing it (70 % of "faces_table": chairs), on the room's grid (multiples of 90 degrees,
+-3), or free (uniform). Colours: no two objects of one category share a colour,
so "the red chair" always names one object. A placement that finds no room after its tries is dropped and
counted (Layout.rejected).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from spatialforge.geometry.boxes import OrientedBox3D
from spatialforge.geometry.rotations import rot_z
from spatialforge.synth.assets import CATALOGUE, PALETTE, CategorySpec, categories, sample_size
from spatialforge.synth.footprint import Footprint, contains_point, inside_footprint, inside_rect, overlaps

SYNTH_SETTINGS = ("indoor", "tabletop", "street")
CLEARANCE_M = 0.05  # between footprints on one surface
TRIES_PER_OBJECT = 40
INDOOR_TOP_THINGS = ("book", "vase", "laptop", "bowl", "box", "bottle", "mug")


class Placement(NamedTuple):
    category: str
    size_m: tuple[float, float, float]  # (length x, width y, height z), object frame
    center_m: tuple[float, float, float]  # box centre, world
    yaw_rad: float  # object +x (its front) heading in world xy
    colour: str  # palette name of the body colour
    support: int | None  # index of the placement it stands on; None = the floor / ground

    def footprint(self) -> Footprint:
        return Footprint(
            (self.center_m[0], self.center_m[1]), (self.size_m[0] / 2, self.size_m[1] / 2), self.yaw_rad
        )

    def box(self) -> OrientedBox3D:
        return OrientedBox3D(np.array(self.center_m), rot_z(self.yaw_rad), np.array(self.size_m))

    @property
    def top_z(self) -> float:
        return self.center_m[2] + self.size_m[2] / 2


@dataclass
class Layout:
    """A scene's objects and its surroundings. room_m: (W, D, H) of the room (indoor, tabletop); street: the
    road's half width and the sidewalk width. focus_m: (3,) world point the cameras aim near."""

    setting: str
    placements: list[Placement] = field(default_factory=list)
    room_m: tuple[float, float, float] | None = None
    road_half_width_m: float | None = None
    sidewalk_m: float | None = None
    focus_m: tuple[float, float, float] = (0.0, 0.0, 0.0)
    rejected: Counter[str] = field(default_factory=Counter)

    def floor_footprints(self) -> list[Footprint]:
        return [p.footprint() for p in self.placements if p.support is None]


class _Colours:
    """Body colours: no two objects of a category share one; prefer colours the scene has not used yet."""

    def __init__(self, rng: random.Random, rejected: Counter[str]) -> None:
        self._rng = rng
        self._rejected = rejected  # the layout's counter: a category out of colours is counted there
        self._used: Counter[str] = Counter()
        self._per_category: dict[str, set[str]] = {}

    def draw(self, category: str) -> str | None:
        """A colour from the category's allowed ones (CategorySpec.colours: no black screen on a black
        monitor, no blue apples) that no other object of the category has; None when none is left."""
        taken = self._per_category.setdefault(category, set())
        allowed = CATALOGUE[category].colours if category in CATALOGUE else tuple(n for n, _ in PALETTE)
        free = [name for name in allowed if name not in taken]
        if not free:
            self._rejected["no_distinct_colour"] += 1
            return None
        least = min(self._used[n] for n in free)
        name = self._rng.choice([n for n in free if self._used[n] == least])
        taken.add(name)
        self._used[name] += 1
        return name


def _heading(rng: random.Random) -> float:
    """A heading on the room grid (multiples of 90 degrees, +-3) or free; with wall placement this makes
    same / opposite / perpendicular facing pairs common."""
    if rng.random() < 0.6:
        return rng.randrange(4) * math.pi / 2 + math.radians(rng.uniform(-3.0, 3.0))
    return rng.uniform(-math.pi, math.pi)


def _facing_a_table(layout: Layout, size: np.ndarray, rng: random.Random) -> tuple[np.ndarray, float] | None:
    """A spot beside one of the room's tables or desks, turned to face it (a chair pulled up to a table):
    on one of its four sides, 5-25 cm out, the chair's +x pointing at the table. None without a table."""
    tables = [p for p in layout.placements if p.support is None and p.category in ("table", "desk")]
    if not tables:
        return None
    table = rng.choice(tables).footprint()
    ax, ay = table.axes()
    side = rng.randrange(4)
    out_dir = (ax, ay, -ax, -ay)[side]  # (2,) world xy: from the table's centre out through that side
    along = np.array([-out_dir[1], out_dir[0]])
    half_out = table.half_extent[side % 2]
    half_along = table.half_extent[1 - side % 2]
    offset = half_out + size[0] / 2 + rng.uniform(0.05, 0.25)
    slide = rng.uniform(-0.6, 0.6) * max(half_along - size[1] / 2, 0.0)
    center_xy = np.asarray(table.center_xy) + offset * out_dir + slide * along
    facing = math.atan2(-out_dir[1], -out_dir[0]) + math.radians(rng.uniform(-8.0, 8.0))
    return center_xy, facing


def _place_on_floor_in_room(
    layout: Layout, spec: CategorySpec, size: np.ndarray, rng: random.Random, colour: str
) -> Placement | None:
    assert layout.room_m is not None
    half_w, half_d = layout.room_m[0] / 2, layout.room_m[1] / 2
    others = layout.floor_footprints()
    for _ in range(TRIES_PER_OBJECT):
        if spec.yaw_hint == "faces_table" and rng.random() < 0.7:
            at_table = _facing_a_table(layout, size, rng)
            if at_table is None:
                continue
            center_xy, yaw = at_table
        elif rng.random() < (0.85 if spec.yaw_hint == "back_to_wall" else 0.3):
            # Backed against a wall, facing into the room: wall k's inward normal.
            k = rng.randrange(4)
            inward = (math.pi / 2 * k) % (2 * math.pi)  # 0: +x (west wall), pi/2: +y, pi: -x, 3pi/2: -y
            normal = np.array([math.cos(inward), math.sin(inward)])
            along = np.array([-normal[1], normal[0]])
            wall_dist = half_w if k % 2 == 0 else half_d
            span = half_d if k % 2 == 0 else half_w
            offset = size[0] / 2 + rng.uniform(0.02, 0.1)
            t = (
                rng.uniform(-span + size[1] / 2 + 0.05, span - size[1] / 2 - 0.05)
                if span > size[1] / 2 + 0.05
                else 0.0
            )
            center_xy = -normal * wall_dist + normal * offset + along * t
            yaw = inward + math.radians(rng.uniform(-2.0, 2.0))
        else:
            center_xy = np.array([rng.uniform(-half_w, half_w), rng.uniform(-half_d, half_d)])
            yaw = _heading(rng)
        fp = Footprint((float(center_xy[0]), float(center_xy[1])), (size[0] / 2, size[1] / 2), yaw)
        if not inside_rect(fp, (-half_w + 0.01, half_w - 0.01), (-half_d + 0.01, half_d - 0.01)):
            continue
        if any(overlaps(fp, o, CLEARANCE_M) for o in others):
            continue
        center = (fp.center_xy[0], fp.center_xy[1], size[2] / 2)
        return Placement(spec.name, tuple(map(float, size)), center, yaw, colour, None)
    return None


def _place_on_support(
    layout: Layout, support_index: int, spec: CategorySpec, size: np.ndarray, rng: random.Random, colour: str
) -> Placement | None:
    """On the top face of placement support_index, inside its footprint (5 cm from the edge), apart from what
    already stands there; turned like the support (60 %) or by a multiple of 90 degrees or freely."""
    support = layout.placements[support_index]
    top = support.footprint()
    if size[0] > 2 * top.half_extent[0] - 0.1 and size[1] > 2 * top.half_extent[1] - 0.1:
        return None
    siblings = [p.footprint() for p in layout.placements if p.support == support_index]
    ax, ay = top.axes()
    for _ in range(TRIES_PER_OBJECT):
        u = rng.uniform(-top.half_extent[0], top.half_extent[0])
        v = rng.uniform(-top.half_extent[1], top.half_extent[1])
        center_xy = np.asarray(top.center_xy) + u * ax + v * ay
        r = rng.random()
        if r < 0.6:
            yaw = support.yaw_rad + math.radians(rng.uniform(-8.0, 8.0))
        elif r < 0.85:
            yaw = support.yaw_rad + rng.randrange(4) * math.pi / 2
        else:
            yaw = rng.uniform(-math.pi, math.pi)
        fp = Footprint((float(center_xy[0]), float(center_xy[1])), (size[0] / 2, size[1] / 2), yaw)
        if not inside_footprint(fp, top, margin_m=0.05):
            continue
        if any(overlaps(fp, o, CLEARANCE_M / 2) for o in siblings):
            continue
        z = support.top_z + size[2] / 2
        center = (fp.center_xy[0], fp.center_xy[1], z)
        return Placement(spec.name, tuple(map(float, size)), center, yaw, colour, support_index)
    return None


def _room(
    rng: random.Random, width: tuple[float, float], depth: tuple[float, float]
) -> tuple[float, float, float]:
    return (round(rng.uniform(*width), 3), round(rng.uniform(*depth), 3), round(rng.uniform(2.6, 3.1), 3))


def _add(layout: Layout, placement: Placement | None, reason: str) -> bool:
    if placement is None:
        layout.rejected[reason] += 1
        return False
    layout.placements.append(placement)
    return True


def _fill_supports(
    layout: Layout,
    surface_specs: list[CategorySpec],
    colours: _Colours,
    rng: random.Random,
    per_support: tuple[int, int],
    chance: float,
) -> None:
    if not surface_specs:
        return
    for index in range(len(layout.placements)):
        p = layout.placements[index]
        if p.support is not None or not CATALOGUE[p.category].supports or rng.random() >= chance:
            continue
        for _ in range(rng.randint(*per_support)):
            spec = rng.choice(surface_specs)
            colour = colours.draw(spec.name)
            if colour is None:
                continue
            _add(
                layout,
                _place_on_support(layout, index, spec, sample_size(spec, rng), rng, colour),
                "no_room_on_support",
            )


def indoor_layout(rng: random.Random) -> Layout:
    layout = Layout("indoor", room_m=_room(rng, (4.0, 7.0), (4.0, 7.0)))
    specs = categories("indoor")
    floor = [s for s in specs if s.placement == "floor"]
    # What stands on indoor tops: screens, and the table-top things a room holds (books, vases, laptops...).
    surface = [s for s in specs if s.placement == "surface"] + [
        CATALOGUE[n] for n in INDOOR_TOP_THINGS if n in CATALOGUE and CATALOGUE[n].setting == "tabletop"
    ]
    colours = _Colours(rng, layout.rejected)
    per_category: Counter[str] = Counter()
    drawn = [rng.choice(floor) for _ in range(rng.randint(6, 10))]
    # Supports first, so chairs find their tables and tops get things; otherwise in the drawn order.
    drawn.sort(key=lambda s: not s.supports)
    for spec in drawn:
        if per_category[spec.name] >= 3:  # a room of four beds is not a room
            layout.rejected["category_full"] += 1
            continue
        colour = colours.draw(spec.name)
        if colour is None:
            continue
        if _add(
            layout,
            _place_on_floor_in_room(layout, spec, sample_size(spec, rng), rng, colour),
            "no_room_on_floor",
        ):
            per_category[spec.name] += 1
    _fill_supports(layout, surface, colours, rng, (1, 2), 0.7)
    layout.focus_m = (0.0, 0.0, 0.6)
    return layout


def tabletop_layout(rng: random.Random) -> Layout:
    layout = Layout("tabletop", room_m=_room(rng, (4.5, 6.0), (4.5, 6.0)))
    table = CATALOGUE.get("table")
    if table is None:
        raise ValueError("the tabletop setting needs the indoor catalogue's 'table'")
    size = sample_size(table, rng)
    size[0], size[1] = max(size[0], 1.2), max(size[1], 0.75)  # room for several things on top
    colours = _Colours(rng, layout.rejected)
    yaw = rng.randrange(4) * math.pi / 2 + math.radians(rng.uniform(-10.0, 10.0))
    colour = colours.draw("table") or "brown"
    layout.placements.append(
        Placement("table", tuple(map(float, size)), (0.0, 0.0, float(size[2] / 2)), yaw, colour, None)
    )
    small = list(categories("tabletop"))
    for _ in range(rng.randint(5, 9)):
        spec = rng.choice(small)
        colour = colours.draw(spec.name)
        if colour is None:
            continue
        _add(
            layout,
            _place_on_support(layout, 0, spec, sample_size(spec, rng), rng, colour),
            "no_room_on_support",
        )
    layout.focus_m = (0.0, 0.0, float(size[2]))
    return layout


# Street zones per category: where it stands and how it heads (see street_layout).
_STREET_ZONE = {
    "car": "lane", "truck": "lane", "bus": "lane", "cyclist": "bike", "pedestrian": "sidewalk",
    "traffic cone": "curb", "tree": "verge", "traffic sign": "verge",
}  # fmt: skip


def _street_pose(
    zone: str, half_road: float, sidewalk: float, rng: random.Random
) -> tuple[float, float, float]:
    """(x, y, yaw) of a street object in `zone`; y runs 4-45 m ahead of the camera (which is at y = 0)."""
    y = rng.uniform(4.0, 45.0)
    side = rng.choice((-1.0, 1.0))
    jitter = math.radians(rng.uniform(-3.0, 3.0))
    if zone == "lane":
        r = rng.random()
        if r < 0.15 and 14.0 < y < 35.0:  # crossing an intersection: perpendicular to the road
            return rng.uniform(-half_road + 2, half_road - 2), y, side * math.pi / 2 + math.pi / 2 + jitter
        lane_x = rng.uniform(0.3, 0.75) * half_road
        if r < 0.3:  # parked at the curb
            lane_x = half_road - 1.1
        # x > 0 drives along +y (yaw pi/2), x < 0 along -y.
        return side * lane_x, y, (math.pi / 2 if side > 0 else -math.pi / 2) + jitter
    if zone == "bike":
        return side * (half_road - 0.6), y, (math.pi / 2 if side > 0 else -math.pi / 2) + jitter
    if zone == "sidewalk":
        if rng.random() < 0.2 and 10.0 < y < 30.0:  # crossing the road
            return rng.uniform(-half_road, half_road), y, rng.choice((0.0, math.pi)) + jitter
        heading = rng.choice((math.pi / 2, -math.pi / 2, 0.0, math.pi, rng.uniform(-math.pi, math.pi)))
        return side * (half_road + rng.uniform(0.4, sidewalk - 0.4)), y, heading + jitter
    if zone == "curb":
        return side * (half_road - rng.uniform(0.2, 0.8)), y, rng.uniform(-math.pi, math.pi)
    return side * (half_road + sidewalk - rng.uniform(0.3, 0.8)), y, rng.uniform(-math.pi, math.pi)  # verge


def street_layout(rng: random.Random) -> Layout:
    half_road = round(rng.uniform(3.5, 4.5), 3)  # m: two lanes each way
    sidewalk = round(rng.uniform(2.5, 4.0), 3)
    layout = Layout("street", road_half_width_m=half_road, sidewalk_m=sidewalk)
    specs = list(categories("street"))
    colours = _Colours(rng, layout.rejected)
    camera_lane = Footprint((half_road / 2, 0.0), (1.5, 3.5), math.pi / 2)  # the camera car's own spot
    for _ in range(rng.randint(8, 14)):
        spec = rng.choice(specs)
        colour = colours.draw(spec.name)
        if colour is None:
            continue
        size = sample_size(spec, rng)
        zone = _STREET_ZONE.get(spec.name, "verge")
        placed = None
        for _ in range(TRIES_PER_OBJECT):
            x, y, yaw = _street_pose(zone, half_road, sidewalk, rng)
            fp = Footprint((x, y), (size[0] / 2, size[1] / 2), yaw)
            if overlaps(fp, camera_lane, 0.5) or any(overlaps(fp, o, 0.3) for o in layout.floor_footprints()):
                continue
            placed = Placement(
                spec.name, tuple(map(float, size)), (x, y, float(size[2] / 2)), yaw, colour, None
            )
            break
        _add(layout, placed, "no_room_on_street")
    layout.focus_m = (0.0, 20.0, 1.0)
    return layout


LAYOUTS = {"indoor": indoor_layout, "tabletop": tabletop_layout, "street": street_layout}


def make_layout(setting: str, rng: random.Random) -> Layout:
    if setting not in LAYOUTS:
        raise ValueError(f"unknown setting {setting!r}; choose one of {', '.join(SYNTH_SETTINGS)}")
    return LAYOUTS[setting](rng)


def free_for_camera(layout: Layout, xy: np.ndarray, margin_m: float = 0.35) -> bool:
    """Whether a camera may stand at xy (2,) m: inside the room (margin from the walls) or on the road, and
    not within margin_m of any object's footprint."""
    if layout.room_m is not None:
        half_w, half_d = layout.room_m[0] / 2 - margin_m, layout.room_m[1] / 2 - margin_m
        if not (-half_w <= xy[0] <= half_w and -half_d <= xy[1] <= half_d):
            return False
    return not any(contains_point(fp, xy, margin_m) for fp in layout.floor_footprints())
