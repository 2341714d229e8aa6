"""How one item is scored: which parser reads the reply and which metric compares it with the gold answer.

A `ScoringRule` is data (answer type, parser keyword arguments, metric name); `score_item` applies it. Every
benchmark in `benchmarks.py` is a mapping from its tasks to rules plus an official aggregation.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from spatialforge.bench import metrics
from spatialforge.bench.items import ItemDecision, PredictionItem
from spatialforge.bench.parsers import (
    Parsed,
    parse_angle,
    parse_box,
    parse_choice,
    parse_clock,
    parse_image_point,
    parse_index_list,
    parse_number,
    parse_points,
    parse_qspatial,
    parse_vector,
    parse_view_change,
    parse_yes_no,
)
from spatialforge.bench.parsers.box import check_on_grid
from spatialforge.bench.parsers.units import canonical_unit, convert, is_angle_unit


@dataclass(frozen=True)
class ScoringRule:
    """answer_type: choice | yes_no | number | qspatial | clock | vector | view_change | angle | box |
    image_point | index_list | points.
    metric: accuracy | mra | spatialrgpt | qspatial | hispatial_qspatial_paper | hispatial_qspatial_released |
    clock_hour | direction_angle | position_within (params: max_relative_error) |
    view_change_mra (params: variant) | angle_within (params: threshold_rad,
    circular; answer_type angle, whose replies and golds are radians: a bare number in a reply is read in
    degrees unless parse says otherwise) | box_iou (answer_type box; params: threshold, default 0.5) |
    image_point_within (answer_type image_point; params: max_grid_error, default 100 grid units, and
    max_relative_depth_error, default 0.25; parse: default_unit, to_unit of the depth, metres) |
    exact_set, exact_sequence (answer_type index_list) |
    point_in_polygon (answer_type points: replies and golds on the 0-1 image scale; params: points, which
    reply points must be in the gold region: first (default, the released RoboSpatial-Eval rule), any, all;
    variant: as_released (default) or corrected, metrics.POINT_IN_POLYGON_VARIANTS).
    parse: keyword arguments for the parser (e.g. {"to_unit": "cm", "pick": "last"}).
    """

    answer_type: str
    metric: str
    parse: dict[str, Any] = field(default_factory=dict)
    # metric parameters, e.g. {"threshold_deg": 30.0}
    params: dict[str, Any] = field(default_factory=dict)


def gold_letter(gold: object) -> str:
    """The option letter of a gold as benchmarks write it: "B", "(B)" or "B. the chair" -> "B" (the first
    character inside optional brackets, upper-cased); not checked against any options."""
    return str(gold).strip().strip("()[] ").split(".")[0].split(")")[0].strip().upper()


def _gold_letter(item: PredictionItem, rule: ScoringRule) -> str:
    letter = gold_letter(item.gold)
    if item.options and letter not in item.options:
        raise ValueError(
            f"item {item.item_id}: gold {item.gold!r} is not one of the options {sorted(item.options)}"
        )
    return letter


def _gold_bool(item: PredictionItem, rule: ScoringRule) -> bool:
    if isinstance(item.gold, bool):
        return item.gold
    text = str(item.gold).strip().lower().rstrip(".")
    if text in ("yes", "true", "1"):
        return True
    if text in ("no", "false", "0"):
        return False
    raise ValueError(f"item {item.item_id}: gold {item.gold!r} is not yes/no")


def _gold_number(item: PredictionItem, rule: ScoringRule) -> float:
    value = item.gold
    if isinstance(value, str):
        parsed = parse_number(value, **{**rule.parse, "pick": "first"})
        if not parsed.ok:
            raise ValueError(f"item {item.item_id}: gold {item.gold!r} is not a number ({parsed.detail})")
        return float(parsed.value)
    number = float(value)
    if item.gold_unit is not None:
        to_unit = rule.parse.get("to_unit", "m")
        number = convert(number, item.gold_unit, to_unit)  # length, area or volume; refuses mixing them
    if not math.isfinite(number):
        raise ValueError(f"item {item.item_id}: gold {item.gold!r} is not finite")
    return number


def _gold_view_change(item: PredictionItem, rule: ScoringRule) -> dict[str, float]:
    if isinstance(item.gold, dict):
        return {k: float(item.gold.get(k, 0.0)) for k in metrics.VIEW_CHANGE_COMPONENTS}
    parsed = parse_view_change(str(item.gold))
    if not parsed.ok:
        raise ValueError(
            f"item {item.item_id}: gold {item.gold!r} is not a view-change string ({parsed.detail})"
        )
    return dict(parsed.value)


def _gold_vector(item: PredictionItem, rule: ScoringRule) -> tuple[float, float, float]:
    try:
        gold = tuple(float(x) for x in item.gold)
    except (TypeError, ValueError):
        raise ValueError(f"item {item.item_id}: gold {item.gold!r} is not a 3-vector") from None
    if len(gold) != 3:
        raise ValueError(f"item {item.item_id}: gold {item.gold!r} is not a 3-vector")
    return gold  # type: ignore[return-value]


def _gold_angle(item: PredictionItem, rule: ScoringRule) -> float:
    """The gold angle in the rule's unit (radians unless parse says "deg"): a number in gold_unit ("rad" or
    "deg"; radians when none is given, as spatialforge records store them), or a text such as "35 degrees"
    (a bare number in a text gold is read like a reply: degrees)."""
    to_unit = rule.parse.get("to_unit", "rad")
    value = item.gold
    if isinstance(value, str):
        parsed = parse_angle(value, **{**rule.parse, "pick": "first"})
        if not parsed.ok:
            raise ValueError(f"item {item.item_id}: gold {item.gold!r} is not an angle ({parsed.detail})")
        return float(parsed.value)
    if isinstance(value, bool):
        raise ValueError(f"item {item.item_id}: gold {item.gold!r} is not an angle")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"item {item.item_id}: gold {item.gold!r} is not an angle") from None
    gold_unit = item.gold_unit or "rad"
    if not is_angle_unit(gold_unit):
        raise ValueError(f"item {item.item_id}: gold unit {gold_unit!r} is not an angle unit (rad, deg)")
    number = convert(number, gold_unit, to_unit)
    if not math.isfinite(number):
        raise ValueError(f"item {item.item_id}: gold {item.gold!r} is not finite")
    return number


def _gold_numbers(item: PredictionItem, n: int, what: str) -> tuple[float, ...]:
    """The gold as n finite numbers (a list or tuple; not a text, not booleans), or a ValueError naming it."""
    value = item.gold
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != n:
        raise ValueError(f"item {item.item_id}: gold {item.gold!r} is not {what}")
    if any(isinstance(v, bool) for v in value):
        raise ValueError(f"item {item.item_id}: gold {item.gold!r} is not {what}")
    try:
        values = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"item {item.item_id}: gold {item.gold!r} is not {what}") from None
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"item {item.item_id}: gold {item.gold!r} is not finite")
    return values


def _parsed_gold(item: PredictionItem, parsed: Parsed, what: str) -> Any:
    if not parsed.ok:
        raise ValueError(f"item {item.item_id}: gold {item.gold!r} is not {what} ({parsed.detail})")
    return parsed.value


def _gold_box(item: PredictionItem, rule: ScoringRule) -> tuple[float, float, float, float]:
    """The gold box [x0, y0, x1, y1] on the 0-1000 grid, min corner first with a positive area (a list, or a
    text the box parser reads). A gold with its corners swapped is refused, not reordered: the record is
    wrong."""
    if isinstance(item.gold, str):
        return _parsed_gold(item, parse_box(item.gold), "a box")
    box = _gold_numbers(item, 4, "a box [x0, y0, x1, y1]")
    why = check_on_grid(box, "box")
    if why is not None:
        raise ValueError(f"item {item.item_id}: gold {item.gold!r}: {why}")
    if not (box[0] < box[2] and box[1] < box[3]):
        raise ValueError(f"item {item.item_id}: gold {item.gold!r} needs x0 < x1 and y0 < y1")
    return box  # type: ignore[return-value]


def _gold_image_point(item: PredictionItem, rule: ScoringRule) -> tuple[float, float, float]:
    """The gold [x, y, depth]: a point on the 0-1000 grid and a depth > 0 in the rule's depth unit (metres
    unless parse says to_unit; a gold_unit converts a numeric gold's depth), or a text the parser reads."""
    if isinstance(item.gold, str):
        return _parsed_gold(item, parse_image_point(item.gold, **rule.parse), "an image point with a depth")
    x, y, depth = _gold_numbers(item, 3, "an image point [x, y, depth]")
    why = check_on_grid((x, y), "point")
    if why is not None:
        raise ValueError(f"item {item.item_id}: gold {item.gold!r}: {why}")
    if item.gold_unit is not None:
        unit = canonical_unit(item.gold_unit)
        if unit is None:
            raise ValueError(f"item {item.item_id}: gold unit {item.gold_unit!r} is not a length unit")
        depth = convert(depth, unit, rule.parse.get("to_unit", "m"))
    if depth <= 0.0:
        raise ValueError(f"item {item.item_id}: gold depth {depth:g} is not positive")
    return x, y, depth


def _gold_index_list(item: PredictionItem, rule: ScoringRule) -> tuple[int, ...]:
    """The gold image numbers: a non-empty list of distinct ints >= 1 (1-based, as shown to the model), or a
    text the parser reads. Never empty: no task asks where an object appears when it appears nowhere else
    (SPAR picks objects seen in two frames or more), so an empty gold is a broken record."""
    value = item.gold
    if isinstance(value, str):
        value = _parsed_gold(item, parse_index_list(value), "a list of image numbers")
    if isinstance(value, (bytes, dict)) or not hasattr(value, "__iter__"):
        raise ValueError(f"item {item.item_id}: gold {item.gold!r} is not a list of image numbers")
    indices: list[int] = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not float(v).is_integer() or v < 1:
            raise ValueError(f"item {item.item_id}: gold {item.gold!r} holds {v!r}, not an image number >= 1")
        indices.append(int(v))
    if not indices:
        raise ValueError(f"item {item.item_id}: gold {item.gold!r} is empty")
    if len(set(indices)) != len(indices):
        raise ValueError(f"item {item.item_id}: gold {item.gold!r} repeats an image number")
    return tuple(indices)


def _gold_region(item: PredictionItem, rule: ScoringRule) -> tuple[tuple[tuple[float, float], ...], ...]:
    """The gold region: one polygon (a sequence of >= 3 [x, y] vertices, as RoboSpatial-Home releases it) or
    several (a sequence of such polygons), vertices on the 0-1 image scale; or a text the point parser reads
    as one polygon ("[(0.1, 0.2), (0.3, 0.2), (0.2, 0.4)]")."""
    value = item.gold
    if isinstance(value, str):
        value = _parsed_gold(item, parse_points(value), "a polygon")
    if isinstance(value, (bytes, dict)) or not hasattr(value, "__iter__"):
        raise ValueError(f"item {item.item_id}: gold {item.gold!r} is not a polygon")
    value = list(value)
    # One polygon when its first element is a vertex (two numbers), else a list of polygons.
    first = value[0] if value else None
    is_vertex = hasattr(first, "__len__") and len(first) == 2 and all(_is_number(c) for c in first)
    polygons = [value] if is_vertex else value
    region = []
    for polygon in polygons:
        vertices = []
        for vertex in polygon if hasattr(polygon, "__iter__") else ():
            if not (hasattr(vertex, "__len__") and len(vertex) == 2 and all(_is_number(c) for c in vertex)):
                raise ValueError(
                    f"item {item.item_id}: gold {item.gold!r} holds {vertex!r}, not an [x, y] vertex"
                )
            x, y = float(vertex[0]), float(vertex[1])
            if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
                raise ValueError(
                    f"item {item.item_id}: gold vertex ({x:g}, {y:g}) is not on the 0-1 image scale"
                )
            vertices.append((x, y))
        if len(vertices) < 3:
            raise ValueError(
                f"item {item.item_id}: gold {item.gold!r} has a polygon of fewer than 3 vertices"
            )
        region.append(tuple(vertices))
    if not region:
        raise ValueError(f"item {item.item_id}: gold {item.gold!r} is empty")
    return tuple(region)


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(float(value))


def _gold_clock(item: PredictionItem, rule: ScoringRule) -> int:
    try:
        hour = int(item.gold)
    except (TypeError, ValueError):
        raise ValueError(f"item {item.item_id}: gold {item.gold!r} is not a clock hour") from None
    if not 1 <= hour <= 12:
        raise ValueError(f"item {item.item_id}: gold {item.gold!r} is not a clock hour 1..12")
    return hour


@dataclass(frozen=True)
class AnswerType:
    """How one kind of answer is read: the reply with `parser`, the benchmark's gold with `gold` (into the
    form the metric compares). Choice parsers also take the item's options; number-like parsers take the
    rule's `parse` keyword arguments (units, first/last)."""

    parser: Callable[..., Parsed]
    gold: Callable[[PredictionItem, ScoringRule], Any]
    needs_options: bool = False
    takes_parse_kwargs: bool = False

    def read_reply(self, item: PredictionItem, rule: ScoringRule) -> Parsed:
        if self.needs_options:
            if not item.options:
                raise ValueError(f"item {item.item_id}: a choice task needs options")
            return self.parser(item.prediction, item.options)
        return self.parser(item.prediction, **(rule.parse if self.takes_parse_kwargs else {}))


ANSWER_TYPES: dict[str, AnswerType] = {
    "choice": AnswerType(parse_choice, _gold_letter, needs_options=True),
    "yes_no": AnswerType(parse_yes_no, _gold_bool),
    "number": AnswerType(parse_number, _gold_number, takes_parse_kwargs=True),
    "qspatial": AnswerType(parse_qspatial, _gold_number, takes_parse_kwargs=True),
    "clock": AnswerType(parse_clock, _gold_clock),
    "vector": AnswerType(parse_vector, _gold_vector),
    "view_change": AnswerType(parse_view_change, _gold_view_change),
    "angle": AnswerType(parse_angle, _gold_angle, takes_parse_kwargs=True),
    "box": AnswerType(parse_box, _gold_box),
    "image_point": AnswerType(parse_image_point, _gold_image_point, takes_parse_kwargs=True),
    "index_list": AnswerType(parse_index_list, _gold_index_list),
    "points": AnswerType(parse_points, _gold_region),
}

# Answer types that only one family of metrics can compare, both ways: a box is scored by IoU and IoU scores
# only boxes (an "accuracy" on boxes would demand the exact pixels).
_PAIRED_METRICS: dict[str, frozenset[str]] = {
    "box": frozenset({"box_iou"}),
    "image_point": frozenset({"image_point_within"}),
    "index_list": frozenset({"exact_set", "exact_sequence"}),
    "points": frozenset({"point_in_polygon"}),
}


def _check_pairing(rule: ScoringRule) -> None:
    """A ValueError when a rule pairs a grid or list answer with a metric that cannot compare it, or gives
    such a metric an unusable parameter: found when the benchmark is read, whatever the replies."""
    for answer_type, metric_names in _PAIRED_METRICS.items():
        if (rule.answer_type == answer_type) != (rule.metric in metric_names):
            raise ValueError(
                f"metric {rule.metric!r} cannot score answer type {rule.answer_type!r}: answer type "
                f"{answer_type!r} goes with metric {' or '.join(sorted(metric_names))}"
            )
    if rule.metric == "box_iou":
        _box_threshold(rule)
    elif rule.metric == "image_point_within":
        _image_point_limits(rule)
    elif rule.metric == "point_in_polygon":
        _polygon_params(rule)


def _answer_type(rule: ScoringRule) -> AnswerType:
    try:
        return ANSWER_TYPES[rule.answer_type]
    except KeyError:
        raise ValueError(f"unknown answer type {rule.answer_type!r}") from None


def gold_value(item: PredictionItem, rule: ScoringRule) -> Any:
    """The gold answer in the form the metric compares (letter, bool, float in the rule's unit, hour, vector,
    view-change components). Raises ValueError naming the item when the benchmark's gold is unusable."""
    _check_pairing(rule)
    return _answer_type(rule).gold(item, rule)


# (parsed value, gold value, rule) -> (score 0..1, correct or None for continuous metrics, reason)
Scorer = Callable[[Any, Any, ScoringRule], tuple[float, bool | None, str]]


def _score_accuracy(value: Any, gold: Any, rule: ScoringRule) -> tuple[float, bool | None, str]:
    ok = value == gold
    return float(ok), ok, "match" if ok else f"expected {gold!r}"


def _score_numeric(value: Any, gold: float, rule: ScoringRule) -> tuple[float, bool | None, str]:
    pred = float(value)
    if rule.metric == "mra":
        s = metrics.mean_relative_accuracy(pred, gold)
        return s, None, f"MRA {s:.2f} (pred {pred:g}, gold {gold:g})"
    if rule.metric == "spatialrgpt":
        ok = metrics.spatialrgpt_success(pred, gold)
    elif rule.metric == "qspatial":
        ok = metrics.qspatial_success(pred, gold, **rule.params)
    elif rule.metric == "hispatial_qspatial_paper":
        ok = metrics.hispatial_qspatial_success(pred, gold, variant="paper")
    elif rule.metric == "hispatial_qspatial_released":
        ok = metrics.hispatial_qspatial_success(pred, gold, variant="released")
    else:
        raise ValueError(f"unknown numeric metric {rule.metric!r}")
    return float(ok), ok, f"pred {pred:g} vs gold {gold:g}: {'within' if ok else 'outside'} the band"


def _score_clock(value: Any, gold: int, rule: ScoringRule) -> tuple[float, bool | None, str]:
    ok = metrics.clock_hour_success(int(value), gold, **rule.params)
    return float(ok), ok, f"{value} o'clock vs {gold} o'clock"


def _score_direction(value: Any, gold: tuple, rule: ScoringRule) -> tuple[float, bool | None, str]:
    threshold = rule.params.get("threshold_deg", metrics.HISPATIAL_DIRECTION_THRESHOLD_DEG)
    angle = metrics.angle_deg(value, gold)
    ok = metrics.direction_success(value, gold, threshold)
    return float(ok), ok, f"angle {angle:.1f} deg (threshold {threshold:g})"


def _score_position(value: Any, gold: tuple, rule: ScoringRule) -> tuple[float, bool | None, str]:
    limit = float(rule.params.get("max_relative_error", metrics.POSITION_RELATIVE_TOLERANCE))
    ratio = metrics.position_error_ratio(value, gold)
    ok = metrics.position_within(value, gold, limit)
    return float(ok), ok, f"error {ratio:.2f} x the distance (threshold {limit:g})"


def _score_angle(value: Any, gold: float, rule: ScoringRule) -> tuple[float, bool | None, str]:
    """angle_within on radians (params threshold_rad, circular; both required: a record states them)."""
    try:
        threshold, circular = float(rule.params["threshold_rad"]), rule.params["circular"]
    except KeyError as e:
        raise ValueError(
            f"metric angle_within needs params threshold_rad and circular, missing {e}"
        ) from None
    if not isinstance(circular, bool):
        raise ValueError(f"metric angle_within: params circular must be true or false, got {circular!r}")
    if rule.parse.get("to_unit", "rad") != "rad":
        raise ValueError("metric angle_within compares radians: parse to_unit must be 'rad'")
    error = metrics.angle_error_rad(float(value), gold, circular=circular)
    ok = metrics.angle_within(float(value), gold, threshold, circular=circular)
    way = "circular" if circular else "linear"
    reason = f"error {math.degrees(error):.1f} deg ({way}; threshold {math.degrees(threshold):g} deg)"
    return float(ok), ok, reason


def _score_view_change(value: Any, gold: dict, rule: ScoringRule) -> tuple[float, bool | None, str]:
    variant = rule.params.get("variant", "as_released")
    s = metrics.view_change_mra(value, gold, variant=variant)
    return s, None, f"mean MRA over the 5 view-change components ({variant}) {s:.2f}"


def _param(rule: ScoringRule, name: str, default: float, *, low: float, high: float = math.inf) -> float:
    """A numeric metric parameter in [low, high] (low exclusive), or a ValueError naming it."""
    raw = rule.params.get(name, default)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"metric {rule.metric}: params {name} must be a number, got {raw!r}") from None
    if isinstance(raw, bool) or not low < value <= high:
        raise ValueError(f"metric {rule.metric}: params {name} must be in ({low:g}, {high:g}], got {raw!r}")
    return value


def _box_threshold(rule: ScoringRule) -> float:
    return _param(rule, "threshold", metrics.BOX_IOU_THRESHOLD, low=0.0, high=1.0)


def _image_point_limits(rule: ScoringRule) -> tuple[float, float]:
    return (
        _param(rule, "max_grid_error", metrics.IMAGE_POINT_MAX_GRID_ERROR, low=0.0),
        _param(rule, "max_relative_depth_error", metrics.IMAGE_POINT_MAX_RELATIVE_DEPTH_ERROR, low=0.0),
    )


def _score_box(value: Any, gold: tuple, rule: ScoringRule) -> tuple[float, bool | None, str]:
    threshold = _box_threshold(rule)
    iou = metrics.box_iou(value, gold)
    ok = metrics.box_iou_success(value, gold, threshold)
    return float(ok), ok, f"IoU {iou:.3f} (threshold {threshold:g})"


def _score_image_point(value: Any, gold: tuple, rule: ScoringRule) -> tuple[float, bool | None, str]:
    max_grid, max_depth = _image_point_limits(rule)
    distance, depth_error = metrics.image_point_errors(value, gold)
    ok = metrics.image_point_within(value, gold, max_grid, max_depth)
    reason = (
        f"point {distance:.1f} grid units off (max {max_grid:g}), depth {depth_error:.2f} x gold off "
        f"(max {max_depth:g})"
    )
    return float(ok), ok, reason


def _polygon_params(rule: ScoringRule) -> tuple[str, str]:
    """(which reply points, point-in-polygon variant) of a point_in_polygon rule, checked."""
    points_used = rule.params.get("points", "first")
    variant = rule.params.get("variant", "as_released")
    if points_used not in metrics.POINT_SELECTIONS:
        raise ValueError(f"metric point_in_polygon: params points must be one of {metrics.POINT_SELECTIONS}")
    if variant not in metrics.POINT_IN_POLYGON_VARIANTS:
        raise ValueError(
            f"metric point_in_polygon: params variant must be one of {metrics.POINT_IN_POLYGON_VARIANTS}"
        )
    return points_used, variant


def _score_points(value: Any, gold: tuple, rule: ScoringRule) -> tuple[float, bool | None, str]:
    points_used, variant = _polygon_params(rule)
    ok = metrics.points_in_region(value, gold, points_used, variant)
    shown = value[:1] if points_used == "first" else value
    listed = ", ".join(f"({x:g}, {y:g})" for x, y in shown)
    where = "inside" if ok else "not inside"
    scope = "first point" if points_used == "first" else f"{points_used} of {len(value)} points"
    return float(ok), ok, f"{scope} {listed}: {where} the gold region ({variant})"


def _listed(numbers: Any) -> str:
    return "[" + ", ".join(str(n) for n in numbers) + "]"


def _score_index_list(value: Any, gold: tuple, rule: ScoringRule) -> tuple[float, bool | None, str]:
    if rule.metric == "exact_set":
        ok = metrics.exact_set(value, gold)
        missing, extra = sorted(set(gold) - set(value)), sorted(set(value) - set(gold))
        reason = "same images" if ok else f"missing {_listed(missing)}, extra {_listed(extra)}"
    else:
        ok = metrics.exact_sequence(value, gold)
        reason = "same order" if ok else f"expected {_listed(gold)}, got {_listed(value)}"
    return float(ok), ok, reason


_SCORERS: dict[str, Scorer] = {
    "accuracy": _score_accuracy,
    "mra": _score_numeric,
    "spatialrgpt": _score_numeric,
    "qspatial": _score_numeric,
    "hispatial_qspatial_paper": _score_numeric,
    "hispatial_qspatial_released": _score_numeric,
    "clock_hour": _score_clock,
    "direction_angle": _score_direction,
    "position_within": _score_position,
    "view_change_mra": _score_view_change,
    "angle_within": _score_angle,
    "box_iou": _score_box,
    "image_point_within": _score_image_point,
    "exact_set": _score_index_list,
    "exact_sequence": _score_index_list,
    "point_in_polygon": _score_points,
}


def known_metric(metric: str) -> bool:
    return metric in _SCORERS


def score_item(item: PredictionItem, rule: ScoringRule) -> ItemDecision:
    """Parse the reply, compare with the gold answer, say why. Unparsed replies score 0 with their status.

    Raises ValueError for an unusable gold answer or rule, whatever the reply (the benchmark file is wrong).
    """
    scorer = _SCORERS.get(rule.metric)
    if scorer is None:
        raise ValueError(f"unknown metric {rule.metric!r}")
    answer_type = _answer_type(rule)
    _check_pairing(rule)
    gold = answer_type.gold(item, rule)
    parsed = answer_type.read_reply(item, rule)
    if parsed.ok:
        score, correct, reason = scorer(parsed.value, gold, rule)
    else:
        score, correct = 0.0, (None if rule.metric.startswith(("mra", "view_change")) else False)
        reason = f"not scored: {parsed.status}"
    return ItemDecision(
        item_id=item.item_id,
        task=item.task,
        answer_type=rule.answer_type,
        metric=rule.metric,
        parse_status=parsed.status,
        parsed=parsed.value,
        parse_detail=parsed.detail,
        gold=item.gold,
        gold_value=gold,
        score=score,
        correct=correct,
        reason=reason,
        group=item.group,
    )
