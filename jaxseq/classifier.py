"""Many-to-one sequence classifier (sentiment analysis, the course's many-to-one RNN).

    e<t> = E[x<t>]                      (embedding lookup; E may be pretrained, frozen or fine-tuned)
    a<t> = cell(a<t-1>, e<t>)           (unidirectional or bidirectional, padded batches by lengths)
    ŷ = softmax(W_ya a<T_x> + b_y)      (a<T_x>: the output at each sequence's last valid step)

Bidirectional: the summary is [a→<T_x>, a←<1>] — the forward cell's output at the last valid step and
the backward cell's output at the first step (where it has read the whole sequence).
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import optax

from jaxseq import _checks, bidirectional, cell, embedding, head, shapes
from jaxseq.typing import Array
from jaxseq.unroll import resolve_mask, unroll


class Params(NamedTuple):
    embedding: embedding.Params
    rnn: object  # a cell's params, or bidirectional.Params
    head: head.Params


def init(key, vocab_size: int, num_classes: int, *, cell_kind: str = "lstm", embed_dim: int = 64,
         hidden_size: int = 64, bidirectional_rnn: bool = False, E: Optional[Array] = None,
         dtype=jnp.float32) -> Params:
    """``E`` (v, e), if given, initialises the embedding (e.g. pretrained word2vec or GloVe vectors)."""
    _checks.positive_int("num_classes", num_classes)
    _checks.one_of("cell_kind", cell_kind, cell.KINDS)  # named as here, not as the cell modules name them
    _checks.positive_int("hidden_size", hidden_size)
    if E is None:
        _checks.positive_int("embed_dim", embed_dim)
    k_e, k_r, k_h = jax.random.split(key, 3)
    if E is not None:
        if jnp.ndim(E) != 2 or jnp.shape(E)[0] != vocab_size:
            raise ValueError(f"`E` must have shape (vocab_size, embed_dim) = ({vocab_size}, e); got {jnp.shape(E)}")
        emb = embedding.Params(jnp.asarray(E, dtype))
        embed_dim = emb.E.shape[1]
    else:
        emb = embedding.init(k_e, vocab_size, embed_dim, dtype=dtype)
    init_cell = lambda k, i, h: cell.init(cell_kind, k, i, h, dtype=dtype)
    rnn = bidirectional.init(k_r, init_cell, embed_dim, hidden_size) if bidirectional_rnn else init_cell(k_r, embed_dim, hidden_size)
    width = 2 * hidden_size if bidirectional_rnn else hidden_size
    return Params(emb, rnn, head.init(k_h, width, num_classes, dtype=dtype))


def summary(params: Params, tokens: Array, lengths: Array) -> Array:
    """The sequence summary fed to the head: tokens (t, b) integer ids, lengths (b,) → (b, h or 2h)."""
    _checks.integer("tokens", tokens)
    x = embedding.lookup(params.embedding, tokens)
    mask = resolve_mask(x, None, lengths)
    batch = tokens.shape[1:]
    if isinstance(params.rnn, bidirectional.Params):
        step = cell.step_for(params.rnn.fwd)
        carry = bidirectional.init_carry(cell.init_carry_for, params.rnn, batch)
        _, ys = bidirectional.unroll(step, params.rnn, carry, x, mask=mask)
        h = ys.shape[-1] // 2
        return jnp.concatenate([shapes.last_valid(ys[..., :h], mask), ys[0, ..., h:]], axis=-1)
    step = cell.step_for(params.rnn)
    _, ys = unroll(step, params.rnn, cell.init_carry_for(params.rnn, batch), x, mask=mask)
    return shapes.last_valid(ys, mask)


def apply(params: Params, tokens: Array, lengths: Array) -> Array:
    """Class logits (b, n_classes) for right-padded token ids (t, b) with their lengths (b,)."""
    return head.apply(params.head, summary(params, tokens, lengths))


def loss(params: Params, tokens: Array, lengths: Array, labels: Array) -> Array:
    """Mean softmax cross-entropy against integer labels (b,)."""
    _checks.integer("labels", labels)
    logits = apply(params, tokens, lengths)
    _checks.same_shape("labels", labels, logits.shape[:-1], "(batch,)")
    _checks.ids_below("labels", labels, logits.shape[-1])
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, labels))


def accuracy(params: Params, tokens: Array, lengths: Array, labels: Array) -> Array:
    """Fraction of sequences whose most likely class is the label (b,)."""
    _checks.integer("labels", labels)
    logits = apply(params, tokens, lengths)
    _checks.same_shape("labels", labels, logits.shape[:-1], "(batch,)")
    _checks.ids_below("labels", labels, logits.shape[-1])
    return jnp.mean(jnp.argmax(logits, axis=-1) == labels)


def frozen_embedding(optimizer: optax.GradientTransformation) -> optax.GradientTransformation:
    """``optimizer`` for every parameter but the embedding matrix, which stays as initialised."""
    labels = lambda p: Params(embedding=jax.tree_util.tree_map(lambda _: "frozen", p.embedding),
                              rnn=jax.tree_util.tree_map(lambda _: "train", p.rnn),
                              head=jax.tree_util.tree_map(lambda _: "train", p.head))
    return optax.multi_transform({"train": optimizer, "frozen": optax.set_to_zero()}, labels)
