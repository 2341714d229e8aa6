"""The QA gallery: a folder a newcomer opens to see what the data engine made.

`build_gallery(qa_path, scenes_path, output_dir)` samples `count` QA records and writes, into output_dir:

    index.html       one row per sampled record: thumbnail (links to its PNG), task, level, format,
                     question, choices, answer, the answer's SI value and unit, reasoning trace, scene id,
                     template id; a summary of what was read and skipped on top
    NNN_<task>_<id>.png
                     the record's image(s) side by side, in the record's order, with its markers (each on its
                     own image) and the objects it asks about drawn on; a multi-image record gets an
                     "Image k (view id)" caption under each image, numbered from 1 as its question names
                     them; then a text panel (task, question, choices, answer, SI value), so the PNG alone
                     is readable
    gallery.json     what was sampled and skipped (machine-readable; also marks the folder as a gallery, so a
                     rerun may replace it)

Sampling (deterministic for (seed, file content), memory bounded by count x tasks): the QA file is streamed
once; every valid record draws a key from random.Random(seed) in file order and each task keeps the `count`
records with the smallest keys (a bounded heap per task: a seeded reservoir). Records are then taken round
robin over the tasks in sorted order, each task's records in key order, so a gallery of 24 spreads over
up to 24 tasks. A sampled record that cannot be drawn is a counted skip and the next record of its task
takes its place.

Drawing: the record's markers with qa.draw_markers.draw_markers (exact MARKER_RGB colours, drawn last so
nothing covers them). Objects the record names (record.objects) that have no box marker on an image get a
thin outline of their 2D box in that view (Object3D.observation(view_id).box2d, image-clipped) in their
category colour and a small label "role: category". An object "has a marker" when a box marker of that
image matches its clipped 2D box within MARKER_MATCH_TOLERANCE_PX (markers name no object; the references
put them exactly on the clipped box, qa/references.py box_marker). Images are drawn at their own size
(pixel geometry stays exact); a strip wider than MAX_STRIP_WIDTH_PX is shrunk by nearest-neighbour
resampling, which keeps every surviving pixel's exact colour.

Bad input never crashes the run and never gives a wrong picture: it is a counted skip under a named reason
(SKIP_REASONS). `record_invalid` counts the malformed lines of the whole file; the other reasons count the
sampled records that could not be drawn. All text in index.html is HTML-escaped.

Writing: everything goes to a temporary sibling folder first, which then replaces output_dir, so a rerun
leaves exactly the new gallery (no stale PNGs from a larger count or another seed). An existing output_dir
is replaced only when it is empty or holds a gallery.json; anything else is refused.
"""

from __future__ import annotations

import heapq
import html
import json
import os
import random
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

from PIL import Image, ImageDraw

from spatialforge.errors import RecordError
from spatialforge.geometry.boxes2d import Box2D
from spatialforge.inspect.render import safe_file_stem
from spatialforge.inspect.style import (
    FontT,
    Rect,
    category_colour,
    draw_label,
    font_size_px,
    label_size,
    least_crowded,
    line_width_px,
    load_font,
    wrap_to_width,
)
from spatialforge.qa.draw_markers import (
    MARKER_REJECTIONS,
    PixelBox,
    box_pixels,
    draw_markers,
    markers_rejection,
)
from spatialforge.qa.io import iter_qa_lines
from spatialforge.qa.records import Marker, QAImage, QAObject, QARecord
from spatialforge.scene.io import iter_scene_lines
from spatialforge.scene.records import Object3D, Scene, View

INDEX_NAME = "index.html"
MANIFEST_NAME = "gallery.json"
GALLERY_FORMAT_VERSION = 1

# Why a record is not in the gallery (stable names; counted per record, first problem wins).
SKIP_REASONS = (
    "record_invalid",  # a QA line that is not JSON or not a valid QA record (counted over the whole file)
    "scene_missing",  # the record's scene_id is not in the scenes file (or only on a malformed line)
    "scene_duplicate",  # the scenes file holds the scene_id more than once: which camera is meant?
    "view_missing",  # the record names a view its scene does not have
    "image_path_mismatch",  # the record's image path is not its scene view's image_path
    "object_missing",  # the record names an object its scene does not have
    "path_escapes_root",  # the image path leaves the scene's asset_root (absolute, '..', a link)
    "image_missing",  # no file at the image path
    "image_unreadable",  # a file PIL cannot decode, or not a regular file
    "image_size_mismatch",  # the image is not the camera's size: marker and box pixels would be wrong
    *MARKER_REJECTIONS,  # a marker draw_markers refuses (qa/draw_markers.py)
)

# A box marker belongs to an object when each of its four pixel coordinates is within this of the
# object's image-clipped 2D box (the references copy the clipped box; 1 px absorbs float round trips).
MARKER_MATCH_TOLERANCE_PX = 1.0
# Images are shown at their own size up to this total strip width (a 1920 px image fits unshrunk).
MAX_STRIP_WIDTH_PX = 2560
# The text panel is at least this wide, so a small image still gets readable lines.
MIN_CANVAS_WIDTH_PX = 640
# Gap between side-by-side images and the panel's margins, pixels.
GAP_PX = 8
PANEL_BACKGROUND = (248, 248, 248)
PANEL_TEXT = (20, 20, 20)
PANEL_HEADER = (20, 70, 160)
PANEL_ANSWER = (0, 110, 40)
PANEL_MUTED = (100, 100, 100)
# Width of the index page's thumbnails, CSS pixels.
THUMB_WIDTH_PX = 320
# Longest record-id part of a PNG name (ids are 20 hex digits; a hostile id must not make a huge name).
MAX_ID_STEM_CHARS = 40


@dataclass(frozen=True)
class GalleryReport:
    """What build_gallery wrote and skipped. pngs: in gallery order (the order of index.html).
    records_seen: non-blank lines of the QA file. skipped: reason (SKIP_REASONS) -> records.
    skip_examples: reason -> the first example ("line 3: ..." or "record <id>: ...")."""

    output_dir: Path
    index_html: Path
    pngs: tuple[Path, ...]
    records_seen: int
    skipped: dict[str, int]
    skip_examples: dict[str, str] = field(default_factory=dict)


class GallerySkip(NamedTuple):
    """Why a sampled record cannot be drawn: reason is one of SKIP_REASONS."""

    reason: str
    detail: str


class GalleryItem(NamedTuple):
    """One gallery entry: the record and its PNG's file name (inside the gallery folder)."""

    record: QARecord
    png_name: str


class _Skips:
    """Counts by reason and the first example of each."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.examples: dict[str, str] = {}

    def add(self, reason: str, example: str) -> None:
        assert reason in SKIP_REASONS, reason
        self.counts[reason] += 1
        self.examples.setdefault(reason, example)


# ---------------------------------------------------------------- sampling


def sample_by_task(
    qa_path: Path, count: int, seed: int, skips: _Skips
) -> tuple[dict[str, list[QARecord]], int]:
    """(task -> up to `count` records in draw order, lines seen). Streams the file: each valid record draws
    a key from random.Random(seed) in file order and each task keeps its `count` smallest keys (a max-heap
    of at most `count` entries), so the sample is the same for the same seed and file content."""
    rng = random.Random(seed)
    heaps: dict[str, list[tuple[float, int, QARecord]]] = {}
    seen = 0
    for item in iter_qa_lines(qa_path):
        seen += 1
        if isinstance(item, RecordError):
            skips.add("record_invalid", str(item))
            continue
        key = rng.random()
        heap = heaps.setdefault(item.task, [])
        entry = (-key, seen, item)  # negated: heap[0] is the largest key, the first to drop
        if len(heap) < count:
            heapq.heappush(heap, entry)
        elif entry[0] > heap[0][0]:
            heapq.heapreplace(heap, entry)
    ordered = {
        task: [rec for _, _, rec in sorted(heap, key=lambda e: (-e[0], e[1]))] for task, heap in heaps.items()
    }
    return ordered, seen


def _load_scenes(scenes_path: Path, wanted: set[str]) -> tuple[dict[str, Scene], set[str]]:
    """The scenes in `wanted` (first occurrence) and the wanted ids that occur more than once. Malformed
    scene lines are passed over: their records become scene_missing."""
    found: dict[str, Scene] = {}
    duplicate: set[str] = set()
    for item in iter_scene_lines(scenes_path):
        if isinstance(item, RecordError) or item.scene_id not in wanted:
            continue
        if item.scene_id in found:
            duplicate.add(item.scene_id)
        else:
            found[item.scene_id] = item
    return found, duplicate


# ---------------------------------------------------------------- drawing one record


class _ViewImage(NamedTuple):
    image: Image.Image
    view: View


def load_record_image(scene: Scene, qa_image: QAImage) -> _ViewImage | GallerySkip:
    """The image of one QAImage as RGB with its scene view, or why it cannot be shown (no stand-in)."""
    try:
        view = scene.view(qa_image.view_id)
    except KeyError:
        return GallerySkip("view_missing", f"scene {scene.scene_id} has no view {qa_image.view_id!r}")
    if qa_image.path != view.image_path:
        return GallerySkip(
            "image_path_mismatch", f"record image {qa_image.path!r} != scene view image {view.image_path!r}"
        )
    try:
        path = scene.resolve(qa_image.path)
    except ValueError as e:
        return GallerySkip("path_escapes_root", str(e))
    if not path.exists():
        return GallerySkip("image_missing", f"no file {path}")
    if not path.is_file():
        return GallerySkip("image_unreadable", f"{path} is not a regular file")
    try:
        with Image.open(path) as im:
            image = im.convert("RGB")  # decodes fully: a truncated file fails here
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as e:
        return GallerySkip("image_unreadable", f"{path}: {type(e).__name__}: {e}")
    cam = view.camera
    if image.size != (cam.width, cam.height):
        return GallerySkip(
            "image_size_mismatch",
            f"{path} is {image.width}x{image.height}, the camera {cam.width}x{cam.height}",
        )
    return _ViewImage(image, view)


def _marker_matches(marker: Marker, box: Box2D) -> bool:
    if marker.kind != "box":
        return False
    return all(
        abs(m - b) <= MARKER_MATCH_TOLERANCE_PX
        for m, b in zip(marker.geometry_px, box.as_list(), strict=True)
    )


def _visible_box(obj: Object3D, view: View) -> Box2D | None:
    """obj's 2D box in view clipped to the image (pixels, xyxy), None when it has none there."""
    obs = obj.observation(view.view_id)
    if obs is None or obs.box2d is None or not obs.box2d.is_valid():
        return None
    box = obs.box2d.clipped(view.camera.width, view.camera.height)
    return box if box.is_valid() else None


def outline_width_px(width: int, height: int) -> int:
    """Thin outline for named objects without a marker: half the inspector's line, 1 px at VGA, so
    markers (3 px at VGA) stand out."""
    return max(1, line_width_px(width, height) // 2)


def draw_record_image(
    shown: _ViewImage, markers: Sequence[Marker], objects: Sequence[tuple[QAObject, Object3D]]
) -> Image.Image | GallerySkip:
    """One image with outlines + labels of the unmarked named objects, then the markers on top."""
    image, view = shown
    width, height = image.size
    rejection = markers_rejection(markers, width, height)
    if rejection is not None:
        return GallerySkip(rejection.reason, rejection.detail)
    canvas = image.copy()
    draw = ImageDraw.Draw(canvas)
    thin = outline_width_px(width, height)
    font = load_font(max(10, round(0.7 * font_size_px(width, height))))
    taken: list[Rect] = []
    for qa_obj, obj in objects:
        box = _visible_box(obj, view)
        if box is None or any(_marker_matches(m, box) for m in markers):
            continue
        px = box_pixels(box.as_list(), width, height)  # inclusive pixel range, same rule as markers
        if not isinstance(px, PixelBox):
            continue
        colour = category_colour(obj.category)
        draw.rectangle((px.left, px.top, px.right, px.bottom), outline=colour, width=thin)
        text = f"{qa_obj.role}: {qa_obj.category}"
        w, h = label_size(draw, text, font)
        spots = [(px.left, px.top - h - 1), (px.left, px.top + thin), (px.left, px.bottom + 1)]
        rect = least_crowded([(float(u), float(v)) for u, v in spots], (w, h), (width, height), taken)
        draw_label(draw, rect[:2], text, font, colour, (width, height))
    return draw_markers(canvas, markers)


def _record_objects(rec: QARecord, scene: Scene) -> list[tuple[QAObject, Object3D]] | GallerySkip:
    out = []
    for qa_obj in rec.objects:
        try:
            out.append((qa_obj, scene.object(qa_obj.object_id)))
        except KeyError:
            return GallerySkip("object_missing", f"scene {scene.scene_id} has no object {qa_obj.object_id!r}")
    return out


def render_record(rec: QARecord, scene: Scene) -> Image.Image | GallerySkip:
    """The record's PNG picture: its images side by side (markers, outlines) over its text panel."""
    objects = _record_objects(rec, scene)
    if isinstance(objects, GallerySkip):
        return objects
    drawn: list[Image.Image] = []
    for i, qa_image in enumerate(rec.images):
        shown = load_record_image(scene, qa_image)
        if isinstance(shown, GallerySkip):
            return GallerySkip(shown.reason, f"images[{i}]: {shown.detail}")
        markers = [m for m in rec.markers if m.image_index == i]
        picture = draw_record_image(shown, markers, objects)
        if isinstance(picture, GallerySkip):
            return GallerySkip(picture.reason, f"images[{i}]: {picture.detail}")
        drawn.append(picture)
    strip = side_by_side(drawn)
    if len(drawn) > 1:
        strip = with_captions(strip, [im.width for im in drawn], image_captions(rec))
    return with_text_panel(strip, panel_lines(rec))


def side_by_side(images: Sequence[Image.Image]) -> Image.Image:
    """Images left to right, GAP_PX apart, top-aligned; shrunk (nearest neighbour) when the strip is wider
    than MAX_STRIP_WIDTH_PX."""
    width = sum(im.width for im in images) + GAP_PX * (len(images) - 1)
    height = max(im.height for im in images)
    strip = Image.new("RGB", (width, height), PANEL_BACKGROUND)
    x = 0
    for im in images:
        strip.paste(im, (x, 0))
        x += im.width + GAP_PX
    if width > MAX_STRIP_WIDTH_PX:
        scale = MAX_STRIP_WIDTH_PX / width
        strip = strip.resize((MAX_STRIP_WIDTH_PX, max(1, round(height * scale))), Image.Resampling.NEAREST)
    return strip


def image_captions(rec: QARecord) -> list[str]:
    """ "Image k (view id)" per image, numbered from 1 in the record's order (images[0] is the main view of a
    multi-view question, the "image 1" its text names)."""
    return [f"Image {k} ({im.view_id})" for k, im in enumerate(rec.images, start=1)]


def with_captions(strip: Image.Image, widths: Sequence[int], captions: Sequence[str]) -> Image.Image:
    """strip with a band under it holding each image's caption, centred under the image. widths: the images'
    widths before side_by_side shrank the strip (their positions are scaled with it). A caption wider than
    its image keeps only its first word pair ("Image 2"); the pictures above are not touched."""
    unshrunk = sum(widths) + GAP_PX * (len(widths) - 1)
    scale = strip.width / unshrunk
    font = load_font(panel_font_px(max(strip.width, MIN_CANVAS_WIDTH_PX)))
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    line_h = label_size(measure, "Ag", font)[1]
    canvas = Image.new("RGB", (strip.width, strip.height + line_h + GAP_PX), PANEL_BACKGROUND)
    canvas.paste(strip, (0, 0))
    draw = ImageDraw.Draw(canvas)
    top = draw.textbbox((0, 0), "Ag", font=font)[1]
    x = 0.0
    for width, caption in zip(widths, captions, strict=True):
        shown_w = width * scale
        text = caption if font.getlength(caption) <= shown_w else " ".join(caption.split()[:2])
        left = x * scale + max(0.0, (shown_w - font.getlength(text)) / 2)
        draw.text((left, strip.height + GAP_PX // 2 - top), text, font=font, fill=PANEL_TEXT)
        x += width + GAP_PX
    return canvas


# ---------------------------------------------------------------- text


def format_value(value: Any) -> str:
    """answer_value as text: floats to 6 significant digits, bools as true/false, tuples as [a, b]."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(value, ".6g")
    if isinstance(value, tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


def si_value_text(rec: QARecord) -> str:
    return format_value(rec.answer_value) + (f" {rec.unit}" if rec.unit else "")


def panel_lines(rec: QARecord) -> list[tuple[str, tuple[int, int, int], str]]:
    """(prefix, colour, text) per paragraph of the PNG's text panel; wrapped later to the canvas width."""
    header = f"{rec.task} | level {rec.level} | {rec.format}"
    if rec.difficulty:
        header += f" | {rec.difficulty}"
    lines = [("", PANEL_HEADER, header), ("Q: ", PANEL_TEXT, rec.question)]
    # Most question texts already list their options (mcq layouts); repeat them only when the text does not.
    if not all(c.text in rec.question for c in rec.choices):
        lines += [("    ", PANEL_TEXT, f"{c.label}. {c.text}") for c in rec.choices]
    lines.append(("A: ", PANEL_ANSWER, rec.answer))
    lines.append(("", PANEL_MUTED, f"value: {si_value_text(rec)}"))
    if len(rec.images) > 1:
        views = ", ".join(f"{i + 1}: {im.view_id}" for i, im in enumerate(rec.images))
        lines.append(("", PANEL_MUTED, f"images left to right: {views}"))
    lines.append(("", PANEL_MUTED, f"scene {rec.scene_id} | template {rec.template_id} | id {rec.id}"))
    return lines


def panel_font_px(canvas_width: int) -> int:
    """14 px at 640 wide, 28 px at 1260 and wider."""
    return int(min(28, max(14, round(canvas_width / 45))))


def with_text_panel(
    strip: Image.Image, lines: Sequence[tuple[str, tuple[int, int, int], str]]
) -> Image.Image:
    """strip on top, the wrapped text paragraphs under it; the canvas is at least MIN_CANVAS_WIDTH_PX wide."""
    width = max(strip.width, MIN_CANVAS_WIDTH_PX)
    font = load_font(panel_font_px(width))
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    line_h = label_size(measure, "Ag", font)[1] + 2
    rows: list[tuple[str, tuple[int, int, int]]] = []
    for prefix, colour, text in lines:
        indent = " " * len(prefix)
        wrapped = _wrap(text, font, width - 2 * GAP_PX - font.getlength(prefix))
        rows += [((prefix if k == 0 else indent) + part, colour) for k, part in enumerate(wrapped)]
    panel_h = 2 * GAP_PX + line_h * len(rows)
    canvas = Image.new("RGB", (width, strip.height + panel_h), PANEL_BACKGROUND)
    canvas.paste(strip, (0, 0))
    draw = ImageDraw.Draw(canvas)
    top = draw.textbbox((0, 0), "Ag", font=font)[1]
    for k, (text, colour) in enumerate(rows):
        draw.text((GAP_PX, strip.height + GAP_PX + k * line_h - top), text, font=font, fill=colour)
    return canvas


def _wrap(text: str, font: FontT, max_width_px: float) -> list[str]:
    """wrap_to_width per line of `text` (question texts may hold newlines)."""
    out: list[str] = []
    for paragraph in text.splitlines() or [""]:
        out += wrap_to_width(paragraph, font, max_width_px)
    return out


# ---------------------------------------------------------------- HTML


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


_CSS = """body{font-family:sans-serif;margin:1em;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}
th{background:#eee}td.q{max-width:28em;white-space:pre-wrap}ol{margin:0;padding-left:1.4em}code{font-size:90%}"""


def index_html(
    items: Sequence[GalleryItem], qa_name: str, records_seen: int, skipped: dict[str, int], seed: int
) -> str:
    """The index page (every text HTML-escaped)."""
    skip_text = ", ".join(f"{_e(r)}: {n}" for r, n in skipped.items()) or "none"
    head = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>QA gallery: {_e(qa_name)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>QA gallery: {_e(qa_name)}</h1>\n"
        f"<p>{len(items)} records shown (seed {seed}) of {records_seen} lines read; "
        f"skipped: {skip_text}.</p>\n"
    )
    columns = (
        "#", "image", "task", "level", "format", "question", "choices", "answer", "SI value",
        "reasoning", "scene", "template",
    )  # fmt: skip
    rows = [_row(k, item) for k, item in enumerate(items, start=1)]
    table = (
        "<table>\n<tr>" + "".join(f"<th>{c}</th>" for c in columns) + "</tr>\n" + "".join(rows) + "</table>\n"
    )
    if not items:
        table = "<p>No record could be shown.</p>\n"
    return head + table + "</body>\n</html>\n"


def _row(k: int, item: GalleryItem) -> str:
    rec = item.record
    href = _e(quote(item.png_name))
    thumb = (
        f'<a href="{href}"><img src="{href}" width="{THUMB_WIDTH_PX}" loading="lazy" '
        f'alt="{_e(rec.task)} record {_e(rec.id)}"></a>'
    )
    choices = (
        "<ol>" + "".join(f"<li><b>{_e(c.label)}</b>. {_e(c.text)}</li>" for c in rec.choices) + "</ol>"
        if rec.choices
        else ""
    )
    reasoning = ""
    if rec.reasoning:
        steps = "".join(f"<li>{_e(s)}</li>" for s in rec.reasoning)
        reasoning = f"<details><summary>{len(rec.reasoning)} steps</summary><ol>{steps}</ol></details>"
    difficulty = f"<br>{_e(rec.difficulty)}" if rec.difficulty else ""
    cells = (
        ("", str(k)),
        ("", thumb),
        ("", _e(rec.task)),
        ("", f"{rec.level}{difficulty}"),
        ("", _e(rec.format)),
        (' class="q"', _e(rec.question)),
        ("", choices),
        ("", _e(rec.answer)),
        ("", f"<code>{_e(si_value_text(rec))}</code>"),
        ("", reasoning),
        ("", _e(rec.scene_id)),
        ("", f"<code>{_e(rec.template_id)}</code>"),
    )
    return "<tr>" + "".join(f"<td{attrs}>{content}</td>" for attrs, content in cells) + "</tr>\n"


# ---------------------------------------------------------------- files


def png_name(position: int, rec: QARecord) -> str:
    """NNN_<task>_<id>.png, characters outside [A-Za-z0-9._-] replaced (inspect/render.py safe_file_stem);
    the position keeps names distinct even for records sharing an id."""
    return f"{position:03d}_{safe_file_stem(rec.task)}_{safe_file_stem(rec.id)[:MAX_ID_STEM_CHARS]}.png"


def _check_output_dir(output_dir: Path, inputs: Sequence[Path]) -> None:
    """Refuse to replace a folder that is not a gallery, or one holding an input."""
    out = output_dir.resolve()
    for path in inputs:
        if out in path.resolve().parents:
            raise ValueError(f"output_dir {output_dir} holds the input {path}; it would be replaced")
    if output_dir.exists() and not output_dir.is_dir():
        raise ValueError(f"output_dir {output_dir} exists and is not a folder")
    if output_dir.is_dir() and any(output_dir.iterdir()) and not (output_dir / MANIFEST_NAME).is_file():
        raise ValueError(
            f"output_dir {output_dir} is not empty and holds no {MANIFEST_NAME}: not a gallery, not replaced"
        )


def _replace_dir(built: Path, output_dir: Path) -> None:
    """Move the finished gallery into place; an old one is moved aside first and then deleted."""
    old = None
    if output_dir.exists():
        old = output_dir.with_name(f".{output_dir.name}.old-{os.getpid()}")
        os.replace(output_dir, old)
    os.replace(built, output_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# ---------------------------------------------------------------- the run


def _check_args(qa_path: Path, scenes_path: Path, count: int, seed: int) -> None:
    if type(count) is not int or count < 1:
        raise ValueError(f"count must be an integer >= 1, got {count!r}")
    if type(seed) is not int:
        raise ValueError(f"seed must be an integer, got {seed!r}")
    for name, path in (("qa_path", qa_path), ("scenes_path", scenes_path)):
        if not path.is_file():
            raise ValueError(f"{name} {path} is not a file")


def _select(
    by_task: dict[str, list[QARecord]],
    scenes: dict[str, Scene],
    duplicate: set[str],
    count: int,
    skips: _Skips,
) -> list[tuple[QARecord, Image.Image]]:
    """Round robin over tasks in sorted order, each task's records in draw order, until `count` are drawn;
    a record that cannot be drawn is counted and the next one of its task tried in its place."""
    queues = {task: list(reversed(by_task[task])) for task in sorted(by_task)}  # pop() takes the next
    chosen: list[tuple[QARecord, Image.Image]] = []
    while len(chosen) < count and any(queues.values()):
        for task in sorted(queues):
            queue = queues[task]
            while queue and len(chosen) < count:
                rec = queue.pop()
                picture = _draw_sampled(rec, scenes, duplicate)
                if isinstance(picture, GallerySkip):
                    skips.add(picture.reason, f"record {rec.id}: {picture.detail}")
                    continue
                chosen.append((rec, picture))
                break
    return chosen


def _draw_sampled(rec: QARecord, scenes: dict[str, Scene], duplicate: set[str]) -> Image.Image | GallerySkip:
    if rec.scene_id in duplicate:
        return GallerySkip("scene_duplicate", f"scene {rec.scene_id} appears more than once")
    scene = scenes.get(rec.scene_id)
    if scene is None:
        return GallerySkip("scene_missing", f"no scene {rec.scene_id} in the scenes file")
    return render_record(rec, scene)


def build_gallery(
    qa_path: Path, scenes_path: Path, output_dir: Path, *, count: int = 24, seed: int = 0
) -> GalleryReport:
    """Sample `count` records of qa_path spread over tasks, draw each as a PNG, write index.html; see the
    module docstring. Raises ValueError for bad arguments (count < 1, a missing input file, an output_dir
    that is not a gallery); bad records and images are counted skips."""
    qa_path, scenes_path, output_dir = Path(qa_path), Path(scenes_path), Path(output_dir)
    _check_args(qa_path, scenes_path, count, seed)
    _check_output_dir(output_dir, (qa_path, scenes_path))
    skips = _Skips()
    by_task, seen = sample_by_task(qa_path, count, seed, skips)
    wanted = {rec.scene_id for records in by_task.values() for rec in records}
    scenes, duplicate = _load_scenes(scenes_path, wanted)
    chosen = _select(by_task, scenes, duplicate, count, skips)

    items = [GalleryItem(rec, png_name(k, rec)) for k, (rec, _) in enumerate(chosen, start=1)]
    skipped = {r: skips.counts[r] for r in SKIP_REASONS if skips.counts[r]}
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    built = output_dir.with_name(f".{output_dir.name}.partial-{os.getpid()}")
    shutil.rmtree(built, ignore_errors=True)
    built.mkdir()
    try:
        for item, (_, picture) in zip(items, chosen, strict=True):
            picture.save(built / item.png_name, format="PNG")
        (built / INDEX_NAME).write_text(
            index_html(items, qa_path.name, seen, skipped, seed), encoding="utf-8"
        )
        manifest = {
            "gallery_format_version": GALLERY_FORMAT_VERSION,
            "qa": str(qa_path),
            "scenes": str(scenes_path),
            "count": count,
            "seed": seed,
            "records_seen": seen,
            "skipped": skipped,
            "skip_examples": {r: skips.examples[r] for r in skipped},
            "items": [
                {
                    "png": it.png_name,
                    "id": it.record.id,
                    "task": it.record.task,
                    "scene_id": it.record.scene_id,
                }
                for it in items
            ],
        }
        (built / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        _replace_dir(built, output_dir)
    finally:
        shutil.rmtree(built, ignore_errors=True)
    return GalleryReport(
        output_dir=output_dir,
        index_html=output_dir / INDEX_NAME,
        pngs=tuple(output_dir / it.png_name for it in items),
        records_seen=seen,
        skipped=skipped,
        skip_examples={r: skips.examples[r] for r in skipped},
    )
