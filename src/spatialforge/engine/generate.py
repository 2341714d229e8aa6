"""`spatialforge generate`: scenes JSONL in, QA JSONL out, on the sharded runner (engine/runner.py).

Per scene (generate_scene):
1. The per-scene cap is split into task quotas: `max_qa_per_scene` draws from the task weights (default:
   HiSpatial Table 7 by family, tasks/registry.py) with the scene's own "__mix__" rng. A task that cannot
   fill its quota on a scene (too few objects, no fronts) leaves it unfilled; the report shows the
   shortfall per task, so the realised mix is never a surprise.
2. Each task runs with its own rng, rng_for(seed, scene_id, task): it enumerates candidate facts over the
   scene's views (round robin), rejected candidates are counted by "<task>/<reason>", and each fact is
   rendered in a format drawn from the format weights (the format profile's: HiSpatial's released loader mix
   free 0.3, mcq 0.4, tf 0.3 by default; SPAR's released index with --format-profile spar) restricted to the
   formats the task declares and the run allows. A tf fact gives its two polarities (2 records); when only
   one slot of the quota is left, tf is not drawn.
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

from spatialforge.engine.backends import Backend
from spatialforge.engine.runner import RunReport, SceneResult, run_sharded
from spatialforge.engine.seeds import scene_seeds
from spatialforge.export.datasheet import write_datasheet
from spatialforge.qa.records import FORMATS
from spatialforge.qa.references import MARKER_COLOURS, SPAR_MARKER_COLOURS
from spatialforge.scene.records import Scene
from spatialforge.tasks.banks import TemplateBank, bank_of, load_common
from spatialforge.tasks.context import VIEW_REQUIREMENTS, ViewContext
from spatialforge.tasks.multiview import ViewSetContext, pair_sets, sequence_sets
from spatialforge.tasks.registry import DEFAULT_FAMILY_WEIGHTS, TASKS, get_task, task_weights
from spatialforge.tasks.render import Renderer
from spatialforge.tasks.spec import Category, Fact, TaskSpec

# HiSpatial's released data loader mixes formats text 0.3 / mcq 0.4 / tf 0.3 (SPEC section 3).
HISPATIAL_FORMAT_WEIGHTS = (("free", 0.3), ("mcq", 0.4), ("tf", 0.3))
# SPAR's released data index: sentence 1.0, select / fill / judge 0.1 each (SPEC section 3); select is our
# mcq and judge our tf.
SPAR_FORMAT_WEIGHTS = (("sentence", 1.0), ("fill", 0.1), ("mcq", 0.1), ("tf", 0.1))
DEFAULT_MAX_QA_PER_SCENE = 48
DEFAULT_MAX_ATTEMPTS_PER_QA = 8
GENERATE_FORMATS = FORMATS
MIX_KEY = "__mix__"
VIEW_SETS_KEY = "__view_sets__"  # the rng that draws a scene's view pairs (tasks/multiview.py)


@dataclass(frozen=True)
class FormatProfile:
    """How a family of datasets mixes and lays out formats.

    weights: the format mix; mcq_layout: tasks.render.MCQ_LAYOUTS ("lines": one option per line with drawn
    label styles; "inline": SPAR's one-line "A. x; B. y" with a bare-letter answer); tf_families: the task
    families that may be asked true/false (None: every task that declares tf); always_mark: name every
    object by a box marker (SPAR's questions always do), not only when no unique text reference exists;
    marker_colours: the order marker colours are handed out in (SPAR's red, blue, green, yellow for the spar
    profile, so exported records carry the marker keys SPAR's loader draws, export/spar.py).
    """

    weights: tuple[tuple[str, float], ...]
    mcq_layout: str
    tf_families: tuple[str, ...] | None = None
    always_mark: bool = False
    marker_colours: tuple[str, ...] = MARKER_COLOURS


FORMAT_PROFILES: dict[str, FormatProfile] = {
    "hispatial": FormatProfile(HISPATIAL_FORMAT_WEIGHTS, "lines"),
    # SPAR's released judge items are object relations only (SPEC section 3).
    "spar": FormatProfile(
        SPAR_FORMAT_WEIGHTS,
        "inline",
        ("relative_direction",),
        always_mark=True,
        marker_colours=SPAR_MARKER_COLOURS,
    ),
}
DEFAULT_FORMAT_PROFILE = "hispatial"

# Report counts per record field (runner count_keys).
COUNT_KEYS = ("task", "level", "format", "source", "license")


@dataclass(frozen=True)
class GenerateConfig:
    """Everything that decides the generated data (saved as config.json beside it).

    tasks: registered task names, () for all; formats: allowed formats. format_profile: a FORMAT_PROFILES
    name (mix, mcq layout, which tasks may be asked true/false); format_weights: None for the profile's
    mix, else the weights to use (resolved into the config, so config.json states the mix in effect).
    family_weights: HiSpatial Table 7 by default; task_weights: per-task raw weights overriding the family
    split. max_qa_per_scene: the per-scene cap (tf pairs count as two).
    """

    seed: int = 0
    tasks: tuple[str, ...] = ()
    formats: tuple[str, ...] = GENERATE_FORMATS
    format_profile: str = DEFAULT_FORMAT_PROFILE
    format_weights: tuple[tuple[str, float], ...] | None = None
    family_weights: tuple[tuple[str, float], ...] = tuple(DEFAULT_FAMILY_WEIGHTS.items())
    task_weights: tuple[tuple[str, float], ...] = ()
    max_qa_per_scene: int = DEFAULT_MAX_QA_PER_SCENE
    max_attempts_per_qa: int = DEFAULT_MAX_ATTEMPTS_PER_QA

    def __post_init__(self) -> None:
        for name in self.tasks:
            get_task(name)
        if self.format_profile not in FORMAT_PROFILES:
            raise ValueError(
                f"format_profile must be one of {sorted(FORMAT_PROFILES)}, got {self.format_profile!r}"
            )
        if self.format_weights is None:  # frozen: resolve the profile's mix into the saved config
            object.__setattr__(self, "format_weights", FORMAT_PROFILES[self.format_profile].weights)
        else:
            object.__setattr__(self, "format_weights", tuple((f, float(w)) for f, w in self.format_weights))
        unknown = [f for f, _ in self.format_weights if f not in GENERATE_FORMATS]
        if unknown:
            raise ValueError(f"format_weights name unknown formats {unknown}; known: {GENERATE_FORMATS}")
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
    def view_requirements(self) -> tuple[str, ...]:
        """The task's requirements that a view as a whole may fail (no depth, no gravity, one view)."""
        return tuple(r for r in self.spec.requires if r in VIEW_REQUIREMENTS)

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
    mcq_layout: str = "lines"
    always_mark: bool = False
    marker_colours: tuple[str, ...] = MARKER_COLOURS

    @cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(p.spec.name for p in self.tasks)

    @cached_property
    def weights(self) -> tuple[float, ...]:
        return tuple(p.weight for p in self.tasks)

    @cached_property
    def single_view_mix(self) -> tuple[tuple[str, ...], tuple[float, ...]]:
        """(names, weights) of the tasks a one-view scene can serve: the multi-view tasks leave a one-view
        scene's mix, instead of taking quota they can never fill (random.choices scales the weights)."""
        kept = [p for p in self.tasks if "multi_view" not in p.spec.requires]
        return tuple(p.spec.name for p in kept), tuple(p.weight for p in kept)


@cache
def build_plan(config: GenerateConfig) -> Plan:
    """Resolve a config into per-task weights, formats and banks (cached: one per process and config)."""
    names = list(config.tasks) or list(TASKS)
    weights = task_weights(names, dict(config.family_weights), dict(config.task_weights))
    fmt_weight = dict(config.format_weights or ())
    profile = FORMAT_PROFILES[config.format_profile]
    plans = []
    for name in names:
        spec = get_task(name)
        formats = tuple(
            f
            for f in spec.formats
            if f in config.formats
            and fmt_weight.get(f, 0.0) > 0
            and (f != "tf" or profile.tf_families is None or spec.family in profile.tf_families)
        )
        if not formats or weights[name] <= 0:
            continue
        bank = bank_of(spec)
        plans.append(TaskPlan(spec, bank, weights[name], formats, tuple(fmt_weight[f] for f in formats)))
    if not plans:
        weighted = [f for f, w in fmt_weight.items() if w > 0]
        raise ValueError(
            f"no task can render any of the formats {config.formats} with a weight above 0 in the mix "
            f"{weighted} (format profile {config.format_profile!r}; set format weights for the others)"
        )
    return Plan(tuple(plans), profile.mcq_layout, profile.always_mark, profile.marker_colours)


def _quotas(plan: Plan, config: GenerateConfig, mix_seed: int, multi_view: bool) -> Counter[str]:
    """Task -> QA slots of one scene: max_qa_per_scene draws by task weight with the scene's "__mix__" rng,
    over every task for a scene of several views and over the single-view tasks otherwise."""
    mix = random.Random(mix_seed)  # = rng_for(config.seed, scene_id, MIX_KEY)
    names, weights = (plan.names, plan.weights) if multi_view else plan.single_view_mix
    if not names:
        return Counter()
    return Counter(mix.choices(names, weights=weights, k=config.max_qa_per_scene))


def _round_robin(task: TaskPlan, contexts: Sequence[Any], rng: random.Random) -> Iterator[tuple]:
    """(context, candidate) pairs alternating over the scene's views (or view sets) until all are
    exhausted."""
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


# Formats whose answer_value is the value itself (mcq holds a letter, tf a bool).
NUMERIC_ANSWER_FORMATS = frozenset({"free", "fill", "sentence"})
# Numeric answers are counted in quarter-decade bins of their magnitude (1, 1.78, 3.16, 5.62, 10, ...): fine
# enough to see a distribution's shape and range in the datasheet, coarse enough to stay a few hundred keys.
BINS_PER_DECADE = 4


def magnitude_bin(value: float) -> str:
    """The bin of a number named by its lower edge ("0", "1", "1.78", "-0.562", ...; 3 significant digits)."""
    if value == 0:
        return "0"
    k = math.floor(math.log10(abs(value)) * BINS_PER_DECADE + 1e-9)
    edge = 10 ** (k / BINS_PER_DECADE)
    return f"{'-' if value < 0 else ''}{edge:.3g}"


class _Tallies:
    """The balance counts of one scene, keyed by tuples while generating and spelled "a/b/c" at the end
    (formatting a key per record would cost more than counting)."""

    def __init__(self) -> None:
        self.task_format: Counter[tuple[str, str]] = Counter()
        self.mcq_answer_letter: Counter[tuple[str, str]] = Counter()
        self.tf_answer: Counter[tuple[str, str, bool]] = Counter()
        self.categorical_answer: Counter[tuple[str, str, str]] = Counter()
        self.quota: Counter[tuple[str, str]] = Counter()
        self.numeric_answer: Counter[tuple[str, str, str]] = Counter()

    def count(self, task: str, fact: Fact, fmt: str, records: Sequence[dict[str, Any]]) -> None:
        self.task_format[(task, fmt)] += len(records)
        if fmt == "mcq":
            self.mcq_answer_letter[(task, records[0]["answer_value"])] += 1
        elif fmt == "tf":
            for record in records:
                self.tf_answer[(task, fact.variant or "-", record["answer_value"])] += 1
        if fmt != "tf" and isinstance(fact.answer, Category):
            self.categorical_answer[(task, fact.variant or "-", fact.answer.value)] += 1
        elif fmt in NUMERIC_ANSWER_FORMATS:
            value = records[0]["answer_value"]
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.numeric_answer[(task, records[0]["unit"] or "-", magnitude_bin(value))] += 1

    def as_dict(self) -> dict[str, dict[str, int]]:
        groups = {
            "task_format": self.task_format,
            "mcq_answer_letter": self.mcq_answer_letter,
            "tf_answer": self.tf_answer,
            "categorical_answer": self.categorical_answer,
            "quota": self.quota,
            "numeric_answer": self.numeric_answer,
        }
        return {
            group: {"/".join(map(str, key)): n for key, n in counter.items()}
            for group, counter in groups.items()
            if counter
        }


_last_plan: tuple[GenerateConfig, Plan] | None = None


def _plan_for(config: GenerateConfig) -> Plan:
    """build_plan, without hashing the config again when the same object comes back (every scene of a run)."""
    global _last_plan
    if _last_plan is None or _last_plan[0] is not config:
        _last_plan = (config, build_plan(config))
    return _last_plan[1]


class _SceneViews:
    """A scene's per-view contexts, its view sets (built on first use, once per scope) and one Renderer per
    tuple of images a question shows."""

    def __init__(self, scene: Scene, plan: Plan, view_set_seed: int) -> None:
        self.scene = scene
        self.plan = plan
        self.contexts = [ViewContext(scene, view) for view in scene.views]
        self._by_id = {ctx.view.view_id: ctx for ctx in self.contexts}
        self._view_set_seed = view_set_seed
        self._sets: dict[str, list[ViewSetContext]] = {}
        self._renderers: dict[tuple[str, ...], Renderer] = {}
        self._common = load_common()

    def for_scope(self, scope: str) -> Sequence[Any]:
        """The contexts a task of this scope runs over (spec.SCOPES)."""
        if scope == "view":
            return self.contexts
        found = self._sets.get(scope)
        if found is None:
            if scope == "pair":
                found = pair_sets(self.scene, self.contexts, random.Random(self._view_set_seed))
            else:
                found = sequence_sets(self.scene, self.contexts)
            self._sets[scope] = found
        return found

    def renderer(self, ctx: Any, fact: Fact) -> Renderer:
        """The renderer of the images `fact` shows: its view_ids, else the single view of its context."""
        view_ids = fact.view_ids or (ctx.view.view_id,)
        found = self._renderers.get(view_ids)
        if found is None:
            plan = self.plan
            images = [self._by_id[v] for v in view_ids]
            found = Renderer(images, self._common, plan.mcq_layout, plan.always_mark, plan.marker_colours)
            self._renderers[view_ids] = found
        return found


def generate_scene(scene: Scene, config: GenerateConfig) -> SceneResult:
    """The QA records of one scene (see the module docstring)."""
    plan = _plan_for(config)
    mix_seed, view_set_seed = scene_seeds(config.seed, scene.scene_id, (MIX_KEY, VIEW_SETS_KEY))
    views = _SceneViews(scene, plan, view_set_seed)
    quotas = _quotas(plan, config, mix_seed, multi_view=len(scene.views) >= 2)
    # Seeds only for the tasks this scene asks for (a one-view scene never runs the multi-view tasks); each
    # seed depends on its own key alone, so skipping the others changes none.
    asked = [task for task in plan.tasks if quotas.get(task.spec.name, 0)]
    task_seeds = scene_seeds(config.seed, scene.scene_id, [task.spec.name for task in asked])
    records: list[dict[str, Any]] = []
    rejected: Counter[str] = Counter()
    # A box with NaN/inf or a non-positive side is left out of every question; counted once per scene.
    degenerate = sum(not o.box.is_well_formed for o in scene.objects)
    if degenerate:
        rejected["scene/degenerate_box"] += degenerate
    tallies = _Tallies()
    for task, seed in zip(asked, task_seeds, strict=True):
        name = task.spec.name
        quota = quotas[name]
        rng = random.Random(seed)  # = engine.seeds.rng_for(config.seed, scene_id, task)
        produced, attempts = 0, 0
        usable = views.for_scope(task.spec.scope)
        if task.view_requirements and task.spec.scope == "view":
            usable = []
            for ctx in views.contexts:
                unmet = ctx.unmet_requirement(task.view_requirements)
                if unmet is None:
                    usable.append(ctx)
                else:  # counted once per view: the view cannot serve the task at all
                    rejected[f"{name}/{unmet}"] += 1
        elif task.view_requirements:
            # A view set serves when its main view does (depth, gravity and scale are the scene's or the main
            # image's); a scene without view sets (no two views share an object) is counted once.
            usable = [vs for vs in usable if vs.views[0].unmet_requirement(task.view_requirements) is None]
            if not usable:
                rejected[f"{name}/no_view_set"] += 1
        for ctx, item in _round_robin(task, usable, rng):
            attempts += 1
            if isinstance(item, str):
                rejected[f"{name}/{item}"] += 1
            else:
                fmt = _draw_format(task, rng, quota - produced)
                if fmt is None:
                    break
                out = views.renderer(ctx, item).render(task.spec, task.bank, item, fmt, rng, seed)
                if isinstance(out, str):
                    rejected[f"{name}/{out}"] += 1
                else:
                    tallies.count(name, item, fmt, out)
                    records.extend(out)
                    produced += len(out)
            if produced >= quota or attempts >= quota * config.max_attempts_per_qa:
                break
        tallies.quota[(name, "asked")] += quota
        tallies.quota[(name, "produced")] += produced
    return SceneResult(records, dict(rejected), tallies.as_dict())


def run_generate(
    scenes_path: str | Path,
    output_dir: str | Path,
    config: GenerateConfig,
    *,
    workers: int = 1,
    n_buckets: int | None = None,
    merge: bool = True,
    backend: Backend | None = None,
) -> RunReport:
    """Generate QA for every scene of `scenes_path` into `output_dir` (resumable; see engine/runner.py).
    backend: local process pool (default, `workers`) or Ray Data (engine/backends.py); same records."""
    build_plan(config)  # fail on a bad config before any work
    kwargs: dict[str, Any] = {} if n_buckets is None else {"n_buckets": n_buckets}
    report = run_sharded(
        scenes_path,
        output_dir,
        generate_scene,
        config=config,
        workers=workers,
        count_keys=COUNT_KEYS,
        merge=merge,
        fast_json=True,  # the renderer only writes finite numbers (tasks/render.py)
        backend=backend,
        **kwargs,
    )
    write_datasheet(output_dir)
    return report
