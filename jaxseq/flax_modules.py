"""flax.linen wrappers of the jaxseq cells, for models built with flax.

Each module runs ``jaxseq.unroll`` over a time-major sequence and returns ``(carry, ys)``:

    model = SimpleRNN(hidden_size=h) | GRU(hidden_size=h, form="cudnn") | LSTM(hidden_size=h)
    variables = model.init(key, xs)                 # xs (t, ..., i), time first
    carry, ys = model.apply(variables, xs)          # ys (t, ..., h)

The parameter tree is ``{"params": {"cell": <the cell's jaxseq Params NamedTuple>}}``, created by the
cell's own ``init`` (same initialisation, same field names), so ``variables["params"]["cell"]`` can
be passed to ``rnn.step`` / ``gru.step`` / ``lstm.step`` and back, or to the converters of
`jaxseq.interop`: ``{"params": {"cell": interop.from_torch_lstm(sd)}}`` is a valid LSTM variables
dict. The input size is read from ``xs`` at ``init``.

``carry`` defaults to zeros (the cell's ``init_carry``) with the batch shape ``xs.shape[1:-1]``.
``mask`` / ``lengths`` behave as in ``jaxseq.unroll``: padded steps keep the carry and output zeros.
``dtype`` is the dtype of the parameters (and of the default carry), as in the cells' ``init``.
At ``apply`` flax checks the stored params' shapes against a fresh init's (``ScopeParamShapeError``
on a mismatch, e.g. params of another input size); `GRU` first checks their form.
"""
from __future__ import annotations

from typing import Any, Optional

import flax.linen as nn
import jax.numpy as jnp

from jaxseq import _checks, gru, lstm, rnn
from jaxseq.typing import Array, PyTree
from jaxseq.unroll import unroll as _unroll


class SimpleRNN(nn.Module):
    """a<t> = g(x<t> @ w_ax + a<t-1> @ w_aa + b_a), g = tanh or relu (`jaxseq.rnn`)."""

    hidden_size: int
    nonlinearity: str = "tanh"  # "tanh" (rnn.step) or "relu" (rnn.step_relu), as in torch.nn.RNN
    dtype: Any = jnp.float32
    reverse: bool = False
    unroll: int = 1

    @nn.compact
    def __call__(self, xs: Array, carry: Optional[Array] = None, *, mask=None, lengths=None) -> tuple[Array, Array]:
        """(a<T>, ys) for xs (t, ..., i); carry a<0> (..., h) defaults to zeros."""
        _checks.one_of("nonlinearity", self.nonlinearity, ("tanh", "relu"))
        step = rnn.step if self.nonlinearity == "tanh" else rnn.step_relu
        params = _cell_params(self, xs, lambda k, i: rnn.init(k, i, self.hidden_size, dtype=self.dtype))
        carry = rnn.init_carry(params, xs.shape[1:-1]) if carry is None else carry
        return _unroll(step, params, carry, xs, mask=mask, lengths=lengths, reverse=self.reverse, unroll=self.unroll)


class GRU(nn.Module):
    """A GRU of the required ``form`` ("course", "cudnn" or "minimal"; see `jaxseq.gru`)."""

    hidden_size: int
    form: str
    dtype: Any = jnp.float32
    reverse: bool = False
    unroll: int = 1

    @nn.compact
    def __call__(self, xs: Array, carry: Optional[Array] = None, *, mask=None, lengths=None) -> tuple[Array, Array]:
        """(c<T>, ys) for xs (t, ..., i); carry c<0> (..., h) defaults to zeros."""
        _checks.one_of("form", self.form, gru.FORMS)
        if self.has_variable("params", "cell"):  # before flax compares its shapes with a fresh init's
            stored = gru.form_of(self.get_variable("params", "cell"))
            if stored != self.form:
                raise ValueError(f"`params['cell']` must be GRU params of the form {self.form!r}; got {stored!r}")
        params = _cell_params(self, xs, lambda k, i: gru.init(k, i, self.hidden_size, form=self.form, dtype=self.dtype))
        carry = gru.init_carry(params, xs.shape[1:-1]) if carry is None else carry
        return _unroll(gru.step, params, carry, xs, mask=mask, lengths=lengths, reverse=self.reverse, unroll=self.unroll)


class LSTM(nn.Module):
    """An LSTM (`jaxseq.lstm`); ``forget_bias`` is the initial b_f (default 1.0)."""

    hidden_size: int
    forget_bias: float = 1.0
    dtype: Any = jnp.float32
    reverse: bool = False
    unroll: int = 1

    @nn.compact
    def __call__(self, xs: Array, carry: Optional[lstm.Carry] = None, *, mask=None, lengths=None) -> tuple[lstm.Carry, Array]:
        """(Carry(a<T>, c<T>), ys) for xs (t, ..., i); carry defaults to zeros."""
        params = _cell_params(
            self, xs, lambda k, i: lstm.init(k, i, self.hidden_size, dtype=self.dtype, forget_bias=self.forget_bias)
        )
        carry = lstm.init_carry(params, xs.shape[1:-1]) if carry is None else carry
        return _unroll(lstm.step, params, carry, xs, mask=mask, lengths=lengths, reverse=self.reverse, unroll=self.unroll)


def _cell_params(module: nn.Module, xs: Array, init_fn) -> PyTree:
    """The module's 'cell' param, created by ``init_fn(key, input_size)`` at init."""
    _checks.rank_at_least("xs", xs, 2, "(time, ..., input_size)")
    return module.param("cell", init_fn, xs.shape[-1])


__all__ = ["SimpleRNN", "GRU", "LSTM"]
