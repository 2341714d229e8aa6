"""Which objects a task asks about, in a random order drawn from the task's rng, produced lazily.

A task usually needs only a few candidates per scene (its share of the per-scene cap), so candidates are
drawn one at a time from a lazily generated random permutation (Fisher-Yates run on demand: one draw per
candidate, whatever the number of possible candidates) instead of shuffling every combination up front.
The order is reproducible from the rng and uniform over all permutations.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from functools import cache
from itertools import combinations
from typing import TypeVar

T = TypeVar("T")
V = TypeVar("V")


def below(rng: random.Random, n: int) -> int:
    """A uniform integer in [0, n): int(random() * n), several times cheaper than rng.randrange in the hot
    path (bias below 2**-40 for the small n used here); min() guards the n * (1 - 2**-53) rounding case."""
    return min(int(rng.random() * n), n - 1)


def random_order(n: int, rng: random.Random) -> Iterator[int]:
    """0..n-1 in uniformly random order, generated lazily (swaps kept in a dict: O(1) per item)."""
    swapped: dict[int, int] = {}
    for i in range(n):
        j = i + below(rng, n - i)
        yield swapped.get(j, j)
        swapped[j] = swapped.get(i, i)


def shuffled(items: Sequence[T], rng: random.Random) -> Iterator[T]:
    """items in random order, lazily."""
    for i in random_order(len(items), rng):
        yield items[i]


def _in_random_order(chosen: tuple[int, ...], rng: random.Random) -> tuple[int, ...]:
    """chosen in a uniformly random internal order (Fisher-Yates with `below`; pairs by one coin)."""
    if len(chosen) == 2:
        return chosen if rng.random() < 0.5 else (chosen[1], chosen[0])
    order = list(chosen)
    for i in range(len(order) - 1, 0, -1):
        j = below(rng, i + 1)
        order[i], order[j] = order[j], order[i]
    return tuple(order)


# Up to this many k-subsets are listed and permuted lazily; beyond it (e.g. triples of 40+ objects) distinct
# subsets are drawn by rejection instead, so a crowded scene costs no more than its quota of candidates.
MAX_LISTED_SUBSETS = 4096


@cache
def _listed(n: int, k: int) -> tuple[tuple[int, ...], ...]:
    return tuple(combinations(range(n), k))


def _subsets(n: int, k: int, n_var: int, rng: random.Random) -> Iterator[tuple[tuple[int, ...], int]]:
    """Distinct (k-subset of range(n), variant index < n_var) pairs in uniformly random order, each subset
    as a randomly ordered tuple (so roles such as "a" and "b" are assigned at random)."""
    total = math.comb(n, k) * n_var
    if total <= MAX_LISTED_SUBSETS:
        index = _listed(n, k)
        for i in random_order(total, rng):
            yield _in_random_order(index[i // n_var], rng), i % n_var
        return
    seen: set[tuple[frozenset[int], int]] = set()
    while len(seen) < total:  # callers stop after their quota, long before this is exhausted
        chosen, variant = tuple(rng.sample(range(n), k)), below(rng, n_var)
        key = (frozenset(chosen), variant)
        if key not in seen:
            seen.add(key)
            yield chosen, variant


def combos(items: Sequence[T], k: int, rng: random.Random) -> Iterator[tuple[T, ...]]:
    """Distinct k-subsets of items in random order, each in a random internal order, lazily."""
    for chosen, _ in _subsets(len(items), k, 1, rng):
        yield tuple([items[j] for j in chosen])


def with_variants(
    items: Sequence[T], k: int, variants: Sequence[V], rng: random.Random
) -> Iterator[tuple[tuple[T, ...], V]]:
    """Every (k-subset, variant) pair once, in uniformly random order, lazily."""
    for chosen, v in _subsets(len(items), k, len(variants), rng):
        yield tuple([items[j] for j in chosen]), variants[v]
