"""Recurrent language model: embedding → stacked RNN/GRU/LSTM layers → softmax over the vocabulary.

    e<t> = E[y<t-1>]                                  (embedding lookup of the previous token)
    a[l]<t> = cell(a[l]<t-1>, a[l-1]<t>),  a[0] = e   (`jaxseq.stack`)
    ŷ<t> = softmax(a[L]<t> @ W_ya + b_y)              (W_ya = Eᵀ with weight tying)

P(y<1..T>) = Π_t ŷ<t>[y<t>], so the loss −Σ_t log ŷ<t>[y<t>] is the sentence's negative
log-likelihood. Dropout (Zaremba et al. 2014) acts on the embedding, between layers and before the
softmax — never on the recurrent connections.

Weight tying (Press & Wolf 2017; Inan et al. 2017) shares E with the output layer; it needs the top
hidden size to equal the embedding dimension.
"""
from __future__ import annotations

from typing import NamedTuple, Optional, Union

import jax
import jax.numpy as jnp

from jaxseq import _checks, cell, embedding, head, losses, stack
from jaxseq._ops import add_bias
from jaxseq.typing import Array


class TiedHead(NamedTuple):
    b_y: Array  # (v,); the weights are Eᵀ


class Params(NamedTuple):
    embedding: embedding.Params
    layers: tuple
    head: Union[head.Params, TiedHead]


def init(key, vocab_size: int, *, cell_kind: str = "lstm", embed_dim: int = 64, hidden_size: int = 256,
         num_layers: int = 1, tie_weights: bool = False, dtype=jnp.float32, **cell_kwargs) -> Params:
    _checks.one_of("cell_kind", cell_kind, cell.KINDS)
    for name, value in (("vocab_size", vocab_size), ("embed_dim", embed_dim), ("hidden_size", hidden_size),
                        ("num_layers", num_layers)):
        _checks.positive_int(name, value)
    if tie_weights and hidden_size != embed_dim:
        raise ValueError(f"`tie_weights` needs hidden_size == embed_dim; got hidden_size={hidden_size}, embed_dim={embed_dim}")
    k_e, k_l, k_h = jax.random.split(key, 3)
    init_layer = lambda k, i, h: cell.init(cell_kind, k, i, h, dtype=dtype, **cell_kwargs)
    layers = stack.init(k_l, init_layer, embed_dim, [hidden_size] * num_layers)
    out = TiedHead(jnp.zeros((vocab_size,), dtype)) if tie_weights else head.init(k_h, hidden_size, vocab_size, dtype=dtype)
    return Params(embedding.init(k_e, vocab_size, embed_dim, dtype=dtype), layers, out)


def vocab_size(params: Params) -> int:
    return params.embedding.E.shape[0]


def init_carry(params: Params, batch_shape=()) -> tuple:
    return tuple(cell.init_carry_for(p, batch_shape) for p in params.layers)


def logits_of(params: Params, a: Array) -> Array:
    if isinstance(params.head, TiedHead):
        return add_bias(a @ params.embedding.E.T, params.head.b_y)
    return head.apply(params.head, a)


def apply(params: Params, carry: tuple, tokens: Array, *, mask: Optional[Array] = None,
          dropout_rate: float = 0.0, key: Optional[jax.Array] = None, **unroll_kwargs) -> tuple[tuple, Array]:
    """tokens (t, ...) integer ids → (final carries, logits (t, ..., v))."""
    _checks.integer("tokens", tokens)
    _checks.rank_at_least("tokens", tokens, 1, "(time, ...)")
    _checks.ids_below("tokens", tokens, vocab_size(params))
    if dropout_rate > 0.0 and key is None:
        raise ValueError("`key` is required when `dropout_rate` > 0")
    k_in, k_stack, k_out = jax.random.split(key, 3) if key is not None else (None, None, None)
    x = embedding.lookup(params.embedding, tokens)
    if dropout_rate > 0.0:
        x = stack.dropout(k_in, x, dropout_rate)
    step = cell.step_for(params.layers[0])
    carry, a = stack.unroll(step, params.layers, carry, x, mask=mask, dropout_rate=dropout_rate, key=k_stack,
                            **unroll_kwargs)
    if dropout_rate > 0.0:
        a = stack.dropout(k_out, a, dropout_rate)
    return carry, logits_of(params, a)


def loss(params: Params, carry: tuple, tokens: Array, targets: Array, *, mask: Optional[Array] = None,
         reduction: str = "mean", **apply_kwargs) -> tuple[Array, tuple]:
    """Cross-entropy of the next token, in nats per token ("mean") or summed ("sum"); returns (loss, carry)."""
    _checks.same_shape("targets", targets, tokens.shape, "tokens.shape")
    carry, logits = apply(params, carry, tokens, mask=mask, **apply_kwargs)
    return losses.sequence_cross_entropy(logits, targets, mask, reduction=reduction), carry
