"""Gated recurrent unit in three forms, chosen explicitly with ``init(..., form=...)``.

The carry is c<t> (= a<t>), shape (..., h); the output of `step` is c<t>. Gate blocks are stacked
along the last axis in the order **(r, u, c)** — PyTorch's (r, z, n) — or (u, c) for "minimal".

``form="course"`` — the full GRU of the course (Cho et al. 2014), relevance gate *before* the matmul:

    Γr = σ(W_r [c<t-1>, x<t>] + b_r)
    Γu = σ(W_u [c<t-1>, x<t>] + b_u)
    c̃<t> = tanh(W_c [Γr * c<t-1>, x<t>] + b_c)
    c<t> = Γu * c̃<t> + (1 − Γu) * c<t-1>

  Params: w_ax (i, 3h), w_aa (h, 2h) for (r, u), w_ac (h, h) for the candidate, b (3h,).

``form="cudnn"`` — the cuDNN / PyTorch / flax form, reset gate *after* the recurrent matmul, with its
own bias b_hn inside the product:

    Γr = σ(x W_ir + a W_hr + b_r),  Γu = σ(x W_iu + a W_hu + b_u)
    c̃<t> = tanh(x W_ic + b_c + Γr * (c<t-1> W_hc + b_hn))
    c<t> = Γu * c̃<t> + (1 − Γu) * c<t-1>

  Params: w_ax (i, 3h), w_aa (h, 3h), b (3h,), b_hn (h,).
  PyTorch writes h_t = (1 − z) * n + z * h_{t-1}: its z is the *keep* gate, so Γu = 1 − z and the
  u rows of the weights and biases are negated by the converters in `jaxseq.interop`
  (σ(−s) = 1 − σ(s)). PyTorch's b_ih + b_hh for r and u are summed into b.

``form="minimal"`` — the simplified GRU of the course's first video, update gate only (no Γr):

    Γu = σ(W_u [c<t-1>, x<t>] + b_u)
    c̃<t> = tanh(W_c [c<t-1>, x<t>] + b_c)
    c<t> = Γu * c̃<t> + (1 − Γu) * c<t-1>

  Params: w_ax (i, 2h), w_aa (h, 2h), b (2h,).

Initialisation: input weights Glorot-uniform and recurrent weights orthogonal per gate block,
biases zero. `step` dispatches on the params' type, so the form is fixed once, at `init`.
"""
from __future__ import annotations

from typing import NamedTuple, Union

import jax
import jax.numpy as jnp

from jaxseq import _checks, _init
from jaxseq._ops import add_bias
from jaxseq.typing import Array

FORMS = ("course", "cudnn", "minimal")


class CourseParams(NamedTuple):
    w_ax: Array  # (i, 3h) blocks (r, u, c)
    w_aa: Array  # (h, 2h) blocks (r, u)
    w_ac: Array  # (h, h) acts on Γr * c<t-1>
    b: Array     # (3h,)


class CuDNNParams(NamedTuple):
    w_ax: Array  # (i, 3h) blocks (r, u, c)
    w_aa: Array  # (h, 3h) blocks (r, u, c)
    b: Array     # (3h,)
    b_hn: Array  # (h,) bias inside Γr * (c W_hc + b_hn)


class MinimalParams(NamedTuple):
    w_ax: Array  # (i, 2h) blocks (u, c)
    w_aa: Array  # (h, 2h) blocks (u, c)
    b: Array     # (2h,)


Params = Union[CourseParams, CuDNNParams, MinimalParams]


def form_of(params) -> str:
    """The form name of a GRU params tuple."""
    if isinstance(params, CourseParams):
        return "course"
    if isinstance(params, CuDNNParams):
        return "cudnn"
    if isinstance(params, MinimalParams):
        return "minimal"
    raise TypeError(
        f"`params` must be gru.CourseParams, gru.CuDNNParams or gru.MinimalParams; got {type(params).__name__}"
    )


def init(key, input_size: int, hidden_size: int, *, form: str, dtype=jnp.float32) -> Params:
    """Parameters of a GRU cell of the given ``form`` ("course", "cudnn" or "minimal")."""
    _checks.one_of("form", form, FORMS)
    _checks.positive_int("input_size", input_size)
    _checks.positive_int("hidden_size", hidden_size)
    h = hidden_size
    k_x, k_a, k_c = jax.random.split(key, 3)
    if form == "course":
        return CourseParams(
            w_ax=_init.input_weights(k_x, input_size, h, 3, dtype),
            w_aa=_init.recurrent_weights(k_a, h, 2, dtype),
            w_ac=_init.recurrent_weights(k_c, h, 1, dtype),
            b=jnp.zeros((3 * h,), dtype),
        )
    if form == "cudnn":
        return CuDNNParams(
            w_ax=_init.input_weights(k_x, input_size, h, 3, dtype),
            w_aa=_init.recurrent_weights(k_a, h, 3, dtype),
            b=jnp.zeros((3 * h,), dtype),
            b_hn=jnp.zeros((h,), dtype),
        )
    return MinimalParams(
        w_ax=_init.input_weights(k_x, input_size, h, 2, dtype),
        w_aa=_init.recurrent_weights(k_a, h, 2, dtype),
        b=jnp.zeros((2 * h,), dtype),
    )


def init_carry(params: Params, batch_shape: tuple[int, ...] = (), *, dtype=None) -> Array:
    """c<0> = 0, shape (*batch_shape, h)."""
    h = params.w_aa.shape[0]
    batch_shape = _checks.batch_shape("batch_shape", batch_shape)
    return jnp.zeros((*batch_shape, h), dtype or params.w_aa.dtype)


def project_inputs(params: Params, x: Array) -> Array:
    """x @ w_ax + b for any leading axes; hoisted out of the scan by `unroll`."""
    form = form_of(params)
    if form == "course":
        _checks.cell_params(params, 3, 2, [("w_ac", "hh")])
    elif form == "cudnn":
        _checks.cell_params(params, 3, 3, [("b_hn", "h")])
    else:
        _checks.cell_params(params, 2, 2)
    _checks.floating("x", x)
    _checks.last_axis("x", x, params.w_ax.shape[0], "input_size")
    return add_bias(x @ params.w_ax, params.b)


def step_projected(params: Params, carry: Array, xw: Array):
    """One step given xw = x<t> @ w_ax + b. Returns (c<t>, c<t>)."""
    form = form_of(params)
    h = params.w_aa.shape[0]
    _checks.same_shape("carry", carry, (*xw.shape[:-1], h), "(*batch, hidden_size)")
    c_prev = carry
    if form == "course":
        x_r, x_u, x_c = jnp.split(xw, 3, axis=-1)
        a_r, a_u = jnp.split(c_prev @ params.w_aa, 2, axis=-1)
        gamma_r, gamma_u = jax.nn.sigmoid(x_r + a_r), jax.nn.sigmoid(x_u + a_u)
        c_tilde = jnp.tanh(x_c + (gamma_r * c_prev) @ params.w_ac)
    elif form == "cudnn":
        x_r, x_u, x_c = jnp.split(xw, 3, axis=-1)
        a_r, a_u, a_c = jnp.split(c_prev @ params.w_aa, 3, axis=-1)
        gamma_r, gamma_u = jax.nn.sigmoid(x_r + a_r), jax.nn.sigmoid(x_u + a_u)
        c_tilde = jnp.tanh(x_c + gamma_r * add_bias(a_c, params.b_hn))
    else:
        x_u, x_c = jnp.split(xw, 2, axis=-1)
        a_u, a_c = jnp.split(c_prev @ params.w_aa, 2, axis=-1)
        gamma_u = jax.nn.sigmoid(x_u + a_u)
        c_tilde = jnp.tanh(x_c + a_c)
    c = gamma_u * c_tilde + (1 - gamma_u) * c_prev
    return c, c


def step(params: Params, carry: Array, x: Array):
    """One GRU step of the form that ``params`` was initialised with. Returns (c<t>, c<t>)."""
    return step_projected(params, carry, project_inputs(params, x))


step.hoisted = (project_inputs, step_projected)
