"""A toy published benchmark for the importer's tests: `rows.jsonl` of {id, subtask, question, options,
answer, image} rows beside their images, scored by the BLINK spec (choice accuracy, macro mean over subtasks).
"""

from __future__ import annotations

from collections.abc import Iterator

from spatialforge.bench.benchmarks import CHOICE, YES_NO
from spatialforge.bench.published.base import (
    LoaderContext,
    LoaderOption,
    LoaderSkip,
    PublishedBenchmark,
    PublishedItem,
    lettered,
)
from spatialforge.errors import RecordError


def load(ctx: LoaderContext) -> Iterator[PublishedItem | LoaderSkip]:
    suffix = ctx.options["suffix"]
    for number, row in ctx.read_jsonl(ctx.require("rows.jsonl")):
        row_id = str(row.get("id", f"line {number}"))
        try:
            image = ctx.path(row["image"], record=row_id, field="image")
        except RecordError as e:
            yield LoaderSkip(row_id, e.reason, str(e))
            continue
        if not image.is_file():
            yield LoaderSkip(row_id, "missing_image", str(image))
            continue
        choices = lettered(row["options"])
        options = "\n".join(f"({label}) {text}" for label, text in choices)
        yield PublishedItem(
            id=row_id,
            task=row["subtask"],
            question=row["question"],
            prompt=f"{row['question']}\n{options}{suffix}",
            images=(image,),
            choices=choices,
            answer=f"({row['answer']})",
            answer_value=row["answer"],
            scoring=YES_NO if row.get("wrong_rule") else CHOICE,
            extra={"line": number},
        )


BENCHMARK = PublishedBenchmark(
    name="toy",
    title="Toy-Bench",
    upstream="tests/bench/loaders/toy_benchmark.py",
    license="CC0",
    size="a few rows",
    files=("rows.jsonl", "images/*.png"),
    scoring="blink",
    load=load,
    options={"suffix": LoaderOption("\nAnswer with the option's letter.", "text after the options")},
)
