"""A local Hugging Face transformers vision-language model as an evaluation backend.

    hf:path=/models/Qwen2.5-VL-7B-Instruct
    hf:path=llava-hf/llava-1.5-7b-hf,device=cuda:1,dtype=float16,batch_size=8
    hf:path=/models/my-vlm,device=cpu,dtype=float32

The folder (or hub id) is loaded with `AutoProcessor.from_pretrained` and
`AutoModelForImageTextToText.from_pretrained` (`AutoModelForVision2Seq` where a transformers release still
maps a model only there). Options:

    path                 local folder or hub id (required)
    device               torch device: cuda, cuda:1, cpu, mps ... (default: cuda when available, else cpu)
    dtype                auto | bfloat16 | float16 | float32 (default: bfloat16 on CUDA - float16 on GPUs
                         without bf16 - float32 elsewhere; auto: the dtype the checkpoint's config names)
    batch_size           requests generated together (default 1); see "Batching"
    trust_remote_code    true | false (default false): run Python code shipped with the checkpoint - only for
                         checkpoints you trust, and only when asked
    attn_implementation  eager | sdpa | flash_attention_2 ... (default: the transformers default)
    revision             branch, tag or commit of a hub checkpoint (pins what is evaluated)

The prompt. With a chat template (the processor's), the conversation is an optional system turn and one user
turn holding one image entry per image, in order, then the question text - the content-list format of
`ProcessorMixin.apply_chat_template` (transformers "Multimodal chat templates" guide) - rendered with the
generation prompt. A template that rejects the system role gets the system text at the head of the user
text instead. Without a chat template the fallback is plain: one image placeholder (the processor's
`image_token`) per image, then the system text and a blank line when given, then the question - PaliGemma's
layout, whose processor then adds BOS after the placeholders and the closing newline. As in
`apply_chat_template(tokenize=True)`, the tokenizer adds its special tokens only when the rendered text does
not already start with the BOS token, so BOS is never doubled.

Decoding: greedy (`do_sample=False`, one beam) when temperature == 0, else sampling with the request's
temperature and top_p after `torch.manual_seed(seed)`, so a sampled answer is reproducible per request on the
same hardware and software. Other generation knobs (repetition penalty, top_k, EOS tokens) come from the
checkpoint's generation_config, as a vLLM server applies them by default; describe() records the ones that
differ from transformers' defaults. Only the new tokens are decoded, special tokens skipped, and the text is
returned as generated (the scoring parsers see the raw reply).

Batching (batch_size > 1): the runner hands `answer_batch` consecutive requests, batch_size at a time
(run.py), and those with the same greedy settings are padded on the left (decoder-only generation continues
from the right end) and generated together (`answer_in_batches`). Callers of `answer` from many threads
(up to `max_concurrency`) are batched by a worker thread that gathers the requests arriving within a short
window with the same settings (BatchWorker). Sampled requests are
generated one by one even then, so their seed alone decides them. Batched greedy answers can differ in rare
near-ties from unbatched ones (padding changes the floating-point reductions, mostly in half precision).

Images: every image of a request is passed, in order. A request whose images the prompt format cannot all
place - a chat template that renders fewer image entries than the request has, counted by the processor's
`image_token` in the rendered prompt - is refused (ModelError "images_not_placed", not retried) instead of
letting the model answer about fewer images than the question shows.

Thread-safety: one lock serialises processor calls and generate (the model is not re-entrant); images are
read with Pillow (RGB) in the caller's thread. torch and transformers are imported only when a model is built.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spatialforge.bench.builder.items import BenchItem
from spatialforge.evaluate.models.base import (
    GenerationSettings,
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

DTYPES = ("auto", "bfloat16", "float16", "float32")
# How long the batching worker waits for a batch to fill once its first request arrived: the runner keeps
# batch_size requests in flight, so a batch fills within microseconds except at the end of a run.
BATCH_WINDOW_S = 0.05
PROMPT_CHAT = "chat_template"
PROMPT_CHAT_SYSTEM_IN_USER = "chat_template_system_in_user"
PROMPT_PLAIN = "plain"


@dataclass(frozen=True)
class HFOptions:
    """The parsed `hf:` spec. device / dtype None: chosen from the hardware when the model is built."""

    path: str
    device: str | None = None
    dtype: str | None = None
    batch_size: int = 1
    trust_remote_code: bool = False
    attn_implementation: str | None = None
    revision: str | None = None


def parse_hf_options(options: dict[str, str]) -> HFOptions:
    """The spec options as HFOptions; ValueError naming the option that is wrong or unknown (no torch)."""
    options = dict(options)
    path = take_option(options, "path")
    if not path:
        raise ValueError("model 'hf' needs path=... (a local model folder or a hub id such as org/name)")
    device = take_option(options, "device") or None
    dtype = take_option(options, "dtype") or None
    if dtype is not None and dtype not in DTYPES:
        raise ValueError(f"model 'hf': dtype={dtype!r} is not one of {list(DTYPES)}")
    batch_size = int_option("hf", options, "batch_size", 1) or 1
    trust_remote_code = bool_option("hf", options, "trust_remote_code")
    attn_implementation = take_option(options, "attn_implementation") or None
    revision = take_option(options, "revision") or None
    reject_unknown("hf", options)
    return HFOptions(path, device, dtype, batch_size, trust_remote_code, attn_implementation, revision)


def _looks_like_local_path(path: str) -> bool:
    """A hub id is `name` or `org/name`; anything absolute, dotted, home-based or deeper is a folder."""
    return (
        path.startswith(("/", "./", "../", "~", "\\"))
        or path in (".", "..")
        or path.count("/") > 1
        or "\\" in path
        or (len(path) > 1 and path[1] == ":")  # a Windows drive letter
    )


def resolve_model_path(path: str) -> str:
    """The local folder (absolute) when `path` is one; the hub id unchanged when it looks like one; ValueError
    naming `path` when it looks like a folder that does not exist."""
    local = Path(path).expanduser()
    if local.exists():
        if not local.is_dir():
            raise ValueError(f"model 'hf': path={path!r} is a file; give the model's folder")
        return str(local.resolve())
    if _looks_like_local_path(path):
        raise ValueError(f"model 'hf': path={path!r} does not exist (expected a model folder or a hub id)")
    return path


def load_rgb_image(path: Path) -> Any:
    """The image at `path` as an RGB PIL image, decoded now; ModelError (non-retryable) naming the file."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            return img.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise ModelError("bad_image", f"cannot read image {path}: {e}", retryable=False) from None


class BatchWorker:
    """Gathers concurrent requests into batches for `run_batch` (one worker thread, started on first use).
    Used by every local-model backend (hf, spatialforge): `run_batch` gets [(request, inputs)] and returns
    one Reply per entry; greedy requests with equal settings share a batch, sampled ones go alone."""

    def __init__(self, run_batch: Any, batch_size: int) -> None:
        self._run_batch = run_batch
        self._batch_size = batch_size
        self._pending: list[tuple[Request, list[Any], Future]] = []
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    def submit(self, request: Request, images: list[Any]) -> Future:
        future: Future = Future()
        with self._cond:
            if self._closed:
                raise ModelError("closed", "the backend was closed", retryable=True, attempts=0)
            self._pending.append((request, images, future))
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="hf-batch", daemon=True)
                self._thread.start()
            self._cond.notify_all()
        return future

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()

    def _next_batch(self) -> list[tuple[Request, list[Any], Future]] | None:
        with self._cond:
            while not self._pending and not self._closed:
                self._cond.wait()
            if not self._pending:
                return None
            deadline = time.monotonic() + BATCH_WINDOW_S
            while len(self._pending) < self._batch_size and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            first = self._pending[0][0].settings
            # Sampled requests go alone: their seed must decide them, not their batch neighbours.
            limit = 1 if first.temperature > 0 else self._batch_size
            batch = [entry for entry in self._pending if entry[0].settings == first][:limit]
            for entry in batch:
                self._pending.remove(entry)
            return batch

    def _loop(self) -> None:
        while (batch := self._next_batch()) is not None:
            try:
                replies = self._run_batch([(request, images) for request, images, _ in batch])
            except BaseException as e:  # delivered to every waiting caller, the worker keeps serving
                for _, _, future in batch:
                    future.set_exception(e)
                continue
            for (_, _, future), reply in zip(batch, replies, strict=True):
                future.set_result(reply)


def answer_in_batches(
    requests: Sequence[Request],
    prepared: Sequence[Any],
    run_batch: Callable[[list[tuple[Request, Any]]], list[Reply]],
    batch_size: int,
) -> list[Reply | ModelError]:
    """`answer_batch` of a local-model backend: `prepared` holds each request's inputs, or the ModelError that
    kept them from being read (that request's result). Greedy requests with equal settings are generated
    together, batch_size at a time; sampled ones go alone, so their seed alone decides them (BatchWorker's
    rule). One Reply or ModelError per request, in order."""
    results: list[Reply | ModelError | None] = [None] * len(requests)
    groups: dict[Any, list[tuple[int, Request, Any]]] = {}
    for index, (request, inputs) in enumerate(zip(requests, prepared, strict=True)):
        if isinstance(inputs, ModelError):
            results[index] = inputs
            continue
        key = request.settings if request.settings.temperature <= 0 else index
        groups.setdefault(key, []).append((index, request, inputs))
    for group in groups.values():
        for start in range(0, len(group), batch_size):
            part = group[start : start + batch_size]
            replies = run_batch([(request, inputs) for _, request, inputs in part])
            for (index, _, _), reply in zip(part, replies, strict=True):
                results[index] = reply
    return results  # type: ignore[return-value]  # every slot is filled


def prepare_or_error(prepare: Callable[[Request], Any], request: Request) -> Any:
    """prepare(request), or the ModelError of a request whose inputs cannot be read: its own, or a
    backend_exception one for anything else (as the runner records an exception of a request asked alone)."""
    try:
        return prepare(request)
    except ModelError as error:
        return error
    except Exception as error:
        return ModelError(f"backend_exception:{type(error).__name__}", str(error), retryable=False)


class HFVisionLanguageModel(ModelBackend):
    """A transformers image-text-to-text model and its processor, loaded once, asked under a lock."""

    kind = "hf"

    def __init__(self, options: HFOptions) -> None:
        try:
            import torch
            import transformers
        except ImportError as e:
            raise ValueError(
                f"model 'hf' needs torch and transformers ({e.name} is not installed): "
                "pip install 'spatialforge[hf]'"
            ) from None

        self.options = options
        self.device = choose_device(options.device)
        self.dtype_name = choose_dtype(options.dtype, self.device)
        self.max_concurrency = options.batch_size  # callers of answer(): concurrent requests share a batch
        self.batch_size = options.batch_size  # the runner asks answer_batch this many requests at a time
        self._lock = threading.Lock()
        self._closed = False
        source = resolve_model_path(options.path)
        self.processor = _load_processor(source, options)
        self.model = _load_model(source, options, self.device, self.dtype_name)
        self.tokenizer = getattr(self.processor, "tokenizer", self.processor)
        self._prepare_padding()
        self.image_token: str | None = getattr(self.processor, "image_token", None)
        self.prompt_format = self._probe_prompt_format()
        self._slots: dict[int, int] = {}  # image count -> placeholders in the rendered prompt
        self._describe = {
            "kind": self.kind,
            "path": options.path,
            "device": str(self.device),
            "dtype": str(self.model.dtype).removeprefix("torch."),
            "model_class": type(self.model).__name__,
            "processor_class": type(self.processor).__name__,
            "num_parameters": sum(p.numel() for p in self.model.parameters()),
            "batch_size": options.batch_size,
            "prompt_format": self.prompt_format,
            "trust_remote_code": options.trust_remote_code,
            "attn_implementation": options.attn_implementation,
            "generation_config": _generation_defaults(self.model.generation_config),
            "transformers_version": transformers.__version__,
            "torch_version": torch.__version__,
        }
        if options.revision is not None:
            self._describe["revision"] = options.revision
        commit = getattr(self.model.config, "_commit_hash", None)
        if commit:
            self._describe["commit_hash"] = commit
        self._worker = BatchWorker(self._generate, options.batch_size) if options.batch_size > 1 else None

    # -- the interface ------------------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        return dict(self._describe)

    def answer(self, request: Request) -> Reply:
        images = self._images(request)
        if self._worker is not None:
            return self._worker.submit(request, images).result()
        return self._generate([(request, images)])[0]

    def answer_batch(self, requests: Sequence[Request]) -> list[Reply | ModelError]:
        """The runner's consecutive groups of batch_size requests, generated together (answer_in_batches)."""
        prepared = [prepare_or_error(self._images, request) for request in requests]
        return answer_in_batches(requests, prepared, self._generate, self.batch_size)

    def _images(self, request: Request) -> list[Any]:
        """The request's images, read (RGB), after the checks that refuse it (ModelError)."""
        check_settings(request.settings)
        if self.image_token and self.image_token in request.prompt + (request.system or ""):
            # The processor would expand it as an image slot: the model would see a different question.
            raise ModelError(
                "prompt_has_image_token",
                f"the prompt contains the processor's image token {self.image_token!r}",
                retryable=False,
                attempts=0,
            )
        self._check_image_slots(len(request.images))
        return [load_rgb_image(Path(p)) for p in request.images]

    def close(self) -> None:
        """Stops the batching worker, then frees the model (after a generate in flight has finished)."""
        if self._worker is not None:
            self._worker.close()
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self.model = None
            self.processor = None
            self.tokenizer = None
        gc.collect()
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    # -- prompts --------------------------------------------------------------------------------------------

    def image_slots(self, n_images: int) -> int | None:
        """How many image placeholders (the processor's image_token) the rendered prompt of a request with
        n_images images holds; None when it cannot be told (no image token, or a template that spells images
        with another token). Depends only on the count: the text of a request never holds the token."""
        if not self.image_token:
            return None
        slots = self._slots.get(n_images)
        if slots is None:
            with self._lock:  # the processor is not shared outside the lock
                if self._closed:
                    return None  # generation refuses the request as "closed"
                probe = Request(
                    "probe",
                    "question",
                    tuple(Path(f"probe{k}.png") for k in range(n_images)),
                    GenerationSettings(),
                )
                slots = self._slots[n_images] = self.render_prompt(probe).count(self.image_token)
        return None if slots == 0 and n_images > 0 else slots

    def _check_image_slots(self, n_images: int) -> None:
        """Refuse a request whose images the prompt format cannot all place: a chat template that renders
        fewer image entries than it is given would have the model answer about fewer images than the
        question shows (or the processor fail with an unnamed error)."""
        slots = self.image_slots(n_images)
        if slots is not None and slots != n_images:
            raise ModelError(
                "images_not_placed",
                f"the prompt format ({self.prompt_format}) of {self.options.path!r} places {slots} image(s) "
                f"for a request with {n_images}: the model would not see every image",
                retryable=False,
                attempts=0,
            )

    def render_prompt(self, request: Request) -> str:
        """The text the processor tokenizes for `request` (image placeholders unexpanded)."""
        return self._render(request, self.prompt_format)

    def _render(self, request: Request, prompt_format: str) -> str:
        n_images = len(request.images)
        if prompt_format == PROMPT_PLAIN:
            head = self.image_token * n_images if self.image_token else ""
            system = f"{request.system}\n\n" if request.system else ""
            return head + system + request.prompt
        text = request.prompt
        messages: list[dict[str, Any]] = []
        if request.system and prompt_format == PROMPT_CHAT:
            messages.append({"role": "system", "content": [{"type": "text", "text": request.system}]})
        elif request.system:
            text = f"{request.system}\n\n{text}"
        content = [{"type": "image"} for _ in range(n_images)] + [{"type": "text", "text": text}]
        messages.append({"role": "user", "content": content})
        return self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

    def _probe_prompt_format(self) -> str:
        """How prompts are rendered: the chat template when the processor has one (with or without a system
        turn, tried once on a dummy request), else the plain fallback."""
        if not getattr(self.processor, "chat_template", None):
            return PROMPT_PLAIN
        probe = Request("probe", "question", (Path("probe.png"),), GenerationSettings(), system="system")
        try:
            self._render(probe, PROMPT_CHAT)
            return PROMPT_CHAT
        except Exception:  # jinja2 TemplateError ("System role not supported") and its kin
            pass
        try:
            self._render(probe, PROMPT_CHAT_SYSTEM_IN_USER)
        except Exception as e:
            raise ValueError(
                f"model 'hf': the chat template of {self.options.path!r} cannot render a user turn with an "
                f"image and text: {e}"
            ) from e
        return PROMPT_CHAT_SYSTEM_IN_USER

    # -- generation -----------------------------------------------------------------------------------------

    def _prepare_padding(self) -> None:
        """Left padding (a batch continues from its right end); a pad token where the tokenizer has none."""
        if hasattr(self.tokenizer, "padding_side"):
            self.tokenizer.padding_side = "left"
        generation = self.model.generation_config
        if getattr(self.tokenizer, "pad_token", None) is None and getattr(self.tokenizer, "eos_token", None):
            self.tokenizer.pad_token = self.tokenizer.eos_token
        if generation.pad_token_id is None:
            generation.pad_token_id = getattr(self.tokenizer, "pad_token_id", None)
            if generation.pad_token_id is None:
                eos = generation.eos_token_id
                generation.pad_token_id = eos[0] if isinstance(eos, list) else eos

    def encode(self, requests: Sequence[tuple[Request, list[Any]]]) -> Any:
        """The processor's tensors for a batch (on the model's device, pixel values in its dtype)."""
        texts = [self.render_prompt(request) for request, _ in requests]
        bos = getattr(self.tokenizer, "bos_token", None)
        add_special_tokens = not (bos and texts[0].startswith(bos))
        has_images = any(images for _, images in requests)
        inputs = self.processor(
            text=texts,
            images=[images for _, images in requests] if has_images else None,
            padding=True,
            add_special_tokens=add_special_tokens,
            return_tensors="pt",
        )
        # PaliGemma's processor adds training labels (from token_type_ids); generation takes none.
        inputs.pop("labels", None)
        return inputs.to(self.model.device, dtype=self.model.dtype)

    def _generation_config(self, settings: GenerationSettings) -> Any:
        config = self.model.generation_config.__class__.from_dict(self.model.generation_config.to_dict())
        config.max_new_tokens = settings.max_new_tokens
        config.max_length = None
        config.num_beams = 1
        if settings.temperature == 0:
            config.do_sample = False
            config.temperature = None
            config.top_p = None
            config.top_k = None
        else:
            config.do_sample = True
            config.temperature = settings.temperature
            config.top_p = settings.top_p
        return config

    def _generate(self, requests: Sequence[tuple[Request, list[Any]]]) -> list[Reply]:
        import torch

        settings = requests[0][0].settings
        with self._lock:
            if self._closed:
                raise ModelError("closed", "the hf backend was closed", retryable=True, attempts=0)
            started = time.monotonic()
            inputs = self.encode(requests)
            config = self._generation_config(settings)
            if config.do_sample:
                torch.manual_seed(settings.seed)
            try:
                with torch.inference_mode():
                    output = self.model.generate(**inputs, generation_config=config)
            except torch.cuda.OutOfMemoryError as e:
                torch.cuda.empty_cache()
                raise ModelError(
                    "out_of_memory",
                    f"{self.device} ran out of memory generating {len(requests)} request(s): {e}",
                    retryable=False,
                ) from None
            latency = time.monotonic() - started
            prompt_len = inputs["input_ids"].shape[1]
            new_tokens = output[:, prompt_len:]
            texts = self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
            prompt_counts = inputs["attention_mask"].sum(dim=1).tolist()
        stops = _stop_ids(config)
        return [
            Reply(
                text=text,
                model=self.options.path,
                latency_s=latency,
                usage={
                    "prompt_tokens": int(prompt_count),
                    "completion_tokens": _completion_length(row.tolist(), stops),
                },
            )
            for text, row, prompt_count in zip(texts, new_tokens, prompt_counts, strict=True)
        ]


def _generation_defaults(config: Any) -> dict[str, Any]:
    """The checkpoint's generation settings that differ from transformers' defaults (bookkeeping keys out)."""
    return {
        key: value
        for key, value in config.to_diff_dict().items()
        if not key.startswith("_") and key != "transformers_version"
    }


def _stop_ids(config: Any) -> set[int]:
    eos = config.eos_token_id
    if eos is None:
        return set()
    return set(eos) if isinstance(eos, list) else {int(eos)}


def _completion_length(tokens: list[int], stops: set[int]) -> int:
    """Generated tokens up to and including the first stop token (the rest of a batch row is padding)."""
    for n, token in enumerate(tokens, start=1):
        if token in stops:
            return n
    return len(tokens)


def check_settings(settings: GenerationSettings) -> None:
    if settings.temperature < 0 or not 0 < settings.top_p <= 1 or settings.max_new_tokens < 1:
        raise ValueError(
            f"generation settings out of range: temperature {settings.temperature} (>= 0), "
            f"top_p {settings.top_p} (0 < top_p <= 1), max_new_tokens {settings.max_new_tokens} (>= 1)"
        )


def choose_device(requested: str | None) -> Any:
    import torch

    if requested is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(requested)
    except (RuntimeError, ValueError):
        raise ValueError(
            f"model: device={requested!r} is not a torch device (cpu, cuda, cuda:1 ...)"
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"model: device={requested!r} but torch sees no CUDA device")
    return device


def choose_dtype(requested: str | None, device: Any) -> str:
    """bfloat16 on CUDA (float16 where the GPU lacks bf16), float32 elsewhere: half precision on CPU is slow
    and loses accuracy for no memory that matters at the sizes evaluated there."""
    if requested is not None:
        return requested
    if device.type == "cuda":
        import torch

        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    return "float32"


def _load_processor(source: str, options: HFOptions) -> Any:
    from transformers import AutoProcessor

    try:
        return AutoProcessor.from_pretrained(
            source, trust_remote_code=options.trust_remote_code, revision=options.revision
        )
    except (OSError, ValueError) as e:
        raise ValueError(f"model 'hf': cannot load a processor from {options.path!r}: {e}") from e


def _model_classes() -> list[Any]:
    import transformers

    names = ("AutoModelForImageTextToText", "AutoModelForVision2Seq")
    return [getattr(transformers, name) for name in names if hasattr(transformers, name)]


def _load_model(source: str, options: HFOptions, device: Any, dtype_name: str) -> Any:
    import torch

    kwargs: dict[str, Any] = {
        "dtype": "auto" if dtype_name == "auto" else getattr(torch, dtype_name),
        "trust_remote_code": options.trust_remote_code,
        "revision": options.revision,
    }
    if options.attn_implementation is not None:
        kwargs["attn_implementation"] = options.attn_implementation
    with contextlib.suppress(ImportError):
        import accelerate  # noqa: F401 - device_map needs it; without it the weights load on CPU, then move

        kwargs["device_map"] = str(device)
    last_error: Exception | None = None
    for auto_class in _model_classes():
        try:
            model = auto_class.from_pretrained(source, **kwargs)
            break
        except ValueError as e:  # "Unrecognized configuration class": try the next auto class
            last_error = e
        except OSError as e:
            raise ValueError(f"model 'hf': cannot load a model from {options.path!r}: {e}") from e
    else:
        raise ValueError(
            f"model 'hf': {options.path!r} is no image-text-to-text model transformers knows: {last_error}"
        ) from last_error
    if "device_map" not in kwargs:
        model = model.to(device)
    return model.eval()


@register_model("hf")
def build_hf(options: dict[str, str], items: Sequence[BenchItem]) -> ModelBackend:
    """Factory for `hf:path=...[,device=...,dtype=...,batch_size=1,trust_remote_code=false,
    attn_implementation=...,revision=...]`. The benchmark items are not needed."""
    return HFVisionLanguageModel(parse_hf_options(options))


__all__ = ["HFOptions", "HFVisionLanguageModel", "build_hf", "load_rgb_image", "parse_hf_options"]
