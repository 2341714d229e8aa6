"""A real HTTP server on loopback that speaks the OpenAI chat completions protocol, with scripted faults.

It answers `POST /v1/chat/completions` deterministically from the request: the reply text is
`answer_for(prompt_text)` (by default a digest of the prompt), where prompt_text is the user message's text
parts joined. Requests are grouped by item with `key_for(prompt_text)` (by default the prompt itself), and for
each item the server counts the requests it received and the answers it delivered, and keeps every request it
saw (headers, JSON body, the images decoded back from their data URLs).

Faults (`Fault`), applied in this order of precedence:
- `on_request(n, fault)`: the n-th chat request the server receives (1-based, all items together);
- `always(key, fault)`: every request for the item, until `clear(key)`;
- `script(key, fault, ...)`: the item's next requests, one fault each, then normal answers;
- `hang_after(k)`: once k answers were delivered, every further request hangs until `release()`.

Fault kinds: "sleep" (wait `seconds`, then close without answering: a client timeout when seconds exceeds
it), "delay" (wait, then answer normally), "status" (HTTP `status` with an OpenAI-style error body and an
optional Retry-After header), "malformed" (200 with a truncated JSON body), "no_choices" (200 with an empty
choices list), "refusal" (200 with content null and a refusal), "parts" (a normal answer whose content is a
list of text parts), "drop" (close the connection without a response), "hang" (wait for `release()`, then
close without answering).

Use it in tests with the `fake_openai_server` fixture (a started server, stopped afterwards), or run it:

    python tests/evaluate/fake_openai_server.py --port 8011 [--answers answers.json] [--faults faults.json]
        [--hang-after K]

answers.json maps a text to find in the prompt to the reply (that text is then the item's key); faults.json
maps a key to a list of faults ({"kind": "status", "status": 500}, ...) scripted as with `script`.
`GET /_fake/stats` returns the counters, `POST /_fake/release` ends a hang.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import signal
import sys
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULT_KINDS = frozenset(
    {"sleep", "delay", "status", "malformed", "no_choices", "refusal", "parts", "drop", "hang"}
)
DEFAULT_SERVED_MODEL = "fake-vlm-1"


@dataclass(frozen=True)
class Fault:
    kind: str
    status: int = 500
    seconds: float = 0.0
    retry_after: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {sorted(FAULT_KINDS)}")

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> Fault:
        return cls(
            kind=str(record["kind"]),
            status=int(record.get("status", 500)),
            seconds=float(record.get("seconds", 0.0)),
            retry_after=None if record.get("retry_after") is None else str(record["retry_after"]),
        )


@dataclass
class ReceivedRequest:
    """One chat request as the server saw it. images: (mime, bytes) decoded from each data URL, in order."""

    number: int
    key: str
    prompt: str
    headers: dict[str, str]
    body: dict[str, Any]
    images: list[tuple[str, bytes]] = field(default_factory=list)
    fault: str | None = None


def default_answer(prompt: str) -> str:
    return "reply " + hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:12]


def prompt_text(body: dict[str, Any]) -> str:
    """The text parts of the user messages, joined with newlines."""
    texts: list[str] = []
    for message in body.get("messages") or []:
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts.extend(p["text"] for p in content if isinstance(p, dict) and p.get("type") == "text")
    return "\n".join(texts)


def decoded_images(body: dict[str, Any]) -> list[tuple[str, bytes]]:
    """(mime, bytes) of every image_url part; ValueError when one is not a base64 data URL."""
    images: list[tuple[str, bytes]] = []
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        for part in content if isinstance(content, list) else []:
            if not isinstance(part, dict) or part.get("type") != "image_url":
                continue
            url = str((part.get("image_url") or {}).get("url", ""))
            header, sep, data = url.partition(",")
            if not (url.startswith("data:") and sep and header.endswith(";base64")):
                raise ValueError(f"image_url is not a base64 data URL: {url[:40]!r}")
            try:
                images.append((header[len("data:") : -len(";base64")], base64.b64decode(data, validate=True)))
            except binascii.Error as e:
                raise ValueError(f"image data URL is not valid base64: {e}") from None
    return images


class FakeOpenAIServer:
    """See the module docstring. Thread-safe: counters and scripts are guarded by one lock."""

    def __init__(
        self,
        answer_for: Callable[[str], str] | None = None,
        key_for: Callable[[str], str] | None = None,
        *,
        served_model: str = DEFAULT_SERVED_MODEL,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.answer_for = answer_for or default_answer
        self.key_for = key_for or (lambda prompt: prompt)
        self.served_model = served_model
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._stopping = threading.Event()
        self._per_request: dict[int, Fault] = {}
        self._always: dict[str, Fault] = {}
        self._scripts: dict[str, deque[Fault]] = {}
        self._hang_after: int | None = None
        self._granted = 0
        self.n_requests = 0
        self.in_flight = 0
        self.max_in_flight = 0  # the most chat requests being handled at one time
        self.requests: Counter[str] = Counter()
        self.answered: Counter[str] = Counter()
        self.received: list[ReceivedRequest] = []
        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._httpd.fake = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAIServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- scripting -------------------------------------------------------------------------------------
    def on_request(self, number: int, fault: Fault) -> None:
        with self._lock:
            self._per_request[number] = fault

    def always(self, key: str, fault: Fault) -> None:
        with self._lock:
            self._always[key] = fault

    def script(self, key: str, *faults: Fault) -> None:
        with self._lock:
            self._scripts.setdefault(key, deque()).extend(faults)

    def clear(self, key: str | None = None) -> None:
        """Drop the faults of one item, or all faults (and the hang) when key is None."""
        with self._lock:
            if key is None:
                self._per_request.clear()
                self._always.clear()
                self._scripts.clear()
                self._hang_after = None
            else:
                self._always.pop(key, None)
                self._scripts.pop(key, None)

    def hang_after(self, answers: int) -> None:
        """Hang every request once `answers` normal answers were granted since the server started."""
        with self._lock:
            self._hang_after = answers
            self._release.clear()

    def release(self) -> None:
        """End the hang: waiting requests close without an answer, later ones are answered."""
        with self._lock:
            self._hang_after = None
            self._release.set()

    # ---- counters --------------------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "n_requests": self.n_requests,
                "max_in_flight": self.max_in_flight,
                "requests": dict(self.requests),
                "answered": dict(self.answered),
            }

    def requests_for(self, key: str) -> list[ReceivedRequest]:
        with self._lock:
            return [r for r in self.received if r.key == key]

    # ---- serving ---------------------------------------------------------------------------------------
    def _choose_fault(self, key: str, number: int) -> Fault | None:
        """Called under the lock. A normal answer is 'granted' here so that hang_after(k) lets exactly k
        answers through even when requests arrive together."""
        fault = self._per_request.pop(number, None) or self._always.get(key)
        if fault is None and self._scripts.get(key):
            fault = self._scripts[key].popleft()
        if fault is None and self._hang_after is not None and self._granted >= self._hang_after:
            fault = Fault("hang")
        if fault is None or fault.kind in ("delay", "parts"):
            self._granted += 1
        return fault

    def handle_chat(self, handler: _Handler, body: dict[str, Any]) -> None:
        prompt = prompt_text(body)
        try:
            images = decoded_images(body)
        except ValueError as e:
            handler.send_json(400, {"error": {"message": str(e), "type": "invalid_request_error"}})
            return
        key = self.key_for(prompt)
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.n_requests += 1
            number = self.n_requests
            self.requests[key] += 1
            fault = self._choose_fault(key, number)
            headers = {k.lower(): v for k, v in handler.headers.items()}
            self.received.append(
                ReceivedRequest(number, key, prompt, headers, body, images, fault.kind if fault else None)
            )
        try:
            self._respond(handler, key, prompt, fault)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _respond(self, handler: _Handler, key: str, prompt: str, fault: Fault | None) -> None:
        kind = fault.kind if fault else None
        if kind in ("sleep", "delay"):
            assert fault is not None
            if self._stopping.wait(fault.seconds):
                return
            if kind == "sleep":
                return  # close without answering: the client has timed out by now
        if kind == "hang":
            self._release.wait()
            return
        if kind == "drop":
            return
        if kind == "status":
            assert fault is not None
            extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            error = {"message": f"injected HTTP {fault.status}", "type": "fake_fault", "code": fault.status}
            handler.send_json(fault.status, {"error": error}, extra)
            return
        if kind == "malformed":
            handler.send_raw(200, b'{"id": "chatcmpl-broken", "choices": [{"message": {"content": "tru')
            return
        if kind == "no_choices":
            handler.send_json(200, {"id": "chatcmpl-empty", "object": "chat.completion", "choices": []})
            return
        if kind == "refusal":
            message = {"role": "assistant", "content": None, "refusal": "I can't help with that."}
            handler.send_json(200, self._completion(message, prompt, ""))
            return
        text = self.answer_for(prompt)
        content: Any = text
        if kind == "parts":
            half = len(text) // 2
            content = [{"type": "text", "text": text[:half]}, {"type": "text", "text": text[half:]}]
        # Counted before the write, so a client never holds an answer the counters do not show yet.
        with self._lock:
            self.answered[key] += 1
        if not handler.send_json(
            200, self._completion({"role": "assistant", "content": content}, prompt, text)
        ):
            with self._lock:
                self.answered[key] -= 1

    def _completion(self, message: dict[str, Any], prompt: str, text: str) -> dict[str, Any]:
        prompt_tokens, completion_tokens = len(prompt.split()), len(text.split())
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 0,
            "model": self.served_model,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeOpenAI/1"

    @property
    def fake(self) -> FakeOpenAIServer:
        return self.server.fake  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def send_raw(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> bool:
        """Write a response; False when the client has gone (timed out or killed)."""
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
            return True
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            return False

    def send_json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> bool:
        return self.send_raw(status, json.dumps(data).encode("utf-8"), headers)

    def do_GET(self) -> None:
        if self.path == "/_fake/stats":
            self.send_json(200, self.fake.stats())
        elif self.path.rstrip("/") == "/v1/models":
            self.send_json(
                200, {"object": "list", "data": [{"id": self.fake.served_model, "object": "model"}]}
            )
        else:
            self.send_json(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path == "/_fake/release":
            self.fake.release()
            self.send_json(200, {"released": True})
            return
        if self.path.rstrip("/") != "/v1/chat/completions":
            self.send_json(404, {"error": {"message": f"no route {self.path}"}})
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self.send_json(400, {"error": {"message": "body is not JSON", "type": "invalid_request_error"}})
            return
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            self.send_json(
                400, {"error": {"message": "body has no messages", "type": "invalid_request_error"}}
            )
            return
        self.fake.handle_chat(self, body)


try:  # the fixture is for tests; the command line works without pytest
    import pytest
except ImportError:  # pragma: no cover
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture
    def fake_openai_server() -> Iterator[FakeOpenAIServer]:
        """A started fake server with default answers; tests set answer_for / key_for and faults on it."""
        server = FakeOpenAIServer().start()
        try:
            yield server
        finally:
            server.stop()


def _lookup_by_substring(table: dict[str, str]) -> tuple[Callable[[str], str], Callable[[str], str]]:
    """answer_for and key_for from {text found in the prompt: reply}; the longest match wins."""
    needles = sorted(table, key=len, reverse=True)

    def key_for(prompt: str) -> str:
        return next((n for n in needles if n in prompt), prompt)

    def answer_for(prompt: str) -> str:
        key = key_for(prompt)
        return table[key] if key in table else default_answer(prompt)

    return answer_for, key_for


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="OpenAI-compatible fake chat server with scripted faults")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--answers", help="JSON file {text found in the prompt: reply}")
    parser.add_argument("--faults", help="JSON file {item key: [fault, ...]}")
    parser.add_argument("--hang-after", type=int, default=None, help="hang once this many answers went out")
    args = parser.parse_args(argv)
    answer_for = key_for = None
    if args.answers:
        with open(args.answers, encoding="utf-8") as fh:
            answer_for, key_for = _lookup_by_substring(json.load(fh))
    server = FakeOpenAIServer(answer_for, key_for, host=args.host, port=args.port)
    if args.faults:
        with open(args.faults, encoding="utf-8") as fh:
            for key, faults in json.load(fh).items():
                server.script(key, *(Fault.from_json(f) for f in faults))
    if args.hang_after is not None:
        server.hang_after(args.hang_after)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server.start()
    print(f"http://{args.host}:{server.port}/v1", flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
