"""grad_norms_over_time against a brute-force derivative, and vanishing / exploding tanh RNNs."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxseq import cell, diagnostics, lstm, rnn

KEY = jax.random.PRNGKey(0)


def _brute_force_norms(step, params, carry, xs, loss_of_outputs):
    """‖dL/da<t>‖ by restarting a Python loop at step t from a<t> as the free variable.

    Outputs before t are constants; y<t> = a<t>; the carry from t on is (a<t>, c<t>) with c<t> fixed
    for an LSTM. Differentiating that loop in a<t> gives the total derivative directly, no ε."""
    carries, ys = [], []
    c = carry
    for x in xs:
        c, y = step(params, c, x)
        carries.append(c)
        ys.append(y)
    norms = []
    for t in range(len(xs)):
        def loss_from(a, t=t):
            c = carries[t]._replace(a=a) if isinstance(carries[t], lstm.Carry) else a
            out = ys[:t] + [a]
            for x in xs[t + 1:]:
                c, y = step(params, c, x)
                out.append(y)
            return loss_of_outputs(jnp.stack(out))
        a_t = carries[t].a if isinstance(carries[t], lstm.Carry) else carries[t]
        norms.append(float(jnp.linalg.norm(jax.grad(loss_from)(a_t))))
    return np.array(norms)


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_matches_brute_force_loop(kind, x64):
    t, b, i, h = 7, 3, 2, 5
    k1, k2, k3 = jax.random.split(KEY, 3)
    params = cell.init(kind, k1, i, h, dtype=jnp.float64)
    xs = jax.random.normal(k2, (t, b, i), jnp.float64)
    w = jax.random.normal(k3, (h,), jnp.float64)
    carry = cell.init_carry_for(params, (b,))
    step = cell.step_for(params)

    def loss(ys):  # every output contributes, weighted by time, so both terms of the recursion matter
        per_t = jnp.sum(jnp.tanh(ys @ w), axis=-1)  # (t,)
        return jnp.sum(per_t * jnp.arange(1, t + 1, dtype=jnp.float64))

    got = diagnostics.grad_norms_over_time(step, params, carry, xs, loss)
    assert got.shape == (t,)
    np.testing.assert_allclose(got, _brute_force_norms(step, params, carry, xs, loss), rtol=1e-10)


def test_padded_steps_get_no_gradient():
    params = rnn.init(KEY, 2, 4)
    xs = jax.random.normal(KEY, (6, 2, 2))
    mask = jnp.arange(6)[:, None] < jnp.array([4, 6])[None, :]
    norms = diagnostics.grad_norms_over_time(rnn.step, params, rnn.init_carry(params, (2,)), xs,
                                             lambda ys: jnp.sum(ys ** 2), mask=mask)
    only_long = diagnostics.grad_norms_over_time(rnn.step, params, rnn.init_carry(params, (1,)), xs[:, 1:],
                                                 lambda ys: jnp.sum(ys ** 2))
    # at t = 4, 5 only the second (unpadded) sequence has a gradient
    np.testing.assert_allclose(norms[4:], only_long[4:], rtol=1e-5)
    assert bool(jnp.all(norms[:4] > only_long[:4]))


def _last_output_norms(scale, xs):
    params = rnn.init(KEY, xs.shape[-1], 16)
    params = params._replace(w_aa=scale * params.w_aa)  # orthogonal init: every singular value = scale
    target = jnp.ones((16,))
    loss = lambda ys: 0.5 * jnp.sum((ys[-1] - target) ** 2)  # noqa: E731  (the last output only)
    return np.asarray(diagnostics.grad_norms_over_time(rnn.step, params, rnn.init_carry(params), xs, loss))


def test_small_recurrent_weights_vanish():
    xs = jax.random.normal(KEY, (30, 3))
    norms = _last_output_norms(0.5, xs)
    assert np.all(np.diff(norms) > 0)          # growing in t: shrinking as t goes back
    assert norms[0] < 1e-6 * norms[-1]         # at most 0.5 per step, over 29 steps


def test_large_recurrent_weights_explode():
    # tiny inputs keep a<t> near 0, where tanh is linear and ∂a<t+1>/∂a<t> ≈ 3 · (orthogonal)
    xs = 1e-6 * jax.random.normal(KEY, (10, 3))
    norms = _last_output_norms(3.0, xs)
    assert np.all(np.diff(norms) < 0)          # shrinking in t: growing as t goes back
    np.testing.assert_allclose(norms[:-1] / norms[1:], 3.0, rtol=1e-2)
    assert norms[0] > 1e4 * norms[-1]


def test_rejects_a_carry_that_is_not_a_hidden_state():
    params = rnn.init(KEY, 2, 4)
    with pytest.raises(TypeError, match="`carry` must be an lstm.Carry"):
        diagnostics.grad_norms_over_time(rnn.step, params, {"a": jnp.zeros(4)}, jnp.zeros((3, 2)), jnp.sum)
