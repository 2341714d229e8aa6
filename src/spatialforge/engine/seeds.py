"""Randomness and sharding keyed by stable hashes, so any split of the work draws the same numbers.

Python's hash() is salted per process (PYTHONHASHSEED), so every key here goes through blake2b instead.
Seeds and buckets use different `person` strings: a scene's bucket tells nothing about its seeds.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
from collections.abc import Sequence

# 8-byte digests: 64-bit seeds; bucket modulo bias is below 2**-40 for any realistic bucket count.
_DIGEST_BYTES = 8
_SEED_PERSON = b"sf.seed.v1"
_BUCKET_PERSON = b"sf.bucket.v1"


def _hash64(payload: str, person: bytes) -> int:
    digest = hashlib.blake2b(payload.encode("utf-8"), digest_size=_DIGEST_BYTES, person=person).digest()
    return int.from_bytes(digest, "big")


def seed_for(global_seed: int, scene_id: str, task: str) -> int:
    """64-bit seed of (global_seed, scene_id, task); JSON-encoded so no two keys share a payload."""
    return scene_seeds(global_seed, scene_id, (task,))[0]


def scene_seeds(global_seed: int, scene_id: str, keys: Sequence[str]) -> list[int]:
    """[seed_for(global_seed, scene_id, k) for k in keys]: each the hash of json.dumps([global_seed,
    scene_id, k]), with the scene's part of that payload encoded once."""
    prefix = f"[{json.dumps(int(global_seed))}, {json.dumps(scene_id)}, "
    return [_hash64(f"{prefix}{_key_json(k)}]", _SEED_PERSON) for k in keys]


@functools.lru_cache(maxsize=1024)
def _key_json(key: str) -> str:
    """json.dumps of a seed key (task names and a few engine keys: a small, fixed set)."""
    return json.dumps(key)


def rng_for(global_seed: int, scene_id: str, task: str) -> random.Random:
    """A private random.Random for one (scene, task): independent of order, workers and other tasks."""
    return random.Random(seed_for(global_seed, scene_id, task))


def bucket_of(scene_id: str, n_buckets: int) -> int:
    """The bucket (0 <= b < n_buckets) of a scene; fixed by scene_id alone, never by worker count."""
    if n_buckets < 1:
        raise ValueError(f"n_buckets must be >= 1, got {n_buckets}")
    return _hash64(scene_id, _BUCKET_PERSON) % n_buckets
