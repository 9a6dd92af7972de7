"""Backpropagation through time: train steps, gradient clipping and truncated BPTT.

`jax.grad` differentiates straight through `lax.scan`: the gradient of Σ_t L<t> flows from right
to left through every carry. Three tools for long sequences:

* **Clipping** (exploding gradients): ``clipped(optimizer, max_norm)`` rescales the gradient g to
  g · min(1, max_norm / ‖g‖₂) over all parameters before the update (optax's clip_by_global_norm).
* **Truncated BPTT** (long streams): the stream is cut into windows of k steps; the carry passes
  from one window to the next as a value, under `lax.stop_gradient`, so gradients flow back at
  most k steps while the state still sees the whole past (Williams & Peng 1990; Zaremba et al. 2014).
* **Rematerialisation**: ``unroll(..., remat=True)`` stores only the carries and recomputes each
  step's activations in the backward pass.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import lax

from jaxseq import _checks
from jaxseq.typing import Array, PyTree
from jaxseq.unroll import unroll


class TrainState(NamedTuple):
    params: PyTree
    opt_state: PyTree
    step: Array  # int32 scalar


def clipped(optimizer: optax.GradientTransformation, max_norm: float) -> optax.GradientTransformation:
    """``optimizer`` preceded by clipping of the global gradient norm to ``max_norm``."""
    if not max_norm > 0:
        raise ValueError(f"`max_norm` must be positive; got {max_norm}")
    return optax.chain(optax.clip_by_global_norm(max_norm), optimizer)


def init_train_state(params: PyTree, optimizer: optax.GradientTransformation) -> TrainState:
    return TrainState(params, optimizer.init(params), jnp.zeros((), jnp.int32))


def make_train_step(loss_fn: Callable[..., Any], optimizer: optax.GradientTransformation, *,
                    has_aux: bool = False) -> Callable:
    """``train_step(state, *batch) -> (state, loss[, aux])`` for ``loss_fn(params, *batch)``.

    Pure; wrap it in `jax.jit` (with ``donate_argnums=0`` to update in place on an accelerator).
    """
    def train_step(state: TrainState, *batch):
        out, grads = jax.value_and_grad(loss_fn, has_aux=has_aux)(state.params, *batch)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        new = TrainState(params, opt_state, state.step + 1)
        return (new, *out) if has_aux else (new, out)

    return train_step


def make_tbptt_step(loss_fn: Callable[..., tuple[Array, PyTree]], optimizer: optax.GradientTransformation) -> Callable:
    """Truncated-BPTT step for ``loss_fn(params, carry, *window) -> (loss, final_carry)``.

    ``tbptt_step(state, carry, *window) -> (state, carry, loss)``: the gradient covers this window
    only; the returned carry (under stop_gradient) starts the next window.
    """
    def tbptt_step(state: TrainState, carry: PyTree, *window):
        carry = lax.stop_gradient(carry)
        (loss, new_carry), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params, carry, *window)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        return TrainState(params, opt_state, state.step + 1), lax.stop_gradient(new_carry), loss

    return tbptt_step


def windows(xs: Array, k: int) -> Array:
    """Cut a (t, ...) array into (t // k, k, ...) consecutive windows; t must be a multiple of k."""
    _checks.positive_int("k", k)
    t = xs.shape[0]
    if t % k:
        raise ValueError(f"`xs` has {t} time steps, not a multiple of the window length k={k}")
    return xs.reshape((t // k, k) + xs.shape[1:])


def truncated_unroll(step: Callable, params: PyTree, carry: PyTree, xs: Array, k: int,
                     **unroll_kwargs: Any) -> tuple[PyTree, Array]:
    """Unroll over xs (t, ..., i) window by window of k steps, the carry passed between windows
    under `stop_gradient`: the same forward numbers as `unroll` (``reverse`` and
    ``return_carries`` included), gradients truncated to k steps. The initial carry a<0> keeps its
    gradient through the first window (the last one in time when ``reverse``).
    For padded batches cut the stream yourself and use `make_tbptt_step`."""
    if "mask" in unroll_kwargs or "lengths" in unroll_kwargs:
        raise ValueError("`truncated_unroll` takes no `mask`/`lengths`; cut padded batches into windows yourself")
    reverse = bool(unroll_kwargs.get("reverse", False))
    if jnp.shape(xs)[:1] == (0,):  # no window to cut: what `unroll` gives for T = 0
        return unroll(step, params, carry, xs, **unroll_kwargs)
    ws = windows(xs, k)
    carry, y_first = unroll(step, params, carry, ws[-1] if reverse else ws[0], **unroll_kwargs)

    def one_window(c, xw):
        return unroll(step, params, lax.stop_gradient(c), xw, **unroll_kwargs)

    carry, ys = lax.scan(one_window, carry, ws[:-1] if reverse else ws[1:], reverse=reverse)
    join = (lambda first, rest: jnp.concatenate([rest, first[None]])) if reverse else \
        (lambda first, rest: jnp.concatenate([first[None], rest]))
    ys = jax.tree_util.tree_map(join, y_first, ys)
    return carry, jax.tree_util.tree_map(lambda a: a.reshape((xs.shape[0],) + a.shape[2:]), ys)
