"""SpatialRGPT-Bench loader: the fixture reproduces `SpatialRGPT-Bench_v1.json` (see fixtures/spatialrgpt)."""

from __future__ import annotations

import importlib.util
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spatialforge.bench.benchmarks import get_benchmark
from spatialforge.bench.published import get_published
from spatialforge.bench.published.base import ImageData, LoaderSkip, PublishedItem
from spatialforge.bench.published.importer import _bench_item
from spatialforge.bench.published.spatialrgpt import (
    BENCH_FILE,
    RLEError,
    bbox_px,
    decode_rle,
    mask_box_px,
    predicate_answer,
    rle_counts,
    task_of,
)
from spatialforge.bench.score import official_totals, scored_line
from spatialforge.errors import RecordError
from tests.bench.loaders.e2e import run_end_to_end

FIXTURE = Path(__file__).parent / "fixtures" / "spatialrgpt"
BENCHMARK = get_published("spatialrgpt")


def _load(root: Path) -> list[PublishedItem | LoaderSkip]:
    return list(BENCHMARK.read(root))


def _items(root: Path = FIXTURE) -> dict[str, PublishedItem]:
    entries = _load(root)
    assert all(isinstance(e, PublishedItem) for e in entries), [
        e for e in entries if isinstance(e, LoaderSkip)
    ]
    return {e.id: e for e in entries if isinstance(e, PublishedItem)}


def _copy(tmp_path: Path) -> tuple[Path, list[dict]]:
    root = tmp_path / "data"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("*.py", "*.md"))
    return root, json.loads((root / BENCH_FILE).read_text())


def _write(root: Path, rows: list[dict]) -> None:
    (root / BENCH_FILE).write_text(json.dumps(rows))


def test_items_prompts_and_gold() -> None:
    items = _items()
    assert len(items) == 9
    height = items["quantitative_PKHJ3yyJtl"]
    assert height.task == "height" and height.report_group == "quantitative"
    assert height.prompt == "What is the approximate height of the region in the red box?"
    assert height.question == "What is the approximate height of Region [0]?"
    assert height.answer == "38.71 inches"
    assert height.answer_value == pytest.approx(38.71 * 0.0254) and height.unit == "m"
    distance = items["quantitative_3kQx9dLm2a"]
    assert distance.task == "direct_distance" and distance.answer_value == pytest.approx(1.2)
    assert distance.prompt == "How far apart are the region in the red box and the region in the green box?"
    assert items["quantitative_Yh7GtR4eWq"].answer_value == pytest.approx(15.33 * 0.3048)
    direction = items["quantitative_Zr8TnVb41w"]
    assert direction.task == "direction" and direction.answer_value == 2 and direction.unit is None
    assert (
        direction.prompt
        == "If you are at the region in the red box, where will you find the region in the green box?"
    )
    # Predicates: the template phrase that opens the answer decides yes / no.
    assert items["qualitative_3TrgWgKqnf"].answer_value == "no"  # "Incorrect, ..."
    assert items["qualitative_3TrgWgKqnf"].task == "big_small"
    assert items["qualitative_Lm2P0xq7Ty"].answer_value == "yes"  # "Indeed, ..."
    assert items["qualitative_Bv6NmK8jHg"].answer_value == "no"  # "No."
    assert items["qualitative_Bv6NmK8jHg"].task == "behind_front"
    # Choices: the asked regions as options, the one the answer names as gold.
    taller = items["qualitative_Qw3ErT5yUi"]
    assert taller.task == "tall_short" and taller.answer_value == "B"
    assert taller.choices == (("A", "the region in the red box"), ("B", "the region in the green box"))
    assert taller.prompt == "Who is taller, the region in the red box or the region in the green box?"
    assert items["qualitative_Ps4DfG6hJk"].answer_value == "A"
    assert items["qualitative_Ps4DfG6hJk"].task == "below_above"
    for item in items.values():
        assert item.extra["conversation_question"].startswith("<image>")
        assert item.score_meta["type"] == item.report_group


def test_region_boxes_are_drawn_in_their_colours() -> None:
    item = _items()["quantitative_3kQx9dLm2a"]
    (image,) = item.images
    assert isinstance(image, ImageData) and image.suffix == ".png"
    pixels = np.array(Image.open(io.BytesIO(image.data)).convert("RGB"))
    # bbox [1, 4, 9, 18] covers pixels x 1..8, y 4..17; the outline runs inward from its edge.
    assert tuple(pixels[4, 1]) == (255, 0, 0) and tuple(pixels[17, 8]) == (255, 0, 0)
    assert tuple(pixels[6, 18]) == (0, 255, 0)  # region 1, bbox [18, 6, 30, 22]
    assert item.extra["regions"][0] == {"colour": "red", "box_px": [0.5, 3.5, 8.5, 17.5]}


def test_rle_fallback_gives_the_same_box_as_the_bbox() -> None:
    item = _items()["qualitative_Bv6NmK8jHg"]  # released with an empty bbox list
    assert item.extra["box_source"] == "rle"
    assert [r["box_px"] for r in item.extra["regions"]] == [
        list(bbox_px([4, 2, 27, 20])),
        list(bbox_px([9, 4, 16, 9])),
    ]


def test_rle_decoder_on_hand_made_masks() -> None:
    # Runs 1, 5, 2, 1, 1 over a 2x5 mask in column-major order; the 4th and 5th are stored as differences
    # to the run two before (1 - 5 = -4 -> "L", 1 - 2 = -1 -> "O").
    assert rle_counts("152LO") == [1, 5, 2, 1, 1]
    expected = np.array([[0, 1, 1, 0, 1], [1, 1, 1, 0, 0]], dtype=bool)
    assert (decode_rle({"size": [2, 5], "counts": "152LO"}) == expected).all()
    assert (decode_rle({"size": [2, 5], "counts": [1, 5, 2, 1, 1]}) == expected).all()
    assert rle_counts("X1") == [40]  # a value over two characters (continuation bit)
    assert mask_box_px(expected) == (-0.5, -0.5, 4.5, 1.5)
    assert mask_box_px(np.zeros((3, 3), dtype=bool)) is None
    with pytest.raises(RLEError, match="cover"):
        decode_rle({"size": [2, 5], "counts": "152L"})
    with pytest.raises(RLEError):
        rle_counts("1\x01")


def test_rle_decoder_round_trips_the_fixture_encoder() -> None:
    spec = importlib.util.spec_from_file_location("make_spatialrgpt_fixture", FIXTURE / "make_fixture.py")
    assert spec is not None and spec.loader is not None
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    rng = np.random.default_rng(3)
    for _ in range(20):
        mask = rng.random((7, 11)) < 0.4
        assert (decode_rle(maker.encode_rle(mask)) == mask).all()


def test_category_groups_and_predicate_phrases() -> None:
    assert task_of("qualitative", "short_choice") == "tall_short"
    assert task_of("qualitative", "thin_predicate") == "wide_thin"
    assert task_of("qualitative", "front_predicate") == "behind_front"
    assert task_of("quantitative", "vertical_distance_data") == "vertical_distance"
    assert task_of("quantitative", "depth_data") is None
    assert predicate_answer("That is True.") == "yes"
    assert predicate_answer("In fact, Region [0] may be taller than Region [1].") == "no"
    assert predicate_answer("Actually, Region [0] is below Region [1].") == "no"
    assert predicate_answer("Correct, Region [0] is not as tall as Region [1].") == "yes"
    assert predicate_answer("Region [0] is left.") is None


def test_rules_agree_with_the_scoring_spec() -> None:
    spec = get_benchmark(BENCHMARK.scoring, BENCHMARK.variant)
    for item in _items().values():
        bench_item = _bench_item(item, BENCHMARK, ["image.png"])
        assert item.scoring == spec.rule_for(bench_item.prediction_item("")), item.id


REPLIES = {
    "quantitative_PKHJ3yyJtl": "It is about 1 meter tall.",  # gold 0.983 m: within the band
    "quantitative_3kQx9dLm2a": "They are 2 meters apart.",  # gold 1.2 m: outside
    "quantitative_Zr8TnVb41w": "At about 3 o'clock.",  # gold 2: one hour off, a success
    "quantitative_Yh7GtR4eWq": "5 meters.",  # gold 4.67 m: within
    "qualitative_3TrgWgKqnf": "No, it is larger.",  # gold no
    "qualitative_Lm2P0xq7Ty": "No.",  # gold yes
    "qualitative_Qw3ErT5yUi": "The region in the green box is taller.",  # gold B
    "qualitative_Bv6NmK8jHg": "Yes, it is behind.",  # gold no
    "qualitative_Ps4DfG6hJk": "The region in the red box.",  # gold A
}


def test_official_totals_on_hand_made_replies() -> None:
    spec = get_benchmark("spatialrgpt")
    lines = [
        scored_line(_bench_item(item, BENCHMARK, ["image.png"]).prediction_item(REPLIES[item.id]), spec)
        for item in _items().values()
    ]
    tasks, totals, error = official_totals(lines, spec)
    assert error is None
    assert totals == {"qualitative": pytest.approx(3 / 5), "quantitative": pytest.approx(3 / 4)}
    assert tasks["direct_distance"].score == 0.0 and tasks["direction"].score == 1.0
    # Without quantitative items there is no official pair of numbers.
    qualitative_only = [line for line in lines if line.item_id.startswith("qualitative")]
    assert official_totals(qualitative_only, spec)[1] == {}


def test_bad_rows_are_skipped_with_named_reasons(tmp_path: Path) -> None:
    root, rows = _copy(tmp_path)
    bad = [dict(rows[0], id=f"bad_{i}") for i in range(9)]
    bad[0]["image_info"] = dict(rows[0]["image_info"], file_path="ARKitScenes/missing.jpg")
    bad[1]["image_info"] = dict(rows[0]["image_info"], file_path="../../../etc/passwd")
    bad[2]["qa_info"] = {"type": "quantitative", "category": "depth_data", "class": []}
    bad[3]["conversations"] = [rows[0]["conversations"][0], {"from": "gpt", "value": "It is tall."}]
    bad[4]["text_q"] = "What is the height of Region [3]?"
    bad[5]["image_info"] = dict(rows[0]["image_info"], file_path="broken.jpg")
    (root / "broken.jpg").write_bytes(b"not an image")
    del bad[6]["text_q"]
    bad[7]["bbox"], bad[7]["rle"] = [], [{"size": [24, 32], "counts": "12"}]
    bad[8]["image_info"] = dict(rows[0]["image_info"], width=64)
    _write(root, [*rows, *bad, {"image_info": {}}])
    skips = {e.item_id: e.reason for e in _load(root) if isinstance(e, LoaderSkip)}
    assert skips == {
        "bad_0": "missing_image",
        "bad_1": "unsafe_path",
        "bad_2": "unknown_category",
        "bad_3": "unparsable_answer",
        "bad_4": "bad_region",
        "bad_5": "unreadable_image",
        "bad_6": "missing_field",
        "bad_7": "bad_region",
        "bad_8": "unreadable_image",
        "row 18": "missing_field",
    }


def test_whole_file_errors(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    with pytest.raises(RecordError, match="SpatialRGPT-Bench"):
        _load(root)
    (root / BENCH_FILE).write_text('{"id": "x"}')
    with pytest.raises(RecordError, match="not a JSON list"):
        _load(root)
    (root / BENCH_FILE).write_text("[{")
    with pytest.raises(RecordError):
        _load(root)


def test_end_to_end(tmp_path: Path) -> None:
    tables = run_end_to_end("spatialrgpt", FIXTURE, tmp_path)
    assert set(tables["totals"]) == {"qualitative", "quantitative"}
    assert {t["task"] for t in tables["tasks"]} == {
        "height",
        "direct_distance",
        "horizontal_distance",
        "direction",
        "big_small",
        "left_right",
        "tall_short",
        "behind_front",
        "below_above",
    }
