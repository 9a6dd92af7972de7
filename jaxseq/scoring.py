"""Scoring sentences with a language model: "what was most likely said".

    log P(y<1>, …, y<T>) = Σ_t log P(y<t> | y<1>, …, y<t-1>)

computed in one pass: the model reads [start, y<1>, …, y<T-1>] and each step's log-softmax is read at
the next true token.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxseq import _checks, lm
from jaxseq.typing import Array


class Score(NamedTuple):
    total: Array      # log P(sentence), nats
    per_token: Array  # (T,) log P(y<t> | y<<t>)


def log_likelihood(params: lm.Params, ids: Array, start_id: Array) -> Score:
    """Log-likelihood of ids (T,) given a start token; `Score(total, per_token)` in nats."""
    _checks.integer("ids", ids)
    if jnp.ndim(ids) != 1 or jnp.shape(ids)[0] == 0:
        raise ValueError(f"`ids` must have shape (length,) with at least one token; got {jnp.shape(ids)}")
    _checks.ids_below("ids", ids, lm.vocab_size(params))  # concrete ids are checked here, outside jit
    if isinstance(start_id, bool) or np.ndim(start_id) != 0:
        raise ValueError(f"`start_id` must be one token id (an integer); got {start_id!r}")
    _checks.integer("start_id", start_id)
    _checks.ids_below("start_id", start_id, lm.vocab_size(params))
    return _log_likelihood(params, jnp.asarray(ids), start_id)


@jax.jit
def _log_likelihood(params: lm.Params, ids: Array, start_id: Array) -> Score:
    inputs = jnp.concatenate([jnp.asarray(start_id, ids.dtype)[None], ids[:-1]])
    _, logits = lm.apply(params, lm.init_carry(params), inputs)
    logp = jax.nn.log_softmax(logits, axis=-1)
    per_token = jnp.take_along_axis(logp, ids[:, None], axis=-1)[:, 0]
    return Score(per_token.sum(), per_token)


def more_likely(params: lm.Params, a: Array, b: Array, start_id: int) -> tuple[int, Score, Score]:
    """0 if sentence ``a`` is at least as likely as ``b`` under the model, else 1; and both scores."""
    sa, sb = log_likelihood(params, a, start_id), log_likelihood(params, b, start_id)
    return (0 if float(sa.total) >= float(sb.total) else 1), sa, sb
