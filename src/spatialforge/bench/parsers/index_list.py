"""Image-number list replies -> a tuple of positive ints in reply order (repeats dropped).

For SPAR's obj_frame_locate ("in which other images does the object appear?") and ordering questions whose
answer is a list of image numbers (SPAR paper 003, appendix 7.5 "Obj frame location": "the answer consists of
the list of other frame indices where the object appears"). Image numbers are 1-based, as shown to the model.

Read forms: "Images 2 and 4", "image 2, image 4", "frames 2, 3, and 5", "images 2-4" (a range, expanded), "the
2nd and 4th images", "images two and four", "[2, 4]", "2, 4". Numbers attached to an image noun ("image",
"frame", "view", "picture", "photo", before or after them) are the answer; only when the text has none are its
bare numbers read ("[2, 4]"), and number words never bare ("I see two chairs"). A count before the noun ("in 2
images: 3 and 5") is not an image number; an ordinal is ("the 2nd image"). A mention of the question's
reference image ("marked in image 1", "the chair (red box in image 1)", "reference image 1", "apart from /
besides / other than / except image 1") is not part of the answer and is skipped. Where: an explicit answer
statement (text.answer_spans) first, the whole reply when the statement has no image numbers.
"None" answers ("none", "no other image", "it does not appear in any other image") are the empty tuple, a
committed answer and scored as such; they count only when no image number is read. Alternatives ("image 2 or
4") are "ambiguous"; a fraction ("2.5"), 0 (numbers start at 1) or a descending range ("4-2") is "invalid".
Not read: per-image verdicts ("Image 2: yes. Image 3: no." reads 2, 3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from spatialforge.bench.parsers.base import AMBIGUOUS, INVALID, NO_ANSWER, OK, REFUSAL, Parsed, failed
from spatialforge.bench.parsers.numwords import TEENS_WORDS, UNITS_WORDS
from spatialforge.bench.parsers.text import final_answer_segments, is_refusal, prepare_reply

_NOUN = r"(?:images?|imgs?|frames?|views?|pictures?|photos?)"
_ORDINAL_WORDS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12,
}  # fmt: skip
_WORD_VALUES = {**{w: v for w, v in UNITS_WORDS.items() if v > 0}, **TEENS_WORDS, **_ORDINAL_WORDS}
_WORDS = "|".join(sorted(_WORD_VALUES, key=len, reverse=True))
# One token at a time; whitespace between tokens is skipped. Brackets, ":" and "#" / "no." / "number" are
# neutral ("images: [2, 4]", "image #2"); any other word or mark ends a list.
_TOKEN_RE = re.compile(
    rf"(?P<noun>\b{_NOUN}\b)"
    r"|(?P<num>(?<![\w.])\d+(?:\.\d+)?(?:st|nd|rd|th)?(?![\w]|\.\d))"
    rf"|(?P<word>\b(?:{_WORDS})\b)"
    r"|(?P<or>\bor\b)"
    r"|(?P<range>\bto\b|\bthrough\b|\bthru\b|-)"
    r"|(?P<list>,|&|/|\band\b)"
    r"|(?P<neutral>[\[\](){}:#]|\bno\.|\bnumbers?\b)"
    r"|(?P<other>\w+|[^\w\s])"
)
_ORDINAL_SUFFIX_RE = re.compile(r"(?:st|nd|rd|th)$")
# The question's reference image, named in passing: "marked in image 1", "the marked chair in image 1", "(red
# box in image 1)", "reference image 1", "image 1 (the reference)".
_REFERENCE_MENTION_RE = re.compile(
    r"\b(?:marked|highlighted|outlined|boxed|circled|labell?ed|annotated|given|referenced)\)?\s+(?:\w+\)?\s+)?"
    rf"in\s+(?:the\s+)?{_NOUN}\s*#?\s*\d+\b"
    rf"|\b(?:(?:red|green|blue|yellow|bounding)\s+box|bbox)\)?\s+in\s+(?:the\s+)?{_NOUN}\s*#?\s*\d+\b"
    rf"|\breference\s+{_NOUN}\s*(?:\(\s*)?#?\s*\d+\b"
    rf"|\b(?:apart\s+from|aside\s+from|besides|other\s+than|except(?:\s+for)?)\s+(?:the\s+)?{_NOUN}\s*#?\s*\d+\b"
    rf"|\b{_NOUN}\s*#?\s*\d+\s*\(\s*(?:the\s+)?reference[^)]*\)"
)
_NONE_RE = re.compile(
    rf"\bnone\b|\bno\s+other\b|\bnowhere\b|\bneither\b|\bno\s+{_NOUN}\b|\bin\s+no\s+(?:other\s+)?{_NOUN}\b"
    r"|(?:\bnot|\bnever|n't)\s+(?:\w+\s+){0,4}?in\s+any\b"
)
_MAX_RANGE = 100


@dataclass
class _Run:
    """Numbers written as one list ("images 2, 3 and 5"): values, and whether an image noun names them."""

    values: list[str] = field(default_factory=list)
    joins: list[str] = field(default_factory=list)  # the separator before each value after the first
    attached: bool = False
    has_digits: bool = False


def _runs(segment: str) -> list[_Run]:
    runs: list[_Run] = []
    run: _Run | None = None
    sep: str | None = None
    noun_before = False
    named_by_ordinal: _Run | None = None  # a run of ordinals the noun just after it attached
    for match in _TOKEN_RE.finditer(segment):
        kind, text = match.lastgroup, match.group()
        if kind == "neutral":
            continue
        if kind == "noun":
            if run is not None and sep is None:
                # "the 2nd and 4th images" name images; "2 images" / "two images" count them
                run.attached = all(_is_ordinal(v) for v in run.values)
                named_by_ordinal = run if run.attached else None
                run = None
            noun_before = True  # "image 2, image 4": a repeated noun keeps the list open
            continue
        if kind in ("num", "word"):
            if run is not None and sep is not None:
                run.values.append(text)
                run.joins.append(sep)
            else:
                if noun_before and named_by_ordinal is not None:
                    named_by_ordinal.attached = False  # "first image 2": the noun has its own number
                run = _Run([text], [], noun_before)
                runs.append(run)
            run.has_digits = run.has_digits or kind == "num"
            sep, noun_before, named_by_ordinal = None, False, None
            continue
        noun_before, named_by_ordinal = False, None
        if kind in ("list", "or", "range") and run is not None:
            if sep is None:
                sep = kind
                continue
            if sep in ("list", "or") and kind in ("list", "or"):  # ", and" / ", or"
                sep = "or" if "or" in (sep, kind) else sep
                continue
        run, sep = None, None
    return runs


def _is_ordinal(text: str) -> bool:
    return text in _ORDINAL_WORDS or (text[:1].isdigit() and _ORDINAL_SUFFIX_RE.search(text) is not None)


def _value(text: str) -> int | str:
    """An image number, or why the text is not one."""
    if text in _WORD_VALUES:
        return _WORD_VALUES[text]
    digits = _ORDINAL_SUFFIX_RE.sub("", text)
    if "." in digits:
        return f"{digits} is not an image number"
    value = int(digits)
    return value if value >= 1 else "image numbers start at 1"


def _indices(run: _Run) -> list[int] | Parsed:
    out: list[int] = []
    for i, text in enumerate(run.values):
        value = _value(text)
        if isinstance(value, str):
            return failed(INVALID, value)
        join = run.joins[i - 1] if i else "list"
        if join == "range":
            low = out[-1]
            if not low < value <= low + _MAX_RANGE:
                return failed(INVALID, f"range {low}-{value} is not an ascending range of images")
            out.extend(range(low + 1, value + 1))
        else:
            out.append(value)
    if "or" in run.joins:
        return failed(AMBIGUOUS, "alternatives: " + " or ".join(map(str, out)))
    return out


def _read(segment: str) -> tuple[list[int], str] | Parsed | None:
    """The image numbers of a segment with a note, a failed Parsed, or None when it has none."""
    skipped = [m.group() for m in _REFERENCE_MENTION_RE.finditer(segment)]
    text = _REFERENCE_MENTION_RE.sub(" ; ", segment) if skipped else segment
    runs = _runs(text)
    attached = [r for r in runs if r.attached]
    chosen = attached or [r for r in runs if r.has_digits and all(v not in _WORD_VALUES for v in r.values)]
    if not chosen:
        return None
    values: list[int] = []
    for run in chosen:
        indices = _indices(run)
        if isinstance(indices, Parsed):
            return indices
        values.extend(indices)
    note = f"reference skipped: {'; '.join(skipped)}" if skipped else ""
    return values, note


def parse_index_list(text: str) -> Parsed:
    """The image numbers a reply lists, as a tuple in reply order with repeats dropped (module docstring)."""
    reply = prepare_reply(text)
    if isinstance(reply, Parsed):
        return reply
    segments = final_answer_segments(reply)
    read = None
    for segment in segments:
        read = _read(segment)
        if read is not None:
            break
    if isinstance(read, Parsed):
        return read
    if read is None:
        if any(_NONE_RE.search(segment) for segment in segments):
            return Parsed((), OK, "no image")
        if is_refusal(reply):
            return failed(REFUSAL, "refusal")
        return failed(NO_ANSWER, "no image numbers found")
    values, note = read
    unique = tuple(dict.fromkeys(values))
    if len(unique) < len(values):
        repeated = sorted({v for v in values if values.count(v) > 1})
        note = "; ".join(filter(None, [note, f"repeated {', '.join(map(str, repeated))} (first kept)"]))
    return Parsed(unique, OK, note)
