"""Uniform frame sampling from a video file or a folder of extracted frames (video benchmarks).

"Uniform" is the rule of the harness the published video results come from (EvolvingLMMs-Lab/lmms-eval,
lmms_eval/tasks/vsibench/multi_image_input/utils.py `vsibench_doc_to_visual_as_images`, and the decord
`load_video` of its llava_onevision / llava_vid models that vision-x-nyu/thinking-in-space evaluated with):

    n = min(requested, total)
    indices = numpy.linspace(0, total - 1, n, dtype=int)      # the float positions, truncated

so the first and the last frame are always taken and the rest are evenly spaced between them. We keep the
truncation (not round(), not segment centres), computed by numpy exactly as there, because it reproduces
the frames those models saw: float rounding sometimes puts an index one below the exact
floor(i * (total - 1) / (n - 1)) - with 31 frames and 23 chosen, the 12th is frame 14 where 11 * 30 / 22
is 15 - and we keep that too.
Asking for more frames than the video has gives every frame once (as lmms-eval's multi-image path does).

A video is decoded once, front to back, keeping only the chosen frames (seeking in long-GOP mp4s is not
frame-exact); the chosen frames are JPEG-encoded with PIL. PyAV (`av`) is optional: it is imported on first
use, and its absence names the extra that installs it.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from spatialforge.bench.published.base import ImageData

# Image files a frame folder may hold, read as they are (no re-encoding).
FRAME_SUFFIXES = (".jpg", ".jpeg", ".png")
_DIGITS = re.compile(r"(\d+)")


class VideoUnreadable(Exception):
    """A video (or frame folder) that cannot be sampled: damaged, empty, or not a video at all."""


@dataclass(frozen=True)
class SampledFrames:
    """The frames chosen from one video.

    indices: 0-based positions of the chosen frames in the video's frame sequence, ascending;
    total: the number of frames the video has; images: the frames in time order (JPEG bytes for a
    video, the image files themselves for a frame folder).
    """

    indices: tuple[int, ...]
    total: int
    images: tuple[ImageData | Path, ...]


def uniform_indices(total: int, requested: int) -> list[int]:
    """The lmms-eval uniform sample: min(requested, total) indices, linspace(0, total - 1) truncated."""
    if total < 1:
        raise ValueError("a video with no frames has nothing to sample")
    if requested < 1:
        raise ValueError(f"frames must be at least 1, got {requested}")
    count = min(requested, total)
    return [int(i) for i in np.linspace(0, total - 1, count, dtype=int)]


def require_av() -> ModuleType:
    """PyAV, or an ImportError naming the extra that installs it."""
    try:
        import av
    except ImportError:
        raise ImportError(
            "decoding benchmark videos needs PyAV: pip install 'spatialforge[benchmarks]' "
            "(or give pre-extracted frame folders instead of the .mp4 files)"
        ) from None
    return av


def _frame_count(av: ModuleType, path: Path) -> int:
    """Frames in the first video stream: the container's count when it states one (mp4 does), else the
    number of non-empty packets, which needs demuxing but no decoding."""
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise VideoUnreadable("no video stream")
        stream = container.streams.video[0]
        if stream.frames > 0:
            return int(stream.frames)
        return sum(1 for packet in container.demux(stream) if packet.size)


def _decode_chosen(av: ModuleType, path: Path, chosen: list[int]) -> tuple[dict[int, Any], int]:
    """The chosen frames as PIL images, and how many frames were decoded (stops after the last chosen)."""
    wanted = set(chosen)
    last = max(chosen)
    kept: dict[int, Any] = {}
    decoded = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame-parallel decoding; frames still come out in order
        for index, frame in enumerate(container.decode(stream)):
            decoded = index + 1
            if index in wanted:
                kept[index] = frame.to_image()
            if index >= last:
                break
    return kept, decoded


def sample_video(path: Path, requested: int, *, jpeg_quality: int) -> SampledFrames:
    """`requested` frames, uniformly (see module docstring), JPEG-encoded at `jpeg_quality`."""
    av = require_av()
    errors: tuple[type[BaseException], ...] = (getattr(av, "FFmpegError", OSError), OSError, ValueError)
    try:
        total = _frame_count(av, path)
        if total < 1:
            raise VideoUnreadable("the video has no frames")
        chosen = uniform_indices(total, requested)
        kept, decoded = _decode_chosen(av, path, chosen)
        if len(kept) < len(chosen):
            # The stated count was wrong (a container whose header disagrees with its packets): count what
            # actually decodes and choose again from that.
            total = decoded
            if total < 1:
                raise VideoUnreadable("no frame could be decoded")
            chosen = uniform_indices(total, requested)
            kept, _ = _decode_chosen(av, path, chosen)
            if len(kept) < len(chosen):
                raise VideoUnreadable(f"only {len(kept)} of the {len(chosen)} chosen frames decode")
    except errors as e:
        raise VideoUnreadable(f"{type(e).__name__}: {e}") from None
    images = tuple(_jpeg(kept[i], jpeg_quality) for i in chosen)
    return SampledFrames(tuple(chosen), total, images)


def _jpeg(image: Any, quality: int) -> ImageData:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="JPEG", quality=quality)
    return ImageData(buf.getvalue(), ".jpg")


def frame_files(folder: Path) -> list[Path]:
    """A frame folder's images in time order: by the last number in each file name ("frame_000123.jpg",
    "123.png"). A file without a number, or two files with the same number, leave the order undefined and
    the folder is refused."""
    numbered: dict[int, Path] = {}
    for path in folder.iterdir():
        if not path.is_file() or path.suffix.lower() not in FRAME_SUFFIXES:
            continue
        numbers = _DIGITS.findall(path.stem)
        if not numbers:
            raise VideoUnreadable(f"frame file {path.name!r} has no frame number in its name")
        number = int(numbers[-1])
        if number in numbered:
            raise VideoUnreadable(
                f"frame files {numbered[number].name!r} and {path.name!r} share number {number}"
            )
        numbered[number] = path
    if not numbered:
        raise VideoUnreadable(f"no {'/'.join(FRAME_SUFFIXES)} frames in the folder")
    return [numbered[n] for n in sorted(numbered)]


def sample_frame_folder(files: list[Path], requested: int) -> SampledFrames:
    """`requested` of a frame folder's images (in time order, see `frame_files`), chosen as from a video;
    the chosen files are used as they are."""
    chosen = uniform_indices(len(files), requested)
    for index in chosen:
        with open(files[index], "rb") as fh:
            head = fh.read(8)
        if not (head.startswith(b"\xff\xd8\xff") or head.startswith(b"\x89PNG\r\n\x1a\n")):
            raise VideoUnreadable(f"frame file {files[index].name!r} is not a JPEG or PNG image")
    return SampledFrames(tuple(chosen), len(files), tuple(files[i] for i in chosen))
