"""`spatialforge eval`: ask a model every question of a benchmark, keep every reply, score, report.

    run_eval(EvalConfig(benchmark=BENCH_DIR, model="openai:base_url=...,model=...", output=OUT))

1. The benchmark's items are read and the run's identity (benchmark digest, model spec, generation settings,
   prompt) is compared with OUT/eval.json when OUT already holds a run: a resumed run must ask the same
   model the same way, or it is refused naming what differs.
2. Items without a reply in OUT/predictions.jsonl are asked, up to the backend's max_concurrency at a time
   (a batching backend, batch_size > 1: consecutive groups of batch_size, BATCHES_IN_FLIGHT at a time);
   each reply is appended and flushed as it arrives (evaluate/store.py), so a killed run loses nothing and
   a resumed run never asks an answered item again. A backend failure (ModelError after its own retries, a
   missing image) goes to failures.jsonl, not to the predictions: the next run asks that item again.
3. Every item is scored with the scoring core (unanswered ones as an empty reply, counted), then the tables
   (per task, level, group; the preset's totals) and the HTML report are written.
Layout of OUT: docs/EVAL.md.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from spatialforge.bench.builder.items import BENCH_ITEMS_FILE, BenchItem, read_bench_items, read_manifest
from spatialforge.bench.parsers import PARSER_VERSION
from spatialforge.evaluate.models.base import (
    GenerationSettings,
    ModelBackend,
    ModelError,
    Reply,
    Request,
    build_model,
    parse_model_spec,
)
from spatialforge.evaluate.prompts import build_prompt, prompt_record
from spatialforge.evaluate.store import PredictionStore
from spatialforge.evaluate.tables import build_tables, score_run, write_tables
from spatialforge.files import sha256_of
from spatialforge.jsonl import JsonlWriter

EVAL_FILE = "eval.json"
PREDICTIONS_FILE = "predictions.jsonl"
FAILURES_FILE = "failures.jsonl"


@dataclass(frozen=True)
class EvalConfig:
    """One evaluation run. limit / tasks choose a subset of the benchmark (they may change between resumes:
    a larger subset asks only the new items); everything else is part of the run's identity."""

    benchmark: str
    model: str
    output: str
    temperature: float = 0.0
    max_new_tokens: int = 256
    top_p: float = 1.0
    seed: int = 0
    # None: "plain" for a published benchmark (its items' question is the official prompt), else "instructed".
    prompt_style: str | None = None
    system: str | None = None
    limit: int | None = None
    tasks: tuple[str, ...] = ()
    progress: bool = True
    bootstrap: int = 1000
    report: bool = True
    # A published benchmark by name (bench/published): the folder of its released files, the loader's options.
    data: str | None = None
    options: tuple[tuple[str, str], ...] = ()

    @property
    def settings(self) -> GenerationSettings:
        return GenerationSettings(self.temperature, self.max_new_tokens, self.top_p, self.seed)


@dataclass
class EvalReport:
    config: EvalConfig
    n_items: int
    answered: int
    asked_this_run: int
    failed: Counter = field(default_factory=Counter)
    first_failure: dict[str, str] = field(default_factory=dict)
    torn_lines: int = 0
    tables: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def output(self) -> Path:
        return Path(self.config.output)


def items_digest(bench_dir: Path) -> str:
    """sha256 of the benchmark's items.jsonl: two runs compare only if they asked the same questions."""
    return sha256_of(bench_dir / BENCH_ITEMS_FILE)


def select_items(items: Sequence[BenchItem], cfg: EvalConfig) -> list[BenchItem]:
    chosen = [i for i in items if not cfg.tasks or i.task in cfg.tasks]
    unknown = set(cfg.tasks) - {i.task for i in items}
    if unknown:
        raise ValueError(f"the benchmark has no task(s) {sorted(unknown)}")
    return chosen if cfg.limit is None else chosen[: cfg.limit]


# Spec options that change how a model is asked, not what it answers: they may change between resumes.
OPERATIONAL_SPEC_KEYS = frozenset({"concurrency", "timeout", "max_retries", "backoff"})


def identity_spec(spec: str) -> str:
    """The model spec without its operational options (sorted), as a run's identity compares it."""
    kind, options = parse_model_spec(spec)
    kept = sorted((k, v) for k, v in options.items() if k not in OPERATIONAL_SPEC_KEYS)
    return kind + (":" + ",".join(f"{k}={v}" for k, v in kept) if kept else "")


def _identity(cfg: EvalConfig, digest: str, prompt_style: str) -> dict[str, Any]:
    """What must not change when a run is resumed."""
    return {
        "items_sha256": digest,
        "model": identity_spec(cfg.model),
        "settings": cfg.settings.as_dict(),
        "prompt": prompt_record(prompt_style, cfg.system),
    }


PUBLISHED_BENCH_DIR = "benchmark"


def resolve_benchmark(cfg: EvalConfig) -> Path:
    """The benchmark folder a run asks: cfg.benchmark itself when it is a folder; for the name of a published
    benchmark, its import from cfg.data into OUTPUT/benchmark (reused when the same import is there)."""
    from spatialforge.bench.published import available_published, is_published

    path = Path(cfg.benchmark)
    if path.is_dir():
        if cfg.data is not None:
            raise ValueError(
                f"--data is for a published benchmark by name; {path} is already a benchmark folder"
            )
        return path
    if not is_published(cfg.benchmark):
        raise ValueError(
            f"{cfg.benchmark!r} is neither a benchmark folder nor a published benchmark "
            f"({', '.join(available_published())})"
        )
    if cfg.data is None:
        raise ValueError(f"{cfg.benchmark} is read from its released files: give their folder with --data")
    from spatialforge.bench.published.importer import import_published

    bench_dir = Path(cfg.output) / PUBLISHED_BENCH_DIR
    import_published(cfg.benchmark, cfg.data, bench_dir, dict(cfg.options))
    return bench_dir


def resolved_prompt_style(cfg: EvalConfig, manifest: dict[str, Any]) -> str:
    if cfg.prompt_style is not None:
        return cfg.prompt_style
    return "plain" if manifest.get("published") else "instructed"


def _check_resume(out: Path, identity: dict[str, Any]) -> dict[str, Any] | None:
    path = out / EVAL_FILE
    if not path.exists():
        return None
    previous = json.loads(path.read_text())
    old = previous.get("identity", {})
    differing = sorted(k for k in identity if old.get(k) != identity[k])
    if differing:
        raise ValueError(
            f"{out} holds a run with different {', '.join(differing)}; "
            "use a new --output folder (or delete this one) to evaluate differently"
        )
    return previous


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _request(item: BenchItem, bench_dir: Path, cfg: EvalConfig, prompt_style: str) -> Request:
    return Request(
        item_id=item.id,
        prompt=build_prompt(item, prompt_style),
        images=tuple(bench_dir / p for p in item.images),
        settings=cfg.settings,
        system=cfg.system,
        item=item,
    )


def _check_images(request: Request, bench_root: Path) -> None:
    """ModelError unless every image of `request` is a file inside the benchmark folder once links are
    followed: a benchmark is data from elsewhere, and a link to ~/.ssh/id_rsa must not be sent to a remote
    API (`image_outside_benchmark`)."""
    for path in request.images:
        if not path.is_file():
            raise ModelError("missing_image", f"image {path} is missing", retryable=False, attempts=0)
        if not path.resolve().is_relative_to(bench_root):
            raise ModelError(
                "image_outside_benchmark",
                f"image {path} links outside the benchmark folder {bench_root}",
                retryable=False,
                attempts=0,
            )


def _prediction(request: Request, reply: Reply, start: float) -> dict[str, Any]:
    return {
        "id": request.item_id,
        "task": request.item.task if request.item else None,
        "prompt": request.prompt,
        "images": [str(p.name) for p in request.images],
        "prediction": reply.text,
        "model": reply.model,
        "attempts": reply.attempts,
        "latency_s": round(reply.latency_s or time.perf_counter() - start, 4),
        "usage": reply.usage,
    }


def _ask(model: ModelBackend, request: Request, bench_root: Path) -> dict[str, Any]:
    """The prediction record of one request; raises ModelError when the model gave no answer."""
    _check_images(request, bench_root)
    start = time.perf_counter()
    return _prediction(request, model.answer(request), start)


def _ask_batch(
    model: ModelBackend, requests: Sequence[Request], bench_root: Path
) -> list[dict[str, Any] | ModelError]:
    """The prediction record, or the ModelError, of each request, asked together through answer_batch."""
    results: list[dict[str, Any] | ModelError | None] = [None] * len(requests)
    asked = []
    for index, request in enumerate(requests):
        try:
            _check_images(request, bench_root)
            asked.append(index)
        except ModelError as error:
            results[index] = error
    start = time.perf_counter()
    replies = model.answer_batch([requests[i] for i in asked]) if asked else []
    if len(replies) != len(asked):
        raise RuntimeError(f"answer_batch gave {len(replies)} results for {len(asked)} requests")
    for index, reply in zip(asked, replies, strict=True):
        results[index] = (
            reply if isinstance(reply, ModelError) else _prediction(requests[index], reply, start)
        )
    return results  # type: ignore[return-value]  # every slot is filled


# A batching backend gets this many batches at a time: one generating while the next one's inputs are read.
BATCHES_IN_FLIGHT = 2


def _ask_all(
    model: ModelBackend,
    requests: Sequence[Request],
    bench_root: Path,
    on_answer: Callable[[dict[str, Any]], None],
    on_failure: Callable[[Request, str, str, int], None],
) -> None:
    """Ask every request with at most model.max_concurrency in flight (a batching backend: consecutive
    groups of model.batch_size, BATCHES_IN_FLIGHT groups at a time); callbacks run in this thread."""
    size = int(model.batch_size)
    if size > 1:
        groups = [list(requests[i : i + size]) for i in range(0, len(requests), size)]
        width = BATCHES_IN_FLIGHT
    else:
        groups = [[r] for r in requests]
        width = max(1, int(model.max_concurrency))
    queue: Iterator[list[Request]] = iter(groups)
    in_flight: dict[Future, list[Request]] = {}
    pool = ThreadPoolExecutor(max_workers=width, thread_name_prefix="eval")
    try:
        while True:
            while len(in_flight) < width:
                group = next(queue, None)
                if group is None:
                    break
                if size > 1:
                    future = pool.submit(_ask_batch, model, group, bench_root)
                else:
                    future = pool.submit(_ask, model, group[0], bench_root)
                in_flight[future] = group
            if not in_flight:
                return
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in finished:
                group = in_flight.pop(future)
                try:
                    results = future.result() if size > 1 else [future.result()]
                except Exception as e:  # every request of the group gets the group's error
                    results = [e] * len(group)
                for request, result in zip(group, results, strict=True):
                    try:
                        if isinstance(result, BaseException):
                            raise result
                        on_answer(result)
                    except ModelError as e:
                        on_failure(request, e.reason, str(e), e.attempts)
                    except Exception as e:  # a backend bug must not lose the run's other answers
                        on_failure(request, f"backend_exception:{type(e).__name__}", str(e), 1)
    finally:
        # An interrupted run does not wait for replies it will not record (they are asked again on resume).
        pool.shutdown(wait=False, cancel_futures=True)


def _progress(enabled: bool, total: int, done: int) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(
        TextColumn("asking"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        disable=not enabled,
    )
    task = progress.add_task("eval", total=total, completed=done)
    return progress, task


def run_eval(cfg: EvalConfig, *, model: ModelBackend | None = None) -> EvalReport:
    """Run (or resume) one evaluation; see the module docstring. `model` injects a backend instance (its
    describe() is recorded; cfg.model still names the run)."""
    start = time.perf_counter()
    bench_dir = resolve_benchmark(cfg)
    manifest = read_manifest(bench_dir)
    prompt_style = resolved_prompt_style(cfg, manifest)
    all_items = read_bench_items(bench_dir)
    items = select_items(all_items, cfg)
    digest = items_digest(bench_dir)
    out = Path(cfg.output)
    out.mkdir(parents=True, exist_ok=True)
    identity = _identity(cfg, digest, prompt_style)
    previous = _check_resume(out, identity)
    store = PredictionStore(out / PREDICTIONS_FILE)
    done = store.load()
    unknown = sorted(set(done) - {i.id for i in all_items})
    if unknown:
        raise ValueError(f"{out / PREDICTIONS_FILE} answers items the benchmark does not have: {unknown[:5]}")
    todo = [i for i in items if i.id not in done]
    model = model or build_model(cfg.model, all_items)
    report = EvalReport(cfg, len(items), 0, len(todo), torn_lines=store.torn_lines)
    failures: list[dict[str, Any]] = []
    record = {
        "benchmark": {
            "path": str(bench_dir.resolve()),
            "name": manifest.get("name"),
            "preset": manifest.get("preset"),
            "published": manifest.get("published"),
            "scoring": manifest.get("scoring"),
            "n_items": len(all_items),
            "items_sha256": digest,
        },
        "model": {"spec": cfg.model, **model.describe()},
        "settings": cfg.settings.as_dict(),
        "prompt": prompt_record(prompt_style, cfg.system),
        "parser_version": PARSER_VERSION,
        "config": asdict(cfg),
        "identity": identity,
        "started": (previous or {}).get("started", _now()),
        "resumed": bool(previous),
    }
    (out / EVAL_FILE).write_text(json.dumps(record, indent=2) + "\n")

    progress, bar = _progress(cfg.progress, len(items), len(items) - len(todo))

    def on_answer(prediction: dict[str, Any]) -> None:
        store.append(prediction)
        done[prediction["id"]] = prediction
        progress.advance(bar)

    def on_failure(request: Request, reason: str, message: str, attempts: int) -> None:
        report.failed[reason] += 1
        report.first_failure.setdefault(reason, message)
        failures.append(
            {"id": request.item_id, "task": request.item.task if request.item else None, "reason": reason}
            | {"message": message, "attempts": attempts}
        )

    try:
        with progress:
            requests = [_request(i, bench_dir, cfg, prompt_style) for i in todo]
            _ask_all(model, requests, bench_dir.resolve(), on_answer, on_failure)
    finally:
        store.close()
        model.close()
    with JsonlWriter(out / FAILURES_FILE, dict) as writer:
        writer.write_all(failures)

    replies = {i.id: done[i.id]["prediction"] for i in items if i.id in done}
    report.answered = len(replies)
    scoring = manifest.get("scoring") or {}
    score = score_run(
        items,
        replies,
        out,
        bootstrap=cfg.bootstrap,
        seed=cfg.seed,
        benchmark=scoring.get("benchmark", "generic"),
        variant=scoring.get("variant"),
    )
    tables = build_tables(
        items,
        score,
        out / "score",
        answered=report.answered,
        totals_rule=manifest.get("totals_rule", "micro"),
        bootstrap=cfg.bootstrap,
        seed=cfg.seed,
    )
    title = f"{manifest.get('name', bench_dir.name)} — {cfg.model}"
    write_tables(tables, out, title)
    report.tables = tables
    record["status"] = {
        "n_items": len(items),
        "answered": report.answered,
        "failed": sum(report.failed.values()),
        "failed_by_reason": dict(report.failed),
        "asked_this_run": report.asked_this_run,
        "torn_lines_dropped": report.torn_lines,
    }
    record["finished"] = _now()
    (out / EVAL_FILE).write_text(json.dumps(record, indent=2) + "\n")
    if cfg.report:
        from spatialforge.evaluate.report import write_report

        write_report(out)
    report.seconds = round(time.perf_counter() - start, 3)
    return report
