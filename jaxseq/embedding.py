"""Embedding matrix E: one row e_j per vocabulary word.

The course writes E as (embedding dim × vocabulary) and e_j = E · o_j with o_j the one-hot column of
word j. Here E is stored transposed, rows are words: ``E`` has shape (v, e), and
``one_hot(j) @ E == E[j] == lookup(params, j)``. The lookup is the same number without the v-wide
matmul.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxseq import _checks
from jaxseq.typing import Array


class Params(NamedTuple):
    E: Array  # (v, e)


def init(key, vocab_size: int, dim: int, *, dtype=jnp.float32, scale: float = 1.0) -> Params:
    """E ~ Normal(0, scale² / e): rows of expected norm about ``scale``."""
    _checks.positive_int("vocab_size", vocab_size)
    _checks.positive_int("dim", dim)
    return Params(E=jax.random.normal(key, (vocab_size, dim), dtype) * (scale / dim ** 0.5))


def lookup(params: Params, ids: Array) -> Array:
    """e_j for integer ids of any shape (...) → (..., e). Float ids raise TypeError; concrete ids
    outside [0, v) raise ValueError. Under jit they are not checked: an id ≥ v gives a NaN row, and
    a negative id counts from the end, as in NumPy (−1 is E[v − 1])."""
    _checks.integer("ids", ids)
    _checks.ids_below("ids", ids, params.E.shape[0])
    return jnp.take(params.E, ids, axis=0)


def one_hot(ids: Array, vocab_size: int, *, dtype=jnp.float32) -> Array:
    """o_j: (...) integer ids → (..., v)."""
    _checks.integer("ids", ids)
    _checks.ids_below("ids", ids, vocab_size)
    return jax.nn.one_hot(ids, vocab_size, dtype=dtype)
