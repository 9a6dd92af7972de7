"""Vanilla RNN cell.

    a<t> = g(W_aa a<t-1> + W_ax x<t> + b_a),      g = tanh (`step`) or relu (`step_relu`)

In code, with row vectors: ``a = g(x @ w_ax + a_prev @ w_aa + b_a)``.

PyTorch / Colah: ``torch.nn.RNN`` computes h_t = tanh(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh), so
w_ax = W_ihᵀ, w_aa = W_hhᵀ, b_a = b_ih + b_hh (see `jaxseq.interop`).

Initialisation: w_ax Glorot-uniform, w_aa orthogonal, b_a zeros (flax's SimpleCell draws w_ax from
LeCun-normal instead; the recurrent orthogonal init and zero bias are the same).
The carry is a<t> itself, shape (..., h); the output y of `step` is a<t>. The output layer
y<t> = g2(W_ya a<t> + b_y) is `jaxseq.head`.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxseq import _checks, _init
from jaxseq._ops import add_bias
from jaxseq.typing import Array


class Params(NamedTuple):
    w_ax: Array  # (i, h)
    w_aa: Array  # (h, h)
    b_a: Array   # (h,)


def init(key, input_size: int, hidden_size: int, *, dtype=jnp.float32) -> Params:
    """Parameters of an RNN cell mapping i inputs to h hidden units."""
    _checks.positive_int("input_size", input_size)
    _checks.positive_int("hidden_size", hidden_size)
    k_x, k_a = jax.random.split(key)
    return Params(
        w_ax=_init.input_weights(k_x, input_size, hidden_size, 1, dtype),
        w_aa=_init.recurrent_weights(k_a, hidden_size, 1, dtype),
        b_a=jnp.zeros((hidden_size,), dtype),
    )


def init_carry(params: Params, batch_shape: tuple[int, ...] = (), *, dtype=None) -> Array:
    """a<0> = 0, shape (*batch_shape, h)."""
    h = params.w_aa.shape[0]
    batch_shape = _checks.batch_shape("batch_shape", batch_shape)
    return jnp.zeros((*batch_shape, h), dtype or params.w_aa.dtype)


def project_inputs(params: Params, x: Array) -> Array:
    """x @ w_ax + b_a for any leading axes; `unroll` calls this once on all time steps (hoisting)."""
    _checks.cell_params(params, 1, 1, bias="b_a")
    _checks.floating("x", x)
    _checks.last_axis("x", x, params.w_ax.shape[0], "input_size")
    return add_bias(x @ params.w_ax, params.b_a)


def _check_carry(params: Params, carry: Array, xw: Array) -> None:
    h = params.w_aa.shape[0]
    _checks.same_shape("carry", carry, (*xw.shape[:-1], h), "(*batch, hidden_size)")


def step_projected(params: Params, carry: Array, xw: Array, *, g=jnp.tanh):
    """One step given the projected input xw = x<t> @ w_ax + b_a. Returns (a<t>, a<t>)."""
    _check_carry(params, carry, xw)
    a = g(xw + carry @ params.w_aa)
    return a, a


def step(params: Params, carry: Array, x: Array):
    """a<t> = tanh(x<t> @ w_ax + a<t-1> @ w_aa + b_a). Returns (a<t>, a<t>)."""
    return step_projected(params, carry, project_inputs(params, x))


def step_relu(params: Params, carry: Array, x: Array):
    """a<t> = relu(x<t> @ w_ax + a<t-1> @ w_aa + b_a). Returns (a<t>, a<t>)."""
    return step_projected(params, carry, project_inputs(params, x), g=jax.nn.relu)


def _step_projected_relu(params, carry, xw):
    return step_projected(params, carry, xw, g=jax.nn.relu)


# How `unroll` hoists the input projection out of the scan for these steps.
step.hoisted = (project_inputs, step_projected)
step_relu.hoisted = (project_inputs, _step_projected_relu)
