"""The result type every answer parser returns, its statuses and the parser version.

A parser never raises on model text: whatever the reply, it returns a `Parsed` whose `status` says whether a
value was read ("ok") or why not. Only "ok" replies are scored; every other status scores as wrong and is
counted separately, so a report can say how many replies were refusals or unreadable rather than silently
wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

# Bump on ANY behaviour change of any parser: scores are only comparable under the same parser version, and
# every score report carries it (SPEC section 5: "Parsers are versioned with the metric").
PARSER_VERSION = "1.1.0"

OK = "ok"
AMBIGUOUS = "ambiguous"  # the reply commits to more than one answer ("A or C", "2 or 3 m", "yes and no")
REFUSAL = "refusal"  # the reply declines ("I cannot determine ...", "I'm sorry ...")
NO_ANSWER = "no_answer"  # empty reply, or nothing that reads as an answer
INVALID = "invalid"  # an answer is there but unusable (no unit, letter not offered, zero vector, ...)

STATUSES = (OK, AMBIGUOUS, REFUSAL, NO_ANSWER, INVALID)


@dataclass(frozen=True, slots=True)
class Parsed:
    """One parsed reply.

    value: the answer (option letter str, bool, float in the requested unit, int hour, 3-tuple, dict) when
        status is "ok", else None.
    status: one of STATUSES.
    detail: why, in words (e.g. "options B and D both stated", "no unit").
    unit: for numbers, the canonical symbol of the unit the reply wrote ("m", "ft", "ft+in"), None if none.
    """

    value: object | None
    status: str
    detail: str = ""
    unit: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == OK


def failed(status: str, detail: str) -> Parsed:
    """A reply that yielded no usable value."""
    return Parsed(None, status, detail)
