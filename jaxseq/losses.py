"""Sequence losses for backpropagation through time.

The course's loss sums an elementary loss over the time steps,

    L(ŷ, y) = Σ_t L<t>(ŷ<t>, y<t>),   L<t> = −Σ_i y_i<t> log ŷ_i<t>   (cross-entropy over a softmax),

which is −log P(y<1>, …, y<T_y>) for a language model. Padded steps (mask False) contribute nothing
to the value, even with NaN logits there, nor to ∂L/∂logits (a NaN activation upstream of a padded
step still spreads through the backward pass: mask the inputs too).
"""
from __future__ import annotations

from typing import Optional

import jax.numpy as jnp
import optax

from jaxseq import _checks
from jaxseq.typing import Array

REDUCTIONS = ("mean", "sum", "none")


def _reduce(per_step: Array, mask: Optional[Array], reduction: str) -> Array:
    _checks.one_of("reduction", reduction, REDUCTIONS)
    if mask is not None:
        _checks.same_shape("mask", mask, per_step.shape, "the shape of `targets`")
        m = jnp.asarray(mask).astype(per_step.dtype)
        per_step = jnp.where(m != 0, per_step * m, 0.0)  # not a bare product: NaN · 0 would be NaN
    else:
        m = jnp.ones_like(per_step)
    if reduction == "none":
        return per_step
    total = jnp.sum(per_step)
    return total if reduction == "sum" else total / jnp.maximum(jnp.sum(m), 1)


def sequence_cross_entropy(logits: Array, targets: Array, mask: Optional[Array] = None, *,
                           reduction: str = "mean") -> Array:
    """Softmax cross-entropy of logits (t, ..., v) against integer targets (t, ...).

    reduction: "mean" — per valid token (nats/token); "sum" — Σ over time and batch (the course's L);
    "none" — the (t, ...) per-step losses, zero at padded steps.
    """
    _checks.integer("targets", targets)
    _checks.floating("logits", logits)
    _checks.rank_at_least("logits", logits, 1, "(..., vocab)")
    _checks.same_shape("targets", targets, logits.shape[:-1], "logits.shape[:-1]")
    _checks.ids_below("targets", targets, logits.shape[-1])
    if mask is not None:  # a masked step's logits never reach the softmax: its value and ∂L/∂logits are 0
        _checks.same_shape("mask", mask, logits.shape[:-1], "the shape of `targets`")
        logits = jnp.where(jnp.asarray(mask).astype(bool)[..., None], logits, 0.0)
    per_step = optax.softmax_cross_entropy_with_integer_labels(logits, targets)
    return _reduce(per_step, mask, reduction)


def sequence_squared_error(preds: Array, targets: Array, mask: Optional[Array] = None, *,
                           reduction: str = "mean") -> Array:
    """½‖ŷ<t> − y<t>‖² summed over the last axis, per step (t, ..., n_y), reduced as above."""
    _checks.same_shape("targets", targets, preds.shape, "preds.shape")
    per_step = 0.5 * jnp.sum((preds - targets) ** 2, axis=-1)
    return _reduce(per_step, mask, reduction)
