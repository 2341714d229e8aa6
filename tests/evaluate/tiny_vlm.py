"""A tiny LLaVA-style VLM built from config and saved as a model folder, for tests that need a real
`from_pretrained` round trip without downloads.

Parts (all saved with save_pretrained, so `AutoProcessor.from_pretrained(folder)` and
`AutoModelForImageTextToText.from_pretrained(folder)` load them with HF_HUB_OFFLINE=1):
- a byte-pair tokenizer trained here (tokenizers library) on a few spatial questions, with the special tokens
  the chat needs (<s>, <pad>, <unk>, <|end|> as EOS, role markers) and LLaVA's <image> placeholder; like
  Llama's it puts BOS in front of what it encodes;
- CLIPImageProcessorPil at 28x28 (torchvision-free), so one image is 2x2 patches of 14 pixels;
- LlavaProcessor with a small chat template (images first, then text, system turn allowed);
- LlavaForConditionalGeneration: a one-layer CLIP vision tower and a one-layer Llama, ~42k parameters,
  initialised from torch seed 0 (the same folder contents on every build).

With vision_feature_select_strategy "default" LLaVA drops the CLS position, so each image becomes
(28 / 14) ** 2 = IMAGE_TOKENS_PER_IMAGE placeholder tokens in input_ids.
"""

from __future__ import annotations

from pathlib import Path

IMAGE_TOKEN = "<image>"
EOS_TOKEN = "<|end|>"
IMAGE_SIZE = 28
PATCH_SIZE = 14
IMAGE_TOKENS_PER_IMAGE = (IMAGE_SIZE // PATCH_SIZE) ** 2
SPECIAL_TOKENS = ["<pad>", "<s>", "<unk>", EOS_TOKEN, IMAGE_TOKEN, "<|system|>", "<|user|>", "<|assistant|>"]

# HF renders templates with trim_blocks and lstrip_blocks, hence the explicit '\n' expressions.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}<|{{ message['role'] }}|>{{ '\\n' }}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<image>{{ '\\n' }}"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|end|>{{ '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{{ '\\n' }}{% endif %}"
)
# The same chat without a system role, as some model families ship it.
CHAT_TEMPLATE_NO_SYSTEM = (
    "{% for message in messages %}{% if message['role'] == 'system' %}"
    "{{ raise_exception('System role not supported') }}{% endif %}{% endfor %}" + CHAT_TEMPLATE
)

CORPUS = [
    "How far is the chair from the table? Answer in metres.",
    "Which object is closer to the camera? A. the lamp B. the sofa C. the bed D. the desk",
    "Is the cup to the left of the plate? Answer yes or no.",
    "How many chairs are in the image?",
    "What is the direction from the bottle to the monitor in the camera frame?",
    "The answer is 1.5 m. The answer is B. yes no left right above below front behind",
    "0 1 2 3 4 5 6 7 8 9 . , ( ) metres meters centimetres cm m",
]


def _tokenizer() -> object:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE(unk_token="<unk>"))
    # Metaspace keeps word boundaries in the tokens, so decoded text reads as words.
    core.pre_tokenizer = pre_tokenizers.Metaspace()
    core.decoder = decoders.Metaspace()
    # Every printable ASCII character and the newline are in the alphabet: no <unk> for prompt text.
    alphabet = [chr(c) for c in range(32, 127)] + ["\n"]
    trainer = trainers.BpeTrainer(
        vocab_size=200, special_tokens=SPECIAL_TOKENS, initial_alphabet=alphabet, show_progress=False
    )
    core.train_from_iterator(CORPUS * 4, trainer)
    # Like Llama's tokenizer it adds BOS itself; a template that writes BOS must not get a second one.
    bos_id = core.token_to_id("<s>")
    core.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", bos_id)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token="<s>",
        eos_token=EOS_TOKEN,
        pad_token="<pad>",
        unk_token="<unk>",
        extra_special_tokens={"image_token": IMAGE_TOKEN},
    )


def build_tiny_vlm(folder: str | Path, *, chat_template: str | None = CHAT_TEMPLATE) -> Path:
    """Write the tiny VLM (model, processor, tokenizer, generation config) to `folder`; returns it.
    chat_template None saves a processor without one (the backend's plain prompt fallback)."""
    import torch
    from transformers import (
        CLIPImageProcessorPil,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = _tokenizer()
    image_processor = CLIPImageProcessorPil(
        size={"shortest_edge": IMAGE_SIZE}, crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}
    )
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=PATCH_SIZE,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,  # CLIP's CLS position, dropped again by the "default" strategy
        chat_template=chat_template,
    )
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=IMAGE_SIZE,
            patch_size=PATCH_SIZE,
            projection_dim=16,
        ),
        text_config=LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=1,
            max_position_embeddings=512,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        ),
        image_token_index=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
        vision_feature_select_strategy="default",
        vision_feature_layer=-1,
    )
    torch.manual_seed(0)
    model = LlavaForConditionalGeneration(config).eval()
    generation = model.generation_config
    generation.bos_token_id = tokenizer.bos_token_id
    generation.eos_token_id = tokenizer.eos_token_id
    generation.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder
