"""The leakage guard's exclusion lists: scenes whose images published benchmarks are built from.

Training data must not contain a test image of a benchmark the model will be scored on. An exclusion list
names such scenes in three ways, any of which excludes a scene:
- rules by source dataset and split ("omni3d" scenes of split "test"): coarse, for benchmarks that draw from a
  documented evaluation split;
- capture ids / scene ids: exact, when the benchmark's scenes are known by id (ScanNet `scene0011_00`);
- image paths: exact, from a benchmark's released files. Matched by their last `IMAGE_KEY_PARTS` path parts,
  lower-cased ("training/image_2/000123.png"), so the same photo is caught whichever adapter read it (Omni3D's
  `KITTI_object/training/image_2/000123.png` and the KITTI adapter's `.../training/image_2/000123.png`).

The built-in lists (BUILTIN_EXCLUSIONS) are the rules the papers document; each says where it comes from and
what it cannot know. For an exact guard, write the benchmark's own image list into a file and pass it with
`--exclude-list` (format below); `spatialforge bench exclusions` prints the built-ins.

List file format: JSON `{"name": ..., "note": ..., "rules": [{"source": ..., "splits": [...]}], "capture_ids":
[...], "scene_ids": [...], "images": [...]}` or plain text, one entry per line: `capture:<id>`, `scene:<id>`,
`image:<path>` or `source:<name>/<split>`; `#` starts a comment.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from spatialforge.errors import RecordError
from spatialforge.scene.records import Scene

IMAGE_KEY_PARTS = 3


def image_key(path: str) -> str:
    """The last IMAGE_KEY_PARTS parts of an image path, lower-cased, '/'-joined (see the module docstring)."""
    parts = [p for p in PurePosixPath(path.replace("\\", "/")).parts if p not in ("/", ".")]
    return "/".join(parts[-IMAGE_KEY_PARTS:]).lower()


@dataclass(frozen=True)
class SourceSplitRule:
    source: str
    splits: tuple[str, ...]  # () matches every split of the source

    def matches(self, scene: Scene) -> bool:
        if scene.source != self.source:
            return False
        return not self.splits or (scene.split or "") in self.splits


@dataclass(frozen=True)
class ExclusionList:
    name: str
    note: str = ""
    rules: tuple[SourceSplitRule, ...] = ()
    capture_ids: frozenset[str] = frozenset()
    scene_ids: frozenset[str] = frozenset()
    image_keys: frozenset[str] = frozenset()
    origin: str = "builtin"

    def match(self, scene: Scene) -> str | None:
        """Why `scene` is excluded by this list ("capture", "scene", "image", "source_split"), or None."""
        if scene.capture_id in self.capture_ids:
            return "capture"
        if scene.scene_id in self.scene_ids:
            return "scene"
        if self.image_keys and any(image_key(v.image_path) in self.image_keys for v in scene.views):
            return "image"
        if any(rule.matches(scene) for rule in self.rules):
            return "source_split"
        return None

    def summary(self) -> dict[str, object]:
        return {
            "name": self.name,
            "origin": self.origin,
            "note": self.note,
            "rules": [{"source": r.source, "splits": list(r.splits)} for r in self.rules],
            "capture_ids": len(self.capture_ids),
            "scene_ids": len(self.scene_ids),
            "images": len(self.image_keys),
        }


# Evaluation splits the benchmarks are drawn from, as their papers state them.
_OMNI3D_EVAL = SourceSplitRule("omni3d", ("test", "val"))
BUILTIN_EXCLUSIONS: dict[str, ExclusionList] = {
    "spatialvqa": ExclusionList(
        "spatialvqa",
        "SpatialLLM's SpatialVQA (paper 001, sec. 3.2.2): 1,323 questions on Omni3D images; the paper "
        "does not name the split, so Omni3D's evaluation splits (test, val) are excluded. Exact: pass its "
        "image list.",
        (_OMNI3D_EVAL,),
    ),
    "cvbench3d": ExclusionList(
        "cvbench3d",
        "CV-Bench 3D tasks (Cambrian-1) are built on Omni3D images; Omni3D's evaluation splits (test, val) "
        "are excluded. Exact: pass the image list of its 3D subset.",
        (_OMNI3D_EVAL,),
    ),
    "spatialrgpt_bench": ExclusionList(
        "spatialrgpt_bench",
        "SpatialRGPT-Bench is built on Omni3D-annotated images (SUN RGB-D, ARKitScenes, nuScenes, KITTI, "
        "Hypersim); Omni3D's evaluation splits (test, val) are excluded. Exact: pass its image list.",
        (_OMNI3D_EVAL,),
    ),
    "sparbench": ExclusionList(
        "sparbench",
        "SPAR-Bench (paper 003, sec. 3.3): 400 questions per task sampled from SPAR-7M's validation set, "
        "built from ScanNet, ScanNet++ and Structured3D: their validation scenes are excluded.",
        (
            SourceSplitRule("scannet", ("val",)),
            SourceSplitRule("scannetpp", ("val",)),
            SourceSplitRule("structured3d", ("val",)),
        ),
    ),
    "vsibench": ExclusionList(
        "vsibench",
        "VSI-Bench (Thinking in Space, sec. 3) uses the validation sets of ScanNet, ScanNet++ and "
        "ARKitScenes: their validation scenes are excluded.",
        (
            SourceSplitRule("scannet", ("val",)),
            SourceSplitRule("scannetpp", ("val",)),
            SourceSplitRule("arkitscenes", ("val", "validation")),
        ),
    ),
}


def _bad(path: Path, detail: str, line: int | None = None) -> RecordError:
    return RecordError(
        "invalid_exclusion_list", detail, file=str(path), record=None if line is None else f"line {line}"
    )


_JSON_KEYS = ("name", "note", "rules", "capture_ids", "scene_ids", "images")


def _from_json(path: Path, data: object) -> ExclusionList:
    if not isinstance(data, dict):
        raise _bad(path, "an exclusion list in JSON is an object")
    unknown = sorted(set(data) - set(_JSON_KEYS))
    if unknown:  # a misspelt key would otherwise give a list that excludes nothing
        raise _bad(path, f"unknown key(s) {unknown}; an exclusion list has {list(_JSON_KEYS)}")
    rules = []
    for i, rule in enumerate(data.get("rules") or []):
        if not isinstance(rule, dict) or not isinstance(rule.get("source"), str):
            raise _bad(path, f"rules[{i}] needs a source")
        rules.append(SourceSplitRule(rule["source"], tuple(str(s) for s in rule.get("splits") or ())))

    def strings(key: str) -> list[str]:
        values = data.get(key) or []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise _bad(path, f"{key} must be a list of strings")
        return values

    return ExclusionList(
        name=str(data.get("name") or path.stem),
        note=str(data.get("note") or ""),
        rules=tuple(rules),
        capture_ids=frozenset(strings("capture_ids")),
        scene_ids=frozenset(strings("scene_ids")),
        image_keys=frozenset(image_key(p) for p in strings("images")),
        origin=str(path),
    )


def _from_text(path: Path, text: str) -> ExclusionList:
    captures, scenes, images, rules = set(), set(), set(), []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        kind, sep, value = line.partition(":")
        value = value.strip()
        if not sep or not value:
            raise _bad(path, f"expected capture:, scene:, image: or source: and a value, got {raw!r}", n)
        if kind == "capture":
            captures.add(value)
        elif kind == "scene":
            scenes.add(value)
        elif kind == "image":
            images.add(image_key(value))
        elif kind == "source":
            source, _, split = value.partition("/")
            rules.append(SourceSplitRule(source, (split,) if split else ()))
        else:
            raise _bad(path, f"unknown entry kind {kind!r}", n)
    return ExclusionList(
        path.stem, "", tuple(rules), frozenset(captures), frozenset(scenes), frozenset(images), str(path)
    )


def load_exclusion_list(path: str | Path) -> ExclusionList:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise RecordError("unreadable_file", f"cannot read the exclusion list: {e}", file=str(p)) from None
    if text.lstrip().startswith("{"):
        try:
            return _from_json(p, json.loads(text))
        except json.JSONDecodeError as e:
            raise _bad(p, f"not valid JSON ({e.msg} at column {e.colno})", e.lineno) from None
    return _from_text(p, text)


def resolve_exclusions(names: Sequence[str] = (), files: Sequence[str | Path] = ()) -> list[ExclusionList]:
    """Built-in lists by name ("all" for every one) plus lists from files."""
    wanted = list(BUILTIN_EXCLUSIONS) if "all" in names else list(names)
    unknown = [n for n in wanted if n not in BUILTIN_EXCLUSIONS]
    if unknown:
        raise ValueError(f"unknown exclusion list(s) {unknown}; built in: {sorted(BUILTIN_EXCLUSIONS)}")
    return [BUILTIN_EXCLUSIONS[n] for n in wanted] + [load_exclusion_list(f) for f in files]


@dataclass
class ExclusionMatcher:
    """Applies several lists; the first that matches names the exclusion (counted "<list>/<how>").

    A capture is the split unit, so an excluded scene takes its whole capture with it: after `prepare` has
    seen every scene, the other scenes of a capture with an excluded scene are excluded too, counted as
    "<list>/capture_sibling" (the next frames of a KITTI drive whose one frame a benchmark uses)."""

    lists: Sequence[ExclusionList]
    counts: dict[str, int] = field(default_factory=dict)
    tainted: dict[str, str] = field(
        default_factory=dict
    )  # capture id -> the list that excluded a scene of it

    def _direct(self, scene: Scene) -> tuple[str, str] | None:
        for lst in self.lists:
            how = lst.match(scene)
            if how is not None:
                return lst.name, how
        return None

    def prepare(self, scenes: Iterable[Scene]) -> None:
        """First pass: the captures that hold an excluded scene (counts nothing)."""
        for scene in scenes:
            hit = self._direct(scene)
            if hit is not None:
                self.tainted.setdefault(scene.capture_id, hit[0])

    def excluded_by(self, scene: Scene) -> str | None:
        hit = self._direct(scene)
        if hit is not None:
            key = f"{hit[0]}/{hit[1]}"
        elif scene.capture_id in self.tainted:
            key = f"{self.tainted[scene.capture_id]}/capture_sibling"
        else:
            return None
        self.counts[key] = self.counts.get(key, 0) + 1
        return key

    def summaries(self) -> list[dict[str, object]]:
        return [lst.summary() for lst in self.lists]
