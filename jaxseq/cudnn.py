"""The LSTM through cuDNN (`jax.experimental.rnn.lstm`): ``unroll(lstm.step, ..., impl="cudnn")``.

Where it applies: an NVIDIA GPU (jax's CUDA plugin registers the kernels), float32 inputs, params and
carry, and either no padding or right padding given as ``lengths`` (a length-0 sequence keeps its
initial carry and has zero outputs, as in `jaxseq.unroll`, whatever cuDNN makes of it). A general
``mask``, ``return_carries``, ``remat``, ``hoist=False`` and any ``compute_dtype`` other than float32
are refused with an error naming the option; jax's cuDNN wrapper has no bfloat16 path. The path is
never chosen by ``impl="auto"``.

The numbers are those of `jaxseq.unroll` (outputs zero at padded steps, final carry at each sequence's
last valid step; ``reverse=True`` reverses each sequence within its own length), up to float rounding:
the params are packed into cuDNN's flat layout — W_ih = w_axᵀ, W_hh = w_aaᵀ, b_ih = b, b_hh = 0,
gate blocks (i, f, g, o) = jaxseq's (u, f, c, o) — and gradients flow back through the packing.
Matmul precision follows ``jax_default_matmul_precision`` as jax's wrapper reads it: unset, cuDNN
may use TF32 (as XLA's own f32 matmuls do on the same GPU); "highest" turns TF32 off.

Tested on CPU against `jax.experimental.rnn.lstm_ref` (the packing, padding and reverse logic); the
cuDNN kernels themselves only by ``tests/test_fused.py`` on a GPU (``benchmarks/gpu.sh``).
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import jax
import jax.numpy as jnp

from jaxseq import _checks, lstm
from jaxseq.typing import Array


def available() -> bool:
    """True when the default backend is a CUDA GPU and jaxlib has cuDNN RNN kernels."""
    try:
        from jax.experimental import rnn as jrnn
    except ImportError:  # pragma: no cover - very old or stripped jax
        return False
    return jax.default_backend() == "gpu" and getattr(jrnn, "gpu_rnn", None) is not None and \
        all(d.platform in ("gpu", "cuda") for d in jax.devices())


def pack_weights(params: lstm.Params) -> Array:
    """cuDNN's flat weight vector (W_ih, W_hh, b_ih, b_hh) of one unidirectional layer."""
    w_ih, w_hh = params.w_ax.T, params.w_aa.T  # (4h, i), (4h, h), gate blocks (i, f, g, o)
    return jnp.concatenate([w_ih.reshape(-1), w_hh.reshape(-1), params.b, jnp.zeros_like(params.b)])


def lstm_ref(x, h_0, c_0, weights, seq_lengths, *, input_size, hidden_size, num_layers, dropout, bidirectional):
    """`jax.experimental.rnn.lstm_ref` with `lstm`'s signature (packed weights): the CPU stand-in."""
    from jax.experimental import rnn as jrnn

    w_ih, w_hh, b_ih, b_hh = jrnn.unpack_lstm_weights(weights, input_size, hidden_size, num_layers, bidirectional)
    return jrnn.lstm_ref(x, h_0, c_0, w_ih, w_hh, b_ih, b_hh, seq_lengths, input_size, hidden_size, num_layers,
                         dropout, bidirectional)


def _flip_within_lengths(x: Array, lengths: Array) -> Array:
    """x (n, t, ...) with each row's first lengths[n] steps reversed in place (an involution)."""
    t = x.shape[1]
    steps = jnp.arange(t)[None, :]
    idx = jnp.where(steps < lengths[:, None], lengths[:, None] - 1 - steps, steps)
    return jnp.take_along_axis(x, idx.reshape(idx.shape + (1,) * (x.ndim - 2)), axis=1)


def unroll(params: lstm.Params, carry: lstm.Carry, xs: Array, lengths: Optional[Array] = None, *,
           reverse: bool = False, return_carries: bool = False, compute_dtype: Any = None,
           lstm_fn: Optional[Callable] = None) -> tuple[lstm.Carry, Array]:
    """`jaxseq.unroll(lstm.step, params, carry, xs, lengths=..., reverse=...)` on cuDNN.

    ``lstm_fn`` replaces `jax.experimental.rnn.lstm` (tests pass `lstm_ref` to run on CPU).
    """
    if return_carries:
        raise ValueError("`impl='cudnn'` cannot return every carry (`return_carries=True`); use impl='fused'")
    if compute_dtype is not None and jnp.dtype(compute_dtype) != jnp.float32:
        raise ValueError(f"`impl='cudnn'` computes in float32 only; got compute_dtype={jnp.dtype(compute_dtype)}")
    if not isinstance(params, lstm.Params):
        raise TypeError(f"`impl='cudnn'` needs lstm.Params; got {type(params).__name__}")
    if not isinstance(carry, tuple) or len(carry) != 2:
        raise ValueError(f"`carry` must be an lstm.Carry(a, c); got {type(carry).__name__}")
    for name, x in (("xs", xs), ("params", params.w_aa), ("carry", carry[0])):
        if jnp.result_type(x) != jnp.float32:
            raise TypeError(f"`impl='cudnn'` needs float32 `{name}`; got {jnp.result_type(x)}")
    h, i = params.w_aa.shape[0], params.w_ax.shape[0]
    _checks.last_axis("x", xs, i, "input_size")
    t, batch = xs.shape[0], xs.shape[1:-1]
    for name, leaf in zip(("carry.a", "carry.c"), carry):
        _checks.same_shape(name, leaf, (*batch, h), "(*batch, hidden_size)")
    if lstm_fn is None:
        if not available():
            raise RuntimeError("`impl='cudnn'` needs an NVIDIA GPU with jax's CUDA plugin (jax.experimental.rnn); "
                               f"the default backend is {jax.default_backend()!r}. Use impl='fused'.")
        from jax.experimental import rnn as jrnn

        lstm_fn = jrnn.lstm
    n = 1
    for d in batch:
        n *= d
    x = jnp.swapaxes(xs.reshape(t, n, i), 0, 1)  # batch first: (n, t, i)
    seq = jnp.full((n,), t, jnp.int32) if lengths is None else jnp.asarray(lengths).reshape(n).astype(jnp.int32)
    if reverse:
        x = _flip_within_lengths(x, seq)
    h0, c0 = (leaf.reshape(1, n, h) for leaf in carry)
    y, h_n, c_n = lstm_fn(x, h0, c0, pack_weights(params), seq, input_size=i, hidden_size=h, num_layers=1,
                          dropout=0.0, bidirectional=False)
    if reverse:
        y = _flip_within_lengths(y, seq)
    ys = jnp.swapaxes(y, 0, 1).reshape(t, *batch, h)
    final = lstm.Carry(h_n.reshape(*batch, h), c_n.reshape(*batch, h))
    if lengths is not None:  # a sequence of no steps keeps its initial carry, as `unroll`'s does
        empty = (seq == 0).reshape(*batch, 1)
        final = lstm.Carry(*(jnp.where(empty, c0, c1) for c0, c1 in zip(carry, final)))
        ys = jnp.where(empty[None], 0.0, ys)
    return final, ys
