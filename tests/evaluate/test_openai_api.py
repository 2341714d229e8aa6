"""The OpenAI-compatible chat backend against a real HTTP server on loopback (fake_openai_server.py)."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from spatialforge.evaluate.models.base import (
    GenerationSettings,
    ModelBackend,
    ModelError,
    Reply,
    Request,
    parse_model_spec,
)
from spatialforge.evaluate.models.openai_api import (
    MAX_WAIT_S,
    OpenAIChatBackend,
    backoff_wait,
    build_openai,
    image_mime,
    item_rng,
    parse_completion,
    retry_after_seconds,
)
from tests.evaluate.fake_openai_server import FakeOpenAIServer, Fault

FAST = "backoff=0,timeout=5"


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as fake:
        yield fake


def make_backend(server: FakeOpenAIServer, extra: str = FAST) -> OpenAIChatBackend:
    kind, options = parse_model_spec(f"openai:base_url={server.base_url},model=m,{extra}")
    assert kind == "openai"
    backend = build_openai(options, [])
    assert isinstance(backend, OpenAIChatBackend)
    return backend


def write_png(
    path: Path, size: tuple[int, int] = (6, 4), color: tuple[int, int, int] = (200, 30, 40)
) -> Path:
    Image.new("RGB", size, color).save(path, format="PNG")
    return path


def ask(
    backend: ModelBackend,
    prompt: str = "How far is the chair?",
    images: tuple[Path, ...] = (),
    item_id: str = "q1",
    **settings: float,
) -> Reply:
    request = Request(item_id, prompt, images, GenerationSettings(**settings))
    return backend.answer(request)


class RecordedPauses:
    """Replaces the backend's wait between attempts: records the seconds and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> bool:
        self.waits.append(seconds)
        return False


def test_answer_sends_images_as_data_urls_then_text_with_settings(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    png = write_png(tmp_path / "a.png")
    jpg = tmp_path / "b.jpeg"
    Image.new("RGB", (5, 7), (10, 90, 200)).save(jpg, format="JPEG")
    server.answer_for = lambda prompt: "ANSWER to " + prompt
    backend = make_backend(server)
    request = Request(
        "q1",
        "Which is closer?",
        (png, jpg),
        GenerationSettings(temperature=0.25, max_new_tokens=17, top_p=0.9, seed=5),
        system="Be brief.",
    )
    reply = backend.answer(request)

    assert reply.text == "ANSWER to Which is closer?"
    assert reply.model == "fake-vlm-1"  # the name the server reports, not the one asked for
    assert reply.attempts == 1
    assert reply.usage == {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}
    assert reply.latency_s > 0
    [seen] = server.received
    body = seen.body
    assert (body["model"], body["temperature"], body["top_p"], body["max_tokens"], body["seed"]) == (
        "m",
        0.25,
        0.9,
        17,
        5,
    )
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    user = body["messages"][1]
    assert user["role"] == "user"
    assert [p["type"] for p in user["content"]] == ["image_url", "image_url", "text"]
    assert user["content"][2]["text"] == "Which is closer?"
    assert "detail" not in user["content"][0]["image_url"]
    assert seen.images == [("image/png", png.read_bytes()), ("image/jpeg", jpg.read_bytes())]
    assert "authorization" not in seen.headers or seen.headers["authorization"].startswith("Bearer ")


def test_no_system_message_when_none(server: FakeOpenAIServer) -> None:
    ask(make_backend(server))
    [seen] = server.received
    assert [m["role"] for m in seen.body["messages"]] == ["user"]
    assert seen.body["messages"][0]["content"] == [{"type": "text", "text": "How far is the chair?"}]


@pytest.mark.parametrize(
    "faults, reason",
    [
        ((Fault("sleep", seconds=0.6),), "timeout"),
        ((Fault("status", status=500), Fault("status", status=500)), "http_500"),
        ((Fault("status", status=502), Fault("status", status=503)), "http_5xx"),
        ((Fault("status", status=408), Fault("status", status=409)), "http_4xx"),
        ((Fault("status", status=429, retry_after="0"),), "http_429"),
        ((Fault("malformed"),), "bad_response"),
        ((Fault("no_choices"), Fault("malformed")), "bad_response"),
        ((Fault("drop"),), "connection_error"),
    ],
)
def test_each_transient_fault_is_retried_until_answered(
    server: FakeOpenAIServer, faults: tuple[Fault, ...], reason: str
) -> None:
    prompt = f"question for {reason}"
    server.script(prompt, *faults)
    backend = make_backend(server, "backoff=0,timeout=0.3,max_retries=3")
    reply = ask(backend, prompt)
    assert reply.text == server.answer_for(prompt)
    assert reply.attempts == len(faults) + 1
    assert server.requests[prompt] == len(faults) + 1
    assert server.answered[prompt] == 1


def test_content_as_text_parts_is_joined(server: FakeOpenAIServer) -> None:
    server.script("How far is the chair?", Fault("parts"))
    reply = ask(make_backend(server))
    assert reply.text == server.answer_for("How far is the chair?")
    assert reply.attempts == 1


def test_refusal_is_an_empty_answer_with_usage(server: FakeOpenAIServer) -> None:
    server.script("How far is the chair?", Fault("refusal"))
    reply = ask(make_backend(server))
    assert (reply.text, reply.attempts) == ("", 1)
    assert reply.usage["prompt_tokens"] == 5


@pytest.mark.parametrize("status", [400, 401, 404, 307])
def test_other_4xx_and_redirects_are_not_retried(server: FakeOpenAIServer, status: int) -> None:
    server.always("How far is the chair?", Fault("status", status=status))
    with pytest.raises(ModelError) as info:
        ask(make_backend(server))
    assert info.value.reason == f"http_{status}"
    assert info.value.retryable is False
    assert info.value.attempts == 1
    assert f"injected HTTP {status}" in str(info.value)  # the server's message is kept
    assert server.requests["How far is the chair?"] == 1


@pytest.mark.parametrize(
    "fault, reason",
    [(Fault("status", status=500), "http_500"), (Fault("malformed"), "bad_response")],
)
def test_exhausted_retries_raise_retryable_with_attempts(
    server: FakeOpenAIServer, fault: Fault, reason: str
) -> None:
    server.always("How far is the chair?", fault)
    with pytest.raises(ModelError) as info:
        ask(make_backend(server, "backoff=0,max_retries=2"))
    assert (info.value.reason, info.value.retryable, info.value.attempts) == (reason, True, 3)
    assert "after 3 attempts" in str(info.value)
    assert server.requests["How far is the chair?"] == 3
    assert server.answered["How far is the chair?"] == 0


def test_connection_refused_is_retried_then_retryable(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on once this socket closes
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    backend = build_openai(
        {"base_url": f"http://127.0.0.1:{port}/v1", "model": "m", "backoff": "0", "max_retries": "1"}, []
    )
    with pytest.raises(ModelError) as info:
        ask(backend)
    assert (info.value.reason, info.value.retryable, info.value.attempts) == ("connection_error", True, 2)


def test_backoff_doubles_with_reproducible_jitter_and_honours_retry_after(
    server: FakeOpenAIServer,
) -> None:
    prompt = "How far is the chair?"
    server.script(
        prompt,
        Fault("status", status=500),
        Fault("status", status=503),
        Fault("status", status=429, retry_after="7"),
        Fault("status", status=429, retry_after="3600"),
        Fault("malformed"),
    )
    backend = make_backend(server, "backoff=2")
    backend._pause = RecordedPauses()  # type: ignore[method-assign]
    reply = ask(backend, prompt, item_id="item-7")
    assert reply.attempts == 6
    rng = item_rng("item-7")
    first, second = backoff_wait(1, 2.0, rng), backoff_wait(2, 2.0, rng)
    fifth = backoff_wait(5, 2.0, rng)
    assert backend._pause.waits == [first, second, 7.0, MAX_WAIT_S, fifth]
    # base waits 2, 4, (Retry-After), (Retry-After, capped), 2 * 2**4 = 32; jitter: each in [base/2, base)
    assert 1.0 <= first < 2.0 and 2.0 <= second < 4.0 and 16.0 <= fifth < 32.0


def test_backoff_caps_at_sixty_seconds_and_jitter_depends_only_on_item() -> None:
    assert backoff_wait(30, 1.0, item_rng("x")) < MAX_WAIT_S
    assert backoff_wait(30, 1.0, item_rng("x")) >= MAX_WAIT_S / 2
    waits_a = [backoff_wait(k, 1.0, rng) for rng in [item_rng("a")] for k in range(1, 5)]
    waits_b = [backoff_wait(k, 1.0, rng) for rng in [item_rng("a")] for k in range(1, 5)]
    waits_c = [backoff_wait(k, 1.0, rng) for rng in [item_rng("c")] for k in range(1, 5)]
    assert waits_a == waits_b != waits_c


def test_retry_after_header_values() -> None:
    assert retry_after_seconds("0") == 0.0
    assert retry_after_seconds(" 2.5 ") == 2.5
    assert retry_after_seconds("-4") == 0.0
    assert retry_after_seconds("86400") == MAX_WAIT_S
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_close_interrupts_a_backoff_wait(server: FakeOpenAIServer) -> None:
    server.always("How far is the chair?", Fault("status", status=500))
    backend = make_backend(server, "backoff=30")
    threading.Timer(0.2, backend.close).start()
    started = time.monotonic()
    with pytest.raises(ModelError) as info:
        ask(backend)
    assert time.monotonic() - started < 5
    assert (info.value.reason, info.value.retryable, info.value.attempts) == ("closed", True, 1)


def test_concurrent_requests_are_all_answered(server: FakeOpenAIServer) -> None:
    prompts = [f"question {i}" for i in range(8)]
    for prompt in prompts:
        server.script(prompt, Fault("delay", seconds=0.3))
    backend = make_backend(server, "concurrency=8,backoff=0")
    assert backend.max_concurrency == 8
    replies: dict[str, str] = {}
    errors: list[BaseException] = []

    def worker(prompt: str) -> None:
        try:
            replies[prompt] = ask(backend, prompt, item_id=prompt).text
        except BaseException as e:  # noqa: BLE001 - surfaced by the assert below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(p,)) for p in prompts]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    elapsed = time.monotonic() - started
    assert errors == []
    assert replies == {p: server.answer_for(p) for p in prompts}
    assert server.max_in_flight >= 2  # they overlapped in the server (all 8 unless the machine is busy)
    assert elapsed < 8 * 0.3  # faster than one after the other
    assert all(server.requests[p] == 1 for p in prompts)


def test_api_key_comes_from_the_named_variable_and_stays_out_of_describe(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_VLM_KEY", "sk-secret-123")
    backend = make_backend(server, "api_key_env=MY_VLM_KEY,backoff=0")
    ask(backend)
    assert server.received[-1].headers["authorization"] == "Bearer sk-secret-123"
    described = json.dumps(backend.describe())
    assert "sk-secret" not in described and "MY_VLM_KEY" not in described


def test_default_key_variable_is_optional(server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    ask(make_backend(server))
    assert "authorization" not in server.received[-1].headers
    monkeypatch.setenv("OPENAI_API_KEY", "sk-default")
    ask(make_backend(server))
    assert server.received[-1].headers["authorization"] == "Bearer sk-default"


def test_describe_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-hidden")
    backend = build_openai({"base_url": "https://api.example.com/v1/", "model": "gpt-x"}, [])
    assert backend.describe() == {
        "kind": "openai",
        "base_url": "https://api.example.com/v1",
        "model": "gpt-x",
        "concurrency": 4,
        "timeout": 120.0,
        "max_retries": 5,
        "image_detail": None,
        "max_side": None,
    }
    assert backend.max_concurrency == 4
    assert "sk-hidden" not in json.dumps(backend.describe())


@pytest.mark.parametrize(
    "options, message",
    [
        ({"temperature": "0.5"}, "does not understand option(s) ['temperature']"),
        ({"concurrency": "0"}, "concurrency=0 must be >= 1"),
        ({"concurrency": "two"}, "is not an integer"),
        ({"timeout": "0"}, "timeout=0 must be"),
        ({"backoff": "-1"}, "backoff=-1 must be"),
        ({"max_retries": "-1"}, "max_retries=-1 must be >= 0"),
        ({"image_detail": "medium"}, "image_detail='medium'"),
        ({"max_side": "0"}, "max_side=0 must be >= 1"),
        ({"base_url": "127.0.0.1:8000/v1"}, "must start with http"),
        ({"base_url": "http://h/v1/chat/completions"}, "should stop before /chat/completions"),
        ({"base_url": ""}, "needs base_url"),
        ({"model": ""}, "needs model"),
        ({"api_key_env": "SPATIALFORGE_UNSET_KEY_VAR"}, "names an unset or empty variable"),
    ],
)
def test_bad_options_raise_value_error(options: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError) as info:
        build_openai({"base_url": "http://127.0.0.1:1/v1", "model": "m", **options}, [])
    assert message in str(info.value)


def test_image_that_is_not_png_jpeg_or_webp_fails_without_a_request(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    gif = tmp_path / "photo.png"  # the extension lies; the magic bytes decide
    Image.new("RGB", (4, 4)).save(gif, format="GIF")
    for bad in (gif, tmp_path / "missing.png"):
        with pytest.raises(ModelError) as info:
            ask(make_backend(server), images=(bad,))
        assert (info.value.reason, info.value.retryable, info.value.attempts) == ("bad_image", False, 0)
        assert str(bad) in str(info.value)
    assert server.n_requests == 0


def test_image_mime_from_magic_bytes(tmp_path: Path) -> None:
    for fmt, mime in (("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")):
        out = io.BytesIO()
        Image.new("RGB", (3, 3)).save(out, format=fmt)
        assert image_mime(out.getvalue()) == mime
    assert image_mime(b"GIF89a....") is None
    assert image_mime(b"RIFF\x00\x00\x00\x00WAVE") is None


def test_max_side_downscales_large_images_only_and_detail_is_sent(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    big = write_png(tmp_path / "big.png", (64, 32))
    small = write_png(tmp_path / "small.png", (10, 5))
    photo = tmp_path / "photo.jpg"
    Image.new("RGB", (40, 80), (1, 2, 3)).save(photo, format="JPEG")
    ask(make_backend(server, "max_side=16,image_detail=low,backoff=0"), images=(big, small, photo))
    [seen] = server.received
    sizes = [(mime, Image.open(io.BytesIO(data)).size) for mime, data in seen.images]
    assert sizes == [("image/png", (16, 8)), ("image/png", (10, 5)), ("image/jpeg", (8, 16))]
    assert seen.images[1][1] == small.read_bytes()  # small enough: sent byte for byte
    parts = seen.body["messages"][0]["content"]
    assert [p["image_url"]["detail"] for p in parts[:3]] == ["low", "low", "low"]


@pytest.mark.parametrize(
    "body, expected",
    [
        (
            b'{"choices": [{"message": {"content": "4 m"}}], "model": "x", "usage": {"total_tokens": 3}}',
            ("4 m", "x", {"total_tokens": 3}),
        ),
        (
            b'{"choices": [{"message": {"content": [{"type": "text", "text": "a"}, {"text": "b"}]}}]}',
            ("ab", None, {}),
        ),
        (b'{"choices": [{"message": {"content": null}, "finish_reason": "length"}]}', ("", None, {})),
        (b'{"choices": [{"message": {"content": null, "refusal": "no"}}]}', ("", None, {})),
    ],
)
def test_parse_completion_accepts(body: bytes, expected: tuple[object, ...]) -> None:
    assert parse_completion(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        b"<html>502 Bad Gateway</html>",
        b"[]",
        b'{"error": {"message": "overloaded"}}',
        b'{"choices": []}',
        b'{"choices": [{"message": {"role": "assistant"}}]}',
        b'{"choices": [{"message": {"content": null}, "finish_reason": "stop"}]}',
        b'{"choices": [{"message": {"content": 42}}]}',
    ],
)
def test_parse_completion_rejects_as_bad_response(body: bytes) -> None:
    with pytest.raises(Exception) as info:
        parse_completion(body)
    assert getattr(info.value, "reason", None) == "bad_response"


def test_fake_server_runs_as_a_command(tmp_path: Path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"[q1]": "B", "[q2]": "3 meters"}))
    faults = tmp_path / "faults.json"
    faults.write_text(json.dumps({"[q2]": [{"kind": "status", "status": 503}]}))
    script = Path(__file__).with_name("fake_openai_server.py")
    command = [sys.executable, str(script), "--port", "0", "--answers", str(answers), "--faults", str(faults)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        base_url = process.stdout.readline().strip()  # type: ignore[union-attr]
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        backend = build_openai({"base_url": base_url, "model": "m", "backoff": "0"}, [])
        assert ask(backend, "[q1] Which?").text == "B"
        reply = ask(backend, "[q2] How far?")
        assert (reply.text, reply.attempts) == ("3 meters", 2)
        with urllib.request.urlopen(base_url.replace("/v1", "/_fake/stats"), timeout=5) as response:
            stats = json.loads(response.read())
        assert stats["requests"] == {"[q1]": 1, "[q2]": 2}
        assert stats["answered"] == {"[q1]": 1, "[q2]": 1}
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
        process.stdout.close()  # type: ignore[union-attr]
