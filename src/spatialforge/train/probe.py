"""Input-reliance probe: does the model read the content of its images and point maps yet?

A blank-input baseline answers that after a whole second training run (benchmarks/proof_of_learning.py). The
probe answers it during one run, at every log step, for the cost of two forward passes over a few hundred
examples: the same questions are scored (mean cross-entropy per answer token) once with their own images and
point maps ("loss") and once with those of another probe example ("loss_swapped"). A model that ignores its
inputs scores both the same; one that reads them pays for the wrong ones, so

    gain = loss_swapped - loss      (nats per answer token; > 0: the answers depend on what is shown)

Swapping keeps the input statistics (a real image and point map, not a grey one), so the gain measures use
of the content, not surprise at an out-of-distribution input. It is reported overall and per level ("0" to
"3", "general"), so a run shows which levels have started to look.

Which examples: the mixture sampler's draws at the `size` global sample indices right after the run's last
training index (train.steps x train.global_batch), fixed for the whole run, so the curve compares like with
like and is the same after a resume. The run's own draw order never reaches those indices, but a finite
dataset can hold the same example at a training index: the probe measures reliance, not generalisation
(that is the benchmark's job). Swap partners: each example takes the images of the next probe example with
the same number of images (cyclically, in draw order). A draw of an example already drawn is dropped (a
swap between two copies would change nothing), and examples without images, or with an image count that
only one example has, cannot be swapped; all three are left out and counted under `skipped`. Two distinct
examples can still show the same thing (a small dataset, a repeated scene), which makes the gain an
underestimate, never an overestimate.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from spatialforge.models.backbones.base import IGNORE_INDEX
from spatialforge.models.processing import Batch, Sample
from spatialforge.models.vlm import next_token_loss

GENERAL_LEVEL = "general"  # the level key of examples without a spatial level (general data)
NO_IMAGES = "no_images"
NO_PARTNER = "no_partner"
DUPLICATE = "duplicate"


@dataclass(frozen=True)
class InputProbe:
    """Collated probe chunks: matched[k] and swapped[k] hold the same questions and answers, with each
    example's own inputs and with its partner's; levels[k] names each row's level key."""

    matched: tuple[Batch, ...]
    swapped: tuple[Batch, ...]
    levels: tuple[tuple[str, ...], ...]
    skipped: dict[str, int]

    @property
    def examples(self) -> int:
        return sum(len(rows) for rows in self.levels)


def _level_key(level: int | None) -> str:
    return GENERAL_LEVEL if level is None else str(level)


def build_input_probe(
    datasets: Sequence[Any],
    sampler: Any,
    collate_fn: Callable[[Sequence[Sample]], Batch],
    *,
    first_index: int,
    size: int,
    chunk: int,
    blank: bool = False,
) -> InputProbe:
    """The probe of `size` draws from global sample index `first_index` on (module docstring), collated in
    chunks of `chunk` examples by `collate_fn` (with labels). blank: the run's blanked inputs (every image
    grey, no point maps), so a blank-input run probes what it trains on and its gain is exactly zero."""
    if size < 1 or chunk < 1:
        raise ValueError(f"probe size and chunk must be >= 1, got {size} and {chunk}")
    drawn: list[tuple[str, Sample]] = []
    skipped: Counter[str] = Counter()
    seen: set[tuple[int, int]] = set()
    for j in range(size):
        dataset, example = sampler.draw(first_index + j)
        if (dataset, example) in seen:  # a second copy adds nothing, and swapping with it changes nothing
            skipped[DUPLICATE] += 1
            continue
        seen.add((dataset, example))
        sample = datasets[dataset].sample(example, blank=blank)
        if not sample.images:
            skipped[NO_IMAGES] += 1
            continue
        drawn.append((_level_key(datasets[dataset].info(example).level), sample))
    by_count: dict[int, list[int]] = defaultdict(list)
    for i, (_, sample) in enumerate(drawn):
        by_count[len(sample.images)].append(i)
    partner: dict[int, int] = {}
    for members in by_count.values():
        if len(members) < 2:
            skipped[NO_PARTNER] += len(members)
            continue
        for position, i in enumerate(members):
            partner[i] = members[(position + 1) % len(members)]
    kept = sorted(partner)  # draw order
    matched, swapped, levels = [], [], []
    for start in range(0, len(kept), chunk):
        rows = kept[start : start + chunk]
        own = [drawn[i][1] for i in rows]
        other = [drawn[partner[i]][1] for i in rows]
        matched.append(collate_fn(own))
        pairs = zip(own, other, strict=True)
        swapped.append(collate_fn([replace(s, images=o.images, point_maps=o.point_maps) for s, o in pairs]))
        levels.append(tuple(drawn[i][0] for i in rows))
    return InputProbe(tuple(matched), tuple(swapped), tuple(levels), dict(skipped))


def _row_losses(model: nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """(B,) summed next-token cross-entropy over each row's answer tokens, and (B,) their counts."""
    labels = batch.labels
    logits = model(replace(batch, labels=None)).logits  # (B, L, V)
    targets = labels[:, 1:]
    ce = next_token_loss(logits, labels, reduction="none").view(targets.shape)  # (B, L - 1), 0 where ignored
    return ce.sum(dim=1), (targets != IGNORE_INDEX).sum(dim=1)


def _summary(matched: float, swapped: float, tokens: int, examples: int) -> dict[str, Any]:
    loss, loss_swapped = matched / max(1, tokens), swapped / max(1, tokens)
    return {
        "examples": examples,
        "loss": loss,
        "loss_swapped": loss_swapped,
        "gain": loss_swapped - loss,
    }


@torch.no_grad()
def probe_losses(
    model: nn.Module, probe: InputProbe, device: torch.device, use_bf16: bool = False
) -> dict[str, Any]:
    """The probe's losses with own and swapped inputs, overall and by level (module docstring). The model
    is put in eval mode for the passes and back in train mode after; no gradient, no parameter change."""
    was_training = model.training
    model.eval()
    # level key -> [summed loss with own inputs, with swapped inputs, answer tokens, examples]
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0, 0])
    try:
        for matched, swapped, levels in zip(probe.matched, probe.swapped, probe.levels, strict=True):
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
                own, counts = _row_losses(model, matched.to(device))
                other, _ = _row_losses(model, swapped.to(device))
            for key, a, b, n in zip(levels, own.tolist(), other.tolist(), counts.tolist(), strict=True):
                row = totals[key]
                row[0] += a
                row[1] += b
                row[2] += n
                row[3] += 1
    finally:
        model.train(was_training)
    overall = [sum(row[i] for row in totals.values()) for i in range(4)]
    return {
        **_summary(overall[0], overall[1], int(overall[2]), int(overall[3])),
        "by_level": {key: _summary(a, b, int(n), int(m)) for key, (a, b, n, m) in sorted(totals.items())},
        "skipped": dict(probe.skipped),
    }
