"""Q-Spatial-Bench loader: the fixture reproduces the two released parquet files (see fixtures/qspatial)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from spatialforge.bench.benchmarks import get_benchmark
from spatialforge.bench.published import get_published
from spatialforge.bench.published.base import ImageData, LoaderSkip, PublishedItem
from spatialforge.bench.published.importer import _bench_item
from spatialforge.bench.published.qspatial import SPLIT_FILES, SYSTEM_PROMPT, gold_metres
from spatialforge.bench.score import official_totals, scored_line
from spatialforge.errors import RecordError
from tests.bench.loaders.e2e import run_end_to_end

FIXTURE = Path(__file__).parent / "fixtures" / "qspatial"
BENCHMARK = get_published("qspatial")


def _load(root: Path, **options: str) -> list[PublishedItem | LoaderSkip]:
    return list(BENCHMARK.read(root, options))


def _items(root: Path = FIXTURE, **options: str) -> dict[str, PublishedItem]:
    entries = _load(root, **options)
    assert all(isinstance(e, PublishedItem) for e in entries), [
        e for e in entries if isinstance(e, LoaderSkip)
    ]
    return {e.id: e for e in entries if isinstance(e, PublishedItem)}


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("*.py", "*.md"))
    return root


def test_items_prompt_and_gold() -> None:
    items = _items()
    assert list(items) == [
        *(f"QSpatial_plus_{i}" for i in range(4)),
        *(f"QSpatial_scannet_{i}" for i in range(3)),
    ]
    first = items["QSpatial_plus_0"]
    assert first.task == "QSpatial_plus"
    assert first.question == "What is the minimum distance between the two speckled pattern stool chairs?"
    # VLMEvalKit's QSpatial.build_prompt: the system prompt, a newline, the rendered user template.
    assert first.prompt == (
        "You will be provided with a question and a 2D image. The question involves measuring the precise "
        "distance in 3D space through a 2D image. You will answer the question by providing a numeric answer "
        'consisting of a scalar and a distance unit in the format of """\\scalar{scalar} '
        '\\distance_unit{distance unit}""" at the end of your response.\n'
        "Question: What is the minimum distance between the two speckled pattern stool chairs?\n"
        "Let's think step by step."
    )
    assert first.answer == "96.0 cm" and first.answer_value == pytest.approx(0.96) and first.unit == "m"
    assert isinstance(first.images[0], ImageData) and first.images[0].suffix == ".jpg"
    assert items["QSpatial_plus_1"].answer == "1.8 meters"
    assert items["QSpatial_plus_2"].answer_value == pytest.approx(36 * 0.0254)
    assert items["QSpatial_plus_3"].answer_value == pytest.approx(1.5 * 0.3048)
    scannet = items["QSpatial_scannet_0"]
    assert scannet.task == "QSpatial_scannet" and scannet.answer_value == pytest.approx(0.75)
    assert scannet.images == (FIXTURE.resolve() / "QSpatial_scannet" / "images/scene0015_00/color/0.jpg",)
    assert scannet.extra["question_type"] == "height"


def test_split_and_prompt_options() -> None:
    plus = _items(splits="QSpatial_plus", prompt="spatial_single")
    assert set(plus) == {f"QSpatial_plus_{i}" for i in range(4)}
    assert plus["QSpatial_plus_3"].prompt == (
        f"{SYSTEM_PROMPT}\nQuestion: How far is the red mug from the laptop?\n"
        "Let's thinkg step by step and start by finding good reference objects or object parts in the image."
    )
    steps = _items(splits="QSpatial_scannet", prompt="spatial_steps")["QSpatial_scannet_1"].prompt
    assert steps.startswith(
        f"{SYSTEM_PROMPT}\nQuestion: How wide is the bed?\n\n---\n\nUse the following 4 steps"
    )
    assert steps.endswith(
        "Step 4 **Focus on the image and follow the plan in Step 3 to answer the question**"
    )
    with pytest.raises(ValueError, match="splits"):
        _load(FIXTURE, splits="QSpatial")
    with pytest.raises(ValueError, match="prompt"):
        _load(FIXTURE, prompt="few_shot")


def test_gold_units_follow_the_released_evaluator() -> None:
    assert gold_metres(96.0, "cm") == pytest.approx(0.96)
    assert gold_metres(3.0, "Feet") == pytest.approx(0.9144)
    assert gold_metres(20.0, "mm") == pytest.approx(0.02)
    for value, unit in (
        (1.0, "yards"),
        (1.0, "km"),
        (float("nan"), "m"),
        (0.0, "m"),
        (-1.0, "m"),
        (1.0, None),
    ):
        with pytest.raises(ValueError):
            gold_metres(value, unit)


def _rewrite(path: Path, changes: dict[int, dict]) -> None:
    table = pq.read_table(path)
    rows = table.to_pylist()
    for index, change in changes.items():
        rows[index].update(change)
    pq.write_table(type(table).from_pylist(rows, schema=table.schema), path)


def test_bad_rows_are_skipped_with_named_reasons(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _rewrite(
        root / SPLIT_FILES["QSpatial_plus"],
        {
            0: {"answer_unit": "yards"},
            1: {"answer_value": float("nan")},
            2: {"image": {"bytes": b"not an image", "path": "x.jpeg"}},
            3: {"question": None},
        },
    )
    _rewrite(
        root / SPLIT_FILES["QSpatial_scannet"],
        {0: {"image_path": "../../../etc/passwd"}, 1: {"image_path": "images/scene9999_00/color/0.jpg"}},
    )
    # A frame directly under the data folder is found as well as one under QSpatial_scannet/.
    moved = root / "images/scene0164_00/color/1600.jpg"
    moved.parent.mkdir(parents=True)
    (root / "QSpatial_scannet/images/scene0164_00/color/1600.jpg").rename(moved)
    entries = _load(root)
    skips = {e.item_id: e.reason for e in entries if isinstance(e, LoaderSkip)}
    assert skips == {
        "QSpatial_plus_0": "bad_answer",
        "QSpatial_plus_1": "bad_answer",
        "QSpatial_plus_2": "unreadable_image",
        "QSpatial_plus_3": "missing_field",
        "QSpatial_scannet_0": "unsafe_path",
        "QSpatial_scannet_1": "missing_image",
    }
    (kept,) = [e for e in entries if isinstance(e, PublishedItem)]
    assert kept.id == "QSpatial_scannet_2" and kept.images == (moved.resolve(),)


def test_missing_files(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    with pytest.raises(RecordError, match="Q-Spatial-Bench"):
        _load(root)
    shutil.copytree(FIXTURE / "data", root / "data")
    (root / SPLIT_FILES["QSpatial_scannet"]).unlink()
    assert {e.task for e in _load(root) if isinstance(e, PublishedItem)} == {"QSpatial_plus"}
    with pytest.raises(RecordError, match="QSpatial_scannet"):
        _load(root, splits="QSpatial_scannet")


def test_rules_agree_with_the_scoring_spec() -> None:
    spec = get_benchmark(BENCHMARK.scoring, BENCHMARK.variant)
    for item in _items().values():
        assert item.scoring == spec.rule_for(
            _bench_item(item, BENCHMARK, ["image.png"]).prediction_item("")
        ), item.id


REPLIES = {
    "QSpatial_plus_0": "... approximately:\n\n\\scalar{1} \\distance_unit{meter}",  # 1.04 x gold
    "QSpatial_plus_1": "\\scalar{4} \\distance_unit{meters}",  # 2.2 x gold: fails (< 2 needed)
    "QSpatial_plus_2": "\\scalar{2-3} \\distance_unit{feet}",  # mean 2.5 ft = 0.76 m vs 0.91 m
    "QSpatial_plus_3": "About 45 cm.",  # no \\scalar{}: not scored
    "QSpatial_scannet_0": "\\scalar{30} \\distance_unit{inches}",  # 0.762 m vs 0.75 m
    # Gold 1.4 m is stored as float32 1.39999998: the ratio is just under 2, a success, as in the released
    # evaluator, which reads the same float32 value.
    "QSpatial_scannet_1": "\\scalar{70} \\distance_unit{cm}",
    "QSpatial_scannet_2": "\\scalar{2} \\distance_unit{furlongs}",  # unknown unit: not scored
}


def test_official_totals_on_hand_made_replies() -> None:
    spec = get_benchmark("qspatial")
    lines = [
        scored_line(_bench_item(item, BENCHMARK, ["image.png"]).prediction_item(REPLIES[item.id]), spec)
        for item in _items().values()
    ]
    tasks, totals, error = official_totals(lines, spec)
    assert error is None
    assert totals == {
        "QSpatial_plus": pytest.approx(2 / 4),
        "QSpatial_scannet": pytest.approx(2 / 3),
        "overall": pytest.approx((2 / 4 + 2 / 3) / 2),
    }
    assert {line.item_id: line.status for line in lines}["QSpatial_plus_3"] == "no_answer"


def test_end_to_end(tmp_path: Path) -> None:
    tables = run_end_to_end("qspatial", FIXTURE, tmp_path)
    assert set(tables["totals"]) == {"QSpatial_plus", "QSpatial_scannet", "overall"}
    assert {t["task"]: t["n"] for t in tables["tasks"]} == {"QSpatial_plus": 4, "QSpatial_scannet": 3}
