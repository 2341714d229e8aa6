"""Batched evaluation of a saved spatialforge model: the runner's batch path (consecutive groups of
batch_size through answer_batch), full batches, the same replies as one request at a time, per-item errors
inside a batch, the decoded-input cache, and `generate` against the decoding loop it replaced."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from PIL import Image  # noqa: E402

from spatialforge.bench.rules import ScoringRule  # noqa: E402
from spatialforge.evaluate import run as run_module  # noqa: E402
from spatialforge.evaluate.models.base import (  # noqa: E402
    GenerationSettings,
    ModelBackend,
    ModelError,
    Reply,
    Request,
    build_model,
)
from spatialforge.evaluate.models.spatialforge_model import InputCache  # noqa: E402
from spatialforge.evaluate.run import EvalConfig, run_eval  # noqa: E402
from spatialforge.models import named_config  # noqa: E402
from spatialforge.models.vlm import Generation, SpatialVLM, _pick  # noqa: E402
from spatialforge.models.vlm import build_model as build_vlm  # noqa: E402
from tests.evaluate.tiny_bench import bench_item, write_items  # noqa: E402

N_ITEMS = 11
QUESTIONS = (
    "How far is the chair from the table?",
    "Is the lamp to the left of the sofa from the camera's viewpoint?",
    "Which is closer to the camera, the bed or the wardrobe next to the window?",
    "How tall is the shelf?",
)
SIZES = ((64, 48), (80, 60), (48, 64))  # images of three sizes: their point maps resize differently


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    model = build_vlm(named_config("test-small"))
    with torch.no_grad():
        model.connector.blocks["pointmap"].weight.normal_(0.0, 0.5)  # make the point maps matter
        for parameter in model.backbone.decoder.blocks.parameters():
            if parameter.ndim == 2:  # at init the tied head repeats the last token; this one says words
                parameter.normal_(0.0, 0.3)
    return model.save_pretrained(tmp_path_factory.mktemp("model"))


def write_bench(root: Path, missing_point_map: str | None = None) -> Path:
    """N_ITEMS open questions over three images of different sizes (each with a point map in
    root/pointmaps, except `missing_point_map`); item 7 shows two images."""
    bench, pointmaps = root / "bench", root / "pointmaps"
    (bench / "images").mkdir(parents=True)
    pointmaps.mkdir()
    rng = np.random.default_rng(0)
    names = []
    for k, (width, height) in enumerate(SIZES):
        name = f"view{k}"
        Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(
            bench / "images" / f"{name}.png"
        )
        names.append(f"images/{name}.png")
        if name != missing_point_map:
            xyz = rng.uniform(-2.0, 6.0, (height // 2, width // 2, 3)).astype(np.float32)
            xyz[0, :3] = np.nan  # a few invalid pixels
            np.save(pointmaps / f"{name}.npy", xyz)
    items = []
    for n in range(N_ITEMS):
        images = [names[n % 3], names[(n + 1) % 3]] if n == 7 else [names[n % 3]]
        items.append(
            bench_item(
                n,
                f"task{n % 2}",
                QUESTIONS[n % len(QUESTIONS)] + " Answer in metres." * (n % 3),
                images,
                choices=(),
                answer="1.5 m",
                answer_value=1.5,
                unit="m",
                scoring=ScoringRule("number", "mra"),
            )
        )
    return write_items(bench, items, "batching")


class GenerateCalls:
    """Records the batch size of every SpatialVLM.generate call (monkeypatched)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sizes: list[int] = []
        original = SpatialVLM.generate

        def counted(model: SpatialVLM, batch: Any, **settings: Any) -> Generation:
            self.sizes.append(int(batch.input_ids.shape[0]))
            return original(model, batch, **settings)

        monkeypatch.setattr(SpatialVLM, "generate", counted)


def _eval(bench: Path, out: Path, spec: str, **kw: Any) -> dict[str, dict]:
    config = EvalConfig(
        benchmark=str(bench),
        model=spec,
        output=str(out),
        max_new_tokens=kw.pop("max_new_tokens", 8),
        prompt_style="plain",
        progress=False,
        report=False,
        bootstrap=10,
        **kw,
    )
    run_eval(config)
    return {r["id"]: r for r in map(json.loads, (out / "predictions.jsonl").read_text().splitlines())}


def test_batched_eval_gives_the_replies_of_one_at_a_time_in_full_batches(
    saved_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = write_bench(tmp_path)
    spec = f"spatialforge:{saved_model},pointmaps={tmp_path / 'pointmaps'}"
    calls = GenerateCalls(monkeypatch)
    single = _eval(bench, tmp_path / "one", spec)
    assert calls.sizes == [1] * N_ITEMS
    calls.sizes.clear()
    batched = _eval(bench, tmp_path / "four", spec + ",batch_size=4")
    assert sorted(calls.sizes) == [3, 4, 4]  # consecutive groups of 4: every batch full but the last
    assert set(batched) == set(single) == {f"item-{n}" for n in range(N_ITEMS)}
    for item_id, record in single.items():
        assert batched[item_id]["prediction"] == record["prediction"], item_id
        assert batched[item_id]["usage"] == record["usage"], item_id
    assert len({r["prediction"] for r in single.values()}) > 1  # the questions get different answers
    recorded = json.loads((tmp_path / "four" / "eval.json").read_text())
    assert recorded["model"]["batch_size"] == 4 and recorded["status"]["answered"] == N_ITEMS


def test_a_missing_point_map_fails_only_its_items(
    saved_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = write_bench(tmp_path, missing_point_map="view1")
    spec = f"spatialforge:{saved_model},pointmaps={tmp_path / 'pointmaps'},batch_size=4"
    calls = GenerateCalls(monkeypatch)
    answered = _eval(bench, tmp_path / "out", spec)
    failing = {"item-1", "item-4", "item-7", "item-10"}  # the items showing view1 (item 7: views 1 and 2)
    assert set(answered) == {f"item-{n}" for n in range(N_ITEMS)} - failing
    failures = [json.loads(line) for line in (tmp_path / "out" / "failures.jsonl").read_text().splitlines()]
    assert {f["id"] for f in failures} == failing
    assert {f["reason"] for f in failures} == {"point_map_missing"}
    assert all("view1" in f["message"] for f in failures)
    assert sum(calls.sizes) == len(answered) and max(calls.sizes) <= 4
    # A resumed run asks the failed items again (and only them).
    calls.sizes.clear()
    np.save(tmp_path / "pointmaps" / "view1.npy", np.ones((30, 40, 3), np.float32))
    again = _eval(bench, tmp_path / "out", spec)
    assert set(again) == {f"item-{n}" for n in range(N_ITEMS)} and sum(calls.sizes) == len(failing)


def test_answer_batch_reports_per_request_and_samples_alone(saved_model: Path, tmp_path: Path) -> None:
    bench = write_bench(tmp_path, missing_point_map="view2")
    backend = build_model(f"spatialforge:{saved_model},pointmaps={tmp_path / 'pointmaps'},batch_size=8", [])
    greedy = GenerationSettings(max_new_tokens=5)
    sampled = GenerationSettings(temperature=1.0, max_new_tokens=5, seed=3)
    images = [bench / "images" / f"view{k}.png" for k in range(3)]
    requests = [
        Request("a", QUESTIONS[0], (images[0],), greedy),
        Request("b", QUESTIONS[1], (images[2],), greedy),  # no point map
        Request("c", QUESTIONS[2], (images[1],), sampled),
        Request("d", QUESTIONS[3], (images[1],), greedy),
        Request("e", QUESTIONS[0], (images[0],), sampled),
    ]
    try:
        results = backend.answer_batch(requests)
        assert isinstance(results[1], ModelError) and results[1].reason == "point_map_missing"
        for request, result in zip(requests, results, strict=True):
            if request.item_id != "b":
                assert isinstance(result, Reply)
                alone = backend.answer_batch([request])[0]
                assert isinstance(alone, Reply) and alone.text == result.text, request.item_id
        # The sampled request's seed alone decides it: asked with other neighbours, the same reply.
        again = backend.answer_batch([requests[4], requests[0], requests[2]])
        assert [r.text for r in again] == [results[4].text, results[0].text, results[2].text]
    finally:
        backend.close()


def test_the_point_map_cache_reads_each_file_once(saved_model: Path, tmp_path: Path) -> None:
    bench = write_bench(tmp_path)
    backend = build_model(f"spatialforge:{saved_model},pointmaps={tmp_path / 'pointmaps'},batch_size=4", [])
    image = bench / "images" / "view0.png"
    requests = [
        Request(f"q{n}", QUESTIONS[n % 4], (image,), GenerationSettings(max_new_tokens=3)) for n in range(6)
    ]
    try:
        backend.answer_batch(requests)
        cache = backend._inputs  # type: ignore[attr-defined]
        assert cache.misses == 2 and cache.hits == 10  # one image and one point map, read once each
    finally:
        backend.close()


def test_input_cache_keeps_the_most_recent_within_its_budget() -> None:
    cache = InputCache(max_bytes=10)
    loads: list[str] = []

    def get(key: str, size: int) -> str:
        return cache.get(key, lambda: loads.append(key) or key.upper(), lambda _: size)

    assert get("a", 4) == "A" and get("b", 4) == "B" and get("a", 4) == "A"
    assert loads == ["a", "b"] and cache.bytes == 8
    assert get("c", 4) == "C"  # 12 > 10: the least recently used ("b") goes
    assert get("a", 4) == "A" and get("b", 4) == "B" and loads == ["a", "b", "c", "b"]
    assert get("huge", 11) == "HUGE" and get("huge", 11) == "HUGE"  # larger than the budget: never kept
    assert loads[-2:] == ["huge", "huge"] and cache.bytes <= 10

    def broken() -> str:
        raise OSError("unreadable")

    with pytest.raises(OSError):
        cache.get("bad", broken, len)
    with pytest.raises(OSError):  # errors are not kept: asked again, read again
        cache.get("bad", broken, len)


def test_input_cache_reads_a_key_once_for_concurrent_askers() -> None:
    from concurrent.futures import ThreadPoolExecutor

    cache = InputCache(max_bytes=100)
    keys = ["a", "b", "bad"] * 4
    loads: list[str] = []

    def slow(key: str) -> str:
        loads.append(key)
        deadline = time.monotonic() + 10
        while cache.hits + cache.misses < len(keys) and time.monotonic() < deadline:
            time.sleep(0.005)  # every asker is in get() (waiting) before a load ends
        if key == "bad":
            raise OSError("unreadable")
        return key.upper()

    def ask(key: str) -> str:
        try:
            return cache.get(key, lambda: slow(key), lambda _: 1)
        except OSError as error:
            return str(error)

    with ThreadPoolExecutor(len(keys)) as pool:
        got = list(pool.map(ask, keys))
    assert got == ["A", "B", "unreadable"] * 4  # every asker of "bad" sees the one load's error
    assert sorted(loads) == ["a", "b", "bad"] and cache.misses == 3 and cache.hits == 9


# -- the runner's batch path, with a scripted batching backend ----------------------------------------


class BatchScripted(ModelBackend):
    """answer_batch replies "yes" to every request; records each call's item ids and the calls in flight."""

    kind = "batch-scripted"

    def __init__(self, batch_size: int, fail_group_with: str | None = None) -> None:
        self.batch_size = batch_size
        self.max_concurrency = 64  # not used by the batch path
        self.groups: list[list[str]] = []
        self.fail_group_with = fail_group_with
        self.active = self.peak = 0
        self._lock = threading.Lock()

    def answer(self, request: Request) -> Reply:
        raise AssertionError("a batching backend is asked through answer_batch")

    def answer_batch(self, requests: Any) -> list[Reply | ModelError]:
        ids = [r.item_id for r in requests]
        with self._lock:
            self.groups.append(ids)
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            time.sleep(0.02)
            if self.fail_group_with in ids:
                raise RuntimeError("generation blew up")
            return [
                ModelError("bad_input", f"{i} unreadable", retryable=False, attempts=0)
                if i.endswith("-5")
                else Reply("yes", usage={"completion_tokens": 1})
                for i in ids
            ]
        finally:
            with self._lock:
                self.active -= 1

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind}


def test_runner_asks_a_batching_backend_in_consecutive_groups(tmp_path: Path) -> None:
    bench = write_bench(tmp_path)
    (bench / "images" / "view2.png").unlink()  # items 2, 5, 7, 8: missing_image before the backend
    backend = BatchScripted(batch_size=3, fail_group_with="item-9")
    config = EvalConfig(
        benchmark=str(bench),
        model="batch-scripted",
        output=str(tmp_path / "out"),
        progress=False,
        report=False,
        bootstrap=10,
    )
    report = run_eval(config, model=backend)
    ids = [f"item-{n}" for n in range(N_ITEMS)]
    groups = [ids[k : k + 3] for k in range(0, N_ITEMS, 3)]
    missing = {"item-2", "item-5", "item-7", "item-8"}
    assert sorted(backend.groups) == sorted([[i for i in g if i not in missing] for g in groups])
    assert backend.peak <= run_module.BATCHES_IN_FLIGHT
    failures = {
        f["id"]: f["reason"]
        for f in map(json.loads, (tmp_path / "out" / "failures.jsonl").read_text().splitlines())
    }
    assert failures == {
        **{i: "missing_image" for i in missing},
        "item-9": "backend_exception:RuntimeError",  # the whole group that raised
        "item-10": "backend_exception:RuntimeError",
    }
    assert report.answered == N_ITEMS - len(failures)


def test_the_default_answer_batch_asks_one_at_a_time() -> None:
    class One(ModelBackend):
        def answer(self, request: Request) -> Reply:
            if request.item_id == "bad":
                raise ModelError("nope", "no", retryable=False)
            return Reply(request.item_id)

        def describe(self) -> dict[str, Any]:
            return {}

    settings = GenerationSettings()
    results = One().answer_batch([Request(i, "q", (), settings) for i in ("x", "bad", "y")])
    assert [r.text if isinstance(r, Reply) else r.reason for r in results] == ["x", "nope", "y"]


# -- generate: the same tokens as the loop it replaced -------------------------------------------------


def reference_generate(model: SpatialVLM, batch: Any, max_new_tokens: int, temperature: float = 0.0) -> list:
    """The decoding loop of SpatialVLM.generate before it kept its per-step tensors (verbatim but for the
    return): the new tokens of each sample, EOS excluded."""
    embeds = model.image_embeddings(batch)
    ids, mask = batch.input_ids, batch.attention_mask
    types, positions = batch.token_type_ids, batch.position_ids
    generator = torch.Generator(device="cpu").manual_seed(0)
    cache = model.backbone.new_cache()
    logits, cache = model.backbone.forward_tokens(ids, embeds, mask, positions, types, cache)
    b = ids.shape[0]
    done = torch.zeros(b, dtype=torch.bool, device=ids.device)
    new_tokens: list[torch.Tensor] = []
    eos = sorted(model.backbone.eos_token_ids)
    for _ in range(max_new_tokens):
        token = _pick(logits[:, -1].float(), temperature, 1.0, generator).to(ids.device)
        token = torch.where(done, torch.full_like(token, model.backbone.pad_token_id), token)
        new_tokens.append(token)
        done = done | torch.isin(token, torch.tensor(eos, device=ids.device))
        if bool(done.all()):
            break
        ids = torch.cat([ids, token[:, None]], dim=1)
        mask = torch.cat([mask, torch.ones_like(token[:, None])], dim=1)
        types = torch.cat([types, torch.ones_like(token[:, None])], dim=1)
        positions = torch.cat([positions, positions[:, -1:] + 1], dim=1)
        logits, cache = model.backbone.forward_tokens(ids[:, -1:], None, mask, positions[:, -1:], None, cache)
    steps = torch.stack(new_tokens, dim=1).tolist()
    out = []
    for row in steps:
        ends = [i for i, value in enumerate(row) if value in eos]
        out.append(row[: ends[0]] if ends else row)
    return out


@pytest.mark.parametrize("temperature", [0.0, 0.8])
def test_generate_gives_the_tokens_of_the_loop_it_replaced(
    saved_model: Path, tmp_path: Path, temperature: float
) -> None:
    from spatialforge.models.processing import Sample

    bench = write_bench(tmp_path)
    model = SpatialVLM.from_pretrained(saved_model)
    # An EOS-happy model too: the tied head's EOS row raised, so some rows stop early and get padded.
    eager = SpatialVLM.from_pretrained(saved_model)
    with torch.no_grad():
        eos = next(iter(eager.backbone.eos_token_ids))
        eager.backbone.decoder.embed.weight[eos] *= 40.0
    images = [Image.open(bench / "images" / f"view{k}.png").convert("RGB") for k in range(3)]
    samples = [Sample(QUESTIONS[n % 4] + " metres" * n, (images[n % 3],)) for n in range(6)]
    for m in (model, eager):
        batch = m.collate(samples, with_labels=False)
        for steps in (1, 4, 24):
            got = m.generate(batch, max_new_tokens=steps, temperature=temperature, seed=0).token_ids
            assert got == reference_generate(m, batch, steps, temperature), (steps, temperature)
    lengths = {
        len(row)
        for row in eager.generate(model.collate(samples, with_labels=False), max_new_tokens=24).token_ids
    }
    assert min(lengths) < 24  # the early-stop path is exercised
