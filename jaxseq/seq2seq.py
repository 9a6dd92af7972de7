"""Encoder–decoder (sequence to sequence) model, with or without attention; greedy and beam decoding.

    e<t'>   = E_x[x<t'>]                                        source embedding, t' = 1 .. T_x
    a<t'>   = encoder(a<t'-1>, e<t'>)                           unidirectional, or [a→<t'>, a←<t'>]
    s<0>    = bridge(encoder's final carry)
    without attention:  s<t> = decoder(s<t-1>, E_y[y<t-1>]),              ŷ<t> = softmax(W_y s<t> + b_y)
    with attention:     c<t>, α<t,·> = attend(s<t-1>, a<·>)               (`jaxseq.attention`)
                        s<t> = decoder(s<t-1>, [E_y[y<t-1>], c<t>]),     ŷ<t> = softmax(W_y [s<t>, c<t>] + b_y)

y<0> is the begin token <bos>; the target ends with <eos>. For the score, s<t-1> is the decoder's
hidden state (``a`` of an LSTM carry). The output layer also sees c<t> (Bahdanau et al.'s "deep
output", reduced to one layer).

The bridge from the encoder's final carry to s<0> is fixed at ``init(..., bridge=...)`` and its
params type says which it is:

* "dense" (`DenseBridge`): one layer per carry leaf (a and c of an LSTM),
  s<0> = tanh([a→<T_x>, a←<1>] W + b) — the forward carry at each sequence's last valid step and the
  backward carry after reading the whole sequence — or tanh(a<T_x> W + b) for a unidirectional encoder.
* "final" (`FinalBridge`): the encoder's final carry as it is — the *forward* carry for a
  bidirectional encoder (the backward half is then seen only through attention). Needs equal sizes.
* "zeros" (`ZeroBridge`): s<0> = 0; the decoder learns the input through attention only.

Encoder and decoder are cells of the same kind (``cell_kind``), so their carries have the same leaves.

Layout: time first, any batch axes after, as in `jaxseq.unroll`: src (t_x, ...), tgt (t_y, ...),
lengths (...). Padded source steps are masked in the encoder (`jaxseq.unroll`'s masks) and get
attention weight exactly 0; padded target steps add nothing to the loss.

Decoding is compiled: `greedy_decode` is one `lax.scan` over ``max_len`` steps for the whole batch;
`beam_search` is one `lax.while_loop` per example (vmapped over the batch) that stops when every beam
has ended. Both return a `Decoded` of time-first tokens with the attention weights for plotting.
"""
from __future__ import annotations

import functools
from typing import NamedTuple, Optional, Union

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxseq import _checks, attention, bidirectional, cell, embedding, head, losses, lstm
from jaxseq.typing import Array, PyTree
from jaxseq.unroll import resolve_mask, unroll

BRIDGES = ("dense", "final", "zeros")
LENGTH_PENALTIES = ("wu", "simple")


class DenseBridge(NamedTuple):
    layers: tuple  # one head.Params per leaf of the decoder carry: (2h_enc or h_enc, h_dec)


class FinalBridge(NamedTuple):
    """s<0> = the encoder's (forward) final carry."""


class ZeroBridge(NamedTuple):
    """s<0> = 0."""


class Params(NamedTuple):
    src_embedding: embedding.Params
    tgt_embedding: embedding.Params
    encoder: PyTree  # a cell's params, or bidirectional.Params
    bridge: Union[DenseBridge, FinalBridge, ZeroBridge]
    attention: Optional[attention.Params]  # None: no attention
    decoder: PyTree  # a cell's params
    head: head.Params  # on [s<t>, c<t>] (attention) or s<t>


class Decoded(NamedTuple):
    """Decoder output; ``...`` is the batch shape, followed by a beam axis k for `beam_search`."""

    tokens: Array     # (max_len, ...) int32; <eos> included, ``pad_id`` after it
    lengths: Array    # (...) tokens up to and including <eos>; max_len when no <eos> came
    log_probs: Array  # (...) log P(tokens[:length] | x)
    scores: Array     # (...) log_probs / lp(length): what the search ranks by (= log_probs for greedy)
    alphas: Array     # (max_len, ..., t_x) attention weights; zero after the end and without attention


# --------------------------------------------------------------------------------------------------
# Parameters


def init(key, src_vocab_size: int, tgt_vocab_size: int, *, cell_kind: str = "lstm", embed_dim: int = 32,
         encoder_size: int = 64, decoder_size: int = 128, bidirectional_encoder: bool = True,
         attention_kind: Optional[str] = "additive", attention_size: int = 64, bridge: str = "dense",
         dtype=jnp.float32) -> Params:
    """An encoder–decoder; ``attention_kind=None`` gives the plain model, else "additive", "dot" or "general"."""
    _checks.one_of("cell_kind", cell_kind, cell.KINDS)
    _checks.one_of("bridge", bridge, BRIDGES)
    if attention_kind is not None:
        _checks.one_of("attention_kind", attention_kind, attention.KINDS)
    for name, value in (("embed_dim", embed_dim), ("encoder_size", encoder_size), ("decoder_size", decoder_size)):
        _checks.positive_int(name, value)
    if bridge == "zeros" and attention_kind is None:
        raise ValueError('bridge="zeros" needs attention: without it the decoder starts from s<0> = 0 and never '
                         'sees the source (use bridge="dense" or "final", or an `attention_kind`)')
    if bridge == "final" and encoder_size != decoder_size:
        raise ValueError(f'bridge="final" starts the decoder from the encoder\'s carry, so `decoder_size` must equal '
                         f'`encoder_size` = {encoder_size}; got {decoder_size} (use bridge="dense")')
    d_a = 2 * encoder_size if bidirectional_encoder else encoder_size
    if attention_kind == "dot" and decoder_size != d_a:
        raise ValueError(f'attention_kind="dot" scores s<t> · a<t\'>, so `decoder_size` must equal the annotation size '
                         f'{d_a} (`encoder_size`{" × 2, bidirectional" if bidirectional_encoder else ""}); got '
                         f'{decoder_size} (use attention_kind="general" or "additive")')
    k_se, k_te, k_enc, k_br, k_att, k_dec, k_head = jax.random.split(key, 7)
    init_cell = lambda k, i, h: cell.init(cell_kind, k, i, h, dtype=dtype)
    encoder = (bidirectional.init(k_enc, init_cell, embed_dim, encoder_size) if bidirectional_encoder
               else init_cell(k_enc, embed_dim, encoder_size))
    att = None
    if attention_kind is not None:
        att = attention.init(k_att, decoder_size, d_a, kind=attention_kind, attention_size=attention_size, dtype=dtype)
    decoder = init_cell(k_dec, embed_dim + (d_a if att is not None else 0), decoder_size)
    if bridge == "dense":
        n_leaves = len(jax.tree_util.tree_leaves(cell.init_carry_for(decoder)))
        br = DenseBridge(tuple(head.init(k, d_a, decoder_size, dtype=dtype) for k in jax.random.split(k_br, n_leaves)))
    else:
        br = FinalBridge() if bridge == "final" else ZeroBridge()
    out_in = decoder_size + (d_a if att is not None else 0)
    return Params(
        src_embedding=embedding.init(k_se, src_vocab_size, embed_dim, dtype=dtype),
        tgt_embedding=embedding.init(k_te, tgt_vocab_size, embed_dim, dtype=dtype),
        encoder=encoder, bridge=br, attention=att, decoder=decoder,
        head=head.init(k_head, out_in, tgt_vocab_size, dtype=dtype),
    )


def tgt_vocab_size(params: Params) -> int:
    return params.tgt_embedding.E.shape[0]


# --------------------------------------------------------------------------------------------------
# Encoder, bridge, one decoder step


def _hidden(carry: PyTree) -> Array:
    """s<t> of a decoder carry: ``a`` of an LSTM carry, the carry itself for RNN and GRU."""
    return carry.a if isinstance(carry, lstm.Carry) else carry


def _check_ids(name: str, ids: Array, lengths: Array, lengths_name: str) -> None:
    _checks.integer(name, ids)
    _checks.rank_at_least(name, ids, 1, "(time, ...)")
    _checks.integer(lengths_name, lengths)
    _checks.same_shape(lengths_name, lengths, ids.shape[1:], f"{name}.shape[1:] (the batch shape)")
    _checks.lengths_within(lengths_name, lengths, ids.shape[0])


def encode(params: Params, src: Array, src_lengths: Array) -> tuple[PyTree, attention.Memory]:
    """Run the encoder over src (t_x, ...) ids; returns (decoder carry s<0>, memory of annotations).

    Without attention the memory still holds the annotations and the mask (its keys are the values).
    """
    _check_ids("src", src, src_lengths, "src_lengths")
    x = embedding.lookup(params.src_embedding, src)
    mask = resolve_mask(x, None, src_lengths)
    batch = src.shape[1:]
    if isinstance(params.encoder, bidirectional.Params):
        carry0 = bidirectional.init_carry(cell.init_carry_for, params.encoder, batch)
        enc_carry, values = bidirectional.unroll(cell.step_for(params.encoder.fwd), params.encoder, carry0, x, mask=mask)
    else:
        carry0 = cell.init_carry_for(params.encoder, batch)
        enc_carry, values = unroll(cell.step_for(params.encoder), params.encoder, carry0, x, mask=mask)
    mem = (attention.memory(params.attention, values, mask) if params.attention is not None
           else attention.Memory(values, values, mask))
    return bridge(params, enc_carry, batch), mem


def bridge(params: Params, enc_carry: PyTree, batch_shape: tuple = ()) -> PyTree:
    """s<0> from the encoder's final carry (see the module docstring for the three bridges)."""
    bi = isinstance(params.encoder, bidirectional.Params)
    if isinstance(params.bridge, ZeroBridge):
        return cell.init_carry_for(params.decoder, batch_shape)
    if isinstance(params.bridge, FinalBridge):
        return enc_carry.fwd if bi else enc_carry
    dec_template = cell.init_carry_for(params.decoder, batch_shape)
    treedef = jax.tree_util.tree_structure(dec_template)
    if bi:
        leaves = [jnp.concatenate([f, b], axis=-1) for f, b in zip(jax.tree_util.tree_leaves(enc_carry.fwd),
                                                                   jax.tree_util.tree_leaves(enc_carry.bwd))]
    else:
        leaves = jax.tree_util.tree_leaves(enc_carry)
    return treedef.unflatten([jnp.tanh(head.apply(p, leaf)) for p, leaf in zip(params.bridge.layers, leaves)])


def decoder_step(params: Params, carry: PyTree, e_prev: Array, *, memory: attention.Memory):
    """One decoder step from s<t-1> = ``carry`` and the embedded previous token e_prev (..., e).

    Returns ``(s<t>, (logits (..., v), α<t,·> (..., t_x)))`` — `jaxseq.unroll`'s step signature
    once ``memory`` is bound. α is zero without attention.
    """
    step = cell.step_for(params.decoder)
    if params.attention is None:
        carry, s = step(params.decoder, carry, e_prev)
        alpha = jnp.zeros(e_prev.shape[:-1] + memory.mask.shape[:1], e_prev.dtype)
        return carry, (head.apply(params.head, s), alpha)
    context, alpha = attention.attend(params.attention, _hidden(carry), memory)
    carry, s = step(params.decoder, carry, jnp.concatenate([e_prev, context], axis=-1))
    return carry, (head.apply(params.head, jnp.concatenate([s, context], axis=-1)), alpha)


# --------------------------------------------------------------------------------------------------
# Teacher forcing


def decoder_inputs(tgt: Array, bos_id: int) -> Array:
    """[<bos>, y<1>, ..., y<T_y - 1>]: the target shifted right by one, the decoder's input under teacher forcing."""
    _checks.integer("tgt", tgt)
    return jnp.concatenate([jnp.full((1,) + tgt.shape[1:], bos_id, tgt.dtype), tgt[:-1]], axis=0)


def apply(params: Params, src: Array, src_lengths: Array, tgt_in: Array, tgt_lengths: Array) -> tuple[Array, Array]:
    """Teacher-forced decoder outputs for decoder inputs tgt_in (t_y, ...) (see `decoder_inputs`).

    Returns (logits (t_y, ..., v), α (t_y, ..., t_x)); padded target steps output zeros.
    """
    _check_ids("tgt_in", tgt_in, tgt_lengths, "tgt_lengths")
    _checks.same_shape("tgt_in", tgt_in, tgt_in.shape[:1] + src.shape[1:], "(t_y, ...) with the batch shape of `src`")
    carry, mem = encode(params, src, src_lengths)
    e = embedding.lookup(params.tgt_embedding, tgt_in)
    _, (logits, alphas) = unroll(functools.partial(decoder_step, memory=mem), params, carry, e, lengths=tgt_lengths)
    return logits, alphas


def loss(params: Params, src: Array, src_lengths: Array, tgt: Array, tgt_lengths: Array, *, bos_id: int,
         reduction: str = "mean") -> Array:
    """Cross-entropy of the target tgt (t_y, ...) (ending in <eos>, counted in ``tgt_lengths``) under
    teacher forcing; "mean" is per valid target token (see `jaxseq.losses.sequence_cross_entropy`)."""
    _checks.token_id("bos_id", bos_id, tgt_vocab_size(params), "the target vocabulary")
    logits, _ = apply(params, src, src_lengths, decoder_inputs(tgt, bos_id), tgt_lengths)
    mask = resolve_mask(logits, None, tgt_lengths)
    return losses.sequence_cross_entropy(logits, tgt, mask, reduction=reduction)


def sequence_log_prob(params: Params, src: Array, src_lengths: Array, tgt: Array, tgt_lengths: Array, *,
                      bos_id: int) -> Array:
    """log P(y<1..T_y> | x) = Σ_t log ŷ<t>[y<t>] over each target's valid steps: shape (...)."""
    return -jnp.sum(loss(params, src, src_lengths, tgt, tgt_lengths, bos_id=bos_id, reduction="none"), axis=0)


# --------------------------------------------------------------------------------------------------
# Decoding


def _check_decode_options(params: Params, bos_id: int, eos_id: int, pad_id: int, max_len: int) -> tuple[int, int, int]:
    """Checks the ids and `max_len`; returns (bos_id, eos_id, pad_id) as Python ints (static arguments
    of the compiled decoders must hash: a 0-d array does not)."""
    v = tgt_vocab_size(params)
    for name, value in (("bos_id", bos_id), ("eos_id", eos_id), ("pad_id", pad_id)):
        _checks.token_id(name, value, v, "the target vocabulary")
        if isinstance(value, jax.core.Tracer):
            raise TypeError(f"`{name}` must be a concrete id (it fixes the compiled decoder); got a traced value")
    _checks.positive_int("max_len", max_len)
    return int(bos_id), int(eos_id), int(pad_id)


def _check_source(params: Params, src: Array, src_lengths: Array) -> tuple[Array, Array]:
    """The decoders' source checks, eager (inside their jit an id ≥ v would give NaN silently)."""
    src, src_lengths = jnp.asarray(src), jnp.asarray(src_lengths)
    _check_ids("src", src, src_lengths, "src_lengths")
    _checks.ids_below("src", src, params.src_embedding.E.shape[0])
    return src, src_lengths


def greedy_decode(params: Params, src: Array, src_lengths: Array, *, bos_id: int, eos_id: int, max_len: int,
                  pad_id: int = 0) -> Decoded:
    """ŷ<t> = argmax, fed back as y<t>, for ``max_len`` steps in one `lax.scan` over the batch.

        y<0> = <bos>;  for t = 1 .. max_len:  y<t> = argmax_y P(y | y<<t>, x);  stop at <eos>

    src (t_x, ...) ids with src_lengths (...). Returns a `Decoded`; scores equal log_probs. Concrete
    lengths are checked here, before the compiled part.
    """
    bos_id, eos_id, pad_id = _check_decode_options(params, bos_id, eos_id, pad_id, max_len)
    src, src_lengths = _check_source(params, src, src_lengths)
    return _greedy_decode(params, src, src_lengths, bos_id=bos_id, eos_id=eos_id, max_len=max_len, pad_id=pad_id)


@functools.partial(jax.jit, static_argnames=("bos_id", "eos_id", "max_len", "pad_id"))
def _greedy_decode(params: Params, src: Array, src_lengths: Array, *, bos_id: int, eos_id: int, max_len: int,
                   pad_id: int) -> Decoded:
    carry, mem = encode(params, src, src_lengths)
    batch = src.shape[1:]

    def body(state, _):
        carry, prev, done, logp, length = state
        carry, (logits, alpha) = decoder_step(params, carry, embedding.lookup(params.tgt_embedding, prev), memory=mem)
        lp = jax.nn.log_softmax(logits, axis=-1)
        tok = jnp.argmax(lp, axis=-1).astype(jnp.int32)
        lp_tok = jnp.take_along_axis(lp, tok[..., None], axis=-1)[..., 0]
        out = jnp.where(done, pad_id, tok)
        alpha = jnp.where(done[..., None], jnp.zeros_like(alpha), alpha)
        logp = logp + jnp.where(done, jnp.zeros_like(lp_tok), lp_tok)
        length = length + (~done).astype(jnp.int32)
        done = done | (tok == eos_id)
        return (carry, tok, done, logp, length), (out, alpha)

    init = (carry, jnp.full(batch, bos_id, jnp.int32), jnp.zeros(batch, bool), jnp.zeros(batch, params.head.w_ya.dtype),
            jnp.zeros(batch, jnp.int32))
    (_, _, _, logp, length), (tokens, alphas) = lax.scan(body, init, None, length=max_len)
    return Decoded(tokens, length, logp, logp, alphas)


def length_penalty(length: Array, alpha, kind: str = "wu") -> Array:
    """lp(|Y|): ((5 + |Y|) / 6)^α ("wu", Wu et al. 2016, eq. 14) or |Y|^α ("simple"); α = 0 gives 1."""
    _checks.one_of("kind", kind, LENGTH_PENALTIES)
    length = jnp.asarray(length, jnp.result_type(alpha, jnp.float32))
    return ((5.0 + length) / 6.0) ** alpha if kind == "wu" else length ** alpha


def _beam_search_one(params: Params, src: Array, src_length: Array, *, beam_width: int, bos_id: int, eos_id: int,
                     max_len: int, pad_id: int, alpha: Array, penalty: str) -> Decoded:
    """Beam search for one example: src (t_x,), src_length (); beam axis k first in the state."""
    k = beam_width
    v = tgt_vocab_size(params)
    carry0, mem = encode(params, src, src_length)
    t_x = src.shape[0]

    def step_one(carry, token):
        return decoder_step(params, carry, embedding.lookup(params.tgt_embedding, token), memory=mem)

    step_beams = jax.vmap(step_one)  # the memory is shared by the beams, not copied k times
    dtype = params.head.w_ya.dtype
    neg_inf = jnp.asarray(-jnp.inf, dtype)

    def cond(state):
        t, _, _, _, _, log_probs, _, finished = state
        return (t < max_len) & ~jnp.all(finished | jnp.isneginf(log_probs))

    def body(state):
        t, carry, prev, tokens, alphas, log_probs, lengths, finished = state
        carry, (logits, alpha_t) = step_beams(carry, prev)
        lp = jax.nn.log_softmax(logits, axis=-1)  # (k, v)
        # an ended beam has one continuation, itself (slot eos_id), at no cost and unchanged length
        only_self = jnp.where(jnp.arange(v)[None] == eos_id, log_probs[:, None], neg_inf)
        cand = jnp.where(finished[:, None], only_self, log_probs[:, None] + lp)
        cand_len = jnp.where(finished, lengths, t + 1)
        cand_score = cand / length_penalty(cand_len, alpha, penalty)[:, None]
        _, flat = lax.top_k(cand_score.reshape(k * v), k)
        parent, tok = flat // v, (flat % v).astype(jnp.int32)
        parent_done = finished[parent]
        written = jnp.where(parent_done, pad_id, tok)
        alpha_t = jnp.where(parent_done[:, None], jnp.zeros_like(alpha_t[parent]), alpha_t[parent])
        state = (
            t + 1,
            jax.tree_util.tree_map(lambda c: c[parent], carry),
            tok,
            tokens[:, parent].at[t].set(written),
            alphas[:, parent].at[t].set(alpha_t),
            cand.reshape(k * v)[flat],
            jnp.where(parent_done, lengths[parent], t + 1),
            parent_done | (tok == eos_id),
        )
        return state

    init = (
        jnp.zeros((), jnp.int32),
        jax.tree_util.tree_map(lambda c: jnp.broadcast_to(c, (k,) + c.shape), carry0),
        jnp.full((k,), bos_id, jnp.int32),
        jnp.full((max_len, k), pad_id, jnp.int32),
        jnp.zeros((max_len, k, t_x), mem.values.dtype),
        jnp.full((k,), neg_inf, dtype).at[0].set(0.0),  # one live beam at the start: no duplicates
        jnp.zeros((k,), jnp.int32),
        jnp.zeros((k,), bool),
    )
    _, _, _, tokens, alphas, log_probs, lengths, _ = lax.while_loop(cond, body, init)
    scores = log_probs / length_penalty(lengths, alpha, penalty)
    order = jnp.argsort(-scores, stable=True)  # top_k already sorts; this also covers max_len = 0 edge cases
    return Decoded(tokens[:, order], lengths[order], log_probs[order], scores[order], alphas[:, order])


def beam_search(params: Params, src: Array, src_lengths: Array, *, beam_width: int, bos_id: int, eos_id: int,
                max_len: int, alpha: float = 0.0, length_penalty_kind: str = "wu", pad_id: int = 0) -> Decoded:
    """Beam search with length normalisation; returns the k beams of every example, best first.

    For each example (vmapped over the batch), k hypotheses start from <bos>. At step t every live
    beam proposes all v next tokens, an ended beam (last token <eos>) proposes only itself, and the k
    candidates with the highest

        score(Y) = log P(Y | x) / lp(|Y|),   lp = ((5 + |Y|) / 6)^α  ("wu")  or  |Y|^α  ("simple")

    are kept (|Y| counts <eos>). The loop (`lax.while_loop`) stops when every beam has ended, or after
    ``max_len`` steps; unfinished beams compete with length max_len. With ``beam_width=1`` this is
    exactly `greedy_decode`; with k at least the number of distinct hypotheses it is exhaustive.

    src (t_x, ...) with src_lengths (...). Returns a `Decoded` with a beam axis after the batch axes:
    tokens (max_len, ..., k), lengths, log_probs, scores (..., k), alphas (max_len, ..., k, t_x);
    ``tokens[..., 0]`` is the best hypothesis, laid out as `greedy_decode`'s tokens (see `best_beam`).
    Compiled once per (shapes, k, ids, max_len, length_penalty_kind); α is traced, not static.
    """
    bos_id, eos_id, pad_id = _check_decode_options(params, bos_id, eos_id, pad_id, max_len)
    _checks.positive_int("beam_width", beam_width)
    _checks.one_of("length_penalty_kind", length_penalty_kind, LENGTH_PENALTIES)
    _checks.nonnegative_finite("alpha", alpha, " (the length-normalisation exponent)")
    src, src_lengths = _check_source(params, src, src_lengths)
    return _beam_search(params, src, src_lengths, jnp.asarray(alpha, params.head.w_ya.dtype), beam_width=beam_width,
                        bos_id=bos_id, eos_id=eos_id, max_len=max_len, pad_id=pad_id, penalty=length_penalty_kind)


@functools.partial(jax.jit, static_argnames=("beam_width", "bos_id", "eos_id", "max_len", "pad_id", "penalty"))
def _beam_search(params: Params, src: Array, src_lengths: Array, alpha: Array, *, beam_width: int, bos_id: int,
                 eos_id: int, max_len: int, pad_id: int, penalty: str) -> Decoded:
    t_x, batch = src.shape[0], src.shape[1:]
    flat_src = src.reshape(t_x, -1)
    one = functools.partial(_beam_search_one, params, beam_width=beam_width, bos_id=bos_id, eos_id=eos_id,
                            max_len=max_len, pad_id=pad_id, alpha=alpha, penalty=penalty)
    out = jax.vmap(one, in_axes=(1, 0), out_axes=Decoded(1, 0, 0, 0, 1))(flat_src, src_lengths.reshape(-1))
    k = beam_width
    return Decoded(
        tokens=out.tokens.reshape((max_len, *batch, k)),
        lengths=out.lengths.reshape((*batch, k)),
        log_probs=out.log_probs.reshape((*batch, k)),
        scores=out.scores.reshape((*batch, k)),
        alphas=out.alphas.reshape((max_len, *batch, k, t_x)),
    )


def best_beam(decoded: Decoded) -> Decoded:
    """The first (best) beam of a `beam_search` result, laid out as `greedy_decode`'s output."""
    return Decoded(decoded.tokens[..., 0], decoded.lengths[..., 0], decoded.log_probs[..., 0], decoded.scores[..., 0],
                   decoded.alphas[..., 0, :])


def to_lists(tokens, lengths, *, eos_id: int) -> list[list[int]]:
    """Host side: decoded tokens (max_len, b) with lengths (b,) → b lists of ids, the final <eos> dropped.

    For beams take one beam first: ``to_lists(d.tokens[..., 0], d.lengths[..., 0], eos_id=...)``.
    """
    tokens, lengths = np.asarray(tokens), np.asarray(lengths)
    if tokens.ndim != 2 or lengths.shape != tokens.shape[1:]:
        raise ValueError(f"`tokens` must have shape (max_len, b) and `lengths` (b,); got {tokens.shape} and {lengths.shape}")
    out = []
    for b, n in enumerate(lengths.tolist()):
        ids = tokens[:n, b].tolist()
        out.append(ids[:-1] if ids and ids[-1] == eos_id else ids)
    return out
