"""SpatialRGPT-Bench, read from its released annotation file and the Omni3D images.

Upstream: Hugging Face dataset `a8cheng/SpatialRGPT-Bench`, file `SpatialRGPT-Bench_v1.json` (uploaded at
revision 59fdd6a, 2024-10-07); evaluation code AnjieCheng/SpatialRGPT at
cfa293c2979c37fcdebdf258106d0368a96b2922: `llava/eval/eval_spatial.py` (inference),
`scripts/srgpt/eval/evaluate_spatial_with_gpt4.py` (scoring),
`scripts/srgpt/eval/srgpt_bench.sh` (paths). The images are not in the JSON: the README ("SpatialRGPT-Bench
Evaluation") has them downloaded from Omni3D, and `srgpt_bench.sh` passes `omni3d/datasets/` as the image
folder, so `image_info.file_path` ("ARKitScenes/Validation/42446100/77925.290_00001117.jpg") is relative
to it.

The data folder holds `SpatialRGPT-Bench_v1.json` and the Omni3D images under their `file_path`, either
beside the JSON (the folder is `omni3d/datasets/` with the JSON copied in) or under `images/` (the layout of
the dataset repository's later `images/` folder). A row whose image is in neither place is skipped as
`missing_image`.

One row (a JSON list of objects; field order as released): `id` ("quantitative_PKHJ3yyJtl"), `image_info`
{height, width, dataset, landmark, file_path}, `qa_info` {type: qualitative | quantitative, category, class},
`conversations` [{from: human, value: "<image>\\n ... <mask> ..."}, {from: gpt, value: the answer}],
`text_q` (the question with "Region [k]" for the k-th region), `bbox` [[x1, y1, x2, y2], ...] (pixels, the
released code fills mask[y1:y2, x1:x2]), `rle` [{size: [h, w], counts}, ...] (COCO RLE, one per region).

Region references. SpatialRGPT reads each region as a mask token. A model without region input is shown the
image with region k drawn as a box in MARKER_COLOURS[k] (red, green, blue, ...; qa/draw_markers.py), and
"Region [k]" in `text_q` is rewritten to "the region in the red box" (REGION_PHRASE). The box is the
released `bbox`; a row without one uses the extent of its RLE mask (decoded here, `decode_rle`). The prompt
is the rewritten `text_q` alone: the released harness sends the question with no instruction
(`eval_spatial.py`, conversations[0]). The released question texts are kept in `extra`.

Scoring (evaluate_spatial_with_gpt4.py). The released script asks GPT-4-turbo to turn both the answer and
the reply into metres (or clock hours) and then applies fixed rules; we parse instead (SPEC section 5):
- quantitative distance / width / height: success iff 0.75 * gold <= reply <= 1.25 * gold in metres; the gold
  ("38.71 inches", "They are 1.2 meters apart.") is converted to metres here (answer_value, unit "m");
- direction: clock hours, success iff the circular difference <= 1 hour;
- qualitative: the released script asks GPT-4 whether the reply matches the answer. Every released answer
  comes from a fixed template bank (SpatialRGPT dataset_pipeline/osdsynth/processor/prompt_template.py):
  predicate answers start with "Yes" / "Indeed" / "Correct" / "That is True" (true) or "No" / "In fact" /
  "Actually" / "Incorrect" / "That is False" (false), so they become yes/no items scored by parse_yes_no;
  choice answers name one region ("Region [1] is more to the left."), so they become two-option choice items
  whose options are the region phrases, scored by parse_choice (the option's text in the reply).
Aggregation: per category group as in the released script (qualitative categories grouped by the words
they contain: tall/short, left/right, below/above, behind/front, big/small, wide/thin; quantitative:
direct_distance, horizontal_distance, vertical_distance, width, height, direction), and the overall
qualitative and quantitative accuracies over items (the `spatialrgpt` scoring spec).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from spatialforge.bench.benchmarks import (
    CHOICE,
    SPATIALRGPT_CLOCK,
    SPATIALRGPT_NUMBER,
    SPATIALRGPT_TASK_TYPE,
    YES_NO,
)
from spatialforge.bench.parsers import parse_clock, parse_number
from spatialforge.bench.published.base import (
    ImageData,
    LoaderContext,
    LoaderSkip,
    PublishedBenchmark,
    PublishedItem,
    lettered,
    png_bytes,
)
from spatialforge.bench.rules import ScoringRule
from spatialforge.errors import RecordError
from spatialforge.qa.draw_markers import MarkerDrawError, draw_markers
from spatialforge.qa.records import Marker, norm_from_px
from spatialforge.qa.references import MARKER_COLOURS

BENCH_FILE = "SpatialRGPT-Bench_v1.json"
# Where the Omni3D images may lie, relative to the data folder (see the module docstring).
IMAGE_ROOTS = ("", "images")
# "Region [k]" in text_q, the way the released questions and answers name the k-th region.
REGION_RE = re.compile(r"Region \[(\d+)\]")
REGION_PHRASE = "the region in the {colour} box"

# evaluate_spatial_with_gpt4.py: quantitative categories and the result key each is reported under.
QUANTITATIVE_TASKS: dict[str, str] = {
    "distance_data": "direct_distance",
    "horizontal_distance_data": "horizontal_distance",
    "vertical_distance_data": "vertical_distance",
    "width_data": "width",
    "height_data": "height",
    "direction": "direction",
}
# evaluate_spatial_with_gpt4.py: a qualitative category is reported under the first group whose words it
# contains, tested in this order (its "long/short" branch is unreachable: "short" is caught first).
QUALITATIVE_GROUPS: tuple[tuple[tuple[str, str], str], ...] = (
    (("short", "tall"), "tall_short"),
    (("left", "right"), "left_right"),
    (("below", "above"), "below_above"),
    (("behind", "front"), "behind_front"),
    (("big", "small"), "big_small"),
    (("wide", "thin"), "wide_thin"),
)
# prompt_template.py (the bank every predicate answer was drawn from): how true and false answers open.
_TRUE_OPENINGS = ("yes", "indeed", "correct", "that is true")
_FALSE_OPENINGS = ("no", "in fact", "actually", "incorrect", "that is false")
_OPENING_RE = re.compile(r"^\s*(that is true|that is false|in fact|[a-z]+)\b", re.IGNORECASE)


def task_of(qa_type: str, category: str) -> str | None:
    """The result group the released script reports a category under; None for a category it would reject."""
    if qa_type == "quantitative":
        return QUANTITATIVE_TASKS.get(category)
    if qa_type == "qualitative":
        for words, group in QUALITATIVE_GROUPS:
            if any(word in category for word in words):
                return group
    return None


def predicate_answer(answer: str) -> str | None:
    """Yes or no (as "yes" / "no") for a predicate answer from the released template bank, else None."""
    match = _OPENING_RE.match(answer)
    if match is None:
        return None
    opening = match.group(1).lower()
    if opening in _TRUE_OPENINGS:
        return "yes"
    if opening in _FALSE_OPENINGS:
        return "no"
    return None


# --- COCO RLE ------------------------------------------------------------------------------------------


class RLEError(ValueError):
    """A run-length encoding that does not describe a mask of its stated size."""


def rle_counts(counts: str | list[int]) -> list[int]:
    """Run lengths of a COCO RLE: a list of ints as is, or the compressed string (pycocotools maskApi.c
    `rleFrString`: 5 bits per character offset by 48, bit 0x20 continues the value, bit 0x10 of the last
    character is the sign; from the fourth run on, each value is stored as the difference to the run two
    before)."""
    if isinstance(counts, list):
        if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts):
            raise RLEError("uncompressed RLE counts must be non-negative integers")
        return list(counts)
    if not isinstance(counts, str):
        raise RLEError(f"RLE counts of type {type(counts).__name__}")
    runs: list[int] = []
    position = 0
    while position < len(counts):
        value, shift, more = 0, 0, True
        while more:
            if position >= len(counts):
                raise RLEError("RLE string ends inside a value")
            code = ord(counts[position]) - 48
            if not 0 <= code < 64:
                raise RLEError(f"character {counts[position]!r} is not RLE")
            value |= (code & 0x1F) << shift
            more = bool(code & 0x20)
            position += 1
            shift += 5
            if not more and code & 0x10:
                value |= -1 << shift
        if len(runs) > 2:
            value += runs[-2]
        if value < 0:
            raise RLEError("negative run length")
        runs.append(value)
    return runs


def decode_rle(rle: Mapping[str, Any]) -> np.ndarray:
    """A COCO RLE {"size": [h, w], "counts": ...} as a boolean (h, w) mask. Runs alternate background /
    foreground, starting with background, over the pixels in column-major order."""
    size = rle.get("size")
    if (
        not isinstance(size, list)
        or len(size) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)
    ):
        raise RLEError(f"RLE size {size!r} is not [height, width]")
    height, width = size
    runs = rle_counts(rle.get("counts"))  # type: ignore[arg-type]
    if sum(runs) != height * width:
        raise RLEError(f"RLE runs cover {sum(runs)} pixels, the mask has {height * width}")
    values = np.zeros(len(runs), dtype=bool)
    values[1::2] = True
    flat = np.repeat(values, runs)
    return flat.reshape((height, width), order="F")


def mask_box_px(mask: np.ndarray) -> tuple[float, float, float, float] | None:
    """The box around a mask's pixels in continuous coordinates (pixel (i, j) covers [i - 0.5, i + 0.5]), or
    None for an empty mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return (float(cols[0]) - 0.5, float(rows[0]) - 0.5, float(cols[-1]) + 0.5, float(rows[-1]) + 0.5)


def bbox_px(box: Any) -> tuple[float, float, float, float] | None:
    """A released bbox [x1, y1, x2, y2] (the released code fills mask[y1:y2, x1:x2]: pixels x1..x2-1) in
    continuous coordinates; None when it is not four finite numbers."""
    if not isinstance(box, list) or len(box) != 4:
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in box):
        return None
    x1, y1, x2, y2 = (float(v) for v in box)
    return (x1 - 0.5, y1 - 0.5, x2 - 0.5, y2 - 0.5)


# --- loading -------------------------------------------------------------------------------------------


def _regions(row: dict[str, Any]) -> tuple[list[tuple[float, float, float, float]], str]:
    """The regions' boxes in pixels and where they came from ("bbox" or "rle"); RLEError / ValueError when
    neither gives a box for every region."""
    boxes = row.get("bbox")
    if isinstance(boxes, list) and boxes:
        found = [bbox_px(b) for b in boxes]
        if any(b is None for b in found):
            raise ValueError(f"bbox {boxes!r} is not a list of [x1, y1, x2, y2]")
        return [b for b in found if b is not None], "bbox"
    rles = row.get("rle")
    if isinstance(rles, list) and rles:
        out = []
        for rle in rles:
            if not isinstance(rle, dict):
                raise RLEError("an RLE is not an object")
            box = mask_box_px(decode_rle(rle))
            if box is None:
                raise RLEError("an RLE mask is empty")
            out.append(box)
        return out, "rle"
    raise ValueError("the row has neither bbox nor rle")


def region_phrase(index: int) -> str:
    return REGION_PHRASE.format(colour=MARKER_COLOURS[index])


def rewrite_regions(text: str) -> str:
    """`text` with every "Region [k]" replaced by the phrase of box k, first letter capitalised."""
    out = REGION_RE.sub(lambda m: region_phrase(int(m.group(1))), text)
    return out[:1].upper() + out[1:]


def _find_image(ctx: LoaderContext, file_path: str, item_id: str) -> Path | None:
    for root in IMAGE_ROOTS:
        path = ctx.path(f"{root}/{file_path}" if root else file_path, record=item_id, field="image_info")
        if path.is_file():
            return path
    return None


def _marked_image(
    path: Path, boxes: list[tuple[float, float, float, float]], size: tuple[int, int]
) -> ImageData:
    """The image with region k's box drawn in MARKER_COLOURS[k]; ValueError when the image's size is not the
    one the regions were annotated on, MarkerDrawError for a box that cannot be drawn."""
    from PIL import Image

    with Image.open(io.BytesIO(path.read_bytes())) as image:
        image.load()
        if image.size != size:
            raise ValueError(f"image is {image.size[0]}x{image.size[1]}, image_info says {size[0]}x{size[1]}")
        markers = [
            Marker("box", MARKER_COLOURS[k], 0, norm_from_px(box, *size), box) for k, box in enumerate(boxes)
        ]
        return png_bytes(draw_markers(image, markers))


def _gold(
    qa_type: str, category: str, task: str, answer: str, question: str
) -> tuple[Any, ScoringRule, tuple]:
    """(answer_value, rule, choices) for a released answer; ValueError naming why it cannot be scored."""
    if task == "direction":
        parsed = parse_clock(answer)
        if not parsed.ok:
            raise ValueError(f"no clock hour in the answer ({parsed.detail})")
        return int(parsed.value), SPATIALRGPT_CLOCK, ()
    if qa_type == "quantitative":
        parsed = parse_number(answer, to_unit="m", pick="first")
        if not parsed.ok or not float(parsed.value) > 0:
            raise ValueError(f"no length in the answer ({parsed.detail or parsed.value})")
        return float(parsed.value), SPATIALRGPT_NUMBER, ()
    if category.endswith("_predicate"):
        verdict = predicate_answer(answer)
        if verdict is None:
            raise ValueError("the answer opens with neither a true nor a false template phrase")
        return verdict, YES_NO, ()
    if category.endswith("_choice"):
        asked = list(dict.fromkeys(int(k) for k in REGION_RE.findall(question)))
        named = set(int(k) for k in REGION_RE.findall(answer))
        if len(asked) < 2 or len(named) != 1 or not named <= set(asked):
            raise ValueError(f"the answer names regions {sorted(named)} of the asked {asked}")
        choices = lettered([region_phrase(k) for k in asked])
        return choices[asked.index(named.pop())][0], CHOICE, choices
    raise ValueError(f"category {category!r} is neither a predicate nor a choice")


def _row_item(ctx: LoaderContext, row: Any, index: int) -> PublishedItem | LoaderSkip:
    item_id = row.get("id") if isinstance(row, dict) else None
    if not isinstance(item_id, str) or not item_id:
        return LoaderSkip(f"row {index}", "missing_field", "no id")
    qa_info, image_info = row.get("qa_info"), row.get("image_info")
    conversations, text_q = row.get("conversations"), row.get("text_q")
    if not isinstance(qa_info, dict) or not isinstance(image_info, dict):
        return LoaderSkip(item_id, "missing_field", "qa_info or image_info is not an object")
    qa_type, category = qa_info.get("type"), qa_info.get("category")
    file_path, height, width = image_info.get("file_path"), image_info.get("height"), image_info.get("width")
    if (
        not isinstance(qa_type, str)
        or not isinstance(category, str)
        or not isinstance(text_q, str)
        or not isinstance(file_path, str)
        or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (height, width))
        or not isinstance(conversations, list)
        or len(conversations) < 2
        or not all(isinstance(t, dict) and isinstance(t.get("value"), str) for t in conversations[:2])
    ):
        return LoaderSkip(item_id, "missing_field", "qa_info, image_info, text_q or conversations incomplete")
    task = task_of(qa_type, category)
    if task is None:
        return LoaderSkip(item_id, "unknown_category", f"{qa_type} / {category}")
    answer = conversations[1]["value"]
    try:
        answer_value, rule, choices = _gold(qa_type, category, task, answer, text_q)
    except ValueError as e:
        return LoaderSkip(item_id, "unparsable_answer", f"{answer!r}: {e}")
    try:
        boxes, box_source = _regions(row)
    except ValueError as e:
        return LoaderSkip(item_id, "bad_region", str(e))
    referenced = {int(k) for k in REGION_RE.findall(text_q)}
    if not referenced or max(referenced) >= len(boxes):
        return LoaderSkip(
            item_id, "bad_region", f"question names regions {sorted(referenced)}, {len(boxes)} given"
        )
    if len(boxes) > len(MARKER_COLOURS):
        return LoaderSkip(item_id, "too_many_regions", f"{len(boxes)} regions, {len(MARKER_COLOURS)} colours")
    try:
        path = _find_image(ctx, file_path, item_id)
    except RecordError as e:
        return LoaderSkip(item_id, "unsafe_path", str(e))
    if path is None:
        return LoaderSkip(item_id, "missing_image", f"{file_path} not under the data folder or its images/")
    try:
        image = _marked_image(path, boxes, (width, height))
    except MarkerDrawError as e:
        return LoaderSkip(item_id, "bad_region", str(e))
    except (OSError, ValueError) as e:  # PIL raises OSError subclasses for bytes that are no image
        return LoaderSkip(item_id, "unreadable_image", f"{file_path}: {e}")
    return PublishedItem(
        id=item_id,
        task=task,
        question=text_q,
        prompt=rewrite_regions(text_q),
        images=(image,),
        choices=choices,
        answer=answer,
        answer_value=answer_value,
        scoring=rule,
        unit="m" if rule is SPATIALRGPT_NUMBER else None,
        score_meta={"type": qa_type, "category": category},
        report_group=SPATIALRGPT_TASK_TYPE[task],
        extra={
            "category": category,
            "conversation_question": conversations[0]["value"],
            "file_path": file_path,
            "dataset": image_info.get("dataset"),
            "box_source": box_source,
            "regions": [{"colour": MARKER_COLOURS[k], "box_px": list(box)} for k, box in enumerate(boxes)],
        },
    )


def load(ctx: LoaderContext) -> Iterator[PublishedItem | LoaderSkip]:
    path = ctx.require(BENCH_FILE)
    rows = ctx.read_json(path)
    if not isinstance(rows, list):
        raise RecordError("wrong_type", "the benchmark file is not a JSON list of questions", file=str(path))
    for index, row in enumerate(rows):
        yield _row_item(ctx, row, index)


BENCHMARK = PublishedBenchmark(
    name="spatialrgpt",
    title="SpatialRGPT-Bench",
    upstream="huggingface.co/datasets/a8cheng/SpatialRGPT-Bench (SpatialRGPT-Bench_v1.json, rev 59fdd6a) + "
    "Omni3D images; scoring AnjieCheng/SpatialRGPT@cfa293c scripts/srgpt/eval/evaluate_spatial_with_gpt4.py",
    license="Apache-2.0 (annotations); images under their Omni3D source datasets' licences",
    size="1,406 questions (qualitative and quantitative) on Omni3D images",
    files=(BENCH_FILE,),
    scoring="spatialrgpt",
    load=load,
    notes=(
        "regions drawn as coloured boxes; 'Region [k]' rewritten to 'the region in the <colour> box'",
        "qualitative answers scored by yes/no and choice parsers instead of the released GPT-4 judge",
    ),
)
