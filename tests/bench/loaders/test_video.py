"""Uniform frame sampling (bench/published/video.py) on synthetic videos whose frames say which they are."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from spatialforge.bench.published import video
from spatialforge.bench.published.base import ImageData

RED_STEP = 8  # frame i is solid red 8 * i: the codec and JPEG keep it within +-3


def write_numbered_video(path: Path, n_frames: int, *, container_format: str = "mp4") -> Path:
    """A tiny MPEG-4 video whose frame i is solid red = 8 * i."""
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 24, "yuv420p"
        stream.bit_rate, stream.gop_size = 4_000_000, 1
        for i in range(n_frames):
            pixels = np.zeros((24, 32, 3), np.uint8)
            pixels[..., 0] = RED_STEP * i
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def frame_number(image: ImageData | Path) -> int:
    data = image.read_bytes() if isinstance(image, Path) else image.data
    with Image.open(io.BytesIO(data)) as im:
        red = float(np.asarray(im.convert("RGB"))[..., 0].mean())
    return round(red / RED_STEP)


# --- the rule -----------------------------------------------------------------------------------------------


def test_uniform_indices_take_first_last_and_truncated_linspace_between():
    # linspace(0, 19, 8) = 0, 2.71, 5.43, 8.14, 10.86, 13.57, 16.29, 19: truncated, not rounded.
    assert video.uniform_indices(20, 8) == [0, 2, 5, 8, 10, 13, 16, 19]
    assert video.uniform_indices(100, 2) == [0, 99]
    assert video.uniform_indices(100, 1) == [0]


def test_uniform_indices_keep_numpys_float_truncation():
    # 11 * 30 / 22 is exactly 15, but linspace computes 14.999...: lmms-eval sends frame 14, and so do we.
    indices = video.uniform_indices(31, 23)
    assert indices[11] == 14
    assert indices == np.linspace(0, 30, 23, dtype=int).tolist()


def test_asking_for_more_frames_than_the_video_has_gives_each_frame_once():
    assert video.uniform_indices(5, 32) == [0, 1, 2, 3, 4]


def test_uniform_indices_refuse_nonsense():
    with pytest.raises(ValueError):
        video.uniform_indices(0, 8)
    with pytest.raises(ValueError):
        video.uniform_indices(10, 0)


# --- videos ------------------------------------------------------------------------------------------------


def test_sample_video_returns_the_chosen_frames_in_time_order_as_jpeg(tmp_path):
    clip = write_numbered_video(tmp_path / "clip.mp4", 30)
    sampled = video.sample_video(clip, 7, jpeg_quality=90)
    assert sampled.total == 30
    assert sampled.indices == (0, 4, 9, 14, 19, 24, 29)
    assert all(isinstance(im, ImageData) and im.suffix == ".jpg" for im in sampled.images)
    assert all(im.data.startswith(b"\xff\xd8\xff") for im in sampled.images)
    assert [frame_number(im) for im in sampled.images] == [0, 4, 9, 14, 19, 24, 29]


def test_jpeg_quality_is_applied(tmp_path):
    clip = tmp_path / "clip.mp4"
    with av.open(str(clip), "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        noise = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
        for packet in stream.encode(av.VideoFrame.from_ndarray(noise, format="rgb24")):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    low = video.sample_video(clip, 1, jpeg_quality=10).images[0]
    high = video.sample_video(clip, 1, jpeg_quality=95).images[0]
    assert len(low.data) < len(high.data)


def test_a_container_without_a_frame_count_is_counted_by_its_packets(tmp_path):
    clip = write_numbered_video(tmp_path / "clip.mkv", 13, container_format="matroska")
    with av.open(str(clip)) as container:
        assert container.streams.video[0].frames == 0  # Matroska states no count: the fallback is exercised
    sampled = video.sample_video(clip, 4, jpeg_quality=90)
    assert sampled.total == 13
    assert [frame_number(im) for im in sampled.images] == [0, 4, 8, 12]


@pytest.mark.parametrize(
    "content", [b"", b"not a video at all" * 10, b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64]
)
def test_a_damaged_or_empty_video_is_unreadable(tmp_path, content):
    clip = tmp_path / "bad.mp4"
    clip.write_bytes(content)
    with pytest.raises(video.VideoUnreadable):
        video.sample_video(clip, 8, jpeg_quality=90)


def test_pyav_missing_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(ImportError, match=r"spatialforge\[benchmarks\]"):
        video.sample_video(tmp_path / "clip.mp4", 8, jpeg_quality=90)


# --- frame folders -----------------------------------------------------------------------------------------


def write_frame_folder(folder: Path, n_frames: int, name: str = "frame_{}.png") -> Path:
    folder.mkdir(parents=True)
    for i in range(n_frames):
        pixels = np.zeros((24, 32, 3), np.uint8)
        pixels[..., 0] = RED_STEP * i
        Image.fromarray(pixels).save(folder / name.format(i))
    return folder


def test_frame_folder_is_ordered_by_frame_number_not_by_name(tmp_path):
    folder = write_frame_folder(tmp_path / "scene", 12)  # frame_10.png sorts before frame_2.png by name
    (folder / "notes.txt").write_text("ignored: not a frame image")
    files = video.frame_files(folder)
    assert [f.name for f in files[:3]] == ["frame_0.png", "frame_1.png", "frame_2.png"]
    sampled = video.sample_frame_folder(files, 4)
    assert sampled.total == 12 and sampled.indices == (0, 3, 7, 11)
    assert all(isinstance(im, Path) for im in sampled.images)
    assert [frame_number(im) for im in sampled.images] == [0, 3, 7, 11]


def test_frame_folder_with_an_undefined_order_is_refused(tmp_path):
    folder = write_frame_folder(tmp_path / "a", 3)
    Image.new("RGB", (4, 4)).save(folder / "cover.png")
    with pytest.raises(video.VideoUnreadable, match="no frame number"):
        video.frame_files(folder)
    folder = write_frame_folder(tmp_path / "b", 3)
    Image.new("RGB", (4, 4)).save(folder / "frame_0002.jpg")
    with pytest.raises(video.VideoUnreadable, match="share number 2"):
        video.frame_files(folder)
    (tmp_path / "empty").mkdir()
    with pytest.raises(video.VideoUnreadable, match="no .jpg"):
        video.frame_files(tmp_path / "empty")


def test_a_frame_file_that_is_no_image_is_refused(tmp_path):
    folder = write_frame_folder(tmp_path / "scene", 3)
    (folder / "frame_2.png").write_bytes(b"garbage")
    with pytest.raises(video.VideoUnreadable, match="not a JPEG or PNG"):
        video.sample_frame_folder(video.frame_files(folder), 3)
