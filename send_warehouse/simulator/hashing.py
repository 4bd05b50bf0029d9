"""Randomness that does not depend on the order things are generated in.

The simulator's central promise is that a given (size, seed, first night) always describes the
same world, however many nights are asked for and whichever part of it is being written. Two
tools give that:

* counter-based hashing (`uniform`, `hash64`): a value is a pure function of a stream label and
  a key (a child's number, a row's index, a day), so any subset can be computed in any order,
  vectorised over numpy arrays;
* `py_random`: a `random.Random` seeded from labels, used where code is easier to write as a
  sequential per-block story (one block = one calendar month of requests, one birth cohort...).
  A block only ever draws from its own stream, so adding later blocks never shifts earlier ones.
"""

from __future__ import annotations

import hashlib
import random

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_MASK = (1 << 64) - 1


def label_key(*parts: object) -> int:
    """A 64-bit key from any labels (stable across processes, unlike `hash`)."""
    return int.from_bytes(hashlib.blake2b(repr(parts).encode(), digest_size=8).digest(), "little")


def _mix(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def hash64(key: int, keys: np.ndarray) -> np.ndarray:
    """Well-mixed uint64 per element of `keys` under stream `key`."""
    with np.errstate(over="ignore"):
        z = np.asarray(keys).astype(np.uint64) * _GOLDEN + np.uint64(key & _MASK)
        return _mix(_mix(z))


def uniform(key: int, keys: np.ndarray) -> np.ndarray:
    """Uniform floats in [0, 1), one per element of `keys`, under stream `key`."""
    return (hash64(key, keys) >> _S11).astype(np.float64) * (1.0 / (1 << 53))


def hash_int(key: int, value: int) -> int:
    """Scalar counterpart of `hash64` for one key (pure Python, bit-identical)."""
    z = (value * 0x9E3779B97F4A7C15 + key) & _MASK
    for _ in range(2):
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        z ^= z >> 31
    return z


def py_random(*parts: object) -> random.Random:
    """A sequential generator for one block of the world, seeded from its labels."""
    return random.Random(label_key(*parts))


def poisson(rnd: random.Random, lam: float) -> int:
    """Poisson draw (inversion for small means, normal approximation for large ones)."""
    if lam <= 0:
        return 0
    if lam > 60:
        return max(0, round(rnd.gauss(lam, lam**0.5)))
    threshold, k, p = pow(2.718281828459045, -lam), 0, 1.0
    while True:
        p *= rnd.random()
        if p <= threshold:
            return k
        k += 1


def permute(values: np.ndarray | int, space: int, multiplier: int = 479_001_599, offset: int = 7_777_777):
    """A bijection of [0, space) onto itself (space a power of ten): ids that look unordered."""
    if isinstance(values, int):
        return (values * multiplier + offset) % space
    return (np.asarray(values, dtype=np.int64) * multiplier + offset) % space


def weighted(rnd: random.Random, options):
    """A value from (value, weight) pairs."""
    total = sum(w for _, w in options)
    x = rnd.random() * total
    for value, weight in options:
        x -= weight
        if x < 0:
            return value
    return options[-1][0]
