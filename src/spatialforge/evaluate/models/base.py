"""What the evaluation runner asks of a model, and the registry of model backends.

A backend answers one `Request` at a time (`answer`); the runner calls it from up to `max_concurrency`
threads, so `answer` must be thread-safe. A backend that cannot answer raises `ModelError` with
`retryable` saying whether asking again may help (the runner records non-retryable and exhausted
failures and asks again on the next resume; it never records a failure as a prediction).

A backend that answers many requests in one call better than one at a time (a local model generating a
padded batch) sets `batch_size` > 1 and implements `answer_batch`: the runner then hands it consecutive
requests, `batch_size` at a time, from at most BATCHES_IN_FLIGHT threads (run.py), and gets one Reply or
ModelError per request back, so one unreadable input fails only its own request.

Backends are named by a spec string, `kind[:key=value,key=value...]`, e.g.

    openai:base_url=http://127.0.0.1:8000/v1,model=Qwen2.5-VL-7B,concurrency=8
    hf:path=/models/my-vlm,dtype=bfloat16    (or hf:/models/my-vlm,...: a bare first value is the path)
    spatialforge:runs/small/model           (a model saved by SpatialVLM.save_pretrained)
    chance:seed=0        frequency        blind:prior=qa/data.jsonl

`build_model(spec, items)` finds the kind in the registry and hands the factory the key=value options
(strings) and the benchmark items (baselines need them; API backends ignore them). `describe()` is written
into the run's eval.json and must not contain secrets.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from spatialforge.bench.builder.items import BenchItem


@dataclass(frozen=True)
class GenerationSettings:
    """Decoding settings, recorded with every run. Greedy by default: benchmark scores must not depend
    on sampling luck."""

    temperature: float = 0.0
    max_new_tokens: int = 256
    top_p: float = 1.0
    seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Request:
    """One question for the model.

    prompt: the full user text (question plus answer instruction); system: an optional system prompt;
    images: absolute paths of the images, in order (each goes before the text, as most VLM chat templates
    expect); item: the benchmark item (baselines read it; a model backend must not look at its answer).
    """

    item_id: str
    prompt: str
    images: tuple[Path, ...]
    settings: GenerationSettings
    system: str | None = None
    item: BenchItem | None = None


@dataclass(frozen=True)
class Reply:
    """The model's answer. text: the raw reply (scored by our parsers, never pre-filtered); model: the model
    name the server reports, when it does; attempts: requests it took (1 without retries); usage: token
    counts when reported."""

    text: str
    model: str | None = None
    attempts: int = 1
    latency_s: float = 0.0
    usage: dict[str, Any] = field(default_factory=dict)


class ModelError(RuntimeError):
    """A request that produced no answer. reason: short snake_case code (timeout, http_500, bad_json, ...);
    retryable: whether asking again may help; attempts: requests made before giving up."""

    def __init__(self, reason: str, message: str, *, retryable: bool, attempts: int = 1) -> None:
        self.reason = reason
        self.retryable = retryable
        self.attempts = attempts
        super().__init__(f"{message} [{reason}]")


class ModelBackend(ABC):
    """A model the runner can ask questions. Subclasses set `kind` and answer requests."""

    kind: str = ""
    max_concurrency: int = 1
    # > 1: the runner asks through answer_batch, this many consecutive requests per call.
    batch_size: int = 1

    @abstractmethod
    def answer(self, request: Request) -> Reply:
        """Answer one request (thread-safe), or raise ModelError."""

    def answer_batch(self, requests: Sequence[Request]) -> list[Reply | ModelError]:
        """One Reply, or the ModelError of a request that got no answer, per request in order (thread-safe).
        Any other exception fails the whole call. This default asks one request at a time."""
        results: list[Reply | ModelError] = []
        for request in requests:
            try:
                results.append(self.answer(request))
            except ModelError as error:
                results.append(error)
        return results

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """What identifies this model and its settings (no secrets), written to eval.json."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections, GPU memory; called once when the run ends."""


ModelFactory = Callable[[dict[str, str], Sequence[BenchItem]], ModelBackend]
MODELS: dict[str, ModelFactory] = {}


def register_model(kind: str) -> Callable[[ModelFactory], ModelFactory]:
    """Decorator: make a factory reachable as `kind` in model specs."""

    def wrap(factory: ModelFactory) -> ModelFactory:
        if kind in MODELS:
            raise ValueError(f"model kind {kind!r} is registered twice")
        MODELS[kind] = factory
        return factory

    return wrap


def parse_model_spec(spec: str) -> tuple[str, dict[str, str]]:
    """ "kind:key=value,key=value" -> (kind, {key: value}); ValueError naming the part that is wrong."""
    kind, _, rest = spec.partition(":")
    kind = kind.strip()
    if not kind:
        raise ValueError(f"model spec {spec!r} has no kind (e.g. 'openai:model=NAME')")
    options: dict[str, str] = {}
    parts = [p.strip() for p in rest.split(",") if p.strip()]
    if parts and "=" not in parts[0]:
        # A bare first value is the model's path: "spatialforge:runs/model", "hf:/models/x,device=cpu".
        parts[0] = f"path={parts[0]}"
    for part in parts:
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise ValueError(f"model spec {spec!r}: {part!r} is not key=value")
        if key.strip() in options:
            raise ValueError(f"model spec {spec!r}: {key.strip()!r} given twice")
        options[key.strip()] = value.strip()
    return kind, options


def _load_backends() -> None:
    """Import the modules that register backends (lazily: torch and HTTP clients only when used)."""
    from spatialforge.evaluate.models import registry  # noqa: F401


def build_model(spec: str, items: Sequence[BenchItem]) -> ModelBackend:
    kind, options = parse_model_spec(spec)
    _load_backends()
    if kind not in MODELS:
        raise ValueError(f"unknown model kind {kind!r}; known: {', '.join(sorted(MODELS))}")
    return MODELS[kind](options, items)


def take_option(options: dict[str, str], key: str, default: str | None = None) -> str | None:
    """Pop a spec option (factories pop what they understand, then call `reject_unknown`)."""
    return options.pop(key, default)


def int_option(kind: str, options: dict[str, str], key: str, minimum: int | None = None) -> int | None:
    """Pop an integer option (None when absent); ValueError naming the model, option and value."""
    raw = take_option(options, key)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"model {kind!r}: {key}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ValueError(f"model {kind!r}: {key}={value} must be >= {minimum}")
    return value


def float_option(kind: str, options: dict[str, str], key: str, *, positive: bool) -> float | None:
    """Pop a finite number option, > 0 (positive) or >= 0 (None when absent)."""
    raw = take_option(options, key)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"model {kind!r}: {key}={raw!r} is not a number") from None
    if not (value > 0 if positive else value >= 0) or value == float("inf"):
        raise ValueError(f"model {kind!r}: {key}={raw} must be a finite number {'>' if positive else '>='} 0")
    return value


TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def bool_option(kind: str, options: dict[str, str], key: str) -> bool:
    """Pop a true/false option (false when absent)."""
    raw = take_option(options, key)
    if raw is None:
        return False
    if raw.lower() in TRUE_WORDS:
        return True
    if raw.lower() in FALSE_WORDS:
        return False
    raise ValueError(f"model {kind!r}: {key}={raw!r} is not true or false")


def reject_unknown(kind: str, options: dict[str, str]) -> None:
    if options:
        raise ValueError(f"model {kind!r} does not understand option(s) {sorted(options)}")
