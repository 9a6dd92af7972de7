"""Bidirectional RNN: one cell reads the sequence forwards, another backwards, outputs merged per step.

    a→<t> from a→<t-1> and x<t>        (forward cell, t = 1 .. T_x)
    a←<t> from a←<t+1> and x<t>        (backward cell, t = T_x .. 1)
    y<t>  = [a→<t>, a←<t>]  (merge="concat")   or   a→<t> + a←<t>  (merge="sum")

On a right-padded batch (``lengths`` or a mask), the backward cell starts at each sequence's own last
valid step: padded steps come first in reverse order and leave the carry at a←<T+1> = 0. So a padded
batch gives the same numbers as each sequence run alone; padded outputs are zero.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp

from jaxseq import _checks
from jaxseq.typing import Array, PyTree
from jaxseq.unroll import unroll as _unroll

MERGES = ("concat", "sum")


class Params(NamedTuple):
    fwd: PyTree
    bwd: PyTree


class Carry(NamedTuple):
    fwd: PyTree
    bwd: PyTree


def init(key, cell_init: Callable, input_size: int, hidden_size: int, **cell_kwargs) -> Params:
    """Two independent cells, e.g. ``bidirectional.init(key, lstm.init, 8, 16)``."""
    k_f, k_b = jax.random.split(key)
    return Params(
        fwd=cell_init(k_f, input_size, hidden_size, **cell_kwargs),
        bwd=cell_init(k_b, input_size, hidden_size, **cell_kwargs),
    )


def init_carry(cell_init_carry: Callable, params: Params, batch_shape=(), **kw) -> Carry:
    return Carry(cell_init_carry(params.fwd, batch_shape, **kw), cell_init_carry(params.bwd, batch_shape, **kw))


def merge_outputs(y_fwd: Array, y_bwd: Array, how: str = "concat") -> Array:
    """[y→, y←] along the last axis ("concat") or y→ + y← ("sum")."""
    _checks.one_of("merge", how, MERGES)
    return jnp.concatenate([y_fwd, y_bwd], axis=-1) if how == "concat" else y_fwd + y_bwd


def unroll(
    step: Callable,
    params: Params,
    carry: Carry,
    xs: Array,
    *,
    mask: Optional[Array] = None,
    lengths: Optional[Array] = None,
    merge: str = "concat",
    step_bwd: Optional[Callable] = None,
    **unroll_kwargs: Any,
) -> tuple[Carry, Array]:
    """Run ``step`` forwards and ``step_bwd`` (default: ``step``) backwards over xs (t, ..., i).

    ``carry`` is a ``Carry(fwd, bwd)`` of initial carries (see `init_carry`). Returns ``(Carry(fwd_final, bwd_final), ys)`` with ys
    (t, ..., 2h) for concat or (t, ..., h) for sum. ``unroll_kwargs`` go to `jaxseq.unroll`
    (except ``reverse`` and ``return_carries``, which are refused).
    """
    _checks.one_of("merge", merge, MERGES)
    for name in ("reverse", "return_carries"):
        if unroll_kwargs.get(name):
            raise ValueError(f"`bidirectional.unroll` takes no `{name}`: "
                             + ("it runs one direction of each already" if name == "reverse" else
                                "it returns merged outputs; unroll each direction with `jaxseq.unroll` for every carry"))
    unroll_kwargs.pop("reverse", None)
    unroll_kwargs.pop("return_carries", None)
    if not isinstance(carry, tuple) or len(carry) != 2:
        raise ValueError(f"`carry` must be a bidirectional.Carry(fwd, bwd); got {type(carry).__name__}")
    c_f, y_f = _unroll(step, params.fwd, carry[0], xs, mask=mask, lengths=lengths, **unroll_kwargs)
    c_b, y_b = _unroll(step_bwd or step, params.bwd, carry[1], xs, mask=mask, lengths=lengths,
                       reverse=True, **unroll_kwargs)
    return Carry(c_f, c_b), merge_outputs(y_f, y_b, merge)
