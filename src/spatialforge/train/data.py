"""Training data readers: engine output and its exports as random-access datasets of `Sample`s.

A `TrainDataset` holds an index only (per example: where its bytes are, plus an `ExampleInfo` for the mixture
sampler); pixels, depth and scenes are read when `sample(i)` asks for them. Formats (`SourceConfig.format`):

- "engine": a `spatialforge generate` output folder (its data.jsonl) or any QA JSONL, with the scenes JSONL it
  was made from. Images are the scene's original files with the record's markers drawn by
  qa/draw_markers.py `draw_markers` - the function the benchmark builder and the exporters use, in the
  record's marker order (as bench/builder/pipeline.py and export/media.py draw them), so a training picture
  is the evaluation picture. Point maps: `point_map_for_view` (the scene's own depth).
- "webdataset": the export's tars (export/wds.py). Images there are resized and NOT marked (one image serves
  several records), so each record's markers are scaled to the resized size and drawn here, as the exporter
  draws its marked copies (media.MediaCache.marked_jpeg). Point maps from the 16-bit log depth PNG and the
  resized intrinsics (or the float16 points.npy when a sample has no depth PNG).
- "parquet": the export's Parquet files (export/parquet.py): the embedded (already marked) image bytes when
  the export has them, else the marked copy (`marked_ref`) or the original (`path`). The export has no depth
  column, so point maps come from `scenes` when given, else None.
- "chat": the chat-messages JSONL export (export/chat.py): image parts (already marked) + text, the
  assistant's text. Point maps from `scenes` (scene_id + view_ids) when given.
- "general": general (non-spatial) VQA made from scene views (train/general.py).

Bad input: a missing file or folder, a missing scenes file, an unreadable image, a path that leaves its root
raise RecordError / ValueError naming the file and field. A record that cannot be used is found at open time
where that is cheap (schema, scene and view lookup, image file present, marker geometry) and then skipped and
counted by reason in `dataset.skipped` (first case of each in `dataset.skip_examples`), never silently.

Datasets are safe in DataLoader workers: files are read with os.pread through descriptors opened per process
(a forked worker reopens them) and nothing open is pickled (spawned workers).
"""

from __future__ import annotations

import io
import json
import math
import os
import sys
import tarfile
from array import array
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from PIL import Image

from spatialforge.errors import RecordError
from spatialforge.export.media import marker_from_dict
from spatialforge.geometry.camera import PinholeCamera
from spatialforge.jsonl import decode_line
from spatialforge.models.pointmap import PointMap, point_map_for_view, point_map_from_depth
from spatialforge.models.processing import Sample, blank_image
from spatialforge.qa.answer_classes import answer_class
from spatialforge.qa.draw_markers import MarkerDrawError, draw_markers, markers_rejection
from spatialforge.qa.records import Marker, qa_from_dict
from spatialforge.scene.codec import scene_from_dict
from spatialforge.scene.records import RAYCAST_DEPTH_KIND, Scene, View, resolve_inside

FORMATS = ("engine", "webdataset", "parquet", "chat", "general")
KINDS = ("spatial", "general")
GENERAL_FAMILY = "general"
ENGINE_QA_NAME = "data.jsonl"  # a generate output folder's merged QA file
GENERATE_CONFIG_NAME = "config.json"
# LRU sizes (per process): a scene record is ~10-100 KB parsed; a 640x480 point map ~4.6 MB. A view entry
# (SceneStore.view: the scene without its objects and other views) is ~3.3 KB (synthetic indoor scenes,
# tracemalloc), so a full view cache is ~110 MB per worker, and 12,000 one-view scenes take ~40 MB: a worker
# drawing uniformly over the scenes then parses each scene once instead of on almost every sample.
DEFAULT_SCENE_CACHE = 16
DEFAULT_POINT_MAP_CACHE = 16
DEFAULT_VIEW_CACHE = 32768
DEFAULT_ROW_GROUP_CACHE = 2
PYARROW_MISSING = "the parquet training reader needs pyarrow: pip install 'spatialforge[export]'"


# ---------------------------------------------------------------- contract types


@dataclass(frozen=True)
class ExampleInfo:
    """Cheap metadata of one example, held in memory for every example (the mixture sampler reads it).

    task: the engine task name, or "general/<kind>" for general data; level: 0..3 for spatial tasks, None
    for general data; family: the task registry's HiSpatial family ("general" for general data, None for a
    task the registry does not know); kind: "spatial" | "general"; capture_id: None where the data lacks
    it. answer_format and answer_class (qa/answer_classes.py; the mixture's `answer_balance` reads them): the
    record's format ("free", "mcq", "tf", ...) and its answer class, None where the data does not carry the
    structured answer (chat exports, general data)."""

    id: str
    task: str
    level: int | None
    family: str | None
    kind: str
    capture_id: str | None
    answer_format: str | None = None
    answer_class: str | None = None


@runtime_checkable
class TrainDataset(Protocol):
    """Random-access examples of one source. sample(i, blank=True): the same text with every image a uniform
    mid-grey image of the same size and every point map None (the blanked-inputs baseline)."""

    name: str

    def __len__(self) -> int: ...

    def info(self, index: int) -> ExampleInfo: ...

    def sample(self, index: int, *, blank: bool = False) -> Sample: ...


@dataclass(frozen=True)
class SourceConfig:
    """One training data source (a `sources:` entry of a training config).

    path: file or folder (relative paths resolve against the config file's folder, `open_source` base_dir);
    format: one of FORMATS; scenes: the scenes JSONL ("engine" and "general" need it; "parquet" and "chat"
    use it for point maps); kind: the mixture's split, "spatial" or "general" ("general" format data is
    always kind "general": it is general by construction, so the default "spatial" is read as "general"
    there); name: defaults to the path's stem; weight: > 0, the source's weight inside its kind; options:
    format options (docs/TRAINING.md)."""

    path: str
    format: str
    scenes: str | None = None
    kind: str = "spatial"
    name: str | None = None
    weight: float = 1.0
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f"source {self.name or self.path!r}"
        if not isinstance(self.path, str) or not self.path:
            raise ValueError(f"{where}: field path must be a non-empty string, got {self.path!r}")
        if self.format not in FORMATS:
            raise ValueError(f"{where}: field format must be one of {FORMATS}, got {self.format!r}")
        if self.kind not in KINDS:
            raise ValueError(f"{where}: field kind must be one of {KINDS}, got {self.kind!r}")
        if self.format == "general" and self.kind != "general":
            object.__setattr__(self, "kind", "general")
        if self.scenes is not None and (not isinstance(self.scenes, str) or not self.scenes):
            raise ValueError(f"{where}: field scenes must be a non-empty string or null, got {self.scenes!r}")
        if self.name is not None and (not isinstance(self.name, str) or not self.name):
            raise ValueError(f"{where}: field name must be a non-empty string or null, got {self.name!r}")
        weight = self.weight
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight):
            raise ValueError(f"{where}: field weight must be a finite number, got {weight!r}")
        if weight <= 0:
            raise ValueError(f"{where}: field weight must be > 0, got {weight}")
        object.__setattr__(self, "weight", float(weight))
        if not isinstance(self.options, Mapping):
            raise ValueError(f"{where}: field options must be a mapping, got {type(self.options).__name__}")
        object.__setattr__(self, "options", dict(self.options))

    @property
    def display_name(self) -> str:
        """name, or the path's stem (the folder name for a folder)."""
        return self.name or Path(self.path).stem or self.path

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "source") -> SourceConfig:
        """From a config mapping; ValueError naming `where` and the field for unknown or missing keys."""
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: expected a mapping, got {type(data).__name__}")
        known = {"path", "format", "scenes", "kind", "name", "weight", "options"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {unknown}; known: {sorted(known)}")
        for key in ("path", "format"):
            if key not in data:
                raise ValueError(f"{where}: missing field {key}")
        kwargs = {k: data[k] for k in known if k in data}
        if "kind" not in data and data.get("format") == "general":
            kwargs["kind"] = "general"
        if kwargs.get("options") is None:
            kwargs.pop("options", None)
        try:
            return cls(**kwargs)
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "scenes": self.scenes,
            "kind": self.kind,
            "name": self.name,
            "weight": self.weight,
            "options": dict(self.options),
        }


# ---------------------------------------------------------------- small shared parts


class LRU:
    """A small least-recently-used cache (per process; emptied when pickled)."""

    def __init__(self, size: int) -> None:
        self.size = max(0, int(size))
        self._items: OrderedDict[Any, Any] = OrderedDict()

    def get(self, key: Any, make: Callable[[], Any]) -> Any:
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        value = make()
        if self.size:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._items)

    def __getstate__(self) -> dict[str, Any]:
        return {"size": self.size, "_items": OrderedDict()}


class FileReader:
    """pread() by (offset, length) through one descriptor per file and process: no shared file position
    (safe across threads and forked DataLoader workers, which reopen), nothing open survives pickling."""

    def __init__(self) -> None:
        self._pid = os.getpid()
        self._fds: dict[str, int] = {}

    def read(self, path: Path | str, offset: int, length: int) -> bytes:
        if self._pid != os.getpid():  # a forked child: the parent's descriptors are not ours to use
            self._fds, self._pid = {}, os.getpid()
        key = str(path)
        fd = self._fds.get(key)
        if fd is None:
            try:
                fd = os.open(key, os.O_RDONLY)
            except OSError as err:
                raise RecordError("missing_file", f"cannot open: {err.strerror}", file=key) from None
            self._fds[key] = fd
        data = os.pread(fd, length, offset)
        if len(data) != length:
            raise RecordError("truncated_file", f"short read at byte {offset} (file changed?)", file=key)
        return data

    def close(self) -> None:
        if self._pid == os.getpid():
            for fd in self._fds.values():
                os.close(fd)
        self._fds = {}

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown; nothing to report to
            pass

    def __getstate__(self) -> dict[str, Any]:
        return {"_pid": -1, "_fds": {}}


def iter_lines(path: Path) -> Iterator[tuple[int, int, int, bytes]]:
    """(line number, byte offset, byte length, raw line) of each non-blank line of a file."""
    with open(path, "rb") as fh:
        offset = 0
        for line_no, raw in enumerate(fh, start=1):
            if raw.strip():
                yield line_no, offset, len(raw), raw
            offset += len(raw)


def open_image(path: Path, *, record: str | None = None, field: str = "images") -> Image.Image:
    """The file as a fully decoded RGB image; RecordError naming the file and field when it cannot be."""
    if not path.is_file():
        raise RecordError("image_missing", "no image file", file=str(path), record=record, field=field)
    try:
        with Image.open(path) as im:
            return im.convert("RGB")  # decodes fully: a truncated file fails here
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as err:
        raise RecordError(
            "image_unreadable", f"{type(err).__name__}: {err}", file=str(path), record=record, field=field
        ) from None


def image_from_bytes(data: bytes, *, file: str, record: str | None, field: str) -> Image.Image:
    try:
        with Image.open(io.BytesIO(data)) as im:
            return im.convert("RGB")
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as err:
        raise RecordError(
            "image_unreadable", f"{type(err).__name__}: {err}", file=file, record=record, field=field
        ) from None


def markers_on(record: Mapping[str, Any], index: int) -> list[Marker]:
    """The record's markers on its image `index`, in record order (the order the exporters and the
    benchmark builder draw them in)."""
    return [marker_from_dict(m) for m in record.get("markers") or () if int(m["image_index"]) == index]


def draw_record_markers(
    image: Image.Image, markers: Sequence[Marker], *, file: str, record: str | None
) -> Image.Image:
    """draw_markers, with a refusal (degenerate box, point outside the image) as a RecordError."""
    if not markers:
        return image
    try:
        return draw_markers(image, markers)
    except MarkerDrawError as err:
        raise RecordError(
            err.rejection.reason, err.rejection.detail, file=file, record=record, field="markers"
        ) from None


def task_family(task: str) -> str | None:
    """The registry family of a task (tasks/registry.py TASKS), None for a task it does not know."""
    from spatialforge.tasks.registry import TASKS

    spec = TASKS.get(task)
    return spec.family if spec is not None else None


def general_info(example_id: str, task: str | None, capture_id: str | None) -> ExampleInfo:
    """The info of an example of a kind-"general" source: task "general/<...>", level None."""
    task = task or "chat"
    return ExampleInfo(
        example_id,
        task if task.startswith("general/") else f"general/{task}",
        None,
        GENERAL_FAMILY,
        "general",
        capture_id,
    )


def spatial_info(
    example_id: str, task: str, level: int, capture_id: str | None, answer: Mapping[str, Any] | None = None
) -> ExampleInfo:
    """The info of a spatial example; answer: the record's format, answer_value, choices and unit (qa record
    fields) when the data carries them, for its answer class."""
    fmt, cls = _answer_fields(answer)
    return ExampleInfo(example_id, task, level, task_family(task), "spatial", capture_id, fmt, cls)


def _answer_fields(answer: Mapping[str, Any] | None) -> tuple[str | None, str | None]:
    """(format, answer class) of a record's answer fields; (None, None) when they are absent or malformed
    (the example is then drawn as generated under answer balance, and the mixture report counts it)."""
    if answer is None or not isinstance(answer.get("format"), str) or "answer_value" not in answer:
        return None, None
    try:
        cls = answer_class(answer)
    except (KeyError, TypeError, ValueError, AttributeError):
        return sys.intern(answer["format"]), None
    # Interned: formats and most classes repeat across examples (a free-form value naming a point may not).
    return sys.intern(answer["format"]), sys.intern(cls)


def option(
    options: Mapping[str, Any], key: str, default: Any, kind: type | tuple[type, ...], where: str
) -> Any:
    """options[key] (default when absent) checked against `kind`; ValueError naming the source and field."""
    value = options.get(key, default)
    if value is default:
        return value
    if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float, (int, float))):
        raise ValueError(f"{where}: field options.{key} has the wrong type ({type(value).__name__})")
    return value


# ---------------------------------------------------------------- scenes


@dataclass(frozen=True)
class ViewEntry:
    """What open-time checks need of a scene view: its image path and camera size, whether it has depth."""

    image_path: str
    width: int
    height: int
    has_depth: bool


@dataclass(frozen=True)
class SceneEntry:
    offset: int
    length: int
    asset_root: str
    views: dict[str, ViewEntry]


class SceneStore:
    """A scenes JSONL indexed by byte offset (scene_id -> line), with LRU caches of parsed scenes, of the
    views samples read (`view`) and of point maps per (scene_id, view_id). Bad lines and duplicated scene ids
    are counted; a duplicated id is not served (which of the two would be meant?)."""

    def __init__(
        self,
        path: Path,
        *,
        scene_cache: int = DEFAULT_SCENE_CACHE,
        point_map_cache: int = DEFAULT_POINT_MAP_CACHE,
        view_cache: int = DEFAULT_VIEW_CACHE,
        keep_views: bool = True,
    ) -> None:
        if not path.is_file():
            raise RecordError("missing_file", "scenes file not found", file=str(path), field="scenes")
        self.path = path
        self.entries: dict[str, SceneEntry] = {}
        self.duplicate: set[str] = set()
        self.bad_lines: Counter[str] = Counter()
        for line_no, offset, length, raw in iter_lines(path):
            try:
                data = decode_line(raw.decode("utf-8"))
                scene_id = data["scene_id"]
                views = {}
                if keep_views:
                    for v in data["views"]:
                        views[str(v["view_id"])] = ViewEntry(
                            str(v["image_path"]),
                            int(v["width"]),
                            int(v["height"]),
                            v.get("depth") is not None,
                        )
                entry = SceneEntry(offset, length, str(data["asset_root"]), views)
            except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
                self.bad_lines[f"line {line_no}"] += 1
                continue
            if not isinstance(scene_id, str):
                self.bad_lines[f"line {line_no}"] += 1
                continue
            if scene_id in self.entries:
                self.duplicate.add(scene_id)
                continue
            self.entries[scene_id] = entry
        self._reader = FileReader()
        self._scenes = LRU(scene_cache)
        self._views = LRU(view_cache)
        self._point_maps = LRU(point_map_cache)

    def check(self, scene_id: str) -> tuple[str, str] | SceneEntry:
        """The scene's entry, or (skip reason, detail)."""
        if scene_id in self.duplicate:
            return "scene_id_duplicate", f"scene {scene_id} appears more than once in {self.path}"
        entry = self.entries.get(scene_id)
        if entry is None:
            return "scene_not_found", f"no scene {scene_id} in {self.path}"
        return entry

    def scene(self, scene_id: str) -> Scene:
        def load() -> Scene:
            entry = self.check(scene_id)
            if isinstance(entry, tuple):
                raise RecordError(entry[0], entry[1], file=str(self.path), record=scene_id)
            line = self._reader.read(self.path, entry.offset, entry.length).decode("utf-8")
            try:
                return scene_from_dict(decode_line(line), record=scene_id)
            except RecordError as err:
                raise err.located(file=str(self.path)) from None

        return self._scenes.get(scene_id, load)

    def view(self, scene_id: str, view_id: str) -> tuple[Scene, View]:
        """(scene, view) for reading the view's image and depth. The scene is cut down to what that needs
        (its asset root, ids and metadata, this one view, and its objects only when the view's depth is
        ray-cast from them), so that the view cache stays small: use `scene()` for the whole scene.

        The first request parses the whole scene (`scene()`, with all its checks and errors); the cut-down
        copy is then kept per (scene_id, view_id), so a scene is parsed once per process however often its
        views are drawn (the parse was the largest part of a sample on a cache miss)."""

        def make() -> tuple[Scene, View]:
            scene = self.scene(scene_id)
            try:
                view = scene.view(view_id)
            except KeyError:
                raise RecordError(
                    "view_not_found", f"scene has no view {view_id!r}", file=str(self.path), record=scene_id
                ) from None
            raycast = view.depth is not None and view.depth.kind == RAYCAST_DEPTH_KIND
            return replace(scene, views=(view,), objects=scene.objects if raycast else ()), view

        return self._views.get((scene_id, view_id), make)

    def point_map(self, scene_id: str, view_id: str) -> PointMap | None:
        """The view's point map from its depth (read-only arrays, shared through the cache); None when the
        view has no depth asset."""

        def make() -> PointMap | None:
            scene, view = self.view(scene_id, view_id)
            if view.depth is None:
                return None
            pm = point_map_for_view(scene, view)
            pm.xyz.flags.writeable = False
            pm.valid.flags.writeable = False
            return pm

        return self._point_maps.get((scene_id, view_id), make)

    def image(self, scene_id: str, view_id: str, image_path: str, *, record: str | None) -> Image.Image:
        """The view's original image (RGB), checked against the camera's size."""
        scene, view = self.view(scene_id, view_id)
        try:
            path = scene.resolve(image_path)
        except ValueError as err:
            raise RecordError(
                "path_escapes_root", str(err), file=str(self.path), record=record, field="images[].path"
            ) from None
        image = open_image(path, record=record, field="images[].path")
        if image.size != (view.camera.width, view.camera.height):
            raise RecordError(
                "image_size_mismatch",
                f"image is {image.size[0]}x{image.size[1]}, "
                f"the camera {view.camera.width}x{view.camera.height}",
                file=str(path),
                record=record,
                field="images[].path",
            )
        return image


# ---------------------------------------------------------------- the common dataset


class BaseDataset:
    """Index storage, skip counting, bounds checks and blanking shared by every format."""

    def __init__(self, source: SourceConfig, name: str) -> None:
        self.source = source
        self.name = name
        self.kind = source.kind
        self.skipped: dict[str, int] = {}
        self.skip_examples: dict[str, str] = {}
        self._infos: list[ExampleInfo] = []

    def _skip(self, reason: str, detail: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        self.skip_examples.setdefault(reason, detail)

    def _info_for(
        self, example_id: str, task: Any, level: Any, capture_id: Any, answer: Mapping[str, Any] | None = None
    ) -> ExampleInfo | tuple[str, str]:
        """The ExampleInfo of a record of this source, or (skip reason, detail) for a spatial record
        without a usable task or level. answer: the record's answer fields (spatial_info)."""
        capture = capture_id if isinstance(capture_id, str) else None
        if self.kind == "general":
            return general_info(example_id, task if isinstance(task, str) else None, capture)
        if not isinstance(task, str) or not task:
            return "missing_task", f"record {example_id}: no task name"
        if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 3:
            return "invalid_level", f"record {example_id}: level {level!r} is not 0..3"
        return spatial_info(example_id, task, level, capture, answer)

    def __len__(self) -> int:
        return len(self._infos)

    def _check_index(self, index: int) -> int:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"{self.name}: index must be an int, got {type(index).__name__}")
        index = int(index)
        if not 0 <= index < len(self._infos):
            raise IndexError(f"{self.name}: index {index} out of range for {len(self._infos)} examples")
        return index

    def info(self, index: int) -> ExampleInfo:
        return self._infos[self._check_index(index)]

    def infos(self) -> Sequence[ExampleInfo]:
        """Every example's info, in index order (read-only use)."""
        return self._infos

    def sample(self, index: int, *, blank: bool = False) -> Sample:
        index = self._check_index(index)
        prompt, images, point_maps, answer = self._read(index, blank)
        if blank:
            images = [blank_image(im) for im in images]
            point_maps = [None] * len(images)
        return Sample(prompt, tuple(images), tuple(point_maps), answer)

    def _read(self, index: int, blank: bool) -> tuple[str, list[Image.Image], list[PointMap | None], str]:
        """prompt, images (marked), point maps (one per image), answer. blank: the caller discards pixels
        and geometry, so a reader may skip work it would otherwise do (it must keep image sizes)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, examples={len(self)}, skipped={self.skipped})"


# ---------------------------------------------------------------- engine


def _existing(path: Path, what: str, field_name: str) -> Path:
    if not path.exists():
        raise RecordError("missing_file", f"{what} not found", file=str(path), field=field_name)
    return path


class EngineDataset(BaseDataset):
    """QA records of a generate run or QA JSONL + their scenes (module docstring, "engine")."""

    def __init__(self, source: SourceConfig, path: Path, scenes: Path | None, name: str) -> None:
        super().__init__(source, name)
        where = f"source {name}"
        if path.is_dir():
            qa_path = _existing(path / ENGINE_QA_NAME, "QA file of the generate folder", "path")
            if scenes is None:
                scenes = _scenes_from_generate_config(path)
        else:
            qa_path = _existing(path, "QA file", "path")
        if scenes is None:
            raise ValueError(
                f"{where}: format engine needs field scenes (the scenes JSONL the QA was made from)"
            )
        opts = source.options
        self.point_maps = bool(option(opts, "point_maps", True, bool, where))
        check_images = bool(option(opts, "check_images", True, bool, where))
        self.qa_path = qa_path
        self.scenes = SceneStore(
            _existing(scenes, "scenes file", "scenes"),
            scene_cache=option(opts, "scene_cache", DEFAULT_SCENE_CACHE, int, where),
            point_map_cache=option(opts, "point_map_cache", DEFAULT_POINT_MAP_CACHE, int, where),
            view_cache=option(opts, "view_cache", DEFAULT_VIEW_CACHE, int, where),
        )
        self._offsets = array("q")
        self._lengths = array("q")
        self._reader = FileReader()
        image_ok: dict[tuple[str, str], tuple[str, str] | None] = {}
        for line_no, offset, length, raw in iter_lines(qa_path):
            where_line = f"line {line_no}"
            try:
                data = decode_line(raw.decode("utf-8"))
                rec = qa_from_dict(data, where_line)
            except RecordError as err:
                self._skip(err.reason, f"{qa_path} {where_line}: {err.detail}")
                continue
            except (ValueError, UnicodeDecodeError) as err:
                self._skip("invalid_json", f"{qa_path} {where_line}: {err}")
                continue
            problem = self._check_record(rec, check_images, image_ok)
            if problem is not None:
                self._skip(problem[0], f"record {rec.id}: {problem[1]}")
                continue
            info = self._info_for(rec.id, rec.task, rec.level, rec.capture_id, data)
            if isinstance(info, tuple):
                self._skip(*info)
                continue
            self._infos.append(info)
            self._offsets.append(offset)
            self._lengths.append(length)

    def _check_record(
        self, rec: Any, check_images: bool, image_ok: dict[tuple[str, str], tuple[str, str] | None]
    ) -> tuple[str, str] | None:
        """Why a record cannot be used, found without reading pixels (qa/marked_copies.py's checks)."""
        entry = self.scenes.check(rec.scene_id)
        if isinstance(entry, tuple):
            return entry
        for index, image in enumerate(rec.images):
            view = entry.views.get(image.view_id)
            if view is None:
                return "view_not_found", f"scene {rec.scene_id} has no view {image.view_id!r}"
            if view.image_path != image.path:
                return "image_path_mismatch", f"record image {image.path!r} != view image {view.image_path!r}"
            markers = [m for m in rec.markers if m.image_index == index]
            rejection = markers_rejection(markers, view.width, view.height) if markers else None
            if rejection is not None:
                return rejection.reason, rejection.detail
            if check_images:
                key = (entry.asset_root, image.path)
                if key not in image_ok:
                    image_ok[key] = _image_file_problem(entry.asset_root, image.path)
                if image_ok[key] is not None:
                    return image_ok[key]
        return None

    def record(self, index: int) -> dict[str, Any]:
        """The QA record of example `index` as written (a dict)."""
        index = self._check_index(index)
        raw = self._reader.read(self.qa_path, self._offsets[index], self._lengths[index])
        return decode_line(raw.decode("utf-8"))

    def _read(self, index: int, blank: bool) -> tuple[str, list[Image.Image], list[PointMap | None], str]:
        rec = self.record(index)
        images: list[Image.Image] = []
        point_maps: list[PointMap | None] = []
        for k, image in enumerate(rec["images"]):
            picture = self.scenes.image(rec["scene_id"], image["view_id"], image["path"], record=rec["id"])
            if not blank:
                picture = draw_record_markers(
                    picture, markers_on(rec, k), file=str(self.qa_path), record=rec["id"]
                )
            images.append(picture)
            want = self.point_maps and not blank
            point_maps.append(self.scenes.point_map(rec["scene_id"], image["view_id"]) if want else None)
        return rec["question"], images, point_maps, rec["answer"]


def _image_file_problem(asset_root: str, image_path: str) -> tuple[str, str] | None:
    try:
        path = resolve_inside(asset_root, image_path)
    except ValueError as err:
        return "path_escapes_root", str(err)
    if not path.is_file():
        return "image_missing", f"no file {path}"
    return None


def _scenes_from_generate_config(run_dir: Path) -> Path | None:
    """The scenes file a generate run recorded in its config.json, when it still exists."""
    config = run_dir / GENERATE_CONFIG_NAME
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
        path = Path(data["scenes"]["path"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return path if path.is_file() else None


def _parquet_answer(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """A Parquet row's answer fields as a QA record has them (answer_value is stored as JSON text)."""
    try:
        value = json.loads(row["answer_value_json"])
    except (KeyError, TypeError, ValueError):
        return None
    return {
        "format": row.get("format"),
        "answer_value": value,
        "choices": row.get("choices"),
        "unit": row.get("unit"),
    }


# ---------------------------------------------------------------- webdataset


@dataclass(frozen=True)
class _TarSample:
    tar: int
    members: dict[str, tuple[int, int]]  # field -> (data offset, size)


class WebDatasetDataset(BaseDataset):
    """QA records of WebDataset export tars (module docstring, "webdataset"). One example per QA record of
    a sample; tar members are indexed by offset at open, so sample(i) reads only its own members."""

    def __init__(self, source: SourceConfig, path: Path, name: str) -> None:
        super().__init__(source, name)
        where = f"source {name}"
        self.point_maps = bool(option(source.options, "point_maps", True, bool, where))
        self.tars = _tar_files(path)
        self._samples: list[_TarSample] = []
        self._where = array("q")  # per example: sample index
        self._qa_index = array("i")  # per example: index in the sample's qa list
        self._reader = FileReader()
        for t, tar_path in enumerate(self.tars):
            self._index_tar(t, tar_path)

    def _index_tar(self, t: int, tar_path: Path) -> None:
        groups: OrderedDict[str, dict[str, tuple[int, int]]] = OrderedDict()
        try:
            with tarfile.open(tar_path, "r:") as tar:
                for member in tar:
                    if not member.isfile():
                        continue
                    folder, _, base = member.name.rpartition("/")
                    stem, dot, field_name = base.partition(".")
                    if not dot:
                        continue
                    key = f"{folder}/{stem}" if folder else stem
                    groups.setdefault(key, {})[field_name] = (member.offset_data, member.size)
        except (tarfile.TarError, OSError) as err:
            raise RecordError("unreadable_file", f"not a readable tar: {err}", file=str(tar_path)) from None
        for key, members in groups.items():
            if "json" not in members:
                self._skip("missing_json", f"{tar_path}: sample {key} has no .json")
                continue
            try:
                meta = json.loads(self._reader.read(tar_path, *members["json"]).decode("utf-8"))
                views, qa = meta["views"], meta["qa"]
                fields = [v["image"] for v in views]
            except (ValueError, KeyError, TypeError, UnicodeDecodeError) as err:
                self._skip("invalid_json", f"{tar_path}: sample {key}: {type(err).__name__}: {err}")
                continue
            missing = [f for f in fields if f not in members]
            if missing:
                self._skip("missing_member", f"{tar_path}: sample {key} has no {missing}")
                continue
            s = len(self._samples)
            self._samples.append(_TarSample(t, members))
            for j, rec in enumerate(qa):
                problem = self._check_qa(rec, views, key)
                if isinstance(problem, tuple):
                    self._skip(*problem)
                    continue
                self._infos.append(problem)
                self._where.append(s)
                self._qa_index.append(j)

    def _check_qa(self, rec: Any, views: list[Any], key: str) -> ExampleInfo | tuple[str, str]:
        try:
            checked = qa_from_dict(rec, f"sample {key}")
        except RecordError as err:
            return err.reason, f"sample {key}: {err.detail}"
        if [im.view_id for im in checked.images] != [v.get("view_id") for v in views]:
            return "view_mismatch", f"record {checked.id}: images are not the sample's views"
        for k, view in enumerate(views):
            markers = [m for m in checked.markers if m.image_index == k]
            width, height = view["original_size"]
            rejection = markers_rejection(markers, int(width), int(height)) if markers else None
            if rejection is not None:
                return rejection.reason, f"record {checked.id}: {rejection.detail}"
        return self._info_for(checked.id, checked.task, checked.level, checked.capture_id, rec)

    def _member(self, sample: _TarSample, field_name: str) -> bytes:
        offset, size = sample.members[field_name]
        return self._reader.read(self.tars[sample.tar], offset, size)

    def record(self, index: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """(the sample's json, the QA record) of example `index`."""
        index = self._check_index(index)
        sample = self._samples[self._where[index]]
        meta = json.loads(self._member(sample, "json").decode("utf-8"))
        return meta, meta["qa"][self._qa_index[index]]

    def _read(self, index: int, blank: bool) -> tuple[str, list[Image.Image], list[PointMap | None], str]:
        index = self._check_index(index)
        sample = self._samples[self._where[index]]
        tar_name = str(self.tars[sample.tar])
        meta = json.loads(self._member(sample, "json").decode("utf-8"))
        rec = meta["qa"][self._qa_index[index]]
        images: list[Image.Image] = []
        point_maps: list[PointMap | None] = []
        for k, view in enumerate(meta["views"]):
            field_where = f"views[{k}].image"
            image = image_from_bytes(
                self._member(sample, view["image"]), file=tar_name, record=rec["id"], field=field_where
            )
            size = (int(view["size"][0]), int(view["size"][1]))
            if image.size != size:
                raise RecordError(
                    "image_size_mismatch",
                    f"image is {image.size}, json says {size}",
                    file=tar_name,
                    record=meta.get("key"),
                    field=field_where,
                )
            if not blank:
                original = (int(view["original_size"][0]), int(view["original_size"][1]))
                scaled = [_scale_marker(m, size, original) for m in markers_on(rec, k)]
                image = draw_record_markers(image, scaled, file=tar_name, record=rec["id"])
            images.append(image)
            point_maps.append(
                None if blank or not self.point_maps else self._point_map(sample, view, tar_name)
            )
        return rec["question"], images, point_maps, rec["answer"]

    def _point_map(self, sample: _TarSample, view: Mapping[str, Any], tar_name: str) -> PointMap | None:
        depth_field, points_field = view.get("depth"), view.get("points")
        if depth_field and depth_field in sample.members:
            from spatialforge.export.media import decode_depth_png

            try:
                depth = decode_depth_png(self._member(sample, depth_field))
            except RecordError as err:
                raise err.located(file=tar_name) from None
            intr = view["intrinsics"]
            camera = PinholeCamera(
                float(intr["fx"]),
                float(intr["fy"]),
                float(intr["cx"]),
                float(intr["cy"]),
                int(intr["width"]),
                int(intr["height"]),
            )
            try:
                return point_map_from_depth(depth, camera)
            except RecordError as err:
                raise err.located(file=tar_name) from None
        if points_field and points_field in sample.members:
            try:
                xyz = np.load(io.BytesIO(self._member(sample, points_field)), allow_pickle=False)
            except (ValueError, OSError) as err:
                raise RecordError("unreadable_file", str(err), file=tar_name, field=points_field) from None
            xyz = np.asarray(xyz, dtype=np.float32)
            if xyz.ndim != 3 or xyz.shape[-1] != 3:
                raise RecordError("wrong_shape", f"points {xyz.shape}", file=tar_name, field=points_field)
            valid = np.all(np.isfinite(xyz), axis=-1) & (xyz[..., 2] > 0)
            xyz[~valid] = np.nan
            return PointMap(xyz, valid)
        return None


def _scale_marker(marker: Marker, size: tuple[int, int], original: tuple[int, int]) -> Marker:
    """export/media.py scale_marker: pixel geometry of the original image on the resized one."""
    from spatialforge.export.media import scale_marker

    return scale_marker(marker, size, original) if size != original else marker


def _tar_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise RecordError("missing_file", "no WebDataset tar or folder", file=str(path), field="path")
    tars = sorted(path.glob("*.tar"))
    if not tars and (path / "webdataset").is_dir():
        tars = sorted((path / "webdataset").glob("*.tar"))
    if not tars:
        raise RecordError("missing_file", "no .tar files in the folder", file=str(path), field="path")
    return tars


# ---------------------------------------------------------------- parquet


def _pyarrow_parquet() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError as err:
        raise ImportError(PYARROW_MISSING) from err
    return pq


class ParquetDataset(BaseDataset):
    """QA rows of the Parquet export (module docstring, "parquet"). Random access reads the row's row group
    (an LRU of DEFAULT_ROW_GROUP_CACHE per process): Parquet has no cheaper unit, so exports with embedded
    images are best read sequentially or through the WebDataset export."""

    COLUMNS = ("id", "scene_id", "capture_id", "task", "level", "images", "markers")
    # Read for the answer class when the file has them (export/parquet.py writes them all).
    ANSWER_COLUMNS = ("format", "answer_value_json", "choices", "unit")
    READ_COLUMNS = ("id", "scene_id", "question", "answer", "images", "markers")

    def __init__(
        self, source: SourceConfig, path: Path, scenes: Path | None, image_root: Path | None, name: str
    ) -> None:
        super().__init__(source, name)
        where = f"source {name}"
        pq = _pyarrow_parquet()
        from spatialforge.export.parquet import IMAGE_COLUMN, parquet_files

        if not path.exists():
            raise RecordError("missing_file", "no Parquet file or folder", file=str(path), field="path")
        self.files = parquet_files(path)
        if not self.files:
            raise RecordError("missing_file", "no .parquet files", file=str(path), field="path")
        self.image_root = image_root
        self.embedded = bool(option(source.options, "embedded_images", True, bool, where))
        want_points = bool(option(source.options, "point_maps", True, bool, where))
        self.scenes = (
            SceneStore(_existing(scenes, "scenes file", "scenes")) if scenes and want_points else None
        )
        self._image_column = IMAGE_COLUMN
        self._has_images: list[bool] = []
        self._loc = array("q")  # per example: file, row group, row (packed as 3 entries)
        self._groups = LRU(
            int(option(source.options, "row_group_cache", DEFAULT_ROW_GROUP_CACHE, int, where))
        )
        for f, file in enumerate(self.files):
            try:
                parquet = pq.ParquetFile(file)
            except Exception as err:  # noqa: BLE001 - pyarrow raises several types for a foreign file
                raise RecordError("unreadable_file", f"not a Parquet file: {err}", file=str(file)) from None
            names = set(parquet.schema_arrow.names)
            missing = [c for c in (*self.COLUMNS, "question", "answer") if c not in names]
            if missing:
                raise RecordError("missing_field", f"Parquet file lacks columns {missing}", file=str(file))
            self._has_images.append(self.embedded and IMAGE_COLUMN in names)
            answer_columns = [c for c in self.ANSWER_COLUMNS if c in names]
            for g in range(parquet.num_row_groups):
                table = parquet.read_row_group(g, columns=[*self.COLUMNS, *answer_columns])
                for r, row in enumerate(table.to_pylist()):
                    problem = self._check_row(row, self._has_images[f], file)
                    if isinstance(problem, tuple):
                        self._skip(*problem)
                        continue
                    self._infos.append(problem)
                    self._loc.extend((f, g, r))

    def _check_row(self, row: dict[str, Any], embedded: bool, file: Path) -> ExampleInfo | tuple[str, str]:
        rid = row.get("id") or "?"
        if not row.get("images"):
            return "missing_field", f"{file} row {rid}: no images"
        if not embedded:
            for image in row["images"]:
                ref = image.get("marked_ref") or image.get("path")
                try:
                    path = self._resolve(ref, file)
                except RecordError as err:
                    return err.reason, f"{file} row {rid}: {err.detail}"
                if not path.is_file():
                    return "image_missing", f"{file} row {rid}: no file {path}"
        return self._info_for(
            str(rid), row.get("task"), row.get("level"), row.get("capture_id"), _parquet_answer(row)
        )

    def _resolve(self, ref: Any, file: Path) -> Path:
        if not isinstance(ref, str) or not ref:
            raise RecordError("missing_field", "image without a path", file=str(file), field="images[].path")
        if os.path.isabs(ref):
            return Path(ref)
        if self.image_root is None:
            raise RecordError(
                "relative_image_path",
                f"image path {ref!r} is relative: set options.image_root (the export's --image-root)",
                file=str(file),
                field="images[].path",
            )
        try:
            return resolve_inside(self.image_root, ref)
        except ValueError as err:
            raise RecordError("path_escapes_root", str(err), file=str(file), field="images[].path") from None

    def _row(self, index: int) -> tuple[dict[str, Any], Path, bool]:
        f, g, r = self._loc[3 * index : 3 * index + 3]
        embedded = self._has_images[f]
        file = self.files[f]

        def load() -> Any:
            pq = _pyarrow_parquet()
            columns = [*self.READ_COLUMNS, *([self._image_column] if embedded else [])]
            return pq.ParquetFile(file).read_row_group(g, columns=columns)

        table = self._groups.get((f, g), load)
        return table.slice(r, 1).to_pylist()[0], file, embedded

    def _read(self, index: int, blank: bool) -> tuple[str, list[Image.Image], list[PointMap | None], str]:
        row, file, embedded = self._row(index)
        rid = row["id"]
        images: list[Image.Image] = []
        point_maps: list[PointMap | None] = []
        for k, image in enumerate(row["images"]):
            if embedded:
                picture = image_from_bytes(
                    row[self._image_column][k]["bytes"], file=str(file), record=rid, field=f"image[{k}]"
                )
            elif image.get("marked_ref"):
                picture = open_image(self._resolve(image["marked_ref"], file), record=rid, field="marked_ref")
            else:
                picture = open_image(self._resolve(image["path"], file), record=rid, field="images[].path")
                # A foreign file without marked copies: draw the markers on the original.
                if not blank:
                    picture = draw_record_markers(picture, markers_on(row, k), file=str(file), record=rid)
            images.append(picture)
            if self.scenes is not None and not blank:
                point_maps.append(self.scenes.point_map(row["scene_id"], image["view_id"]))
            else:
                point_maps.append(None)
        return row["question"], images, point_maps, row["answer"]


# ---------------------------------------------------------------- chat


def _jsonl_files(path: Path, sub: str) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise RecordError("missing_file", "no JSONL file or folder", file=str(path), field="path")
    for folder in (path, path / "parts", path / sub / "parts"):
        files = sorted(folder.glob("*.jsonl"))
        if files:
            return files
    raise RecordError("missing_file", "no .jsonl files in the folder", file=str(path), field="path")


class ChatDataset(BaseDataset):
    """Single-turn chat-messages samples (module docstring, "chat"): a user turn (image parts, text parts)
    and an assistant turn. Multi-turn samples are skipped and counted ("multi_turn")."""

    def __init__(
        self, source: SourceConfig, path: Path, scenes: Path | None, image_root: Path | None, name: str
    ) -> None:
        super().__init__(source, name)
        where = f"source {name}"
        self.files = _jsonl_files(path, "chat")
        self.image_root = image_root
        want_points = bool(option(source.options, "point_maps", True, bool, where))
        self.scenes = (
            SceneStore(_existing(scenes, "scenes file", "scenes")) if scenes and want_points else None
        )
        self._loc = array("q")  # per example: file, offset, length
        self._reader = FileReader()
        for f, file in enumerate(self.files):
            for line_no, offset, length, raw in iter_lines(file):
                try:
                    data = decode_line(raw.decode("utf-8"))
                except (ValueError, UnicodeDecodeError) as err:
                    self._skip("invalid_json", f"{file} line {line_no}: {err}")
                    continue
                try:  # a relative path without image_root is a config error (ValueError): it propagates
                    _, paths, _ = self._parse(data, file, line_no)
                except RecordError as err:
                    self._skip(err.reason, str(err))
                    continue
                missing = [p for p in paths if not p.is_file()]
                if missing:
                    self._skip("image_missing", f"{file} line {line_no}: no file {missing[0]}")
                    continue
                rid = data.get("id") or f"{file.name}:{line_no}"
                info = self._info_for(str(rid), data.get("task"), data.get("level"), data.get("capture_id"))
                if isinstance(info, tuple):
                    self._skip(*info)
                    continue
                self._infos.append(info)
                self._loc.extend((f, offset, length))

    def _parse(self, data: Any, file: Path, line_no: int) -> tuple[str, list[Path], str]:
        """(prompt, image paths, answer) of one sample; RecordError naming the file, line and field."""
        where = f"line {line_no}"

        def fail(reason: str, message: str, field_name: str) -> RecordError:
            return RecordError(reason, message, file=str(file), record=where, field=field_name)

        if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
            raise fail("missing_field", "no messages list", "messages")
        messages = [m for m in data["messages"] if isinstance(m, dict) and m.get("role") != "system"]
        if len(messages) != 2 or [m.get("role") for m in messages] != ["user", "assistant"]:
            roles = [m.get("role") if isinstance(m, dict) else None for m in data["messages"]]
            reason = "multi_turn" if len(messages) > 2 else "invalid_messages"
            raise fail(reason, f"expected one user and one assistant turn, got roles {roles}", "messages")
        texts, paths = [], []
        for i, part in enumerate(_parts(messages[0].get("content"))):
            kind = part.get("type")
            if kind == "text":
                texts.append(str(part.get("text", "")))
            elif kind == "image":
                ref = part.get("path") or part.get("image") or part.get("url")
                if not isinstance(ref, str) or not ref:
                    raise fail("missing_field", "image part without a path", f"messages[0].content[{i}].path")
                paths.append(self._resolve(ref, file, where))
            else:
                raise fail("unsupported_content", f"content part type {kind!r}", f"messages[0].content[{i}]")
        answer = "\n".join(
            str(p.get("text", "")) for p in _parts(messages[1].get("content")) if p.get("type") == "text"
        )
        prompt = "\n".join(texts)
        if not prompt or not answer:
            raise fail("missing_field", "empty question or answer text", "messages[].content")
        return prompt, paths, answer

    def _resolve(self, ref: str, file: Path, where: str) -> Path:
        if ref.startswith("file://"):
            ref = ref[len("file://") :]
        if os.path.isabs(ref):
            return Path(ref)
        if self.image_root is None:
            raise ValueError(
                f"{file} {where}: image path {ref!r} is relative: set the source's options.image_root "
                "(the export's --image-root)"
            )
        try:
            return resolve_inside(self.image_root, ref)
        except ValueError as err:
            raise RecordError(
                "path_escapes_root", str(err), file=str(file), record=where, field="messages[0].content"
            ) from None

    def record(self, index: int) -> dict[str, Any]:
        index = self._check_index(index)
        f, offset, length = self._loc[3 * index : 3 * index + 3]
        return decode_line(self._reader.read(self.files[f], offset, length).decode("utf-8"))

    def _read(self, index: int, blank: bool) -> tuple[str, list[Image.Image], list[PointMap | None], str]:
        index = self._check_index(index)
        f = self._loc[3 * index]
        data = self.record(index)
        prompt, paths, answer = self._parse(data, self.files[f], 0)
        rid = str(data.get("id"))
        images = [open_image(p, record=rid, field="messages[0].content") for p in paths]
        view_ids = data.get("view_ids")
        scene_id = data.get("scene_id")
        point_maps: list[PointMap | None] = [None] * len(images)
        usable = isinstance(view_ids, list) and len(view_ids) == len(images) and isinstance(scene_id, str)
        if self.scenes is not None and not blank and usable:
            point_maps = [self.scenes.point_map(scene_id, str(v)) for v in view_ids]
        return prompt, images, point_maps, answer


def _parts(content: Any) -> list[dict[str, Any]]:
    """Content parts of a message: a string is one text part."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [p for p in content if isinstance(p, dict)]
    return []


def _export_image_root(path: Path) -> Path | None:
    """The --image-root an export recorded in its config.json (the folder above chat/ or parquet/)."""
    for folder in (path, *path.parents[:3]):
        config = folder / "config.json"
        if config.is_file() and ((folder / "chat").is_dir() or (folder / "parquet").is_dir()):
            try:
                root = json.loads(config.read_text(encoding="utf-8")).get("options", {}).get("image_root")
            except (OSError, ValueError, AttributeError):
                return None
            return Path(root) if isinstance(root, str) else None
    return None


# ---------------------------------------------------------------- opening


def _resolve(path: str, base_dir: Path | None) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() or base_dir is None else Path(base_dir) / p


def open_source(source: SourceConfig, *, base_dir: Path | None = None) -> TrainDataset:
    """Open one source as a TrainDataset; relative path / scenes resolve against base_dir (the training
    config file's folder). RecordError / ValueError naming the file and field when it cannot be opened."""
    path = _resolve(source.path, base_dir)
    scenes = _resolve(source.scenes, base_dir) if source.scenes is not None else None
    name = source.display_name
    if source.format == "engine":
        return EngineDataset(source, path, scenes, name)
    if source.format == "webdataset":
        return WebDatasetDataset(source, path, name)
    if source.format in ("parquet", "chat"):
        root_option = option(source.options, "image_root", None, str, f"source {name}")
        image_root = _resolve(root_option, base_dir) if root_option else _export_image_root(path)
        if source.format == "parquet":
            return ParquetDataset(source, path, scenes, image_root, name)
        return ChatDataset(source, path, scenes, image_root, name)
    from spatialforge.train.general import GeneralDataset

    if scenes is None:
        raise ValueError(f"source {name}: format general needs field scenes (the scenes JSONL)")
    return GeneralDataset(source, scenes, name)


def open_sources(sources: Sequence[SourceConfig], base_dir: Path | None = None) -> list[TrainDataset]:
    """open_source for each; ValueError when two sources share a name (logs and describe() key by it)."""
    names = [s.display_name for s in sources]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"sources: names {duplicates} are used more than once; give each a distinct name")
    return [open_source(s, base_dir=base_dir) for s in sources]
