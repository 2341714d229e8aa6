"""A model saved by spatialforge (`SpatialVLM.save_pretrained`) as an evaluation backend.

    spatialforge:runs/small/model
    spatialforge:path=runs/small/model,device=cuda,dtype=bfloat16,pointmaps=data/pointmaps
    spatialforge:runs/blind/final,blank=true,batch_size=64

Options:
    path        the saved model's folder (config.json + model.safetensors + tokenizer); required
    device      torch device (default: cuda when available, else cpu)
    dtype       bfloat16 | float16 | float32 (default: bfloat16 on CUDA, float32 elsewhere)
    pointmaps   a folder of point maps named after each image: <image stem>.npy ((H, W, 3) metres, camera
                frame, non-finite = invalid) or <image stem>.npz ("xyz", optional "valid"), as
                `spatialforge bench pointmaps` writes them
    blank       true: every image is shown as uniform grey and no point map is read - the blanked-inputs
                baseline, asked as it was trained (docs/TRAINING.md); default false
    batch_size  greedy questions answered together, up to this many per generate call (default 1), as the
                hf backend batches (hf.BatchWorker); the replies are the same as one at a time (left
                padding), only faster on a GPU

Geometry. A model with a point-map tower reads each image's point map from `pointmaps`. When `pointmaps` is
given, every image must have one: a missing file is a non-retryable ModelError "point_map_missing", never a
silent RGB-only answer. Without `pointmaps`, every image gets the all-invalid point map (mask 0 everywhere):
the model runs as on images with no geometry, which describe() records as geometry_input "none".

The prompt is the request's text after its system text (and a blank line) when there is one; the model's
own layout places the images. Decoding is greedy at temperature 0, else sampled with the request's seed.

Batching. With batch_size > 1 the runner hands `answer_batch` consecutive requests, batch_size at a time,
two calls in flight (run.py BATCHES_IN_FLIGHT): one call reads its inputs (READER_THREADS threads) and
collates them while the other generates, and every generate call gets a full batch (only the run's last is
short) of the same requests on every run. A request whose input cannot be read (a missing point map, a
broken image) gets its own ModelError and the rest of its batch is answered. Greedy requests with equal
settings share a generate call; sampled ones are generated one by one, so their seed alone decides them.
`answer` (one request, from many threads) batches concurrent requests with hf.BatchWorker instead.

One lock serialises generation (the model is not re-entrant) and another collation (the tokenizer). Decoded
images and point maps are kept by path (at most INPUT_CACHE_BYTES, least recently used out first): the items
of a benchmark share images, and reading a compressed point map costs more than the model's work per item
on a GPU. Nothing cached is modified (collate and blank_image make new arrays).
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from spatialforge.bench.builder.items import BenchItem
from spatialforge.errors import RecordError
from spatialforge.evaluate.models.base import (
    ModelBackend,
    ModelError,
    Reply,
    Request,
    bool_option,
    int_option,
    register_model,
    reject_unknown,
    take_option,
)
from spatialforge.evaluate.models.hf import (
    BatchWorker,
    answer_in_batches,
    check_settings,
    choose_device,
    choose_dtype,
    load_rgb_image,
    prepare_or_error,
)

POINT_MAP_SUFFIXES = (".npy", ".npz")
INPUT_CACHE_BYTES = 512 * 2**20
READER_THREADS = min(8, os.cpu_count() or 1)


class InputCache:
    """Values by key, the least recently used dropped first once their sizes pass max_bytes (thread-safe).
    `get(key, load, size)`: the cached value, else load()'s (kept when it fits). Threads asking for a key
    that another thread is loading wait for that load (each file is read once); errors are not kept."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = self.misses = 0
        self._entries: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
        self._loading: dict[Any, Future] = {}
        self._lock = threading.Lock()

    def get(self, key: Any, load: Callable[[], Any], size: Callable[[Any], int]) -> Any:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry[0]
            loading = self._loading.get(key)
            if loading is None:
                self.misses += 1
                loading = self._loading[key] = Future()
                owner = True
            else:
                self.hits += 1
                owner = False
        if not owner:
            return loading.result()  # the loading thread's value, or its error
        try:
            value = load()  # outside the lock: other keys load meanwhile
            nbytes = size(value)
        except BaseException as error:
            with self._lock:
                del self._loading[key]
            loading.set_exception(error)
            raise
        with self._lock:
            del self._loading[key]
            if nbytes <= self.max_bytes:
                self._entries[key] = (value, nbytes)
                self.bytes += nbytes
                while self.bytes > self.max_bytes:
                    _, (_, dropped) = self._entries.popitem(last=False)
                    self.bytes -= dropped
        loading.set_result(value)
        return value


def _image_bytes(image: Any) -> int:
    return image.width * image.height * len(image.getbands())


def _point_map_bytes(point_map: Any) -> int:
    return int(point_map.xyz.nbytes + point_map.valid.nbytes)


class SpatialforgeModel(ModelBackend):
    kind = "spatialforge"

    def __init__(
        self,
        path: str,
        device: str | None,
        dtype: str | None,
        pointmaps: str | None,
        blank: bool = False,
        batch_size: int = 1,
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
        self._lock = threading.Lock()  # generation
        self._collate_lock = threading.Lock()  # tokenizer and transforms, outside the generation lock
        self._inputs = InputCache(INPUT_CACHE_BYTES)
        self._readers: ThreadPoolExecutor | None = None  # started by the first answer_batch
        self._readers_lock = threading.Lock()
        self.batch_size = batch_size  # the runner asks answer_batch this many requests at a time
        self.max_concurrency = batch_size  # callers of answer(): concurrent requests share a batch
        self._worker = BatchWorker(self._run_batch, batch_size) if batch_size > 1 else None
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
            "batch_size": batch_size,
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
                    return self._inputs.get(
                        ("point_map", candidate), partial(read_point_map_file, candidate), _point_map_bytes
                    )
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

    def _image(self, path: Path) -> Any:
        return self._inputs.get(("image", path), partial(load_rgb_image, path), _image_bytes)

    def _sample(self, request: Request) -> Any:
        from spatialforge.models.processing import Sample, blank_image

        images = tuple(self._image(Path(p)) for p in request.images)
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
        if self._worker is not None:
            return self._worker.submit(request, sample).result()
        return self._run_batch([(request, sample)])[0]

    def answer_batch(self, requests: Sequence[Request]) -> list[Reply | ModelError]:
        """The reply, or the ModelError of an unreadable input, of each request in order. Inputs are read
        and collated outside the generation lock, while another call may be generating (see "Batching")."""
        for request in requests:
            check_settings(request.settings)
        return answer_in_batches(requests, self._read_all(requests), self._run_batch, self.batch_size)

    def _read_all(self, requests: Sequence[Request]) -> list[Any]:
        """The Sample, or the ModelError, of each request (hf.prepare_or_error), read by READER_THREADS
        threads (decompressing point maps, decoding images and most numpy work release the GIL)."""
        read = partial(prepare_or_error, self._sample)
        if len(requests) < 2 or READER_THREADS < 2:
            return [read(request) for request in requests]
        with self._readers_lock:
            if self._readers is None:
                self._readers = ThreadPoolExecutor(READER_THREADS, thread_name_prefix="spatialforge-read")
        return list(self._readers.map(read, requests))

    def _run_batch(self, entries: list[tuple[Request, Any]]) -> list[Reply]:
        """One generate call over the samples of `entries` (left-padded together; equal settings)."""
        settings = entries[0][0].settings
        start = time.perf_counter()
        with self._collate_lock:
            batch = self.model.collate([sample for _, sample in entries], with_labels=False)
        batch = batch.to(self.model.device, self.model.dtype)
        with self._lock:
            generation = self.model.generate(
                batch,
                max_new_tokens=settings.max_new_tokens,
                temperature=settings.temperature,
                top_p=settings.top_p,
                seed=settings.seed,
            )
        latency = time.perf_counter() - start
        prompt_tokens = batch.attention_mask.sum(dim=1).tolist()
        return [
            Reply(
                text=text,
                model=self.model.config.name,
                latency_s=latency,
                usage={"prompt_tokens": int(n), "completion_tokens": len(ids)},
            )
            for text, ids, n in zip(generation.text, generation.token_ids, prompt_tokens, strict=True)
        ]

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()
        if self._readers is not None:
            self._readers.shutdown(wait=True)
        self._inputs = InputCache(INPUT_CACHE_BYTES)  # the decoded inputs go with the model
        with self._lock:
            self.model = None  # type: ignore[assignment]


@register_model("spatialforge")
def build_spatialforge(options: dict[str, str], items: Sequence[BenchItem]) -> ModelBackend:
    """Factory for `spatialforge:PATH[,device=...,dtype=...,pointmaps=DIR,blank=true,batch_size=N]`."""
    path = take_option(options, "path")
    if not path:
        raise ValueError("model 'spatialforge' needs the saved model's folder: spatialforge:PATH")
    device, dtype, pointmaps = (take_option(options, k) for k in ("device", "dtype", "pointmaps"))
    blank = bool_option("spatialforge", options, "blank")
    batch_size = int_option("spatialforge", options, "batch_size", 1) or 1
    reject_unknown("spatialforge", options)
    return SpatialforgeModel(path, device, dtype, pointmaps, blank=blank, batch_size=batch_size)
