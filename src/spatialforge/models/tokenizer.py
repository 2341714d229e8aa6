"""A byte-level BPE tokenizer trained offline on the QA template vocabulary.

The from-scratch model (and the tiny HF models of the tests) cannot download a tokenizer, and need none
of a web-scale one: their text is our question templates, object names, numbers and units. The corpus is
every string in the task template banks (tasks/banks/*.json) plus numbers, units and answer words; the
trainer is the `tokenizers` BPE over bytes, so any text - unicode, hostile input - encodes without <unk>.
Training is deterministic for a given corpus and vocabulary size (a fraction of a second).

Special tokens: <pad>, <bos>, <eos>, <unk>, <image> (the image placeholder), then the caller's extras.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from spatialforge.errors import RecordError

PAD, BOS, EOS, UNK, IMAGE = "<pad>", "<bos>", "<eos>", "<unk>", "<image>"
TEMPLATE_TOKENIZER = "template"  # a backbone's "tokenizer" setting: train template_tokenizer here, offline
TOKENIZER_FOLDER = "tokenizer"  # where a saved model keeps its tokenizer, relative to the model folder
BASE_SPECIAL_TOKENS = (PAD, BOS, EOS, UNK, IMAGE)

# Words the answers and numbers use that the templates may not spell out.
_ANSWER_LINES = (
    "yes no true false left right above below front behind closer farther bigger smaller taller shorter",
    "A B C D E F. (A) (B) (C) (D) The answer is",
    "0 1 2 3 4 5 6 7 8 9 10 11 12 0.5 1.25 2.75 13.4 100 250 -1.5 45 90 135 180 270 360",
    "meters metres meter metre m cm centimeters centimetres mm feet foot ft inches inch in degrees",
    "square meters cubic meters m2 m3 o'clock clockwise counterclockwise north south east west",
)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def template_corpus() -> list[str]:
    """Every string of the template banks (sorted by file, in file order) plus answer words and numbers."""
    banks = resources.files("spatialforge.tasks") / "banks"
    lines: list[str] = []
    for entry in sorted(banks.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            lines.extend(_strings(json.loads(entry.read_text())))
    return lines + list(_ANSWER_LINES)


def train_tokenizer(
    corpus: Iterable[str], vocab_size: int = 2048, extra_special_tokens: Sequence[str] = ()
) -> Any:
    """A transformers PreTrainedTokenizerFast: byte-level BPE over `corpus`, BOS/EOS/PAD/UNK set, no
    automatic special tokens (each family's prompt layout places BOS and EOS itself)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    special = list(BASE_SPECIAL_TOKENS) + [t for t in extra_special_tokens if t not in BASE_SPECIAL_TOKENS]
    core = Tokenizer(models.BPE(unk_token=UNK))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(list(corpus), trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        unk_token=UNK,
        additional_special_tokens=special[len(BASE_SPECIAL_TOKENS) - 1 :],
    )


def template_tokenizer(vocab_size: int = 2048, extra_special_tokens: Sequence[str] = ()) -> Any:
    """train_tokenizer on template_corpus()."""
    return train_tokenizer(template_corpus(), vocab_size, extra_special_tokens)


@functools.lru_cache(maxsize=4)
def _shared_template_tokenizer(vocab_size: int) -> Any:
    # Training is deterministic for a vocabulary size, so the models of one process share one copy
    # (backbones only read their tokenizer).
    return template_tokenizer(vocab_size)


def load_tokenizer(value: Any, vocab_size: int, base_dir: Path | None, where: str) -> Any:
    """A backbone's "tokenizer" setting: TEMPLATE_TOKENIZER (the offline-trained BPE, at most vocab_size
    entries), or a folder / hub id (relative to base_dir, a saved model's folder, when it exists there).
    RecordError naming `where` and the field when it cannot be loaded."""
    if value == TEMPLATE_TOKENIZER:
        return _shared_template_tokenizer(vocab_size)
    if not isinstance(value, str):
        raise RecordError(
            "wrong_type", "tokenizer must be 'template' or a folder", file=where, field="tokenizer"
        )
    from transformers import AutoTokenizer

    from spatialforge.models.backbones.base import resolve_path

    source = resolve_path(value, base_dir)
    try:
        return AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as error:
        raise RecordError(
            "unreadable", f"cannot load tokenizer {source!r}: {error}", file=where, field="tokenizer"
        ) from None


def save_tokenizer(tokenizer: Any, folder: Path) -> str:
    """Write the tokenizer under folder/TOKENIZER_FOLDER; returns the settings value that reloads it."""
    tokenizer.save_pretrained(str(Path(folder) / TOKENIZER_FOLDER))
    return TOKENIZER_FOLDER
