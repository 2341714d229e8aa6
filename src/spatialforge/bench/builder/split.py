"""Train / benchmark split by capture, never by image.

A capture (`Scene.capture_id`: a KITTI drive, a ScanNet room with all its rescans, a synthetic scene) goes
whole to one side: images of one capture share walls, cars and lighting, so a benchmark image whose capture
sibling is in training is leaked. Assignment is a pure function of (salt, capture_id): the same capture lands
on the same side in every run, on every machine, whatever the order or number of scenes, and adding scenes
never moves an old capture.

Two ways to choose the benchmark side:
- `fraction`: a capture goes to the benchmark when the hash of (salt, capture_id), read as a number in [0, 1),
  is below the fraction;
- `benchmark_splits`: captures with a scene in one of the sources' own evaluation splits ("test", "val") go to
  the benchmark; a capture with scenes on both sides of the source's split goes to the benchmark whole
  (the conservative side), counted as `capture_split_conflict`.

Scenes an exclusion list names (a published benchmark's images) go to neither side and are counted by list.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from spatialforge.bench.builder.exclusions import ExclusionList, ExclusionMatcher
from spatialforge.errors import RecordError
from spatialforge.scene.io import SceneWriter, iter_scene_lines
from spatialforge.scene.records import Scene

DEFAULT_SALT = "spatialforge-benchmark-v1"
TRAIN, BENCHMARK = "train", "benchmark"
SPLIT_FILE = "split.json"


def capture_unit(capture_id: str, salt: str = DEFAULT_SALT) -> float:
    """A number in [0, 1) fixed by (salt, capture_id): the first 8 bytes of blake2b as a fraction of 2**64."""
    digest = hashlib.blake2b(f"{salt}\x1f{capture_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def side_by_fraction(capture_id: str, fraction: float, salt: str = DEFAULT_SALT) -> str:
    return BENCHMARK if capture_unit(capture_id, salt) < fraction else TRAIN


@dataclass(frozen=True)
class SplitConfig:
    fraction: float = 0.1
    salt: str = DEFAULT_SALT
    benchmark_splits: tuple[str, ...] = ()  # non-empty: use the sources' own splits instead of the fraction

    def __post_init__(self) -> None:
        if not 0.0 <= self.fraction <= 1.0:
            raise ValueError(f"fraction must lie in [0, 1], got {self.fraction}")


@dataclass
class SplitReport:
    config: SplitConfig
    scenes: Counter = field(default_factory=Counter)  # per side
    captures: dict[str, set[str]] = field(default_factory=lambda: {TRAIN: set(), BENCHMARK: set()})
    excluded: Counter = field(default_factory=Counter)  # "<list>/<how>" -> scenes
    skipped: Counter = field(default_factory=Counter)  # bad scene lines by reason
    conflicts: int = 0
    exclusion_lists: list[dict[str, object]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "config": asdict(self.config),
            "scenes": dict(self.scenes),
            "captures": {side: len(ids) for side, ids in self.captures.items()},
            "excluded_scenes": dict(self.excluded),
            "skipped_lines": dict(self.skipped),
            "capture_split_conflicts": self.conflicts,
            "exclusion_lists": self.exclusion_lists,
            "benchmark_capture_ids": sorted(self.captures[BENCHMARK]),
        }


def _benchmark_captures_by_source_split(
    scenes: Iterable[Scene], splits: Sequence[str]
) -> tuple[set[str], int]:
    """Captures with any scene in one of `splits`; and how many of them also have scenes outside it."""
    inside, outside = set(), set()
    for scene in scenes:
        (inside if (scene.split or "") in splits else outside).add(scene.capture_id)
    return inside, len(inside & outside)


def split_scenes(
    scenes_path: str | Path,
    output_dir: str | Path,
    config: SplitConfig,
    exclusions: Sequence[ExclusionList] = (),
    *,
    skip_invalid: bool = False,
) -> SplitReport:
    """Write output_dir/train.scenes.jsonl and benchmark.scenes.jsonl (input order kept) and split.json.

    Streams the file, once more with exclusion lists (to find the captures an excluded scene takes with it)
    and with benchmark_splits (to find the benchmark captures). A bad scene line stops the
    split naming file and line, or with skip_invalid is counted under its reason."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = SplitReport(config)
    matcher = ExclusionMatcher(exclusions)
    report.exclusion_lists = matcher.summaries()

    def scenes() -> Iterable[Scene]:
        for entry in iter_scene_lines(scenes_path):
            if isinstance(entry, RecordError):
                if not skip_invalid:
                    raise entry
                report.skipped[entry.reason] += 1
                continue
            yield entry

    if exclusions:
        matcher.prepare(scenes())  # an excluded scene takes its capture with it
        report.skipped.clear()  # counted again on the writing pass
    bench_captures: set[str] | None = None
    if config.benchmark_splits:
        bench_captures, report.conflicts = _benchmark_captures_by_source_split(
            scenes(), config.benchmark_splits
        )
        report.skipped.clear()
    with (
        SceneWriter(out / f"{TRAIN}.scenes.jsonl") as train_w,
        SceneWriter(out / f"{BENCHMARK}.scenes.jsonl") as bench_w,
    ):
        for scene in scenes():
            if matcher.excluded_by(scene) is not None:
                continue
            if bench_captures is not None:
                side = BENCHMARK if scene.capture_id in bench_captures else TRAIN
            else:
                side = side_by_fraction(scene.capture_id, config.fraction, config.salt)
            (bench_w if side == BENCHMARK else train_w).write(scene)
            report.scenes[side] += 1
            report.captures[side].add(scene.capture_id)
    report.excluded = Counter(matcher.counts)
    (out / SPLIT_FILE).write_text(json.dumps(report.as_dict(), indent=2) + "\n")
    return report
