"""A client for any OpenAI-compatible chat endpoint (`POST {base_url}/chat/completions`): vLLM, SGLang and
hosted APIs.

    openai:base_url=http://127.0.0.1:8000/v1,model=Qwen/Qwen2.5-VL-7B-Instruct,concurrency=8

Each request is one user message: every image as an `image_url` part holding a base64 data URL, in the
item's order (a multi-view question's main view first), then the question text (the order most VLM chat
templates expect; OpenAI "Images and vision" guide). No text is put between the images: where a question
names images by number, evaluate/prompts.py says in the text that they are numbered in the order shown.
Decoding settings go in the request body (temperature, top_p, max_tokens, seed).

Retries. Timeouts, dropped connections, HTTP 408/409/429/5xx and a 200 whose body is not a chat completion
("bad_response": servers under load hiccup) are asked again up to `max_retries` times, waiting
`backoff * 2**k` seconds (capped at 60 s) scaled by a jitter in [0.5, 1) drawn from a random generator seeded
by the item id, so a rerun waits the same way ("equal jitter", AWS Architecture Blog, "Exponential Backoff
And Jitter"). A `Retry-After` header (seconds or an HTTP date) replaces the computed wait, capped the same
way. Any other 4xx is the request's own fault and is not retried. A backend only ever returns the server's
text; it never invents an answer.

The HTTP client is the standard library's urllib (no new dependency; it honours the HTTPS_PROXY/NO_PROXY
environment variables that hosted APIs behind proxies need). Each request opens its own connection: model
latency (seconds) dwarfs a connection set-up, and no connection state is shared between threads.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import io
import json
import os
import random
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import timezone
from http.client import HTTPException
from pathlib import Path
from typing import Any

from spatialforge.bench.builder.items import BenchItem
from spatialforge.evaluate.models.base import (
    ModelBackend,
    ModelError,
    Reply,
    Request,
    float_option,
    int_option,
    register_model,
    reject_unknown,
    take_option,
)

DEFAULT_API_KEY_ENV = "OPENAI_API_KEY"
MAX_WAIT_S = 60.0
IMAGE_DETAILS = ("low", "high", "auto")
# 408 Request Timeout, 409 Conflict (OpenAI documents it for transient conflicts), 429 Too Many Requests:
# the request itself was fine, asking again later may succeed. Every 5xx is the server's problem.
RETRYABLE_STATUS = frozenset({408, 409, 429})
ERROR_MESSAGE_CHARS = 500


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """urllib turns a redirected POST into a GET without body; a chat endpoint that redirects is a wrong
    base_url, so the 3xx is reported (non-retryable) instead of followed."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


class _Retry(Exception):
    """A failed attempt that may succeed when asked again. retry_after: the server's wait, if it sent one."""

    def __init__(self, reason: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.retry_after = retry_after


def image_mime(data: bytes) -> str | None:
    """The image type from the file's first bytes (the extension can lie): PNG, JPEG or WebP, else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _downscaled(data: bytes, mime: str, max_side: int, path: Path) -> tuple[bytes, str]:
    """The image with its longer side at most `max_side` pixels (aspect kept), or the original bytes when
    it is already small enough. JPEG stays JPEG (quality 95); PNG and WebP become PNG (lossless)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
            if max(width, height) <= max_side:
                return data, mime
            scale = max_side / max(width, height)
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            # Pixels as stored (no EXIF rotation): the benchmark's geometry refers to the stored pixel grid.
            small = img.resize(size, Image.Resampling.LANCZOS)
            out = io.BytesIO()
            if mime == "image/jpeg":
                small.save(out, format="JPEG", quality=95)
                return out.getvalue(), "image/jpeg"
            small.save(out, format="PNG")
            return out.getvalue(), "image/png"
    except (OSError, ValueError) as e:
        raise ModelError(
            "bad_image", f"cannot decode image {path}: {e}", retryable=False, attempts=0
        ) from None


def image_data_url(path: Path, max_side: int | None = None) -> str:
    """`data:<mime>;base64,...` for one image file; ModelError (non-retryable) naming the file when it is
    missing or not PNG/JPEG/WebP."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise ModelError("bad_image", f"cannot read image {path}: {e}", retryable=False, attempts=0) from None
    mime = image_mime(data)
    if mime is None:
        raise ModelError(
            "bad_image",
            f"image {path} is not PNG, JPEG or WebP (by its first bytes)",
            retryable=False,
            attempts=0,
        )
    if max_side is not None:
        data, mime = _downscaled(data, mime, max_side, Path(path))
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _reply_text(content: Any) -> str | None:
    """message.content as text: a string, or a list of parts whose text parts are joined; None otherwise."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") in ("text", None)]
        if texts and all(isinstance(t, str) for t in texts):
            return "".join(texts)
    return None


def parse_completion(body: bytes) -> tuple[str, str | None, dict[str, Any]]:
    """(reply text, model name, usage) from a 200 response body; _Retry("bad_response") when the body is not
    a chat completion. A null content with a refusal (OpenAI structured refusals) or cut off by max_tokens
    (a reasoning model that never reached its answer) is the model's answer: an empty reply, scored so."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise _Retry("bad_response", f"response is not JSON: {body[:200]!r}") from None
    if not isinstance(data, dict):
        raise _Retry("bad_response", f"response is a JSON {type(data).__name__}, not an object")
    if "error" in data and "choices" not in data:
        raise _Retry("bad_response", f"200 response carries an error: {_error_message(body)}")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise _Retry("bad_response", "response has no choices[0]")
    message = choices[0].get("message")
    if not isinstance(message, dict) or "content" not in message:
        raise _Retry("bad_response", "response has no choices[0].message.content")
    content = message["content"]
    text = _reply_text(content)
    if text is None:
        refused = isinstance(message.get("refusal"), str)
        truncated = content is None and choices[0].get("finish_reason") == "length"
        if not (content is None and (refused or truncated)):
            raise _Retry("bad_response", f"choices[0].message.content is {type(content).__name__}, not text")
        text = ""
    model = data.get("model") if isinstance(data.get("model"), str) else None
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    return text, model, usage


def _error_message(body: bytes) -> str:
    """The server's explanation in an error body: OpenAI {"error": {"message"}}, vLLM {"message"}, FastAPI
    {"detail"}, else the text itself (truncated)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        for candidate in (
            error.get("message") if isinstance(error, dict) else error,
            data.get("message"),
            data.get("detail"),
        ):
            if isinstance(candidate, str) and candidate:
                return candidate[:ERROR_MESSAGE_CHARS]
    return body[:ERROR_MESSAGE_CHARS].decode("utf-8", "replace").strip() or "(empty body)"


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """A Retry-After header (RFC 9110 10.2.3: delay-seconds or an HTTP date) as seconds >= 0, capped at
    MAX_WAIT_S; None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_WAIT_S)


def item_rng(item_id: str) -> random.Random:
    """A random generator for one item's backoff jitter, the same in every run (not Python's salted hash)."""
    return random.Random(int.from_bytes(hashlib.sha256(item_id.encode("utf-8")).digest()[:8], "big"))


def backoff_wait(attempt: int, backoff: float, rng: random.Random) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): backoff * 2**(attempt-1), capped at
    MAX_WAIT_S, times a jitter in [0.5, 1) so clients that failed together do not retry together."""
    base = min(backoff * 2.0 ** (attempt - 1), MAX_WAIT_S)
    return base * (0.5 + 0.5 * rng.random())


class OpenAIChatBackend(ModelBackend):
    """Asks an OpenAI-compatible `/chat/completions` endpoint; thread-safe (no mutable state but a close
    flag)."""

    kind = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        concurrency: int = 4,
        timeout: float = 120.0,
        max_retries: int = 5,
        backoff: float = 1.0,
        image_detail: str | None = None,
        max_side: int | None = None,
    ) -> None:
        self.base_url = base_url
        self.model = model
        self.url = base_url + "/chat/completions"
        self.concurrency = concurrency
        self.max_concurrency = concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.image_detail = image_detail
        self.max_side = max_side
        self._api_key = api_key
        self._opener = urllib.request.build_opener(_NoRedirect)
        self._closed = threading.Event()

    def describe(self) -> dict[str, Any]:
        # The API key (and the name of its variable) stay out: eval.json is shared with results.
        return {
            "kind": self.kind,
            "base_url": self.base_url,
            "model": self.model,
            "concurrency": self.concurrency,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "image_detail": self.image_detail,
            "max_side": self.max_side,
        }

    def close(self) -> None:
        """Wakes threads waiting to retry; they give up with a retryable error (the next run asks again)."""
        self._closed.set()

    def _pause(self, seconds: float) -> bool:
        """Wait before the next attempt; True when close() interrupted the wait."""
        return self._closed.wait(seconds)

    def request_body(self, request: Request) -> dict[str, Any]:
        """The JSON body of the chat completion request for `request` (images encoded here)."""
        parts: list[dict[str, Any]] = []
        for path in request.images:
            image_url: dict[str, Any] = {"url": image_data_url(path, self.max_side)}
            if self.image_detail is not None:
                image_url["detail"] = self.image_detail
            parts.append({"type": "image_url", "image_url": image_url})
        parts.append({"type": "text", "text": request.prompt})
        messages: list[dict[str, Any]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages.append({"role": "user", "content": parts})
        settings = request.settings
        return {
            "model": self.model,
            "messages": messages,
            "temperature": settings.temperature,
            "top_p": settings.top_p,
            "max_tokens": settings.max_new_tokens,
            "seed": settings.seed,
        }

    def answer(self, request: Request) -> Reply:
        payload = json.dumps(self.request_body(request)).encode("utf-8")
        rng = item_rng(request.item_id)
        attempts = 0
        while True:
            attempts += 1
            started = time.monotonic()
            try:
                text, model, usage = self._post_once(payload, attempts)
            except _Retry as failure:
                if attempts > self.max_retries:
                    raise ModelError(
                        failure.reason,
                        f"{self.url}: no answer after {attempts} attempts; last: {failure.message}",
                        retryable=True,
                        attempts=attempts,
                    ) from None
                wait = failure.retry_after
                if wait is None:
                    wait = backoff_wait(attempts, self.backoff, rng)
                if self._pause(wait):
                    raise ModelError(
                        "closed",
                        f"backend closed while retrying ({failure.message})",
                        retryable=True,
                        attempts=attempts,
                    ) from None
                continue
            return Reply(
                text=text,
                model=model,
                attempts=attempts,
                latency_s=time.monotonic() - started,
                usage=usage,
            )

    def _post_once(self, payload: bytes, attempts: int) -> tuple[str, str | None, dict[str, Any]]:
        """One POST. Returns the parsed completion, raises _Retry for transient failures and ModelError for
        failures that asking again cannot fix."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        req = urllib.request.Request(self.url, data=payload, headers=headers, method="POST")
        try:
            with self._opener.open(req, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as e:
            self._raise_http_error(e, attempts)
        except urllib.error.URLError as e:
            raise self._transport_failure(e.reason) from None
        except (OSError, HTTPException) as e:  # timeouts and resets while reading the body
            raise self._transport_failure(e) from None
        return parse_completion(body)

    def _raise_http_error(self, error: urllib.error.HTTPError, attempts: int) -> None:
        try:
            body = error.read()
        except (OSError, HTTPException):
            body = b""
        message = f"{self.url}: HTTP {error.code}: {_error_message(body)}"
        reason = f"http_{error.code}"
        if error.code in RETRYABLE_STATUS or 500 <= error.code <= 599:
            raise _Retry(reason, message, retry_after_seconds(error.headers.get("Retry-After"))) from None
        raise ModelError(reason, message, retryable=False, attempts=attempts) from None

    def _transport_failure(self, cause: object) -> Exception:
        """Timeouts and connection failures are retried; a TLS certificate that does not verify is not (it
        will not verify next time either)."""
        if isinstance(cause, ssl.SSLCertVerificationError):
            return ModelError("tls_error", f"{self.url}: {cause}", retryable=False)
        if isinstance(cause, (TimeoutError, socket.timeout)):
            return _Retry("timeout", f"{self.url}: no response within {self.timeout:g} s")
        return _Retry("connection_error", f"{self.url}: {type(cause).__name__}: {cause}")


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


def _base_url_option(options: dict[str, str]) -> str:
    raw = take_option(options, "base_url")
    if not raw:
        raise ValueError("model 'openai' needs base_url=... (e.g. http://127.0.0.1:8000/v1)")
    url = raw.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"model 'openai': base_url={raw!r} must start with http:// or https://")
    if url.endswith("/chat/completions"):
        raise ValueError(
            f"model 'openai': base_url={raw!r} should stop before /chat/completions (e.g. .../v1); "
            "the client appends it"
        )
    return url


def _api_key(options: dict[str, str]) -> str | None:
    """The key from the named environment variable. The default variable may be unset (local servers need no
    key); a variable the spec names explicitly must be set, or every request would fail with 401."""
    named = take_option(options, "api_key_env")
    env = named or DEFAULT_API_KEY_ENV
    key = os.environ.get(env)
    if named and not key:
        raise ValueError(f"model 'openai': api_key_env={named!r} names an unset or empty variable")
    return key or None


KIND = "openai"


@register_model("openai")
def build_openai(options: dict[str, str], items: Sequence[BenchItem]) -> ModelBackend:
    """Factory for `openai:base_url=...,model=...[,api_key_env=...,concurrency=4,timeout=120,max_retries=5,
    backoff=1.0,image_detail=low|high|auto,max_side=N]`. The benchmark items are not needed."""
    options = dict(options)
    base_url = _base_url_option(options)
    model = take_option(options, "model")
    if not model:
        raise ValueError("model 'openai' needs model=... (the name the server serves, e.g. Qwen2.5-VL-7B)")
    api_key = _api_key(options)
    concurrency = int_option(KIND, options, "concurrency", 1) or 4
    timeout = float_option(KIND, options, "timeout", positive=True) or 120.0
    max_retries = _or(int_option(KIND, options, "max_retries", 0), 5)
    backoff = _or(float_option(KIND, options, "backoff", positive=False), 1.0)
    image_detail = take_option(options, "image_detail")
    if image_detail is not None and image_detail not in IMAGE_DETAILS:
        raise ValueError(f"model 'openai': image_detail={image_detail!r} is not one of {list(IMAGE_DETAILS)}")
    max_side = int_option(KIND, options, "max_side", 1)
    reject_unknown("openai", options)
    return OpenAIChatBackend(
        base_url,
        model,
        api_key=api_key,
        concurrency=concurrency,
        timeout=timeout,
        max_retries=max_retries,
        backoff=backoff,
        image_detail=image_detail,
        max_side=max_side,
    )


__all__ = [
    "OpenAIChatBackend",
    "backoff_wait",
    "build_openai",
    "image_data_url",
    "image_mime",
    "item_rng",
    "parse_completion",
    "retry_after_seconds",
]
