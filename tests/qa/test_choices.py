from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spatialforge.bench.metrics import mean_relative_accuracy, qspatial_success, spatialrgpt_success
from spatialforge.bench.parsers.choice import parse_choice
from spatialforge.geometry.relations import Truth
from spatialforge.qa.choices import (
    LABEL_STYLES,
    NO_DISTINCT_DISTRACTORS,
    TF_STYLES,
    TOO_FEW_VALUES,
    ChoiceRefusal,
    RatioBand,
    canonical_letter,
    categorical_options,
    count_distractors,
    count_options,
    draw_label_style,
    numeric_distractors,
    numeric_options,
    render_option_block,
    tf_pair,
    tf_pair_for,
)
from spatialforge.qa.records import Choice
from spatialforge.qa.units import format_length

DIRECTIONS = ("left", "right", "front", "behind", "above", "below")


def within_10_percent(pred: float, gold: float) -> bool:
    """MRA-based tolerance: relative error <= ~10 % passes 9 of the 10 thresholds (0.50 .. 0.90)."""
    return mean_relative_accuracy(pred, gold) >= 0.9


METRICS = {"spatialrgpt": spatialrgpt_success, "mra10": within_10_percent}

# chi-square critical value, 3 degrees of freedom, p = 0.001 (tables: 16.27); k = 4 positions.
CHI2_3DOF_P001 = 16.27


def chi_square_uniform(counts: Counter, k: int, n: int) -> float:
    expected = n / k
    return sum((counts[i] - expected) ** 2 / expected for i in range(k))


# ---------------------------------------------------------------- labels


def test_label_styles_hand_checked() -> None:
    shown = {s.name: [s.shown(i) for i in range(3)] for s in LABEL_STYLES}
    assert shown == {
        "upper_dot": ["A.", "B.", "C."],
        "upper_paren": ["(A)", "(B)", "(C)"],
        "upper_close": ["A)", "B)", "C)"],
        "lower_paren": ["(a)", "(b)", "(c)"],
        "number_dot": ["1.", "2.", "3."],
    }


def test_option_block_hand_checked() -> None:
    choices = (Choice("A", "left"), Choice("B", "right"))
    style = {s.name: s for s in LABEL_STYLES}
    assert render_option_block(choices, style["lower_paren"]) == "(a) left\n(b) right"
    assert render_option_block(choices, style["number_dot"], " ") == "1. left 2. right"
    with pytest.raises(ValueError):
        render_option_block((Choice("B", "left"),), style["upper_dot"])


def test_canonical_letter_bounds() -> None:
    assert canonical_letter(0) == "A" and canonical_letter(25) == "Z"
    with pytest.raises(ValueError):
        canonical_letter(26)


def test_label_style_draw_covers_all_styles() -> None:
    rng = random.Random(0)
    assert {draw_label_style(rng).name for _ in range(200)} == {s.name for s in LABEL_STYLES}


@pytest.mark.parametrize("style", LABEL_STYLES, ids=lambda s: s.name)
def test_round_trip_through_parse_choice(style) -> None:
    """The model sees the option block; its reply "The answer is X" reads back as the canonical letter."""
    rng = random.Random(1)
    for _ in range(30):
        options = categorical_options("left", DIRECTIONS, 4, rng)
        block = render_option_block(options.choices, style)
        opts = options.parser_options()
        assert style.shown(options.answer_index) + " left" in block.splitlines()
        if style.alphabet != "number":  # parse_choice reads letters (either case), not digits
            shown = style.shown(options.answer_index)
            for reply in (f"The answer is {shown}", f"{block}\nThe answer is {shown}"):
                parsed = parse_choice(reply, opts)
                assert (parsed.value, parsed.status) == (options.answer_value, "ok"), reply
        parsed = parse_choice(f"The answer is {options.answer_text}.", opts)  # every style: the option text
        assert (parsed.value, parsed.status) == (options.answer_value, "ok")


# ---------------------------------------------------------------- categorical


def test_categorical_hand_checked() -> None:
    options = categorical_options("left", ["right", "left", "right"], 2, random.Random(3))
    assert sorted(options.values) == ["left", "right"]
    assert options.answer_text == "left" and options.values[options.answer_index] == "left"
    assert [c.label for c in options.choices] == ["A", "B"]


def test_categorical_too_few_values_refused() -> None:
    with pytest.raises(ChoiceRefusal) as e:
        categorical_options("left", ["right", "left"], 3, random.Random(0))
    assert e.value.reason == TOO_FEW_VALUES


def test_categorical_answer_position_uniform() -> None:
    rng, n, k = random.Random(7), 4000, 4
    counts = Counter(categorical_options("left", DIRECTIONS, k, rng).answer_index for _ in range(n))
    assert chi_square_uniform(counts, k, n) < CHI2_3DOF_P001


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(2, 6))
def test_categorical_properties(seed: int, k: int) -> None:
    options = categorical_options("above", DIRECTIONS, k, random.Random(seed))
    texts = [c.text for c in options.choices]
    assert len(set(texts)) == k and set(texts) <= set(DIRECTIONS)
    assert options.answer_text == "above" and texts.count("above") == 1


def test_same_seed_same_options() -> None:
    a = numeric_options(1.7, 4, spatialrgpt_success, "m", random.Random(5))
    b = numeric_options(1.7, 4, spatialrgpt_success, "m", random.Random(5))
    assert a == b


# ---------------------------------------------------------------- numeric


def test_numeric_hand_checked() -> None:
    options = numeric_options(2.0, 4, spatialrgpt_success, "m", random.Random(11))
    assert options.answer_text == "2.00 meters" and options.values[options.answer_index] == 2.0
    assert all(c.text.endswith(" meters") for c in options.choices)
    ladder = sorted(options.values)
    for small, large in zip(ladder, ladder[1:], strict=False):
        # neighbours differ by a band ratio: 1 / [0.4, 0.75] and [1.33, 2.5], 2 % slack for the rounding
        assert 1.33 / 1.02 <= large / small <= 2.5 * 1.02


def test_numeric_infeasible_tolerance_refused() -> None:
    # A factor-3 band accepts every ratio the bands can produce: no distractor can be told from the truth.
    def within_factor_3(pred: float, gold: float) -> bool:
        return qspatial_success(pred, gold, delta=3.0)

    with pytest.raises(ChoiceRefusal) as e:
        numeric_distractors(1.0, 3, within_factor_3, "m", random.Random(0))
    assert e.value.reason == NO_DISTINCT_DISTRACTORS


def test_numeric_rejects_non_positive_truth() -> None:
    with pytest.raises(ValueError):
        numeric_distractors(0.0, 3, spatialrgpt_success, "m", random.Random(0))


def test_numeric_answer_position_and_rank_uniform() -> None:
    rng, n, k = random.Random(13), 2000, 4
    positions, ranks = Counter(), Counter()
    for _ in range(n):
        options = numeric_options(1.3, k, spatialrgpt_success, "ft", rng)
        positions[options.answer_index] += 1
        ranks[sorted(options.values).index(1.3)] += 1
    assert chi_square_uniform(positions, k, n) < CHI2_3DOF_P001
    assert chi_square_uniform(ranks, k, n) < CHI2_3DOF_P001


def test_numeric_peers_become_the_distractors_when_they_are_distinct() -> None:
    # Truth 2.0 m; peers 1.0, 3.1, 4.8 and 7.5 m are pairwise outside SpatialRGPT's +-25 % band: three of
    # them, shown in the answer's unit, are the distractors; which three is drawn from the rng.
    peers = (1.0, 3.1, 4.8, 7.5)
    seen = set()
    for seed in range(40):
        got = numeric_distractors(2.0, 3, spatialrgpt_success, "m", random.Random(seed), peers=peers)
        assert [text for text, _ in got] == [format_length(v, "m").text for _, v in got]
        assert {value for _, value in got} <= set(peers)
        seen |= {value for _, value in got}
        assert got == numeric_distractors(2.0, 3, spatialrgpt_success, "m", random.Random(seed), peers=peers)
    assert seen == set(peers)  # every peer gets its turn


def test_numeric_peers_within_tolerance_are_skipped_and_chains_fill_the_rest() -> None:
    # 2.2 is within 25 % of the truth and 3.2 within 25 % of 3.0; nan / 0 / negative are no lengths. So one
    # of 3.0 and 3.2 is taken (whichever the shuffle puts first), never both, and chains clear of it fill the
    # rest.
    peers = (2.2, 3.0, 3.2, float("nan"), 0.0, -1.0)
    for seed in range(40):
        got = numeric_distractors(2.0, 3, spatialrgpt_success, "m", random.Random(seed), peers=peers)
        values = [value for _, value in got]
        assert len(values) == 3 and 2.2 not in values
        assert len({3.0, 3.2} & set(values)) == 1
        for i, d in enumerate(values):
            assert not spatialrgpt_success(d, 2.0) and not spatialrgpt_success(2.0, d)
            for e in values[i + 1 :]:
                assert not spatialrgpt_success(d, e) and not spatialrgpt_success(e, d)


def test_numeric_without_usable_peers_is_the_chain_draw() -> None:
    for seed in range(20):
        chains = numeric_distractors(1.7, 3, spatialrgpt_success, "ft", random.Random(seed))
        unusable = (float("nan"), -2.0, 0.0)  # filtered before the shuffle: no draw is spent on them
        assert (
            numeric_distractors(1.7, 3, spatialrgpt_success, "ft", random.Random(seed), peers=unusable)
            == chains
        )


def test_numeric_peers_at_a_tolerance_edge_decide_the_same_under_float_noise() -> None:
    # 1.25 x 1.0 is exactly the band's edge (accepted by the metric: confusable). Frames add ~1e-15 to values
    # of a grid-aligned layout; the decision must not flip with it.
    for truth, peer in ((1.0, 1.25), (1.0 + 3e-15, 1.25), (1.0 - 3e-15, 1.25 + 2e-15)):
        got = numeric_distractors(truth, 1, spatialrgpt_success, "m", random.Random(5), peers=(peer,))
        assert got[0][1] != 1.25


@settings(max_examples=150, deadline=None)
@given(
    truth=st.floats(0.05, 30.0),
    unit=st.sampled_from(("cm", "in", "m", "ft")),
    metric=st.sampled_from(sorted(METRICS)),
    k=st.integers(2, 4),
    seed=st.integers(0, 2**32 - 1),
)
def test_numeric_properties(truth: float, unit: str, metric: str, k: int, seed: int) -> None:
    is_correct = METRICS[metric]
    options = numeric_options(truth, k, is_correct, unit, random.Random(seed))
    texts = [c.text for c in options.choices]
    assert len(set(texts)) == k
    assert options.answer_text == format_length(truth, unit).text
    distractors = [v for i, v in enumerate(options.values) if i != options.answer_index]
    for i, d in enumerate(distractors):
        assert d > 0
        assert not is_correct(d, truth) and not is_correct(truth, d)
        for e in distractors[i + 1 :]:
            assert not is_correct(d, e) and not is_correct(e, d)
    for text, value in zip(texts, options.values, strict=True):  # every text is its value in the one unit
        assert text == format_length(value, unit).text


# ---------------------------------------------------------------- counts


def test_count_hand_checked() -> None:
    assert sorted(count_distractors(0, 3, random.Random(0))) == [1, 2, 3]
    options = count_options(1, 3, random.Random(2))
    assert options.answer_text == "1" and 1 in options.values


@settings(max_examples=100, deadline=None)
@given(truth=st.integers(0, 60), k=st.integers(2, 6), seed=st.integers(0, 2**32 - 1))
def test_count_properties(truth: int, k: int, seed: int) -> None:
    options = count_options(truth, k, random.Random(seed))
    values = list(options.values)
    assert len(set(values)) == k and all(isinstance(v, int) and v >= 0 for v in values)
    assert values.count(truth) == 1 and options.values[options.answer_index] == truth
    assert len({c.text for c in options.choices}) == k


def test_count_answer_position_uniform() -> None:
    rng, n, k = random.Random(17), 4000, 4
    counts = Counter(count_options(5, k, rng).answer_index for _ in range(n))
    assert chi_square_uniform(counts, k, n) < CHI2_3DOF_P001


# ---------------------------------------------------------------- true / false


def test_tf_pair_hand_checked() -> None:
    yes, no = tf_pair("The cup is left of the plate.", "The cup is right of the plate.", random.Random(0))
    assert (yes.answer_value, no.answer_value) == (True, False)
    assert yes.style == no.style
    assert (yes.answer, no.answer) == (yes.style.true_word, yes.style.false_word)
    with pytest.raises(ValueError):
        tf_pair("same", "same", random.Random(0))


def test_tf_pair_for_judgements() -> None:
    t, f = tf_pair_for(Truth.FALSE, "A is above B.", "A is not above B.", random.Random(0))
    assert (t.statement, t.answer_value, f.statement, f.answer_value) == (
        "A is not above B.",
        True,
        "A is above B.",
        False,
    )
    t, f = tf_pair_for(Truth.TRUE, "A is above B.", "A is not above B.", random.Random(0))
    assert (t.statement, f.statement) == ("A is above B.", "A is not above B.")
    with pytest.raises(ValueError):
        tf_pair_for(Truth.AMBIGUOUS, "A is above B.", "A is not above B.", random.Random(0))


def test_tf_styles_half_and_half_and_balanced() -> None:
    rng, n = random.Random(21), 2000
    items = [item for _ in range(n) for item in tf_pair("s", "not s", rng)]
    by_style = Counter((item.style.name, item.answer_value) for item in items)
    for style in TF_STYLES:  # each rendering holds exactly as many True as False answers
        assert by_style[(style.name, True)] == by_style[(style.name, False)]
    yes_no = by_style[("yes_no", True)]
    assert abs(yes_no - n / 2) < 4 * (n / 4) ** 0.5  # binomial(n, 1/2): 4 standard deviations


@given(
    st.floats(min_value=0.01, max_value=50.0),
    st.integers(min_value=1, max_value=5),
    st.sampled_from(["cm", "in", "m", "ft"]),
    st.integers(min_value=0, max_value=2**32),
)
@settings(max_examples=200, deadline=None)
def test_ratio_band_draws_what_the_same_callable_draws(truth: float, n: int, unit: str, seed: int) -> None:
    """The inline band test is an optimisation only: RatioBand(0.75, 1.25) and spatialrgpt_success give the
    same distractors from the same seed (or refuse alike)."""

    def draw(is_correct):
        try:
            return numeric_distractors(truth, n, is_correct, unit, random.Random(seed))
        except ChoiceRefusal as e:
            return e.reason

    assert draw(RatioBand(0.75, 1.25)) == draw(spatialrgpt_success)


@given(st.floats(min_value=1e-3, max_value=1e3), st.floats(min_value=1e-3, max_value=1e3))
def test_ratio_band_is_the_spatialrgpt_band(pred: float, gold: float) -> None:
    assert RatioBand(0.75, 1.25)(pred, gold) == spatialrgpt_success(pred, gold)
