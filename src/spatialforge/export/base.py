"""The writer contract and registry of `spatialforge export`.

An export turns a generate run into training-ready files. It is cut into shards (one per bucket of the run,
engine/runner.py), each made by one call that feeds every requested writer the shard's scene groups:

    writer = WRITERS[name](ShardContext(...))
    for group in groups: writer.add(group)
    stats = writer.close()           # files are written as *.partial and renamed here
    ...
    WRITERS[name].finalize(output_dir, options, [stats of every shard])   # merges / indexes, once

A shard's files depend only on its groups and the options, so shards run in any order, on any worker or
backend, and a killed export resumes by redoing unfinished shards (export/run.py).

Every exported sample carries its provenance - `source`, `license`, `capture_id` and the QA id(s) it came
from - in the fields the consuming format leaves open (documented per writer in docs/EXPORT.md).
"""

from __future__ import annotations

import dataclasses
import json
import os
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from spatialforge.export.groups import SceneGroup
from spatialforge.export.media import MediaCache, marker_from_dict
from spatialforge.qa.marked_copies import copy_name
from spatialforge.qa.records import FORMATS

# Bump when what a shard holds changes meaning: an old export directory then refuses to resume.
EXPORT_FORMAT = 1
PARTIAL = ".partial"
# Marked image copies shared by the writers of an export (LLaVA and chat name the same files).
MARKED_DIR = "marked"


@dataclass(frozen=True)
class ExportOptions:
    """Everything that decides the exported files (saved in the export's config.json).

    writers: registered writer names (WRITERS). formats: the QA formats to export (a record of another
    format is left out, counted as "format_filtered"); the mix itself is chosen at generate time
    (--format-profile / --format-weight, SPEC section 3). max_side: longer image side of the resized image
    bytes (webdataset, parquet images, marked copies); None keeps the original size. jpeg_quality: of every
    JPEG written. geometry: what a WebDataset sample carries besides the image ("depth": HiSpatial's 16-bit
    log PNG; "points": a float16 (h, w, 3) camera-frame point map as .npy; "both"). parquet_images: embed
    the (marked) image bytes in the Parquet rows. image_root: exported image paths (LLaVA, chat, SPAR,
    Parquet) are made relative to it; None writes absolute paths (what os.path.join-based loaders accept
    whatever their image folder). samples_per_tar: the most samples in one WebDataset tar of a shard.
    """

    writers: tuple[str, ...]
    formats: tuple[str, ...] = FORMATS
    max_side: int | None = 640
    jpeg_quality: int = 90
    geometry: str = "depth"
    parquet_images: bool = False
    image_root: str | None = None
    samples_per_tar: int = 1000

    def __post_init__(self) -> None:
        unknown = [w for w in self.writers if w not in WRITERS]
        if unknown or not self.writers:
            raise ValueError(f"writers must be a non-empty subset of {sorted(WRITERS)}, got {self.writers}")
        bad = [f for f in self.formats if f not in FORMATS]
        if bad or not self.formats:
            raise ValueError(f"formats must be a non-empty subset of {FORMATS}, got {self.formats}")
        if self.max_side is not None and self.max_side < 16:
            raise ValueError(f"max_side must be >= 16 or None, got {self.max_side}")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be in 1..100, got {self.jpeg_quality}")
        if self.geometry not in GEOMETRIES:
            raise ValueError(f"geometry must be one of {GEOMETRIES}, got {self.geometry!r}")
        if self.samples_per_tar < 1:
            raise ValueError("samples_per_tar must be >= 1")
        if self.image_root is not None:
            object.__setattr__(self, "image_root", str(Path(self.image_root).resolve()))

    def as_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self)))


GEOMETRIES = ("depth", "points", "both")


@dataclass
class ShardContext:
    """What a writer of one shard gets: where to write, the options, the shard's name and the pixel cache."""

    output_dir: Path
    shard: int
    options: ExportOptions
    media: MediaCache

    @property
    def shard_name(self) -> str:
        return f"{self.shard:05d}"

    def image_ref(self, absolute_path: str | Path) -> str:
        """How an exported record names an image file: absolute, or relative to options.image_root."""
        path = Path(absolute_path).resolve()
        root = self.options.image_root
        if root is None:
            return str(path)
        try:
            return path.relative_to(root).as_posix()
        except ValueError as err:
            raise ValueError(f"image {path} lies outside --image-root {root}") from err

    def image_refs(self, record: dict[str, Any]) -> list[str]:
        """The image of each of a record's images as the exported sample names it: the original file, or,
        where the record has markers on that image, a copy with them drawn (marked_ref)."""
        return [
            self.marked_ref(record, index) or self.image_ref(self.media.image_path(image["view_id"]))
            for index, image in enumerate(record["images"])
        ]

    def marked_ref(self, record: dict[str, Any], index: int) -> str | None:
        """The exported name of image `index` of `record` with its markers drawn (marked_image); None where
        the record has no marker on that image."""
        markers = markers_on(record, index)
        return self.image_ref(self.marked_image(record, index, markers)) if markers else None

    def marked_image(self, record: dict[str, Any], index: int, markers: list[dict[str, Any]]) -> Path:
        """Path of the resized image `index` of `record` with `markers` drawn, written once under
        output_dir/marked/ (the name hashes what the picture shows: qa/marked_copies.copy_name)."""
        image = record["images"][index]
        parsed = [marker_from_dict(m) for m in markers]
        name = copy_name(
            record["scene_id"], image["view_id"], image["path"], parsed, f"jpg{self.options.max_side}"
        )
        path = self.output_dir / MARKED_DIR / (name.rsplit(".", 1)[0] + ".jpg")
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(path.name + PARTIAL)
            partial.write_bytes(self.media.marked_jpeg(image["view_id"], parsed))
            os.replace(partial, path)
        return path


@dataclass
class ShardStats:
    """What one writer made of one shard: its files (relative to output_dir), samples written, QA records
    used, records left out by reason, and writer-specific counts."""

    writer: str
    shard: int
    files: list[str] = field(default_factory=list)
    samples: int = 0
    records: int = 0
    bytes: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["skipped"] = dict(sorted(self.skipped.items()))
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ShardStats:
        return cls(
            data["writer"],
            data["shard"],
            list(data["files"]),
            data["samples"],
            data["records"],
            data["bytes"],
            Counter(data["skipped"]),
            dict(data.get("extra", {})),
        )


class ShardWriter(ABC):
    """Writes one shard of one output format. Subclasses set `name` and register with @register."""

    name: ClassVar[str]

    def __init__(self, ctx: ShardContext) -> None:
        self.ctx = ctx
        self.stats = ShardStats(self.name, ctx.shard)

    @property
    def dir(self) -> Path:
        """This writer's folder in the export (created on first use)."""
        path = self.ctx.output_dir / self.name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def keep(self, record: dict[str, Any]) -> bool:
        """Whether a record passes the format filter (a filtered one is counted)."""
        if record["format"] in self.ctx.options.formats:
            return True
        self.stats.skipped["format_filtered"] += 1
        return False

    @abstractmethod
    def add(self, group: SceneGroup) -> None:
        """Write the samples of one scene (the media cache has been started on group.scene)."""

    @abstractmethod
    def close(self) -> ShardStats:
        """Finish the shard's files (rename *.partial into place) and return the stats."""

    def abort(self) -> None:  # noqa: B027 - optional hook; most writers have nothing to clean
        """Remove partial files after a failure (the shard is redone on resume either way)."""

    @classmethod
    def finalize(
        cls, output_dir: Path, options: ExportOptions, shards: Sequence[ShardStats]
    ) -> dict[str, Any]:
        """Once, after every shard: merge or index the shards; returns what to record in the manifest."""
        return {}

    # -------------------------------------------------------------- helpers for subclasses

    def partial_path(self, final: Path) -> Path:
        return final.with_name(final.name + PARTIAL)

    def commit(self, final: Path) -> None:
        """Rename final.partial to final and record the file and its size."""
        os.replace(self.partial_path(final), final)
        self.stats.files.append(final.relative_to(self.ctx.output_dir).as_posix())
        self.stats.bytes += final.stat().st_size


WRITERS: dict[str, type[ShardWriter]] = {}


def register(cls: type[ShardWriter]) -> type[ShardWriter]:
    if cls.name in WRITERS:
        raise ValueError(f"writer {cls.name!r} registered twice")
    WRITERS[cls.name] = cls
    return cls


def markers_on(record: dict[str, Any], index: int) -> list[dict[str, Any]]:
    """The record's markers on its image `index` (marker dicts, record order)."""
    return [m for m in record["markers"] if m["image_index"] == index]


def provenance(record: dict[str, Any]) -> dict[str, Any]:
    """The provenance fields every exported sample carries. view_ids: the scene view of each image, in
    image order (the image paths alone do not say it once a marked copy stands in for the original)."""
    return {
        "qa_id": record["id"],
        "scene_id": record["scene_id"],
        "capture_id": record["capture_id"],
        "source": record["source"],
        "license": record["license"],
        "split": record["split"],
        "view_ids": [image["view_id"] for image in record.get("images", ())],
    }
