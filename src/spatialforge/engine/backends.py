"""Where the units of work of a run execute: this process, a local process pool, or Ray Data.

A unit is a job (a picklable dataclass) and a top-level function `fn(job) -> dict` that writes its own output
files and returns a JSON-able summary (engine/runner.py `run_bucket`, export/run.py `export_shard`). The
backends only decide where `fn` runs; the function, its inputs and its files are the same, so every
backend gives byte-identical output, and a killed run resumes on any backend.

- "local": workers == 1 runs the jobs in order in this process; workers > 1 in a spawn process pool.
- "ray": a Ray Data dataset with one row (and one block) per job, mapped by `fn` as Ray tasks with a
  fractional CPU each (`cpus_per_task`, default 0.5: on a 2-core machine Ray Data's own read/write tasks
  need CPU too, and a whole CPU per task starves them, ENVIRONMENT.md), at most `workers` at a time.
  `ray_address` (or the RAY_ADDRESS environment variable) joins an existing cluster; without one, a local
  Ray instance is started for the run and shut down after it. On a cluster, the output directory and the
  scene assets must be on a file system every node mounts at the same path (the jobs write there), and
  spatialforge must be installed on every node (or shipped with a runtime_env; docs/EXPORT.md).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

BACKENDS = ("local", "ray")
DEFAULT_RAY_CPUS_PER_TASK = 0.5

JobFn = Callable[[Any], dict[str, Any]]


@dataclass(frozen=True)
class Backend:
    """How to run jobs: `name` in BACKENDS, `workers` at a time; Ray settings used by "ray" only."""

    name: str = "local"
    workers: int = 1
    ray_address: str | None = None
    cpus_per_task: float = DEFAULT_RAY_CPUS_PER_TASK

    def __post_init__(self) -> None:
        if self.name not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.name!r}")
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        if not 0 < self.cpus_per_task <= 64:
            raise ValueError(f"cpus_per_task must be in (0, 64], got {self.cpus_per_task}")


def run_jobs(fn: JobFn, jobs: Sequence[Any], backend: Backend) -> list[dict[str, Any]]:
    """Run fn on every job; returns the summaries in job order. The first failure is re-raised (jobs that
    finished keep their output for the resume)."""
    if not jobs:
        return []
    if backend.name == "ray":
        return _run_ray(fn, jobs, backend)
    if backend.workers == 1:
        return [fn(job) for job in jobs]
    with (
        _one_thread_per_worker(),
        ProcessPoolExecutor(max_workers=backend.workers, mp_context=get_context("spawn")) as pool,
    ):
        futures = [pool.submit(fn, job) for job in jobs]
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for f in pending:
            f.cancel()
        for f in done:
            if f.exception() is not None:
                raise f.exception()  # type: ignore[misc]
        return [f.result() for f in futures]


# Native thread pools (BLAS, OpenMP) a worker would otherwise size to the whole machine: N workers x N threads
# oversubscribe the cores. Ray sets OMP_NUM_THREADS for its tasks itself.
THREAD_LIMIT_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


@contextmanager
def _one_thread_per_worker() -> Iterator[None]:
    """Spawned workers inherit the environment: cap their native thread pools at one thread each (a value
    the user set is kept), and restore this process's environment afterwards."""
    saved = {name: os.environ.get(name) for name in THREAD_LIMIT_VARS}
    for name in THREAD_LIMIT_VARS:
        os.environ.setdefault(name, "1")
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401 - the Data library is a separate extra of ray
    except ImportError as err:
        raise RuntimeError(
            "the ray backend needs Ray Data: pip install 'spatialforge[ray]' (ray[data])"
        ) from err
    return ray


def _run_ray(fn: JobFn, jobs: Sequence[Any], backend: Backend) -> list[dict[str, Any]]:
    ray = import_ray()
    started_here = False
    if not ray.is_initialized():
        address = backend.ray_address or os.environ.get("RAY_ADDRESS")
        kwargs: dict[str, Any] = {
            "include_dashboard": False,
            "logging_level": "WARNING",
            "log_to_driver": False,
        }
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray.init(**kwargs)
        started_here = True
    data_logger = logging.getLogger("ray.data")
    try:
        ctx = ray.data.DataContext.get_current()
        data_logger.setLevel(logging.ERROR)  # switching the bars off logs a warning
        ctx.enable_progress_bars = False
        data_logger.setLevel(logging.WARNING)  # and an execution logs INFO lines
        ctx.verbose_stats_logs = False
        job_list = list(jobs)

        def call(row: dict[str, Any]) -> dict[str, Any]:
            # The closure ships job_list to the tasks once per task; rows carry only the index.
            index = int(row["index"])
            return {"index": index, "summary": json.dumps(fn(job_list[index]))}

        ds = ray.data.from_items(
            [{"index": i} for i in range(len(job_list))], override_num_blocks=len(job_list)
        )
        compute = ray.data.TaskPoolStrategy(size=backend.workers)
        rows = ds.map(call, num_cpus=backend.cpus_per_task, compute=compute).take_all()
    finally:
        if started_here:
            ray.shutdown()
    by_index = {int(r["index"]): json.loads(r["summary"]) for r in rows}
    return [by_index[i] for i in range(len(job_list))]
