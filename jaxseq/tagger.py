"""Many-to-many sequence tagger, T_x = T_y: one label per input token (named-entity recognition,
part-of-speech tagging — the course's "many-to-many, same length" RNN).

    e<t> = E[x<t>]                                   (embedding lookup)
    a<t> = cell(a<t-1>, e<t>)                        unidirectional: ŷ<t> sees x<1..t> only
         = [a→<t>, a←<t>]                            bidirectional: ŷ<t> sees the whole sentence
    ŷ<t> = softmax(W_ya a<t> + b_y)

A unidirectional tagger cannot use what comes later ("Teddy bears are on sale" vs "Teddy Roosevelt
was a great president": is *Teddy* a name?); the bidirectional one can. Padded batches by lengths;
padded steps have zero activations (their logits are the bias b_y) and add nothing to the loss or
the accuracy.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxseq import _checks, bidirectional, cell, embedding, head, losses
from jaxseq.typing import Array, PyTree
from jaxseq.unroll import resolve_mask, unroll


class Params(NamedTuple):
    embedding: embedding.Params
    rnn: PyTree  # a cell's params, or bidirectional.Params
    head: head.Params


def init(key, vocab_size: int, num_tags: int, *, cell_kind: str = "lstm", embed_dim: int = 32, hidden_size: int = 64,
         bidirectional_rnn: bool = False, dtype=jnp.float32) -> Params:
    _checks.positive_int("num_tags", num_tags)
    _checks.one_of("cell_kind", cell_kind, cell.KINDS)  # named as here, not as the cell modules name them
    for name, value in (("embed_dim", embed_dim), ("hidden_size", hidden_size)):
        _checks.positive_int(name, value)
    k_e, k_r, k_h = jax.random.split(key, 3)
    init_cell = lambda k, i, h: cell.init(cell_kind, k, i, h, dtype=dtype)
    rnn = (bidirectional.init(k_r, init_cell, embed_dim, hidden_size) if bidirectional_rnn
           else init_cell(k_r, embed_dim, hidden_size))
    width = 2 * hidden_size if bidirectional_rnn else hidden_size
    return Params(embedding.init(k_e, vocab_size, embed_dim, dtype=dtype), rnn, head.init(k_h, width, num_tags, dtype=dtype))


def apply(params: Params, tokens: Array, lengths: Array) -> Array:
    """Tag logits (t, ..., n_tags) for right-padded token ids (t, ...) with their lengths (...)."""
    _checks.integer("tokens", tokens)
    x = embedding.lookup(params.embedding, tokens)
    mask = resolve_mask(x, None, lengths)
    batch = tokens.shape[1:]
    if isinstance(params.rnn, bidirectional.Params):
        carry = bidirectional.init_carry(cell.init_carry_for, params.rnn, batch)
        _, a = bidirectional.unroll(cell.step_for(params.rnn.fwd), params.rnn, carry, x, mask=mask)
    else:
        _, a = unroll(cell.step_for(params.rnn), params.rnn, cell.init_carry_for(params.rnn, batch), x, mask=mask)
    return head.apply(params.head, a)


def loss(params: Params, tokens: Array, lengths: Array, tags: Array) -> Array:
    """Mean cross-entropy per valid token against integer tags (t, ...)."""
    logits = apply(params, tokens, lengths)
    return losses.sequence_cross_entropy(logits, tags, resolve_mask(logits, None, lengths))


def accuracy(params: Params, tokens: Array, lengths: Array, tags: Array) -> tuple[Array, Array]:
    """(token accuracy over valid steps, fraction of sequences tagged entirely right); a sequence of
    length 0 counts in neither."""
    _checks.integer("tags", tags)
    logits = apply(params, tokens, lengths)
    _checks.same_shape("tags", tags, logits.shape[:-1], "(t, ...) like `tokens`")
    _checks.ids_below("tags", tags, logits.shape[-1])
    mask = resolve_mask(logits, None, lengths)
    right = (jnp.argmax(logits, axis=-1) == tags) | ~mask
    token_acc = jnp.sum(right & mask) / jnp.maximum(jnp.sum(mask), 1)
    nonempty = jnp.any(mask, axis=0)
    seq_acc = jnp.sum(jnp.all(right, axis=0) & nonempty) / jnp.maximum(jnp.sum(nonempty), 1)
    return token_acc, seq_acc
