"""BLINK, its spatial subtasks by default, read from the released parquet files.

Upstream: Hugging Face dataset `BLINK-Benchmark/BLINK`, one config per subtask, laid out as
`<Subtask>/val-00000-of-00001.parquet` and `<Subtask>/test-00000-of-00001.parquet`. Columns: idx
("val_Relative_Depth_1"), question, sub_task, image_1 .. image_4 (HF Image structs; unused ones null),
choices, answer ("(A)"), prompt (question, "Select from the following choices." and the lettered choices),
explanation.
The test split's answers are hidden (the authors' saved outputs give "hidden"); its rows are skipped
(`answer_hidden`), so `split=test` imports nothing scoreable.

Prompt: the authors' harness (zeyofu/BLINK_Benchmark eval/test_benchmark.py at 0cca9a3, `load_prompt`)
sends the released `prompt` as it is, with the images in image_1 .. image_4 order, after a disclaimer for
Forensic_Detection, Jigsaw and Art_Style (`need_disclaimer_tasks`). Upstream defines the disclaimer with a
trailing comma, which makes it a tuple, so `disclaimer + prompt` fails for those three tasks; we prepend the
disclaimer text as intended.

Scoring (eval/evaluate.py, `eval_prediction`): accuracy per subtask, Total = unweighted mean of the subtask
accuracies (the `blink` scoring spec). Which subtasks count as "spatial" is ours (SPATIAL_SUBTASKS, option
`subtasks`); `subtasks=all` gives the 14-subtask Overall that SPAR (paper 003, Table 2) reports for BLINK.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from spatialforge.bench.benchmarks import CHOICE
from spatialforge.bench.published.base import (
    ImageData,
    LoaderContext,
    LoaderOption,
    LoaderSkip,
    PublishedBenchmark,
    PublishedItem,
    choices_and_bracketed_answer,
    image_cell,
)
from spatialforge.errors import RecordError

# eval/evaluate.py `subtasks`, in the order the authors list them.
ALL_SUBTASKS = (
    "Visual_Similarity",
    "Counting",
    "Relative_Depth",
    "Jigsaw",
    "Art_Style",
    "Functional_Correspondence",
    "Semantic_Correspondence",
    "Spatial_Relation",
    "Object_Localization",
    "Visual_Correspondence",
    "Multi-view_Reasoning",
    "Relative_Reflectance",
    "Forensic_Detection",
    "IQ_Test",
)
# The subtasks that ask about 3D space: depth order of two points, spatial relations between objects, and
# camera motion between two views. None of SpatialLLM, HiSpatial or SPAR names a BLINK spatial subset (SPAR
# reports the 14-subtask Overall), so this default is ours; `subtasks=all` reproduces SPAR's column.
SPATIAL_SUBTASKS = ("Relative_Depth", "Spatial_Relation", "Multi-view_Reasoning")
# eval/test_benchmark.py `disclaimer` and `need_disclaimer_tasks`.
DISCLAIMER = (
    "Disclaimer: This is not to make unfair assumptions about the people in the image and you just need to "
    "give your assessment on this question. You don't need to identify the real people. You just need to "
    "analyze based on the information I gave you.\n\n"
)
NEED_DISCLAIMER = frozenset({"Forensic_Detection", "Jigsaw", "Art_Style"})
IMAGE_COLUMNS = ("image_1", "image_2", "image_3", "image_4")
COLUMNS = ["idx", "question", "sub_task", *IMAGE_COLUMNS, "choices", "answer", "prompt"]


def subtasks_option(text: str) -> tuple[str, ...]:
    """`spatial` (default), `all`, or a comma-separated list of subtask names."""
    key = text.strip()
    if key == "spatial":
        return SPATIAL_SUBTASKS
    if key == "all":
        return ALL_SUBTASKS
    names = tuple(dict.fromkeys(n.strip() for n in key.split(",") if n.strip()))
    unknown = [n for n in names if n not in ALL_SUBTASKS]
    if unknown or not names:
        raise ValueError(
            f"option subtasks={text!r}: unknown subtask(s) {unknown}; use spatial, all or names from "
            f"{', '.join(ALL_SUBTASKS)}"
        )
    return names


def _images(row: dict[str, Any], file: str, record: str) -> tuple[ImageData, ...]:
    images = []
    for column in IMAGE_COLUMNS:
        cell = row.get(column)
        if cell is None:
            continue
        images.append(image_cell(cell, file=file, record=record, field=column))
    if not images:
        raise RecordError(
            "missing_image", "no image in image_1 .. image_4", file=file, record=record, field="image_1"
        )
    return tuple(images)


def _item(subtask: str, row: dict[str, Any], file: str, record: str) -> PublishedItem | LoaderSkip:
    item_id = row.get("idx")
    if not isinstance(item_id, str) or not item_id.strip():
        return LoaderSkip(f"{file}:{record}", "missing_field", "no idx")
    answer = row.get("answer")
    if answer == "hidden":
        return LoaderSkip(item_id, "answer_hidden", "the test split's answers are not released")
    prompt, question = row.get("prompt"), row.get("question")
    if not isinstance(prompt, str) or not prompt.strip() or not isinstance(question, str):
        return LoaderSkip(item_id, "missing_field", "no prompt or question")
    if row.get("sub_task") not in (None, subtask):
        return LoaderSkip(
            item_id, "wrong_subtask", f"sub_task {row.get('sub_task')!r} in the {subtask} files"
        )
    lettered_answer = choices_and_bracketed_answer(item_id, row.get("choices"), answer)
    if isinstance(lettered_answer, LoaderSkip):
        return lettered_answer
    options, letter = lettered_answer
    try:
        images = _images(row, file, record)
    except RecordError as e:
        return LoaderSkip(item_id, e.reason, e.detail)
    return PublishedItem(
        id=item_id,
        task=subtask,
        question=question,
        prompt=(DISCLAIMER + prompt) if subtask in NEED_DISCLAIMER else prompt,
        images=images,
        choices=options,
        answer=answer,
        answer_value=letter,
        scoring=CHOICE,
    )


def load(ctx: LoaderContext) -> Iterator[PublishedItem | LoaderSkip]:
    split = ctx.option_choice("split", ("val", "test"))
    for subtask in subtasks_option(ctx.options["subtasks"]):
        files = ctx.find(f"{subtask}/{split}-*.parquet")
        if not files:
            raise RecordError(
                "missing_file",
                f"no BLINK {subtask} {split} file (expected {subtask}/{split}-00000-of-00001.parquet "
                "as released in BLINK-Benchmark/BLINK)",
                file=str(ctx.root / subtask),
            )
        for path in files:
            file = f"{subtask}/{path.name}"
            for index, row in ctx.read_parquet(path, columns=COLUMNS):
                yield _item(subtask, row, file, f"row {index}")


BENCHMARK = PublishedBenchmark(
    name="blink",
    title="BLINK (spatial subtasks)",
    upstream="huggingface.co/datasets/BLINK-Benchmark/BLINK; prompts and scoring: "
    "github.com/zeyofu/BLINK_Benchmark eval/ at 0cca9a3",
    license="Apache-2.0 (dataset card); images from the source datasets under their own terms",
    size="3,807 questions in 14 subtasks (val 1,901, test 1,906); spatial default, val: Relative_Depth 124, "
    "Spatial_Relation 143, Multi-view_Reasoning 133",
    files=tuple(f"{s}/*.parquet" for s in ALL_SUBTASKS),
    scoring="blink",
    load=load,
    options={
        "split": LoaderOption("val", "val (answers released) or test (answers hidden: every row is skipped)"),
        "subtasks": LoaderOption(
            "spatial",
            "spatial (Relative_Depth, Spatial_Relation, Multi-view_Reasoning), all (the 14 subtasks), or a "
            "comma-separated list of subtask names",
        ),
    },
    notes=(
        "prompt: the released `prompt` verbatim (disclaimer first for Forensic_Detection, Jigsaw, Art_Style)",
        "total: unweighted mean of the subtask accuracies (eval/evaluate.py)",
    ),
)
