"""The task-mixture sampler: configured probabilities, purity, HiSpatial level exclusion, errors."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import numpy as np
import pytest

from spatialforge.errors import RecordError
from spatialforge.tasks.registry import HISPATIAL_FAMILY_WEIGHTS, TASKS
from spatialforge.train.mixture import MixtureConfig, MixtureSampler, counter_uniforms


@dataclass(frozen=True)
class Info:
    """Stand-in with ExampleInfo's fields (the sampler reads only these)."""

    id: str
    task: str
    level: int | None
    family: str | None
    kind: str
    capture_id: str | None = None


class FakeDataset:
    """The TrainDataset protocol's metadata side: name, len, info (sample is never called by the sampler)."""

    def __init__(self, name: str, counts: dict[str, int], *, weight: float = 1.0) -> None:
        self.name = name
        self.weight = weight
        self.infos: list[Info] = []
        for task, n in counts.items():
            if task.startswith("general/"):
                info = (task, None, "general", "general")
            else:
                spec = TASKS[task]
                info = (task, spec.level, spec.family, "spatial")
            self.infos.extend(Info(f"{name}-{task}-{i}", *info) for i in range(n))
        # Interleave tasks so group members are not contiguous example ranges.
        self.infos = self.infos[::2] + self.infos[1::2]

    def __len__(self) -> int:
        return len(self.infos)

    def info(self, index: int) -> Info:
        return self.infos[index]


N_DRAWS = 200_000


def frequencies(sampler: MixtureSampler, datasets: list[FakeDataset], key: str) -> dict[str, float]:
    d, e = sampler.draw_many(np.arange(N_DRAWS))
    counts: dict[str, int] = {}
    for di, ei in zip(d.tolist(), e.tolist(), strict=True):
        value = getattr(datasets[di].info(ei), key)
        counts[str(value)] = counts.get(str(value), 0) + 1
    return {k: v / N_DRAWS for k, v in counts.items()}


def assert_close(observed: dict[str, float], expected: dict[str, float]) -> None:
    """Each frequency within 5 binomial standard errors (+ a hair) of its probability; no unexpected keys."""
    for key in set(observed) | set(expected):
        p = expected.get(key, 0.0)
        tolerance = 5 * np.sqrt(max(p * (1 - p), 1e-12) / N_DRAWS) + 1e-4
        assert abs(observed.get(key, 0.0) - p) <= tolerance, (key, observed.get(key), p)


def spatial_sets() -> list[FakeDataset]:
    return [
        FakeDataset("a", {"point_xyz": 300, "object_size": 100, "relative_direction": 50}),
        FakeDataset("b", {"object_size": 100}),
        FakeDataset("c", {"relative_distance": 40, "spatial_counting": 10, "point_depth_order": 20}),
    ]


def general_set(n: int = 30, weight: float = 1.0) -> FakeDataset:
    return FakeDataset("g", {"general/caption": n, "general/vqa": n}, weight=weight)


# -- probabilities ------------------------------------------------------------------------------------


def test_default_is_proportional_to_counts_and_dataset_weight() -> None:
    datasets = spatial_sets()
    datasets[1].weight = 3.0  # b's 100 object_size examples count as 300
    sampler = MixtureSampler(datasets, MixtureConfig(), seed=1)
    total = 300 + 100 + 50 + 300 + 40 + 10 + 20
    expected = {
        "point_xyz": 300 / total,
        "object_size": 400 / total,
        "relative_direction": 50 / total,
        "relative_distance": 40 / total,
        "spatial_counting": 10 / total,
        "point_depth_order": 20 / total,
    }
    described = sampler.describe()
    for task, p in expected.items():
        assert described["tasks"][task]["probability"] == pytest.approx(p)
    assert_close(frequencies(sampler, datasets, "task"), expected)
    # Within object_size, dataset b (weight 3) gets 3/4 of the draws, a 1/4.
    d, e = sampler.draw_many(np.arange(N_DRAWS))
    size_draws = [di for di, ei in zip(d, e, strict=True) if datasets[di].info(ei).task == "object_size"]
    assert np.mean(np.array(size_draws) == 1) == pytest.approx(0.75, abs=0.01)
    assert described["kinds"] == {"spatial": pytest.approx(1.0), "general": 0.0}


def test_examples_within_a_group_are_uniform() -> None:
    dataset = FakeDataset("a", {"object_size": 8})
    sampler = MixtureSampler([dataset], MixtureConfig(), seed=3)
    _, e = sampler.draw_many(np.arange(80_000))
    counts = np.bincount(e, minlength=8)
    expected = 80_000 / 8
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 24.3  # chi-square, 7 degrees of freedom, p = 0.001


def test_hispatial_weights_renormalise_over_present_families() -> None:
    datasets = spatial_sets()
    sampler = MixtureSampler(datasets, MixtureConfig(task_weights="hispatial"), seed=2)
    present = {
        "point_query": ["point_xyz"],
        "size": ["object_size"],
        "relative_direction": ["relative_direction"],
        "relative_distance": ["relative_distance"],
        "counting": ["spatial_counting"],
        "depth_order": ["point_depth_order"],
    }
    total = sum(HISPATIAL_FAMILY_WEIGHTS[f] for f in present)
    expected = {tasks[0]: HISPATIAL_FAMILY_WEIGHTS[f] / total for f, tasks in present.items()}
    described = sampler.describe()
    assert {t: v["probability"] for t, v in described["tasks"].items()} == pytest.approx(expected)
    assert "orientation" in described["absent_families"] and "size" not in described["absent_families"]
    assert_close(frequencies(sampler, datasets, "task"), expected)


def test_hispatial_family_weight_is_shared_by_its_tasks() -> None:
    # relative_direction family: two of its tasks present, each gets half the family's weight.
    data = [FakeDataset("a", {"relative_direction": 10, "relative_direction_vector": 1000, "object_size": 5})]
    described = MixtureSampler(data, MixtureConfig(task_weights="hispatial"), seed=0).describe()
    rd, size = HISPATIAL_FAMILY_WEIGHTS["relative_direction"], HISPATIAL_FAMILY_WEIGHTS["size"]
    assert described["tasks"]["relative_direction"]["probability"] == pytest.approx(rd / 2 / (rd + size))
    assert described["tasks"]["relative_direction_vector"]["probability"] == pytest.approx(
        rd / 2 / (rd + size)
    )


def test_dict_weights_name_tasks_and_families_and_zero_the_rest() -> None:
    datasets = spatial_sets()
    config = MixtureConfig(task_weights={"point_xyz": 2, "family:size": 1, "relative_distance": 1})
    sampler = MixtureSampler(datasets, config, seed=4)
    expected = {"point_xyz": 0.5, "object_size": 0.25, "relative_distance": 0.25}
    assert_close(frequencies(sampler, datasets, "task"), expected)
    described = sampler.describe()
    assert described["zero_weight_tasks"] == ["point_depth_order", "relative_direction", "spatial_counting"]


def test_ambiguous_and_unknown_names_are_refused() -> None:
    datasets = spatial_sets()
    with pytest.raises(RecordError, match="both a task and a family") as error:
        MixtureSampler(datasets, MixtureConfig(task_weights={"relative_direction": 1}), seed=0)
    assert error.value.field == "task_weights.relative_direction"
    with pytest.raises(RecordError, match="neither a registered task") as error:
        MixtureSampler(datasets, MixtureConfig(task_weights={"point_xzy": 1}), seed=0)
    assert error.value.field == "task_weights.point_xzy"
    with pytest.raises(RecordError, match="unknown task"):
        MixtureSampler(datasets, MixtureConfig(task_weights={"task:nope": 1}), seed=0)
    with pytest.raises(RecordError, match="general data"):
        MixtureSampler(datasets, MixtureConfig(task_weights={"general/vqa": 1}), seed=0)
    # Explicit prefixes resolve the ambiguity.
    sampler = MixtureSampler(datasets, MixtureConfig(task_weights={"task:relative_direction": 1}), seed=0)
    assert sampler.describe()["tasks"]["relative_direction"]["probability"] == pytest.approx(1.0)


def test_spatial_general_ratio_splits_kinds() -> None:
    datasets = [*spatial_sets(), general_set()]
    sampler = MixtureSampler(datasets, MixtureConfig(spatial_general_ratio=[7, 1]), seed=5)
    assert_close(frequencies(sampler, datasets, "kind"), {"spatial": 7 / 8, "general": 1 / 8})
    described = sampler.describe()
    assert described["kinds"]["general"] == pytest.approx(1 / 8)
    assert described["sources"][3]["probability"] == pytest.approx(1 / 8)
    # Without a ratio general sources are not drawn (and describe says so).
    plain = MixtureSampler(datasets, MixtureConfig(), seed=5)
    assert plain.describe()["general_unused"] is True
    d, _ = plain.draw_many(np.arange(20_000))
    assert not np.any(d == 3)


def test_exclude_levels_backfills_with_general_and_keeps_absolute_rates() -> None:
    datasets = [*spatial_sets(), general_set()]
    for task_weights in (None, "hispatial"):
        base = MixtureSampler(datasets, MixtureConfig([7, 1], task_weights), seed=6).describe()
        config = MixtureConfig([7, 1], task_weights, exclude_levels=[0])
        sampler = MixtureSampler(datasets, config, seed=6)
        excluded = sampler.describe()
        level0 = {t for t, v in base["tasks"].items() if v["levels"] == [0]}
        assert level0 == {"point_xyz", "point_depth_order"}
        moved = sum(base["tasks"][t]["probability"] for t in level0)
        assert moved > 0.1
        for task, entry in base["tasks"].items():
            if entry["kind"] == "spatial" and task not in level0:
                assert excluded["tasks"][task]["probability"] == pytest.approx(
                    entry["probability"], abs=1e-15
                )
            elif task in level0:
                assert excluded["tasks"][task]["probability"] == 0.0
        assert excluded["kinds"]["general"] == pytest.approx(1 / 8 + moved)
        assert excluded["backfilled_general"] == pytest.approx(moved)
        # Empirically too: each remaining task is drawn at its rate without the exclusion, level 0 never.
        expected = {
            t: v["probability"]
            for t, v in base["tasks"].items()
            if v["kind"] == "spatial" and t not in level0
        }
        expected["general"] = excluded["kinds"]["general"]
        observed = frequencies(sampler, datasets, "task")
        observed["general"] = observed.pop("general/caption", 0.0) + observed.pop("general/vqa", 0.0)
        assert_close(observed, expected)


def test_exclude_levels_without_general_data_names_the_field() -> None:
    with pytest.raises(RecordError, match="no general source") as error:
        MixtureSampler(spatial_sets(), MixtureConfig(exclude_levels=[0]), seed=0)
    assert error.value.field == "exclude_levels"
    with pytest.raises(RecordError) as error:
        MixtureSampler(spatial_sets(), MixtureConfig(spatial_general_ratio=[7, 1]), seed=0)
    assert error.value.field == "spatial_general_ratio"


def test_exclude_levels_without_ratio_uses_general_sources_for_the_backfill() -> None:
    datasets = [*spatial_sets(), general_set()]
    described = MixtureSampler(datasets, MixtureConfig(exclude_levels=[0]), seed=0).describe()
    total = 300 + 100 + 50 + 100 + 40 + 10 + 20
    assert described["kinds"]["general"] == pytest.approx((300 + 20) / total)


# -- purity -------------------------------------------------------------------------------------------


def test_draw_is_a_pure_function_of_seed_and_index() -> None:
    datasets = [*spatial_sets(), general_set()]
    config = MixtureConfig([7, 1], "hispatial")
    first = MixtureSampler(datasets, config, seed=11)
    again = MixtureSampler(datasets, config, seed=11)
    other = MixtureSampler(datasets, config, seed=12)
    indices = np.array([0, 1, 2, 10**6, 2**40 + 3, 17])
    a = first.draw_many(indices)
    assert np.array_equal(a[0], again.draw_many(indices)[0]) and np.array_equal(
        a[1], again.draw_many(indices)[1]
    )
    # Order and batching do not matter: one index alone gives what it gave inside a batch.
    for position, index in enumerate(indices.tolist()):
        assert first.draw(index) == (int(a[0][position]), int(a[1][position]))
    reversed_draw = first.draw_many(indices[::-1])
    assert np.array_equal(reversed_draw[1][::-1], a[1])
    many = first.draw_many(np.arange(1000))
    different = other.draw_many(np.arange(1000))
    assert np.mean((many[0] == different[0]) & (many[1] == different[1])) < 0.2


def test_counter_uniforms_are_uniform_and_seed_dependent() -> None:
    u = counter_uniforms(0, np.arange(100_000, dtype=np.uint64))
    assert 0.0 <= u.min() and u.max() < 1.0
    counts = np.histogram(u, bins=20, range=(0, 1))[0]
    chi2 = float(((counts - 5000) ** 2 / 5000).sum())
    assert chi2 < 43.8  # 19 degrees of freedom, p = 0.001
    assert not np.array_equal(u[:10], counter_uniforms(1, np.arange(10, dtype=np.uint64)))
    # Pinned: SplitMix64 (Vigna) outputs 1 and 2 of the stream seeded with mix64(42), from a pure-Python
    # reference; a resumed run depends on this stream never changing.
    assert counter_uniforms(42, np.array([0, 1], dtype=np.uint64)).tolist() == [
        0.5961188718302076,
        0.1603653875985772,
    ]


def test_draw_many_is_fast() -> None:
    datasets = [FakeDataset("big", {"object_size": 20_000, "point_xyz": 20_000}), general_set()]
    sampler = MixtureSampler(datasets, MixtureConfig([7, 1]), seed=0)
    start = time.perf_counter()
    sampler.draw_many(np.arange(1_000_000))
    assert time.perf_counter() - start < 2.0


# -- errors -------------------------------------------------------------------------------------------


def test_empty_and_badly_weighted_datasets_are_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        MixtureSampler([FakeDataset("a", {"object_size": 3}), FakeDataset("e", {})], MixtureConfig(), seed=0)
    with pytest.raises(ValueError, match="no datasets"):
        MixtureSampler([], MixtureConfig(), seed=0)
    with pytest.raises(RecordError, match="weight") as error:
        MixtureSampler([FakeDataset("a", {"object_size": 3}, weight=-1)], MixtureConfig(), seed=0)
    assert error.value.field == "weight" and "source a" in str(error.value)
    with pytest.raises(RecordError):
        MixtureSampler(
            [FakeDataset("a", {"object_size": 3})], MixtureConfig(), seed=0, weights=[float("nan")]
        )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"spatial_general_ratio": [7, -1]}, "spatial_general_ratio"),
        ({"spatial_general_ratio": [7]}, "spatial_general_ratio"),
        ({"spatial_general_ratio": [0, 0]}, "spatial_general_ratio"),
        ({"task_weights": {"object_size": -2}}, "task_weights.object_size"),
        ({"task_weights": "hispatail"}, "task_weights"),
        ({"task_weights": {}}, "task_weights"),
        ({"exclude_levels": [4]}, "exclude_levels"),
        ({"exclude_levels": "0"}, "exclude_levels"),
        ({"exclude_level": [0]}, "exclude_level"),
    ],
)
def test_config_errors_name_the_field(data: dict, field: str) -> None:
    with pytest.raises(RecordError) as error:
        MixtureConfig.from_dict(data, source="run.json")
    assert error.value.field == field
    assert "run.json" in str(error.value)


def test_config_round_trips_through_json() -> None:
    config = MixtureConfig([7, 1], {"point_xyz": 2.0, "family:size": 1.5}, exclude_levels=[3, 0])
    data = json.loads(json.dumps(config.to_dict()))
    assert MixtureConfig.from_dict(data) == config
    assert config.exclude_levels == [0, 3]
    assert MixtureConfig.from_dict(None) == MixtureConfig()


def test_zero_weight_for_every_present_task_is_an_error() -> None:
    with pytest.raises(RecordError, match="zero weight") as error:
        MixtureSampler(spatial_sets(), MixtureConfig(task_weights={"family:orientation": 1}), seed=0)
    assert error.value.field == "task_weights"


def test_describe_is_json_ready_and_sums_to_one() -> None:
    datasets = [*spatial_sets(), general_set()]
    described = MixtureSampler(datasets, MixtureConfig([7, 1], "hispatial", [3]), seed=0).describe()
    json.dumps(described)
    assert sum(described["kinds"].values()) == pytest.approx(1.0)
    assert sum(s["probability"] for s in described["sources"]) == pytest.approx(1.0)
    assert sum(described["levels"].values()) == pytest.approx(1.0)
    assert sum(described["families"].values()) == pytest.approx(1.0)
    assert described["sampling"].startswith("i.i.d. with replacement")
