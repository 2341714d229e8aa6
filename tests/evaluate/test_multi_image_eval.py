"""Multi-image benchmark items through the evaluation runner: every image sent, in the item's order, before
the text (OpenAI-compatible API against a loopback server; the tiny LLaVA through the hf backend), the
image-numbering line of the prompt, and a prompt format that cannot place every image refused by name.

The items are hand-built on a synthetic three-view room (tests/multi_image_fixtures.py) and written with the
benchmark builder's own item functions."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

os.environ.setdefault(
    "HF_HUB_OFFLINE", "1"
)  # before transformers is imported (tests/conftest.py sets it too)

import pytest
from PIL import Image

from spatialforge.bench.builder.items import BenchItem, read_bench_items
from spatialforge.bench.rules import ScoringRule
from spatialforge.evaluate.models.base import GenerationSettings, ModelError, Request
from spatialforge.evaluate.prompts import IMAGE_ORDER_NOTE, build_prompt, image_order_note, prompt_record
from spatialforge.evaluate.run import EvalConfig, run_eval
from spatialforge.qa.records import QARecord
from spatialforge.scene.records import Scene
from tests.evaluate.fake_openai_server import FakeOpenAIServer
from tests.multi_image_fixtures import mv_records, mv_scene, write_mv_bench


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scene, dict[str, QARecord]]:
    scene, _ = mv_scene(tmp_path_factory.mktemp("mv_room") / "S")
    return scene, mv_records(scene)


def _bench(root: Path, room: tuple[Scene, dict[str, QARecord]]) -> Path:
    scene, records = room
    reverse = dataclasses.replace(records["view_chg"], task="relative_direction_mv")  # images (v2, v0)
    return write_mv_bench(root, scene, [records["rel_oo"], reverse, records["single"]])


def _item(question: str, n_images: int) -> BenchItem:
    return BenchItem(
        id="q",
        task="t",
        level=2,
        format="mcq",
        question=question,
        images=tuple(f"images/{k}.png" for k in range(n_images)),
        choices=(("A", "yes"), ("B", "no")),
        answer="A",
        answer_value="A",
        unit=None,
        scoring=ScoringRule("choice", "accuracy", {}, {}),
    )


# ---------------------------------------------------------------------------------------- prompts


def test_images_are_numbered_in_the_prompt_only_when_the_question_numbers_them() -> None:
    numbered = _item("Is the chair (red box in image 2) left of the table (blue box in image 3)?", 3)
    note = IMAGE_ORDER_NOTE.format(n=3)
    assert note == "Images 1 to 3 are given in the order shown."
    assert image_order_note(numbered) == note
    assert build_prompt(numbered) == (
        f"{note}\n{numbered.question}\n\nAnswer with the letter of the correct option."
    )
    assert build_prompt(numbered, "plain") == numbered.question  # the question alone
    # Order words only, or a single image: nothing added.
    assert image_order_note(_item("How does the camera move from the first image to the second?", 2)) is None
    assert image_order_note(_item("Is the chair in image 1 red?", 1)) is None
    for text in ("in Image 2", "frame 3 shows", "picture #2", "views 1 and 2"):
        assert image_order_note(_item(text, 2)) is not None, text
    assert prompt_record("instructed", None)["image_order_note"] == IMAGE_ORDER_NOTE
    assert prompt_record("plain", None)["image_order_note"] is None


# ---------------------------------------------------------------------------------------- OpenAI API


def test_openai_requests_carry_every_image_in_item_order(room, tmp_path: Path) -> None:
    bench = _bench(tmp_path, room)
    items = {i.id: i for i in read_bench_items(bench)}
    with FakeOpenAIServer(answer_for=lambda prompt: "A") as server:
        spec = f"openai:base_url={server.base_url},model=m,backoff=0,timeout=5"
        cfg = EvalConfig(str(bench), spec, str(tmp_path / "run"), progress=False, report=False, bootstrap=20)
        report = run_eval(cfg)
        received = list(server.received)
    assert report.answered == len(items) == 3 and not report.failed
    assert len(received) == 3
    predictions = {
        p["id"]: p for p in map(json.loads, (tmp_path / "run" / "predictions.jsonl").read_text().splitlines())
    }
    for request in received:
        [item] = [i for i in items.values() if predictions[i.id]["prompt"] == request.prompt]
        # the images, decoded back from the data URLs, are the item's files in the item's order
        assert [data for _, data in request.images] == [(bench / p).read_bytes() for p in item.images]
        content = request.body["messages"][-1]["content"]
        assert [p["type"] for p in content] == ["image_url"] * len(item.images) + ["text"]
        numbered = len(item.images) > 1
        assert content[-1]["text"].startswith(IMAGE_ORDER_NOTE.format(n=len(item.images))) == numbered
        assert predictions[item.id]["images"] == [Path(p).name for p in item.images]


# ---------------------------------------------------------------------------------------- hf backend


@pytest.fixture(scope="module")
def tiny_vlm(tmp_path_factory: pytest.TempPathFactory) -> object:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tests.evaluate.tiny_vlm import build_tiny_vlm

    return build_tiny_vlm


def test_hf_backend_passes_every_image(room, tiny_vlm, tmp_path: Path) -> None:
    from spatialforge.evaluate.models.hf import build_hf
    from tests.evaluate.tiny_vlm import IMAGE_TOKEN, IMAGE_TOKENS_PER_IMAGE

    folder = tiny_vlm(tmp_path / "model")
    bench = _bench(tmp_path, room)
    [item] = [i for i in read_bench_items(bench) if len(i.images) == 3]
    backend = build_hf({"path": str(folder), "device": "cpu"}, [])
    try:
        request = Request(
            item.id, build_prompt(item), tuple(bench / p for p in item.images), GenerationSettings()
        )
        assert backend.image_slots(3) == 3
        text = backend.render_prompt(request)
        assert text.count(IMAGE_TOKEN) == 3
        images = [Image.open(bench / p).convert("RGB") for p in item.images]
        inputs = backend.encode([(request, images)])
        assert inputs["pixel_values"].shape[0] == 3  # every image reaches the model
        image_id = backend.tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
        assert inputs["input_ids"][0].tolist().count(image_id) == 3 * IMAGE_TOKENS_PER_IMAGE
        assert isinstance(backend.answer(request).text, str)
    finally:
        backend.close()


def test_hf_prompt_format_that_drops_images_is_refused_by_name(room, tiny_vlm, tmp_path: Path) -> None:
    from spatialforge.evaluate.models.hf import build_hf
    from tests.evaluate.tiny_vlm import CHAT_TEMPLATE

    # A chat template that renders only the first image entry of a message.
    image_part = "{% if part['type'] == 'image' %}<image>{{ '\\n' }}"
    assert image_part in CHAT_TEMPLATE
    first_only = CHAT_TEMPLATE.replace(
        image_part, "{% if part['type'] == 'image' %}{% if loop.first %}<image>{{ '\\n' }}{% endif %}"
    )
    folder = tiny_vlm(tmp_path / "model", chat_template=first_only)
    bench = _bench(tmp_path, room)
    backend = build_hf({"path": str(folder), "device": "cpu"}, [])
    try:
        assert backend.image_slots(1) == 1 and backend.image_slots(3) == 1
        [item] = [i for i in read_bench_items(bench) if len(i.images) == 3]
        request = Request(
            item.id, build_prompt(item), tuple(bench / p for p in item.images), GenerationSettings()
        )
        with pytest.raises(ModelError) as caught:
            backend.answer(request)
        assert caught.value.reason == "images_not_placed" and not caught.value.retryable
    finally:
        backend.close()
    # Through the runner: the multi-image items fail by name, the single-image one is answered.
    cfg = EvalConfig(
        str(bench), f"hf:path={folder},device=cpu", str(tmp_path / "run"), progress=False, report=False,
        bootstrap=20, max_new_tokens=4,
    )  # fmt: skip
    report = run_eval(cfg)
    assert dict(report.failed) == {"images_not_placed": 2} and report.answered == 1
    failures = [json.loads(x) for x in (tmp_path / "run" / "failures.jsonl").read_text().splitlines()]
    assert {f["reason"] for f in failures} == {"images_not_placed"}
