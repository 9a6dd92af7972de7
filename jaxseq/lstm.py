"""LSTM cell (Hochreiter & Schmidhuber 1997, with a forget gate).

Course notation, with [a<t-1>, x<t>] the concatenation:

    Γu = σ(W_u [a<t-1>, x<t>] + b_u)            update gate     (PyTorch/Colah: i, input gate)
    Γf = σ(W_f [a<t-1>, x<t>] + b_f)            forget gate     (f)
    c̃<t> = tanh(W_c [a<t-1>, x<t>] + b_c)       candidate       (g)
    Γo = σ(W_o [a<t-1>, x<t>] + b_o)            output gate     (o)
    c<t> = Γu * c̃<t> + Γf * c<t-1>                                (c_t)
    a<t> = Γo * tanh(c<t>)                                         (h_t)

In code the four blocks are stacked along the last axis in the order **(u, f, c, o)**, which is
PyTorch's (i, f, g, o): ``z = x @ w_ax + a_prev @ w_aa + b`` with w_ax (i, 4h), w_aa (h, 4h), b (4h,).

Initialisation: w_ax Glorot-uniform and w_aa orthogonal, per gate block; b zeros except the forget
block b_f, which is set to ``forget_bias`` (default 1.0, as Gers et al. 2000 and Jozefowicz et al.
2015 recommend: the cell starts out remembering). The bias lives in the params; `step` adds
nothing. PyTorch initialises b_f to 0 (pass forget_bias=0.0 to match); flax's LSTMCell adds no
forget bias either.

The carry is ``Carry(a, c)``, each (..., h); the output of `step` is a<t>.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxseq import _checks, _init
from jaxseq._ops import add_bias
from jaxseq.typing import Array

GATES = ("u", "f", "c", "o")


class Params(NamedTuple):
    w_ax: Array  # (i, 4h), blocks (u, f, c, o)
    w_aa: Array  # (h, 4h), blocks (u, f, c, o)
    b: Array     # (4h,)


class Carry(NamedTuple):
    a: Array  # (..., h) hidden state (PyTorch h)
    c: Array  # (..., h) memory cell


def init(key, input_size: int, hidden_size: int, *, dtype=jnp.float32, forget_bias: float = 1.0) -> Params:
    """Parameters of an LSTM cell; ``forget_bias`` is the initial b_f (see the module docstring)."""
    _checks.positive_int("input_size", input_size)
    _checks.positive_int("hidden_size", hidden_size)
    k_x, k_a = jax.random.split(key)
    h = hidden_size
    b = jnp.zeros((4 * h,), dtype).at[h:2 * h].set(forget_bias)
    return Params(
        w_ax=_init.input_weights(k_x, input_size, h, 4, dtype),
        w_aa=_init.recurrent_weights(k_a, h, 4, dtype),
        b=b,
    )


def init_carry(params: Params, batch_shape: tuple[int, ...] = (), *, dtype=None) -> Carry:
    """a<0> = c<0> = 0, each of shape (*batch_shape, h)."""
    h = params.w_aa.shape[0]
    batch_shape = _checks.batch_shape("batch_shape", batch_shape)
    z = jnp.zeros((*batch_shape, h), dtype or params.w_aa.dtype)
    return Carry(a=z, c=z)


def project_inputs(params: Params, x: Array) -> Array:
    """x @ w_ax + b for any leading axes, shape (..., 4h); hoisted out of the scan by `unroll`."""
    _checks.cell_params(params, 4, 4)
    _checks.floating("x", x)
    _checks.last_axis("x", x, params.w_ax.shape[0], "input_size")
    return add_bias(x @ params.w_ax, params.b)


def step_projected(params: Params, carry: Carry, xw: Array):
    """One step given xw = x<t> @ w_ax + b. Returns (Carry(a<t>, c<t>), a<t>)."""
    h = params.w_aa.shape[0]
    if not isinstance(carry, tuple) or len(carry) != 2:
        raise ValueError(f"`carry` must be an lstm.Carry(a, c); got {type(carry).__name__}")
    for name, leaf in zip(("carry.a", "carry.c"), carry):
        _checks.same_shape(name, leaf, (*xw.shape[:-1], h), "(*batch, hidden_size)")
    a_prev, c_prev = carry
    z = xw + a_prev @ params.w_aa
    z_u, z_f, z_c, z_o = jnp.split(z, 4, axis=-1)
    gamma_u, gamma_f, gamma_o = jax.nn.sigmoid(z_u), jax.nn.sigmoid(z_f), jax.nn.sigmoid(z_o)
    c_tilde = jnp.tanh(z_c)
    c = gamma_u * c_tilde + gamma_f * c_prev
    a = gamma_o * jnp.tanh(c)
    return Carry(a=a, c=c), a


def step(params: Params, carry: Carry, x: Array):
    """One LSTM step (equations in the module docstring). Returns (Carry(a<t>, c<t>), a<t>)."""
    return step_projected(params, carry, project_inputs(params, x))


step.hoisted = (project_inputs, step_projected)
