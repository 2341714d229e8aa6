"""SPAR-style JSONL: the record schema of SPAR-7M's released annotations (paper 003; the dataset's
`qa_jsonl/<split>/<type>/<select|fill|sentence>/*.jsonl` files and the loader that reads them,
zhangjiayi-ootd/SPARtest datasets/toy_dataset.py and datasets/draw_marker.py).

A record: {"id", "conversations": [{"from": "human", "value": <question>},
{"from": "gpt", "value": <answer>}], "image": [<path>, ...], "type": <task type>} plus its markers as SPAR
spells them, on the 0-1000 grid of the image (x / width * 1000, y / height * 1000, SPEC section 3):
    "<colour>_bbox": [[x0, y0, x1, y1]], "<colour>_point": [[x, y]],
    "bbox_img_idx": [[image index of each bbox]], "point_img_idx": [[image index of each point]]
SPAR's loader draws the markers itself from these keys at load time (so images are referenced unmarked, in
the record's order, images[0] the main view) and prepends one `<image>` line per image to the question when
it has none (so none is written).

How SPAR's loader reads a record (toy_dataset.py `__getitem__`): one image -> `multi_modal_get_item`, which
hands the type's draw function that one image; 2 to 10 images -> `multi_modal_multi_image_get_item`, which
hands it the list (more than 10: its video path, also the list); the draw function is looked up by `type`
(an unknown type raises "Unsupported data type"). Each multi-view draw function reads the index list in its
own key order - e.g. spatial_imagination_oc_mv draws green_bbox on images[idx[0]], blue_bbox on
images[idx[1]], red_bbox on images[idx[2]]; distance_infer_center_oo_mv reads red, green, blue - so the index
lists are written in the order of the record's SPAR type (SparLayout.keys, transcribed from draw_marker.py),
and in SPAR's colour order red, blue, green, yellow (then purple, orange) for a record without a SPAR type.

`type`: SPAR's task type where one of our tasks asks the same thing with the markers SPAR's draw function for
that type reads, on the images it draws them on (SPAR_LAYOUTS; e.g. relative_direction_mv with a red box in
one image and a blue one in another is obj_spatial_relation_oo_mv). Otherwise the record keeps our task name,
counted per task in the shard stats (extra["spar_type_unmatched"]): a SPAR type with other markers would make
SPAR's loader fail (a key it reads is missing) or, worse, show a picture without the marks the question
names (a draw function that draws nothing, or draws on another image). Where our task name is itself one of
SPAR's types (appearance_order, position_matching, ...; SPAR_TYPE_NAMES) such a record is typed
`spatialforge_<task>` instead, so SPAR's loader refuses it rather than drawing it as SPAR's type. Provenance
rides along as extra keys (source, license, capture_id, scene_id, split, qa_id, view_ids, format), which
SPAR's loader ignores.

`finalize` lays the records out as SPAR does,
`spar/qa_jsonl/<split>/<type>/<format dir>/<format dir>_<n>.jsonl` (format dirs: sentence, fill,
select = mcq, judge = tf, free), and writes `spar/data.json`, the index SPAR's training code reads
({name: {root, annotation, repeat_time, length}}). repeat_time is 1.0 everywhere: the format mix (SPAR's
1.0 / 0.1 / 0.1 / 0.1, `generate --format-profile spar`) was already applied when the data was generated, and
applying it again would count it twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from itertools import combinations
from pathlib import Path
from typing import IO, Any, NamedTuple

import orjson

from spatialforge.export.base import PARTIAL, ExportOptions, ShardStats, provenance, register
from spatialforge.export.groups import SceneGroup
from spatialforge.export.jsonl_parts import JsonlPartWriter, iter_parts

SPAR_COLOUR_ORDER = ("red", "blue", "green", "yellow", "purple", "orange")
SPAR_FORMAT_DIRS = {"sentence": "sentence", "fill": "fill", "mcq": "select", "tf": "judge", "free": "free"}
SPAR_DIR = "qa_jsonl"
SPAR_INDEX = "data.json"
UNSPLIT = "unsplit"
_KIND_KEY = {"box": "bbox", "point": "point"}
# Every type SPAR's released loader has a draw function for (draw_marker.py DRAW_FUNCTIONS).
SPAR_TYPE_NAMES = frozenset(
    {
        # single view
        "obj_spatial_relation_oo", "depth_prediction_oc", "depth_prediction_oo", "distance_prediction_oc",
        "distance_prediction_oo", "distance_infer_center_oc", "distance_infer_center_oo",
        "spatial_volume_infer", "spatial_imagination_oc", "spatial_imagination_oo",
        # multi view
        "position_matching", "view_change_infer", "depth_prediction_oc_mv", "depth_prediction_oo_mv",
        "distance_prediction_oc_mv", "distance_prediction_oo_mv", "obj_spatial_relation_oc_mv",
        "obj_spatial_relation_oo_mv", "distance_infer_center_oc_mv", "distance_infer_center_oo_mv",
        "spatial_imagination_oc_mv", "spatial_imagination_oo_mv", "spatial_imagination_map_mv",
        "camera_motion_infer",
        # video
        "distance_prediction_oo_video", "distance_infer_center_oo_video", "spatial_imagination_oo_video",
        "spatial_imagination_oc_video", "spatial_imagination_oc_video_hard",
        "spatial_imagination_oo_video_hard", "obj_frame_locate", "appearance_order", "room_size", "obj_count",
        "nav",
    }
)  # fmt: skip
# Type given to a record whose task name is one of SPAR's types but whose markers are not that type's.
OWN_TYPE_PREFIX = "spatialforge_"

# SparLayout.images: which of SPAR's loader paths the type's draw function works on.
SINGLE, MULTI, ANY = "single", "multi", "any"
# SparLayout.placement: where the draw function puts each key.
INDEXED, FIRST_IMAGE, SAME_IMAGE = "indexed", "first_image", "same_image"


class SparLayout(NamedTuple):
    """How SPAR's released draw function for one type reads a record's markers (datasets/draw_marker.py).

    type: SPAR's task type; keys: the marker keys it draws, in the order it reads the image index list
    (`bbox_img_idx` / `point_img_idx`), () when it draws nothing; images: SINGLE - exactly one image (the
    loader's single-image path hands the draw function one image; a list would break it), MULTI - two or
    more (it gets the list and indexes it), ANY - draws nothing, either path; placement: INDEXED - key k on
    images[index[k]]; FIRST_IMAGE - every key on images[0], the index list not read (position_matching);
    SAME_IMAGE - every key on images[index[0]] (obj_spatial_relation_oc_mv)."""

    type: str
    keys: tuple[str, ...]
    images: str
    placement: str = INDEXED


def _bboxes(*colours: str) -> tuple[str, ...]:
    return tuple(f"{c}_bbox" for c in colours)


def _points(*colours: str) -> tuple[str, ...]:
    return tuple(f"{c}_point" for c in colours)


def _subsets(colours: Sequence[str], sizes: Sequence[int]) -> list[tuple[str, ...]]:
    """The subsets of `colours` of the given sizes, each in the order of `colours`."""
    return [subset for n in sizes for subset in combinations(colours, n)]


# Our task -> the layouts that give it SPAR's type (first match wins). Transcribed from SPAR's released
# draw_marker.py, one line per draw function:
SPAR_LAYOUTS: dict[str, tuple[SparLayout, ...]] = {
    # ---- single view: the draw function gets one image and draws every key on it
    # draw_spatial_relation_oo: red_bbox, blue_bbox
    "relative_direction": (SparLayout("obj_spatial_relation_oo", _bboxes("red", "blue"), SINGLE),),
    # draw_spatial_imagination_oc: red, blue, green bbox
    "spatial_imagination_oc": (
        SparLayout("spatial_imagination_oc", _bboxes("red", "blue", "green"), SINGLE),
    ),
    # draw_spatial_imagination_oo: red, blue, green, yellow bbox
    "spatial_imagination_oo": (
        SparLayout("spatial_imagination_oo", _bboxes("red", "blue", "green", "yellow"), SINGLE),
    ),
    # draw_distance_prediction_oc: red_point
    "object_distance_camera": (SparLayout("distance_prediction_oc", _points("red"), SINGLE),),
    # draw_depth_prediction_oo: red, blue, green point
    "depth_oo": (SparLayout("depth_prediction_oo", _points("red", "blue", "green"), SINGLE),),
    # draw_obj_count: nothing
    "spatial_counting": (SparLayout("obj_count", (), ANY),),
    # ---- multi view: the draw function gets the image list
    # draw_depth_prediction_oc_mv: red_point on idx[0], blue_point on idx[1]
    "object_depth_mv": (SparLayout("depth_prediction_oc_mv", _points("red", "blue"), MULTI),),
    # draw_depth_prediction_oo_mv: red, blue, green point on idx[0], idx[1], idx[2]
    "depth_oo_mv": (SparLayout("depth_prediction_oo_mv", _points("red", "blue", "green"), MULTI),),
    # draw_distance_prediction_oc_mv: red_point on idx[0]
    "object_distance_camera_mv": (SparLayout("distance_prediction_oc_mv", _points("red"), MULTI),),
    # draw_distance_prediction_oo_mv: red_point on idx[0], blue_point on idx[1]
    "relative_distance_mv": (SparLayout("distance_prediction_oo_mv", _points("red", "blue"), MULTI),),
    # draw_distance_infer_center_oo_mv: red on idx[0], GREEN on idx[1], BLUE on idx[2] (points)
    "closer_of_two_mv": (SparLayout("distance_infer_center_oo_mv", _points("red", "green", "blue"), MULTI),),
    # draw_obj_spatial_relation_oo_mv: two of red / blue / green bbox (the missing one decides), the first
    # in that order on idx[0], the second on idx[1]
    "relative_direction_mv": tuple(
        SparLayout("obj_spatial_relation_oo_mv", _bboxes(*pair), MULTI)
        for pair in _subsets(("red", "blue", "green"), (2,))
    ),
    # draw_obj_spatial_relation_oc_mv: whichever of red / blue / green bbox are present, all on idx[0]
    "object_relation_oc_mv": tuple(
        SparLayout("obj_spatial_relation_oc_mv", _bboxes(*subset), MULTI, SAME_IMAGE)
        for subset in _subsets(("red", "blue", "green"), (1, 2, 3))
    ),
    # draw_spatial_imagination_oc_mv: GREEN on idx[0], BLUE on idx[1], RED on idx[2] (bbox)
    "spatial_imagination_oc_mv": (
        SparLayout("spatial_imagination_oc_mv", _bboxes("green", "blue", "red"), MULTI),
    ),
    # draw_spatial_imagination_oo_mv: green, blue, red, yellow bbox on idx[0..3]
    "spatial_imagination_oo_mv": (
        SparLayout("spatial_imagination_oo_mv", _bboxes("green", "blue", "red", "yellow"), MULTI),
    ),
    # draw_position_matching: red_bbox on images[0] (the index list is not read)
    "position_matching": (SparLayout("position_matching", _bboxes("red"), MULTI, FIRST_IMAGE),),
    # draw_obj_frame_locate: red_bbox on idx[0]
    "obj_frame_locate": (SparLayout("obj_frame_locate", _bboxes("red"), MULTI),),
    # draw_camera_motion_infer, draw_view_change_infer, draw_appearance_order, draw_obj_count,
    # draw_room_size: nothing
    "camera_motion_infer": (SparLayout("camera_motion_infer", (), ANY),),
    "view_change_infer": (SparLayout("view_change_infer", (), ANY),),
    "appearance_order": (SparLayout("appearance_order", (), ANY),),
    "obj_count": (SparLayout("obj_count", (), ANY),),
    "room_size": (SparLayout("room_size", (), ANY),),
}


# SPAR type -> its layouts (the inverse of SPAR_LAYOUTS).
SPAR_LAYOUTS_BY_TYPE: dict[str, tuple[SparLayout, ...]] = {}
for _layouts in SPAR_LAYOUTS.values():
    for _layout in _layouts:
        SPAR_LAYOUTS_BY_TYPE.setdefault(_layout.type, ())
        if _layout not in SPAR_LAYOUTS_BY_TYPE[_layout.type]:
            SPAR_LAYOUTS_BY_TYPE[_layout.type] += (_layout,)


def _colour_rank(key: str) -> tuple[int, str]:
    colour = key.rsplit("_", 1)[0]
    rank = SPAR_COLOUR_ORDER.index(colour) if colour in SPAR_COLOUR_ORDER else len(SPAR_COLOUR_ORDER)
    return rank, colour


def marker_images(record: dict[str, Any]) -> dict[str, int]:
    """SPAR marker key ("red_bbox", "blue_point") -> the image index it is on, for each of the record's
    markers; a colour used twice for one kind cannot be spelled in SPAR's schema and raises ValueError."""
    out: dict[str, int] = {}
    for m in record["markers"]:
        key = f"{m['colour']}_{_KIND_KEY[m['kind']]}"
        if key in out:
            raise ValueError(f"record {record['id']}: two {m['colour']} {m['kind']} markers")
        out[key] = m["image_index"]
    return out


def spar_markers(record: dict[str, Any], order: Sequence[str] = ()) -> dict[str, Any]:
    """The record's markers as SPAR keys (see the module docstring). `order`: the keys in the order the
    index lists are written (a SparLayout's keys); keys it does not name follow in SPAR's colour order."""
    placed = marker_images(record)
    out: dict[str, Any] = {}
    for m in record["markers"]:
        out[f"{m['colour']}_{_KIND_KEY[m['kind']]}"] = [[round(c) for c in m["geometry_norm"]]]
    ranked = [k for k in order if k in placed] + sorted(
        (k for k in placed if k not in order), key=_colour_rank
    )
    for kind in ("bbox", "point"):
        indices = [placed[k] for k in ranked if k.endswith(f"_{kind}")]
        if indices:
            out[f"{kind}_img_idx"] = [indices]
    return out


def layout_fits(layout: SparLayout, placed: Mapping[str, int], n_images: int) -> bool:
    """Whether SPAR's draw function for layout.type, given a record with these markers (key -> image index)
    and n_images images, draws exactly the record's markers on the images they are on."""
    if set(layout.keys) != set(placed):
        return False
    if layout.images == SINGLE and n_images != 1:
        return False
    if layout.images == MULTI and n_images < 2:
        return False
    if layout.placement == FIRST_IMAGE and any(placed[k] != 0 for k in layout.keys):
        return False
    return not (layout.placement == SAME_IMAGE and len({placed[k] for k in layout.keys}) > 1)


def spar_layout(task: str, placed: Mapping[str, int], n_images: int) -> SparLayout | None:
    """The SPAR layout a record of `task` with these markers and image count fits, or None."""
    for layout in SPAR_LAYOUTS.get(task, ()):
        if layout_fits(layout, placed, n_images):
            return layout
    return None


def _placed_from_keys(markers: Mapping[str, Any]) -> dict[str, int]:
    """key -> image index from SPAR keys whose index lists are in SPAR's colour order (spar_markers
    without an order); a missing index list reads as image 0."""
    placed: dict[str, int] = {}
    for kind in ("bbox", "point"):
        keys = sorted((k for k in markers if k.endswith(f"_{kind}")), key=_colour_rank)
        indices = markers.get(f"{kind}_img_idx", [[0] * len(keys)])[0]
        placed.update(zip(keys, indices, strict=True))
    return placed


def spar_type(task: str, markers: Mapping[str, Any], n_images: int | None = None) -> str | None:
    """SPAR's type for a record of `task` with these SPAR marker keys (spar_markers, colour order) and
    n_images images (None: the image count is not checked), or None when there is none."""
    placed = _placed_from_keys(markers)
    for layout in SPAR_LAYOUTS.get(task, ()):
        count = n_images
        if count is None:  # any count the layout's loader path takes
            count = 1 if layout.images == SINGLE else 2
        if layout_fits(layout, placed, count):
            return layout.type
    return None


def own_type(task: str, placed: Mapping[str, int], n_images: int) -> str:
    """The type of a record without a SPAR type: its task name, or `spatialforge_<task>` where that name is
    one of SPAR's types whose draw function would run on the record without error yet show another picture
    than the question names (markers it does not draw, or draws on another image). Where the draw function
    would fail (a key it reads is missing) the task name is kept: SPAR's loader stops there, loudly."""
    if task not in SPAR_TYPE_NAMES:
        return task
    layouts = SPAR_LAYOUTS_BY_TYPE.get(task)
    if layouts is None:  # a SPAR draw function not transcribed here: never risk it
        return f"{OWN_TYPE_PREFIX}{task}"
    for layout in layouts:
        path_ok = not (layout.images == SINGLE and n_images != 1) and not (
            layout.images == MULTI and n_images < 2
        )
        if path_ok and set(layout.keys) <= set(placed):
            return f"{OWN_TYPE_PREFIX}{task}"
    return task


def spar_record(
    record: dict[str, Any], image_refs: list[str], type_: str, order: Sequence[str] = ()
) -> dict[str, Any]:
    return {
        "id": record["id"],
        "conversations": [
            {"from": "human", "value": record["question"]},
            {"from": "gpt", "value": record["answer"]},
        ],
        "image": image_refs,
        "type": type_,
        **spar_markers(record, order),
        **provenance(record),
        "format": record["format"],
    }


# The schema a SPAR record must satisfy (what SPAR's loader reads), checked by validate_spar_record.
def validate_spar_record(data: Any) -> list[str]:
    """Problems of one SPAR-style record against SPAR's released schema (empty list: valid)."""
    problems = []
    if not isinstance(data, dict):
        return ["record is not an object"]
    if not isinstance(data.get("id"), str):
        problems.append("id: missing or not a string")
    conv = data.get("conversations")
    if not (
        isinstance(conv, list)
        and len(conv) == 2
        and [c.get("from") for c in conv if isinstance(c, dict)] == ["human", "gpt"]
        and all(isinstance(c.get("value"), str) and c["value"] for c in conv)
    ):
        problems.append("conversations: must be [human, gpt] turns with non-empty string values")
    image = data.get("image")
    if not (isinstance(image, list) and image and all(isinstance(p, str) and p for p in image)):
        problems.append("image: must be a non-empty list of paths")
    if not isinstance(data.get("type"), str) or not data.get("type"):
        problems.append("type: missing")
    n_images = len(image) if isinstance(image, list) else 0
    for key, value in data.items():
        if key.endswith("_bbox") or key.endswith("_point"):
            n = 4 if key.endswith("_bbox") else 2
            if not (
                isinstance(value, list)
                and len(value) == 1
                and isinstance(value[0], list)
                and len(value[0]) == n
                and all(isinstance(c, (int, float)) and 0 <= c <= 1000 for c in value[0])
            ):
                problems.append(f"{key}: must be [[{n} numbers in 0..1000]]")
        if key in ("bbox_img_idx", "point_img_idx"):
            kind = key.split("_")[0]
            count = sum(1 for k in data if k.endswith(f"_{kind}"))
            if not (
                isinstance(value, list)
                and len(value) == 1
                and isinstance(value[0], list)
                and len(value[0]) == count
                and all(isinstance(i, int) and 0 <= i < n_images for i in value[0])
            ):
                problems.append(f"{key}: must be [[one image index per {kind}]]")
    return problems


def spar_drawing_problems(data: dict[str, Any]) -> list[str]:
    """Problems SPAR's loader would have drawing a (schema-valid) record of a type in SPAR_LAYOUTS: a key its
    draw function reads is missing, a marker it would not draw, an image count on the wrong loader path, or a
    marker on another image than the one it draws it on. Empty for a record it draws as the record says,
    and for types outside SPAR_LAYOUTS (not checked)."""
    layouts = SPAR_LAYOUTS_BY_TYPE.get(data["type"])
    if layouts is None:
        return []
    keys = {k for k in data if k.endswith(("_bbox", "_point"))}
    n_images = len(data["image"])
    for layout in layouts:
        if set(layout.keys) != keys:
            continue
        placed: dict[str, int] = {}
        for kind in ("bbox", "point"):
            ordered = [k for k in layout.keys if k.endswith(f"_{kind}")]
            indices = data.get(f"{kind}_img_idx", [[]])[0]
            if len(indices) != len(ordered):
                return [f"{kind}_img_idx: must name one image per {kind} ({len(ordered)})"]
            placed.update(zip(ordered, indices, strict=True))
        if layout_fits(layout, placed, n_images):
            return []
        return [f"type {data['type']}: markers {placed} on {n_images} image(s) are not drawn where they are"]
    expected = " or ".join(str(sorted(layout.keys)) for layout in layouts)
    return [f"type {data['type']}: SPAR draws {expected}, the record has {sorted(keys)}"]


@register
class SparWriter(JsonlPartWriter):
    name = "spar"

    def add(self, group: SceneGroup) -> None:
        for record in group.records:
            if not self.keep(record):
                continue
            placed = marker_images(record)
            layout = spar_layout(record["task"], placed, len(record["images"]))
            if layout is None:
                unmatched = self.stats.extra.setdefault("spar_type_unmatched", {})
                unmatched[record["task"]] = unmatched.get(record["task"], 0) + 1
                type_, order = own_type(record["task"], placed, len(record["images"])), ()
            else:
                type_, order = layout.type, layout.keys
            refs = [self.ctx.image_ref(self.ctx.media.image_path(im["view_id"])) for im in record["images"]]
            self.write(spar_record(record, refs, type_, order))

    @classmethod
    def finalize(
        cls, output_dir: Path, options: ExportOptions, shards: Sequence[ShardStats]
    ) -> dict[str, Any]:
        root = output_dir / cls.name
        handles: dict[tuple[str, str, str], IO[bytes]] = {}
        counts: Counter[tuple[str, str, str]] = Counter()
        try:
            for line in iter_parts(output_dir, shards):
                data = orjson.loads(line)
                key = (data["split"] or UNSPLIT, data["type"], SPAR_FORMAT_DIRS[data["format"]])
                if key not in handles:
                    folder = root / SPAR_DIR / key[0] / key[1] / key[2]
                    folder.mkdir(parents=True, exist_ok=True)
                    handles[key] = open(folder / f"{key[2]}{PARTIAL}", "wb")
                handles[key].write(line if line.endswith(b"\n") else line + b"\n")
                counts[key] += 1
        finally:
            for fh in handles.values():
                fh.close()
        index = {}
        for key in sorted(counts):
            split, type_, fmt_dir = key
            folder = root / SPAR_DIR / split / type_ / fmt_dir
            for old in folder.glob(f"{fmt_dir}_*.jsonl"):  # a previous finalize of a smaller run
                old.unlink()
            final = folder / f"{fmt_dir}_{counts[key]}.jsonl"
            (folder / f"{fmt_dir}{PARTIAL}").replace(final)
            index[f"{split}_{type_}_{fmt_dir}"] = {
                "root": options.image_root or "/",
                "annotation": final.relative_to(output_dir).as_posix(),
                "repeat_time": 1.0,
                "length": counts[key],
            }
        (root / SPAR_INDEX).write_bytes(orjson.dumps(index, option=orjson.OPT_INDENT_2) + b"\n")
        return {"index": f"{cls.name}/{SPAR_INDEX}", "files": len(index), "samples": sum(counts.values())}
