"""HF transformers families (PaliGemma, LLaVA) and HF extra encoders inside SpatialVLM.

The tiny models are built from config with the offline template tokenizer. The central check: a wrapper with
geometry none gives bit-for-bit the logits of the HF model's own forward on (input_ids, pixel_values,
token_type_ids), which proves placeholder expansion, the prefix mask, 1-based positions and the projector
hand-over; everything else (point maps, mixed encoders, saving, generation) is compared against that.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from spatialforge.errors import RecordError
from spatialforge.models import config_names, named_config
from spatialforge.models.backbones.base import IGNORE_INDEX
from spatialforge.models.config import EncoderConfig, ModelConfig
from spatialforge.models.pointmap import PointMap
from spatialforge.models.processing import Sample
from spatialforge.models.tokenizer import template_tokenizer
from spatialforge.models.vlm import CONFIG_FILE, SpatialVLM, build_model
from tests.models.stand_ins import TINY_ENCODERS, stand_in

transformers = pytest.importorskip("transformers")

HF_CONFIGS = ("test-paligemma", "test-llava", "test-llava-mixed")
REAL_CONFIGS = ("paligemma2-3b-pt-448-pointmap", "llava-1.5-7b-mixed-dinov2")


# -- helpers --------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models (16-wide matrices): thread-pool hand-offs cost more than the work, and on a busy machine
    they dominate (seconds instead of milliseconds per generate)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_image(seed: int, size: tuple[int, int] = (24, 20)) -> Image.Image:
    """A random RGB image of size (width, height)."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def make_point_map(seed: int, size: tuple[int, int] = (24, 20)) -> PointMap:
    """Random points 1-5 m in front of the camera (OpenCV frame, metres), a few invalid pixels."""
    rng = np.random.default_rng(seed)
    xyz = rng.uniform(-1.0, 1.0, (size[1], size[0], 3)).astype(np.float32)
    xyz[..., 2] = rng.uniform(1.0, 5.0, (size[1], size[0]))
    valid = rng.uniform(size=(size[1], size[0])) > 0.1
    return PointMap(xyz, valid)


def build(name: str, seed: int = 0, **options: object) -> SpatialVLM:
    torch.manual_seed(seed)
    return build_model(named_config(name, **options)).eval()


def scramble(model: SpatialVLM, seed: int = 1) -> SpatialVLM:
    """Large random weights everywhere except the zero-initialised connector blocks: HF's 0.02-std init
    gives near-constant logits, which would let wiring mistakes hide inside tolerances."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.startswith("connector.blocks.") and not name.startswith("connector.blocks.rgb"):
                continue
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.3)
    return model


def hf_reference(model: SpatialVLM) -> torch.nn.Module:
    """A copy of the wrapped HF model with its own projector restored from the connector's rgb weights."""
    from transformers.models.llava.modeling_llava import LlavaMultiModalProjector
    from transformers.models.paligemma.modeling_paligemma import PaliGemmaMultiModalProjector

    hf = copy.deepcopy(model.backbone.hf)
    blocks, tail = model.connector.blocks, model.connector.tail
    if model.config.family == "paligemma":
        projector = PaliGemmaMultiModalProjector(hf.config)
        projector.linear.load_state_dict(blocks["rgb"].state_dict())
    else:
        projector = LlavaMultiModalProjector(hf.config)
        projector.linear_1.load_state_dict(blocks["rgb"].state_dict())
        projector.linear_2.load_state_dict(tail[1].state_dict())
    hf.model.multi_modal_projector = projector
    return hf.eval()


def training_samples() -> list[Sample]:
    return [
        Sample("How far is the chair from the camera?", (make_image(1),), (make_point_map(1),), "2.5 meters"),
        Sample("Which is closer?", (make_image(2), make_image(3)), (make_point_map(2), None), "left"),
    ]


def prompts() -> list[Sample]:
    return [replace(s, answer=None) for s in training_samples()]


def logits(model: SpatialVLM, samples: list[Sample]) -> torch.Tensor:
    with torch.no_grad():
        return model(model.collate(samples)).logits


# -- the wrapper is the HF model ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["test-paligemma", "test-llava"])
def test_rgb_wrapper_equals_hf_forward(name: str) -> None:
    model = scramble(build(name, geometry="none"))
    reference = hf_reference(model)
    # Two samples of equal length (no padding: HF's own forward counts positions without a mask), each
    # with two images, so the placeholder runs of several images fill in order.
    samples = [
        Sample("How far is the chair?", (make_image(1), make_image(2)), (), "2.5 meters"),
        Sample("How far is the chair?", (make_image(3), make_image(4)), (), "2.5 meters"),
    ]
    batch = model.collate(samples)
    assert bool(batch.attention_mask.all())
    with torch.no_grad():
        ours = model(batch).logits
        theirs = reference(
            input_ids=batch.input_ids,
            pixel_values=batch.pixel_values["rgb"],
            attention_mask=batch.attention_mask,
            token_type_ids=batch.token_type_ids,
        ).logits
    assert ours.std() > 0.2  # not a degenerate model
    torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
    # The image matters: another image changes the logits after the placeholders.
    other = model.collate([replace(samples[0], images=(make_image(5), make_image(2))), samples[1]])
    with torch.no_grad():
        assert not torch.allclose(model(other).logits[0, -4:], ours[0, -4:])


def test_paligemma_layout_matches_its_processor() -> None:
    from transformers import PaliGemmaProcessor, SiglipImageProcessorPil

    model = build("test-paligemma", geometry="none")
    backbone = model.backbone
    image_processor = SiglipImageProcessorPil(size={"height": 16, "width": 16})
    image_processor.image_seq_length = backbone.tokens_per_image
    # The processor adds <loc>/<seg> tokens to its tokenizer: give it its own copy.
    processor = PaliGemmaProcessor(image_processor=image_processor, tokenizer=template_tokenizer(512))
    image = make_image(1)
    expected = processor(
        images=[[image, image]], text=["<image><image>How far is the chair?"], suffix=["2.5 meters"]
    )
    ours = backbone.encode_prompt("How far is the chair?", 2, "2.5 meters")
    assert ours.input_ids == list(expected["input_ids"][0])
    assert ours.token_type_ids == list(expected["token_type_ids"][0])
    assert ours.labels == list(expected["labels"][0])
    pixels = np.asarray(expected["pixel_values"][0])
    np.testing.assert_allclose(backbone.image_transform.image(image), pixels, atol=1e-5)
    # Layout spelled out: 2 x 16 placeholders, <bos> prompt "\n" | answer <eos>.
    text = backbone.tokenizer.decode(ours.input_ids[32:])
    assert ours.input_ids[:32] == [backbone.image_token_id] * 32
    assert text == "<bos>How far is the chair?\n2.5 meters<eos>"
    first_suffix = ours.token_type_ids.index(1)
    assert backbone.tokenizer.decode(ours.input_ids[first_suffix:]) == "2.5 meters<eos>"


def test_llava_layouts(tmp_path: Path) -> None:
    model = build("test-llava")
    backbone = model.backbone
    tokens = backbone.encode_prompt("How far is the chair?", 2, "2.5 meters")
    t = backbone.tokens_per_image
    text = backbone.tokenizer.decode(tokens.input_ids).replace("<image>" * t, "<I>")
    assert text == "<bos>USER: <I><I>\nHow far is the chair? ASSISTANT: 2.5 meters<eos>"
    labelled = [token for token in tokens.labels if token != IGNORE_INDEX]
    assert backbone.tokenizer.decode(labelled) == " 2.5 meters<eos>"
    assert tokens.input_ids[-len(labelled) :] == labelled
    prompt_only = backbone.encode_prompt("How far is the chair?", 2, None)
    assert prompt_only.input_ids == tokens.input_ids[: -len(labelled)]
    assert set(prompt_only.labels) == {IGNORE_INDEX}

    # A tokenizer with a chat template: its rendering of one user turn + the generation prompt.
    tokenizer = template_tokenizer(512)
    tokenizer.chat_template = (
        "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<eos>{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>{% endif %}"
    )
    tokenizer.save_pretrained(str(tmp_path / "chat"))
    settings = {**named_config("test-llava").backbone, "tokenizer": str(tmp_path / "chat")}
    settings["hf_config"] = {**settings["hf_config"], "image_token_index": backbone.image_token_id}
    torch.manual_seed(0)
    chat = build_model(named_config("test-llava", backbone=settings)).backbone
    tokens = chat.encode_prompt("Which is closer?", 1, "left")
    decoded = chat.tokenizer.decode(tokens.input_ids).replace("<image>" * t, "<I>")
    assert decoded == "<bos><|user|><I>\nWhich is closer?<eos><|assistant|>left<eos>"
    assert chat.tokenizer.decode([x for x in tokens.labels if x != IGNORE_INDEX]) == "left<eos>"


@pytest.mark.parametrize("name", ["test-paligemma", "test-llava"])
def test_text_with_image_token_is_refused(name: str) -> None:
    backbone = build(name).backbone
    with pytest.raises(ValueError, match="image token"):
        backbone.encode_prompt("look at <image> here", 1, None)
    with pytest.raises(ValueError, match="image token"):
        backbone.encode_prompt("look", 1, "an <image>")


# -- point maps and mixed encoders start exactly at the RGB model -----------------------------------------


@pytest.mark.parametrize("name", ["test-paligemma", "test-llava"])
@pytest.mark.parametrize("geometry", ["metric_xyz", "relative_depth"])
def test_point_map_model_starts_at_rgb_model(name: str, geometry: str) -> None:
    rgb = scramble(build(name, geometry="none"))
    spatial = build(name, geometry=geometry)
    missing, unexpected = spatial.load_state_dict(rgb.state_dict(), strict=False)
    assert not unexpected and all(
        key.startswith(("geometry.", "connector.blocks.pointmap")) for key in missing
    )
    assert torch.equal(logits(spatial, training_samples()), logits(rgb, training_samples()))
    # Once the point-map block is not zero, the point map changes the answer.
    with torch.no_grad():
        spatial.connector.blocks["pointmap"].weight.normal_(0, 0.1)
    assert not torch.equal(logits(spatial, training_samples()), logits(rgb, training_samples()))


def test_mixed_encoders_resample_their_grid() -> None:
    mixed = build("test-llava-mixed")
    dinov2 = mixed.extra_encoders["dinov2"]
    assert dinov2.grid == (3, 3) and mixed.backbone.grid == (4, 4)
    batch = mixed.collate(training_samples())
    assert batch.pixel_values["dinov2"].shape == (3, 3, 12, 12)
    assert dinov2(batch.pixel_values["dinov2"]).shape == (3, 9, 8)
    # Zero blocks for DINOv2 and the relative-depth map: exactly the RGB LLaVA with the same weights.
    rgb = build("test-llava")
    rgb.load_state_dict(mixed.state_dict(), strict=False)
    assert torch.equal(logits(mixed, training_samples()), logits(rgb, training_samples()))
    with torch.no_grad():
        mixed.connector.blocks["dinov2"].weight.normal_(0, 1.0)
    changed = logits(mixed, training_samples())
    assert not torch.allclose(changed, logits(rgb, training_samples()))


@pytest.mark.parametrize("kind", sorted(TINY_ENCODERS))
def test_hf_encoders_drop_class_tokens(kind: str) -> None:
    from spatialforge.models.vlm import build_encoder

    torch.manual_seed(0)
    encoder = build_encoder(EncoderConfig("extra", kind, TINY_ENCODERS[kind]), None).eval()
    pixels = torch.randn(2, 3, 12, 12)
    features = encoder(pixels)
    rows, cols = encoder.grid
    assert features.shape == (2, rows * cols, encoder.width)
    with torch.no_grad():
        output = encoder.model(pixels, output_hidden_states=True)
    if kind == "hf_clip":  # LLaVA's choice: the penultimate layer without CLS
        torch.testing.assert_close(features, output.hidden_states[-2][:, 1:], rtol=0, atol=0)
    elif kind == "hf_dinov2":
        torch.testing.assert_close(features, output.last_hidden_state[:, 1:], rtol=0, atol=0)
    else:  # SigLIP has no class token
        torch.testing.assert_close(features, output.last_hidden_state, rtol=0, atol=0)


def test_dinov2_registers_are_dropped() -> None:
    from spatialforge.models.vlm import build_encoder

    settings = copy.deepcopy(TINY_ENCODERS["hf_dinov2"])
    settings["hf_config"].update(model_type="dinov2_with_registers", num_register_tokens=3)
    torch.manual_seed(0)
    encoder = build_encoder(EncoderConfig("extra", "hf_dinov2", settings), None).eval()
    pixels = torch.randn(1, 3, 12, 12)
    with torch.no_grad():
        full = encoder.model(pixels).last_hidden_state  # CLS + 3 registers + 9 patches
        assert full.shape[1] == 13
        torch.testing.assert_close(encoder(pixels), full[:, 4:], rtol=0, atol=0)


def test_encoder_loads_pretrained_vision_half_of_clip(tmp_path: Path) -> None:
    """A full CLIP checkpoint (text + vision) serves hf_clip through its vision half."""
    from transformers import CLIPConfig, CLIPModel

    from spatialforge.models.vlm import build_encoder

    vision = dict(TINY_ENCODERS["hf_clip"]["hf_config"])
    vision.pop("model_type")
    text = {"hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2}
    torch.manual_seed(0)
    clip = CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=8)).eval()
    clip.save_pretrained(str(tmp_path / "clip"))
    encoder = build_encoder(EncoderConfig("clip", "hf_clip", {"pretrained": str(tmp_path / "clip")}), None)
    pixels = torch.randn(1, 3, 12, 12)
    with torch.no_grad():
        expected = clip.vision_model(pixels, output_hidden_states=True).hidden_states[-2][:, 1:]
        torch.testing.assert_close(encoder.eval()(pixels), expected, rtol=0, atol=0)
    assert "pretrained" not in encoder.resolved_settings(tmp_path)


# -- real loading path -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["test-paligemma", "test-llava"])
def test_pretrained_folder_loads_with_from_pretrained(name: str, tmp_path: Path) -> None:
    """A checkpoint written by HF's save_pretrained (+ its tokenizer) loads through {"pretrained": folder}:
    the path real checkpoints (google/paligemma2-3b-pt-448, llava-hf/llava-1.5-7b-hf) take."""
    built = scramble(build(name, geometry="none"))
    checkpoint = tmp_path / "checkpoint"
    hf_reference(built).save_pretrained(str(checkpoint))
    built.backbone.tokenizer.save_pretrained(str(checkpoint))
    config = replace(named_config(name, geometry="metric_xyz"), backbone={"pretrained": str(checkpoint)})
    torch.manual_seed(0)
    loaded = build_model(config).eval()
    assert loaded.backbone.image_token_id == built.backbone.image_token_id
    # The projector came over into the connector; the point-map block is zero: the RGB model's logits.
    assert torch.equal(logits(loaded, training_samples()), logits(built, training_samples()))
    # Saved again, the config names no hub or folder: hf_config + the tokenizer beside the weights.
    saved = loaded.save_pretrained(tmp_path / "ours")
    backbone = json.loads((saved / CONFIG_FILE).read_text())["backbone"]
    assert "pretrained" not in backbone and backbone["tokenizer"] == "tokenizer"
    assert (saved / "tokenizer").is_dir()
    reloaded = SpatialVLM.from_pretrained(saved)
    assert torch.equal(logits(reloaded, training_samples()), logits(built, training_samples()))


def test_missing_pretrained_is_a_clear_error(tmp_path: Path) -> None:
    config = replace(named_config("test-paligemma"), backbone={"pretrained": str(tmp_path / "nothing")})
    with pytest.raises(RecordError, match="pretrained"):
        build_model(config)


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"tokenizer": "template"}, "pretrained"),  # neither pretrained nor hf_config
        ({"pretrained": "x", "hf_config": {}}, "pretrained"),  # both
        ({"hf_config": {}, "tokenizer": "template", "image_sise": 16}, "image_sise"),  # a typo
        ({"hf_config": {}, "tokenizer": "template", "dtype": "float8"}, "dtype"),
        ({"hf_config": {"model_type": "llava"}, "tokenizer": "template"}, "hf_config"),
    ],
)
def test_bad_settings_name_the_field(settings: dict, field: str) -> None:
    config = replace(named_config("test-paligemma"), backbone=settings)
    with pytest.raises(RecordError) as error:
        build_model(config)
    assert error.value.field == field


def test_tokenizer_must_fit_the_vocabulary() -> None:
    settings = copy.deepcopy(named_config("test-paligemma").backbone)
    settings["hf_config"]["text_config"]["vocab_size"] = 256  # < 256 bytes + 5 specials
    with pytest.raises(RecordError) as error:
        build_model(replace(named_config("test-paligemma"), backbone=settings))
    assert error.value.field == "tokenizer"


@pytest.mark.parametrize("name", ["test-paligemma", "test-llava"])
def test_other_image_size_interpolates_positions(name: str) -> None:
    """image_size 24 instead of the config's 16: a 6 x 6 grid, position embeddings interpolated."""
    model = build(name, backbone={"image_size": 24})
    assert model.backbone.grid == (6, 6) and model.backbone.tokens_per_image == 36
    batch = model.collate(training_samples())
    assert int((batch.input_ids == model.backbone.image_token_id).sum()) == 3 * 36
    output = model(batch)
    assert output.loss is not None and torch.isfinite(output.loss)


# -- training, generation, saving --------------------------------------------------------------------------


@pytest.mark.parametrize("name", HF_CONFIGS)
def test_forward_backward_trains_the_right_parts(name: str) -> None:
    model = build(name, geometry="metric_xyz").train()
    state = model.state_dict()
    assert not any("multi_modal_projector" in key for key in state)  # stored once, in the connector
    output = model(model.collate(training_samples()))
    assert output.loss is not None and torch.isfinite(output.loss)
    output.loss.backward()
    vision = {id(p) for p in model.backbone.vision_parameters()}
    vision |= {id(p) for e in model.extra_encoders.values() for p in e.parameters()}
    for parameter_name, parameter in model.named_parameters():
        if id(parameter) in vision:
            assert not parameter.requires_grad and parameter.grad is None, parameter_name
    # (Gemma ties lm_head to the embeddings: named_parameters lists that weight once, as embed_tokens.)
    trained = (
        "geometry.",
        "connector.blocks.pointmap",
        "connector.blocks.rgb",
        "backbone.hf.model.language_model.",
    )
    for prefix in trained:
        grads = [p.grad for n, p in model.named_parameters() if n.startswith(prefix)]
        assert grads and all(g is not None for g in grads), prefix
    layers = [p.grad for n, p in model.named_parameters() if ".language_model.layers." in n]
    assert layers and all(g is not None and bool(g.abs().sum() > 0) for g in layers)


@pytest.mark.parametrize("name", HF_CONFIGS)
def test_generate_cached_equals_uncached(name: str) -> None:
    model = scramble(build(name, geometry="metric_xyz"))
    with torch.no_grad():  # a live point-map block, so the cache path carries point-map embeddings too
        model.connector.blocks["pointmap"].weight.normal_(0, 0.1)
    batch = model.collate(prompts(), with_labels=False)  # different lengths: left padding
    assert not bool(batch.attention_mask.all())
    cached = model.generate(batch, max_new_tokens=8, use_cache=True)
    uncached = model.generate(batch, max_new_tokens=8, use_cache=False)
    assert cached.token_ids == uncached.token_ids
    assert all(len(row) > 0 for row in cached.token_ids)
    # Left padding does not change a prompt's continuation: each sample alone generates the same.
    for index, sample in enumerate(prompts()):
        alone = model.generate(model.collate([sample], with_labels=False), max_new_tokens=8)
        assert alone.token_ids[0] == cached.token_ids[index]


def test_paligemma_generate_equals_hf_generate() -> None:
    """Greedy decoding of a left-padded batch equals HF's own generate (its 1-based positions from the mask,
    prefix mask, sliding-window cache)."""
    model = scramble(build("test-paligemma", geometry="none"))
    reference = hf_reference(model)
    batch = model.collate(prompts(), with_labels=False)
    ours = model.generate(batch, max_new_tokens=6).token_ids
    eos = sorted(model.backbone.eos_token_ids)
    with torch.no_grad():
        theirs = reference.generate(
            input_ids=batch.input_ids,
            pixel_values=batch.pixel_values["rgb"],
            attention_mask=batch.attention_mask,
            token_type_ids=batch.token_type_ids,
            max_new_tokens=6,
            do_sample=False,
            eos_token_id=eos,
            pad_token_id=model.backbone.pad_token_id,
        )
    for row, new in zip(ours, theirs[:, batch.input_ids.shape[1] :].tolist(), strict=True):
        cut = next((i for i, token in enumerate(new) if token in eos), len(new))
        assert row == new[:cut]


@pytest.mark.parametrize("name", HF_CONFIGS)
def test_save_and_load_round_trip(name: str, tmp_path: Path) -> None:
    model = scramble(build(name))
    folder = model.save_pretrained(tmp_path / "model")
    saved = ModelConfig.load(folder / CONFIG_FILE)
    assert saved.backbone["tokenizer"] == "tokenizer" and "hf_config" in saved.backbone
    for encoder in saved.extra_encoders:
        assert "hf_config" in encoder.settings and "pretrained" not in encoder.settings
    loaded = SpatialVLM.from_pretrained(folder)
    assert torch.equal(logits(loaded, training_samples()), logits(model, training_samples()))
    batch = model.collate(prompts(), with_labels=False)
    assert (
        loaded.generate(batch, max_new_tokens=4).token_ids
        == model.generate(batch, max_new_tokens=4).token_ids
    )


# -- registry sweep -----------------------------------------------------------------------------------------


def test_real_configs_are_the_papers_designs() -> None:
    hispatial = named_config("paligemma2-3b-pt-448-pointmap")
    assert hispatial.backbone == {"pretrained": "google/paligemma2-3b-pt-448"}
    assert (hispatial.geometry.kind, hispatial.connector.kind, hispatial.freeze_vision) == (
        "metric_xyz",
        "linear",
        True,
    )
    spatial_llm = named_config("llava-1.5-7b-mixed-dinov2")
    assert spatial_llm.backbone == {"pretrained": "llava-hf/llava-1.5-7b-hf"}
    assert spatial_llm.connector.kind == "mlp2x_gelu"
    [dinov2] = spatial_llm.extra_encoders
    assert (dinov2.kind, dinov2.settings["pretrained"], dinov2.settings["image_size"]) == (
        "hf_dinov2",
        "facebook/dinov2-large",
        224,
    )
    # The stand-ins keep the structure and swap only the weights' source.
    for name in REAL_CONFIGS:
        real, tiny = named_config(name), stand_in(named_config(name))
        assert (tiny.family, tiny.geometry, tiny.connector.kind, tiny.freeze_vision) == (
            real.family,
            real.geometry,
            real.connector.kind,
            real.freeze_vision,
        )
        assert [(e.name, e.kind) for e in tiny.extra_encoders] == [
            (e.name, e.kind) for e in real.extra_encoders
        ]
        assert "pretrained" not in json.dumps(tiny.to_dict())


@pytest.mark.parametrize("name", config_names())
def test_every_named_config_builds_trains_and_generates(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(stand_in(named_config(name)))
    output = model(model.collate(training_samples()))
    assert output.loss is not None and torch.isfinite(output.loss)
    output.loss.backward()
    batch = model.collate(prompts(), with_labels=False)
    generated = model.eval().generate(batch, max_new_tokens=3)
    assert len(generated.token_ids) == 2 and all(len(row) <= 3 for row in generated.token_ids)
    assert model.generate(batch, max_new_tokens=3, use_cache=False).token_ids == generated.token_ids


def test_a_projector_the_connector_cannot_take_is_named() -> None:
    with pytest.raises(ValueError, match="two-layer projector cannot become a 'linear' connector"):
        build_model(named_config("test-llava", connector="linear"))
