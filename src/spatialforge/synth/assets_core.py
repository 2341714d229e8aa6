"""Building blocks of the synthetic object catalogue: parts, category specs, palette, primitive helpers.

Object frame (geometry.boxes): +x front / length, +y left / width, +z up / height, metres, origin at the
centre of the object's tight 3D box. Every primitive here is a closed trimesh solid (box, cylinder, cone,
icosphere) placed by mapping its own axis-aligned bounds onto a target box `[lo, hi]` with a positive
per-axis scale and a shift, so winding stays counter-clockwise seen from outside (outward normals).
Colours are linear RGB in [0, 1] (the renderer works in linear light; PALETTE is given in sRGB and converted).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import trimesh

from spatialforge.sources.fronts import has_semantic_front

SETTINGS = ("indoor", "tabletop", "street")
PLACEMENTS = ("floor", "surface")
# yaw_hint values (where a scene generator should point an object's +x; free text would be unusable):
YAW_HINTS = (
    "free",  # any yaw is natural (round or front-less objects lying around)
    "back_to_wall",  # its -x side goes against a wall (shelves, cabinets, sofas, beds by their headboard)
    "faces_table",  # its +x points at the table/desk it belongs to (chairs, stools)
    "faces_room",  # its +x points into the room / at a seat (monitors, tvs)
    "faces_user",  # tabletop: its +x points at the table edge where a person sits (laptops)
    "along_road",  # heading along the road axis, either direction (vehicles, cyclists)
    "roadside",  # upright by the road; any yaw, a sign's plate faces along the road (+x or -x)
)
# Part roles that mark the semantic front / back of an object (tests check they sit on the +x / -x side).
FRONT_ROLES = frozenset(
    {
        "screen",
        "keyboard",
        "windscreen",
        "headlight",
        "face",
        "toe",
        "door",
        "drawer",
        "handle",
        "book",
        "front_light",
        "seat_cushion",
        "destination_sign",
        "neckline",
    }
)
BACK_ROLES = frozenset(
    {"taillight", "backrest", "back_panel", "hair", "rear_reflector", "headboard", "rear_window", "rear_door"}
)


def srgb_to_linear(rgb: Sequence[float]) -> tuple[float, float, float]:
    """sRGB-encoded colour in [0, 1] -> linear RGB (IEC 61966-2-1 transfer function)."""
    if len(rgb) != 3:
        raise ValueError(f"rgb must have 3 channels; got {len(rgb)}")
    out = []
    for c in rgb:
        c = float(c)
        out.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    return (out[0], out[1], out[2])


# Body colours a scene can name ("the red chair"): sRGB values chosen to read unambiguously, stored linear.
# The test checks the pairwise linear-RGB distance stays above 0.15.
PALETTE: tuple[tuple[str, tuple[float, float, float]], ...] = tuple(
    (name, srgb_to_linear(srgb))
    for name, srgb in (
        ("red", (0.85, 0.10, 0.10)),
        ("orange", (0.95, 0.50, 0.05)),
        ("yellow", (0.95, 0.85, 0.10)),
        ("green", (0.15, 0.60, 0.15)),
        ("teal", (0.00, 0.55, 0.55)),
        ("blue", (0.10, 0.25, 0.85)),
        ("purple", (0.50, 0.15, 0.65)),
        ("pink", (0.95, 0.50, 0.70)),
        ("brown", (0.50, 0.30, 0.12)),
        ("white", (0.95, 0.95, 0.95)),
        ("grey", (0.55, 0.55, 0.55)),
        ("black", (0.08, 0.08, 0.08)),
    )
)
PALETTE_NAMES = tuple(name for name, _ in PALETTE)

# Fixed colours of parts that do not take the body colour (linear RGB, converted from the sRGB given).
SCREEN = srgb_to_linear((0.05, 0.07, 0.11))  # switched-off display glass, bluish black
KEYBOARD = srgb_to_linear((0.12, 0.12, 0.13))
GLASS = srgb_to_linear((0.22, 0.32, 0.42))  # tinted vehicle glass
HEADLIGHT = srgb_to_linear((1.00, 0.97, 0.82))  # warm white lamp
TAILLIGHT = srgb_to_linear((0.80, 0.04, 0.04))  # red rear lamp
AMBER = srgb_to_linear((1.00, 0.65, 0.10))  # bus destination display / indicators
TYRE = srgb_to_linear((0.08, 0.08, 0.08))
METAL = srgb_to_linear((0.70, 0.70, 0.72))  # brushed steel / aluminium
DARK_METAL = srgb_to_linear((0.25, 0.25, 0.27))
SKIN = srgb_to_linear((0.87, 0.68, 0.55))
HAIR = srgb_to_linear((0.20, 0.13, 0.08))
TROUSERS = srgb_to_linear((0.20, 0.22, 0.30))
SHOE = srgb_to_linear((0.12, 0.10, 0.09))
LEAF = srgb_to_linear((0.20, 0.50, 0.15))
BARK = srgb_to_linear((0.40, 0.28, 0.18))
SOIL = srgb_to_linear((0.25, 0.18, 0.12))
SHEET = srgb_to_linear((0.94, 0.94, 0.92))  # bed linen, pillows
PAGES = srgb_to_linear((0.95, 0.93, 0.85))
COFFEE = srgb_to_linear((0.20, 0.10, 0.05))
LIGHT = srgb_to_linear((1.00, 0.92, 0.70))  # lamp bulb
REFLECTIVE_WHITE = srgb_to_linear((0.96, 0.96, 0.96))
# Book spines on shelves, cycled by index (muted cloth colours).
BOOK_COLOURS = tuple(
    srgb_to_linear(c)
    for c in (
        (0.60, 0.15, 0.12),
        (0.15, 0.25, 0.50),
        (0.85, 0.80, 0.65),
        (0.20, 0.40, 0.25),
        (0.75, 0.55, 0.20),
        (0.35, 0.20, 0.35),
    )
)

Colour = tuple[float, float, float]


@dataclass(frozen=True)
class Part:
    """One closed solid of an asset, in the object frame (metres).

    vertices (V, 3) float64; faces (F, 3) int64, counter-clockwise seen from outside.
    colour: fixed linear RGB, or None = painted with the body colour shifted by `tone`:
      tone < 0 darkens (rgb * (1 + tone)), tone > 0 lightens towards white (rgb + (1 - rgb) * tone);
      contrast=True ignores the sign of tone and goes away from the body: darker on light bodies
      (luminance > 0.35), lighter on dark ones (handles, door panels that must show on any colour).
    role: what the part is ("body", "screen", "windscreen", "headlight", "taillight", "wheel", "face",
      "hair", "door", "drawer", "handle", "book", "backrest", "seat_cushion", "leaf", ...). FRONT_ROLES
      sit on the +x side of the object, BACK_ROLES on the -x side.
    """

    vertices: np.ndarray
    faces: np.ndarray
    colour: Colour | None = None
    role: str = "body"
    tone: float = 0.0
    contrast: bool = False

    def __post_init__(self) -> None:
        v = np.asarray(self.vertices, dtype=np.float64)
        f = np.asarray(self.faces, dtype=np.int64)
        if v.ndim != 2 or v.shape[1] != 3 or not np.all(np.isfinite(v)):
            raise ValueError(f"Part.vertices must be finite (V, 3); got shape {v.shape}")
        if f.ndim != 2 or f.shape[1] != 3 or (f.size and (f.min() < 0 or f.max() >= len(v))):
            raise ValueError(f"Part.faces must be (F, 3) indices into vertices; got shape {f.shape}")
        if self.colour is not None:
            c = tuple(float(x) for x in self.colour)
            if len(c) != 3 or not all(0.0 <= x <= 1.0 for x in c):
                raise ValueError(f"Part.colour must be 3 floats in [0, 1] or None; got {self.colour}")
            object.__setattr__(self, "colour", c)
        if not -1.0 <= self.tone <= 1.0:
            raise ValueError(f"Part.tone must be in [-1, 1]; got {self.tone}")
        object.__setattr__(self, "vertices", v)
        object.__setattr__(self, "faces", f)


def luminance(rgb: Sequence[float]) -> float:
    """Relative luminance of a linear RGB colour (Rec. 709 weights)."""
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]


def part_colour(part: Part, body_rgb: Colour) -> Colour:
    """The linear RGB a part is drawn with on an object whose body colour is body_rgb."""
    if part.colour is not None:
        return part.colour
    tone = part.tone
    if part.contrast:
        tone = -abs(tone) if luminance(body_rgb) > 0.35 else abs(tone)
    body = np.asarray(body_rgb, dtype=float)
    rgb = body * (1.0 + tone) if tone < 0 else body + (1.0 - body) * tone
    rgb = np.clip(rgb, 0.0, 1.0)
    return (float(rgb[0]), float(rgb[1]), float(rgb[2]))


@dataclass(frozen=True)
class CategorySpec:
    """One object category of the synthetic world.

    size_min_m / size_max_m: (length x, width y, height z) ranges in metres (sample_size draws inside).
    has_front: equals sources.fronts.has_semantic_front(name) (checked at construction).
    front_cue: how the front shows in an image: "colour" (fixed-colour or toned parts on +x: screens,
      windscreens, lights, faces, doors, book spines), "shape" (geometry only: a chair's backrest at -x,
      a sofa's backrest and arms), "" for front-less categories.
    placement: "floor" (stands on the floor / ground) or "surface" (stands on a support's top face).
    supports: its top face can hold "surface" objects (tables, desks, cabinets, shelves, dressers).
    build: size (3,) m -> parts whose union's axis-aligned bounds are exactly [-size/2, +size/2].
    yaw_hint: one of YAW_HINTS.
    round_xy: x and y are one diameter (size_min/max agree on x and y; sample_size draws them equal).
    colours: palette names that suit the category as body colour (plausible and keep the front visible).
    """

    name: str
    setting: str
    size_min_m: tuple[float, float, float]
    size_max_m: tuple[float, float, float]
    has_front: bool
    placement: str
    supports: bool
    build: Callable[[np.ndarray], list[Part]]
    front_cue: str = ""
    yaw_hint: str = "free"
    round_xy: bool = False
    colours: tuple[str, ...] = field(default=PALETTE_NAMES)

    def __post_init__(self) -> None:
        where = f"category {self.name!r}"
        if self.setting not in SETTINGS:
            raise ValueError(f"{where}: setting must be one of {SETTINGS}; got {self.setting!r}")
        if self.placement not in PLACEMENTS:
            raise ValueError(f"{where}: placement must be one of {PLACEMENTS}; got {self.placement!r}")
        if self.yaw_hint not in YAW_HINTS:
            raise ValueError(f"{where}: yaw_hint must be one of {YAW_HINTS}; got {self.yaw_hint!r}")
        lo = np.asarray(self.size_min_m, dtype=float)
        hi = np.asarray(self.size_max_m, dtype=float)
        if lo.shape != (3,) or hi.shape != (3,) or not (np.all(lo > 0) and np.all(hi >= lo)):
            raise ValueError(f"{where}: need 0 < size_min_m <= size_max_m, 3 values each")
        if self.has_front != has_semantic_front(self.name):
            raise ValueError(f"{where}: has_front must equal sources.fronts.has_semantic_front")
        if self.has_front != (self.front_cue in ("colour", "shape")):
            raise ValueError(f"{where}: front_cue must be 'colour' or 'shape' exactly when has_front")
        if self.round_xy and (lo[0] != lo[1] or hi[0] != hi[1]):
            raise ValueError(f"{where}: round_xy needs equal x and y size ranges")
        unknown = set(self.colours) - set(PALETTE_NAMES)
        if not self.colours or unknown:
            raise ValueError(f"{where}: colours must be non-empty palette names; unknown {sorted(unknown)}")


# ----------------------------------------------------------------------------------------------- primitives
Vec3 = Sequence[float]


def _fit(vertices: np.ndarray, lo: Vec3, hi: Vec3) -> np.ndarray:
    """Map the vertices' own axis-aligned bounds onto [lo, hi] (positive per-axis scale keeps winding)."""
    lo_a = np.asarray(lo, dtype=float)
    hi_a = np.asarray(hi, dtype=float)
    if lo_a.shape != (3,) or hi_a.shape != (3,) or not np.all(hi_a - lo_a > 0):
        raise ValueError(f"part box needs lo < hi on every axis; got lo={lo_a}, hi={hi_a}")
    vmin = vertices.min(axis=0)
    vmax = vertices.max(axis=0)
    return lo_a + (vertices - vmin) * ((hi_a - lo_a) / (vmax - vmin))  # (V, 3) m, object frame


# Cyclic axis permutations (det +1, winding kept) taking a primitive's z axis onto x or y.
_AXIS_FROM_Z = {
    "z": np.eye(3),
    "x": np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]),  # new (x, y, z) = old (z, x, y)
    "y": np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]),  # new (x, y, z) = old (y, z, x)
}


@functools.lru_cache(maxsize=64)
def _unit(kind: str, param: int) -> tuple[np.ndarray, np.ndarray]:
    """Cached unit primitive (vertices (V, 3), faces (F, 3)), read-only: building one in trimesh costs
    ~0.1 ms, and a catalogue mesh uses 5-40 of them."""
    if kind == "box":
        mesh = trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    elif kind == "cylinder":
        mesh = trimesh.creation.cylinder(radius=0.5, height=1.0, sections=param)
    elif kind == "cone":
        mesh = trimesh.creation.cone(radius=0.5, height=1.0, sections=param)
    elif kind == "sphere":
        mesh = trimesh.creation.icosphere(subdivisions=param)
    else:
        raise ValueError(f"unknown primitive {kind!r}")
    v = np.array(mesh.vertices, dtype=float)
    f = np.array(mesh.faces, dtype=np.int64)
    v.flags.writeable = False
    f.flags.writeable = False
    return v, f


def _part(vertices: np.ndarray, faces: np.ndarray, lo: Vec3, hi: Vec3, axis: str, **style: object) -> Part:
    if axis not in _AXIS_FROM_Z:
        raise ValueError(f"axis must be 'x', 'y' or 'z'; got {axis!r}")
    v = vertices @ _AXIS_FROM_Z[axis].T  # (V, 3)
    return Part(_fit(v, lo, hi), faces, **style)  # type: ignore[arg-type]


def box(lo: Vec3, hi: Vec3, **style: object) -> Part:
    """Axis-aligned box filling [lo, hi] (12 triangles)."""
    return _part(*_unit("box", 0), lo, hi, "z", **style)


def cylinder(
    lo: Vec3, hi: Vec3, *, axis: str = "z", sections: int = 12, taper: float = 1.0, **style: object
) -> Part:
    """Cylinder (elliptic if the box is) filling [lo, hi] along `axis` (4 * sections triangles).

    taper: radius at the + end of the axis / radius at the - end (cups, pots, lamp shades); the wider
    end fills the box.
    """
    if not taper > 0:
        raise ValueError(f"taper must be > 0; got {taper}")
    unit_v, faces = _unit("cylinder", sections)
    v = unit_v.copy()  # (V, 3), z in [-0.5, 0.5]
    v[:, :2] *= 1.0 + (taper - 1.0) * (v[:, 2:3] + 0.5)  # radius scale grows linearly along z
    return _part(v, faces, lo, hi, axis, **style)


def cone(lo: Vec3, hi: Vec3, *, axis: str = "z", sections: int = 12, **style: object) -> Part:
    """Cone filling [lo, hi], apex at the + end of `axis` (2 * sections triangles)."""
    return _part(*_unit("cone", sections), lo, hi, axis, **style)


def sphere(lo: Vec3, hi: Vec3, *, subdivisions: int = 1, **style: object) -> Part:
    """Ellipsoid filling [lo, hi] (icosphere: 20 * 4**subdivisions triangles)."""
    return _part(*_unit("sphere", subdivisions), lo, hi, "z", **style)


def frustum(
    lo: Vec3, hi: Vec3, *, top_x: tuple[float, float], top_y: tuple[float, float], **style: object
) -> Part:
    """Six-faced solid: bottom rectangle [lo.x, hi.x] x [lo.y, hi.y] at lo.z, top rectangle top_x x top_y
    at hi.z (car cabins with raked windscreens, sloped covers). Top must lie inside the bottom's x/y range
    so the part stays inside [lo, hi]."""
    if not (lo[0] <= top_x[0] < top_x[1] <= hi[0] and lo[1] <= top_y[0] < top_y[1] <= hi[1]):
        raise ValueError(f"frustum top {top_x} x {top_y} must lie inside the bottom [{lo}, {hi}]")
    v, faces = _unit("box", 0)  # (8, 3) corners of the unit cube, 12 faces
    out = np.empty_like(v)
    for i, (x, y, z) in enumerate(v):
        top = z > 0
        xs = top_x if top else (lo[0], hi[0])
        ys = top_y if top else (lo[1], hi[1])
        out[i] = (xs[1] if x > 0 else xs[0], ys[1] if y > 0 else ys[0], hi[2] if top else lo[2])
    return Part(out, faces, **style)  # type: ignore[arg-type]


def rotated(part: Part, axis: str, angle_rad: float, pivot: Vec3) -> Part:
    """The part rotated by angle_rad (right-hand rule) about the object-frame `axis` through `pivot`."""
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    rot = {
        "x": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]),
        "y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
        "z": np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]),
    }[axis]
    p = np.asarray(pivot, dtype=float)
    v = (part.vertices - p) @ rot.T + p  # (V, 3) m, object frame
    return Part(v, part.faces, part.colour, part.role, part.tone, part.contrast)


def fit_parts(parts: list[Part], size: np.ndarray) -> list[Part]:
    """Scale and shift all parts together so their union's bounds are exactly [-size/2, +size/2].

    Builders lay parts out in the target size already; this removes the small residue of raked or
    protruding parts (a tilted backrest, glass standing 5 mm proud) so the object's 3D box is tight.
    """
    allv = np.concatenate([p.vertices for p in parts])  # (sum V, 3)
    vmin, vmax = allv.min(axis=0), allv.max(axis=0)
    scale = size / (vmax - vmin)  # (3,), positive: winding kept
    return [
        Part(-size / 2 + (p.vertices - vmin) * scale, p.faces, p.colour, p.role, p.tone, p.contrast)
        for p in parts
    ]


def check_size(size_m: object, name: str = "size_m") -> np.ndarray:
    """(3,) finite positive metres, else ValueError naming the argument."""
    s = np.asarray(size_m, dtype=float).reshape(-1) if np.ndim(size_m) else np.asarray([size_m], dtype=float)
    if s.shape != (3,) or not np.all(np.isfinite(s)) or not np.all(s > 0):
        raise ValueError(f"{name} must be 3 finite positive lengths in metres (x, y, z); got {size_m!r}")
    return s


def tight(builder: Callable[[np.ndarray], list[Part]]) -> Callable[[np.ndarray], list[Part]]:
    """Decorator for category builders: validates the size and makes the parts' union exactly tight."""

    @functools.wraps(builder)
    def build(size: np.ndarray) -> list[Part]:
        s = check_size(size, "size")
        return fit_parts(builder(s), s)

    return build
