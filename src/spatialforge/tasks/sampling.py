"""Which objects a task asks about, in a random order drawn from the task's rng (so the per-scene cap keeps
a random, reproducible subset rather than the first objects of the file)."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from itertools import combinations
from typing import TypeVar

T = TypeVar("T")
V = TypeVar("V")

# Above this many combinations, distinct ones are drawn at random instead of enumerated and shuffled.
MAX_ENUMERATED = 2048


def shuffled(items: Sequence[T], rng: random.Random) -> list[T]:
    out = list(items)
    rng.shuffle(out)
    return out


def combos(items: Sequence[T], k: int, rng: random.Random, limit: int = MAX_ENUMERATED) -> list[tuple[T, ...]]:
    """Distinct k-subsets of items in random order, each in a random internal order (so roles such as "a"
    and "b" are assigned at random); at most `limit` of them."""
    n = len(items)
    if n < k:
        return []
    if math.comb(n, k) <= limit:
        chosen = [tuple(rng.sample(c, k)) for c in combinations(items, k)]
        rng.shuffle(chosen)
        return chosen
    seen: set[frozenset[int]] = set()
    out: list[tuple[T, ...]] = []
    while len(out) < limit:
        idx = rng.sample(range(n), k)
        key = frozenset(idx)
        if key not in seen:
            seen.add(key)
            out.append(tuple(items[i] for i in idx))
    return out


def with_variants(subjects: Sequence[T], variants: Sequence[V], rng: random.Random) -> list[tuple[T, V]]:
    """Every (subject, variant) pair in random order."""
    return shuffled([(s, v) for s in subjects for v in variants], rng)
