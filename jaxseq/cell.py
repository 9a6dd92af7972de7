"""Cells by name, and the step that belongs to a params tuple.

Every cell's params are a NamedTuple of its own type, so a params tuple says which cell it is:
``step_for(lstm_params) is lstm.step``. Experiments pick cells by name with `init`.

    name            module            form
    "rnn"           jaxseq.rnn        tanh
    "gru"           jaxseq.gru        "cudnn" (reset gate after the matmul; PyTorch's)
    "gru-course"    jaxseq.gru        "course" (relevance gate before the matmul)
    "gru-minimal"   jaxseq.gru        "minimal" (update gate only)
    "lstm"          jaxseq.lstm
"""
from __future__ import annotations

from typing import Callable

from jaxseq import _checks, gru, lstm, rnn

KINDS = ("rnn", "gru", "gru-course", "gru-minimal", "lstm")
_GRU_FORM = {"gru": "cudnn", "gru-course": "course", "gru-minimal": "minimal"}


def init(kind: str, key, input_size: int, hidden_size: int, **kwargs):
    """``init("lstm", key, i, h)`` → lstm.Params; ``kwargs`` go to the cell's own init."""
    _checks.one_of("cell", kind, KINDS)
    if kind == "rnn":
        return rnn.init(key, input_size, hidden_size, **kwargs)
    if kind == "lstm":
        return lstm.init(key, input_size, hidden_size, **kwargs)
    return gru.init(key, input_size, hidden_size, form=_GRU_FORM[kind], **kwargs)


def module_for(params):
    if isinstance(params, rnn.Params):
        return rnn
    if isinstance(params, lstm.Params):
        return lstm
    if isinstance(params, (gru.CourseParams, gru.CuDNNParams, gru.MinimalParams)):
        return gru
    raise TypeError(f"`params` must be the params of a jaxseq cell (rnn, gru, lstm); got {type(params).__name__}")


def step_for(params) -> Callable:
    """The `step` function of the cell whose params these are."""
    return module_for(params).step


def init_carry_for(params, batch_shape=(), **kw):
    return module_for(params).init_carry(params, batch_shape, **kw)


def kind_of(params) -> str:
    mod = module_for(params)
    if mod is gru:
        return {v: k for k, v in _GRU_FORM.items()}[gru.form_of(params)]
    return mod.__name__.rsplit(".", 1)[-1]
