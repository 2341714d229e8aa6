"""WebDataset tar shards: one sample per image list of a scene, carrying every QA record about it.

HiSpatial trains from WebDataset tars (microsoft/HiSpatial hispatial/data/vqa_dataset.py,
`build_vqa_wds_pipeline`: per sample an image `jpg`, a 16-bit log depth `png`, intrinsics and a QA list), so
this writer keeps its image and depth encodings and spells the rest as JSON (no pickles):

    <key>.jpg          the resized image (MediaCache.jpeg; longer side <= options.max_side)
    <key>.depth.png    16-bit log depth with "near"/"far" text chunks (media.encode_depth_png = the inverse of
                       HiSpatial's `read_depth`): geometry "depth" or "both", and only if the view has depth
    <key>.points.npy   float16 (h, w, 3) camera-frame point map in metres (x right, y down, z forward),
                       np.save without pickle: geometry "points" or "both", and only if the view has depth
    <key>.json         {"key", "scene_id", "capture_id", "source", "license", "split",
                        "views": [{"view_id", "image", "intrinsics", "size", "original_size",
                                   "depth", "points"}],
                        "qa": [the QA records of this image list, unchanged]}

A multi-image sample numbers its files by image position: `<key>.0.jpg`, `<key>.0.depth.png`, `<key>.1.jpg`,
...; "views" lists them in the records' image order and names each file by its WebDataset field (the part
after the key: "jpg" or "0.jpg"), null where a view has no depth. Intrinsics are media.intrinsics_dict() of
the resized image (pixels, pixel centres at integer coordinates). The image is not marked: a record that
names an object or pixel by a drawn marker carries the marker (geometry_norm on SPAR's 0-1000 grid, which
holds for any size; geometry_px in pixels of `original_size`), for the loader to draw - as HiSpatial's
loader draws its referring boxes at load time - since one image serves records with different markers.

Keys (`sample_key`): WebDataset cuts a member name at the first dot of its base name and treats "/" as a
folder, so a key is the scene id and view ids joined by "_" with every character outside [A-Za-z0-9_-]
replaced by "_", then "_" and the blake2b (4 bytes, hex) of the JSON list [scene_id, *view_ids]. The hash is
of the exact ids, so two image lists whose readable parts sanitise alike ("a/b" and "a_b") still get
different keys, also under a loader that lower-cases keys (the hash is lower-case hex).

Tars: `webdataset/shard-<shard 5 digits>-<part 4 digits>.tar`, a new part after options.samples_per_tar
samples; written with the stdlib tarfile in PAX format (plain USTAR headers unless a name needs more) with
fixed member metadata (mode 0o644, mtime 0, uid/gid 0, empty user/group names), so the same groups and options
give the same bytes. The files of a sample are contiguous (WebDataset groups consecutive members by key) and
all of a sample's bytes are made before any is written, so a sample that fails is absent, never half there.

Bad input: a sample whose image or depth cannot be read (media's RecordError: unreadable_image, wrong_shape,
missing_file, ...) or that names a view the scene lacks (unknown_view) is left out; its records are counted
under that reason in stats.skipped and the shard goes on. A view without a depth asset is not an error: it
gets no geometry files and "depth"/"points" null, counted in stats.extra["no_depth"] (per view).
`finalize` writes `webdataset/index.json`: the tars (sorted) with their sample counts, the totals, and a
brace pattern for webdataset/braceexpand when the tar names form a regular grid (else null: use the list).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from spatialforge.errors import RecordError
from spatialforge.export.base import ExportOptions, ShardContext, ShardStats, ShardWriter, register
from spatialforge.export.groups import SceneGroup, by_images
from spatialforge.export.media import intrinsics_dict
from spatialforge.jsonl import encode_line
from spatialforge.scene.records import Scene

WDS_DIR = "webdataset"
INDEX_NAME = "index.json"
KEY_HASH_BYTES = 4
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_TAR_NAME = re.compile(r"^shard-(\d{5})-(\d{4})\.tar$")
# float16 keeps a point map at half the bytes of float32: relative error <= 2^-11 (0.05 %, 5 mm at 10 m),
# finite up to 65504 m.
POINTS_DTYPE = np.float16
MEMBER_MODE = 0o644
GEOMETRY_DEPTH = ("depth", "both")
GEOMETRY_POINTS = ("points", "both")

# stats.skipped reason of a record whose image list names a view the scene does not have.
UNKNOWN_VIEW = "unknown_view"
# stats.skipped reason of a second sample with the key of one already in this shard (a scene fed twice).
DUPLICATE_SAMPLE = "duplicate_sample"


def sample_key(scene_id: str, view_ids: Sequence[str]) -> str:
    """The WebDataset key of the sample of `view_ids` in scene `scene_id` (module docstring: no dots)."""
    readable = _KEY_UNSAFE.sub("_", "_".join([scene_id, *view_ids]))
    exact = json.dumps([scene_id, *view_ids], ensure_ascii=False).encode("utf-8")
    return f"{readable}_{hashlib.blake2b(exact, digest_size=KEY_HASH_BYTES).hexdigest()}"


def tar_name(shard: int, part: int) -> str:
    return f"shard-{shard:05d}-{part:04d}.tar"


def view_prefix(index: int, n_views: int) -> str:
    """The field prefix of image `index`: none for a single image, "<index>." in a multi-image sample."""
    return "" if n_views == 1 else f"{index}."


def npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def member_info(name: str, size: int) -> tarfile.TarInfo:
    """A regular-file tar header with fixed metadata (no time, owner or host leaks into the bytes)."""
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = MEMBER_MODE
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.type = tarfile.REGTYPE
    return info


class Sample(NamedTuple):
    """One sample ready to write: its key, (field, bytes) in write order, views written without depth."""

    key: str
    files: tuple[tuple[str, bytes], ...]
    no_depth: int


@register
class WebDatasetWriter(ShardWriter):
    name = "webdataset"

    def __init__(self, ctx: ShardContext) -> None:
        super().__init__(ctx)
        self._tar: tarfile.TarFile | None = None
        self._parts: list[Path] = []  # final paths of this shard's tars, in part order
        self._part_samples: list[int] = []  # samples in each part
        self._keys: set[str] = set()
        self.stats.extra.update({"tars": 0, "no_depth": 0, "skipped_samples": 0, "tar_samples": {}})

    # ------------------------------------------------------------------ building a sample

    def add(self, group: SceneGroup) -> None:
        for view_ids, records in by_images(group.records).items():
            kept = [r for r in records if self.keep(r)]
            if not kept:
                continue
            try:
                sample = self._sample(group.scene, view_ids, kept)
            except RecordError as err:
                self._skip(err.reason, len(kept))
                continue
            if sample.key in self._keys:
                self._skip(DUPLICATE_SAMPLE, len(kept))
                continue
            self._write(sample)
            self._keys.add(sample.key)
            self.stats.samples += 1
            self.stats.records += len(kept)
            self.stats.extra["no_depth"] += sample.no_depth

    def _skip(self, reason: str, n_records: int) -> None:
        self.stats.skipped[reason] += n_records
        self.stats.extra["skipped_samples"] += 1

    def _sample(self, scene: Scene, view_ids: tuple[str, ...], records: list[dict[str, Any]]) -> Sample:
        """Every file of one sample, or the RecordError of the first view that cannot be exported."""
        known = {v.view_id for v in scene.views}
        missing = [v for v in view_ids if v not in known]
        if missing:
            raise RecordError(
                UNKNOWN_VIEW,
                f"QA records name views {missing} that the scene does not have",
                record=scene.scene_id,
                field="images[].view_id",
            )
        key = sample_key(scene.scene_id, view_ids)
        files: list[tuple[str, bytes]] = []
        views: list[dict[str, Any]] = []
        no_depth = 0
        for index, view_id in enumerate(view_ids):
            view_files, view_meta = self._view_files(scene, view_id, view_prefix(index, len(view_ids)))
            files.extend(view_files)
            views.append(view_meta)
            no_depth += scene.view(view_id).depth is None
        meta = {
            "key": key,
            "scene_id": scene.scene_id,
            "capture_id": scene.capture_id,
            "source": scene.source,
            "license": scene.license,
            "split": scene.split,
            "views": views,
            "qa": records,
        }
        files.append(("json", encode_line(meta).encode("utf-8")))
        return Sample(key, tuple(files), no_depth)

    def _view_files(
        self, scene: Scene, view_id: str, prefix: str
    ) -> tuple[list[tuple[str, bytes]], dict[str, Any]]:
        """(field, bytes) of one view's files and its entry in the sample's "views"."""
        media = self.ctx.media
        geometry = self.ctx.options.geometry
        has_depth = scene.view(view_id).depth is not None
        image_field = f"{prefix}jpg"
        files = [(image_field, media.jpeg(view_id))]
        depth_field = points_field = None
        if has_depth and geometry in GEOMETRY_DEPTH:
            depth_field = f"{prefix}depth.png"
            files.append((depth_field, media.depth_png(view_id)))
        if has_depth and geometry in GEOMETRY_POINTS:
            points_field = f"{prefix}points.npy"
            files.append((points_field, npy_bytes(media.points(view_id).astype(POINTS_DTYPE))))
        width, height = media.size(view_id)
        camera = scene.view(view_id).camera
        meta = {
            "view_id": view_id,
            "image": image_field,
            "intrinsics": intrinsics_dict(media.intrinsics(view_id)),
            "size": [width, height],
            # The records' pixel numbers (markers' geometry_px, reasoning traces) are of the original image.
            "original_size": [camera.width, camera.height],
            "depth": depth_field,
            "points": points_field,
        }
        return files, meta

    # ------------------------------------------------------------------ tars

    def _write(self, sample: Sample) -> None:
        if self._tar is None:
            self._open_part()
        assert self._tar is not None
        for field, data in sample.files:
            self._tar.addfile(member_info(f"{sample.key}.{field}", len(data)), io.BytesIO(data))
        self._part_samples[-1] += 1
        if self._part_samples[-1] >= self.ctx.options.samples_per_tar:
            self._close_part()

    def _open_part(self) -> None:
        final = self.dir / tar_name(self.ctx.shard, len(self._parts))
        self._parts.append(final)
        self._part_samples.append(0)
        # PAX: plain USTAR headers for short ASCII names, a PAX record only for a name over 100 bytes.
        self._tar = tarfile.open(self.partial_path(final), "w", format=tarfile.PAX_FORMAT)

    def _close_part(self) -> None:
        if self._tar is not None:
            self._tar.close()
            self._tar = None

    def close(self) -> ShardStats:
        """Finish the open tar, then rename every part into place (none is final before the shard is)."""
        self._close_part()
        for final, count in zip(self._parts, self._part_samples, strict=True):
            self.commit(final)
            self.stats.extra["tar_samples"][final.relative_to(self.ctx.output_dir).as_posix()] = count
        self.stats.extra["tars"] = len(self._parts)
        return self.stats

    def abort(self) -> None:
        self._close_part()
        for final in self._parts:
            self.partial_path(final).unlink(missing_ok=True)

    # ------------------------------------------------------------------ index

    @classmethod
    def finalize(
        cls, output_dir: Path, options: ExportOptions, shards: Sequence[ShardStats]
    ) -> dict[str, Any]:
        """Write webdataset/index.json (tars sorted by name, samples per tar, totals, brace pattern)."""
        tars: dict[str, int] = {}
        records = 0
        for stats in shards:
            if stats.writer != cls.name:
                continue
            records += stats.records
            for path, count in stats.extra.get("tar_samples", {}).items():
                tars[Path(path).name] = int(count)
        names = sorted(tars)
        index = {
            "format": "webdataset",
            "tars": [{"file": name, "samples": tars[name]} for name in names],
            "samples": sum(tars.values()),
            "records": records,
            "pattern": brace_pattern(names),
        }
        folder = Path(output_dir) / WDS_DIR
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / INDEX_NAME
        partial = final.with_name(final.name + ".partial")
        partial.write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
        os.replace(partial, final)
        summary = {k: index[k] for k in ("samples", "records", "pattern")}
        return {"index": f"{WDS_DIR}/{INDEX_NAME}", "tars": len(names), **summary}


def brace_pattern(names: Sequence[str]) -> str | None:
    """A braceexpand pattern naming exactly `names` (shard-{a..b}-{0000..p}.tar), or None when the tars do
    not form a full grid: shards a..b without a gap, each with parts 0..p (the same p for every shard)."""
    parsed = [_TAR_NAME.match(n) for n in names]
    if not names or not all(parsed):
        return None
    grid = {(int(m.group(1)), int(m.group(2))) for m in parsed if m}
    shards = sorted({s for s, _ in grid})
    parts = sorted({p for _, p in grid})
    full = shards == list(range(shards[0], shards[-1] + 1)) and parts == list(range(len(parts)))
    if not full or len(grid) != len(shards) * len(parts):
        return None
    return f"shard-{_brace(shards[0], shards[-1], 5)}-{_brace(0, parts[-1], 4)}.tar"


def _brace(first: int, last: int, digits: int) -> str:
    return f"{first:0{digits}d}" if first == last else f"{{{first:0{digits}d}..{last:0{digits}d}}}"
