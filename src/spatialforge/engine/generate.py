"""`spatialforge generate`: scenes JSONL in, QA JSONL out, on the sharded runner (engine/runner.py).

Per scene (generate_scene):
1. The per-scene cap is split into task quotas: `max_qa_per_scene` draws from the task weights (default:
   HiSpatial Table 7 by family, tasks/registry.py) with the scene's own "__mix__" rng. A task that cannot
   fill its quota on a scene (too few objects, no fronts) leaves it unfilled; the report shows the
   shortfall per task, so the realised mix is never a surprise.
2. Each task runs with its own rng, rng_for(seed, scene_id, task): it enumerates candidate facts over the
   scene's views (round robin), rejected candidates are counted by "<task>/<reason>", and each fact is
   rendered in a format drawn from the format weights (default HiSpatial's released loader mix: free 0.3,
   mcq 0.4, tf 0.3) restricted to the formats the task declares and the run allows. A tf fact gives its
   two polarities (2 records); when only one slot of the quota is left, tf is not drawn.
3. At most `max_attempts_per_qa` x quota candidates are looked at per task, bounding work on scenes where
   almost everything is ambiguous.

Everything random is keyed by (seed, scene_id, task), so the records are the same for any number of
workers and any order of scenes; runner buckets make the run resumable with identical output.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from itertools import accumulate
from pathlib import Path
from typing import Any

from spatialforge.engine.runner import RunReport, SceneResult, run_sharded
from spatialforge.engine.seeds import rng_for, seed_for
from spatialforge.scene.records import Scene
from spatialforge.tasks.banks import TemplateBank, load_bank, load_common
from spatialforge.tasks.context import ViewContext
from spatialforge.tasks.registry import HISPATIAL_FAMILY_WEIGHTS, TASKS, get_task, task_weights
from spatialforge.tasks.render import Renderer
from spatialforge.tasks.spec import Fact, TaskSpec

# HiSpatial's released data loader mixes formats text 0.3 / mcq 0.4 / tf 0.3 (SPEC section 3).
HISPATIAL_FORMAT_WEIGHTS = (("free", 0.3), ("mcq", 0.4), ("tf", 0.3))
DEFAULT_MAX_QA_PER_SCENE = 48
DEFAULT_MAX_ATTEMPTS_PER_QA = 8
GENERATE_FORMATS = ("free", "mcq", "tf")
MIX_KEY = "__mix__"

# Report counts per record field (runner count_keys).
COUNT_KEYS = ("task", "level", "format")


@dataclass(frozen=True)
class GenerateConfig:
    """Everything that decides the generated data (saved as config.json beside it).

    tasks: registered task names, () for all; formats: allowed formats. family_weights: HiSpatial Table 7
    by default; task_weights: per-task raw weights overriding the family split. max_qa_per_scene: the
    per-scene cap (tf pairs count as two).
    """

    seed: int = 0
    tasks: tuple[str, ...] = ()
    formats: tuple[str, ...] = GENERATE_FORMATS
    format_weights: tuple[tuple[str, float], ...] = HISPATIAL_FORMAT_WEIGHTS
    family_weights: tuple[tuple[str, float], ...] = tuple(HISPATIAL_FAMILY_WEIGHTS.items())
    task_weights: tuple[tuple[str, float], ...] = ()
    max_qa_per_scene: int = DEFAULT_MAX_QA_PER_SCENE
    max_attempts_per_qa: int = DEFAULT_MAX_ATTEMPTS_PER_QA

    def __post_init__(self) -> None:
        for name in self.tasks:
            get_task(name)
        bad = [f for f in self.formats if f not in GENERATE_FORMATS]
        if bad or not self.formats:
            raise ValueError(f"formats must be a non-empty subset of {GENERATE_FORMATS}, got {self.formats}")
        if self.max_qa_per_scene < 1 or self.max_attempts_per_qa < 1:
            raise ValueError("max_qa_per_scene and max_attempts_per_qa must be >= 1")
        if any(
            not 0 <= w < math.inf for _, w in (*self.format_weights, *self.family_weights, *self.task_weights)
        ):
            raise ValueError("weights must be finite numbers >= 0")
        for name, _ in self.task_weights:
            get_task(name)


@dataclass(frozen=True)
class TaskPlan:
    spec: TaskSpec
    bank: TemplateBank
    weight: float
    formats: tuple[str, ...]
    format_weights: tuple[float, ...]

    @cached_property
    def cumulative(self) -> tuple[float, ...]:
        return tuple(accumulate(self.format_weights))

    @cached_property
    def formats_no_tf(self) -> tuple[str, ...]:
        return tuple(f for f in self.formats if f != "tf")

    @cached_property
    def cumulative_no_tf(self) -> tuple[float, ...]:
        return tuple(
            accumulate(w for f, w in zip(self.formats, self.format_weights, strict=True) if f != "tf")
        )


@dataclass(frozen=True)
class Plan:
    tasks: tuple[TaskPlan, ...]

    @cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(p.spec.name for p in self.tasks)

    @cached_property
    def weights(self) -> tuple[float, ...]:
        return tuple(p.weight for p in self.tasks)


@cache
def build_plan(config: GenerateConfig) -> Plan:
    """Resolve a config into per-task weights, formats and banks (cached: one per process and config)."""
    names = list(config.tasks) or list(TASKS)
    weights = task_weights(names, dict(config.family_weights), dict(config.task_weights))
    fmt_weight = dict(config.format_weights)
    plans = []
    for name in names:
        spec = get_task(name)
        formats = tuple(f for f in spec.formats if f in config.formats and fmt_weight.get(f, 0.0) > 0)
        if not formats or weights[name] <= 0:
            continue
        bank = load_bank(spec.name, spec.formats, spec.variants)
        plans.append(TaskPlan(spec, bank, weights[name], formats, tuple(fmt_weight[f] for f in formats)))
    if not plans:
        raise ValueError(f"no task can render any of the formats {config.formats}")
    return Plan(tuple(plans))


def _quotas(plan: Plan, config: GenerateConfig, scene_id: str) -> Counter[str]:
    mix = rng_for(config.seed, scene_id, MIX_KEY)
    return Counter(mix.choices(plan.names, weights=plan.weights, k=config.max_qa_per_scene))


def _round_robin(task: TaskPlan, contexts: Sequence[ViewContext], rng: random.Random) -> Iterator[tuple]:
    """(context, fact-or-reason) from every view's candidates in turn."""
    if len(contexts) == 1:
        ctx = contexts[0]
        for item in task.spec.candidates(ctx, rng):
            yield ctx, item
        return
    iterators = [(ctx, task.spec.candidates(ctx, rng)) for ctx in contexts]
    while iterators:
        alive = []
        for ctx, it in iterators:
            item = next(it, None)
            if item is not None:
                alive.append((ctx, it))
                yield ctx, item
        iterators = alive


def _draw(formats: tuple[str, ...], cumulative: tuple[float, ...], rng: random.Random) -> str | None:
    if not formats:
        return None
    if len(formats) == 1:
        return formats[0]
    u = rng.random() * cumulative[-1]
    return formats[min(bisect_right(cumulative, u), len(formats) - 1)]


def _draw_format(task: TaskPlan, rng: random.Random, slots_left: int) -> str | None:
    """A format by weight; tf (two records) only while two slots of the quota are left."""
    if slots_left < 2:
        return _draw(task.formats_no_tf, task.cumulative_no_tf, rng)
    return _draw(task.formats, task.cumulative, rng)


def _tally(tallies: dict[str, Counter[str]], record: dict[str, Any], variant: str) -> None:
    task, fmt = record["task"], record["format"]
    tallies["task_format"][f"{task}/{fmt}"] += 1
    if fmt == "mcq":
        tallies["mcq_answer_letter"][f"{task}/{record['answer_value']}"] += 1
    elif fmt == "tf":
        tallies["tf_answer"][f"{task}/{variant or '-'}/{record['answer_value']}"] += 1


def generate_scene(scene: Scene, config: GenerateConfig) -> SceneResult:
    """The QA records of one scene (see the module docstring)."""
    plan = build_plan(config)
    common = load_common()
    contexts = [ViewContext(scene, view) for view in scene.views]
    renderers = {id(ctx): Renderer(ctx, common) for ctx in contexts}
    quotas = _quotas(plan, config, scene.scene_id)
    records: list[dict[str, Any]] = []
    rejected: Counter[str] = Counter()
    # A box with NaN/inf or a non-positive side is left out of every question; counted once per scene.
    degenerate = sum(not o.box.is_well_formed for o in scene.objects)
    if degenerate:
        rejected["scene/degenerate_box"] += degenerate
    tallies: dict[str, Counter[str]] = {
        g: Counter() for g in ("task_format", "mcq_answer_letter", "tf_answer", "categorical_answer", "quota")
    }
    for task in plan.tasks:
        name = task.spec.name
        quota = quotas.get(name, 0)
        if quota == 0:
            continue
        seed = seed_for(config.seed, scene.scene_id, name)
        rng = random.Random(seed)  # = engine.seeds.rng_for(seed, scene_id, task), hashed once
        produced, attempts = 0, 0
        for ctx, item in _round_robin(task, contexts, rng):
            attempts += 1
            if isinstance(item, str):
                rejected[f"{name}/{item}"] += 1
            else:
                fmt = _draw_format(task, rng, quota - produced)
                if fmt is None:
                    break
                out = renderers[id(ctx)].render(task.spec, task.bank, item, fmt, rng, seed)
                if isinstance(out, str):
                    rejected[f"{name}/{out}"] += 1
                else:
                    _count_answer(tallies, item, out)
                    records.extend(out)
                    produced += len(out)
            if produced >= quota or attempts >= quota * config.max_attempts_per_qa:
                break
        tallies["quota"][f"{name}/asked"] += quota
        tallies["quota"][f"{name}/produced"] += produced
    return SceneResult(records, dict(rejected), {g: dict(c) for g, c in tallies.items() if c})


def _count_answer(tallies: dict[str, Counter[str]], fact: Fact, out: list[dict[str, Any]]) -> None:
    for record in out:
        _tally(tallies, record, fact.variant)
    value = getattr(fact.answer, "value", None)
    if value is not None and out[0]["format"] != "tf":
        tallies["categorical_answer"][f"{fact.task}/{fact.variant or '-'}/{value}"] += 1


def run_generate(
    scenes_path: str | Path,
    output_dir: str | Path,
    config: GenerateConfig,
    *,
    workers: int = 1,
    n_buckets: int | None = None,
    merge: bool = True,
) -> RunReport:
    """Generate QA for every scene of `scenes_path` into `output_dir` (resumable; see engine/runner.py)."""
    build_plan(config)  # fail on a bad config before any work
    kwargs: dict[str, Any] = {} if n_buckets is None else {"n_buckets": n_buckets}
    return run_sharded(
        scenes_path,
        output_dir,
        generate_scene,
        config=config,
        workers=workers,
        count_keys=COUNT_KEYS,
        merge=merge,
        fast_json=True,  # the renderer only writes finite numbers (tasks/render.py)
        **kwargs,
    )
