"""Loaders of published spatial benchmarks, read from their released files (docs/BENCHMARKS.md section 6).

One module per benchmark, each defining `BENCHMARK: PublishedBenchmark`; modules are imported on first use,
so `spatialforge --help` does not pay for pyarrow or PyAV.
"""

from __future__ import annotations

import importlib

from spatialforge.bench.published.base import PublishedBenchmark

# name -> module defining BENCHMARK (the one registry of published benchmarks).
_MODULES: dict[str, str] = {
    "cvbench": "spatialforge.bench.published.cvbench",
    "3dsrbench": "spatialforge.bench.published.threedsrbench",
    "sparbench": "spatialforge.bench.published.sparbench",
    "vsibench": "spatialforge.bench.published.vsibench",
    "spatialrgpt": "spatialforge.bench.published.spatialrgpt",
    "qspatial": "spatialforge.bench.published.qspatial",
    "embspatial": "spatialforge.bench.published.embspatial",
    "robospatial": "spatialforge.bench.published.robospatial",
    "blink": "spatialforge.bench.published.blink",
}


def available_published() -> list[str]:
    return sorted(_MODULES)


def is_published(name: str) -> bool:
    return name in _MODULES


def get_published(name: str) -> PublishedBenchmark:
    if name not in _MODULES:
        raise KeyError(f"unknown published benchmark {name!r}; available: {', '.join(available_published())}")
    module = importlib.import_module(_MODULES[name])
    benchmark: PublishedBenchmark = module.BENCHMARK
    if benchmark.name != name:
        raise RuntimeError(f"{_MODULES[name]}.BENCHMARK is named {benchmark.name!r}, registered as {name!r}")
    return benchmark
