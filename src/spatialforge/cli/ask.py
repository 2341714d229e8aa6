"""`spatialforge ask`: one question about one image to a saved spatial VLM, with optional geometry."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import typer

from spatialforge.cli.shared import console, fail
from spatialforge.errors import RecordError


def ask_command(
    image: Path = typer.Argument(..., help="The image (any format Pillow reads)."),
    question: str = typer.Argument(..., help="The question, as the model should read it."),
    model: Path = typer.Option(
        ..., "--model", "-m", help="A saved model folder (SpatialVLM.save_pretrained)."
    ),
    depth: Path = typer.Option(
        None, "--depth", help="Metric z-depth of the image: .npy (metres) or 16-bit PNG (--depth-scale)."
    ),
    depth_scale: float = typer.Option(
        None, "--depth-scale", help="Metres per stored depth unit (default: 0.001 for PNG, 1 for .npy)."
    ),
    intrinsics: str = typer.Option(
        None, "--intrinsics", help="fx,fy,cx,cy in the IMAGE's pixels (needed with --depth)."
    ),
    pointmap: Path = typer.Option(
        None, "--pointmap", help="Point map: .npy (H, W, 3) metres, camera frame, or .npz with xyz/valid."
    ),
    box: list[str] = typer.Option(
        None, "--box", help="x0,y0,x1,y1 in pixels, drawn on the image (red, then green ...); repeatable."
    ),
    point: list[str] = typer.Option(None, "--point", help="u,v in pixels, drawn as a dot; repeatable."),
    max_new_tokens: int = typer.Option(64, "--max-new-tokens", min=1),
    temperature: float = typer.Option(0.0, "--temperature", min=0.0, help="0 = greedy."),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option(None, "--device", help="cpu, cuda, cuda:1 ... (default: cuda if available)."),
) -> None:
    """Ask a saved spatial VLM one question about IMAGE, with its depth or point map when it reads one."""
    try:
        answer = ask(
            image,
            question,
            model=model,
            depth=depth,
            depth_scale=depth_scale,
            intrinsics=intrinsics,
            pointmap=pointmap,
            boxes=box or (),
            points=point or (),
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            seed=seed,
            device=device,
        )
    except (RecordError, ValueError, OSError) as error:
        fail(error)
    typer.echo(answer)


def ask(
    image: Path,
    question: str,
    *,
    model: Path,
    depth: Path | None = None,
    depth_scale: float | None = None,
    intrinsics: str | None = None,
    pointmap: Path | None = None,
    boxes: Sequence[str] = (),
    points: Sequence[str] = (),
    max_new_tokens: int = 64,
    temperature: float = 0.0,
    seed: int = 0,
    device: str | None = None,
) -> str:
    """The answer text; ValueError / RecordError naming the file or option that is wrong."""
    from PIL import Image, UnidentifiedImageError

    from spatialforge.evaluate.models.hf import choose_device
    from spatialforge.geometry.camera import PinholeCamera
    from spatialforge.models.markers import mark_image, parse_coordinates
    from spatialforge.models.pointmap import point_map_from_depth, read_depth_file, read_point_map_file
    from spatialforge.models.processing import Sample
    from spatialforge.models.vlm import SpatialVLM

    if depth is not None and pointmap is not None:
        raise ValueError("give --depth or --pointmap, not both")
    if depth is not None and intrinsics is None:
        raise ValueError("--depth needs --intrinsics fx,fy,cx,cy (the image's camera)")
    try:
        with Image.open(image) as opened:
            picture = opened.convert("RGB")
    except (OSError, UnidentifiedImageError) as error:
        raise RecordError("unreadable", f"cannot read the image: {error}", file=str(image)) from None
    if boxes or points:
        marked = mark_image(
            picture,
            boxes=[parse_coordinates(b, 4, "--box") for b in boxes],
            points=[parse_coordinates(p, 2, "--point") for p in points],
        )
        picture = marked.image
        console.print(f"markers drawn: {', '.join(marked.phrases)}", highlight=False)
    vlm = SpatialVLM.from_pretrained(model, device=choose_device(device))
    geometry = None
    if depth is not None or pointmap is not None:
        if vlm.geometry is None:
            raise ValueError(f"model {model} is RGB-only ({vlm.config.name}); it reads no depth or point map")
        if pointmap is not None:
            geometry = read_point_map_file(pointmap)
        else:
            fx, fy, cx, cy = parse_coordinates(intrinsics or "", 4, "--intrinsics")
            depth_m = read_depth_file(depth, depth_scale)  # (h, w) metres
            sx, sy = depth_m.shape[1] / picture.width, depth_m.shape[0] / picture.height
            # Intrinsics are in image pixels; a depth map of another resolution sees them scaled.
            camera = PinholeCamera(fx * sx, fy * sy, cx * sx, cy * sy, depth_m.shape[1], depth_m.shape[0])
            geometry = point_map_from_depth(depth_m, camera)
    elif vlm.geometry is not None:
        console.print(
            f"[yellow]note:[/yellow] {vlm.config.name} reads point maps; none given, so the image is asked "
            "with an all-invalid point map (no geometry)",
            highlight=False,
        )
    sample = Sample(
        prompt=question, images=(picture,), point_maps=(geometry,) if geometry is not None else ()
    )
    return vlm.answer([sample], max_new_tokens=max_new_tokens, temperature=temperature, seed=seed)[0]
