"""Deep RNNs: layers of cells stacked in depth (the course's "Deep RNNs").

Layer l reads the outputs of layer l−1 at the same time step and its own activation from the
previous step:

    a[l]<t> = cell_l(a[l]<t-1>, a[l-1]<t>),      a[0]<t> = x<t>

Between layers, optional dropout (on the non-recurrent connections only, as in Zaremba et al. 2014)
and optional residual connections, a[l]<t> += a[l-1]<t>, added wherever the layer's input and output
sizes agree (every layer but the first when input_size ≠ hidden size). Each layer may be
bidirectional (see `jaxseq.bidirectional`); then its merged output feeds the next layer.

Params are a tuple with one entry per layer; carries likewise.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import jax
import jax.numpy as jnp

from jaxseq import _checks, bidirectional
from jaxseq.typing import Array
from jaxseq.unroll import resolve_mask
from jaxseq.unroll import unroll as _unroll


def init(
    key,
    cell_init: Callable,
    input_size: int,
    hidden_sizes: Sequence[int],
    *,
    bidirectional_layers: bool = False,
    merge: str = "concat",
    **cell_kwargs: Any,
) -> tuple:
    """One params entry per layer, e.g. ``stack.init(key, lstm.init, 32, [128, 128])``."""
    if len(hidden_sizes) == 0:
        raise ValueError("`hidden_sizes` must name at least one layer; got []")
    _checks.one_of("merge", merge, bidirectional.MERGES)
    keys = jax.random.split(key, len(hidden_sizes))
    layers, n_in = [], input_size
    for k, h in zip(keys, hidden_sizes):
        if bidirectional_layers:
            layers.append(bidirectional.init(k, cell_init, n_in, h, **cell_kwargs))
            n_in = 2 * h if merge == "concat" else h
        else:
            layers.append(cell_init(k, n_in, h, **cell_kwargs))
            n_in = h
    return tuple(layers)


def init_carry(cell_init_carry: Callable, params: tuple, batch_shape=(), **kw) -> tuple:
    """Zero carries for every layer (and both directions of bidirectional layers)."""
    return tuple(
        bidirectional.init_carry(cell_init_carry, p, batch_shape, **kw)
        if isinstance(p, bidirectional.Params) else cell_init_carry(p, batch_shape, **kw)
        for p in params
    )


def dropout(key, x: Array, rate: float) -> Array:
    """Inverted dropout: zero each entry with probability ``rate``, scale the rest by 1/(1−rate)."""
    if rate == 0.0:
        return x
    keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
    return jnp.where(keep, x / (1.0 - rate), jnp.zeros_like(x))


def unroll(
    step: Callable,
    params: tuple,
    carries: tuple,
    xs: Array,
    *,
    mask: Optional[Array] = None,
    lengths: Optional[Array] = None,
    dropout_rate: float = 0.0,
    key: Optional[jax.Array] = None,
    residual: bool = False,
    merge: str = "concat",
    **unroll_kwargs: Any,
) -> tuple[tuple, Array]:
    """Run every layer over xs (t, ..., i); returns (final carries per layer, top layer's ys).

    ``dropout_rate`` > 0 needs ``key`` and applies dropout to each layer's output before the
    next layer (not after the top layer: the caller's head decides). Use rate 0 at evaluation.
    """
    if not isinstance(params, (tuple, list)) or len(params) == 0:
        raise ValueError(f"`params` must be a non-empty tuple of layer params; got {type(params).__name__}")
    if not isinstance(carries, (tuple, list)) or len(carries) != len(params):
        n = len(carries) if isinstance(carries, (tuple, list)) else type(carries).__name__
        raise ValueError(f"`carries` must be a tuple of {len(params)} layer carries; got {n}")
    if isinstance(dropout_rate, jax.core.Tracer):
        raise ValueError("`dropout_rate` must be a Python float, known when tracing (under jax.jit, pass it "
                         "through static_argnames or a closure); got a traced value")
    if not 0.0 <= dropout_rate < 1.0:
        raise ValueError(f"`dropout_rate` must be in [0, 1); got {dropout_rate}")
    if unroll_kwargs.get("return_carries"):
        raise ValueError("`stack.unroll` takes no `return_carries`: it returns the top layer's outputs; "
                         "unroll the layers one by one with `jaxseq.unroll` for every carry")
    if dropout_rate > 0.0 and key is None:
        raise ValueError("`key` is required when `dropout_rate` > 0")
    keys = jax.random.split(key, len(params)) if key is not None else [None] * len(params)
    finals, h = [], xs
    m = resolve_mask(xs, mask, lengths) if residual else None  # residual sums re-zero padded steps
    for depth, (p, c, k) in enumerate(zip(params, carries, keys)):
        if depth > 0 and dropout_rate > 0.0:
            h = dropout(k, h, dropout_rate)
        if isinstance(p, bidirectional.Params):
            c_new, y = bidirectional.unroll(step, p, c, h, mask=mask, lengths=lengths, merge=merge, **unroll_kwargs)
        else:
            c_new, y = _unroll(step, p, c, h, mask=mask, lengths=lengths, **unroll_kwargs)
        if residual and y.shape == h.shape:
            y = y + h
            if m is not None:  # padded steps stay zero, as `unroll` leaves them
                y = jnp.where(m[..., None], y, jnp.zeros_like(y))
        finals.append(c_new)
        h = y
    return tuple(finals), h
