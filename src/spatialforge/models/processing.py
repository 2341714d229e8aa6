"""Samples (images, point maps, prompt, answer) -> the tensors a SpatialVLM reads.

Every image is processed by every vision source with its own transform (the primary encoder's and each
extra encoder's); its point map follows the primary transform's plan (image_transform.py), so point-map
patches and RGB patches cover the same pixels. An image without a point map gets an all-invalid one: the
tower then sees only its fill value and mask 0, the same input for every such image.

Sequences are padded on the left, for training and generation alike (decoder-only generation continues at
the right end); position ids count the real tokens from 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from PIL import Image

from spatialforge.models.backbones.base import IGNORE_INDEX
from spatialforge.models.pointmap import PointMap

# The "blanked inputs" baseline (a model trained and asked with the same text but no picture and no geometry):
# every image becomes this uniform grey at its own size, and no image has a point map.
BLANK_GREY = (128, 128, 128)


def blank_image(image: Image.Image) -> Image.Image:
    """A uniform mid-grey RGB image of `image`'s size: the same prompt layout, no visual information."""
    return Image.new("RGB", image.size, BLANK_GREY)


@dataclass(frozen=True)
class Sample:
    """One question. images: RGB images in order (markers already drawn); point_maps: one per image or
    empty (no geometry for any image); answer: the target text for training, None for generation."""

    prompt: str
    images: tuple[Image.Image, ...]
    point_maps: tuple[PointMap | None, ...] = ()
    answer: str | None = None

    def __post_init__(self) -> None:
        if self.point_maps and len(self.point_maps) != len(self.images):
            raise ValueError(f"{len(self.point_maps)} point maps for {len(self.images)} images")


@dataclass
class Batch:
    """input_ids, attention_mask, token_type_ids, position_ids, labels: (B, L); pixel_values: {source:
    (M, 3, H_s, W_s)} for M images in sample order; points (M, H, W, 3) metres camera frame and
    points_valid (M, H, W) at the primary resolution, None when the model has no geometry tower."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    token_type_ids: torch.Tensor
    position_ids: torch.Tensor
    labels: torch.Tensor | None
    pixel_values: dict[str, torch.Tensor]
    points: torch.Tensor | None = None
    points_valid: torch.Tensor | None = None
    image_counts: list[int] = field(default_factory=list)

    def to(
        self, device: torch.device | str, dtype: torch.dtype | None = None, *, non_blocking: bool = False
    ) -> Batch:
        """Move to a device; floating image tensors take `dtype` when given (points stay float32: metres
        need the precision before the encoding). non_blocking: copies from pinned memory (`pin_memory`) are
        queued on the current stream without the host waiting for them."""

        def move(t: torch.Tensor | None, cast: bool) -> torch.Tensor | None:
            if t is None:
                return None
            if cast and dtype is not None:
                return t.to(device=device, dtype=dtype, non_blocking=non_blocking)
            return t.to(device, non_blocking=non_blocking)

        return self._map(move)

    def pin_memory(self) -> Batch:
        """Every tensor in page-locked host memory (torch's DataLoader calls this with pin_memory=True), so
        `to(cuda, non_blocking=True)` can overlap the copy with the previous step's kernels."""
        return self._map(lambda t, cast: None if t is None else t.pin_memory())

    def _map(self, move: Callable[[torch.Tensor | None, bool], torch.Tensor | None]) -> Batch:
        """A new Batch of move(tensor, is_floating_image) for every tensor field."""
        return Batch(
            input_ids=move(self.input_ids, False),
            attention_mask=move(self.attention_mask, False),
            token_type_ids=move(self.token_type_ids, False),
            position_ids=move(self.position_ids, False),
            labels=move(self.labels, False),
            pixel_values={k: move(v, True) for k, v in self.pixel_values.items()},
            points=move(self.points, False),
            points_valid=move(self.points_valid, False),
            image_counts=list(self.image_counts),
        )


def position_ids_from_mask(attention_mask: torch.Tensor) -> torch.Tensor:
    """(B, L) 0/1 -> (B, L): 0-based index of each real token; padding gets 0."""
    return (attention_mask.long().cumsum(-1) - 1).clamp_min(0)


def collate(model: object, samples: Sequence[Sample], *, with_labels: bool) -> Batch:
    """Tokenise and stack `samples` for `model` (a SpatialVLM: its backbone, transforms and sources).

    The image tensors are allocated once per batch and each image is written straight into its slot (a
    stack of per-image tensors afterwards was a second copy of every pixel and point)."""
    backbone = model.backbone  # type: ignore[attr-defined]
    transforms = model.image_transforms()  # type: ignore[attr-defined]  {source: ImageTransform}
    geometry = model.geometry is not None  # type: ignore[attr-defined]
    n_images = sum(len(sample.images) for sample in samples)  # M, images in sample order
    pixels = {  # {source: (M, 3, size, size)} float32
        name: torch.empty((n_images, 3, t.size, t.size), dtype=torch.float32)
        for name, t in transforms.items()
    }
    side = transforms["rgb"].size if geometry else 0
    points = torch.empty((n_images, side, side, 3), dtype=torch.float32)  # metres, camera frame
    valid = torch.empty((n_images, side, side), dtype=torch.bool)
    pixel_slots = {name: t.numpy() for name, t in pixels.items()}  # numpy views: written in place
    point_slots, valid_slots = points.numpy(), valid.numpy()
    encoded = []
    m = 0  # the next image slot
    for sample in samples:
        if with_labels and sample.answer is None:
            raise ValueError(f"training sample without an answer (prompt {sample.prompt[:60]!r})")
        encoded.append(
            backbone.encode_prompt(sample.prompt, len(sample.images), sample.answer if with_labels else None)
        )
        for index, image in enumerate(sample.images):
            for name, transform in transforms.items():
                transform.image_into(image, pixel_slots[name][m])
            if geometry:
                point_map = sample.point_maps[index] if sample.point_maps else None
                if point_map is None:
                    point_slots[m], valid_slots[m] = 0.0, False
                else:
                    xyz, ok = transforms["rgb"].point_map(point_map.xyz, point_map.valid, image.size)
                    point_slots[m], valid_slots[m] = xyz, ok  # (side, side, 3) and (side, side)
            m += 1
    length = max(len(e.input_ids) for e in encoded)
    b = len(encoded)
    input_ids = torch.full((b, length), backbone.pad_token_id, dtype=torch.long)
    labels = torch.full((b, length), IGNORE_INDEX, dtype=torch.long)
    token_types = torch.ones((b, length), dtype=torch.long)
    mask = torch.zeros((b, length), dtype=torch.long)
    # Rows written through numpy views (a token list straight into an int64 row, not a tensor per list).
    id_rows, label_rows, type_rows, mask_rows = (t.numpy() for t in (input_ids, labels, token_types, mask))
    for row, e in enumerate(encoded):
        n = len(e.input_ids)
        id_rows[row, length - n :] = e.input_ids
        label_rows[row, length - n :] = e.labels
        type_rows[row, length - n :] = e.token_type_ids
        mask_rows[row, length - n :] = 1
    if not n_images:  # no images: the empty batch of the default dtype that the stack used to make
        pixels = {name: torch.zeros((0, 3, t.size, t.size)) for name, t in transforms.items()}
    return Batch(
        input_ids=input_ids,
        attention_mask=mask,
        token_type_ids=token_types,
        position_ids=position_ids_from_mask(mask),
        labels=labels if with_labels else None,
        pixel_values=pixels,
        points=points if geometry and n_images else None,
        points_valid=valid if geometry and n_images else None,
        image_counts=[len(s.images) for s in samples],
    )
