"""The neural probabilistic language model: contexts, the forward pass against NumPy, training."""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxseq import nplm


def test_examples_of_each_context_kind():
    ids = np.arange(10, 17, dtype=np.int32)  # one sentence of 5 words, then one of 2
    sid = np.array([0, 0, 0, 0, 0, 1, 1])
    rng = np.random.default_rng(0)
    x, y = nplm.examples(ids, sid, "last", 2, rng)
    assert x.tolist() == [[10, 11], [11, 12], [12, 13]] and y.tolist() == [12, 13, 14]
    x, y = nplm.examples(ids, sid, "last_word", 9, rng)
    assert x.tolist() == [[10], [11], [12], [13], [15]] and y.tolist() == [11, 12, 13, 14, 16]
    x, y = nplm.examples(ids, sid, "both", 1, rng)
    assert x.tolist() == [[10, 12], [11, 13], [12, 14]] and y.tolist() == [11, 12, 13]
    x, y = nplm.examples(ids, sid, "nearby", 2, rng)
    assert y.tolist() == [12] and x.shape == (1, 1) and x[0, 0] in (10, 11, 13, 14)
    assert nplm.context_width("both", 3) == 6 and nplm.context_width("nearby", 3) == 1


def test_forward_pass_equals_numpy():
    p = nplm.init(jax.random.PRNGKey(0), 7, 3, dim=4, hidden=5, direct=True)
    p = p._replace(W=jax.random.normal(jax.random.PRNGKey(1), p.W.shape) * 0.1)
    ctx = jnp.array([[1, 2, 3], [6, 0, 0]], jnp.int32)
    C, H, d, U, b, W = (np.asarray(a, np.float64) for a in (p.embedding.E, p.H, p.d, p.head.w_ya, p.head.b_y, p.W))
    x = C[np.asarray(ctx)].reshape(2, 12)
    ref = b + np.tanh(x @ H + d) @ U + x @ W
    np.testing.assert_allclose(nplm.apply(p, ctx), ref, rtol=1e-5, atol=1e-6)
    target = jnp.array([4, 5])
    logp = ref - np.log(np.exp(ref).sum(1, keepdims=True))
    assert float(nplm.loss(p, ctx, target)) == pytest.approx(-logp[[0, 1], [4, 5]].mean(), rel=1e-5)
    with pytest.raises(TypeError, match="integer"):
        nplm.apply(p, ctx.astype(jnp.float32))


def test_training_learns_a_deterministic_sequence():
    sentences = [["a", "b", "c", "d", "e", "f"] * 5 for _ in range(40)]
    config = nplm.NPLMConfig(n=2, dim=8, hidden=16, min_count=1, epochs=8, batch=64, lr=1e-2, valid_frac=0.1)
    result = nplm.train(sentences, config)
    assert result.history[-1]["valid_perplexity"] < 1.5  # the next word is determined by the last one
    assert result.vectors.words[0] != "<unk>" and len(result.vectors) == 6
    with pytest.raises(ValueError, match="above every word count"):
        nplm.train(sentences, nplm.NPLMConfig(min_count=10_000))
    with pytest.raises(ValueError, match="long enough"):
        nplm.train([["a", "b"]] * 3, nplm.NPLMConfig(min_count=1, n=4, valid_frac=0.0))


def test_vocabulary_caps_and_validation_fractions_are_checked():
    from jaxseq import glove

    sentences = [["a", "b", "c", "d", "e", "f"]] * 2
    with pytest.raises(ValueError, match="`valid_frac`=0.75 leaves no training sentence"):
        nplm.train(sentences, nplm.NPLMConfig(n=2, min_count=1, valid_frac=0.75))
    assert len(nplm.build_vocab(sentences, min_count=1, max_vocab=2)) == 2  # <unk> and one word
    for bad in (1, -5):
        with pytest.raises(ValueError, match="`max_vocab` must be"):
            nplm.build_vocab(sentences, min_count=1, max_vocab=bad)
    with pytest.raises(ValueError, match="`max_vocab` must be an integer >= 0"):
        glove.train([["a", "a", "b"]] * 3, glove.GloVeConfig(min_count=1, max_vocab=-1))
    with pytest.raises(ValueError, match="`max_vocab` must be 0 .* or at least 2"):
        glove.train([["a", "a", "b"]] * 3, glove.GloVeConfig(min_count=1, max_vocab=1))
    with pytest.raises(ValueError, match="`seed` must be an integer >= 0; got -2"):
        nplm.train(sentences, nplm.NPLMConfig(n=2, min_count=1, seed=-2))


@pytest.mark.parametrize("direct,context", [(False, "last"), (True, "nearby")])
def test_a_run_resumed_from_an_epoch_checkpoint_gives_the_uninterrupted_vectors(direct, context):
    rng = np.random.default_rng(0)
    sentences = [[f"w{i}" for i in rng.integers(0, 12, 9)] for _ in range(60)]
    config = nplm.NPLMConfig(context=context, n=2, dim=4, hidden=8, min_count=1, epochs=3, batch=32, lr=1e-2,
                             direct=direct)
    saved: list = []
    whole = nplm.train(sentences, config, on_epoch=saved.append)
    assert [c.epoch for c in saved] == [1, 2, 3] and [len(c.history) for c in saved] == [1, 2, 3]
    resumed = nplm.train(sentences, config, resume=saved[0])  # Adam's moments and step count carried over
    np.testing.assert_array_equal(resumed.vectors.matrix, whole.vectors.matrix)
    assert [r["loss"] for r in resumed.history] == [r["loss"] for r in whole.history]
    with pytest.raises(ValueError, match="another run \\(lr: 0.01 in the checkpoint, 0.02 now\\)"):
        nplm.train(sentences, dataclasses.replace(config, lr=2e-2), resume=saved[0])
    with pytest.raises(ValueError, match="corpus: other text"):
        nplm.train(sentences[::-1], config, resume=saved[0])
