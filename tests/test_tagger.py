"""The many-to-many tagger, the padded-batch helpers, and the tagger experiment (tiny run, exact bound)."""
import json
import math
import pathlib
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxseq import supervised, tagger

ROOT = pathlib.Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "experiments"))
import tagger as tagger_experiment  # noqa: E402

KEY = jax.random.PRNGKey(0)


def test_pad_and_minibatches():
    ids, lengths = supervised.pad([np.array([1, 2, 3]), np.array([4]), np.array([], np.int64)])
    assert ids.dtype == np.int32 and ids.shape == (3, 3)
    np.testing.assert_array_equal(ids.T, [[1, 2, 3], [4, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(lengths, [3, 1, 0])
    frames, _ = supervised.pad([np.ones((2, 5), np.float32)], length=4)
    assert frames.shape == (4, 1, 5) and frames.dtype == np.float32 and frames[2:].sum() == 0
    with pytest.raises(ValueError, match=r"`length` must be at least the longest sequence, 3; got 2"):
        supervised.pad([np.array([1, 2, 3])], length=2)
    with pytest.raises(ValueError, match=r"`seqs\[1\]` must have shape \(t, \*\(5,\)\) like seqs\[0\]; got \(2, 4\)"):
        supervised.pad([np.ones((2, 5)), np.ones((2, 4))])
    a, b = supervised.Minibatches(10, 3, seed=1), supervised.Minibatches(10, 3, seed=1)
    steps = [a.at(s) for s in range(6)]
    assert all(np.array_equal(x, b.at(s)) for s, x in enumerate(steps))
    first_epoch = np.concatenate(steps[:3]).tolist()
    assert len(set(first_epoch)) == len(first_epoch)  # no example twice in an epoch


@pytest.mark.parametrize("bi", [False, True])
def test_tagger_padded_batch_equals_each_sequence_alone(bi):
    params = tagger.init(KEY, 12, 3, cell_kind="gru", embed_dim=4, hidden_size=6, bidirectional_rnn=bi)
    apply = jax.jit(tagger.apply)
    tokens = jax.random.randint(KEY, (6, 2), 1, 12)
    lengths = jnp.array([6, 3])
    logits = apply(params, tokens, lengths)
    assert logits.shape == (6, 2, 3)
    alone = apply(params, tokens[:3, 1:], lengths[1:])
    np.testing.assert_allclose(logits[:3, 1], alone[:, 0], rtol=1e-5, atol=1e-6)
    assert (np.asarray(logits[3:, 1]) == np.asarray(params.head.b_y)).all()  # zero activations on padding
    # the backward half reads the future: changing the last token changes the first tag only when bidirectional
    changed = apply(params, tokens.at[5, 0].set(tokens[5, 0] % 11 + 1), lengths)
    assert bool(jnp.any(jnp.abs(changed[0, 0] - logits[0, 0]) > 1e-6)) == bi
    tags = jnp.zeros((6, 2), jnp.int32)
    token_acc, seq_acc = jax.jit(tagger.accuracy)(params, tokens, lengths, tags)
    assert 0.0 <= float(token_acc) <= 1.0 and 0.0 <= float(seq_acc) <= 1.0


def test_future_blind_bound_is_what_the_best_guess_achieves():
    config = tagger_experiment.Config(n_train=20000)
    tokens, tags = tagger_experiment.make_sequences(config.n_train, config, seed=5)
    for x, y in zip(tokens[:50], tags[:50]):
        assert all(y[t] == (x[t] in x[t + 1:]) for t in range(len(x)))
    # the Bayes guess at position t: tag 1 iff P(tag = 1 | t) > 1/2, the same for every symbol
    lengths = np.arange(config.min_len, config.max_len + 1)
    p = [np.mean(1 - (1 - 1 / config.symbols) ** (lengths[lengths >= t] - t)) for t in range(1, config.max_len + 1)]
    right = [np.mean(y == (np.asarray(p[: len(y)]) > 0.5)) * len(y) for y in tags]
    empirical = sum(right) / sum(len(y) for y in tags)
    assert abs(empirical - tagger_experiment.future_blind_bound(config)) < 0.01


def test_tiny_run_folder_is_complete(tmp_path):
    out = tmp_path / "tagger"
    tagger_experiment.main(["--preset", "tiny", "--no-progress", "--out", str(out)])
    for name in ("config.json", "metrics.csv", "loss.png", "accuracy.png", "results.md", "checkpoint.msgpack",
                 "summary.json"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["accuracy"]) == {"unidirectional", "bidirectional"}
    assert all(math.isfinite(v) and 0 <= v <= 1 for v in summary["accuracy"].values())
    assert "| bidirectional rnn |" in (out / "results.md").read_text()


# ---- found in review ------------------------------------------------------------------------------


def test_accuracy_against_a_hand_count_and_bad_tags_are_refused():
    p = tagger.init(KEY, 5, 3, cell_kind="rnn", embed_dim=4, hidden_size=6)
    tokens = jnp.array([[1, 2, 3], [4, 1, 0]])  # (t=2, b=3); lengths 2, 1, 0
    lengths = jnp.array([2, 1, 0])
    pred = np.asarray(jnp.argmax(tagger.apply(p, tokens, lengths), axis=-1))
    tags = pred.copy()
    tags[1, 0] = (pred[1, 0] + 1) % 3  # one wrong valid tag, in sequence 0
    tags[1, 1] = (pred[1, 1] + 1) % 3  # a padded step: does not count
    token_acc, seq_acc = tagger.accuracy(p, tokens, lengths, jnp.asarray(tags))
    np.testing.assert_allclose(float(token_acc), 2 / 3, rtol=1e-6)  # 3 valid steps, 2 right
    np.testing.assert_allclose(float(seq_acc), 1 / 2, rtol=1e-6)  # sequences 0 (wrong) and 1 (right); 2 is empty
    with pytest.raises(ValueError, match="`tags` must have shape"):
        tagger.accuracy(p, tokens, lengths, jnp.asarray(tags)[:, :1])
    with pytest.raises(TypeError, match="`tags`"):
        tagger.accuracy(p, tokens, lengths, jnp.asarray(tags, jnp.float32))


def test_pad_takes_the_common_type_of_the_sequences():
    ids, _ = supervised.pad([[], [4, 5]])
    assert ids.dtype == np.int32
    mixed, _ = supervised.pad([np.array([1, 2]), np.array([0.5, 0.7])])
    assert mixed.dtype == np.float64 and mixed[0, 1] == 0.5  # never truncated to int
