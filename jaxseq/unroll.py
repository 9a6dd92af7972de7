"""`unroll`: run a cell's `step` over a sequence with `lax.scan`.

Without mask, hoisting, remat or reverse, ``unroll(step, params, carry, xs)`` is this loop:

    ys = []
    for x in xs:                       # xs: (t, ..., i), time first as in lax.scan
        carry, y = step(params, carry, x)
        ys.append(y)
    return carry, jnp.stack(ys)

With a mask (or lengths) for padded batches, a padded step leaves the carry unchanged and outputs
zeros (unlike flax's `nn.RNN`, whose padded outputs are not zeroed):

        carry_new, y = step(params, carry, x)
        carry = where(m, carry_new, carry);  y = where(m, y, 0)

so the final carry is the carry at each sequence's last valid step, and ``reverse=True`` on
right-padded sequences first skips the padding, then runs each sequence backwards from its own end.

How it runs (``impl``), all giving the same numbers:

* ``"scan"``: `lax.scan` over the step (input projection hoisted when the step declares it); the
  backward pass is JAX's automatic transpose of the scan.
* ``"fused"``: for the jaxseq cells only (`jaxseq.fused`): a `jax.custom_vjp` whose backward scan
  carries only the state gradients, with the weight gradients computed afterwards as single matmuls
  over all time steps. Reverse mode only (no `jax.jvp`); optional ``compute_dtype`` (bfloat16
  matmuls, float32 carries and accumulation).
* ``"cudnn"``: LSTM only, through `jax.experimental.rnn` (cuDNN; NVIDIA GPU, float32, no mask or
  right padding given as ``lengths``). Never chosen automatically; see `jaxseq.cudnn`.
* ``"auto"`` (default): ``"fused"`` when the step is a jaxseq cell's step (`jaxseq.fused.kind_of`)
  and neither ``remat=True`` nor ``hoist=False`` is asked for, else ``"scan"``.

``unroll="auto"`` times a few unroll factors once per (device kind, cell, shapes, dtypes) and keeps
the fastest (`jaxseq.tune.best_unroll`); the default stays 1, which costs no tuning but is slow on a
GPU: on an H200 the tuned factor (4-32) made an LSTM or GRU layer's forward + backward 1.2-2.1×
faster than ``unroll=1`` at small batches and 1.04-1.2× at batch 256 (benchmarks/README.md, GPU),
and 4 alone beat 1 at every shape measured.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Optional, Union

import jax
import jax.numpy as jnp
from jax import lax

from jaxseq import _checks, fused
from jaxseq.typing import Array, PyTree

Step = Callable[[PyTree, PyTree, Array], tuple]
IMPLS = ("auto", "scan", "fused", "cudnn")


def lengths_to_mask(lengths: Array, max_len: int) -> Array:
    """mask[t, ...] = t < lengths[...]; lengths (...,) integer → mask (t, ...) bool."""
    _checks.integer("lengths", lengths)
    lengths = jnp.asarray(lengths)
    steps = jnp.arange(max_len).reshape((max_len,) + (1,) * lengths.ndim)
    return steps < lengths[None]


def resolve_mask(xs: Array, mask: Optional[Array], lengths: Optional[Array]) -> Optional[Array]:
    """Check `mask` or `lengths` against xs (t, ..., i) and return a (t, ...) bool mask or None."""
    if mask is not None and lengths is not None:
        raise ValueError("pass either `mask` or `lengths`, not both")
    t, batch = xs.shape[0], xs.shape[1:-1]
    if lengths is not None:
        _checks.integer("lengths", lengths)
        _checks.same_shape("lengths", lengths, batch, "xs.shape[1:-1] (the batch shape)")
        _checks.lengths_within("lengths", lengths, t)
        return lengths_to_mask(lengths, t)
    if mask is not None:
        _checks.same_shape("mask", mask, (t, *batch), "(time, *batch) = xs.shape[:-1]")
        return jnp.asarray(mask).astype(bool)
    return None


def _hoisted_parts(step):
    """(project_inputs, step_projected) for a step that declares them, else None."""
    parts = getattr(step, "hoisted", None)
    if parts is None and isinstance(step, functools.partial):
        inner = getattr(step.func, "hoisted", None)
        if inner is not None and not step.args:
            project, proj_step = inner
            parts = (project, functools.partial(proj_step, **step.keywords))
    return parts


def _choose_impl(step, params, carry, xs, impl, *, hoist, remat, compute_dtype) -> str:
    """The implementation `unroll` runs: "scan", "fused" or "cudnn" (see the module docstring)."""
    if impl == "scan":
        if compute_dtype is not None:
            raise ValueError("`compute_dtype` needs `impl='fused'` (or 'cudnn'); the scan computes as `step` does")
        return impl
    kind = fused.kind_of(step, params)
    name = getattr(step, "__name__", step)
    if impl == "cudnn":
        if kind != "lstm":
            raise ValueError(f"`impl='cudnn'` runs `lstm.step` with lstm.Params only; got step {name!r}")
        if remat or hoist is False:
            raise ValueError("`impl='cudnn'` cannot honour `remat=True` or `hoist=False`")
        return impl
    problem = None
    if kind is None:
        problem = f"`step` ({name!r}) is not a jaxseq cell step with matching params (see jaxseq.fused.kind_of)"
    elif remat:
        problem = "`remat=True` needs the scan (the fused path saves the gate activations)"
    elif hoist is False:
        problem = "`hoist=False` needs the scan (the fused path always hoists the input projection)"
    elif xs.shape[0] == 0:
        problem = "`xs` has no time steps"
    else:
        problem = fused.check_compatible(step, params, carry, xs, kind)
        if problem is not None and "carry into" in problem:  # lax.scan would refuse it too, less clearly
            dts = lambda tree: sorted({jnp.result_type(x).name for x in jax.tree_util.tree_leaves(tree)})
            raise ValueError(f"{problem}: a carry must keep its dtype from step to step; here `xs` is "
                             f"{jnp.result_type(xs).name}, `params` {dts(params)}, `carry` {dts(carry)} — give them "
                             f"one dtype (e.g. xs.astype(params.w_ax.dtype); NumPy data is float64 under x64)")
    if problem is None:
        return "fused"
    if impl == "fused":
        raise ValueError(f"`impl='fused'` is not possible: {problem}")
    if compute_dtype is not None:
        raise ValueError(f"`compute_dtype` needs the fused path, which is not possible: {problem}")
    return "scan"


def unroll(
    step: Step,
    params: PyTree,
    carry: PyTree,
    xs: Array,
    *,
    mask: Optional[Array] = None,
    lengths: Optional[Array] = None,
    reverse: bool = False,
    unroll: Union[int, str] = 1,
    return_carries: bool = False,
    hoist: Optional[bool] = None,
    remat: bool = False,
    impl: str = "auto",
    compute_dtype: Any = None,
) -> tuple[PyTree, Any]:
    """Run ``step(params, carry, x) -> (carry, y)`` over the time axis of ``xs``.

    Args:
      step: a cell's step, e.g. ``jaxseq.lstm.step``, or any function of that signature.
      params: the cell's params.
      carry: the initial carry a<0> (c<0>), with the batch shape of ``xs``: (..., h). No broadcasting.
      xs: inputs (t, ..., i), time first.
      mask: optional (t, ...) booleans, True at valid steps. Padded steps keep the carry, output 0.
      lengths: optional (...) integer lengths of right-padded sequences (instead of ``mask``).
      reverse: scan from the last step to the first; outputs stay aligned with ``xs``.
      unroll: how many steps `lax.scan` unrolls per loop iteration (speed only), or "auto" to
        measure the fastest factor once per device kind, cell and shape (`jaxseq.tune`).
      return_carries: also return the carry after every step (aligned with ``xs``).
      hoist: compute the input projection x<t> @ w_ax + b of all t in one matmul before the scan.
        None (default) hoists when the step declares how (every jaxseq cell does); False never;
        True requires it.
      remat: rematerialise each step in the backward pass (`jax.checkpoint`): memory O(t · carry)
        instead of O(t · activations), for one extra forward computation. Implies ``impl="scan"``.
      impl: "auto", "scan", "fused" or "cudnn" (see the module docstring); speed and memory only.
      compute_dtype: with the fused (or cuDNN) path, the dtype of the matmul operands, e.g.
        ``jnp.bfloat16``; carries, gates and accumulation keep the carry's dtype. None: as the step.

    Returns:
      ``(final_carry, ys)`` with ys (t, ..., h) — or ``(final_carry, (ys, carries))`` when
      ``return_carries``.
    """
    _checks.rank_at_least("xs", xs, 2, "(time, ..., input_size)")
    _checks.floating("xs", xs)
    if unroll != "auto":
        _checks.positive_int("unroll", unroll)
    _checks.one_of("impl", impl, IMPLS)
    if fused.kind_of(step, params) is not None and xs.shape[-1] != params.w_ax.shape[0]:
        raise ValueError(f"`xs` must have shape (time, ..., {params.w_ax.shape[0]}) for these params (input size "
                         f"{params.w_ax.shape[0]}); got {tuple(xs.shape)}")
    m = resolve_mask(xs, mask, lengths)
    impl = _choose_impl(step, params, carry, xs, impl, hoist=hoist, remat=remat, compute_dtype=compute_dtype)
    if impl == "cudnn":
        from jaxseq import cudnn

        if mask is not None:
            raise ValueError("`impl='cudnn'` takes right padding as `lengths`, not a `mask`")
        if unroll == "auto":
            unroll = 1
        return cudnn.unroll(params, carry, xs, lengths, reverse=reverse, return_carries=return_carries,
                            compute_dtype=compute_dtype)
    if unroll == "auto":
        from jaxseq import tune

        unroll = tune.best_unroll(step, params, carry, xs, mask=m, reverse=reverse, impl=impl,
                                  compute_dtype=compute_dtype, hoist=hoist, remat=remat)
    if impl == "fused":
        return fused.unroll(fused.kind_of(step, params), params, carry, xs, m, reverse=reverse, unroll=unroll,
                            return_carries=return_carries, compute_dtype=compute_dtype)

    parts = _hoisted_parts(step)
    if hoist and parts is None:
        raise ValueError(f"`hoist=True` but `step` ({getattr(step, '__name__', step)!r}) declares no input projection")
    if parts is not None and hoist is not False:
        project, body_step = parts
        inputs = project(params, xs)
    else:
        body_step, inputs = step, xs

    if remat:
        body_step = jax.checkpoint(body_step)

    def body(c, inp):
        if m is None:
            x = inp
            c_new, y = body_step(params, c, x)
        else:
            x, mt = inp
            c_new, y = body_step(params, c, x)
            c_new = jax.tree_util.tree_map(lambda n, o: jnp.where(_over(mt, n, "carry"), n, o), c_new, c)
            y = jax.tree_util.tree_map(lambda v: jnp.where(_over(mt, v, "output"), v, jnp.zeros_like(v)), y)
        _checks.same_tree("carry", c, c_new, "the carry that `step` returns")
        return c_new, ((y, c_new) if return_carries else y)

    scanned = inputs if m is None else (inputs, m)
    return lax.scan(body, carry, scanned, reverse=reverse, unroll=unroll)


def _over(mt: Array, leaf: Array, what: str) -> Array:
    """The step mask mt (*batch) shaped to broadcast over a carry or output leaf (*batch, ...)."""
    if leaf.shape[: mt.ndim] != mt.shape:
        raise ValueError(f"with a mask, every {what} array of `step` must start with the batch shape "
                         f"{tuple(mt.shape)}; got one of shape {tuple(leaf.shape)}")
    return mt.reshape(mt.shape + (1,) * (leaf.ndim - mt.ndim))
