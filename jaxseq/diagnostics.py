"""Vanishing and exploding gradients, made visible: ‖∂L/∂a<t>‖ for every time step t.

The loss reaches a<t> through the output y<t> = a<t> and through every later state, so its total
derivative with respect to a<t> is the backward recursion of backpropagation through time:

    ∂L/∂a<t> = ∂L/∂y<t>  +  ∂L/∂a<t+1> · ∂a<t+1>/∂a<t>
             = Σ_{k ≥ t} ∂L/∂y<k> · ∂a<k>/∂a<k-1> ⋯ ∂a<t+1>/∂a<t>

For a tanh RNN ∂a<k>/∂a<k-1> = diag(1 − a<k>²) W_aa, so for a loss on the last output only
‖∂L/∂a<t>‖ shrinks (vanishes) or grows (explodes) roughly geometrically in T − t, with the size of
W_aa's singular values. An LSTM's memory cell c<t> gives the gradient a path that is only scaled by Γf.
"""
from __future__ import annotations

from typing import Callable, Optional

import jax
import jax.numpy as jnp

from jaxseq import _checks, lstm
from jaxseq.typing import Array, PyTree
from jaxseq.unroll import unroll


def _hidden_of(carry: PyTree) -> Array:
    if isinstance(carry, lstm.Carry):
        return carry.a
    if isinstance(carry, jax.Array) or hasattr(carry, "shape"):
        return carry
    raise TypeError(f"`carry` must be an lstm.Carry(a, c) or the hidden-state array of an RNN/GRU; "
                    f"got {type(carry).__name__}")


def _add_to_hidden(carry: PyTree, eps: Array) -> PyTree:
    if isinstance(carry, lstm.Carry):
        return carry._replace(a=carry.a + eps)
    return carry + eps


def grad_norms_over_time(step: Callable, params: PyTree, carry: PyTree, xs: Array,
                         loss_of_outputs: Callable[[Array], Array], *, mask: Optional[Array] = None) -> Array:
    """‖dL/da<t>‖₂ for t = 1 … T: the total derivative of the loss with respect to the hidden state.

    The step is wrapped so that it adds a perturbation ε<t> (zero) to the new hidden state a<t>, in
    the carry and in the output alike (a<t> of an lstm.Carry; the carry array of an RNN or GRU):

        carry<t>, y<t> = step(params, carry<t-1>, x<t>);   a<t> ← a<t> + ε<t>;   y<t> ← y<t> + ε<t>

    then ``∂L/∂ε<t> at ε = 0`` is ∂L/∂a<t>, including its effect through all later steps (see the
    module docstring for the recursion). For an LSTM the cell c<t> is held fixed: this is the
    gradient reaching a<t>, not c<t>.

    Args:
      step: a cell's step ``step(params, carry, x) -> (carry, a)`` whose output is the hidden state.
      params, carry, xs: as for `jaxseq.unroll`; xs (t, ..., i), carry (..., h).
      loss_of_outputs: ``ys (t, ..., h) -> scalar``, the loss as a function of all outputs (apply the
        head inside it; for a loss on the last output only, use ``ys[-1]``).
      mask: optional (t, ...) booleans as in `unroll`; a padded step ignores its ε, so its norm is 0.

    Returns:
      (t,) norms, each over the batch and hidden axes: sqrt(Σ_{..., h} (∂L/∂a<t>)²). With a loss that
      averages over the batch, each example's share is scaled by 1/batch.
    """
    _checks.rank_at_least("xs", xs, 2, "(time, ..., input_size)")
    _checks.floating("xs", xs)
    hidden = _hidden_of(carry)
    _checks.same_shape("carry", hidden, (*xs.shape[1:-1], hidden.shape[-1]), "(*batch, hidden_size) of `xs`")
    n_in = xs.shape[-1]

    def perturbed_step(p, c, x_eps):
        x, eps = x_eps[..., :n_in], x_eps[..., n_in:]
        c, y = step(p, c, x)
        _checks.same_shape("the output of `step`", y, eps.shape, "(*batch, hidden_size), the hidden state")
        return _add_to_hidden(c, eps), y + eps

    def loss_of_eps(eps):
        # ε travels alongside x in the scanned input, so `unroll` (and its mask) runs unchanged
        _, ys = unroll(perturbed_step, params, carry, jnp.concatenate([xs, eps], axis=-1), mask=mask)
        loss = loss_of_outputs(ys)
        _checks.same_shape("loss_of_outputs(ys)", loss, (), "a scalar")
        return loss

    eps0 = jnp.zeros((*xs.shape[:-1], hidden.shape[-1]), xs.dtype)
    g = jax.grad(loss_of_eps)(eps0)
    return jnp.sqrt(jnp.sum(g.reshape(g.shape[0], -1) ** 2, axis=-1))
