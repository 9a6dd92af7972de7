"""Output layer: y<t> = g2(W_ya a<t> + b_y), in code ``g2(a @ w_ya + b_y)``.

g2 defaults to the identity, giving logits; the softmax belongs in the loss
(`jaxseq.losses.sequence_cross_entropy`) where it is computed stably. Pass ``g2=jax.nn.sigmoid``
for the course's sigmoid output, or ``jax.nn.softmax`` for probabilities.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp

from jaxseq import _checks
from jaxseq._ops import add_bias
from jaxseq.typing import Array


class Params(NamedTuple):
    w_ya: Array  # (h, n_y)
    b_y: Array   # (n_y,)


def init(key, hidden_size: int, output_size: int, *, dtype=jnp.float32) -> Params:
    """Glorot-uniform w_ya, zero b_y."""
    _checks.positive_int("hidden_size", hidden_size)
    _checks.positive_int("output_size", output_size)
    w = jax.nn.initializers.glorot_uniform()(key, (hidden_size, output_size), dtype)
    return Params(w_ya=w, b_y=jnp.zeros((output_size,), dtype))


def apply(params: Params, a: Array, g2: Optional[Callable[[Array], Array]] = None) -> Array:
    """y = g2(a @ w_ya + b_y) for a of shape (..., h); returns (..., n_y)."""
    _checks.floating("a", a)
    _checks.last_axis("a", a, params.w_ya.shape[0], "hidden_size of the head")
    z = add_bias(a @ params.w_ya, params.b_y)
    return z if g2 is None else g2(z)
