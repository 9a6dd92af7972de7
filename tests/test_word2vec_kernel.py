"""word2vec's native CPU kernel: the same step as the jitted one, chosen where it applies, refused clearly elsewhere."""
import dataclasses
import os
import shutil
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxseq import word2vec, word2vec_kernel
from jaxseq.word2vec import Word2VecConfig

ON_CPU = jax.default_backend() == "cpu"
COMPILER = shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")


@pytest.fixture(scope="module")
def kernel():
    if not (ON_CPU and COMPILER):
        pytest.skip("the kernel needs the CPU backend and a C++ compiler")
    # where both are present the kernel must build: a skip here would hide a broken build
    assert word2vec_kernel.available(), word2vec_kernel.why_unavailable()


def _run_both(rng, *, v=40, e=16, b=64, steps=4, negative=5, neg_draws=0, row_scale="sqrt",
              output_row_scale="sqrt", scale=0.3):
    """(XLA result, kernel result) of `steps` steps from the same params, examples and negatives."""
    counts = rng.integers(1, 100, v)
    tables = word2vec.make_tables(counts)
    params = word2vec.Params(*(jnp.asarray(rng.normal(size=(v, e)) * scale, jnp.float32) for _ in range(2)))
    x = rng.integers(0, v, (steps, b, 1)).astype(np.int32)
    x[:, :8, 0] = 3  # a row repeated within a step
    y = rng.integers(0, v, (steps, b)).astype(np.int32)
    y[:, :4] = 7
    x[:, -3:] = -1  # padded examples
    y[:, -3:] = -1
    lrs = np.linspace(0.5, 0.1, steps).astype(np.float32)
    opts = word2vec.StepOptions("skipgram", "negative", negative, 1, neg_draws, row_scale, output_row_scale)
    key = jax.random.PRNGKey(2)
    out = []
    for native in (False, True):
        p = word2vec._pad_columns(params)  # e → a multiple of 8, as `train` runs it
        out.append(word2vec._run(p, tables, key, jnp.int32(0), x, y, lrs, config=opts._replace(native=native)))
    return out


@pytest.mark.parametrize("negative, neg_draws", [(5, 0), (3, 0), (5, 8), (5, 2)])
@pytest.mark.parametrize("row_scale, output_row_scale", [("sqrt", "sqrt"), ("mean", "sum"), ("sum", "mean")])
def test_the_kernel_takes_the_same_steps_as_the_jitted_step(kernel, negative, neg_draws, row_scale, output_row_scale):
    """Params, summed loss and example count agree to rounding over several steps: repeated rows
    (their hits scaled), padding, weighted draws (neg_draws ≠ K), every row-scale rule."""
    rng = np.random.default_rng(negative * 10 + neg_draws)
    (p_xla, l_xla, n_xla), (p_nat, l_nat, n_nat) = _run_both(
        rng, negative=negative, neg_draws=neg_draws, row_scale=row_scale, output_row_scale=output_row_scale)
    for a, b in zip(p_xla, p_nat):
        assert a.shape == b.shape and b.dtype == jnp.float32
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    assert float(n_nat) == float(n_xla) == 4 * (64 - 3)
    np.testing.assert_allclose(float(l_nat), float(l_xla), rtol=1e-5)


def test_the_kernel_loss_holds_for_saturated_scores(kernel):
    """Scores far past ±87 (where e^s under- or overflows in float32): the loss and the steps still
    agree with the jitted step's log σ."""
    (p_xla, l_xla, _), (p_nat, l_nat, _) = _run_both(np.random.default_rng(5), scale=4.0, steps=2)
    assert np.isfinite(float(l_nat)) and float(l_xla) > 1e3  # some scores are very wrong
    np.testing.assert_allclose(float(l_nat), float(l_xla), rtol=1e-5)
    for a, b in zip(p_xla, p_nat):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5)


def test_train_picks_the_kernel_on_a_cpu_and_is_reproducible(kernel):
    corpus = [["a", "b", "c", "d", "e", "f"] * 3, ["b", "c", "a", "f", "e", "d"] * 3] * 20
    config = Word2VecConfig(dim=16, window=3, min_count=1, sample=0.0, epochs=2, batch=64, steps_per_call=4)
    assert word2vec.resolve_kernel(config) == "native"
    assert word2vec.StepOptions.of(config).native
    one, two = word2vec.train(corpus, config), word2vec.train(corpus, config)
    np.testing.assert_array_equal(one.params.W_in, two.params.W_in)  # bit for bit
    np.testing.assert_array_equal(one.params.W_out, two.params.W_out)
    xla = word2vec.train(corpus, dataclasses.replace(config, kernel="xla"))
    np.testing.assert_allclose(one.params.W_in, xla.params.W_in, rtol=1e-3, atol=1e-4)  # rounding only
    assert [round(h["loss"], 4) for h in one.history] == [round(h["loss"], 4) for h in xla.history]


@pytest.mark.parametrize("overrides", [dict(model="cbow"), dict(loss="hierarchical"), dict(neg_group=2),
                                       dict(negative=64)])
def test_auto_keeps_the_jitted_step_where_the_kernel_does_not_apply(overrides):
    config = dataclasses.replace(Word2VecConfig(), **overrides)
    assert word2vec.resolve_kernel(config) == "xla"
    with pytest.raises(ValueError, match="kernel='native'.*skip-gram with negative sampling"):
        word2vec.resolve_kernel(dataclasses.replace(config, kernel="native"))


def test_a_bad_kernel_name_is_refused():
    with pytest.raises(ValueError, match="`kernel` must be one of .*'native'.*got 'fast'"):
        word2vec.train([["a", "b"]], Word2VecConfig(kernel="fast", min_count=1))
    assert word2vec.resolve_kernel(Word2VecConfig(kernel="xla")) == "xla"


def test_without_a_compiler_auto_warns_and_native_says_why(monkeypatch, tmp_path):
    monkeypatch.setattr(word2vec_kernel, "_state", {})  # as in a fresh process
    monkeypatch.setenv("CXX", str(tmp_path / "no-such-compiler"))
    monkeypatch.setenv("JAXSEQ_DATA", str(tmp_path))  # no cached build to find
    if not ON_CPU:
        assert word2vec.resolve_kernel(Word2VecConfig()) == "xla"
        return
    assert not word2vec_kernel.available()
    assert "no-such-compiler" in word2vec_kernel.why_unavailable()
    with pytest.warns(RuntimeWarning, match="native CPU kernel could not be built.*no-such-compiler"):
        assert word2vec.resolve_kernel(Word2VecConfig()) == "xla"
    with pytest.raises(RuntimeError, match="kernel='native'.*not available here.*no-such-compiler"):
        word2vec.resolve_kernel(Word2VecConfig(kernel="native"))
    assert not list(tmp_path.glob("kernels/*.tmp"))  # no half-written build left behind


def test_the_kernel_refuses_ids_out_of_range(kernel):
    W = jnp.zeros((4, 8), jnp.float32)
    outs = jnp.array([[1, 9]], jnp.int32)  # 9: past the 4 output rows
    with pytest.raises(Exception, match="output id is out of range"):
        jax.block_until_ready(word2vec_kernel.sgns_step(W, W, jnp.array([0]), jnp.ones(1), outs,
                                                        jnp.ones((1, 2)), 0.1))


def test_a_run_resumes_with_the_other_step(kernel):
    """The kernel changes only the rounding, so a checkpoint of a kernel run continues with the jitted
    step (and the other way round) to the vectors of an uninterrupted run, to rounding."""
    corpus = [["a", "b", "c", "d", "e", "f"] * 3, ["b", "c", "a", "f", "e", "d"] * 3] * 20
    config = Word2VecConfig(dim=16, window=3, min_count=1, sample=0.0, epochs=2, batch=64, steps_per_call=4)
    saved = []
    whole = word2vec.train(corpus, config, on_epoch=saved.append)
    resumed = word2vec.train(corpus, dataclasses.replace(config, kernel="xla"), resume=saved[0])
    np.testing.assert_allclose(resumed.params.W_in, whole.params.W_in, rtol=1e-3, atol=1e-4)


def test_the_loss_of_well_fit_examples_keeps_its_small_terms(kernel):
    """Scores with margins of 12-17 (e^−margin 6e-6 to 4e-8): the loss is the sum of log(1 + e^−margin),
    not 0, to 1e-3."""
    e, k = 8, 6
    W_in = jnp.zeros((6, e), jnp.float32).at[:, 0].set(1.0)
    margins = jnp.array([12.0, 13.0, 14.0, 15.0, 17.0, 16.0])
    W_out = jnp.zeros((6, e), jnp.float32).at[:, 0].set(-margins).at[0, 0].set(margins[0])  # row 0: the target
    outs = jnp.arange(k, dtype=jnp.int32)[None, :]
    _, _, loss = word2vec_kernel.sgns_step(W_in, W_out, jnp.array([1]), jnp.ones(1), outs, jnp.ones((1, k)), 0.0)
    np.testing.assert_allclose(float(loss), float(jnp.sum(jnp.log1p(jnp.exp(-margins)))), rtol=1e-3)


@pytest.mark.parametrize("bad, message", [
    (dict(weight=-jnp.ones((1, 2))), "output weight is negative"),
    (dict(x_weight=jnp.full(1, jnp.nan)), "input weight is negative or NaN"),
    (dict(lr=jnp.zeros(2)), "shapes must be"),
    (dict(weight=jnp.ones(2)), "shapes must be"),
])
def test_the_kernel_refuses_bad_weights_and_shapes(kernel, bad, message):
    W = jnp.zeros((4, 8), jnp.float32)
    args = dict(x=jnp.array([0]), x_weight=jnp.ones(1), outs=jnp.array([[1, 2]], jnp.int32), weight=jnp.ones((1, 2)),
                lr=0.1)
    args.update(bad)
    with pytest.raises(Exception, match=message):
        jax.block_until_ready(word2vec_kernel.sgns_step(W, W, **args))


def test_a_cache_folder_that_cannot_be_made_falls_back_to_a_private_one(kernel, monkeypatch, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setattr(word2vec_kernel, "_state", {})
    monkeypatch.setenv("JAXSEQ_DATA", str(tmp_path / "a-file"))
    assert word2vec_kernel.available(), word2vec_kernel.why_unavailable()


def test_a_damaged_cached_build_is_built_again(kernel, tmp_path):
    """In fresh processes (a library loaded by this one must not be overwritten): build, damage the
    cached file, and the next process builds it again instead of giving up."""
    env = {**os.environ, "JAXSEQ_DATA": str(tmp_path)}
    probe = [sys.executable, "-c", "from jaxseq import word2vec_kernel as k; print(k.available(), k.why_unavailable())"]
    assert subprocess.run(probe, env=env, capture_output=True, text=True).stdout.startswith("True")
    (built,) = (tmp_path / "kernels").glob("*.so")
    built.write_bytes(b"not a library")
    out = subprocess.run(probe, env=env, capture_output=True, text=True)
    assert out.stdout.startswith("True"), out.stdout + out.stderr
    assert built.stat().st_size > 1000
