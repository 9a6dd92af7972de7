"""The fast paths of `unroll` give the numbers of the plain scan; data parallelism gives the single-device step.

float32: outputs, final carry and gradients (params, initial carry, xs) agree to 1e-5 relative to
the largest entry. bfloat16: ``compute_dtype=jnp.bfloat16`` (float32 carries) agrees with the float32
scan to 2e-2 relative to the largest entry (measured ≤ 8e-3 here); all-bfloat16 params and inputs
agree with the all-bfloat16 scan to 6e-2 (measured ≤ 2.6e-2: both round, in different places).
"""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxseq
from jaxseq import cudnn, fused, gru, lstm, stack, tune
from cells import CELLS
from test_cells import B, H, I, T, setup

LENGTHS = jnp.array([T, 4, 1])
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True, scope="module")
def _strict_precision_and_quick_compiles():
    """float32 matmuls in full float32 (GPUs default to TF32, which would hide a 1e-5 comparison);
    on CPU, XLA's cheap compile settings: the numbers are compared, not the speed (halves the time)."""
    quick = jax.default_backend() == "cpu" and "jax_disable_most_optimizations" in jax.config.values
    if quick:
        jax.config.update("jax_disable_most_optimizations", True)
    with jax.default_matmul_precision("highest"):
        yield
    if quick:
        jax.config.update("jax_disable_most_optimizations", False)


def leaves(tree):
    return jax.tree_util.tree_leaves(tree)


def assert_close(a, b, tol):
    """Every leaf pair agrees to ``tol`` relative to the largest entry of the reference leaf."""
    la, lb = leaves(a), leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        assert x.shape == y.shape and x.dtype == y.dtype, (x.shape, x.dtype, y.shape, y.dtype)
        x, y = np.asarray(x, np.float32), np.asarray(y, np.float32)
        scale = max(float(np.max(np.abs(y))), 1e-6)
        np.testing.assert_allclose(x, y, rtol=0, atol=tol * scale)


def _weights(tree, key):
    """Fixed random cotangent weights, so every output reaches the loss with its own gradient."""
    ls, treedef = jax.tree_util.tree_flatten(tree)
    keys = jax.random.split(key, len(ls))
    return jax.tree_util.tree_unflatten(treedef, [jax.random.normal(k, l.shape, jnp.float32) for k, l in zip(keys, ls)])


def _loss_and_grads(step, params, carry, xs, **kw):
    def loss(p, c, x):
        final, out = jaxseq.unroll(step, p, c, x, **kw)
        ws = _weights((final, out), jax.random.PRNGKey(7))
        return sum(jnp.sum(w * l.astype(jnp.float32)) for w, l in zip(leaves(ws), leaves((final, out)))), (final, out)

    (_, out), grads = jax.value_and_grad(loss, argnums=(0, 1, 2), has_aux=True)(params, carry, xs)
    return out, grads


# (unroll factor of the fused path, options); `lengths` becomes a mask inside `unroll`
CONFIGS = [(1, dict()), (2, dict(lengths=LENGTHS, reverse=True, return_carries=True))]


@pytest.mark.parametrize("name", CELLS)
def test_fused_equals_scan_float32(name):
    params, carry, xs, step, *_ = setup(name)
    assert fused.kind_of(step, params) == name

    @jax.jit
    def both(params, carry, xs):
        return [(_loss_and_grads(step, params, carry, xs, impl="fused", unroll=u, **kw),
                 _loss_and_grads(step, params, carry, xs, impl="scan", **kw))
                for u, kw in CONFIGS]

    for got, want in both(params, carry, xs):
        assert_close(got, want, 1e-5)


def test_auto_picks_fused_for_cells_and_scan_otherwise():
    params, carry, xs, step, *_ = setup("lstm")
    calls = []
    plain = lambda p, c, x: (calls.append(1), step(p, c, x))[1]
    assert fused.kind_of(plain, params) is None and fused.kind_of(gru.step, params) is None
    c1, y1 = jaxseq.unroll(plain, params, carry, xs, hoist=False)  # a custom step: the scan
    c2, y2 = jaxseq.unroll(step, params, carry, xs)  # auto: fused
    assert calls and np.allclose(y1, y2, atol=1e-6)
    # which path ran: the fused one is a custom VJP, the scan is not
    jaxpr = lambda **kw: str(jax.make_jaxpr(lambda p: jaxseq.unroll(step, p, carry, xs, **kw)[1])(params))
    assert "custom_vjp" in jaxpr() and "custom_vjp" in jaxpr(impl="fused")
    assert "custom_vjp" not in jaxpr(impl="scan") and "custom_vjp" not in jaxpr(remat=True)
    with pytest.raises(ValueError, match="`impl='fused'` is not possible: `step`"):
        jaxseq.unroll(plain, params, carry, xs, impl="fused")
    with pytest.raises(ValueError, match="`impl='fused'` is not possible: `remat=True`"):
        jaxseq.unroll(step, params, carry, xs, impl="fused", remat=True)
    with pytest.raises(ValueError, match="`compute_dtype` needs `impl='fused'`"):
        jaxseq.unroll(step, params, carry, xs, impl="scan", compute_dtype=jnp.bfloat16)
    with pytest.raises(ValueError, match=r"`impl` must be one of \('auto', 'scan', 'fused', 'cudnn'\); got 'cuda'"):
        jaxseq.unroll(step, params, carry, xs, impl="cuda")
    with pytest.raises(ValueError, match="`impl='cudnn'` takes right padding as `lengths`"):
        jaxseq.unroll(step, params, carry, xs, impl="cudnn", mask=jnp.ones((T, B), bool))


def test_fused_bfloat16():
    bf = lambda tree: jax.tree_util.tree_map(lambda a: a.astype(jnp.bfloat16), tree)
    setups = {name: setup(name) for name in CELLS}
    xs = setups["lstm"][2]

    @jax.jit
    def run(params, carries, xs):
        mixed = {name: (_loss_and_grads(CELLS[name][2], params[name], carries[name], xs, impl="fused",
                                        compute_dtype=jnp.bfloat16, lengths=LENGTHS),
                        _loss_and_grads(CELLS[name][2], params[name], carries[name], xs, impl="scan", lengths=LENGTHS))
                 for name in CELLS}
        p, c = bf(params["lstm"]), bf(carries["lstm"])
        all_bf16 = (_loss_and_grads(lstm.step, p, c, bf(xs), impl="fused", lengths=LENGTHS),
                    _loss_and_grads(lstm.step, p, c, bf(xs), impl="scan", lengths=LENGTHS))
        return mixed, all_bf16

    mixed, all_bf16 = run({k: v[0] for k, v in setups.items()}, {k: v[1] for k, v in setups.items()}, xs)
    for name, (got, want) in mixed.items():
        assert_close(got, want, 2e-2)  # bfloat16 matmuls; float32 carries, outputs and gradients
    assert_close(*all_bf16, 6e-2)


def test_stacks_and_bidirectional_take_the_fused_path():
    key = jax.random.PRNGKey(0)
    xs = jax.random.normal(key, (T, B, I))
    p_bi = stack.init(key, lstm.init, I, [H, H], bidirectional_layers=True, merge="sum")
    c_bi = stack.init_carry(lstm.init_carry, p_bi, (B,))
    p_gru = stack.init(key, gru.init, I, [H, H], form="course")
    c_gru = stack.init_carry(gru.init_carry, p_gru, (B,))

    def grads(impl, p_bi, p_gru, xs):
        def loss(p_bi, p_gru, xs):
            _, y1 = stack.unroll(lstm.step, p_bi, c_bi, xs, lengths=LENGTHS, merge="sum", impl=impl, unroll=2)
            _, y2 = stack.unroll(gru.step, p_gru, c_gru, xs, residual=True, impl=impl)
            return jnp.sum(y1 ** 2) + jnp.sum(jnp.sin(y2))
        return jax.value_and_grad(loss, argnums=(0, 1, 2))(p_bi, p_gru, xs)

    run = jax.jit(lambda *a: (grads("fused", *a), grads("scan", *a)))
    got, want = run(p_bi, p_gru, xs)
    assert_close(got, want, 1e-5)


def test_vmap_and_second_order_through_the_fused_path():
    params, carry, xs, step, *_ = setup("gru_cudnn")

    def per_example(p, c, x, impl):
        return jnp.mean(jaxseq.unroll(step, p, c, x, impl=impl)[1] ** 2)

    def batch_loss(p, impl):
        return jnp.mean(jax.vmap(per_example, in_axes=(None, 0, 1, None))(p, carry, xs, impl))

    # reverse over reverse: the gradient of a gradient norm (the fused backward is itself differentiable)
    def grad_norm(p, impl):
        return sum(jnp.sum(g ** 2) for g in leaves(jax.grad(batch_loss)(p, impl)))

    run = jax.jit(lambda p: [(jax.grad(batch_loss)(p, impl), jax.grad(grad_norm)(p, impl)) for impl in ("fused", "scan")])
    got, want = run(params)
    assert_close(got, want, 1e-4)


def test_unroll_auto_measures_once_and_caches():
    params, carry, xs, step, *_ = setup("rnn_tanh")
    xs = xs[:3]
    tune.clear_cache()
    c1, y1 = jax.jit(lambda x: jaxseq.unroll(step, params, carry, x, unroll="auto"))(xs)  # inside jit
    (measured,) = tune.timings().values()
    assert set(measured) == {1, 2}  # factors above t = 3 are not tried
    u = tune.best_unroll(step, params, carry, xs, impl="fused")  # the same key: a cache hit
    assert u in (1, 2) and len(tune.timings()) == 1
    c2, y2 = jaxseq.unroll(step, params, carry, xs)
    np.testing.assert_allclose(y1, y2, rtol=1e-6, atol=1e-6)


def test_cudnn_packing_padding_and_reverse_against_lstm_ref():
    """The cuDNN path's own logic, on CPU: `jax.experimental.rnn.lstm_ref` stands in for the kernels."""
    params, carry, xs, step, *_ = setup("lstm")

    @jax.jit
    def run(params, carry, xs):
        out = []
        empty = jnp.array([T, 0, 2])  # a sequence of no steps keeps its initial carry
        for lengths, reverse in ((None, False), (LENGTHS, False), (LENGTHS, True), (empty, False), (empty, True)):
            ref = _loss_and_grads(step, params, carry, xs, impl="scan", lengths=lengths, reverse=reverse)

            def loss(p, c, x):
                final, ys = cudnn.unroll(p, c, x, lengths, reverse=reverse, lstm_fn=cudnn.lstm_ref)
                ws = _weights((final, ys), jax.random.PRNGKey(7))
                return sum(jnp.sum(w * l) for w, l in zip(leaves(ws), leaves((final, ys)))), (final, ys)

            (_, got), g = jax.value_and_grad(loss, argnums=(0, 1, 2), has_aux=True)(params, carry, xs)
            out.append(((got, g), ref))
        return out

    for got, want in run(params, carry, xs):
        assert_close(got, want, 1e-5)


@pytest.mark.skipif(not cudnn.available(), reason="needs an NVIDIA GPU (cuDNN through jax.experimental.rnn)")
def test_cudnn_on_gpu_equals_fused():
    params, carry, xs, step, *_ = setup("lstm")
    for lengths, reverse in ((None, False), (LENGTHS, True)):  # TF32 off: see the module fixture
        got = _loss_and_grads(step, params, carry, xs, impl="cudnn", lengths=lengths, reverse=reverse)
        want = _loss_and_grads(step, params, carry, xs, impl="fused", lengths=lengths, reverse=reverse)
        assert_close(got, want, 1e-4)


PARALLEL_SCRIPT = textwrap.dedent("""
    import json
    import jax, jax.numpy as jnp, numpy as np
    from jaxseq import bptt, lm, lm_train, parallel

    config = lm_train.LMConfig(cell="lstm", embed=8, hidden=16, layers=1, batch=8, seq_len=5, dropout=0.2,
                               progress=False)
    opt = lm_train.make_optimizer(config, 2)
    params = lm_train.init_params(config, 11)
    train_step, _ = lm_train.make_steps(config, opt)
    dp_step = parallel.data_parallel(train_step, batch_argnums=(1, 2, 3))
    rng = np.random.default_rng(0)
    xs, ys = (jnp.asarray(rng.integers(0, 11, (2, 8, 5)), jnp.int32) for _ in range(2))
    key = jax.random.PRNGKey(1)
    runs = []
    for fn in (train_step, dp_step):
        state, carry = bptt.init_train_state(params, opt), lm.init_carry(params, (8,))
        for w in range(2):
            state, carry, loss = fn(state, carry, xs[w], ys[w], key)
        runs.append((state.params, carry, float(loss)))
    (p1, c1, l1), (p2, c2, l2) = runs
    diff = lambda a, b: max(float(jnp.max(jnp.abs(x - y))) for x, y in zip(jax.tree_util.tree_leaves(a),
                                                                           jax.tree_util.tree_leaves(b)))
    print(json.dumps(dict(
        devices=jax.device_count(), mesh=dp_step.mesh.devices.size, param_diff=diff(p1, p2), carry_diff=diff(c1, c2),
        losses=[l1, l2], params_replicated=all(x.sharding.is_fully_replicated for x in jax.tree_util.tree_leaves(p2)),
        carry_devices=len(jax.tree_util.tree_leaves(c2)[0].sharding.device_set),
        carry_sharded=not jax.tree_util.tree_leaves(c2)[0].sharding.is_fully_replicated)))
""")


def test_data_parallel_step_equals_single_device_step():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu",
               JAX_DISABLE_MOST_OPTIMIZATIONS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-c", PARALLEL_SCRIPT], env=env, capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["devices"] == 4 and r["mesh"] == 4
    assert r["params_replicated"] and r["carry_sharded"] and r["carry_devices"] == 4
    assert r["param_diff"] < 1e-6 and r["carry_diff"] < 1e-5
    np.testing.assert_allclose(r["losses"][0], r["losses"][1], rtol=1e-6)
