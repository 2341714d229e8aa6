"""The `hf` backend on a tiny LLaVA built from config (tests/evaluate/tiny_vlm.py) and loaded back through
from_pretrained: prompts, greedy determinism, token limits, batching, errors, and an evaluation run."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

# Before transformers is imported: huggingface_hub reads it once (tests/conftest.py sets it for the suite).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from PIL import Image  # noqa: E402

from spatialforge.evaluate.models.base import GenerationSettings, ModelError, Request  # noqa: E402
from spatialforge.evaluate.models.hf import (  # noqa: E402
    PROMPT_CHAT,
    PROMPT_CHAT_SYSTEM_IN_USER,
    PROMPT_PLAIN,
    HFVisionLanguageModel,
    build_hf,
    parse_hf_options,
)
from tests.evaluate.tiny_bench import tiny_benchmark  # noqa: E402
from tests.evaluate.tiny_vlm import (  # noqa: E402
    CHAT_TEMPLATE_NO_SYSTEM,
    IMAGE_TOKEN,
    IMAGE_TOKENS_PER_IMAGE,
    build_tiny_vlm,
)

QUESTION = "How far is the chair from the table? Answer in metres."
GREEDY = GenerationSettings(temperature=0.0, max_new_tokens=6)


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_vlm(tmp_path_factory.mktemp("tiny_vlm") / "model")


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("images")
    paths = []
    for n, (size, colour) in enumerate([((40, 30), (200, 20, 20)), ((30, 50), (20, 200, 60))]):
        path = folder / f"im{n}.png"
        Image.new("RGB", size, colour).save(path)
        paths.append(path)
    # A palette image: the backend must hand the processor RGB.
    Image.new("P", (32, 32), 3).save(folder / "palette.png")
    paths.append(folder / "palette.png")
    return paths


@pytest.fixture(scope="module")
def backend(tiny_folder: Path) -> HFVisionLanguageModel:
    model = build_hf({"path": str(tiny_folder), "device": "cpu"}, [])
    assert isinstance(model, HFVisionLanguageModel)
    yield model
    model.close()


def _request(images: list[Path], settings: GenerationSettings = GREEDY, **kw) -> Request:
    return Request(item_id="q1", prompt=QUESTION, images=tuple(images), settings=settings, **kw)


# -- answering ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n_images", [1, 2])
def test_answers_are_strings_and_greedy_answers_repeat(
    backend: HFVisionLanguageModel, images: list[Path], n_images: int
) -> None:
    request = _request(images[:n_images])
    first = backend.answer(request)
    second = backend.answer(request)
    assert isinstance(first.text, str) and first.text
    assert second.text == first.text
    assert 1 <= first.usage["completion_tokens"] <= GREEDY.max_new_tokens
    # Only the new tokens are decoded: the prompt (question, role markers) is not echoed.
    assert "chair from the table" not in first.text
    assert "assistant" not in first.text
    assert first.model == str(backend.options.path)


def test_new_tokens_are_bounded_by_max_new_tokens(backend: HFVisionLanguageModel, images: list[Path]) -> None:
    replies = {
        n: backend.answer(_request(images[:1], GenerationSettings(max_new_tokens=n))) for n in (1, 3, 8)
    }
    for n, reply in replies.items():
        assert 1 <= reply.usage["completion_tokens"] <= n
    # The tiny model never emits its end token within 8 steps here, so each limit is reached exactly, and
    # greedy decoding makes every shorter answer the start of the longer one.
    assert [replies[n].usage["completion_tokens"] for n in (1, 3, 8)] == [1, 3, 8]
    assert replies[8].text.startswith(replies[3].text) and replies[3].text.startswith(replies[1].text)


def test_palette_images_are_converted_to_rgb(backend: HFVisionLanguageModel, images: list[Path]) -> None:
    assert isinstance(backend.answer(_request([images[2]])).text, str)


def test_sampling_is_reproducible_per_seed(backend: HFVisionLanguageModel, images: list[Path]) -> None:
    def sample(seed: int) -> str:
        settings = GenerationSettings(temperature=1.0, top_p=1.0, max_new_tokens=8, seed=seed)
        return backend.answer(_request(images[:1], settings)).text

    assert sample(0) == sample(0)
    assert len({sample(seed) for seed in range(4)}) > 1


def test_batched_answers_match_one_by_one(
    tiny_folder: Path, backend: HFVisionLanguageModel, images: list[Path]
) -> None:
    requests = [
        _request(images[:1]),
        _request(images[:2]),
        Request("q3", "Is the cup to the left of the plate?", (images[1],), GREEDY),
        _request(images[:1], system="Answer briefly."),
    ]
    batched = build_hf({"path": str(tiny_folder), "batch_size": "4"}, [])
    try:
        assert batched.max_concurrency == 4
        with ThreadPoolExecutor(4) as pool:
            together = list(pool.map(batched.answer, requests))
        # the runner's path: one call over consecutive requests, generated together by their settings
        assert batched.batch_size == 4
        grouped = batched.answer_batch(requests)
    finally:
        batched.close()
    alone = [backend.answer(r) for r in requests]
    for replies in (together, grouped):
        assert [r.text for r in replies] == [r.text for r in alone]
        assert [r.usage for r in replies] == [r.usage for r in alone]


def test_answer_batch_fails_only_the_request_it_cannot_read(
    tiny_folder: Path, images: list[Path], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    batched = build_hf({"path": str(tiny_folder), "batch_size": "4"}, [])
    try:
        results = batched.answer_batch([_request(images[:1]), _request([broken]), _request(images[:1])])
    finally:
        batched.close()
    assert isinstance(results[1], ModelError) and results[1].reason == "bad_image"
    assert str(broken) in str(results[1])
    assert results[0].text == results[2].text


# -- what the model sees ----------------------------------------------------------------------------------


@pytest.mark.parametrize("n_images", [1, 2])
def test_prompt_holds_the_question_and_one_placeholder_per_image(
    backend: HFVisionLanguageModel, images: list[Path], n_images: int
) -> None:
    request = _request(images[:n_images])
    text = backend.render_prompt(request)
    assert QUESTION in text
    assert text.count(IMAGE_TOKEN) == n_images
    # Images come before the question, and the turn ends with the assistant's generation prompt.
    assert text.rindex(IMAGE_TOKEN) < text.index(QUESTION)
    assert text.endswith("<|assistant|>\n")
    from spatialforge.evaluate.models.hf import load_rgb_image

    inputs = backend.encode([(request, [load_rgb_image(p) for p in request.images])])
    ids = inputs["input_ids"][0].tolist()
    tokenizer = backend.tokenizer
    image_id = tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
    assert ids.count(image_id) == n_images * IMAGE_TOKENS_PER_IMAGE
    assert ids.count(tokenizer.bos_token_id) == 1 and ids[0] == tokenizer.bos_token_id  # the template's BOS
    assert inputs["pixel_values"].shape[0] == n_images
    assert QUESTION in tokenizer.decode(ids, skip_special_tokens=True)


def test_system_prompt_is_its_own_turn(backend: HFVisionLanguageModel, images: list[Path]) -> None:
    assert backend.prompt_format == PROMPT_CHAT
    text = backend.render_prompt(_request(images[:1], system="You judge distances."))
    assert text.startswith("<s><|system|>\nYou judge distances.<|end|>\n<|user|>\n<image>\n")


def test_template_without_system_role_gets_system_in_user_turn(
    tmp_path: Path, backend: HFVisionLanguageModel, images: list[Path]
) -> None:
    folder = build_tiny_vlm(tmp_path / "nosys", chat_template=CHAT_TEMPLATE_NO_SYSTEM)
    model = build_hf({"path": str(folder)}, [])
    try:
        assert model.prompt_format == PROMPT_CHAT_SYSTEM_IN_USER
        assert model.describe()["prompt_format"] == PROMPT_CHAT_SYSTEM_IN_USER
        text = model.render_prompt(_request(images[:1], system="You judge distances."))
        assert text == f"<s><|user|>\n<image>\nYou judge distances.\n\n{QUESTION}<|end|>\n<|assistant|>\n"
        # Same weights, same rendered text as the system-less request with the system text in front.
        same = backend.answer(Request("q1", f"You judge distances.\n\n{QUESTION}", (images[0],), GREEDY))
        assert model.answer(_request(images[:1], system="You judge distances.")).text == same.text
    finally:
        model.close()


def test_processor_without_chat_template_uses_the_plain_prompt(tmp_path: Path, images: list[Path]) -> None:
    folder = build_tiny_vlm(tmp_path / "plain", chat_template=None)
    model = build_hf({"path": str(folder)}, [])
    try:
        assert model.prompt_format == PROMPT_PLAIN
        text = model.render_prompt(_request(images[:2], system="Be brief."))
        assert text == f"<image><image>Be brief.\n\n{QUESTION}"
        reply = model.answer(_request(images[:2]))
        assert isinstance(reply.text, str) and reply.usage["completion_tokens"] <= GREEDY.max_new_tokens
        ids = model.encode([(_request(images[:2]), [Image.open(p).convert("RGB") for p in images[:2]])])
        # No template BOS, so the tokenizer adds its own: exactly one.
        assert ids["input_ids"][0].tolist().count(model.tokenizer.bos_token_id) == 1
    finally:
        model.close()


def test_image_token_inside_the_prompt_is_refused(backend: HFVisionLanguageModel, images: list[Path]) -> None:
    request = Request("q1", f"What is {IMAGE_TOKEN}?", (images[0],), GREEDY)
    with pytest.raises(ModelError) as err:
        backend.answer(request)
    assert err.value.reason == "prompt_has_image_token" and not err.value.retryable


def test_unreadable_image_is_a_model_error_naming_the_file(
    backend: HFVisionLanguageModel, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    with pytest.raises(ModelError, match="broken.png") as err:
        backend.answer(_request([broken]))
    assert err.value.reason == "bad_image" and not err.value.retryable


# -- describe, close --------------------------------------------------------------------------------------


def test_describe_names_classes_and_parameter_count(
    backend: HFVisionLanguageModel, tiny_folder: Path
) -> None:
    info = backend.describe()
    assert info["kind"] == "hf"
    assert info["path"] == str(tiny_folder)
    assert info["model_class"] == "LlavaForConditionalGeneration"
    assert info["processor_class"] == "LlavaProcessor"
    assert info["device"] == "cpu" and info["dtype"] == "float32"  # the CPU default
    # Counted by hand from tiny_vlm's config: CLIP tower 11,792 (patch conv 3*14*14*16 = 9,408, CLS 16,
    # positions 5*16 = 80, pre-norm 32, one layer 2,224, post-norm 32), projector 16*32+32 + 32*32+32 = 1,600,
    # Llama layer 9,280 (q 1,024, k 512, v 512, o 1,024, MLP 3*32*64 = 6,144, two norms 64), final norm 32,
    # plus the embedding and the untied LM head, 2 * 32 per vocabulary entry.
    vocab = len(backend.tokenizer)
    assert info["num_parameters"] == 11_792 + 1_600 + 9_280 + 32 + 64 * vocab
    assert info["generation_config"]["eos_token_id"] == backend.tokenizer.convert_tokens_to_ids("<|end|>")
    import transformers

    assert info["transformers_version"] == transformers.__version__
    assert info["torch_version"] == torch.__version__
    json.dumps(info)  # eval.json must be able to hold it


def test_close_frees_the_model_and_refuses_later_requests(tiny_folder: Path, images: list[Path]) -> None:
    model = build_hf({"path": str(tiny_folder)}, [])
    model.close()
    assert model.model is None
    with pytest.raises(ModelError) as err:
        model.answer(_request(images[:1]))
    assert err.value.reason == "closed"
    model.close()  # twice is harmless


# -- options and errors -----------------------------------------------------------------------------------


def test_options_are_parsed() -> None:
    spec = {"path": "org/name", "device": "cpu", "dtype": "bfloat16", "batch_size": "8"}
    options = parse_hf_options({**spec, "trust_remote_code": "true"})
    assert (options.path, options.device, options.dtype, options.batch_size) == (
        "org/name",
        "cpu",
        "bfloat16",
        8,
    )
    assert options.trust_remote_code is True
    defaults = parse_hf_options({"path": "x"})
    assert (defaults.device, defaults.dtype, defaults.batch_size, defaults.trust_remote_code) == (
        None,
        None,
        1,
        False,
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"path": "x", "max_new_tokens": "64"}, "max_new_tokens"),
        ({"path": "x", "temperature": "0"}, "temperature"),
        ({}, "needs path"),
        ({"path": "x", "dtype": "float8"}, "dtype='float8'"),
        ({"path": "x", "batch_size": "0"}, "batch_size=0"),
        ({"path": "x", "batch_size": "two"}, "batch_size='two'"),
        ({"path": "x", "trust_remote_code": "maybe"}, "trust_remote_code='maybe'"),
    ],
)
def test_bad_options_are_value_errors(options: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_hf(options, [])


def test_missing_path_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_model"
    with pytest.raises(ValueError, match="does not exist") as err:
        build_hf({"path": str(missing)}, [])
    assert str(missing) in str(err.value)


def test_unknown_hub_id_is_named_offline() -> None:
    with pytest.raises(ValueError, match="cannot load a processor from 'nobody/no-such-vlm'"):
        build_hf({"path": "nobody/no-such-vlm"}, [])


def test_folder_without_a_model_is_named(tmp_path: Path) -> None:
    empty = tmp_path / "empty_folder"
    empty.mkdir()
    with pytest.raises(ValueError, match="cannot load") as err:
        build_hf({"path": str(empty)}, [])
    assert str(empty) in str(err.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_cuda_without_a_gpu_is_refused(tiny_folder: Path) -> None:
    with pytest.raises(ValueError, match="no CUDA device"):
        build_hf({"path": str(tiny_folder), "device": "cuda"}, [])


def test_bad_device_is_named(tiny_folder: Path) -> None:
    with pytest.raises(ValueError, match="device='gpu0'"):
        build_hf({"path": str(tiny_folder), "device": "gpu0"}, [])


# -- an evaluation run --------------------------------------------------------------------------------------


def test_evaluation_run_with_the_hf_backend(tmp_path: Path, tiny_folder: Path, images: list[Path]) -> None:
    run = pytest.importorskip("spatialforge.evaluate.run")
    bench = tiny_benchmark(tmp_path / "bench", images)
    out = tmp_path / "out"
    spec = f"hf:path={tiny_folder},device=cpu"
    config = run.EvalConfig(
        benchmark=str(bench), model=spec, output=str(out), max_new_tokens=4, progress=False, bootstrap=50
    )
    report = run.run_eval(config)
    assert report.answered == 3 and not report.failed
    lines = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert sorted(line["id"] for line in lines) == ["item-0", "item-1", "item-2"]
    for line in lines:
        assert isinstance(line["prediction"], str)
        assert 1 <= line["usage"]["completion_tokens"] <= 4
    recorded = json.loads((out / "eval.json").read_text())
    assert recorded["model"]["spec"] == spec
    assert recorded["model"]["model_class"] == "LlavaForConditionalGeneration"
    scored = [json.loads(line) for line in (out / "score" / "items.jsonl").read_text().splitlines()]
    assert sorted(s["id"] for s in scored) == ["item-0", "item-1", "item-2"]
    assert (out / "tables.json").is_file() and (out / "score" / "summary.json").is_file()
    # Resuming asks nothing again.
    again = run.run_eval(config)
    assert again.asked_this_run == 0
    assert len((out / "predictions.jsonl").read_text().splitlines()) == 3
