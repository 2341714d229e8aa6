"""The mixture's answer balance (train/mixture.py, module docstring 5): class weights mass^(1 - b) within a
task's format; format and task rates kept; numeric answers and examples without a class as generated; b = 0
identical to no balance."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from spatialforge.errors import RecordError
from spatialforge.tasks.registry import TASKS
from spatialforge.train.data import ExampleInfo
from spatialforge.train.mixture import MixtureConfig, MixtureSampler


class AnswerDataset:
    """Examples given as (task, format, class, count) rows; format None: no answer fields (a chat export)."""

    def __init__(
        self, name: str, rows: list[tuple[str, str | None, str | None, int]], *, weight: float = 1.0
    ) -> None:
        self.name = name
        self.weight = weight
        self.infos: list[ExampleInfo] = []
        for task, fmt, cls, n in rows:
            spec = TASKS[task]
            for i in range(n):
                self.infos.append(
                    ExampleInfo(
                        f"{name}-{task}-{fmt}-{cls}-{i}",
                        task,
                        spec.level,
                        spec.family,
                        "spatial",
                        None,
                        fmt,
                        cls,
                    )
                )
        self.infos = self.infos[::2] + self.infos[1::2]  # group members are not contiguous ranges

    def __len__(self) -> int:
        return len(self.infos)

    def info(self, index: int) -> ExampleInfo:
        return self.infos[index]


def exact_shares(sampler: MixtureSampler) -> dict[tuple, float]:
    """Probability of each (task, format, class) the sampler groups by (numeric and unclassed examples: class
    None), from its draw table: the sampler's own numbers."""
    out: dict[tuple, float] = {}
    for group in sampler._groups:  # noqa: SLF001 - the exact probabilities are what is tested
        key = (group.task, group.answer_format, group.answer_class)
        out[key] = out.get(key, 0.0) + group.probability
    return out


def drawn_shares(
    sampler: MixtureSampler, datasets: list[AnswerDataset], n: int = 200_000
) -> dict[tuple, float]:
    d, e = sampler.draw_many(np.arange(n))
    counts: dict[tuple, int] = {}
    for di, ei in zip(d.tolist(), e.tolist(), strict=True):
        info = datasets[di].info(ei)
        key = (info.task, info.answer_format, info.answer_class)
        counts[key] = counts.get(key, 0) + 1
    return {k: v / n for k, v in counts.items()}


# problem_solving: mcq 90 "fits" : 10 "does not fit"; tf balanced 50 : 50. closer_of_two: 100 free values.
ROWS = [
    ("problem_solving", "mcq", "option:yes, it would fit", 90),
    ("problem_solving", "mcq", "option:no, it would not fit", 10),
    ("problem_solving", "tf", "bool:True", 50),
    ("problem_solving", "tf", "bool:False", 50),
    ("closer_of_two", "free", "value:the chair", 100),
]


def test_full_balance_equalises_classes_within_a_format_and_keeps_format_and_task_rates() -> None:
    datasets = [AnswerDataset("a", ROWS)]
    sampler = MixtureSampler(datasets, MixtureConfig(answer_balance=1.0), seed=0)
    shares = exact_shares(sampler)
    # Task rates by example count (200 : 100); within problem_solving, mcq keeps 100 / 200 of its draws.
    assert shares[("problem_solving", "mcq", "option:yes, it would fit")] == pytest.approx(2 / 3 * 0.5 * 0.5)
    assert shares[("problem_solving", "mcq", "option:no, it would not fit")] == pytest.approx(
        2 / 3 * 0.5 * 0.5
    )
    assert shares[("problem_solving", "tf", "bool:True")] == pytest.approx(2 / 3 * 0.25)
    assert shares[("closer_of_two", "free", "value:the chair")] == pytest.approx(1 / 3)
    drawn = drawn_shares(sampler, datasets)
    for key, p in shares.items():  # the draws follow the table (5 binomial standard errors)
        assert abs(drawn.get(key, 0.0) - p) <= 5 * math.sqrt(p * (1 - p) / 200_000), key


def test_partial_balance_tempers_class_weights() -> None:
    """b = 0.5: weights 90^0.5 : 10^0.5 = 3 : 1 within the mcq format."""
    datasets = [AnswerDataset("a", ROWS)]
    shares = exact_shares(MixtureSampler(datasets, MixtureConfig(answer_balance=0.5), seed=0))
    mcq = 2 / 3 * 0.5
    assert shares[("problem_solving", "mcq", "option:yes, it would fit")] == pytest.approx(mcq * 0.75)
    assert shares[("problem_solving", "mcq", "option:no, it would not fit")] == pytest.approx(mcq * 0.25)


def test_zero_balance_draws_exactly_what_no_balance_draws() -> None:
    datasets = [AnswerDataset("a", ROWS), AnswerDataset("b", ROWS[:2], weight=2.0)]
    index = np.arange(50_000)
    plain = MixtureSampler(datasets, MixtureConfig(), seed=3).draw_many(index)
    zero = MixtureSampler(datasets, MixtureConfig(answer_balance=0.0), seed=3).draw_many(index)
    assert all(np.array_equal(a, b) for a, b in zip(plain, zero, strict=True))


def test_dataset_weights_count_in_class_mass_and_weight_zero_classes_are_never_drawn() -> None:
    # "a" holds the majority class only; "b" (weight 3) the minority class only; "c" (weight 0) a third class.
    datasets = [
        AnswerDataset("a", [("problem_solving", "mcq", "option:yes, it would fit", 90)]),
        AnswerDataset("b", [("problem_solving", "mcq", "option:no, it would not fit", 10)], weight=3.0),
        AnswerDataset("c", [("problem_solving", "mcq", "option:maybe", 5)], weight=0.0),
    ]
    shares = exact_shares(MixtureSampler(datasets, MixtureConfig(answer_balance=0.5), seed=0))
    # masses 90 and 30: weights sqrt(90) : sqrt(30) = sqrt(3) : 1
    assert shares[("problem_solving", "mcq", "option:yes, it would fit")] == pytest.approx(
        math.sqrt(3) / (math.sqrt(3) + 1)
    )
    assert shares.get(("problem_solving", "mcq", "option:maybe"), 0.0) == 0.0


def test_unclassed_examples_keep_their_share_as_generated() -> None:
    """A chat export of the same task has no answer class: its mass share stays; the rest is balanced."""
    datasets = [
        AnswerDataset("engine", ROWS[:2]),  # 100 classed mcq examples, 90 : 10
        AnswerDataset("chat", [("problem_solving", None, None, 100)]),
    ]
    sampler = MixtureSampler(datasets, MixtureConfig(answer_balance=1.0), seed=0)
    shares = exact_shares(sampler)
    assert shares[("problem_solving", None, None)] == pytest.approx(0.5)
    assert shares[("problem_solving", "mcq", "option:no, it would not fit")] == pytest.approx(0.25)
    report = sampler.describe()["answer_balance_by_task"]["problem_solving"]
    assert report["examples_as_generated"] == 100


def test_numeric_answers_are_drawn_as_generated() -> None:
    """Magnitude bins, counts and numeric options' letters are not balanced: they keep their shares."""
    rows = [
        ("object_depth", "free", "bin:1.78", 95),
        ("object_depth", "free", "bin:0.1", 5),
        ("object_depth", "mcq", "letter:A", 30),
        ("object_depth", "mcq", "letter:B", 10),
        ("object_depth", "tf", "bool:True", 45),
        ("object_depth", "tf", "bool:False", 15),
    ]
    datasets = [AnswerDataset("a", rows)]
    sampler = MixtureSampler(datasets, MixtureConfig(answer_balance=1.0), seed=0)
    shares = exact_shares(sampler)
    assert shares[("object_depth", "free", None)] == pytest.approx(100 / 200)
    assert shares[("object_depth", "mcq", None)] == pytest.approx(40 / 200)
    assert shares[("object_depth", "tf", "bool:False")] == pytest.approx(60 / 200 / 2)
    report = sampler.describe()["answer_balance_by_task"]["object_depth"]
    assert report["classes"] == 2
    assert report["examples_as_generated"] == 140


def test_object_options_are_one_class() -> None:
    """Over 12 distinct option texts name objects (qa/answer_classes.py): not balanced among themselves."""
    names = [f"the object {c}" for c in "abcdefghijklm"]  # 13 texts
    rows = [("closer_of_two", "mcq", f"option:{n}", 1 + 9 * (k == 0)) for k, n in enumerate(names)]
    datasets = [AnswerDataset("a", rows)]
    sampler = MixtureSampler(datasets, MixtureConfig(answer_balance=1.0), seed=0)
    assert {g.answer_class for g in sampler._groups} == {"option:*"}  # noqa: SLF001
    # Within the one class examples stay equally likely: the 10 examples of "the object a" keep 10 / 22.
    shares = exact_shares(sampler)
    assert sum(shares.values()) == pytest.approx(1.0)
    _, examples = sampler.draw_many(np.arange(100_000))
    texts = [datasets[0].info(int(e)).id.split("-")[3] for e in examples]
    assert texts.count("option:the object a") / len(texts) == pytest.approx(10 / 22, abs=0.01)


def test_report_says_how_far_the_draws_moved() -> None:
    datasets = [AnswerDataset("a", ROWS)]
    described = MixtureSampler(datasets, MixtureConfig(answer_balance=1.0), seed=0).describe()
    json.dumps(described)
    report = described["answer_balance_by_task"]["problem_solving"]
    assert report["classes"] == 4
    assert report["largest_class_share_generated"] == pytest.approx(0.45)
    assert report["largest_class_share_drawn"] == pytest.approx(0.25)
    assert report["max_oversampling"] == pytest.approx(0.25 / 0.05)
    assert described["config"]["answer_balance"] == 1.0
    assert "answer_balance_by_task" not in MixtureSampler(datasets, MixtureConfig(), seed=0).describe()


@pytest.mark.parametrize("value", [-0.1, 1.5, True, "1", float("nan")])
def test_balance_outside_zero_to_one_names_the_field(value: object) -> None:
    with pytest.raises(RecordError) as error:
        MixtureConfig.from_dict({"answer_balance": value}, source="run.json")
    assert error.value.field == "answer_balance"
    assert "run.json" in str(error.value)


def test_balance_round_trips_through_json() -> None:
    config = MixtureConfig([7, 1], "hispatial", answer_balance=0.5)
    assert MixtureConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
