"""SPAR-style JSONL: the record schema of SPAR-7M's released annotations (paper 003; the dataset's
`qa_jsonl/<split>/<type>/<select|fill|sentence>/*.jsonl` files and the loader that reads them,
zhangjiayi-ootd/SPARtest datasets/toy_dataset.py and datasets/draw_marker.py).

A record: {"id", "conversations": [{"from": "human", "value": <question>},
{"from": "gpt", "value": <answer>}], "image": [<path>, ...], "type": <task type>} plus its markers as SPAR
spells them, on the 0-1000 grid of the image (x / width * 1000, y / height * 1000, SPEC section 3):
    "<colour>_bbox": [[x0, y0, x1, y1]], "<colour>_point": [[x, y]],
    "bbox_img_idx": [[image index of each bbox]], "point_img_idx": [[image index of each point]]
with the index lists in SPAR's colour order red, blue, green, yellow (then purple, orange). SPAR's loader
draws the markers itself from these keys at load time (so images are referenced unmarked) and prepends one
`<image>` per image to the question when it has none (so none is written).

`type`: SPAR's task type where one of our tasks asks the same thing with the markers SPAR's drawing code for
that type reads (SPAR_TYPES; e.g. relative_direction with a red and a blue box is obj_spatial_relation_oo);
otherwise our task name, counted per task in the shard stats (extra["spar_type_unmatched"]), because SPAR's
loader would look up a drawing function by type and fail or draw the wrong marks. Provenance rides along as
extra keys (source, license, capture_id, scene_id, split, qa_id, format), which SPAR's loader ignores.

`finalize` lays the records out as SPAR does,
`spar/qa_jsonl/<split>/<type>/<format dir>/<format dir>_<n>.jsonl` (format dirs: sentence, fill,
select = mcq, judge = tf, free), and writes `spar/data.json`, the index SPAR's training code reads
({name: {root, annotation, repeat_time, length}}). repeat_time is 1.0 everywhere: the format mix (SPAR's
1.0 / 0.1 / 0.1 / 0.1, `generate --format-profile spar`) was already applied when the data was generated, and
applying it again would count it twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import orjson

from spatialforge.export.base import PARTIAL, ExportOptions, ShardStats, provenance, register
from spatialforge.export.groups import SceneGroup
from spatialforge.export.jsonl_parts import JsonlPartWriter, iter_parts

SPAR_COLOUR_ORDER = ("red", "blue", "green", "yellow", "purple", "orange")
SPAR_FORMAT_DIRS = {"sentence": "sentence", "fill": "fill", "mcq": "select", "tf": "judge", "free": "free"}
# Our task -> (SPAR type, the marker keys SPAR's draw function for that type reads), from SPAR's released
# datasets/draw_marker.py (draw_spatial_relation_oo is registered for obj_spatial_relation_oo).
SPAR_TYPES: dict[str, tuple[str, frozenset[str]]] = {
    "relative_direction": ("obj_spatial_relation_oo", frozenset({"red_bbox", "blue_bbox"})),
    "spatial_imagination_oc": ("spatial_imagination_oc", frozenset({"red_bbox", "blue_bbox", "green_bbox"})),
    "spatial_imagination_oo": (
        "spatial_imagination_oo",
        frozenset({"red_bbox", "blue_bbox", "green_bbox", "yellow_bbox"}),
    ),
    "object_distance_camera": ("distance_prediction_oc", frozenset({"red_point"})),
    "depth_oo": ("depth_prediction_oo", frozenset({"red_point", "blue_point", "green_point"})),
    "spatial_counting": ("obj_count", frozenset()),
}
SPAR_DIR = "qa_jsonl"
SPAR_INDEX = "data.json"
UNSPLIT = "unsplit"
_KIND_KEY = {"box": "bbox", "point": "point"}


def spar_markers(record: dict[str, Any]) -> dict[str, Any]:
    """The record's markers as SPAR keys (see the module docstring); a colour used twice for one kind
    cannot be spelled in SPAR's schema and raises ValueError."""
    out: dict[str, Any] = {}
    order: dict[str, list[tuple[int, int]]] = {"bbox": [], "point": []}
    for m in record["markers"]:
        kind = _KIND_KEY[m["kind"]]
        key = f"{m['colour']}_{kind}"
        if key in out:
            raise ValueError(f"record {record['id']}: two {m['colour']} {m['kind']} markers")
        out[key] = [[round(c) for c in m["geometry_norm"]]]
        rank = (
            SPAR_COLOUR_ORDER.index(m["colour"])
            if m["colour"] in SPAR_COLOUR_ORDER
            else len(SPAR_COLOUR_ORDER)
        )
        order[kind].append((rank, m["image_index"]))
    for kind, items in order.items():
        if items:
            out[f"{kind}_img_idx"] = [[index for _, index in sorted(items)]]
    return out


def spar_type(task: str, markers: dict[str, Any]) -> str | None:
    """SPAR's type for a record of `task` with these SPAR marker keys, or None when there is none."""
    entry = SPAR_TYPES.get(task)
    if entry is None:
        return None
    keys = frozenset(k for k in markers if k.endswith(("_bbox", "_point")))
    return entry[0] if keys == entry[1] else None


def spar_record(record: dict[str, Any], image_refs: list[str], type_: str) -> dict[str, Any]:
    return {
        "id": record["id"],
        "conversations": [
            {"from": "human", "value": record["question"]},
            {"from": "gpt", "value": record["answer"]},
        ],
        "image": image_refs,
        "type": type_,
        **spar_markers(record),
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


@register
class SparWriter(JsonlPartWriter):
    name = "spar"

    def add(self, group: SceneGroup) -> None:
        for record in group.records:
            if not self.keep(record):
                continue
            markers = spar_markers(record)
            type_ = spar_type(record["task"], markers)
            if type_ is None:
                unmatched = self.stats.extra.setdefault("spar_type_unmatched", {})
                unmatched[record["task"]] = unmatched.get(record["task"], 0) + 1
                type_ = record["task"]
            refs = [self.ctx.image_ref(self.ctx.media.image_path(im["view_id"])) for im in record["images"]]
            self.write(spar_record(record, refs, type_))

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
