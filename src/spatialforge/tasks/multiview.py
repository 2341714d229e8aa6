"""Multi-view task context: a set of posed views of one scene, and which objects each view sees (SPAR).

SPAR (paper 003, sec. 3.1 and appendix 7.4) organises a scene as *image records* (per keyframe: camera,
resolution, the objects visible in it with their 2D boxes) and *object records* (per object: id, category,
the keyframes it appears in); multi-view questions are drawn from them. Here the records are read off the
Scene: a view's visible objects are those `qa.references.visibility_refusal` accepts (an observation in that
view, in front of the camera, a valid 2D box large enough, not mostly occluded), the same rule every
single-view question uses; the adapters decide observations from depth (scene/visibility.py).

A `ViewSetContext` is what a "pair" or "sequence" task (spec.SCOPES) looks at:
- `views`: the per-image ViewContexts in the order the images are shown; views[0] is the main viewpoint
  ("We use the first image to reflect the main perspective", SPAR appendix 7.6 examples).
- `main`: a ViewContext of views[0] whose visible objects are those seen in *any* image of the set, with
  centres in the main camera's frames: a multi-view variant of a single-view task runs its candidates on it,
  then names each object in an image that shows it (multiview_variants.py).
- `images_of(obj)`: the indices of the set's images that show obj (SPAR's object record, restricted to
  the set).

View sets (`view_sets`): pairs - every ordered pair of views that share at least one visible object (SPAR's
co-visibility condition for view-change and camera-pose questions, appendix 7.5), in a seeded order, at most
MAX_PAIRS_PER_VIEW x views of them; sequences - windows of up to SEQUENCE_LENGTH views in capture order
(obj_frame_locate, appearance_order, obj_count and room_size show a short clip of the scene).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from functools import cached_property

from spatialforge.scene.records import Object3D, Scene
from spatialforge.tasks.context import ViewContext

# Partners drawn per main view: bounds the work on scenes with hundreds of keyframes (a task stops at its
# quota long before), while every view still serves as a main viewpoint.
MAX_PAIRS_PER_VIEW = 3
# Images of a sequence question: SPAR-Bench's multi-view items show a handful of frames; 4 keeps a question's
# images few enough for every VLM's context while leaving room for order and frame questions.
SEQUENCE_LENGTH = 4


class ViewSetContext:
    """An ordered set of views of one scene (see the module docstring)."""

    def __init__(self, scene: Scene, views: Sequence[ViewContext], index: int = 0) -> None:
        """index: the set's position among its scene's sets of the same scope (a once-per-scene question
        is asked on set 0 only)."""
        if len(views) < 2:
            raise ValueError("a view set needs at least two views")
        self.scene = scene
        self.index = index
        self.views: tuple[ViewContext, ...] = tuple(views)
        self.view_ids: tuple[str, ...] = tuple(ctx.view.view_id for ctx in self.views)
        # object_id -> indices of the set's images that show it (an object record restricted to the set)
        shown: dict[str, list[int]] = {}
        for index, ctx in enumerate(self.views):
            for obj in ctx.visible:
                shown.setdefault(obj.object_id, []).append(index)
        self._images_of = {oid: tuple(indices) for oid, indices in shown.items()}

    @cached_property
    def main(self) -> ViewContext:
        """The main viewpoint's context with every object seen in any image of the set (built on first use:
        only multi-view variants of single-view tasks need it)."""
        main = self.views[0]
        return ViewContext(self.scene, main.view, also_visible_in=self.views[1:])

    def images_of(self, obj: Object3D) -> tuple[int, ...]:
        """Indices of the images of this set that show obj, in image order (() if none does)."""
        return self._images_of.get(obj.object_id, ())

    @cached_property
    def objects(self) -> tuple[Object3D, ...]:
        """The objects seen in at least one image of the set, in scene order."""
        return tuple(o for o in self.scene.objects if o.object_id in self._images_of)

    def first_image_of(self, obj: Object3D) -> int | None:
        images = self.images_of(obj)
        return images[0] if images else None


def co_visible(a: ViewContext, b: ViewContext) -> bool:
    """Whether two views of a scene show at least one common object."""
    seen = {o.object_id for o in a.visible}
    return any(o.object_id in seen for o in b.visible)


def pair_sets(scene: Scene, contexts: Sequence[ViewContext], rng: random.Random) -> list[ViewSetContext]:
    """Ordered co-visible pairs (main, other): for each view, up to MAX_PAIRS_PER_VIEW partners drawn by rng
    among the views it shares an object with; the list interleaves main views so a task's quota spreads over
    the scene."""
    per_main: list[list[ViewSetContext]] = []
    for i, main in enumerate(contexts):
        partners = [other for j, other in enumerate(contexts) if j != i and co_visible(main, other)]
        rng.shuffle(partners)
        per_main.append([ViewSetContext(scene, (main, other)) for other in partners[:MAX_PAIRS_PER_VIEW]])
    out: list[ViewSetContext] = []
    for round_index in range(MAX_PAIRS_PER_VIEW):
        out.extend(sets[round_index] for sets in per_main if round_index < len(sets))
    for index, view_set in enumerate(out):
        view_set.index = index
    return out


def sequence_sets(scene: Scene, contexts: Sequence[ViewContext]) -> list[ViewSetContext]:
    """Windows of SEQUENCE_LENGTH consecutive views in capture order (scene order), stepping by half a window;
    a scene with fewer views gives one set of all of them."""
    n = len(contexts)
    if n < 2:
        return []
    if n <= SEQUENCE_LENGTH:
        return [ViewSetContext(scene, contexts)]
    step = max(1, SEQUENCE_LENGTH // 2)
    starts = list(range(0, n - SEQUENCE_LENGTH + 1, step))
    if starts[-1] != n - SEQUENCE_LENGTH:
        starts.append(n - SEQUENCE_LENGTH)
    return [ViewSetContext(scene, contexts[s : s + SEQUENCE_LENGTH], i) for i, s in enumerate(starts)]
