"""The fast path of `unroll`: weight gradients hoisted out of the reverse scan (`jax.custom_vjp`).

Autodiff of a `lax.scan` accumulates dW_aa one step at a time inside the backward loop. cuDNN instead
runs a backward recurrence that carries only the state gradients and computes the weight gradients
afterwards as single large matrix products over all t·b rows. This module does the same for every
jaxseq cell (rnn tanh/relu, gru course/cudnn/minimal, lstm):

    forward:   xw = x @ w_ax + b for all t at once (ordinary autodiff: dW_ax = Xᵀ dXW, db = Σ dXW,
               dX = dXW w_axᵀ are single matmuls); one scan over t that saves the gate activations
    backward:  one reverse scan carrying only the state gradients (da, and dc for the LSTM), emitting
               the pre-activation gradients dz<t>; then dW_aa = Σ_t a<t-1>ᵀ dz<t> as one matmul over
               all t·b rows (and db_hn, dW_ac likewise)

The numbers are those of `unroll(..., impl="scan")` — outputs, final carry and every gradient
(params, initial carry, xs) — up to float rounding; masks, ``reverse`` and ``return_carries`` behave
exactly as in `jaxseq.unroll`. Only reverse mode is defined (`jax.custom_vjp`): `jax.jvp`,
`jax.jacfwd` and forward-over-reverse Hessians need ``impl="scan"``. Reverse-over-reverse works.

``compute_dtype`` (e.g. ``jnp.bfloat16``): matmul operands are cast to it with accumulation in the
carry's dtype (``preferred_element_type``); gates, carries, saved activations and the weight-gradient
sums stay in the carry's dtype (pass a float32 carry). The outputs have the carry's dtype and every
gradient the dtype of its primal. ``compute_dtype=None`` computes exactly as the cell's `step` does.

Cells are recognised by their step function and params type (`kind_of`); `unroll(impl="auto")`
takes this path for them unless ``remat=True`` or ``hoist=False``.
"""
from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxseq import _checks, gru, lstm, rnn
from jaxseq._ops import add_bias
from jaxseq.typing import Array, PyTree

KINDS = ("rnn_tanh", "rnn_relu", "gru_course", "gru_cudnn", "gru_minimal", "lstm")
_GRU_KIND = {gru.CourseParams: "gru_course", gru.CuDNNParams: "gru_cudnn", gru.MinimalParams: "gru_minimal"}


def kind_of(step, params) -> Optional[str]:
    """The fused kernel for ``step`` with ``params`` (one of `KINDS`), or None if there is none."""
    if step is rnn.step and isinstance(params, rnn.Params):
        return "rnn_tanh"
    if step is rnn.step_relu and isinstance(params, rnn.Params):
        return "rnn_relu"
    if step is lstm.step and isinstance(params, lstm.Params):
        return "lstm"
    if step is gru.step:
        return _GRU_KIND.get(type(params))
    return None


# --------------------------------------------------------------------------------------------------
# Per-cell kernels. State s: a tuple of (n, h) arrays — (a,) or (a, c) — whose first entry is the
# output. `rec` holds the arrays used inside the recurrence (the rest of the params only enter the
# hoisted projection). `mm` is the matmul (casting to compute_dtype when one is given).


def _rec(kind, p):
    if kind == "gru_cudnn":
        return (p.w_aa, p.b_hn)
    if kind == "gru_course":
        return (p.w_aa, p.w_ac)
    return (p.w_aa,)


def _w_ax_b(kind, p):
    return (p.w_ax, p.b_a) if kind.startswith("rnn") else (p.w_ax, p.b)


def _split(z, k):
    return jnp.split(z, k, axis=-1)


def _d_sigmoid(s):
    return s * (1 - s)


def _fwd_step(kind, rec, s, xw, mm):
    """One step: (new state, saved activations)."""
    if kind in ("rnn_tanh", "rnn_relu"):
        z = xw + mm(s[0], rec[0])
        return ((jnp.tanh(z) if kind == "rnn_tanh" else jax.nn.relu(z)),), ()
    if kind == "lstm":
        a_prev, c_prev = s
        z_u, z_f, z_c, z_o = _split(xw + mm(a_prev, rec[0]), 4)
        u, f, o = jax.nn.sigmoid(z_u), jax.nn.sigmoid(z_f), jax.nn.sigmoid(z_o)
        g = jnp.tanh(z_c)
        c = u * g + f * c_prev
        return (o * jnp.tanh(c), c), (u, f, g, o)
    c_prev = s[0]
    if kind == "gru_cudnn":
        x_r, x_u, x_c = _split(xw, 3)
        a_r, a_u, a_c = _split(mm(c_prev, rec[0]), 3)
        r, u = jax.nn.sigmoid(x_r + a_r), jax.nn.sigmoid(x_u + a_u)
        hc = add_bias(a_c, rec[1])
        n = jnp.tanh(x_c + r * hc)
        saved = (r, u, n, hc)
    elif kind == "gru_course":
        x_r, x_u, x_c = _split(xw, 3)
        a_r, a_u = _split(mm(c_prev, rec[0]), 2)
        r, u = jax.nn.sigmoid(x_r + a_r), jax.nn.sigmoid(x_u + a_u)
        n = jnp.tanh(x_c + mm(r * c_prev, rec[1]))
        saved = (r, u, n)
    else:  # gru_minimal
        x_u, x_c = _split(xw, 2)
        a_u, a_c = _split(mm(c_prev, rec[0]), 2)
        u = jax.nn.sigmoid(x_u + a_u)
        n = jnp.tanh(x_c + a_c)
        saved = (u, n)
    return (u * n + (1 - u) * c_prev,), saved


def _bwd_step(kind, rec_t, saved, prev, new, g, mm):
    """Backward of one step given g = dL/d(new state): (dL/d(prev state), dz = dL/d xw<t>).

    ``rec_t`` holds the transposed recurrent matrices. At padded steps g = 0, so every term is 0
    (the carried state stands in for the new one there).
    """
    if kind in ("rnn_tanh", "rnn_relu"):
        a = new[0]
        dz = g[0] * (1 - a * a) if kind == "rnn_tanh" else jnp.where(a > 0, g[0], jnp.zeros_like(g[0]))
        return (mm(dz, rec_t[0]),), dz
    if kind == "lstm":
        u, f, gg, o = saved
        ga, gc = g
        tc = jnp.tanh(new[1])
        dc = gc + ga * o * (1 - tc * tc)
        dz = jnp.concatenate([dc * gg * _d_sigmoid(u), dc * prev[1] * _d_sigmoid(f),
                              dc * u * (1 - gg * gg), ga * tc * _d_sigmoid(o)], axis=-1)
        return (mm(dz, rec_t[0]), dc * f), dz
    c_prev, gc = prev[0], g[0]
    if kind == "gru_cudnn":
        r, u, n, hc = saved
        dz_u = gc * (n - c_prev) * _d_sigmoid(u)
        dz_n = gc * u * (1 - n * n)
        dz_r = dz_n * hc * _d_sigmoid(r)
        da = jnp.concatenate([dz_r, dz_u, dz_n * r], axis=-1)
        return (gc * (1 - u) + mm(da, rec_t[0]),), jnp.concatenate([dz_r, dz_u, dz_n], axis=-1)
    if kind == "gru_course":
        r, u, n = saved
        dz_u = gc * (n - c_prev) * _d_sigmoid(u)
        dz_n = gc * u * (1 - n * n)
        d_rc = mm(dz_n, rec_t[1])
        dz_r = d_rc * c_prev * _d_sigmoid(r)
        d_prev = gc * (1 - u) + d_rc * r + mm(jnp.concatenate([dz_r, dz_u], axis=-1), rec_t[0])
        return (d_prev,), jnp.concatenate([dz_r, dz_u, dz_n], axis=-1)
    u, n = saved  # gru_minimal
    dz = jnp.concatenate([gc * (n - c_prev) * _d_sigmoid(u), gc * u * (1 - n * n)], axis=-1)
    return (gc * (1 - u) + mm(dz, rec_t[0]),), dz


def _weight_grads(kind, rec, saved, prev, dz, mm_t):
    """dL/d rec as matmuls over all t·n rows; all arrays (t, n, ·). mm_t(a, b) = aᵀ b over rows."""
    rows = lambda x: x.reshape(-1, x.shape[-1])
    a_prev = rows(prev[0])
    if kind == "gru_cudnn":
        r, h = saved[0], rec[0].shape[0]
        dz_rec = rows(jnp.concatenate([dz[..., :2 * h], dz[..., 2 * h:] * r], axis=-1))
        return (mm_t(a_prev, dz_rec), jnp.sum(dz_rec[:, 2 * h:], axis=0))
    if kind == "gru_course":
        r, h = saved[0], rec[0].shape[0]
        dz = rows(dz)
        return (mm_t(a_prev, dz[:, :2 * h]), mm_t(rows(r * prev[0]), dz[:, 2 * h:]))
    return (mm_t(a_prev, rows(dz)),)


# --------------------------------------------------------------------------------------------------
# The recurrence with its custom VJP.


class _Config(NamedTuple):
    kind: str
    reverse: bool
    unroll: int
    compute_dtype: Optional[str]  # a dtype name (hashable), or None
    return_carries: bool
    xw_dtype: str  # the dtype of the projected inputs, which their gradient must have


def _matmuls(cfg: _Config, acc_dtype):
    if cfg.compute_dtype is None:
        return (lambda a, b: a @ b), (lambda a, b: lax.dot_general(a, b, (((0,), (0,)), ((), ()))))
    cdt = jnp.dtype(cfg.compute_dtype)
    mm = lambda a, b: jnp.matmul(a.astype(cdt), b.astype(cdt), preferred_element_type=acc_dtype)
    mm_t = lambda a, b: lax.dot_general(a.astype(cdt), b.astype(cdt), (((0,), (0,)), ((), ())),
                                        preferred_element_type=acc_dtype)
    return mm, mm_t


def _where(m, a, b):
    return jnp.where(m[:, None], a, b)


def _forward(cfg: _Config, rec, s0, xw, m, *, save: bool):
    mm, _ = _matmuls(cfg, s0[0].dtype)

    def body(s, inp):
        xw_t, m_t = inp
        new, saved = _fwd_step(cfg.kind, rec, s, xw_t, mm)
        new = tuple(n.astype(o.dtype) for n, o in zip(new, s))
        if m_t is not None:
            new = tuple(_where(m_t, n, o) for n, o in zip(new, s))
        return new, (new, saved if save else ())

    s_final, (states, saved) = lax.scan(body, s0, (xw, m), reverse=cfg.reverse, unroll=cfg.unroll)
    ys = states[0] if m is None else jnp.where(m[..., None], states[0], jnp.zeros_like(states[0]))
    out = (s_final, ys, states) if cfg.return_carries else (s_final, ys)
    return out, (states, saved)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _recurrence(cfg: _Config, rec, s0, xw, m):
    return _forward(cfg, rec, s0, xw, m, save=False)[0]


def _recurrence_fwd(cfg: _Config, rec, s0, xw, m):
    out, (states, saved) = _forward(cfg, rec, s0, xw, m, save=True)
    return out, (rec, s0, states, saved, m)


def _recurrence_bwd(cfg: _Config, res, cts):
    rec, s0, states, saved, m = res
    ct_final, ct_ys = cts[0], cts[1]
    ct_states = cts[2] if cfg.return_carries else None
    acc = s0[0].dtype
    mm, mm_t = _matmuls(cfg, acc)
    if cfg.reverse:  # the state before step t is the state after step t + 1
        prev = tuple(jnp.concatenate([s[1:], s_0[None]], axis=0) for s, s_0 in zip(states, s0))
    else:
        prev = tuple(jnp.concatenate([s_0[None], s[:-1]], axis=0) for s, s_0 in zip(states, s0))
    rec_t = tuple(w.T for w in rec if w.ndim == 2)

    def body(ds, inp):
        saved_t, prev_t, new_t, dy_t, dst_t, m_t = inp
        if dst_t is not None:
            ds = tuple(d + e for d, e in zip(ds, dst_t))
        g = (ds[0] + dy_t, *ds[1:])
        if m_t is not None:
            g = tuple(_where(m_t, x, jnp.zeros_like(x)) for x in g)
        d_prev, dz = _bwd_step(cfg.kind, rec_t, saved_t, prev_t, new_t, g, mm)
        d_prev = tuple(d.astype(x.dtype) for d, x in zip(d_prev, ds))
        if m_t is not None:
            d_prev = tuple(dp + _where(m_t, jnp.zeros_like(d), d) for dp, d in zip(d_prev, ds))
        return d_prev, dz

    ds0 = tuple(c.astype(s.dtype) for c, s in zip(ct_final, s0))
    d_s0, dz = lax.scan(body, ds0, (saved, prev, states, ct_ys, ct_states, m),
                        reverse=not cfg.reverse, unroll=cfg.unroll)
    d_rec = _weight_grads(cfg.kind, rec, saved, prev, dz, mm_t)
    d_rec = tuple(d.astype(w.dtype) for d, w in zip(d_rec, rec))
    return d_rec, d_s0, dz.astype(cfg.xw_dtype), None


_recurrence.defvjp(_recurrence_fwd, _recurrence_bwd)


# --------------------------------------------------------------------------------------------------
# Entry point used by `jaxseq.unroll`.


def _struct(tree):
    return jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct(np.shape(a), jnp.result_type(a)), tree)


def _project(kind, params, xs, compute_dtype, acc_dtype):
    if compute_dtype is None:
        return (gru if kind.startswith("gru") else lstm if kind == "lstm" else rnn).project_inputs(params, xs)
    w_ax, b = _w_ax_b(kind, params)
    _checks.last_axis("x", xs, w_ax.shape[0], "input_size")
    xw = jnp.matmul(xs.astype(compute_dtype), w_ax.astype(compute_dtype), preferred_element_type=acc_dtype)
    return add_bias(xw, b.astype(acc_dtype))


def check_compatible(step, params, carry, xs, kind: str) -> Optional[str]:
    """Run the cell's own trace-time checks (same errors as the scan path); None if the fused path
    computes what the scan would, else the reason it cannot (e.g. a step that changes the carry dtype)."""
    module = gru if kind.startswith("gru") else lstm if kind == "lstm" else rnn
    xw = jax.eval_shape(module.project_inputs, _struct(params), _struct(xs))
    project, step_projected = step.hoisted
    new, _ = jax.eval_shape(step_projected, _struct(params), _struct(carry),
                            jax.ShapeDtypeStruct(xw.shape[1:], xw.dtype))
    _checks.same_tree("carry", carry, new, "the carry that `step` returns")
    for c, n in zip(jax.tree_util.tree_leaves(carry), jax.tree_util.tree_leaves(new)):
        if jnp.result_type(c) != n.dtype:
            return f"`step` turns a {jnp.result_type(c)} carry into {n.dtype}"
    return None


def unroll(kind: str, params: PyTree, carry: PyTree, xs: Array, mask: Optional[Array], *,
           reverse: bool = False, unroll: int = 1, return_carries: bool = False,
           compute_dtype: Any = None) -> tuple[PyTree, Any]:
    """`jaxseq.unroll` of the cell ``kind`` (see `kind_of`) with the fused backward pass.

    xs (t, ..., i) and carry (..., h) as in `jaxseq.unroll`; ``mask`` (t, ...) bool or None.
    Call `check_compatible` first (`jaxseq.unroll` does).
    """
    _checks.one_of("kind", kind, KINDS)
    leaves, treedef = jax.tree_util.tree_flatten(carry)
    t, batch = xs.shape[0], xs.shape[1:-1]
    n = math.prod(batch)
    acc = jnp.result_type(leaves[0])
    cdt = None if compute_dtype is None else jnp.dtype(compute_dtype).name
    xw = _project(kind, params, xs, cdt, acc)
    xw = xw.reshape(t, n, xw.shape[-1])
    s0 = tuple(leaf.reshape(n, leaf.shape[-1]) for leaf in leaves)
    m = None if mask is None else mask.reshape(t, n)
    cfg = _Config(kind, bool(reverse), int(unroll), cdt, bool(return_carries), jnp.dtype(xw.dtype).name)
    out = _recurrence(cfg, _rec(kind, params), s0, xw, m)
    h = s0[0].shape[-1]
    final = jax.tree_util.tree_unflatten(treedef, [s.reshape(*batch, h) for s in out[0]])
    ys = out[1].reshape(t, *batch, h)
    if not return_carries:
        return final, ys
    carries = jax.tree_util.tree_unflatten(treedef, [s.reshape(t, *batch, h) for s in out[2]])
    return final, (ys, carries)
