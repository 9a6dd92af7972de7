"""Weight initialisers shared by the cells (jax.nn.initializers, applied per gate block)."""
from __future__ import annotations

import jax
import jax.numpy as jnp

_glorot = jax.nn.initializers.glorot_uniform()
_orthogonal = jax.nn.initializers.orthogonal()


def input_weights(key, input_size: int, hidden_size: int, gates: int, dtype):
    """(i, gates*h): Glorot-uniform, one independent block per gate."""
    keys = jax.random.split(key, gates)
    return jnp.concatenate([_glorot(k, (input_size, hidden_size), dtype) for k in keys], axis=1)


def recurrent_weights(key, hidden_size: int, gates: int, dtype):
    """(h, gates*h): orthogonal, one independent h × h block per gate. The QR factorisation runs in
    float32 at least (LAPACK has no bfloat16 or float16), then the result is cast to `dtype`."""
    keys = jax.random.split(key, gates)
    work = jnp.promote_types(dtype, jnp.float32)
    return jnp.concatenate([_orthogonal(k, (hidden_size, hidden_size), work) for k in keys], axis=1).astype(dtype)
