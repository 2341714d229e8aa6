"""Q-Spatial-Bench, read from its released parquet files.

Upstream: Hugging Face dataset `andrewliao11/Q-Spatial-Bench` (files at revision aeff911, "Upload dataset";
card at 17b92e4): `data/QSpatial_plus-00000-of-00001.parquet` (101 rows, images embedded) and
`data/QSpatial_scannet-00000-of-00001.parquet` (170 rows, no image bytes: ScanNet's licence requires each user
to download the frames). Columns (dataset card `dataset_info`): question (string), answer_value (float32),
answer_unit (string), question_type (string), image_path (string), image (HF Image: {bytes, path}).
Helper code: andrewliao11/Q-Spatial-Bench-code at 723d6e414bc1a041ee2574907d770077440c24f5.

ScanNet frames: `QSpatial_scannet/download_and_render_scannet_images.py` writes them to
`images/<scene>/color/<frame>.jpg` inside its own folder, and VLMEvalKit (vlmeval/dataset/image_vqa.py,
`QSpatial.load_data`) opens `os.path.join(qspatial_root, image_path)`. We look for `image_path` under the data
folder, then under `<data>/QSpatial_scannet/`; a row whose frame is in neither place is skipped as
`missing_image` (so QSpatial_plus alone can be run without ScanNet access).

Prompt: the benchmark's system prompt (prompt_templates/system_prompt.txt, asking for
`\\scalar{} \\distance_unit{}`) followed, after a newline, by a user template rendered with the question, as
VLMEvalKit's `QSpatial.build_prompt` joins them (f"{system_prompt}\\n{text_prompt}"). Template (option
`prompt`): `zero_shot` (prompt_templates/zero_shot_prompt.txt, the default), `spatial_single`
(spatial_prompt_single.txt, the paper's SpatialPrompt and VLMEvalKit's choice) or `spatial_steps`
(spatial_prompt_steps.txt). Texts are copied verbatim, typos included ("Let's thinkg step by step").

Scoring (examples/evaluate_success_rate.ipynb, `QSpatialEvaluator`): the mean of the numbers in the last
`\\scalar{}`, in the unit of the last `\\distance_unit{}` (parsers/qspatial.py); success iff
max(pred / gold, gold / pred) < 2. The gold is answer_value in answer_unit, converted here to metres
(answer_value, unit "m"); the ratio does not depend on the unit. Aggregation: success rate per split (task =
split name), reported per split as the released evaluator and VLMEvalKit do.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from spatialforge.bench.benchmarks import QSPATIAL_RULE
from spatialforge.bench.parsers.units import canonical_unit, convert
from spatialforge.bench.published.base import (
    ImageData,
    LoaderContext,
    LoaderOption,
    LoaderSkip,
    PublishedBenchmark,
    PublishedItem,
    image_cell,
)
from spatialforge.errors import RecordError

SPLITS = ("QSpatial_plus", "QSpatial_scannet")
SPLIT_FILES = {split: f"data/{split}-00000-of-00001.parquet" for split in SPLITS}
COLUMNS = ["question", "answer_value", "answer_unit", "question_type", "image_path", "image"]
# Where ScanNet frames may lie, relative to the data folder (see the module docstring).
IMAGE_ROOTS = ("", "QSpatial_scannet")

# Q-Spatial-Bench-code prompt_templates/*.txt (723d6e4), verbatim; "{{ question }}" is the Jinja slot.
SYSTEM_PROMPT = (
    "You will be provided with a question and a 2D image. The question involves measuring the precise "
    "distance in 3D space through a 2D image. You will answer the question by providing a numeric answer "
    'consisting of a scalar and a distance unit in the format of """\\scalar{scalar} '
    '\\distance_unit{distance unit}""" at the end of your response.'
)
TEMPLATES: dict[str, str] = {
    "zero_shot": "Question: {{ question }}\nLet's think step by step.",
    "spatial_single": (
        "Question: {{ question }}\nLet's thinkg step by step and start by finding good reference objects or "
        "object parts in the image."
    ),
    "spatial_steps": (
        "Question: {{ question }}\n\n---\n\n"
        "Use the following 4 steps sequentially to answer the question:\n\n"
        "Step 1 **Analyze the question**\n\n"
        "Step 2 **Identify up to 10 reference scales in the image, ranging from large to small sizes, and "
        "list them in the specified format**\n"
        "- A reference scale must be typical in size.\n"
        "- A reference scale can be the dimensions of an object or an object part.\n"
        "- A reference scale must NOT be floor tiles or floor planks.\n"
        '- Formulate the reference scales using the format: """The [choose from front-to-back, side-to-side, '
        "left-to-right, diameter, height (top to bottom edge), or mounting height (bottom edge to floor)] of "
        '[object or object part] is approximately [dimension estimate]."""\n\n'
        "Step 3 **Propose a robust step-by-step plan to answer the question by using the reference scales in "
        "Step 2**\n"
        "- A robust step-by-step plan performs the estimation in a coarse-to-fine manner.\n"
        "    - First, use a reliable and large-sized reference scale as the primary reference for "
        "estimation.\n"
        "    - Then, gradually use a reliable and smaller-sized reference scale for adjustment.\n"
        "    - Repeat until the estimation is precise enough.\n"
        "- When performing visual comparison, be aware of perspective distortion.\n"
        "- Do NOT rely on pixel measurements from the images.\n\n"
        "Step 4 **Focus on the image and follow the plan in Step 3 to answer the question**"
    ),
}
# The released evaluator's unit table (`_get_multiplier`): the answer units it converts.
RELEASED_UNITS = frozenset(
    {"meters", "meter", "m", "metre", "metres", "centimeters", "centimeter", "cm", "feet", "foot", "ft"}
    | {"inch", "inches", "in", "mm"}
)


def build_prompt(question: str, template: str) -> str:
    """The text VLMEvalKit's QSpatial.build_prompt sends: system prompt, newline, rendered template."""
    return f"{SYSTEM_PROMPT}\n{TEMPLATES[template].replace('{{ question }}', question)}"


def gold_metres(value: Any, unit: Any) -> float:
    """answer_value in answer_unit as metres; ValueError for a unit the released evaluator does not know or
    a value that is not a positive finite number."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"answer_value {value!r} is not a positive number")
    canonical = canonical_unit(unit) if isinstance(unit, str) and unit.lower() in RELEASED_UNITS else None
    if canonical is None:
        raise ValueError(f"answer_unit {unit!r} is not one of the evaluator's units")
    return convert(float(value), canonical, "m")


def _image(ctx: LoaderContext, row: dict[str, Any], item_id: str, file: str) -> ImageData | Path | LoaderSkip:
    cell = row.get("image")
    if isinstance(cell, dict) and cell.get("bytes"):
        try:
            return image_cell(cell, file=file, record=item_id, field="image")
        except RecordError as e:
            return LoaderSkip(item_id, "unreadable_image", str(e))
    image_path = row.get("image_path")
    if not isinstance(image_path, str) or not image_path:
        return LoaderSkip(item_id, "missing_image", "no image bytes and no image_path")
    for root in IMAGE_ROOTS:
        try:
            path = ctx.path(
                f"{root}/{image_path}" if root else image_path, record=item_id, field="image_path"
            )
        except RecordError as e:
            return LoaderSkip(item_id, "unsafe_path", str(e))
        if path.is_file():
            return path
    return LoaderSkip(
        item_id, "missing_image", f"{image_path} not under the data folder or QSpatial_scannet/"
    )


def _row_item(
    ctx: LoaderContext, split: str, index: int, row: dict[str, Any], file: str, template: str
) -> PublishedItem | LoaderSkip:
    # No id column: VLMEvalKit numbers rows from 0 within a split (its `index`).
    item_id = f"{split}_{index}"
    question, unit, value = row.get("question"), row.get("answer_unit"), row.get("answer_value")
    if not isinstance(question, str) or not question.strip():
        return LoaderSkip(item_id, "missing_field", "no question")
    try:
        metres = gold_metres(value, unit)
    except ValueError as e:
        return LoaderSkip(item_id, "bad_answer", str(e))
    image = _image(ctx, row, item_id, file)
    if isinstance(image, LoaderSkip):
        return image
    return PublishedItem(
        id=item_id,
        task=split,
        question=question,
        prompt=build_prompt(question, template),
        images=(image,),
        choices=(),
        # The released value as float32 prints (96.0 -> "96.0", 1.2 -> "1.2"), with its unit.
        answer=f"{str(np.float32(value))} {unit}",
        answer_value=metres,
        scoring=QSPATIAL_RULE,
        unit="m",
        extra={
            "answer_value": float(value),
            "answer_unit": unit,
            "question_type": row.get("question_type"),
            "image_path": row.get("image_path"),
        },
    )


def load(ctx: LoaderContext) -> Iterator[PublishedItem | LoaderSkip]:
    chosen = ctx.options["splits"]
    splits = SPLITS if chosen == "all" else (ctx.option_choice("splits", SPLITS),)
    template = ctx.option_choice("prompt", tuple(TEMPLATES))
    found = False
    for split in splits:
        path = ctx.path(SPLIT_FILES[split])
        if not path.is_file():
            if chosen != "all":
                ctx.require(SPLIT_FILES[split])
            continue
        found = True
        for index, row in ctx.read_parquet(path, columns=COLUMNS):
            yield _row_item(ctx, split, index, row, str(path), template)
    if not found:
        ctx.require(SPLIT_FILES[splits[0]])


BENCHMARK = PublishedBenchmark(
    name="qspatial",
    title="Q-Spatial-Bench",
    upstream="huggingface.co/datasets/andrewliao11/Q-Spatial-Bench (data/*.parquet, rev aeff911); "
    "prompts and evaluator andrewliao11/Q-Spatial-Bench-code@723d6e4",
    license="Apache-2.0 (QSpatial_plus); QSpatial_scannet images under the ScanNet terms of use",
    size="271 questions: QSpatial_plus 101, QSpatial_scannet 170",
    files=tuple(SPLIT_FILES.values()),
    scoring="qspatial",
    load=load,
    options={
        "splits": LoaderOption("all", f"which split(s) to read: all, {', '.join(SPLITS)}"),
        "prompt": LoaderOption("zero_shot", f"user prompt template: {', '.join(TEMPLATES)}"),
    },
    notes=("success iff max(pred / gold, gold / pred) < 2, per split",),
)
