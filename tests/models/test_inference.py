"""Inference with a saved spatial VLM: `spatialforge ask` and the `spatialforge:PATH` eval backend."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from PIL import Image  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from spatialforge.cli.main import app  # noqa: E402
from spatialforge.evaluate.models.base import (  # noqa: E402
    GenerationSettings,
    ModelError,
    Request,
    build_model,
    parse_model_spec,
)
from spatialforge.geometry.camera import PinholeCamera  # noqa: E402
from spatialforge.models import named_config  # noqa: E402
from spatialforge.models.pointmap import PointMap, point_map_from_depth  # noqa: E402
from spatialforge.models.processing import Sample  # noqa: E402
from spatialforge.models.vlm import SpatialVLM  # noqa: E402
from spatialforge.models.vlm import build_model as build_vlm  # noqa: E402
from tests.evaluate.tiny_bench import tiny_benchmark  # noqa: E402

SETTINGS = GenerationSettings(max_new_tokens=6)
INTRINSICS = (40.0, 40.0, 32.0, 24.0)  # fx, fy, cx, cy of the 64 x 48 test images


def _saved(folder: Path, **options) -> Path:
    torch.manual_seed(0)
    model = build_vlm(named_config("test-small", **options))
    # Make the point-map half matter, so answers with and without geometry can differ.
    with torch.no_grad():
        if model.geometry is not None:
            model.connector.blocks["pointmap"].weight.normal_(0.0, 0.5)
    return model.save_pretrained(folder)


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _saved(tmp_path_factory.mktemp("metric_model"))


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    paths = []
    for name in ("room", "street"):
        path = folder / f"{name}.png"
        Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def _depth(scale: float = 1.0) -> np.ndarray:
    """(48, 64) metres: a floor-like ramp from 1 m (top) to 4 m (bottom)."""
    return (np.linspace(1.0, 4.0, 48, dtype=np.float32)[:, None] * np.ones((1, 64), np.float32)) * scale


def _point_map() -> PointMap:
    return point_map_from_depth(_depth(), PinholeCamera(*INTRINSICS, 64, 48))


def _direct_answer(folder: Path, image: Path, question: str, point_map: PointMap | None) -> str:
    model = SpatialVLM.from_pretrained(folder)
    sample = Sample(
        prompt=question,
        images=(Image.open(image).convert("RGB"),),
        point_maps=(point_map,) if point_map is not None else (),
    )
    return model.answer([sample], max_new_tokens=SETTINGS.max_new_tokens)[0]


def test_a_bare_first_value_is_the_path() -> None:
    assert parse_model_spec("spatialforge:runs/m,device=cpu") == (
        "spatialforge",
        {"path": "runs/m", "device": "cpu"},
    )
    assert parse_model_spec("hf:path=x") == ("hf", {"path": "x"})
    with pytest.raises(ValueError, match="given twice"):
        parse_model_spec("spatialforge:a,path=b")


def test_backend_answers_as_the_model_does(saved_model: Path, images: list[Path]) -> None:
    backend = build_model(f"spatialforge:{saved_model},device=cpu", [])
    described = backend.describe()
    assert described["family"] == "small" and described["geometry"] == "metric_xyz"
    assert described["geometry_input"] == "none"
    reply = backend.answer(Request("q0", "How far is the chair?", (images[0],), SETTINGS))
    assert reply.text == _direct_answer(saved_model, images[0], "How far is the chair?", None)
    assert 1 <= reply.usage["completion_tokens"] <= SETTINGS.max_new_tokens


def test_backend_reads_point_maps_by_image_name(
    saved_model: Path, images: list[Path], tmp_path: Path
) -> None:
    pointmaps = tmp_path / "pointmaps"
    pointmaps.mkdir()
    np.save(pointmaps / "room.npy", np.where(_point_map().valid[..., None], _point_map().xyz, np.nan))
    backend = build_model(f"spatialforge:{saved_model},pointmaps={pointmaps}", [])
    assert backend.describe()["geometry_input"] == "point_maps"
    reply = backend.answer(Request("q0", "How far is the chair?", (images[0],), SETTINGS))
    assert reply.text == _direct_answer(saved_model, images[0], "How far is the chair?", _point_map())
    with pytest.raises(ModelError) as missing:
        backend.answer(Request("q1", "How far is the car?", (images[1],), SETTINGS))
    assert missing.value.reason == "point_map_missing" and not missing.value.retryable
    assert "street" in str(missing.value)


def test_blank_backend_shows_grey_images_and_no_geometry(
    saved_model: Path, images: list[Path], tmp_path: Path
) -> None:
    from spatialforge.models.processing import blank_image

    backend = build_model(f"spatialforge:{saved_model},blank=true", [])
    assert backend.describe()["blank_inputs"] is True
    reply = backend.answer(Request("q0", "How far is the chair?", (images[0],), SETTINGS))
    grey = tmp_path / "grey.png"
    blank_image(Image.open(images[0])).save(grey)
    assert reply.text == _direct_answer(saved_model, grey, "How far is the chair?", None)
    with pytest.raises(ValueError, match="blank=true shows no geometry"):
        build_model(f"spatialforge:{saved_model},blank=true,pointmaps={tmp_path}", [])
    with pytest.raises(ValueError, match="blank='maybe' is not true or false"):
        build_model(f"spatialforge:{saved_model},blank=maybe", [])


def test_batched_backend_gives_the_replies_of_one_at_a_time(saved_model: Path, images: list[Path]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    questions = [f"How far is the {name}?" for name in ("chair", "table", "lamp", "green sofa", "bed")]
    requests = [Request(f"q{i}", q, (images[i % 2],), SETTINGS) for i, q in enumerate(questions * 2)]
    single = build_model(f"spatialforge:{saved_model}", [])
    expected = [single.answer(r).text for r in requests]
    batched = build_model(f"spatialforge:{saved_model},batch_size=4", [])
    assert batched.max_concurrency == 4 and batched.describe()["batch_size"] == 4
    with ThreadPoolExecutor(max_workers=4) as pool:
        replies = list(pool.map(batched.answer, requests))
    assert [r.text for r in replies] == expected
    assert all(r.usage["completion_tokens"] >= 1 for r in replies)
    with pytest.raises(ValueError, match="batch_size=0 must be >= 1"):
        build_model(f"spatialforge:{saved_model},batch_size=0", [])


def test_backend_options_are_checked(saved_model: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs the saved model's folder"):
        build_model("spatialforge", [])
    with pytest.raises(ValueError, match="not a folder"):
        build_model(f"spatialforge:{tmp_path / 'nothing'}", [])
    with pytest.raises(ValueError, match="does not understand"):
        build_model(f"spatialforge:{saved_model},colour=red", [])
    with pytest.raises(FileNotFoundError, match="not a saved spatialforge model"):
        build_model(f"spatialforge:{tmp_path}", [])


def test_evaluation_run_with_a_saved_spatial_vlm(
    saved_model: Path, images: list[Path], tmp_path: Path
) -> None:
    from spatialforge.evaluate.run import EvalConfig, run_eval

    bench = tiny_benchmark(tmp_path / "bench", images)
    out = tmp_path / "out"
    config = EvalConfig(
        benchmark=str(bench),
        model=f"spatialforge:{saved_model}",
        output=str(out),
        max_new_tokens=4,
        progress=False,
        bootstrap=20,
    )
    report = run_eval(config)
    assert report.answered == 3 and not report.failed
    recorded = json.loads((out / "eval.json").read_text())
    assert recorded["model"]["kind"] == "spatialforge" and recorded["model"]["name"] == "test-small"
    assert (out / "tables.json").is_file()


def _ask(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["ask", *args])
    return result.exit_code, result.output


def test_ask_with_depth_equals_the_model_with_its_point_map(
    saved_model: Path, images: list[Path], tmp_path: Path
) -> None:
    depth = tmp_path / "depth.npy"
    np.save(depth, _depth())
    intrinsics = ",".join(str(v) for v in INTRINSICS)
    code, output = _ask(
        str(images[0]),
        "How far?",
        "--model",
        str(saved_model),
        "--depth",
        str(depth),
        "--intrinsics",
        intrinsics,
        "--max-new-tokens",
        "6",
        "--device",
        "cpu",
    )
    assert code == 0, output
    assert output == _direct_answer(saved_model, images[0], "How far?", _point_map()) + "\n"


def test_ask_with_a_point_map_file(saved_model: Path, images: list[Path], tmp_path: Path) -> None:
    path = tmp_path / "points.npz"
    np.savez(path, xyz=_point_map().xyz, valid=_point_map().valid)
    code, output = _ask(
        str(images[0]),
        "How far?",
        "--model",
        str(saved_model),
        "--pointmap",
        str(path),
        "--max-new-tokens",
        "6",
        "--device",
        "cpu",
    )
    assert code == 0, output
    assert output == _direct_answer(saved_model, images[0], "How far?", _point_map()) + "\n"


def test_ask_refuses_what_it_cannot_use(saved_model: Path, images: list[Path], tmp_path: Path) -> None:
    depth = tmp_path / "depth.npy"
    np.save(depth, _depth())
    code, output = _ask(str(images[0]), "q", "--model", str(saved_model), "--depth", str(depth))
    assert code == 2 and "--intrinsics" in output
    code, output = _ask(str(tmp_path / "missing.png"), "q", "--model", str(saved_model))
    assert code == 2 and "missing.png" in output
    rgb = _saved(tmp_path / "rgb", geometry="none")
    code, output = _ask(
        str(images[0]), "q", "--model", str(rgb), "--depth", str(depth), "--intrinsics", "1,1,1,1"
    )
    assert code == 2 and "RGB-only" in output
    code, output = _ask(str(images[0]), "q", "--model", str(saved_model), "--box", "1,2,3")
    assert code == 2 and "--box" in output
