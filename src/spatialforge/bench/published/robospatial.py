"""RoboSpatial-Home, read from its released files.

Upstream: Hugging Face dataset `chanhee-luke/RoboSpatial-Home` (350 questions, three splits named after the
categories: configuration 123, compatibility 105, context 122), scored as the authors' evaluation
repository chanhee-luke/RoboSpatial-Eval scores it (evaluation.py and main.py at commit 73853993ac21, README
at 0fa34cdd49ba).
Two layouts are read, the first found in this order:
- the dataset snapshot (`hf download chanhee-luke/RoboSpatial-Home --repo-type dataset`):
  `data/<split>-NNNNN-of-NNNNN.parquet`, columns category, question, answer (strings), img, depth_image, mask
  (HF Image cells: struct<bytes, path>);
- the folder RoboSpatial-Eval's download_benchmark.py writes and its main.py reads: `annotations.json`, a list
  of {category, question, answer, img, depth_image, mask} with image paths relative to the folder
  ("images/img_context_0.png").
Item ids are "<split>_<row>", the row counted from 0 within each split in file order: the names
download_benchmark.py gives the images (img_<split>_<idx>.png), so both layouts give the same ids.

Prompt: the released `question`, verbatim, with the RGB image (RoboSpatial-Eval models.py sends the question
as it is; the context questions carry their own answer-format instruction, "Your answer should be formatted as
a list of tuples, i.e. [(x1, y1), ...] ... between 0 and 1 ..."). The depth image and the mask are not sent.

Gold: "Yes" / "No" for configuration and compatibility; for context a polygon "[(x1, y1), (x2, y2), ...]" on
the 0-1 image scale (evaluation.py `evaluate_answer` reads it with ast.literal_eval and needs >= 3 vertices;
we read the released tuple form with a strict pattern, never eval). Scoring and totals: the `robospatial`
spec (bench/benchmarks.py): yes/no by our yes/no parser, context by the first point of the reply inside the
polygon, overall = mean of the three category accuracies (README leaderboard "Total").
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from spatialforge.bench.benchmarks import ROBOSPATIAL_CATEGORIES
from spatialforge.bench.published.base import (
    ImageData,
    LoaderContext,
    LoaderSkip,
    PublishedBenchmark,
    PublishedItem,
    image_cell,
    image_suffix,
)
from spatialforge.errors import RecordError

PARQUET_GLOB = "data/*.parquet"
ANNOTATIONS_FILE = "annotations.json"
# The released columns the loader reads (depth_image and mask are released too; nothing here uses them).
COLUMNS = ["category", "question", "answer", "img"]
# A released shard is "<split>-00000-of-00001.parquet" (HF datasets' naming).
_SHARD_RE = re.compile(r"^(?P<split>[A-Za-z_]+)-\d+-of-\d+\.parquet$")
_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_VERTEX = rf"\(\s*{_NUM}\s*,\s*{_NUM}\s*\)"
# The released polygon: a Python list of (x, y) tuples, nothing else.
_POLYGON_RE = re.compile(rf"^\s*\[\s*{_VERTEX}(?:\s*,\s*{_VERTEX})*\s*,?\s*\]\s*$")
_VERTEX_RE = re.compile(rf"\(\s*({_NUM})\s*,\s*({_NUM})\s*\)")


def released_polygon(answer: str) -> list[list[float]] | None:
    """The released context answer as [[x, y], ...] (>= 3 finite vertices on the 0-1 scale), else None."""
    if not _POLYGON_RE.match(answer):
        return None
    vertices = [[float(x), float(y)] for x, y in _VERTEX_RE.findall(answer)]
    if len(vertices) < 3:  # evaluation.py scores a shorter "polygon" wrong whatever the reply
        return None
    if not all(math.isfinite(c) and 0.0 <= c <= 1.0 for vertex in vertices for c in vertex):
        return None
    return vertices


def _item(
    ctx: LoaderContext, item_id: str, row: dict[str, Any], image: ImageData, extra: dict[str, Any]
) -> PublishedItem | LoaderSkip:
    """One released row as an item, or why it is not asked (image already read)."""
    question, answer, category = row.get("question"), row.get("answer"), row.get("category")
    # evaluation.py counts a row without question or answer as an "illformed question" and skips it.
    if not isinstance(question, str) or not question.strip():
        return LoaderSkip(item_id, "missing_question", "no question text")
    if not isinstance(answer, str) or not answer.strip():
        return LoaderSkip(item_id, "missing_answer", "no answer text")
    if category not in ROBOSPATIAL_CATEGORIES:
        return LoaderSkip(
            item_id, "unknown_category", f"category {category!r} is not one of {ROBOSPATIAL_CATEGORIES}"
        )
    answer_value: Any
    if category == "context":
        answer_value = released_polygon(answer)
        if answer_value is None:
            return LoaderSkip(
                item_id, "invalid_polygon", f"answer {answer[:80]!r} is not a polygon of >= 3 vertices"
            )
    else:
        # evaluation.py: a gold "yes"/"no" (case and surrounding space ignored) makes a binary question.
        answer_value = answer.strip().lower()
        if answer_value not in ("yes", "no"):
            return LoaderSkip(
                item_id, "answer_not_yes_no", f"{category} answer {answer[:80]!r} is not yes/no"
            )
    rule = BENCHMARK.rule_for(item_id, category, answer_value)
    return PublishedItem(
        id=item_id,
        task=category,
        question=question,
        prompt=question,
        images=(image,),
        choices=(),
        answer=answer,
        answer_value=answer_value,
        scoring=rule,
        extra=extra,
    )


def _split_of(path: Path) -> str:
    match = _SHARD_RE.match(path.name)
    if match is None:
        raise RecordError("unexpected_file", "not a '<split>-NNNNN-of-NNNNN.parquet' shard", file=str(path))
    return match["split"]


def _load_parquet(ctx: LoaderContext, shards: list[Path]) -> Iterator[PublishedItem | LoaderSkip]:
    rows_seen: dict[str, int] = {}
    for path in shards:  # sorted: a split's shards in order, so row numbers follow the released order
        split = _split_of(path)
        relative = path.relative_to(ctx.root).as_posix()
        for index, row in ctx.read_parquet(path, columns=COLUMNS):
            number = rows_seen.get(split, 0)
            rows_seen[split] = number + 1
            item_id = f"{split}_{number}"
            try:
                image = image_cell(row.get("img"), file=relative, record=f"row {index}", field="img")
            except RecordError as e:  # a null cell, or bytes that are no image
                reason = "missing_image" if e.reason == "missing_field" else e.reason
                yield LoaderSkip(item_id, reason, e.detail)
                continue
            yield _item(ctx, item_id, row, image, {"source_file": relative, "row": index})


def _image_file(ctx: LoaderContext, value: Any, record: str) -> ImageData:
    """The image a download_benchmark.py record names; a path leaving the folder is refused (RecordError)."""
    if not isinstance(value, str) or not value:
        raise RecordError("missing_image", "no img path", file=ANNOTATIONS_FILE, record=record, field="img")
    path = ctx.path(value, record=record, field="img")
    if not path.is_file():
        raise RecordError(
            "missing_image", f"image {value} not found", file=ANNOTATIONS_FILE, record=record, field="img"
        )
    data = path.read_bytes()
    return ImageData(data, image_suffix(data, file=ANNOTATIONS_FILE, record=record, field="img"))


def _load_annotations(ctx: LoaderContext, path: Path) -> Iterator[PublishedItem | LoaderSkip]:
    records = ctx.read_json(path)
    if not isinstance(records, list):  # main.py wraps a single object in a list
        records = [records]
    rows_seen: dict[str, int] = {}
    for index, row in enumerate(records):
        record = f"record {index}"
        if not isinstance(row, dict):
            yield LoaderSkip(f"{ANNOTATIONS_FILE}:{index}", "wrong_type", f"{record} is not an object")
            continue
        split = str(row.get("category"))
        number = rows_seen.get(split, 0)
        rows_seen[split] = number + 1
        item_id = f"{split}_{number}"
        try:
            image = _image_file(ctx, row.get("img"), record)
        except RecordError as e:
            if e.reason == "unsafe_path":
                raise e.located(file=ANNOTATIONS_FILE) from None
            yield LoaderSkip(item_id, e.reason, e.detail)
            continue
        yield _item(ctx, item_id, row, image, {"source_file": ANNOTATIONS_FILE, "row": index})


def load(ctx: LoaderContext) -> Iterator[PublishedItem | LoaderSkip]:
    shards = ctx.find(PARQUET_GLOB)
    if shards:
        yield from _load_parquet(ctx, shards)
        return
    annotations = ctx.path(ANNOTATIONS_FILE)
    if annotations.is_file():
        yield from _load_annotations(ctx, annotations)
        return
    raise RecordError(
        "missing_file",
        "no RoboSpatial-Home files: expected data/<split>-00000-of-00001.parquet (the snapshot of "
        "huggingface.co/datasets/chanhee-luke/RoboSpatial-Home) or annotations.json with images/ (written by "
        "RoboSpatial-Eval download_benchmark.py)",
        file=str(ctx.root),
    )


BENCHMARK = PublishedBenchmark(
    name="robospatial",
    title="RoboSpatial-Home",
    upstream=(
        "huggingface.co/datasets/chanhee-luke/RoboSpatial-Home (data/<split>-00000-of-00001.parquet); "
        "scoring github.com/chanhee-luke/RoboSpatial-Eval evaluation.py at 73853993ac21"
    ),
    license="Apache-2.0 (dataset card)",
    size="350 questions: configuration 123, compatibility 105 (yes/no), context 122 (pointing)",
    files=(PARQUET_GLOB, ANNOTATIONS_FILE, "images/**"),
    scoring="robospatial",
    variant=None,
    load=load,
    notes=(
        "prompt: the released question verbatim (context questions carry their [(x1, y1), ...] instruction)",
        "context: the reply's first point must lie in the released polygon (RoboSpatial-Eval evaluation.py)",
        "total: mean of the configuration, compatibility and context accuracies (RoboSpatial-Eval README)",
    ),
)
