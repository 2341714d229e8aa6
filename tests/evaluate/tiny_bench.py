"""A three-item benchmark folder (multiple choice, yes/no, a distance) over given images."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from spatialforge.bench.builder.items import BENCH_ITEMS_FILE, BENCH_MANIFEST_FILE, BenchItem
from spatialforge.bench.rules import ScoringRule


def bench_item(n: int, task: str, question: str, images: list[str], **kw) -> BenchItem:
    return BenchItem(
        id=f"item-{n}",
        task=task,
        level=kw.pop("level", 1),
        format=kw.pop("format", "open"),
        question=question,
        images=tuple(images),
        **kw,
    )


def tiny_benchmark(folder: Path, images: list[Path]) -> Path:
    (folder / "images").mkdir(parents=True)
    names = []
    for path in images[:2]:
        Image.open(path).save(folder / "images" / path.name)
        names.append(f"images/{path.name}")
    items = [
        bench_item(
            0,
            "closer_to_camera",
            "Which object is closer to the camera? A. the lamp B. the sofa",
            names[:1],
            format="multiple_choice",
            choices=(("A", "the lamp"), ("B", "the sofa")),
            answer="B",
            answer_value="B",
            unit=None,
            scoring=ScoringRule("choice", "accuracy"),
        ),
        bench_item(
            1,
            "left_of",
            "Is the cup to the left of the plate?",
            names,
            format="yes_no",
            choices=(),
            answer="yes",
            answer_value=True,
            unit=None,
            scoring=ScoringRule("yes_no", "accuracy"),
        ),
        bench_item(
            2,
            "distance",
            "How far is the chair from the table?",
            names[1:],
            level=2,
            choices=(),
            answer="1.5 m",
            answer_value=1.5,
            unit="m",
            scoring=ScoringRule("number", "mra"),
        ),
    ]
    return write_items(folder, items, "tiny")


def write_items(folder: Path, items: list[BenchItem], name: str) -> Path:
    """items.jsonl and a manifest named `name` in folder (a benchmark folder the harness reads)."""
    with open(folder / BENCH_ITEMS_FILE, "w") as fh:
        for item in items:
            fh.write(json.dumps(item.to_json()) + "\n")
    (folder / BENCH_MANIFEST_FILE).write_text(json.dumps({"name": name, "preset": None}))
    return folder
