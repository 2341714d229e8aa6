"""CV-Bench (Cambrian Vision-Centric Benchmark), read from its released files.

Upstream: Hugging Face dataset `nyu-visionx/CV-Bench`. Two layouts have been released and both are read:
- revision bc284db50d036958861cb60cdd7b77612052ce0d (main since the 2D / 3D split): `test_2d.parquet` and
  `test_3d.parquet` (images embedded), with `test_2d.jsonl` / `test_3d.jsonl` beside them;
- revision 22409a927ab5cf68e3655023d51694587455fc99: one `test.parquet` (and `test.jsonl` + `img/`).
A folder holding the annotations as JSONL only is read with the images from `img/` (each row's `filename`).
The first layout found, in that order (split parquet, combined parquet, JSONL), is read, so a folder holding
two revisions is not counted twice.

Columns (dataset card, "Dataset Description"): idx, type (2D / 3D), task (Count, Relation, Depth, Distance),
image, question, choices, answer ("(C)"), prompt (question and lettered choices, pre-formatted), filename,
source (ADE20K / COCO / Omni3D), source_dataset, source_filename, target_class, target_size, bbox.

Prompt: the benchmark authors' harness (cambrian-mllm/cambrian, eval/eval/ade/ade_eval.py at a220b3f,
`process`) sends `prompt + "\\n" + question_extension`, question_extension defaulting to "Answer with the
option's letter from the given choices directly." That text is what an item's prompt holds.

Aggregation (dataset card, "Accuracy"): accuracy per source, then ((ADE20K + COCO) / 2 + Omni3D) / 2; the
`cvbench` scoring spec computes it from each item's `source` (score_meta).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from spatialforge.bench.benchmarks import CHOICE
from spatialforge.bench.published.base import (
    ImageData,
    LoaderContext,
    LoaderSkip,
    PublishedBenchmark,
    PublishedItem,
    choices_and_bracketed_answer,
    image_cell,
    image_suffix,
)
from spatialforge.errors import RecordError

# cambrian-mllm/cambrian eval/eval/ade/ade_eval.py (a220b3f): the --question_extension default, appended
# after a newline to the released `prompt`.
INSTRUCTION = "Answer with the option's letter from the given choices directly."
SOURCES = ("ADE20K", "COCO", "Omni3D")
# Released layouts, newest first: (annotation files, images embedded in them).
_LAYOUTS: tuple[tuple[tuple[str, ...], bool], ...] = (
    (("test_2d.parquet", "test_3d.parquet"), True),
    (("test.parquet",), True),
    (("test_2d.jsonl", "test_3d.jsonl"), False),
    (("test.jsonl",), False),
)
# Released fields kept with an item for reference (never scored).
_EXTRA_FIELDS = ("type", "filename", "source_dataset", "source_filename", "target_class")


def _layout(ctx: LoaderContext) -> tuple[list[Path], bool]:
    for names, embedded in _LAYOUTS:
        present = [ctx.path(name) for name in names if ctx.path(name).is_file()]
        if present:
            return present, embedded
    raise RecordError(
        "missing_file",
        "no CV-Bench annotation file: expected test_2d.parquet / test_3d.parquet (or test.parquet, or "
        "test_2d.jsonl / test_3d.jsonl with img/) as released in nyu-visionx/CV-Bench",
        file=str(ctx.root),
    )


def _rows(ctx: LoaderContext, path: Path, embedded: bool) -> Iterator[tuple[str, dict[str, Any]]]:
    if embedded:
        for index, row in ctx.read_parquet(path):
            yield f"row {index}", row
    else:
        for line, row in ctx.read_jsonl(path):
            if not isinstance(row, dict):
                raise RecordError(
                    "wrong_type", "a line is not a JSON object", file=str(path), record=f"line {line}"
                )
            yield f"line {line}", row


def _text(row: dict[str, Any], key: str) -> str | None:
    value = row.get(key)
    return value if isinstance(value, str) and value.strip() else None


def _image(
    ctx: LoaderContext, row: dict[str, Any], embedded: bool, file: str, record: str
) -> ImageData | Path:
    if embedded:
        return image_cell(row.get("image"), file=file, record=record, field="image")
    filename = _text(row, "filename")
    if filename is None:
        raise RecordError("missing_field", "no image filename", file=file, record=record, field="filename")
    # A filename leaving the data folder raises unsafe_path (never read); that stops the import.
    path = ctx.path(filename, record=record, field="filename")
    if not path.is_file():
        raise RecordError(
            "missing_image", f"image {filename} not found", file=file, record=record, field="filename"
        )
    with open(path, "rb") as fh:
        image_suffix(fh.read(16), file=file, record=record, field="filename")
    return path


def _item(
    ctx: LoaderContext, row: dict[str, Any], embedded: bool, file: str, record: str
) -> PublishedItem | LoaderSkip:
    raw_id = row.get("idx")
    if (
        raw_id is None
        or isinstance(raw_id, bool)
        or (isinstance(raw_id, float) and not math.isfinite(raw_id))
    ):
        return LoaderSkip(f"{file}:{record}", "missing_field", "no idx")
    item_id = str(raw_id)
    for key in ("task", "question", "prompt", "source"):
        if _text(row, key) is None:
            return LoaderSkip(item_id, "missing_field", f"no {key}")
    source = row["source"]
    if source not in SOURCES:
        return LoaderSkip(item_id, "unknown_source", f"source {source!r} is not one of {', '.join(SOURCES)}")
    answer = row.get("answer")
    lettered_answer = choices_and_bracketed_answer(item_id, row.get("choices"), answer)
    if isinstance(lettered_answer, LoaderSkip):
        return lettered_answer
    options, letter = lettered_answer
    try:
        image = _image(ctx, row, embedded, file, record)
    except RecordError as e:
        if e.reason == "unsafe_path":
            raise e.located(file=file, record=record) from None
        return LoaderSkip(item_id, e.reason, e.detail)
    return PublishedItem(
        id=item_id,
        task=row["task"],
        question=row["question"],
        prompt=f"{row['prompt']}\n{INSTRUCTION}",
        images=(image,),
        choices=options,
        answer=answer,
        answer_value=letter,
        scoring=CHOICE,
        score_meta={"source": source},
        report_group=_text(row, "type"),
        extra={k: row[k] for k in _EXTRA_FIELDS if isinstance(row.get(k), str)},
    )


def load(ctx: LoaderContext) -> Iterator[PublishedItem | LoaderSkip]:
    files, embedded = _layout(ctx)
    for path in files:
        for record, row in _rows(ctx, path, embedded):
            yield _item(ctx, row, embedded, path.name, record)


BENCHMARK = PublishedBenchmark(
    name="cvbench",
    title="CV-Bench",
    upstream="huggingface.co/datasets/nyu-visionx/CV-Bench (revision bc284db; test.parquet of 22409a9)",
    license="Apache-2.0 (dataset card); images from ADE20K, COCO and Omni3D under their own terms",
    size="2,638 questions (2D: 1,438 Count / Relation, ADE20K + COCO; 3D: 1,200 Depth / Distance, Omni3D)",
    files=("test_2d.parquet", "test_3d.parquet", "test.parquet", "test_2d.jsonl", "test_3d.jsonl", "img/**"),
    scoring="cvbench",
    load=load,
    notes=(
        "prompt: the released `prompt` + '\\n' + \"Answer with the option's letter from the given choices "
        'directly." (Cambrian eval harness)',
        "total: ((acc_ADE20K + acc_COCO) / 2 + acc_Omni3D) / 2 (dataset card)",
    ),
)
