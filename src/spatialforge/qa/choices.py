"""Answer options of multiple-choice and true/false questions (SPEC section 3).

Labels. An option's identity is its canonical letter (A, B, C, ... by position); that letter is
`Choice.label` and the mcq `answer_value`, whatever style the question shows, so records always satisfy
`answer_value in labels` and the scorer calls bench.parsers.parse_choice with {letter: text}. A `LabelStyle`
only changes the option block shown in the question: "A." / "(A)" / "A)" / "(a)" / "1.". The numeric style
shows the 1-based position; position n is letter n (1 -> A, 2 -> B), so `answer_value` is still the letter.
parse_choice reads letters only: a reply "2" to a numbered question is not read back (the option text is).

Categorical options: the correct value plus k-1 of the relation's other values, in an order drawn from the
passed rng; the correct position is uniform over 0..k-1.

Numeric options (positive quantities: lengths, sizes): the number of distractors below the truth is uniform
over 0..k-1, so the truth's rank among the sorted values is uniform ("pick the middle / the extreme value"
scores chance). Each side is a chain: every distractor is its neighbour towards the truth times a ratio drawn
log-uniformly from DISTRACTOR_RATIO_BANDS (below: [0.4, 0.75], above: [1.33, 2.5]). Neighbouring options
thus differ by the same kind of ratio whether or not one of them is the truth (no odd gap gives it away), and
a side of m distractors always fits a tolerance narrower than the band, which m independent draws inside one
band do not (three distractors in [0.4, 0.75] x truth, 25 % apart, are nearly impossible). The price: with
k = 4 the farthest distractor can reach 0.4^3 = 0.064 or 2.5^3 = 15.6 x truth (typical: 0.17 x or 5.6 x).
Each distractor is kept only if, both as drawn and as shown (rounded in the answer's unit):
- it is outside the scoring tolerance of the truth (is_correct(d, truth) and is_correct(truth, d) both False:
  a band relative to the gold is not symmetric, and either may be the gold of a distinguishable pair),
- it is outside the tolerance of every other option, and its text differs from every other option's text.
All options share one unit and precision (qa.units.format_length). A set that cannot be completed within
MAX_DISTRACTOR_ATTEMPTS draws raises ChoiceRefusal("no_distinct_distractors").

Peer distractors. Chains out from the truth leave the truth the most typical option: a model that knows the
usual depth of an object or distance in a room picks the option nearest that and is right far more often
than 1 in k (measured with the text-only `blind` baseline: 47-73 % on the four-option numeric items of a
synthetic benchmark). So a task may pass `peers`, the same quantity measured on other objects of the scene
(the depths of the view's other objects for an object's depth, other pairs' distances for a distance).
Distractors are taken from them first, in an order drawn from the rng, each under the same rules (outside
the tolerance of every other option, distinct text). When the asked object is one of the scene's objects
like its peers, the options are draws of one distribution and typicality no longer points to the truth (the
truth's rank is uniform in expectation rather than by construction). Too few usable peers: the rest are
chains out from the truth, clear of the peers taken.

Counts: integer distractors near the truth, never the truth, never negative, with the truth's rank uniform
over the feasible ranks.

Angles (viewpoint azimuth / elevation, radians; shown in integer degrees): integer-degree distractors at
least twice the scoring tolerance away from the truth (exact and as shown) and from each other, so no reply
is within tolerance of two options; the distance is the short way round the circle for a circular angle
(azimuth: 170 and -170 degrees are 20 apart). Like numeric options they are chains out from the truth: each
one step of [2 tol + 1, 2 (2 tol + 1)] degrees beyond its neighbour, with the number below the truth drawn
uniformly; circular values wrap into (-180, 180], bounded ones (elevation) must stay in [-90, 90], so a
truth near an end has fewer ranks open to it (85 degrees leaves no room for two options above it).
ChoiceRefusal(NO_DISTINCT_DISTRACTORS) after MAX_DISTRACTOR_ATTEMPTS.

True/false: `tf_pair` returns BOTH polarities of one judged predicate (the true statement, answer True, and
its negation or opposite, answer False), so the two answers are exactly balanced per predicate and scene.
Rendering: one fair draw from the rng per pair picks "Yes"/"No" or "True"/"False" for both items of the pair,
so each rendering holds as many True as False answers.

All randomness comes from the passed random.Random; nothing here touches global state.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from spatialforge.bench.parsers.units import UNIT_TO_M
from spatialforge.geometry.relations import Truth
from spatialforge.qa.records import Choice
from spatialforge.qa.units import (
    AREA_TO_M2,
    VOLUME_TO_M3,
    area_text,
    length_text,
    render_angle,
    volume_text,
)

IsCorrect = Callable[[float, float], bool]  # is_correct(pred, gold), the metric's success predicate

# Quantity kind -> (value in SI units, display unit -> (text, shown number in that unit); SI value of one
# display unit). Every option of a set is shown in the answer's unit with that unit's precision (qa.units).
QUANTITY_FORMATS: dict[str, tuple[Callable[[float, str], tuple[str, float]], dict[str, float]]] = {
    "length": (length_text, UNIT_TO_M),
    "area": (area_text, AREA_TO_M2),
    "volume": (volume_text, VOLUME_TO_M3),
}

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # parse_choice reads one letter, so at most 26 options
MIN_OPTIONS = 2

# Ratios truth -> distractor: below [0.4, 0.75], above [1.33, 2.5] (roughly 1/2.5 .. 1/1.33 mirrored).
# Lower bounds keep distractors outside the SPEC 5 bands (SpatialRGPT +-25 %, MRA's tightest 5 %); upper
# bounds keep them plausible (a 1 m table is not offered as 5 m). Values at a band edge that the metric still
# accepts are rejected by the is_correct checks, not by these numbers.
DISTRACTOR_RATIO_BANDS: tuple[tuple[float, float], tuple[float, float]] = ((0.4, 0.75), (1.33, 2.5))
# Draws per distractor set before refusing. With k = 4 and truths 2 cm .. 30 m (1200 draws per metric), the
# SpatialRGPT band and "MRA within 10 %" never refused; Q-Spatial's factor 2 leaves only the band edges
# ([0.4, 0.5], [2, 2.5]) and refused 0-12 % depending on the unit's rounding. A tolerance wider than the bands
# refuses after 200 cheap draws.
MAX_DISTRACTOR_ATTEMPTS = 200
# Count distractors lie within this many steps of the truth, and at least within COUNT_RELATIVE_WINDOW of it
# (a 20-object count gets distractors up to 10 away): near misses are the plausible ones.
COUNT_RELATIVE_WINDOW = 0.5

# Peer values and the truth are compared rounded to this many decimals of their SI unit (_peer_distractors).
PEER_DECIMALS = 9

NO_DISTINCT_DISTRACTORS = "no_distinct_distractors"
TOO_FEW_VALUES = "too_few_values"


class ChoiceRefusal(ValueError):
    """No option set could be built. reason: NO_DISTINCT_DISTRACTORS or TOO_FEW_VALUES (stable codes)."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(f"{reason}: {message}")


# ---------------------------------------------------------------- labels


@dataclass(frozen=True, slots=True)
class LabelStyle:
    """How option labels are shown. alphabet: "upper", "lower" or "number"; template: "{}." etc."""

    name: str
    alphabet: str
    template: str

    def shown(self, index: int) -> str:
        """The label shown for the option at 0-based `index` ("B.", "(b)", "2.")."""
        letter = canonical_letter(index)
        mark = {"upper": letter, "lower": letter.lower(), "number": str(index + 1)}[self.alphabet]
        return self.template.format(mark)


# SPEC 3: "several label styles (A-D, (a), 1.)".
LABEL_STYLES: tuple[LabelStyle, ...] = (
    LabelStyle("upper_dot", "upper", "{}."),
    LabelStyle("upper_paren", "upper", "({})"),
    LabelStyle("upper_close", "upper", "{})"),
    LabelStyle("lower_paren", "lower", "({})"),
    LabelStyle("number_dot", "number", "{}."),
)


# Styles used in generated data: "1." is left out because bench.parsers.parse_choice reads letters only, so
# a model trained to answer "2" could not be scored; records and scorers stay letter-based either way.
GENERATION_LABEL_STYLES: tuple[LabelStyle, ...] = tuple(s for s in LABEL_STYLES if s.alphabet != "number")


def canonical_letter(index: int) -> str:
    """0 -> "A", 1 -> "B", ...; the option's identity and the mcq answer_value."""
    if not 0 <= index < len(LETTERS):
        raise ValueError(f"option index {index} outside 0..{len(LETTERS) - 1}")
    return LETTERS[index]


def draw_label_style(rng: random.Random) -> LabelStyle:
    """One of LABEL_STYLES, uniformly."""
    return LABEL_STYLES[rng.randrange(len(LABEL_STYLES))]


def render_option_block(choices: Sequence[Choice], style: LabelStyle, separator: str = "\n") -> str:
    """The options as shown in a question, e.g. "(a) left\\n(b) right"; choices in canonical-letter order."""
    for i, c in enumerate(choices):
        if c.label != canonical_letter(i):
            raise ValueError(f"choice {i} has label {c.label!r}, expected {canonical_letter(i)!r}")
    return separator.join(f"{style.shown(i)} {c.text}" for i, c in enumerate(choices))


# ---------------------------------------------------------------- option sets


@dataclass(frozen=True, slots=True)
class OptionSet:
    """k options in canonical-letter order. values: the value behind each option (a category, the SI value
    as shown, a count); answer_index: the correct option's position."""

    choices: tuple[Choice, ...]
    values: tuple[str | float | int, ...]
    answer_index: int

    @property
    def answer_value(self) -> str:
        return self.choices[self.answer_index].label

    @property
    def answer_text(self) -> str:
        return self.choices[self.answer_index].text

    def parser_options(self) -> dict[str, str]:
        """{letter: text}, the `options` argument of bench.parsers.parse_choice."""
        return {c.label: c.text for c in self.choices}


def _check_k(k: int) -> None:
    if not MIN_OPTIONS <= k <= len(LETTERS):
        raise ValueError(f"k must be in {MIN_OPTIONS}..{len(LETTERS)}, got {k}")


Option = tuple[str, str | float | int]  # (text, value behind it)


def place_options(
    correct: Option, distractors: Sequence[Option], rng: random.Random
) -> tuple[list[Option], int]:
    """The distractors shuffled and the correct option inserted at a uniform position: (options in canonical
    letter order, the correct one's index)."""
    order = list(distractors)
    rng.shuffle(order)
    position = rng.randrange(len(order) + 1)
    order.insert(position, correct)
    return order, position


def _option_set(order: Sequence[Option], position: int) -> OptionSet:
    choices = tuple(Choice(canonical_letter(i), text) for i, (text, _) in enumerate(order))
    return OptionSet(choices, tuple(value for _, value in order), position)


def categorical_choice(
    correct: str, others: Sequence[str], k: int, rng: random.Random
) -> tuple[list[Option], int]:
    """categorical_options as (options, correct index), without the OptionSet (the renderer's path)."""
    _check_k(k)
    pool = [v for v in dict.fromkeys(others) if v != correct]
    if len(pool) < k - 1:
        raise ChoiceRefusal(TOO_FEW_VALUES, f"{k} options need {k - 1} other values, got {pool}")
    return place_options((correct, correct), [(v, v) for v in rng.sample(pool, k - 1)], rng)


def categorical_options(correct: str, others: Sequence[str], k: int, rng: random.Random) -> OptionSet:
    """The correct value and k-1 of `others` (the relation's other values, e.g. "right", "front", "behind");
    duplicates and the correct value among `others` are ignored. Too few values: ChoiceRefusal."""
    return _option_set(*categorical_choice(correct, others, k, rng))


# ---------------------------------------------------------------- numeric distractors


@dataclass(frozen=True, slots=True)
class RatioBand:
    """is_correct(pred, gold) = lo * gold <= pred <= hi * gold: a success band relative to the gold, such as
    SpatialRGPT's (0.75, 1.25). Distractor draws test it inline, without a call per comparison."""

    lo: float
    hi: float

    def __call__(self, pred: float, gold: float) -> bool:
        return self.lo * gold <= pred <= self.hi * gold


# log of DISTRACTOR_RATIO_BANDS: a ratio is exp(uniform(log lo, log hi)).
_LOG_RATIO_BANDS = tuple((math.log(lo), math.log(hi)) for lo, hi in DISTRACTOR_RATIO_BANDS)


def _confusable(x: float, y: float, is_correct: IsCorrect) -> bool:
    """Would either value be scored correct with the other as gold?"""
    return is_correct(x, y) or is_correct(y, x)


Kept = tuple[str, float, float]  # an option as (text, exact SI value, shown SI value)


def _clashes(text: str, values: tuple[float, float], kept: Sequence[Kept], is_correct: IsCorrect) -> bool:
    """Would a new option (its text; its drawn and shown SI values) repeat a kept option's text, or could
    either of the two be scored correct with the other as gold (drawn and shown x exact and rounded)? The
    inner loop of every numeric option set: a RatioBand is tested inline, without a call per comparison."""
    band = isinstance(is_correct, RatioBand)
    lo, hi = (is_correct.lo, is_correct.hi) if band else (0.0, 0.0)
    for kept_text, exact, rounded in kept:
        if kept_text == text:
            return True
        for x in values:
            for gold in (exact, rounded):
                if band:
                    if lo * gold <= x <= hi * gold or lo * x <= gold <= hi * x:
                        return True
                elif _confusable(x, gold, is_correct):
                    return True
    return False


def _as_option(value: float, unit: str, quantity: str) -> Kept:
    """A value as an option: (text in `unit`, the value, the shown number in SI units)."""
    text_of, to_si = QUANTITY_FORMATS[quantity]
    text, number = text_of(value, unit)
    return text, value, number * to_si[unit]


def _peer_distractors(
    truth: float,
    n: int,
    is_correct: IsCorrect,
    unit: str,
    rng: random.Random,
    quantity: str,
    peers: Sequence[float],
) -> list[Kept]:
    """Up to n distractors taken from `peers` (the same quantity measured on other objects of the scene),
    in an order drawn from rng, each kept under the rules of the chains (module docstring)."""
    truth_text, _, truth_shown = _as_option(truth, unit, quantity)
    # Rounded to nanounits before any test: peers often sit exactly at a tolerance edge (1.25 x the truth on
    # a grid-aligned layout), where float noise from the frames (1e-15) would flip the test, and the same
    # scene in another world frame must give the same options.
    kept: list[Kept] = [(truth_text, round(truth, PEER_DECIMALS), truth_shown)]
    pool = [round(value, PEER_DECIMALS) for value in peers if math.isfinite(value) and value > 0.0]
    rng.shuffle(pool)
    for value in pool:
        if len(kept) > n:
            break
        text, _, shown = option = _as_option(value, unit, quantity)
        if shown > 0.0 and not _clashes(text, (value, shown), kept, is_correct):
            kept.append(option)
    return kept[1:]


def _try_distractors(
    truth: float,
    n: int,
    is_correct: IsCorrect,
    unit: str,
    rng: random.Random,
    quantity: str,
    existing: Sequence[Kept] = (),
) -> list[tuple[str, float]] | None:
    """One attempt at n chain distractors as (text, shown SI value), clear of the truth and of `existing`
    options; None if a draw breaks a rule."""
    text_of, to_si = QUANTITY_FORMATS[quantity]
    scale = to_si[unit]
    kept = [_as_option(truth, unit, quantity), *existing]
    start = len(kept)
    n_below = rng.randrange(n + 1)  # the truth's rank among the sorted options is uniform
    below, above = truth, truth  # the chain ends on each side of the truth
    random_ = rng.random
    for i in range(n):
        # = exp(rng.uniform(log lo, log hi)), the same draw spelled out.
        if i < n_below:
            log_lo, log_hi = _LOG_RATIO_BANDS[0]
            d = below = below * math.exp(log_lo + (log_hi - log_lo) * random_())
        else:
            log_lo, log_hi = _LOG_RATIO_BANDS[1]
            d = above = above * math.exp(log_lo + (log_hi - log_lo) * random_())
        d_text, d_number = text_of(d, unit)
        d_shown = d_number * scale
        if d_shown <= 0.0 or _clashes(d_text, (d, d_shown), kept, is_correct):
            return None
        kept.append((d_text, d, d_shown))
    return [(text, rounded) for text, _, rounded in kept[start:]]


def numeric_distractors(
    truth_m: float,
    n: int,
    is_correct: IsCorrect,
    unit: str,
    rng: random.Random,
    quantity: str = "length",
    peers: Sequence[float] = (),
) -> tuple[tuple[str, float], ...]:
    """n distractors for a positive quantity `truth_m` (SI: metres, or m^2 / m^3 for quantity "area" /
    "volume"), as (text in `unit`, shown value in SI units): from `peers` (the same quantity on other
    objects of the scene) as far as they go, the rest as chains out from the truth.

    Rules in the module docstring; ChoiceRefusal(NO_DISTINCT_DISTRACTORS) after MAX_DISTRACTOR_ATTEMPTS.
    """
    if not (math.isfinite(truth_m) and truth_m > 0.0):
        raise ValueError(f"truth_m must be finite and > 0, got {truth_m}")
    chosen = _peer_distractors(truth_m, n, is_correct, unit, rng, quantity, peers) if peers else []
    from_peers = [(text, shown) for text, _, shown in chosen]
    if len(chosen) == n:
        return tuple(from_peers)
    for _ in range(MAX_DISTRACTOR_ATTEMPTS):
        found = _try_distractors(truth_m, n - len(chosen), is_correct, unit, rng, quantity, chosen)
        if found is not None:
            return tuple(from_peers + found)
    raise ChoiceRefusal(
        NO_DISTINCT_DISTRACTORS,
        f"{n} distractors for {truth_m} m in {unit!r}: none found in {MAX_DISTRACTOR_ATTEMPTS} attempts",
    )


def numeric_choice(
    truth_m: float,
    k: int,
    is_correct: IsCorrect,
    unit: str,
    rng: random.Random,
    quantity: str = "length",
    peers: Sequence[float] = (),
) -> tuple[list[Option], int]:
    """numeric_options as (options, correct index), without building the OptionSet (the renderer's path)."""
    _check_k(k)
    distractors = numeric_distractors(truth_m, k - 1, is_correct, unit, rng, quantity, peers)
    text_of, _ = QUANTITY_FORMATS[quantity]
    return place_options((text_of(truth_m, unit)[0], truth_m), distractors, rng)


def numeric_options(
    truth_m: float,
    k: int,
    is_correct: IsCorrect,
    unit: str,
    rng: random.Random,
    quantity: str = "length",
) -> OptionSet:
    """k options for a positive quantity (SI units): the truth shown in `unit` and k-1 numeric distractors in
    the same unit and precision. values: the exact truth for the correct option, shown values for the
    others."""
    return _option_set(*numeric_choice(truth_m, k, is_correct, unit, rng, quantity))


def count_distractors(truth: int, n: int, rng: random.Random) -> tuple[int, ...]:
    """n distinct non-negative integers near `truth`, none equal to it; the truth's rank among them is
    uniform over the ranks its neighbourhood allows (a truth of 0 can only be the smallest)."""
    if truth < 0:
        raise ValueError(f"a count is >= 0, got {truth}")
    window = max(n, math.ceil(COUNT_RELATIVE_WINDOW * truth))
    below = list(range(max(0, truth - window), truth))
    above = list(range(truth + 1, truth + window + 1))
    n_below = rng.randint(max(0, n - len(above)), min(n, len(below)))
    return tuple(rng.sample(below, n_below) + rng.sample(above, n - n_below))


def count_options(truth: int, k: int, rng: random.Random) -> OptionSet:
    """k options for a count: the truth and k-1 count_distractors, as integer text ("3")."""
    _check_k(k)
    distractors = [(str(d), d) for d in count_distractors(truth, k - 1, rng)]
    return _option_set(*place_options((str(truth), truth), distractors, rng))


# ---------------------------------------------------------------- angles

# Shown (integer-degree) range of an angle: a circular one (azimuth) in (-180, 180], a bounded one
# (elevation) in [-90, 90].
CIRCULAR_DEGREES = (-179, 180)
BOUNDED_DEGREES = (-90, 90)


def angle_shown_degrees(angle_rad: float, circular: bool) -> int:
    """The integer degrees an angle is shown as (qa.units.render_angle rounds to whole degrees); a circular
    angle is wrapped into (-180, 180] first and after rounding, so -179.7 shows as 180, never -180."""
    degrees = math.degrees(angle_rad)
    if circular:
        degrees = -math.remainder(-degrees, 360.0)  # (-180, 180]: remainder gives [-180, 180], -180 -> 180
    shown = round(degrees)
    return 180 if circular and shown == -180 else shown


def angle_text(angle_rad: float, circular: bool) -> str:
    """An angle as shown in questions and options: "35 degrees", "-90 degrees", "1 degree"."""
    return render_angle(math.radians(angle_shown_degrees(angle_rad, circular))).text


def _angle_distance_deg(a: float, b: float, circular: bool) -> float:
    return abs(math.remainder(a - b, 360.0)) if circular else abs(a - b)


def _try_angle_distractors(
    truth_deg: float, shown: int, n: int, separation_deg: float, circular: bool, rng: random.Random
) -> list[int] | None:
    """One attempt at n integer-degree distractors; None if a draw breaks a rule."""
    step_lo = math.floor(separation_deg) + 1  # integer steps strictly beyond the separation
    step_hi = 2 * step_lo
    lo, hi = CIRCULAR_DEGREES if circular else BOUNDED_DEGREES
    n_below = rng.randrange(n + 1)  # the truth's rank among the sorted options is uniform where it fits
    values: list[int] = []
    for direction, count in ((-1, n_below), (1, n - n_below)):
        previous = shown
        for _ in range(count):
            previous += direction * rng.randint(step_lo, step_hi)
            values.append(previous)
    if circular:
        values = [angle_shown_degrees(math.radians(v), True) for v in values]
    elif any(not lo <= v <= hi for v in values):
        return None
    kept: list[float] = [truth_deg, float(shown)]
    for v in values:
        if any(_angle_distance_deg(v, k, circular) < separation_deg for k in kept):
            return None
        kept.append(float(v))
    return values


def angle_distractors(
    truth_rad: float, n: int, tolerance_rad: float, circular: bool, rng: random.Random
) -> tuple[tuple[str, float], ...]:
    """n distractors for an angle (radians) as (text, shown value in radians), every one at least
    2 x tolerance_rad from the truth and from each other (rules in the module docstring). A bounded angle
    must lie in [-pi/2, pi/2]; ChoiceRefusal(NO_DISTINCT_DISTRACTORS) when no set is found."""
    if not (math.isfinite(truth_rad) and math.isfinite(tolerance_rad) and tolerance_rad > 0.0):
        raise ValueError(
            f"truth_rad and tolerance_rad must be finite, tolerance > 0: {truth_rad}, {tolerance_rad}"
        )
    truth_deg = math.degrees(truth_rad)
    if not circular and not BOUNDED_DEGREES[0] <= truth_deg <= BOUNDED_DEGREES[1]:
        raise ValueError(f"a bounded angle must lie in [-90, 90] degrees, got {truth_deg}")
    shown = angle_shown_degrees(truth_rad, circular)
    separation = 2.0 * math.degrees(tolerance_rad)
    for _ in range(MAX_DISTRACTOR_ATTEMPTS):
        found = _try_angle_distractors(truth_deg, shown, n, separation, circular, rng)
        if found is not None:
            return tuple((angle_text(math.radians(v), circular), math.radians(v)) for v in found)
    raise ChoiceRefusal(
        NO_DISTINCT_DISTRACTORS,
        f"{n} distractors {separation:g} degrees apart for {truth_deg:.1f} degrees: none found in "
        f"{MAX_DISTRACTOR_ATTEMPTS} attempts",
    )


def angle_choice(
    truth_rad: float, k: int, tolerance_rad: float, circular: bool, rng: random.Random
) -> tuple[list[Option], int]:
    """k options for an angle: the truth (as shown) and k-1 angle_distractors, the truth at a uniformly drawn
    position; (options in canonical letter order, the correct one's index)."""
    _check_k(k)
    distractors = angle_distractors(truth_rad, k - 1, tolerance_rad, circular, rng)
    return place_options((angle_text(truth_rad, circular), truth_rad), distractors, rng)


# ---------------------------------------------------------------- true / false


@dataclass(frozen=True, slots=True)
class TFStyle:
    """How a tf answer is shown: words for True and for False."""

    name: str
    true_word: str
    false_word: str


TF_STYLES: tuple[TFStyle, TFStyle] = (TFStyle("yes_no", "Yes", "No"), TFStyle("true_false", "True", "False"))


@dataclass(frozen=True, slots=True)
class TFItem:
    """One tf question: the statement judged, answer_value (the record's bool) and answer (its text)."""

    statement: str
    answer_value: bool
    answer: str
    style: TFStyle


def draw_tf_style(rng: random.Random) -> TFStyle:
    """Yes/No or True/False with probability 1/2 each (SPEC 3: "rendered as Yes/No half the time")."""
    return TF_STYLES[rng.randrange(len(TF_STYLES))]


def tf_pair(statement_true: str, statement_false: str, rng: random.Random) -> tuple[TFItem, TFItem]:
    """Both polarities of one predicate: (the true statement -> True, its negation/opposite -> False), in
    that order, rendered in one style drawn from rng."""
    if statement_true == statement_false:
        raise ValueError(f"the two polarities must differ, both are {statement_true!r}")
    style = draw_tf_style(rng)
    return (
        TFItem(statement_true, True, style.true_word, style),
        TFItem(statement_false, False, style.false_word, style),
    )


def tf_pair_for(truth: Truth, statement: str, negation: str, rng: random.Random) -> tuple[TFItem, TFItem]:
    """tf_pair for a judged predicate: `statement` asserts the relation, `negation` denies it. TRUE makes the
    statement the true item; FALSE the negation. AMBIGUOUS is never asked: ValueError."""
    if truth is Truth.TRUE:
        return tf_pair(statement, negation, rng)
    if truth is Truth.FALSE:
        return tf_pair(negation, statement, rng)
    raise ValueError("an AMBIGUOUS predicate never becomes a true/false question")
