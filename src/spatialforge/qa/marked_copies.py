"""`spatialforge draw-markers`: drawn copies of the images that QA records put markers on.

Input: a QA JSONL (e.g. `generate`'s data.jsonl) and the scenes JSONL it was generated from. Output, all in
one folder so that it can be moved as a whole:

    data_marked.jsonl        every input record, in input order; a record with markers gets, in each images
                             entry its markers are on, `marked_path`: its drawn copy, relative to this folder
    images/ab/abcd....png    one drawn copy per distinct (scene, view, image path, marker set, format)
    draw_report.json         counts: records, marked, skipped by reason, copies drawn / reused

Why a separate command and not a `generate` option: generation stays pure geometry and fast; drawing is
image I/O, wanted only for some training recipes, and can be redone with another style without
regenerating.

A copy's name is a hash of what it shows (DRAW_STYLE_VERSION, scene id, view id, image path, the markers in
a canonical order, the file format), so records that show the same markers on the same image share one file,
and a re-run finds every copy already there and draws nothing (resumable after a kill: copies are written to
a temporary name and renamed). The name does not hash the source pixels: replace the source images and the
old copies are stale; delete the images/ folder then.

Multi-image records (multi-view questions: images[0] the main view, a marker on images[marker.image_index]):
one copy per image that carries markers, showing that image's markers only; an image without markers gets
no copy and no marked_path - it is shown as the original (there is nothing to draw on it), so a consumer
takes marked_path where present and path otherwise, image by image, in the record's order. A copy's name does
not depend on the image's position in the record, so the same view with the same markers is one file for
every record that shows it.

A record is marked all or nothing: if any of its marked images cannot be drawn (SKIP_REASONS), none of its
images gets a marked_path (a multi-view question with one copy missing would show the wrong picture), it is
counted under the first reason, and it is still written. Records without markers are copied line for line.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, NamedTuple

from PIL import Image

from spatialforge.errors import RecordError
from spatialforge.files import write_atomic
from spatialforge.jsonl import JsonlWriter, decode_line, encode_line
from spatialforge.qa.draw_markers import (
    MARKER_REJECTIONS,
    box_is_clipped,
    draw_markers,
    markers_rejection,
)
from spatialforge.qa.records import Marker, QARecord, qa_from_dict
from spatialforge.scene.io import iter_scene_lines
from spatialforge.scene.records import resolve_inside

MARKED_QA_NAME = "data_marked.jsonl"
REPORT_NAME = "draw_report.json"
IMAGES_DIR = "images"
# Bump when the drawing changes (colours, widths, shapes): new copies get new names, old ones are not reused.
DRAW_STYLE_VERSION = 1
IMAGE_FORMATS = {"png": "PNG", "jpg": "JPEG"}
# JPEG: high quality and no chroma subsampling, so thin coloured lines keep their colour.
JPEG_QUALITY = 95
# PNG: zlib level 3 is about 3x faster than the default 6 for files a few percent larger.
PNG_COMPRESS_LEVEL = 3

# Why a record's markers were not drawn (stable names; counted per record, first reason wins).
SKIP_REASONS = (
    "scene_not_found",  # the record's scene_id is not in the scenes file
    "scene_id_duplicate",  # the scenes file holds that scene_id more than once (which camera is meant?)
    "view_not_found",  # the record's view_id is not a view of its scene
    "image_path_mismatch",  # the record's image path is not the scene view's image_path
    "path_escapes_root",  # the image path leaves the scene's asset_root (absolute, '..', or a link)
    "image_missing",  # no file at the image path
    "image_unreadable",  # a file that PIL cannot decode (or not a regular file)
    "image_size_mismatch",  # the image's size is not the scene camera's: the pixel geometry would be wrong
    *MARKER_REJECTIONS,  # qa/draw_markers.py: unknown colour, point outside the image, ...
)


class ViewImage(NamedTuple):
    """What drawing needs from a scene view: where its image is and the camera's image size (pixels)."""

    asset_root: str
    image_path: str
    width: int
    height: int


class DrawJob(NamedTuple):
    """One drawn copy: `markers` (canonical order) on the image of (scene_id, view_id), saved at `name`."""

    name: str
    scene_id: str
    view_id: str
    image_path: str
    markers: tuple[Marker, ...]


class RecordSkip(NamedTuple):
    """Why a record got no drawn copies: reason is one of SKIP_REASONS."""

    reason: str
    detail: str


class JobOutcome(NamedTuple):
    """status: "drawn" (written now), "reused" (already there) or "skipped" (reason, detail)."""

    status: str
    reason: str | None = None
    detail: str = ""


@dataclass
class MarkReport:
    qa: str
    scenes: str
    output: str
    image_format: str
    draw_style_version: int = DRAW_STYLE_VERSION
    records: int = 0
    records_with_markers: int = 0
    records_marked: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # records by reason
    first_skip: dict[str, str] = field(default_factory=dict)  # reason -> first example (record: detail)
    invalid_lines: dict[str, int] = field(default_factory=dict)  # bad QA lines by reason (skip_invalid)
    invalid_scene_lines: int = 0
    copies: int = 0  # distinct (image, marker set) pairs
    copies_drawn: int = 0
    copies_reused: int = 0
    copies_skipped: int = 0
    boxes_clipped: int = 0  # box markers (per copy) partly outside the image, drawn clipped
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# ---------------------------------------------------------------- naming


def canonical_markers(markers: Sequence[Marker]) -> tuple[Marker, ...]:
    """Markers in a fixed order (kind, colour, pixel geometry): the same set gives the same copy."""
    return tuple(sorted(markers, key=lambda m: (m.kind, m.colour, m.geometry_px, m.geometry_norm)))


def copy_name(
    scene_id: str, view_id: str, image_path: str, markers: Sequence[Marker], image_format: str
) -> str:
    """images/<2 hex>/<32 hex>.<ext>: a BLAKE2b hash of what the copy shows (128 bits: no collision in any
    dataset size we will meet). Markers are hashed in canonical order, without their image_index (a record's
    index of the image is not part of the picture)."""
    key = json.dumps(
        {
            "style": DRAW_STYLE_VERSION,
            "scene_id": scene_id,
            "view_id": view_id,
            "image_path": image_path,
            "format": image_format,
            "markers": [
                [m.kind, m.colour, list(m.geometry_px), list(m.geometry_norm)]
                for m in canonical_markers(markers)
            ],
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=16).hexdigest()
    return f"{IMAGES_DIR}/{digest[:2]}/{digest}.{image_format}"


def markers_by_image(rec: QARecord) -> dict[int, tuple[Marker, ...]]:
    """image index -> that image's markers (canonical order), for the images that have markers."""
    out: dict[int, list[Marker]] = {}
    for m in rec.markers:
        out.setdefault(m.image_index, []).append(m)
    return {i: canonical_markers(ms) for i, ms in sorted(out.items())}


def record_jobs(rec: QARecord, image_format: str) -> dict[int, DrawJob]:
    """image index -> the copy that image needs."""
    jobs = {}
    for i, markers in markers_by_image(rec).items():
        im = rec.images[i]
        name = copy_name(rec.scene_id, im.view_id, im.path, markers, image_format)
        jobs[i] = DrawJob(name, rec.scene_id, im.view_id, im.path, markers)
    return jobs


# ---------------------------------------------------------------- reading


def _qa_lines(path: Path, skip_invalid: bool, invalid: Counter[str]) -> Iterator[tuple[str, QARecord]]:
    """(raw line, record) for each non-blank line; a bad line raises RecordError, or is counted by reason
    in `invalid` and left out when skip_invalid."""
    with open(path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"line {line_no}"
            try:
                try:
                    data = decode_line(line)
                except json.JSONDecodeError as e:
                    raise RecordError("invalid_json", f"not valid JSON ({e.msg})", record=where) from None
                rec = qa_from_dict(data, where)
            except RecordError as e:
                if not skip_invalid:
                    raise e.located(file=str(path)) from None
                invalid[e.reason] += 1
                continue
            yield line.rstrip("\n"), rec


def _view_images(
    scenes_path: Path, wanted: set[str], report: MarkReport
) -> tuple[dict[tuple[str, str], ViewImage], set[str], set[str]]:
    """(scene_id, view_id) -> ViewImage for the scenes in `wanted`; also the wanted scene ids found and
    those found more than once. Bad scene lines are counted (a record of theirs becomes scene_not_found)."""
    views: dict[tuple[str, str], ViewImage] = {}
    seen: set[str] = set()
    duplicate: set[str] = set()
    for item in iter_scene_lines(scenes_path):
        if isinstance(item, RecordError):
            report.invalid_scene_lines += 1
            continue
        if item.scene_id not in wanted:
            continue
        if item.scene_id in seen:
            duplicate.add(item.scene_id)
            continue
        seen.add(item.scene_id)
        for v in item.views:
            views[(item.scene_id, v.view_id)] = ViewImage(
                item.asset_root, v.image_path, v.camera.width, v.camera.height
            )
    return views, seen, duplicate


# ---------------------------------------------------------------- drawing one copy


def job_precheck(
    job: DrawJob,
    views: dict[tuple[str, str], ViewImage],
    scenes_found: set[str],
    duplicate: set[str],
) -> JobOutcome | ViewImage:
    """Everything that can be decided without reading the image: the ViewImage, or why not."""
    if job.scene_id in duplicate:
        return JobOutcome("skipped", "scene_id_duplicate", f"scene {job.scene_id} appears more than once")
    if job.scene_id not in scenes_found:
        return JobOutcome("skipped", "scene_not_found", f"no scene {job.scene_id} in the scenes file")
    view = views.get((job.scene_id, job.view_id))
    if view is None:
        return JobOutcome("skipped", "view_not_found", f"scene {job.scene_id} has no view {job.view_id!r}")
    if view.image_path != job.image_path:
        return JobOutcome(
            "skipped",
            "image_path_mismatch",
            f"record image {job.image_path!r} != scene view image {view.image_path!r}",
        )
    rejection = markers_rejection(job.markers, view.width, view.height)
    if rejection is not None:
        return JobOutcome("skipped", rejection.reason, rejection.detail)
    return view


def _load_image(view: ViewImage) -> Image.Image | JobOutcome:
    """The source image as RGB, or why it cannot be used (never a stand-in canvas)."""
    try:
        path = resolve_inside(view.asset_root, view.image_path)
    except ValueError as e:
        return JobOutcome("skipped", "path_escapes_root", str(e))
    if not path.exists():
        return JobOutcome("skipped", "image_missing", f"no file {path}")
    if not path.is_file():
        return JobOutcome("skipped", "image_unreadable", f"{path} is not a regular file")
    try:
        with Image.open(path) as im:
            image = im.convert("RGB")  # decodes fully: a truncated file fails here, not later
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as e:
        # PIL.UnidentifiedImageError is an OSError; broken PNG chunks raise SyntaxError
        return JobOutcome("skipped", "image_unreadable", f"{path}: {type(e).__name__}: {e}")
    if image.size != (view.width, view.height):
        return JobOutcome(
            "skipped",
            "image_size_mismatch",
            f"{path} is {image.width}x{image.height}, the scene camera {view.width}x{view.height}",
        )
    return image


def _save_atomic(image: Image.Image, final: Path, image_format: str) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f"{final.name}.tmp-{os.getpid()}")
    try:
        if image_format == "jpg":
            image.save(tmp, format="JPEG", quality=JPEG_QUALITY, subsampling=0)
        else:
            image.save(tmp, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def draw_copy(job: DrawJob, view: ViewImage, output_dir: str, image_format: str) -> JobOutcome:
    """Draw and save one copy (a worker's unit); an existing copy is reused without reading anything."""
    final = Path(output_dir) / job.name
    if final.is_file():
        return JobOutcome("reused")
    loaded = _load_image(view)
    if isinstance(loaded, JobOutcome):
        return loaded
    _save_atomic(draw_markers(loaded, job.markers), final, image_format)
    return JobOutcome("drawn")


def _draw_star(args: tuple[DrawJob, ViewImage, str, str]) -> JobOutcome:
    return draw_copy(*args)


def _draw_all(
    todo: list[tuple[DrawJob, ViewImage, str, str]], workers: int
) -> Iterator[tuple[DrawJob, JobOutcome]]:
    if workers <= 1 or len(todo) < 2:
        for args in todo:
            yield args[0], _draw_star(args)
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        chunk = max(1, min(64, len(todo) // (4 * workers)))
        yield from zip((a[0] for a in todo), pool.map(_draw_star, todo, chunksize=chunk), strict=True)


# ---------------------------------------------------------------- the run


def run_draw_markers(
    qa_path: str | Path,
    scenes_path: str | Path,
    output_dir: str | Path,
    *,
    image_format: str = "png",
    workers: int = 1,
    skip_invalid: bool = False,
) -> MarkReport:
    """Draw every record's markers on copies of its images; write data_marked.jsonl and draw_report.json.

    A bad QA line raises RecordError (file and line named) unless skip_invalid, which leaves it out and
    counts it. Per-record problems never stop the run: they are counted under SKIP_REASONS."""
    if image_format not in IMAGE_FORMATS:
        raise ValueError(f"image format must be one of {sorted(IMAGE_FORMATS)}, got {image_format!r}")
    start = time.perf_counter()
    qa_path, scenes_path, output_dir = Path(qa_path), Path(scenes_path), Path(output_dir)
    report = MarkReport(str(qa_path), str(scenes_path), str(output_dir), image_format)
    out_jsonl = output_dir / MARKED_QA_NAME
    if out_jsonl.resolve() == qa_path.resolve():
        raise ValueError(f"the output {out_jsonl} would overwrite the input")

    # Pass 1: the distinct copies and the scenes they need.
    jobs: dict[str, DrawJob] = {}
    invalid: Counter[str] = Counter()
    for _, rec in _qa_lines(qa_path, skip_invalid, invalid):
        for job in record_jobs(rec, image_format).values():
            jobs.setdefault(job.name, job)
    views, found, duplicate = _view_images(scenes_path, {j.scene_id for j in jobs.values()}, report)

    # Draw: checks that need no image first, then the copies (in parallel when asked).
    outcomes: dict[str, JobOutcome] = {}
    todo = []
    for name in sorted(jobs):
        job = jobs[name]
        checked = job_precheck(job, views, found, duplicate)
        if isinstance(checked, JobOutcome):
            outcomes[name] = checked
        else:
            todo.append((job, checked, str(output_dir), image_format))
            report.boxes_clipped += sum(
                m.kind == "box" and box_is_clipped(m.geometry_px, checked.width, checked.height)
                for m in job.markers
            )
    for job, outcome in _draw_all(todo, workers):
        outcomes[job.name] = outcome
    report.copies = len(outcomes)
    status = Counter(o.status for o in outcomes.values())
    report.copies_drawn, report.copies_reused = status["drawn"], status["reused"]
    report.copies_skipped = status["skipped"]

    # Pass 2: the records, in input order; records without markers line for line.
    skipped: Counter[str] = Counter()
    invalid.clear()  # counted again by the second read of the same file
    with JsonlWriter(out_jsonl, lambda line: line, encode=lambda line: line) as writer:
        for line, rec in _qa_lines(qa_path, skip_invalid, invalid):
            report.records += 1
            if not rec.markers:
                writer.write(line)
                continue
            report.records_with_markers += 1
            marked = _mark_record(line, rec, image_format, outcomes)
            if isinstance(marked, RecordSkip):
                skipped[marked.reason] += 1
                report.first_skip.setdefault(marked.reason, f"record {rec.id}: {marked.detail}")
                writer.write(_without_marked_paths(line))
            else:
                report.records_marked += 1
                writer.write(marked)
    report.skipped = dict(sorted(skipped.items()))
    report.invalid_lines = dict(sorted(invalid.items()))
    report.seconds = round(time.perf_counter() - start, 3)
    _write_report(output_dir / REPORT_NAME, report)
    return report


def _mark_record(
    line: str, rec: QARecord, image_format: str, outcomes: dict[str, JobOutcome]
) -> str | RecordSkip:
    """The record's line with marked_path set on each marked image, or the first image's skip reason."""
    paths: dict[int, str] = {}
    for i, job in record_jobs(rec, image_format).items():
        outcome = outcomes[job.name]
        if outcome.status == "skipped":
            assert outcome.reason is not None
            return RecordSkip(outcome.reason, f"images[{i}]: {outcome.detail}")
        paths[i] = job.name
    data = decode_line(line)
    for i, image in enumerate(data["images"]):
        image.pop("marked_path", None)  # a copy from an earlier run elsewhere is not relative to this folder
        if i in paths:
            image["marked_path"] = paths[i]
    return encode_line(data)


def _without_marked_paths(line: str) -> str:
    data = decode_line(line)
    if not any("marked_path" in image for image in data["images"]):
        return line
    for image in data["images"]:
        image.pop("marked_path", None)
    return encode_line(data)


def _write_report(path: Path, report: MarkReport) -> None:
    write_atomic(path, json.dumps(report.as_dict(), indent=2) + "\n")
