"""Scene <-> plain dict (the JSONL line). Strict: missing, extra or mistyped fields raise RecordError
naming the field path (e.g. `objects[3].box.rotation`)."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from spatialforge.geometry.boxes import OrientedBox3D
from spatialforge.geometry.boxes2d import Box2D
from spatialforge.geometry.camera import PinholeCamera
from spatialforge.geometry.transforms import RigidTransform
from spatialforge.recordcodec import FieldReader, float_array, open_record
from spatialforge.scene.records import (
    SCHEMA_VERSION,
    AssetRef,
    Gravity,
    Object3D,
    ObjectObservation,
    Scene,
    View,
)

# ---------------------------------------------------------------- to dict


def _floats(a: np.ndarray) -> list:
    return np.asarray(a, dtype=float).tolist()


def _asset(a: AssetRef | None) -> dict | None:
    if a is None:
        return None
    return {"path": a.path, "kind": a.kind, "frame": a.frame, "scale_to_m": a.scale_to_m}


def _transform(t: RigidTransform) -> dict:
    return {"rotation": _floats(t.rotation), "translation": _floats(t.translation)}


def _box(b: OrientedBox3D) -> dict:
    return {"center_m": _floats(b.center), "rotation": _floats(b.rotation), "size_m": _floats(b.size)}


def scene_to_dict(scene: Scene) -> dict[str, Any]:
    return {
        "schema_version": scene.schema_version,
        "scene_id": scene.scene_id,
        "capture_id": scene.capture_id,
        "source": scene.source,
        "split": scene.split,
        "license": scene.license,
        "asset_root": scene.asset_root,
        "gravity": None
        if scene.gravity is None
        else {"down_world": list(scene.gravity.down_world), "source": scene.gravity.source},
        "point_cloud": _asset(scene.point_cloud),
        "mesh": _asset(scene.mesh),
        "metadata": scene.metadata,
        "views": [
            {
                "view_id": v.view_id,
                "image_path": v.image_path,
                "width": v.camera.width,
                "height": v.camera.height,
                "intrinsics": {"fx": v.camera.fx, "fy": v.camera.fy, "cx": v.camera.cx, "cy": v.camera.cy},
                "world_from_cam": _transform(v.world_from_cam),
                "depth": _asset(v.depth),
                "point_map": _asset(v.point_map),
                "timestamp_s": v.timestamp_s,
                "metadata": v.metadata,
            }
            for v in scene.views
        ],
        "objects": [
            {
                "object_id": o.object_id,
                "source_id": o.source_id,
                "category": o.category,
                "source_category": o.source_category,
                "box": _box(o.box),
                "has_front": o.has_front,
                "attributes": o.attributes,
                "observations": [
                    {
                        "view_id": ob.view_id,
                        "box2d": None if ob.box2d is None else ob.box2d.as_list(),
                        "box2d_kind": ob.box2d_kind,
                        "visibility": ob.visibility,
                        "truncation": ob.truncation,
                        "occlusion_level": ob.occlusion_level,
                        "behind_camera": ob.behind_camera,
                    }
                    for ob in o.observations
                ],
            }
            for o in scene.objects
        ],
    }


# ---------------------------------------------------------------- from dict


def _read_asset(r: FieldReader, key: str) -> AssetRef | None:
    a = r.child(key, optional=True)
    if a is None:
        return None
    ref = AssetRef(a.get("path", str), a.get("kind", str), a.get("frame", str, True), a.number("scale_to_m"))
    a.done()
    return ref


def _read_transform(r: FieldReader, key: str, dst: str, src: str) -> RigidTransform:
    t = r.child(key)
    assert t is not None
    out = RigidTransform(t.array("rotation", (3, 3)), t.array("translation", (3,)), dst, src)
    t.done()
    return out


def _read_box(r: FieldReader, key: str) -> OrientedBox3D:
    b = r.child(key)
    assert b is not None
    box = OrientedBox3D(b.array("center_m", (3,)), b.array("rotation", (3, 3)), b.array("size_m", (3,)))
    b.done()
    return box


def _read_view(v: FieldReader) -> View:
    view_id = v.get("view_id", str)
    intr = v.child("intrinsics")
    assert intr is not None
    width = v.get("width", int)
    height = v.get("height", int)
    camera = PinholeCamera(
        intr.number("fx"), intr.number("fy"), intr.number("cx"), intr.number("cy"), width, height
    )
    intr.done()
    view = View(
        view_id=view_id,
        image_path=v.get("image_path", str),
        camera=camera,
        world_from_cam=_read_transform(v, "world_from_cam", "world", f"cam:{view_id}"),
        depth=_read_asset(v, "depth"),
        point_map=_read_asset(v, "point_map"),
        timestamp_s=v.number("timestamp_s", optional=True),
        metadata=v.get("metadata", dict),
    )
    v.done()
    return view


def _read_observation(ob: FieldReader) -> ObjectObservation:
    raw_box = ob.get("box2d", list, optional=True)
    box2d = None
    if raw_box is not None:
        coords = ob.array("box2d", (4,))
        box2d = Box2D(*(float(c) for c in coords))
    occl = ob.get("occlusion_level", int, optional=True)
    out = ObjectObservation(
        view_id=ob.get("view_id", str),
        box2d=box2d,
        box2d_kind=ob.get("box2d_kind", str, optional=True),
        visibility=ob.number("visibility", optional=True),
        truncation=ob.number("truncation", optional=True),
        occlusion_level=occl,
        behind_camera=ob.get("behind_camera", bool),
    )
    ob.done()
    return out


def _read_object(o: FieldReader) -> Object3D:
    obj = Object3D(
        object_id=o.get("object_id", str),
        source_id=o.get("source_id", str),
        category=o.get("category", str),
        source_category=o.get("source_category", str, optional=True),
        box=_read_box(o, "box"),
        has_front=o.get("has_front", bool),
        attributes=o.get("attributes", dict),
        observations=tuple(_read_observation(ob) for ob in o.children("observations")),
    )
    o.done()
    return obj


# The keys of a well-formed object, box and observation (scene_to_dict's layout).
_OBJECT_KEY_ORDER = (
    "object_id",
    "source_id",
    "category",
    "source_category",
    "box",
    "has_front",
    "attributes",
    "observations",
)
_OBJECT_KEYS = frozenset(_OBJECT_KEY_ORDER)
_object_fields = operator.itemgetter(*_OBJECT_KEY_ORDER)  # dict -> its values in _OBJECT_KEY_ORDER
_BOX_KEYS = frozenset(("center_m", "rotation", "size_m"))
_OBSERVATION_KEYS = frozenset(
    ("view_id", "box2d", "box2d_kind", "visibility", "truncation", "occlusion_level", "behind_camera")
)


def _plain_array(raw: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    """FieldReader.array's conversion, or None where it would raise."""
    if type(raw) is not list:
        return None
    a = float_array(raw)
    return a if a is not None and a.shape == shape else None


def _optional_number(value: Any) -> bool:
    return value is None or (type(value) is float or type(value) is int)


def _plain_observation(d: Any) -> ObjectObservation | None:
    if type(d) is not dict or d.keys() != _OBSERVATION_KEYS:
        return None
    view_id, raw_box, kind = d["view_id"], d["box2d"], d["box2d_kind"]
    visibility, truncation, occlusion = d["visibility"], d["truncation"], d["occlusion_level"]
    behind = d["behind_camera"]
    if not (
        type(view_id) is str
        and (kind is None or type(kind) is str)
        and _optional_number(visibility)
        and _optional_number(truncation)
        and (occlusion is None or type(occlusion) is int)
        and type(behind) is bool
    ):
        return None
    box2d = None
    if raw_box is not None:
        coords = _plain_array(raw_box, (4,))
        if coords is None:
            return None
        box2d = Box2D(*coords.tolist())
    return ObjectObservation(
        view_id=view_id,
        box2d=box2d,
        box2d_kind=kind,
        visibility=None if visibility is None else float(visibility),
        truncation=None if truncation is None else float(truncation),
        occlusion_level=occlusion,
        behind_camera=behind,
    )


def _plain_object(d: Any) -> Object3D | None:
    """_read_object for the common case, without a FieldReader per field (the scene decode's main cost):
    exactly the schema's keys, every value of its exact JSON type. None when anything differs; the caller
    then reads the object through _read_object, which raises the error naming the field. Whatever this
    accepts, _read_object accepts and builds identically (tests/scene/test_codec.py)."""
    if type(d) is not dict or d.keys() != _OBJECT_KEYS:
        return None
    object_id, source_id, category, source_category, box, has_front, attributes, raw_observations = (
        _object_fields(d)
    )
    if not (
        type(object_id) is str
        and type(source_id) is str
        and type(category) is str
        and (source_category is None or type(source_category) is str)
        and type(box) is dict
        and box.keys() == _BOX_KEYS
        and type(has_front) is bool
        and type(attributes) is dict
        and type(raw_observations) is list
    ):
        return None
    center = _plain_array(box["center_m"], (3,))
    rotation = _plain_array(box["rotation"], (3, 3))
    size = _plain_array(box["size_m"], (3,))
    if center is None or rotation is None or size is None:
        return None
    observations = []
    for raw in raw_observations:
        observation = _plain_observation(raw)
        if observation is None:
            return None
        observations.append(observation)
    return Object3D(
        object_id=object_id,
        source_id=source_id,
        category=category,
        source_category=source_category,
        box=OrientedBox3D(center, rotation, size),
        has_front=has_front,
        attributes=attributes,
        observations=tuple(observations),
    )


def _read_objects(r: FieldReader) -> tuple[Object3D, ...]:
    """The scene's objects: each through _plain_object, else (to name the bad field) through _read_object."""
    raw_objects = r.get("objects", list)
    objects = [_plain_object(d) for d in raw_objects]
    if all(o is not None for o in objects):
        return tuple(objects)  # type: ignore[arg-type]
    return tuple(_read_object(o) for o in r.children("objects"))


def scene_from_dict(data: Any, record: str | None = None) -> Scene:
    """Parse one scene dict; raises RecordError naming the record and field on any problem."""
    r, scene_id = open_record(
        data, record, schema_name="scene schema", version=SCHEMA_VERSION, id_key="scene_id"
    )
    g = r.child("gravity", optional=True)
    gravity = None
    if g is not None:
        gravity = Gravity(tuple(float(x) for x in g.array("down_world", (3,))), g.get("source", str))
        g.done()
    scene = Scene(
        scene_id=scene_id,
        capture_id=r.get("capture_id", str),
        source=r.get("source", str),
        split=r.get("split", str, optional=True),
        license=r.get("license", str, optional=True),
        asset_root=r.get("asset_root", str),
        gravity=gravity,
        point_cloud=_read_asset(r, "point_cloud"),
        mesh=_read_asset(r, "mesh"),
        metadata=r.get("metadata", dict),
        views=tuple(_read_view(v) for v in r.children("views")),
        objects=_read_objects(r),
    )
    r.done()
    return scene
