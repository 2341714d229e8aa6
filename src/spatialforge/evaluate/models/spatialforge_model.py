"""A model saved by spatialforge (`SpatialVLM.save_pretrained`) as an evaluation backend.

    spatialforge:runs/small/model
    spatialforge:path=runs/small/model,device=cuda,dtype=bfloat16,pointmaps=data/pointmaps
    spatialforge:runs/blind/final,blank=true

Options:
    path        the saved model's folder (config.json + model.safetensors + tokenizer); required
    device      torch device (default: cuda when available, else cpu)
    dtype       bfloat16 | float16 | float32 (default: bfloat16 on CUDA, float32 elsewhere)
    pointmaps   a folder of point maps named after each image: <image stem>.npy ((H, W, 3) metres, camera
                frame, non-finite = invalid) or <image stem>.npz ("xyz", optional "valid"), as
                `spatialforge bench pointmaps` writes them
    blank       true: every image is shown as uniform grey and no point map is read - the blanked-inputs
                baseline, asked as it was trained (docs/TRAINING.md); default false
    batch       greedy questions answered together, up to this many per generate call (default 1); the
                replies are the same as one at a time (left padding), only faster on a GPU

Geometry. A model with a point-map tower reads each image's point map from `pointmaps`. When `pointmaps` is
given, every image must have one: a missing file is a non-retryable ModelError "point_map_missing", never a
silent RGB-only answer. Without `pointmaps`, every image gets the all-invalid point map (mask 0 everywhere):
the model runs as on images with no geometry, which describe() records as geometry_input "none".

The prompt is the request's text after its system text (and a blank line) when there is one; the model's
own layout places the images. Decoding is greedy at temperature 0, else sampled with the request's seed.
One lock serialises generation (the model is not re-entrant); with batch > 1 the runner keeps that many
requests in flight and concurrent greedy requests share one generate call (_Batcher).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from spatialforge.bench.builder.items import BenchItem
from spatialforge.errors import RecordError
from spatialforge.evaluate.models.base import (
    GenerationSettings,
    ModelBackend,
    ModelError,
    Reply,
    Request,
    register_model,
    reject_unknown,
    take_option,
)
from spatialforge.evaluate.models.hf import check_settings, choose_device, choose_dtype, load_rgb_image

POINT_MAP_SUFFIXES = (".npy", ".npz")


class SpatialforgeModel(ModelBackend):
    kind = "spatialforge"

    def __init__(
        self,
        path: str,
        device: str | None,
        dtype: str | None,
        pointmaps: str | None,
        blank: bool = False,
        batch: int = 1,
    ) -> None:
        try:
            import torch
        except ImportError:
            raise ValueError("model 'spatialforge' needs torch: pip install 'spatialforge[vlm]'") from None
        from spatialforge.models.vlm import SpatialVLM

        folder = Path(path)
        if not folder.is_dir():
            raise ValueError(f"model 'spatialforge': {path} is not a folder")
        self.device = choose_device(device)
        self.dtype_name = choose_dtype(dtype, self.device)
        self.model = SpatialVLM.from_pretrained(folder, device=self.device).to(
            getattr(torch, self.dtype_name)
        )
        self.pointmaps = Path(pointmaps) if pointmaps else None
        self.blank = blank
        if blank and self.pointmaps is not None:
            raise ValueError("model 'spatialforge': blank=true shows no geometry; drop pointmaps=")
        if self.pointmaps is not None and not self.pointmaps.is_dir():
            raise ValueError(f"model 'spatialforge': pointmaps={pointmaps} is not a folder")
        self._lock = threading.Lock()
        if batch < 1:
            raise ValueError(f"model 'spatialforge': batch must be >= 1, got {batch}")
        self.max_concurrency = batch  # the runner keeps up to `batch` requests in flight
        self._batcher = _Batcher(self, batch)
        config = self.model.config
        self._describe = {
            "kind": self.kind,
            "path": str(folder),
            "name": config.name,
            "family": config.family,
            "geometry": config.geometry.kind,
            "geometry_input": (
                "none" if config.geometry.kind == "none" else ("point_maps" if self.pointmaps else "none")
            ),
            "blank_inputs": blank,
            "batch": batch,
            "pointmaps": str(self.pointmaps) if self.pointmaps else None,
            "device": str(self.device),
            "dtype": self.dtype_name,
            "num_parameters": sum(p.numel() for p in self.model.parameters()),
            "torch_version": torch.__version__,
        }

    def describe(self) -> dict[str, Any]:
        return dict(self._describe)

    def _point_map(self, image: Path) -> Any:
        from spatialforge.models.pointmap import read_point_map_file

        assert self.pointmaps is not None
        for suffix in POINT_MAP_SUFFIXES:
            candidate = self.pointmaps / f"{image.stem}{suffix}"
            if candidate.is_file():
                try:
                    return read_point_map_file(candidate)
                except RecordError as error:
                    raise ModelError(
                        "point_map_unreadable", str(error), retryable=False, attempts=0
                    ) from None
        raise ModelError(
            "point_map_missing",
            f"no point map {image.stem}.npy / .npz in {self.pointmaps} for image {image.name}",
            retryable=False,
            attempts=0,
        )

    def _sample(self, request: Request) -> Any:
        from spatialforge.models.processing import Sample, blank_image

        images = tuple(load_rgb_image(Path(p)) for p in request.images)
        if self.blank:
            images = tuple(blank_image(image) for image in images)
        point_maps: tuple[Any, ...] = ()
        if self.model.geometry is not None and self.pointmaps is not None:
            point_maps = tuple(self._point_map(Path(p)) for p in request.images)
        prompt = f"{request.system}\n\n{request.prompt}" if request.system else request.prompt
        return Sample(prompt=prompt, images=images, point_maps=point_maps)

    def answer(self, request: Request) -> Reply:
        check_settings(request.settings)
        sample = self._sample(request)  # reading files happens outside the lock, in the caller's thread
        start = time.perf_counter()
        if request.settings.temperature == 0 and self.max_concurrency > 1:
            text, usage = self._batcher.submit(sample, request.settings)
        else:
            with self._lock:
                [(text, usage)] = self._generate([sample], request.settings)
        return Reply(
            text=text, model=self.model.config.name, latency_s=time.perf_counter() - start, usage=usage
        )

    def _generate(self, samples: list[Any], settings: GenerationSettings) -> list[tuple[str, dict[str, int]]]:
        """One generate call over `samples` (left-padded together); the caller holds the lock."""
        batch = self.model.collate(samples, with_labels=False).to(self.model.device, self.model.dtype)
        generation = self.model.generate(
            batch,
            max_new_tokens=settings.max_new_tokens,
            temperature=settings.temperature,
            top_p=settings.top_p,
            seed=settings.seed,
        )
        prompt_tokens = batch.attention_mask.sum(dim=1).tolist()
        return [
            (text, {"prompt_tokens": int(n), "completion_tokens": len(ids)})
            for text, ids, n in zip(generation.text, generation.token_ids, prompt_tokens, strict=True)
        ]

    def close(self) -> None:
        with self._lock:
            self.model = None  # type: ignore[assignment]


class _Batcher:
    """Greedy requests that arrive together are answered by one generate call.

    The runner keeps up to `size` requests in flight, one per thread. A thread that finds no batch running
    becomes the leader: it takes every waiting request (up to `size`) with the same settings, generates them
    together and hands each thread its reply; the others wait. Greedy decoding of left-padded prompts gives
    each prompt the reply it gets alone (tested), so batching changes speed, not answers; sampled requests
    (temperature > 0) never batch, since their random draws would depend on the batch's make-up.
    """

    def __init__(self, owner: SpatialforgeModel, size: int) -> None:
        self.owner = owner
        self.size = size
        self._cond = threading.Condition()
        self._waiting: list[dict[str, Any]] = []

    def submit(self, sample: Any, settings: GenerationSettings) -> tuple[str, dict[str, int]]:
        slot: dict[str, Any] = {"sample": sample, "settings": settings, "done": False}
        with self._cond:
            self._waiting.append(slot)
        while True:
            with self._cond:
                if slot["done"]:
                    break
            # Whoever holds the model lock runs the next batch; the rest wait for their slot to fill.
            if self.owner._lock.acquire(timeout=0.005):
                try:
                    self._run_one_batch()
                finally:
                    self.owner._lock.release()
            else:
                with self._cond:
                    if not slot["done"]:
                        self._cond.wait(timeout=0.05)
        if "error" in slot:
            raise slot["error"]
        return slot["result"]

    def _run_one_batch(self) -> None:
        with self._cond:
            if not self._waiting:
                return
            settings = self._waiting[0]["settings"]
            taken = [s for s in self._waiting if s["settings"] == settings][: self.size]
            for slot in taken:
                self._waiting.remove(slot)
        try:
            results = self.owner._generate([s["sample"] for s in taken], settings)
        except Exception as error:  # every thread of the batch sees the failure of its request
            with self._cond:
                for slot in taken:
                    slot["error"], slot["done"] = error, True
                self._cond.notify_all()
            return
        with self._cond:
            for slot, result in zip(taken, results, strict=True):
                slot["result"], slot["done"] = result, True
            self._cond.notify_all()


@register_model("spatialforge")
def build_spatialforge(options: dict[str, str], items: Sequence[BenchItem]) -> ModelBackend:
    """Factory for `spatialforge:PATH[,device=...,dtype=...,pointmaps=DIR,blank=true,batch=N]`."""
    path = take_option(options, "path")
    if not path:
        raise ValueError("model 'spatialforge' needs the saved model's folder: spatialforge:PATH")
    device, dtype, pointmaps, blank, batch = (
        take_option(options, k) for k in ("device", "dtype", "pointmaps", "blank", "batch")
    )
    reject_unknown("spatialforge", options)
    if blank not in (None, "true", "false"):
        raise ValueError(f"model 'spatialforge': blank must be true or false, got {blank!r}")
    try:
        batch_size = int(batch) if batch is not None else 1
    except ValueError:
        raise ValueError(f"model 'spatialforge': batch must be an integer, got {batch!r}") from None
    return SpatialforgeModel(path, device, dtype, pointmaps, blank=blank == "true", batch=batch_size)
