"""Attention and the encoder–decoder: attention against a NumPy transcription of its equations,
masks, beam search against greedy decoding and against exhaustive search, padded batches."""
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxseq import attention, bidirectional, cell, seq2seq
from jaxseq.unroll import unroll

KEY = jax.random.PRNGKey(0)
BOS, EOS, PAD = 1, 2, 0
V_TGT = 5  # <pad>, <bos>, <eos>, a, b: small enough to enumerate every output up to length 3


# --------------------------------------------------------------------------------------------------
# Attention


def _numpy_attention(kind, p, s, values, mask):
    """e<t'> = score(s, a<t'>), α = softmax over valid t', c = Σ α a — one example, written out."""
    e = []
    for a in values:
        if kind == "additive":
            e.append(p.v @ np.tanh(p.w_s.T @ s + p.w_a.T @ a))
        elif kind == "dot":
            e.append(s @ a)
        else:
            e.append(s @ p.w @ a)
    e = np.asarray(e, np.float64)
    w = np.where(mask, np.exp(e - e[mask].max()), 0.0)
    alpha = w / w.sum()
    return alpha @ values, alpha


@pytest.mark.parametrize("kind", attention.KINDS)
def test_attention_equals_its_equations_and_masks_padding(kind):
    t_x, b, d = 6, 3, 4
    k1, k2, k3 = jax.random.split(KEY, 3)
    p = attention.init(k1, d, d, kind=kind, attention_size=5)
    values = jax.random.normal(k2, (t_x, b, d))
    s = jax.random.normal(k3, (b, d))
    lengths = np.array([6, 2, 0])
    mask = np.arange(t_x)[:, None] < lengths[None]
    run = jax.jit(lambda p, values, mask, s: attention.attend(p, s, attention.memory(p, values, mask)))
    context, alpha = run(p, values, mask, s)
    assert context.shape == (b, d) and alpha.shape == (b, t_x)
    alpha = np.asarray(alpha)
    # weights sum to one over the valid steps, are exactly 0 on padding, and 0 everywhere for an empty input
    np.testing.assert_allclose(alpha[:2].sum(-1), 1.0, rtol=1e-6)
    assert (alpha[1, 2:] == 0).all() and (alpha[2] == 0).all() and (np.asarray(context[2]) == 0).all()
    pn = jax.tree_util.tree_map(lambda x: np.asarray(x, np.float64), p)
    for i in range(2):
        c_ref, a_ref = _numpy_attention(kind, pn, np.asarray(s[i], np.float64), np.asarray(values[:, i], np.float64),
                                        mask[:, i])
        np.testing.assert_allclose(alpha[i], a_ref, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(context[i], c_ref, rtol=1e-5, atol=1e-6)
    # the same numbers without a batch axis
    c1, a1 = run(p, values[:, 0], mask[:, 0], s[0])
    np.testing.assert_allclose(a1, alpha[0], rtol=1e-6, atol=1e-7)


def test_attention_gradients_equal_finite_differences(x64):
    from jax.test_util import check_grads

    k1, k2, k3 = jax.random.split(KEY, 3)
    p = attention.init(k1, 3, 4, kind="additive", attention_size=5, dtype=jnp.float64)
    values = jax.random.normal(k2, (5, 4), jnp.float64)
    s = jax.random.normal(k3, (3,), jnp.float64)
    mask = jnp.array([True, True, True, False, False])
    f = jax.jit(lambda p, values, s: attention.attend(p, s, attention.memory(p, values, mask))[0])
    check_grads(f, (p, values, s), order=1, modes=["rev"])


def test_attention_errors():
    with pytest.raises(ValueError, match=r'kind="dot" .* `query_size` \(d_s\) must equal `value_size` \(d_a\) = 8; got 4'):
        attention.init(KEY, 4, 8, kind="dot")
    with pytest.raises(ValueError, match=r"`kind` must be one of \('additive', 'dot', 'general'\); got 'luong'"):
        attention.init(KEY, 4, 8, kind="luong")
    with pytest.raises(ValueError, match="needs `attention_size`"):
        attention.init(KEY, 4, 8, kind="additive")
    p = attention.init(KEY, 4, 8, kind="general")
    mem = attention.memory(p, jnp.ones((5, 2, 8)))
    with pytest.raises(ValueError, match=r"`query` must have shape \(\.\.\., d_s\) .* = \(2, 4\); got \(2, 8\)"):
        attention.attend(p, jnp.ones((2, 8)), mem)


# --------------------------------------------------------------------------------------------------
# The encoder–decoder. Two models of tanh RNNs (they compile several times faster than LSTMs):
# a bidirectional encoder, dense bridge and additive attention; and a plain model without attention
# whose final encoder carry starts the decoder. An LSTM model checks the LSTM carry's paths.


@pytest.fixture(scope="module")
def models():
    k1, k2, k3 = jax.random.split(KEY, 3)
    return {
        "attention": seq2seq.init(k1, 9, V_TGT, cell_kind="rnn", embed_dim=4, encoder_size=6, decoder_size=8,
                                  attention_kind="additive", attention_size=5),
        "plain": seq2seq.init(k2, 9, V_TGT, cell_kind="rnn", embed_dim=4, encoder_size=8, decoder_size=8,
                              bidirectional_encoder=False, attention_kind=None, bridge="final"),
        "lstm": seq2seq.init(k3, 9, V_TGT, cell_kind="lstm", embed_dim=4, encoder_size=6, decoder_size=8,
                             attention_kind="general"),
    }


SRC = jax.random.randint(jax.random.PRNGKey(1), (7, 3), 3, 9)
SRC_LEN = jnp.array([7, 3, 7])
MAX_LEN = 3
DECODE = dict(bos_id=BOS, eos_id=EOS, max_len=MAX_LEN)
# compiled once per model and shape (compilation is most of these tests' time)
log_prob = jax.jit(seq2seq.sequence_log_prob, static_argnames="bos_id")
loss = jax.jit(seq2seq.loss, static_argnames=("bos_id", "reduction"))


def test_params_tree_and_bridges(models):
    p = models["attention"]
    assert isinstance(p.encoder, bidirectional.Params) and isinstance(p.attention, attention.AdditiveParams)
    assert p.attention.w_a.shape == (12, 5) and p.attention.w_s.shape == (8, 5)
    assert p.decoder.w_ax.shape == (4 + 12, 8)  # [E_y[y<t-1>], c<t>]
    assert p.head.w_ya.shape == (8 + 12, V_TGT)  # [s<t>, c<t>]
    assert [l.w_ya.shape for l in p.bridge.layers] == [(12, 8)]
    p = models["lstm"]
    assert isinstance(p.attention, attention.GeneralParams) and p.attention.w.shape == (8, 12)
    assert p.decoder.w_ax.shape == (4 + 12, 4 * 8)
    assert [l.w_ya.shape for l in p.bridge.layers] == [(12, 8), (12, 8)]  # a and c of the LSTM carry
    # "final": the decoder starts from the encoder's carry at each sequence's last valid step
    plain = models["plain"]
    carry, mem = seq2seq.encode(plain, SRC, SRC_LEN)
    x = plain.src_embedding.E[SRC]
    final, ys = unroll(cell.step_for(plain.encoder), plain.encoder, cell.init_carry_for(plain.encoder, (3,)), x,
                       lengths=SRC_LEN)
    np.testing.assert_allclose(carry, final, rtol=1e-6)
    np.testing.assert_allclose(mem.values, ys, rtol=1e-6)
    with pytest.raises(ValueError, match='bridge="final" .* `decoder_size` must equal `encoder_size` = 8; got 16'):
        seq2seq.init(KEY, 9, 5, encoder_size=8, decoder_size=16, bridge="final")


@pytest.mark.parametrize("name", ["attention", "plain", "lstm"])
def test_beam_width_one_is_greedy_and_weights_are_masked(models, name):
    p = models[name]
    greedy = seq2seq.greedy_decode(p, SRC, SRC_LEN, **DECODE)
    if name == "lstm":  # the attention query is the LSTM's hidden state a, not its memory cell c
        @jax.jit
        def first_step(p):
            carry, mem = seq2seq.encode(p, SRC, SRC_LEN)
            _, (_, alpha) = seq2seq.decoder_step(p, carry, p.tgt_embedding.E[jnp.full((3,), BOS)], memory=mem)
            return alpha, attention.attend(p.attention, carry.a, mem)[1]
        alpha, by_hand = first_step(p)
        np.testing.assert_allclose(alpha, by_hand, rtol=1e-6)
        np.testing.assert_allclose(greedy.alphas[0], alpha, rtol=1e-5, atol=1e-6)
    beam = seq2seq.beam_search(p, SRC, SRC_LEN, beam_width=1, alpha=0.6, **DECODE)
    assert greedy.tokens.shape == (MAX_LEN, 3) and beam.tokens.shape == (MAX_LEN, 3, 1)
    np.testing.assert_array_equal(beam.tokens[..., 0], greedy.tokens)
    np.testing.assert_array_equal(beam.lengths[..., 0], greedy.lengths)
    np.testing.assert_allclose(beam.log_probs[..., 0], greedy.log_probs, rtol=1e-5)
    # the log-probability is the teacher-forced score of the decoded tokens
    lp = log_prob(p, SRC, SRC_LEN, greedy.tokens, greedy.lengths, bos_id=BOS)
    np.testing.assert_allclose(lp, greedy.log_probs, rtol=1e-5)
    alphas = np.asarray(greedy.alphas)  # (max_len, b, t_x)
    if name == "plain":
        assert (alphas == 0).all()
        return
    valid = np.arange(MAX_LEN)[:, None] < np.asarray(greedy.lengths)[None]
    np.testing.assert_allclose(alphas.sum(-1)[valid], 1.0, rtol=1e-5)
    assert (alphas.sum(-1)[~valid] == 0).all()  # after <eos>
    padded = np.arange(7)[None, None, :] >= np.asarray(SRC_LEN)[None, :, None]
    assert (alphas[np.broadcast_to(padded, alphas.shape)] == 0).all()


def _all_outputs(v: int, max_len: int) -> list[list[int]]:
    """Every output of at most max_len tokens: ended by <eos>, or max_len tokens with no <eos>."""
    words = [t for t in range(v) if t != EOS]
    outs = []
    for n in range(max_len):
        outs += [list(w) + [EOS] for w in itertools.product(words, repeat=n)]
    return outs + [list(w) for w in itertools.product(words, repeat=max_len)]


@pytest.mark.parametrize("alpha", [0.0, 1.5])
def test_beam_search_is_exhaustive_when_the_beam_holds_every_hypothesis(models, alpha):
    p = models["attention"]
    outs = _all_outputs(V_TGT, MAX_LEN)  # 1 + 4 + 16 + 64 = 85
    k = len(outs)
    beams = seq2seq.beam_search(p, SRC, SRC_LEN, beam_width=k, alpha=alpha, **DECODE)
    tgt = jnp.asarray([o + [PAD] * (MAX_LEN - len(o)) for o in outs], jnp.int32).T  # (max_len, k)
    lengths = jnp.asarray([len(o) for o in outs])
    for b in range(3):
        every = jnp.broadcast_to(SRC[:, b:b + 1], (SRC.shape[0], k))
        log_p = np.asarray(log_prob(p, every, jnp.full((k,), SRC_LEN[b]), tgt, lengths, bos_id=BOS))
        score = log_p / np.asarray(seq2seq.length_penalty(lengths, alpha))
        order = np.argsort(-score, kind="stable")
        assert abs(np.exp(log_p).sum() - 1.0) < 1e-4  # the outputs partition the probability mass
        best = outs[order[0]]
        top = seq2seq.to_lists(beams.tokens[:, b, :1], beams.lengths[b, :1], eos_id=EOS)[0]
        assert top == [t for t in best if t != EOS]
        np.testing.assert_allclose(beams.scores[b], score[order], rtol=1e-4, atol=1e-5)
        every_beam = seq2seq.to_lists(beams.tokens[:, b], beams.lengths[b], eos_id=-1)  # <eos> kept
        assert sorted(map(tuple, every_beam)) == sorted(map(tuple, outs))


def test_padded_batch_decodes_like_each_example_alone(models):
    p = models["attention"]
    greedy = seq2seq.greedy_decode(p, SRC, SRC_LEN, **DECODE)
    beams = seq2seq.beam_search(p, SRC, SRC_LEN, beam_width=3, alpha=0.6, **DECODE)
    for b in range(3):
        n = int(SRC_LEN[b])
        alone_g = seq2seq.greedy_decode(p, SRC[:n, b:b + 1], SRC_LEN[b:b + 1], **DECODE)
        alone_b = seq2seq.beam_search(p, SRC[:n, b:b + 1], SRC_LEN[b:b + 1], beam_width=3, alpha=0.6, **DECODE)
        np.testing.assert_array_equal(alone_g.tokens[:, 0], greedy.tokens[:, b])
        np.testing.assert_allclose(alone_g.alphas[:, 0], greedy.alphas[:, b, :n], rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(alone_b.tokens[:, 0], beams.tokens[:, b])
        np.testing.assert_allclose(alone_b.scores[0], beams.scores[b], rtol=1e-5)


def test_teacher_forcing_loss_ignores_padded_targets(models):
    p = models["plain"]
    tgt = jnp.array([[3, 4], [EOS, 3], [PAD, EOS]])
    tgt_len = jnp.array([2, 3])
    src, src_len = SRC[:, :2], SRC_LEN[:2]
    total = loss(p, src, src_len, tgt, tgt_len, bos_id=BOS, reduction="sum")
    junk = tgt.at[2, 0].set(4)  # a different token in the padding changes nothing
    np.testing.assert_allclose(loss(p, src, src_len, junk, tgt_len, bos_id=BOS, reduction="sum"), total, rtol=1e-6)
    # the sum over the batch is the sum of each example's own loss
    each = [loss(p, src[:int(src_len[b]), b:b + 1], src_len[b:b + 1], tgt[:int(tgt_len[b]), b:b + 1],
                 tgt_len[b:b + 1], bos_id=BOS, reduction="sum") for b in range(2)]
    np.testing.assert_allclose(total, sum(each), rtol=1e-5)


def test_decoding_errors(models):
    p = models["plain"]
    with pytest.raises(ValueError, match=r"`beam_width` must be a positive integer; got 0"):
        seq2seq.beam_search(p, SRC, SRC_LEN, beam_width=0, **DECODE)
    with pytest.raises(ValueError, match=r"`eos_id` must be a token id in \[0, 5\) \(the target vocabulary\); got 7"):
        seq2seq.greedy_decode(p, SRC, SRC_LEN, bos_id=BOS, eos_id=7, max_len=3)
    with pytest.raises(ValueError, match=r"`max_len` must be a positive integer; got 0"):
        seq2seq.greedy_decode(p, SRC, SRC_LEN, bos_id=BOS, eos_id=EOS, max_len=0)
    with pytest.raises(ValueError, match=r"`alpha` .* must be a finite number >= 0; got -1"):
        seq2seq.beam_search(p, SRC, SRC_LEN, beam_width=2, alpha=-1.0, **DECODE)
    with pytest.raises(ValueError, match=r"`src_lengths` must have shape src.shape\[1:\] .* = \(3,\); got \(2,\)"):
        seq2seq.greedy_decode(p, SRC, SRC_LEN[:2], **DECODE)
    with pytest.raises(TypeError, match=r"`src` must hold integer ids"):
        seq2seq.greedy_decode(p, SRC.astype(jnp.float32), SRC_LEN, **DECODE)


def test_a_model_that_could_not_see_its_source_is_refused():
    with pytest.raises(ValueError, match='bridge="zeros" needs attention'):
        seq2seq.init(jax.random.PRNGKey(0), 9, 5, cell_kind="rnn", embed_dim=4, encoder_size=6, decoder_size=8,
                     attention_kind=None, bridge="zeros")
