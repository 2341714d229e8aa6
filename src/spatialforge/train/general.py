"""General (non-spatial) VQA made from scene views: our miniature stand-in for general VQA / caption data.

HiSpatial trains on spatial : general data 7 : 1 (SPEC section 6), the general part being LLaVA-style
caption and VQA data (LLaVA CC558K / Mix665K) that keeps the model's ordinary image understanding. Those sets
are not redistributable here, so this module asks questions of the same kind about the scene views we have:
questions that need the image but no 3D reasoning, answered from the scene record's per-view facts.

Per view (deterministic: the only randomness is a generator keyed by the options' seed, the scene and the
view, so the same scenes give the same questions in every run and process):
- "caption": "Describe the image." -> "An indoor room with a sofa, two chairs and a lamp." from the
  categories of the objects visible in the view, counted, largest 2D box first;
- "presence": "Is there a lamp in the image?" -> "Yes, there is a lamp in the image." for a visible
  category, "No, there is no bed in the image." for a category of the setting's list that no object of the
  scene has (a category that is in the scene but not visible in this view is never asked: it may still be
  partly in the picture);
- "objects": "What objects can you see?" -> "A sofa, two chairs and a lamp."

"Visible" is the engine's own rule (qa/references.py visible_objects: observed, in front of the camera, a
valid 2D box covering at least 0.1 % of the image, not mostly occluded), so these answers agree with what
the spatial questions may name. The setting's category list: options.categories when given, else the synth
catalogue of the scene's setting (synth/assets.py categories), else every category of the scenes file's
scenes of the same source. Templates are data (GENERAL_TEMPLATES); English forms (plurals, "a"/"an",
numbers in words) are in the helpers below.

Examples: ExampleInfo(task "general/<kind>", level None, family "general", kind "general"). Images are the
view's original image (no markers); point maps from the view's depth unless options.point_maps is false
(HiSpatial feeds point maps with every image, so a general example with geometry is the faithful default).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from spatialforge.jsonl import decode_line
from spatialforge.models.pointmap import PointMap
from spatialforge.qa.references import visible_objects
from spatialforge.scene.records import Scene, View
from spatialforge.train.data import (
    GENERAL_FAMILY,
    BaseDataset,
    ExampleInfo,
    SceneStore,
    SourceConfig,
    iter_lines,
    option,
)

GENERAL_KINDS = ("caption", "presence", "objects")

# Question and answer templates per kind. Fields: {setting} ("an indoor room"), {objects} (the counted
# list: "a sofa, two chairs and a lamp"), {a_object} ("a lamp"), {object} ("lamp"), {counted} ("two chairs"),
# {be} ("is" / "are"). A question is drawn per example; answers pair with the outcome (yes / no / list).
GENERAL_TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "caption": {
        "question": (
            "Describe the image.",
            "Describe the image briefly.",
            "What does this image show?",
            "Give a short caption for this picture.",
        ),
        "answer": ("{setting} with {objects}.",),
    },
    "presence": {
        "question": (
            "Is there {a_object} in the image?",
            "Can you see {a_object} in this picture?",
            "Does the image show {a_object}?",
        ),
        "yes": ("Yes, there {be} {counted} in the image.",),
        "no": ("No, there is no {object} in the image.",),
    },
    "objects": {
        "question": (
            "What objects can you see?",
            "What objects are in the image?",
            "List the objects you can see in the image.",
        ),
        "answer": ("{objects}.",),
    },
}

# How a caption names a scene's setting (Scene.metadata["setting"] of synthetic scenes).
SETTING_PHRASES: dict[str, str] = {
    "indoor": "an indoor room",
    "tabletop": "a table top",
    "street": "a street scene",
}
DEFAULT_SETTING_PHRASE = "a scene"
DEFAULT_PRESENCE_PER_VIEW = 2

# ---------------------------------------------------------------- English

NUMBER_WORDS = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
)
IRREGULAR_PLURALS = {
    "person": "people",
    "child": "children",
    "man": "men",
    "woman": "women",
    "mouse": "mice",
    "foot": "feet",
    "shelf": "shelves",
    "bookshelf": "bookshelves",
    "knife": "knives",
    "leaf": "leaves",
    "loaf": "loaves",
    "sheep": "sheep",
    "fish": "fish",
    "tv": "TVs",
    "series": "series",
}
DISPLAY_NAMES = {"tv": "TV"}  # category -> how a sentence writes it
# Words spelled with a vowel letter but said with a consonant sound ("a unicycle") and the reverse.
A_PREFIXES = ("uni", "use", "usu", "eu", "one", "once", "ewe")
AN_PREFIXES = ("hour", "honest", "honour", "honor", "heir")
# Initialisms read letter by letter: "an SUV", "an LCD", "a TV".
AN_LETTERS = set("AEFHILMNORSX")


def display_name(category: str) -> str:
    name = category.replace("_", " ").strip()
    return DISPLAY_NAMES.get(name.lower(), name)


def plural(category: str) -> str:
    """English plural of a category name ("chair" -> "chairs", "bus" -> "buses", "traffic cone" ->
    "traffic cones", "bookshelf" -> "bookshelves")."""
    name = display_name(category)
    head, _, last = name.rpartition(" ")
    low = last.lower()
    if low in IRREGULAR_PLURALS:
        word = IRREGULAR_PLURALS[low]
    elif low.endswith(("s", "x", "z", "ch", "sh")):
        word = last + "es"
    elif low.endswith("y") and len(low) > 1 and low[-2] not in "aeiou":
        word = last[:-1] + "ies"
    else:
        word = last + "s"
    return f"{head} {word}" if head else word


def article(noun: str) -> str:
    """ "a" or "an" for a noun phrase, by its first sound."""
    first = noun.split(" ", 1)[0]
    if first.isupper() and len(first) > 1:
        return "an" if first[0] in AN_LETTERS else "a"
    low = first.lower()
    if low.startswith(AN_PREFIXES):
        return "an"
    if low.startswith(A_PREFIXES):
        return "a"
    return "an" if low[:1] in "aeiou" else "a"


def with_article(category: str) -> str:
    name = display_name(category)
    return f"{article(name)} {name}"


def counted(category: str, count: int) -> str:
    """ "a chair", "two chairs", "13 chairs"."""
    if count == 1:
        return with_article(category)
    number = NUMBER_WORDS[count] if count < len(NUMBER_WORDS) else str(count)
    return f"{number} {plural(category)}"


def join_list(items: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c" (no serial comma)."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


# ---------------------------------------------------------------- questions of one view


@dataclass(frozen=True)
class GeneralQuestion:
    """One general question about a view: kind (GENERAL_KINDS), prompt, answer."""

    kind: str
    prompt: str
    answer: str


def visible_counts(scene: Scene, view: View) -> list[tuple[str, int]]:
    """(category, count) of the objects visible in the view, largest visible 2D box first (then name)."""
    counts: dict[str, int] = {}
    largest: dict[str, float] = {}
    cam = view.camera
    for obj in visible_objects(scene, view):
        obs = obj.observation(view.view_id)
        area = obs.box2d.clipped(cam.width, cam.height).area if obs and obs.box2d else 0.0
        counts[obj.category] = counts.get(obj.category, 0) + 1
        largest[obj.category] = max(largest.get(obj.category, 0.0), area)
    order = sorted(counts, key=lambda c: (-largest[c], c))
    return [(c, counts[c]) for c in order]


def _rng(seed: int, scene_id: str, view_id: str) -> random.Random:
    key = f"{seed}\x1f{scene_id}\x1f{view_id}".encode()
    return random.Random(int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big"))


def view_questions(
    scene: Scene,
    view: View,
    *,
    categories: Sequence[str],
    seed: int = 0,
    presence_per_view: int = DEFAULT_PRESENCE_PER_VIEW,
    kinds: Sequence[str] = GENERAL_KINDS,
) -> list[GeneralQuestion]:
    """The general questions of one view (module docstring). categories: the setting's category list (the
    pool of absent categories). presence_per_view: presence questions, alternating yes / no (a yes first)
    while each side has categories left."""
    rng = _rng(seed, scene.scene_id, view.view_id)
    visible = visible_counts(scene, view)
    in_scene = {o.category for o in scene.objects}
    absent = sorted({c for c in categories if c not in in_scene})
    setting = SETTING_PHRASES.get(str(scene.metadata.get("setting")), DEFAULT_SETTING_PHRASE)
    listed = join_list([counted(c, n) for c, n in visible])
    out: list[GeneralQuestion] = []
    for kind in kinds:
        bank = GENERAL_TEMPLATES[kind]
        if kind in ("caption", "objects"):
            if not visible:  # nothing to name: "an indoor room with ." is not a caption
                continue
            answer = rng.choice(bank["answer"]).format(setting=setting, objects=listed)
            out.append(GeneralQuestion(kind, rng.choice(bank["question"]), capitalise(answer)))
            continue
        yes_pool = list(visible)
        no_pool = list(absent)
        rng.shuffle(yes_pool)
        rng.shuffle(no_pool)
        for n in range(presence_per_view):
            use_yes = (n % 2 == 0 and yes_pool) or not no_pool
            if use_yes and not yes_pool:
                break
            if use_yes:
                category, count = yes_pool.pop()
                answer = rng.choice(bank["yes"]).format(
                    be="is" if count == 1 else "are", counted=counted(category, count)
                )
            else:
                category = no_pool.pop()
                answer = rng.choice(bank["no"]).format(object=display_name(category))
            question = rng.choice(bank["question"]).format(a_object=with_article(category))
            out.append(GeneralQuestion(kind, question, answer))
    return out


def setting_categories(scene: Scene, fallback: Mapping[str, Sequence[str]]) -> list[str]:
    """The category list of the scene's setting: the synth catalogue's for a synthetic setting, else the
    categories of all scenes of its source (fallback)."""
    from spatialforge.synth.assets import SETTINGS, categories

    setting = scene.metadata.get("setting")
    if isinstance(setting, str) and setting in SETTINGS:
        return [spec.name for spec in categories(setting)]
    return list(fallback.get(scene.source, ()))


# ---------------------------------------------------------------- the dataset


class GeneralDataset(BaseDataset):
    """General questions about every view of every scene of a scenes JSONL (module docstring).

    options: seed (int, 0), presence_per_view (int, 2), kinds (list of GENERAL_KINDS), categories (list of
    str: the absent-category pool for every scene), point_maps (bool, true), check_images (bool, true)."""

    def __init__(self, source: SourceConfig, scenes: Path, name: str) -> None:
        super().__init__(source, name)
        where = f"source {name}"
        opts = source.options
        seed = option(opts, "seed", 0, int, where)
        per_view = option(opts, "presence_per_view", DEFAULT_PRESENCE_PER_VIEW, int, where)
        kinds = list(option(opts, "kinds", list(GENERAL_KINDS), list, where))
        bad = [k for k in kinds if k not in GENERAL_KINDS]
        if bad or not kinds:
            raise ValueError(f"{where}: field options.kinds must be a non-empty subset of {GENERAL_KINDS}")
        fixed = option(opts, "categories", None, list, where)
        if fixed is not None and not all(isinstance(c, str) and c for c in fixed):
            raise ValueError(f"{where}: field options.categories must be a list of category names")
        self.point_maps = bool(option(opts, "point_maps", True, bool, where))
        check_images = bool(option(opts, "check_images", True, bool, where))
        self.scenes = SceneStore(scenes)
        for line in self.scenes.bad_lines:
            self._skip("invalid_scene_line", f"{scenes} {line}")
        for scene_id in sorted(self.scenes.duplicate):
            self._skip("scene_id_duplicate", f"scene {scene_id} appears more than once in {scenes}")
        fallback = _categories_by_source(scenes) if fixed is None else {}
        self._examples: list[tuple[str, str, str, str]] = []  # scene_id, view_id, prompt, answer
        for scene_id in self.scenes.entries:
            if scene_id in self.scenes.duplicate:
                continue
            scene = self.scenes.scene(scene_id)
            pool = list(fixed) if fixed is not None else setting_categories(scene, fallback)
            for view in scene.views:
                if check_images and not self._image_ok(scene, view):
                    continue
                questions = view_questions(
                    scene, view, categories=pool, seed=seed, presence_per_view=per_view, kinds=kinds
                )
                counts: dict[str, int] = {}
                for q in questions:
                    n = counts.get(q.kind, 0)
                    counts[q.kind] = n + 1
                    example_id = f"general:{scene_id}:{view.view_id}:{q.kind}:{n}"
                    self._infos.append(
                        ExampleInfo(
                            example_id, f"general/{q.kind}", None, GENERAL_FAMILY, "general", scene.capture_id
                        )
                    )
                    self._examples.append((scene_id, view.view_id, q.prompt, q.answer))

    def _image_ok(self, scene: Scene, view: View) -> bool:
        try:
            path = scene.resolve(view.image_path)
        except ValueError as err:
            self._skip("path_escapes_root", f"scene {scene.scene_id} view {view.view_id}: {err}")
            return False
        if not path.is_file():
            self._skip("image_missing", f"scene {scene.scene_id} view {view.view_id}: no file {path}")
            return False
        return True

    def question(self, index: int) -> tuple[str, str, str, str]:
        """(scene_id, view_id, prompt, answer) of example `index`."""
        return self._examples[self._check_index(index)]

    def _read(self, index: int, blank: bool) -> tuple[str, list[Image.Image], list[PointMap | None], str]:
        scene_id, view_id, prompt, answer = self.question(index)
        _, view = self.scenes.view(scene_id, view_id)
        image = self.scenes.image(scene_id, view_id, view.image_path, record=self._infos[index].id)
        point_map = self.scenes.point_map(scene_id, view_id) if self.point_maps and not blank else None
        return prompt, [image], [point_map], answer


def _categories_by_source(scenes: Path) -> dict[str, list[str]]:
    """source -> the sorted categories of its objects over the whole scenes file (one light pass)."""
    out: dict[str, set[str]] = {}
    for _, _, _, raw in iter_lines(scenes):
        try:
            data: Any = decode_line(raw.decode("utf-8"))
            cats = {str(o["category"]) for o in data["objects"]}
            out.setdefault(str(data["source"]), set()).update(cats)
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            continue  # counted by SceneStore as invalid_scene_line
    return {source: sorted(c) for source, c in out.items()}
