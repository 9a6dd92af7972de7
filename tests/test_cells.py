"""Every cell against a NumPy loop of its equations, and the properties of `unroll`."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import jaxseq
from jaxseq import gru, lstm, rnn
from cells import CELLS

T, B, I, H = 7, 3, 4, 5


def randomize(tree, key, scale=0.5):
    """Replace every leaf by random normals (so biases such as b_hn are exercised, not zero)."""
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    keys = jax.random.split(key, len(leaves))
    return jax.tree_util.tree_unflatten(
        treedef, [scale * jax.random.normal(k, l.shape, l.dtype) for k, l in zip(keys, leaves)])


def setup(name, dtype=jnp.float32, batch=(B,)):
    init, init_carry, step, np_step, out = CELLS[name]
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(0), 3)
    params = randomize(init(k1, I, H, dtype=dtype), k2)
    carry = randomize(init_carry(params, batch), k3)  # a nonzero a<0> too
    xs = jax.random.normal(jax.random.PRNGKey(1), (T, *batch, I), dtype)
    return params, carry, xs, step, np_step, out


def np_unroll(np_step, out, params, carry, xs):
    p = jax.tree_util.tree_map(np.asarray, params)
    c = jax.tree_util.tree_map(np.asarray, carry)
    ys = []
    for x in np.asarray(xs):
        c = np_step(p, c, x)
        ys.append(out(c))
    return c, np.stack(ys)


def assert_tree_close(a, b, **kw):
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), **kw)


@pytest.mark.parametrize("name", CELLS)
def test_unroll_equals_numpy_transcription(name):
    params, carry, xs, step, np_step, out = setup(name)
    c, ys = jaxseq.unroll(step, params, carry, xs)
    c_ref, ys_ref = np_unroll(np_step, out, params, carry, xs)
    np.testing.assert_allclose(ys, ys_ref, rtol=1e-5, atol=1e-5)
    assert_tree_close(c, c_ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", CELLS)
def test_unroll_equals_python_loop_of_step(name):
    params, carry, xs, step, *_ = setup(name)
    c, ys = jaxseq.unroll(step, params, carry, xs, hoist=False)
    c_loop, ys_loop = carry, []
    for x in xs:
        c_loop, y = step(params, c_loop, x)
        ys_loop.append(y)
    np.testing.assert_allclose(ys, jnp.stack(ys_loop), rtol=1e-6, atol=1e-6)
    assert_tree_close(c, c_loop, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("unroll_factor", [1, 3])
def test_hoisted_projection_equals_per_step(name, unroll_factor):
    params, carry, xs, step, *_ = setup(name)
    c1, ys1 = jaxseq.unroll(step, params, carry, xs, hoist=True, unroll=unroll_factor)
    c2, ys2 = jaxseq.unroll(step, params, carry, xs, hoist=False)
    np.testing.assert_allclose(ys1, ys2, rtol=1e-5, atol=1e-6)
    assert_tree_close(c1, c2, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", CELLS)
def test_reverse_equals_flipping(name):
    params, carry, xs, step, *_ = setup(name)
    c_rev, ys_rev = jaxseq.unroll(step, params, carry, xs, reverse=True)
    c_flip, ys_flip = jaxseq.unroll(step, params, carry, xs[::-1])
    np.testing.assert_allclose(ys_rev, ys_flip[::-1], rtol=1e-6, atol=1e-6)
    assert_tree_close(c_rev, c_flip, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", CELLS)
def test_mask_keeps_last_valid_carry_and_zeroes_padding(name):
    params, carry, xs, step, *_ = setup(name)
    lengths = jnp.array([T, 4, 1])
    c, ys = jaxseq.unroll(step, params, carry, xs, lengths=lengths)
    _, (_, carries) = jaxseq.unroll(step, params, carry, xs, return_carries=True)
    for b, n in enumerate(lengths.tolist()):
        at_last = jax.tree_util.tree_map(lambda leaf: leaf[n - 1, b], carries)
        assert_tree_close(jax.tree_util.tree_map(lambda leaf: leaf[b], c), at_last, rtol=1e-6, atol=1e-6)
        assert np.all(np.asarray(ys[n:, b]) == 0)
    # the mask form agrees with the lengths form
    mask = jaxseq.lengths_to_mask(lengths, T)
    c2, ys2 = jaxseq.unroll(step, params, carry, xs, mask=mask)
    np.testing.assert_array_equal(ys, ys2)


@pytest.mark.parametrize("name", CELLS)
def test_reverse_on_right_padded_equals_each_sequence_alone(name):
    params, carry, xs, step, *_ = setup(name)
    lengths = [T, 4, 2]
    c, ys = jaxseq.unroll(step, params, carry, xs, lengths=jnp.array(lengths), reverse=True)
    for b, n in enumerate(lengths):
        cb = jax.tree_util.tree_map(lambda leaf: leaf[b], carry)
        c_alone, ys_alone = jaxseq.unroll(step, params, cb, xs[:n, b], reverse=True)
        np.testing.assert_allclose(ys[:n, b], ys_alone, rtol=1e-5, atol=1e-6)
        assert_tree_close(jax.tree_util.tree_map(lambda leaf: leaf[b], c), c_alone, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", CELLS)
def test_vmap_equals_leading_batch_axes(name):
    params, carry, xs, step, *_ = setup(name, batch=(2, B))
    c_lead, ys_lead = jaxseq.unroll(step, params, carry, xs)
    run = lambda c, x: jaxseq.unroll(step, params, c, x)
    # vmap over both batch axes of the (t, 2, B, i) inputs, one example at a time
    c_vm, ys_vm = jax.vmap(jax.vmap(run, in_axes=(0, 1), out_axes=(0, 1)), in_axes=(0, 1), out_axes=(0, 1))(carry, xs)
    np.testing.assert_allclose(ys_lead, ys_vm, rtol=1e-5, atol=1e-6)
    assert_tree_close(c_lead, c_vm, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", CELLS)
def test_param_tree_has_documented_shapes(name):
    params, carry, *_ = setup(name)
    shapes = {k: v.shape for k, v in params._asdict().items()}
    expected = {
        "rnn_tanh": {"w_ax": (I, H), "w_aa": (H, H), "b_a": (H,)},
        "rnn_relu": {"w_ax": (I, H), "w_aa": (H, H), "b_a": (H,)},
        "gru_course": {"w_ax": (I, 3 * H), "w_aa": (H, 2 * H), "w_ac": (H, H), "b": (3 * H,)},
        "gru_cudnn": {"w_ax": (I, 3 * H), "w_aa": (H, 3 * H), "b": (3 * H,), "b_hn": (H,)},
        "gru_minimal": {"w_ax": (I, 2 * H), "w_aa": (H, 2 * H), "b": (2 * H,)},
        "lstm": {"w_ax": (I, 4 * H), "w_aa": (H, 4 * H), "b": (4 * H,)},
    }[name]
    assert shapes == expected
    assert all(leaf.shape == (B, H) for leaf in jax.tree_util.tree_leaves(carry))


def test_lstm_forget_bias_is_in_the_params():
    p = lstm.init(jax.random.PRNGKey(0), I, H)
    np.testing.assert_array_equal(p.b[H:2 * H], 1.0)
    np.testing.assert_array_equal(jnp.concatenate([p.b[:H], p.b[2 * H:]]), 0.0)
    p0 = lstm.init(jax.random.PRNGKey(0), I, H, forget_bias=0.0)
    np.testing.assert_array_equal(p0.b, 0.0)


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("remat", [False, True])
def test_gradients_match_finite_differences(name, remat, x64):
    params, carry, xs, step, *_ = setup(name, dtype=jnp.float64)
    if name == "rnn_relu":  # keep pre-activations away from the kink at 0
        params = params._replace(b_a=params.b_a + 3.0)
    mask = jaxseq.lengths_to_mask(jnp.array([T, 5, 2]), T)

    def loss(params, carry, xs):
        c, ys = jaxseq.unroll(step, params, carry, xs, mask=mask, remat=remat)
        return jnp.sum(ys ** 2) + sum(jnp.sum(leaf) for leaf in jax.tree_util.tree_leaves(c))

    check_grads(loss, (params, carry, xs), order=1, modes=["rev"], atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("name", CELLS)
def test_remat_gives_the_same_gradients(name):
    params, carry, xs, step, *_ = setup(name)

    def loss(params, remat):
        return jnp.sum(jaxseq.unroll(step, params, carry, xs, remat=remat)[1] ** 2)

    g1, g2 = jax.grad(loss)(params, False), jax.grad(loss)(params, True)
    assert_tree_close(g1, g2, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", CELLS)
def test_jit_vmap_grad_compose(name):
    params, carry, xs, step, *_ = setup(name)

    def per_example(params, c, x):
        return jnp.mean(jaxseq.unroll(step, params, c, x)[1] ** 2)

    def batch_loss(params):
        return jnp.mean(jax.vmap(per_example, in_axes=(None, 0, 1))(params, carry, xs))

    g_jit = jax.jit(jax.grad(batch_loss))(params)
    g_ref = jax.grad(lambda p: jnp.mean(jaxseq.unroll(step, p, carry, xs)[1] ** 2))(params)
    assert_tree_close(g_jit, g_ref, rtol=1e-4, atol=1e-6)


def test_relu_rnn_differs_from_tanh():
    params, carry, xs, *_ = setup("rnn_tanh")
    _, y_tanh = jaxseq.unroll(rnn.step, params, carry, xs)
    _, y_relu = jaxseq.unroll(rnn.step_relu, params, carry, xs)
    assert np.all(np.asarray(y_relu) >= 0) and not np.allclose(y_tanh, y_relu)


def test_gru_forms_are_distinct():
    ys = []
    for form in gru.FORMS:
        p = gru.init(jax.random.PRNGKey(0), I, H, form=form)
        ys.append(jaxseq.unroll(gru.step, p, gru.init_carry(p, (B,)), jnp.ones((T, B, I)))[1])
    assert not np.allclose(ys[0], ys[1]) and not np.allclose(ys[0], ys[2])


def test_bfloat16_params_initialise_with_orthogonal_recurrent_blocks():
    p = lstm.init(jax.random.PRNGKey(0), 3, 8, dtype=jnp.bfloat16)
    assert p.w_aa.dtype == jnp.bfloat16 and p.w_ax.dtype == jnp.bfloat16
    block = np.asarray(p.w_aa[:, :8], np.float32)
    np.testing.assert_allclose(block.T @ block, np.eye(8), atol=0.05)  # bf16 has 8 bits of mantissa
