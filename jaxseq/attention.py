"""Attention over the encoder's annotations (the course's "Attention model").

The encoder gives one annotation a<t'> per input step t' = 1 .. T_x (for a bidirectional encoder
a<t'> = [a→<t'>, a←<t'>]). Before emitting y<t> the decoder, in state s<t-1>, scores every annotation,
turns the scores into weights with a softmax over t', and reads the weighted average:

    e<t,t'> = score(s<t-1>, a<t'>)
    α<t,t'> = exp(e<t,t'>) / Σ_{t''} exp(e<t,t''>)          (padded t'' excluded: α = 0 there exactly)
    c<t>    = Σ_{t'} α<t,t'> a<t'>                          (the context vector)

Three scores, picked by the params' type (fixed once, at ``init(..., kind=...)``):

    kind="additive"  Bahdanau et al. 2015:  e = vᵀ tanh(W_s s<t-1> + W_a a<t'>)
                     AdditiveParams(w_s (d_s, n), w_a (d_a, n), v (n,)); no bias, as in the paper.
    kind="dot"       Luong et al. 2015:     e = s<t-1> · a<t'>     (needs d_s = d_a); DotParams() is empty.
    kind="general"   Luong et al. 2015:     e = s<t-1>ᵀ W a<t'>    GeneralParams(w (d_s, d_a)).

(Luong et al. score the *current* state s<t> and add an "attentional" layer; here every kind plugs
into the same decoder, so only the score differs. No 1/√d scaling: that is the Transformer's.)

Row vectors in code, as everywhere in jaxseq: ``W_s s`` is ``s @ w_s``. The part of the score that
depends on a<t'> only (``a @ w_a``, or ``a @ wᵀ`` for "general") is computed once per input sequence
by `memory`, not once per decoder step.

Shapes (d_s decoder state, d_a annotation, n attention size, "..." any batch axes):

    memory(params, values (t_x, ..., d_a), mask (t_x, ...))  -> Memory(values, keys, mask)
    attend(params, s (..., d_s), memory)                   -> context (..., d_a), α (..., t_x)

The annotations are time-first like every jaxseq sequence; the weights α put t' on the *last* axis,
as logits put the vocabulary there: α<t, ·> is one probability vector, and stacking the decoder steps
gives the (t_y, ..., t_x) matrix of the heat-map.
"""
from __future__ import annotations

import os
from typing import NamedTuple, Optional, Sequence, Union

import jax
import jax.numpy as jnp

from jaxseq import _checks
from jaxseq._files import save_figure_atomic
from jaxseq.typing import Array

KINDS = ("additive", "dot", "general")


class AdditiveParams(NamedTuple):
    w_s: Array  # (d_s, n): decoder state s<t-1> → attention space
    w_a: Array  # (d_a, n): annotation a<t'> → attention space
    v: Array    # (n,)


class DotParams(NamedTuple):
    """Luong's dot score has no parameters."""


class GeneralParams(NamedTuple):
    w: Array  # (d_s, d_a)


Params = Union[AdditiveParams, DotParams, GeneralParams]


class Memory(NamedTuple):
    """What the decoder attends to: the annotations, their precomputed keys, the valid steps."""

    values: Array  # (t_x, ..., d_a) annotations a<t'>
    keys: Array    # (t_x, ..., n) W_a a<t'> ("additive"), (t_x, ..., d_s) W a<t'> ("general"), values ("dot")
    mask: Array    # (t_x, ...) bool, True at valid (unpadded) encoder steps


def init(key, query_size: int, value_size: int, *, kind: str, attention_size: Optional[int] = None,
         dtype=jnp.float32) -> Params:
    """Parameters of a score; ``query_size`` = d_s (decoder state), ``value_size`` = d_a (annotation).

    "additive" needs ``attention_size`` (n, the hidden width of the score's one-layer network);
    "dot" needs query_size == value_size. Weights are Glorot-uniform.
    """
    _checks.one_of("kind", kind, KINDS)
    _checks.positive_int("query_size", query_size)
    _checks.positive_int("value_size", value_size)
    glorot = jax.nn.initializers.glorot_uniform()
    if kind == "dot":
        if query_size != value_size:
            raise ValueError(f'kind="dot" scores s · a, so `query_size` (d_s) must equal `value_size` (d_a) '
                             f'= {value_size}; got {query_size} (use kind="general" or "additive")')
        return DotParams()
    if kind == "general":
        return GeneralParams(w=glorot(key, (query_size, value_size), dtype))
    if attention_size is None:
        raise ValueError('kind="additive" needs `attention_size` (n, the width of W_s and W_a); got None')
    _checks.positive_int("attention_size", attention_size)
    k_s, k_a, k_v = jax.random.split(key, 3)
    return AdditiveParams(
        w_s=glorot(k_s, (query_size, attention_size), dtype),
        w_a=glorot(k_a, (value_size, attention_size), dtype),
        v=glorot(k_v, (attention_size, 1), dtype)[:, 0],
    )


def kind_of(params: Params) -> str:
    if isinstance(params, AdditiveParams):
        return "additive"
    if isinstance(params, DotParams):
        return "dot"
    if isinstance(params, GeneralParams):
        return "general"
    raise TypeError(f"`params` must be attention.AdditiveParams, DotParams or GeneralParams; got {type(params).__name__}")


def query_size(params: Params) -> Optional[int]:
    """d_s, or None for "dot" (any size equal to d_a)."""
    kind = kind_of(params)
    return None if kind == "dot" else (params.w_s if kind == "additive" else params.w).shape[0]


def memory(params: Params, values: Array, mask: Optional[Array] = None) -> Memory:
    """Precompute the keys of annotations ``values`` (t_x, ..., d_a); ``mask`` (t_x, ...) marks valid steps."""
    _checks.floating("values", values)
    _checks.rank_at_least("values", values, 2, "(t_x, ..., d_a)")
    kind = kind_of(params)
    if mask is None:
        mask = jnp.ones(values.shape[:-1], bool)
    _checks.same_shape("mask", mask, values.shape[:-1], "(t_x, ...) = values.shape[:-1]")
    if kind == "additive":
        _checks.last_axis("values", values, params.w_a.shape[0], "the annotation size d_a of W_a")
        keys = values @ params.w_a
    elif kind == "general":
        _checks.last_axis("values", values, params.w.shape[1], "the annotation size d_a of W")
        keys = values @ params.w.T
    else:
        keys = values
    return Memory(values, keys, jnp.asarray(mask).astype(bool))


def scores(params: Params, query: Array, mem: Memory) -> Array:
    """e<t,t'> for the decoder state ``query`` s<t-1> (..., d_s): shape (..., t_x), padding included."""
    _checks.floating("query", query)
    batch = mem.values.shape[1:-1]
    kind = kind_of(params)
    d_s = params.w_s.shape[0] if kind == "additive" else mem.keys.shape[-1]
    _checks.same_shape("query", query, (*batch, d_s), "(..., d_s) with the batch axes of the memory")
    q = query[None]  # (1, ..., d_s): broadcast over t_x explicitly
    if kind == "additive":
        e = jnp.tanh(mem.keys + q @ params.w_s) @ params.v
    else:
        e = jnp.sum(mem.keys * q, axis=-1)
    return jnp.moveaxis(e, 0, -1)


def masked_softmax(e: Array, mask: Array) -> Array:
    """Softmax over the last axis of e (..., t_x) with weight exactly 0 where mask (..., t_x) is False.

    A row with no valid step gets all-zero weights (not NaN), so an empty input gives a zero context.
    """
    _checks.same_shape("mask", mask, e.shape, "the shape of the scores e")
    very_negative = jnp.finfo(e.dtype).min
    alpha = jax.nn.softmax(jnp.where(mask, e, very_negative), axis=-1)
    return jnp.where(mask, alpha, jnp.zeros_like(alpha))


def attend(params: Params, query: Array, mem: Memory) -> tuple[Array, Array]:
    """(context c<t> (..., d_a), weights α<t,·> (..., t_x)) for the decoder state ``query`` (..., d_s)."""
    alpha = masked_softmax(scores(params, query, mem), jnp.moveaxis(mem.mask, 0, -1))
    context = jnp.sum(jnp.moveaxis(alpha, -1, 0)[..., None] * mem.values, axis=0)
    return context, alpha


def plot_weights(path: Union[str, os.PathLike, None], alpha: Array, src_tokens: Sequence[str],
                 tgt_tokens: Sequence[str], *, title: str = "", ax=None):
    """Heat-map of α (t_y, t_x): rows are output tokens, columns input tokens.

    Only the top-left ``len(tgt_tokens) × len(src_tokens)`` block is drawn. Writes a PNG to ``path``
    (or draws on ``ax`` and returns it when ``path`` is None).
    """
    import matplotlib

    if path is not None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    a = np.asarray(alpha)
    if a.ndim != 2:
        raise ValueError(f"`alpha` must have shape (t_y, t_x); got {a.shape}")
    ty, tx = len(tgt_tokens), len(src_tokens)
    if ty > a.shape[0] or tx > a.shape[1]:
        raise ValueError(f"`alpha` {a.shape} is smaller than (len(tgt_tokens), len(src_tokens)) = {(ty, tx)}")
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(0.3 * tx + 2, 0.3 * ty + 1.5))
    ax.imshow(a[:ty, :tx], cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(tx), [repr(t)[1:-1] if t.strip() else "␣" for t in src_tokens], fontsize=8)
    ax.set_yticks(range(ty), list(tgt_tokens), fontsize=8)
    ax.set_xlabel("input x<t'>")
    ax.set_ylabel("output y<t>")
    if title:
        ax.set_title(title, fontsize=9)
    if path is not None and own:
        fig.tight_layout()
        save_figure_atomic(fig, path, dpi=100)
        plt.close(fig)
    return ax
