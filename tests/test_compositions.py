"""Bidirectional, stacks, the course's RNN shapes, losses and BPTT."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxseq
from jaxseq import bidirectional, bptt, gru, head, losses, lstm, rnn, shapes, stack
from cells import CELLS
from test_cells import B, H, I, T, assert_tree_close, randomize

KEY = jax.random.PRNGKey(0)


@pytest.mark.parametrize("name", ["lstm", "gru_cudnn", "rnn_tanh"])
@pytest.mark.parametrize("merge", ["concat", "sum"])
def test_bidirectional_padded_batch_equals_each_sequence_alone(name, merge):
    init, init_carry, step, *_ = CELLS[name]
    params = randomize(bidirectional.init(KEY, init, I, H), jax.random.PRNGKey(3))
    carry = bidirectional.init_carry(init_carry, params, (B,))
    xs = jax.random.normal(jax.random.PRNGKey(1), (T, B, I))
    lengths = [T, 5, 2]
    c, ys = bidirectional.unroll(step, params, carry, xs, lengths=jnp.array(lengths), merge=merge)
    assert ys.shape == (T, B, 2 * H if merge == "concat" else H)
    for b, n in enumerate(lengths):
        cb = bidirectional.init_carry(init_carry, params)
        c_alone, ys_alone = bidirectional.unroll(step, params, cb, xs[:n, b], merge=merge)
        np.testing.assert_allclose(ys[:n, b], ys_alone, rtol=1e-5, atol=1e-6)
        assert np.all(np.asarray(ys[n:, b]) == 0)
        assert_tree_close(jax.tree_util.tree_map(lambda l: l[b], c), c_alone, rtol=1e-5, atol=1e-6)


def test_bidirectional_backward_half_reads_right_to_left():
    params = bidirectional.init(KEY, lstm.init, I, H)
    carry = bidirectional.init_carry(lstm.init_carry, params, (B,))
    xs = jax.random.normal(KEY, (T, B, I))
    _, ys = bidirectional.unroll(lstm.step, params, carry, xs)
    _, y_fwd = jaxseq.unroll(lstm.step, params.fwd, carry.fwd, xs)
    _, y_bwd = jaxseq.unroll(lstm.step, params.bwd, carry.bwd, xs[::-1])
    np.testing.assert_allclose(ys, jnp.concatenate([y_fwd, y_bwd[::-1]], -1), rtol=1e-6, atol=1e-6)


def test_stack_equals_layers_run_by_hand():
    params = stack.init(KEY, gru.init, I, [H, H, 3], form="course")
    carries = stack.init_carry(gru.init_carry, params, (B,))
    xs = jax.random.normal(KEY, (T, B, I))
    cs, ys = stack.unroll(gru.step, params, carries, xs)
    h = xs
    for p, c, c_final in zip(params, carries, cs):
        c_l, h = jaxseq.unroll(gru.step, p, c, h)
        np.testing.assert_allclose(c_final, c_l, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ys, h, rtol=1e-6, atol=1e-6)
    assert ys.shape == (T, B, 3)


def test_stack_residual_and_dropout():
    params = stack.init(KEY, lstm.init, I, [H, H, H])
    carries = stack.init_carry(lstm.init_carry, params, (B,))
    xs = jax.random.normal(KEY, (T, B, I))
    _, ys_res = stack.unroll(lstm.step, params, carries, xs, residual=True)
    # residual skips the first layer (I != H), adds the input elsewhere
    _, h1 = jaxseq.unroll(lstm.step, params[0], carries[0], xs)
    _, h2 = jaxseq.unroll(lstm.step, params[1], carries[1], h1)
    _, h3 = jaxseq.unroll(lstm.step, params[2], carries[2], h2 + h1)
    np.testing.assert_allclose(ys_res, h3 + h2 + h1, rtol=1e-5, atol=1e-6)
    _, a = stack.unroll(lstm.step, params, carries, xs, dropout_rate=0.5, key=jax.random.PRNGKey(1))
    _, b = stack.unroll(lstm.step, params, carries, xs, dropout_rate=0.5, key=jax.random.PRNGKey(2))
    _, c = stack.unroll(lstm.step, params, carries, xs)
    assert not np.allclose(a, b) and not np.allclose(a, c)
    with pytest.raises(ValueError, match="`key` is required"):
        stack.unroll(lstm.step, params, carries, xs, dropout_rate=0.5)


def test_stack_of_bidirectional_layers():
    params = stack.init(KEY, lstm.init, I, [H, H], bidirectional_layers=True)
    carries = stack.init_carry(lstm.init_carry, params, (B,))
    xs = jax.random.normal(KEY, (T, B, I))
    lengths = jnp.array([T, 3, 1])
    _, ys = stack.unroll(lstm.step, params, carries, xs, lengths=lengths)
    assert ys.shape == (T, B, 2 * H)
    _, ys1 = stack.unroll(lstm.step, params, stack.init_carry(lstm.init_carry, params), xs[:3, 1])
    np.testing.assert_allclose(ys[:3, 1], ys1, rtol=1e-5, atol=1e-6)


def test_many_to_one_takes_last_valid_output():
    params = lstm.init(KEY, I, H)
    xs = jax.random.normal(KEY, (T, B, I))
    lengths = jnp.array([T, 4, 1])
    carry, y = shapes.many_to_one(lstm.step, params, lstm.init_carry(params, (B,)), xs, lengths=lengths)
    for b, n in enumerate(lengths.tolist()):
        _, ys = jaxseq.unroll(lstm.step, params, lstm.init_carry(params), xs[:n, b])
        np.testing.assert_allclose(y[b], ys[-1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y, carry.a, rtol=1e-6)  # the LSTM's output is a<t>


def test_generate_feeds_outputs_back_inside_jit():
    params = rnn.init(KEY, H, H)
    out = head.init(KEY, H, H)
    feedback = lambda y, key: jax.nn.one_hot(jnp.argmax(head.apply(out, y), -1), H)
    x0 = jnp.zeros((B, H))
    run = jax.jit(lambda p, c: shapes.generate(rnn.step, p, c, x0, 6, feedback))
    carry, ys, xs = run(params, rnn.init_carry(params, (B,)))
    assert ys.shape == (6, B, H) and xs.shape == (6, B, H)
    # replay: feeding the generated inputs through unroll gives the same outputs
    _, ys_replay = jaxseq.unroll(rnn.step, params, rnn.init_carry(params, (B,)), xs)
    np.testing.assert_allclose(ys, ys_replay, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(xs[1:], jax.vmap(lambda y: feedback(y, None))(ys[:-1]))


def test_encoder_decoder_final_carry_starts_the_decoder():
    enc, dec = lstm.init(KEY, I, H), lstm.init(jax.random.PRNGKey(1), 3, H)
    xs = jax.random.normal(KEY, (T, B, I))
    ys_in = jax.random.normal(KEY, (4, B, 3))
    lengths = jnp.array([T, 5, 2])
    c0 = lstm.init_carry(enc, (B,))
    _, out = shapes.encoder_decoder(lstm.step, enc, lstm.step, dec, c0, xs, ys_in, enc_lengths=lengths)
    enc_carry, _ = jaxseq.unroll(lstm.step, enc, c0, xs, lengths=lengths)
    _, ref = jaxseq.unroll(lstm.step, dec, enc_carry, ys_in)
    np.testing.assert_allclose(out, ref, rtol=1e-6)
    assert out.shape == (4, B, H)


def test_sequence_cross_entropy_matches_hand_computation():
    logits = jax.random.normal(KEY, (T, B, 11))
    targets = jax.random.randint(KEY, (T, B), 0, 11)
    mask = jaxseq.lengths_to_mask(jnp.array([T, 3, 1]), T)
    logp = jax.nn.log_softmax(logits)
    nll = -jnp.take_along_axis(logp, targets[..., None], -1)[..., 0]
    total = float(jnp.sum(jnp.where(mask, nll, 0.0)))
    np.testing.assert_allclose(losses.sequence_cross_entropy(logits, targets, mask, reduction="sum"), total, rtol=1e-5)
    np.testing.assert_allclose(losses.sequence_cross_entropy(logits, targets, mask), total / (T + 4), rtol=1e-5)
    per = losses.sequence_cross_entropy(logits, targets, mask, reduction="none")
    assert per.shape == (T, B) and float(per[5, 1]) == 0.0


def _lm_setup():
    emb = jaxseq.embedding.init(KEY, 13, 6)
    cell = lstm.init(KEY, 6, H)
    out = head.init(KEY, H, 13)
    params = (emb, cell, out)

    def loss_fn(params, carry, tokens, targets):
        emb, cell, out = params
        carry, a = jaxseq.unroll(lstm.step, cell, carry, jaxseq.embedding.lookup(emb, tokens))
        return losses.sequence_cross_entropy(head.apply(out, a), targets), carry

    tokens = jax.random.randint(KEY, (4 * 5, B), 0, 13)
    return params, loss_fn, tokens


def test_jitted_train_step_does_not_recompile_and_clips():
    params, loss_fn, tokens = _lm_setup()
    opt = bptt.clipped(optax.sgd(0.5), max_norm=1.0)
    carry0 = lstm.init_carry(params[1], (B,))
    step = jax.jit(bptt.make_train_step(lambda p, x, y: loss_fn(p, carry0, x, y)[0], opt))
    state = bptt.init_train_state(params, opt)
    state1, loss1 = step(state, tokens[:-1], tokens[1:])
    state2, loss2 = step(state1, tokens[:-1], tokens[1:])
    assert step._cache_size() == 1
    assert np.isfinite(loss1) and float(loss2) < float(loss1) and int(state2.step) == 2
    # with clipping, the update has global norm at most lr * max_norm
    delta = jax.tree_util.tree_map(lambda a, b: a - b, state1.params, state.params)
    assert float(jnp.sqrt(sum(jnp.sum(d ** 2) for d in jax.tree_util.tree_leaves(delta)))) <= 0.5 * 1.0 + 1e-5


def test_truncated_bptt_carries_state_and_cuts_gradients():
    params, loss_fn, tokens = _lm_setup()
    opt = optax.adam(1e-2)
    step = jax.jit(bptt.make_tbptt_step(loss_fn, opt))
    state = bptt.init_train_state(params, opt)
    carry = lstm.init_carry(params[1], (B,))
    xs, ys = bptt.windows(tokens[:-1][:15], 5), bptt.windows(tokens[1:][:15], 5)
    for x, y in zip(xs, ys):
        state, carry, loss = step(state, carry, x, y)
    assert int(state.step) == 3 and np.isfinite(loss) and float(jnp.abs(carry.a).sum()) > 0
    # truncated_unroll: same forward numbers, gradients of the last window's loss stop at its start
    x = jax.random.normal(KEY, (12, B, I))
    cell = lstm.init(KEY, I, H)
    c0 = lstm.init_carry(cell, (B,))
    np.testing.assert_allclose(bptt.truncated_unroll(lstm.step, cell, c0, x, 4)[1],
                               jaxseq.unroll(lstm.step, cell, c0, x)[1], rtol=1e-6, atol=1e-6)
    g = jax.grad(lambda x: jnp.sum(bptt.truncated_unroll(lstm.step, cell, c0, x, 4)[1][-1]))(x)
    assert float(jnp.abs(g[:8]).max()) == 0.0 and float(jnp.abs(g[8:]).max()) > 0.0
    # reverse and return_carries give unroll's numbers too; a<0> keeps its gradient from the first window
    for kwargs in (dict(reverse=True), dict(return_carries=True), dict(reverse=True, return_carries=True)):
        got, want = bptt.truncated_unroll(lstm.step, cell, c0, x, 4, **kwargs), jaxseq.unroll(lstm.step, cell, c0, x, **kwargs)
        for a, b in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    for reverse, window in ((False, slice(0, 4)), (True, slice(8, 12))):
        first_window_loss = lambda c: jnp.sum(bptt.truncated_unroll(lstm.step, cell, c, x, 4, reverse=reverse)[1][window])
        full = lambda c: jnp.sum(jaxseq.unroll(lstm.step, cell, c, x, reverse=reverse)[1][window])
        g_t, g_f = jax.grad(first_window_loss)(c0), jax.grad(full)(c0)
        assert float(jnp.abs(g_t.a).max()) > 0
        for a, b in zip(jax.tree_util.tree_leaves(g_t), jax.tree_util.tree_leaves(g_f)):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="multiple of the window length"):
        bptt.windows(x, 5)


@pytest.mark.parametrize("bi", [False, True])
def test_classifier_padded_batch_equals_each_sequence_alone_and_freezing(bi):
    from jaxseq import classifier

    params = classifier.init(KEY, 20, 3, embed_dim=6, hidden_size=H, bidirectional_rnn=bi)
    tokens = jax.random.randint(KEY, (T, B), 0, 20)
    lengths = jnp.array([T, 4, 1])
    logits = classifier.apply(params, tokens, lengths)
    assert logits.shape == (B, 3)
    for b, n in enumerate(lengths.tolist()):
        alone = classifier.apply(params, tokens[:n, b:b + 1], jnp.array([n]))
        np.testing.assert_allclose(logits[b], alone[0], rtol=1e-5, atol=1e-6)
    opt = classifier.frozen_embedding(optax.adam(1e-2))
    labels = jnp.array([0, 1, 2])
    step = bptt.make_train_step(classifier.loss, opt)
    state, _ = step(bptt.init_train_state(params, opt), tokens, lengths, labels)
    np.testing.assert_array_equal(state.params.embedding.E, params.embedding.E)
    assert not np.allclose(state.params.head.w_ya, params.head.w_ya)


def test_masks_fit_carries_and_outputs_of_any_rank():
    """A custom step with a (b, 2, 3) carry and one scalar output per example: padded steps keep
    each example's carry and give 0, as if each sequence ran alone."""
    def step(params, carry, x):  # x (b, 1)
        carry = carry * params + x[..., None]
        return carry, jnp.sum(carry, axis=(-2, -1))

    xs = jnp.arange(1.0, 7.0).reshape(3, 2, 1)
    c0 = jnp.zeros((2, 2, 3))
    carry, ys = jaxseq.unroll(step, 0.5, c0, xs, lengths=jnp.array([3, 1]), impl="scan")
    assert ys.shape == (3, 2)
    alone1 = jaxseq.unroll(step, 0.5, c0[1:], xs[:1, 1:], impl="scan")
    np.testing.assert_allclose(carry[1], alone1[0][0])
    np.testing.assert_allclose(ys[:, 1], [float(alone1[1][0, 0]), 0.0, 0.0])
    alone0 = jaxseq.unroll(step, 0.5, c0[:1], xs[:, :1], impl="scan")
    np.testing.assert_allclose(carry[0], alone0[0][0])
    np.testing.assert_allclose(ys[:, 0], alone0[1][:, 0])
    with pytest.raises(ValueError, match="must start with the batch shape"):
        jaxseq.unroll(lambda p, c, x: (c, jnp.zeros(5)), 0.5, c0, xs, lengths=jnp.array([3, 1]), impl="scan")


def test_many_to_one_in_reverse_keeps_the_output_after_the_whole_sequence():
    params = lstm.init(KEY, I, H)
    xs = jax.random.normal(KEY, (T, B, I))
    lengths = jnp.array([T, 4, 0])
    carry, y = shapes.many_to_one(lstm.step, params, lstm.init_carry(params, (B,)), xs, lengths=lengths,
                                  reverse=True)
    np.testing.assert_allclose(y[:2], carry.a[:2], rtol=1e-6)  # reversed, the run ends at t = 0
    np.testing.assert_array_equal(y[2], 0.0)  # an empty sequence has no output


def test_stack_residual_keeps_padded_steps_zero():
    params = stack.init(KEY, lstm.init, H, [H, H])
    carries = stack.init_carry(lstm.init_carry, params, (B,))
    xs = jax.random.normal(KEY, (T, B, H))
    lengths = jnp.array([T, 2, 0])
    _, ys = stack.unroll(lstm.step, params, carries, xs, lengths=lengths, residual=True)
    padded = jnp.arange(T)[:, None] >= lengths[None, :]
    assert float(jnp.max(jnp.abs(jnp.where(padded[..., None], ys, 0.0)))) == 0.0
    _, full = stack.unroll(lstm.step, params, stack.init_carry(lstm.init_carry, params), xs[:2, 1], residual=True)
    np.testing.assert_allclose(ys[:2, 1], full, rtol=1e-5, atol=1e-6)  # the valid steps are unchanged
