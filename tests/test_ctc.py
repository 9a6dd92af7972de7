"""CTC: the loss against a sum over every alignment, decoders, error messages, label error rate."""
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxseq import ctc

KEY = jax.random.PRNGKey(0)
T, V = 4, 3  # blank + 2 labels over 4 frames: 81 paths, few enough to enumerate


def _every_label_sequence(log_probs: np.ndarray) -> dict:
    """{labels: log Σ_{π: B(π) = labels} Π_t p(π_t)} by enumerating every path π."""
    out: dict = {}
    for path in itertools.product(range(log_probs.shape[1]), repeat=log_probs.shape[0]):
        y = tuple(ctc.collapse(path))
        out[y] = np.logaddexp(out.get(y, -np.inf), sum(log_probs[t, s] for t, s in enumerate(path)))
    return out


def test_collapse_merges_repeats_then_removes_blanks():
    assert ctc.collapse([0, 3, 3, 0, 1, 1, 0, 20]) == [3, 1, 20]
    assert ctc.collapse([1, 1, 0, 1]) == [1, 1]  # a blank separates two copies
    assert ctc.collapse([1, 1, 1]) == [1]
    assert ctc.collapse([0, 0]) == []
    assert ctc.collapse([2, 5, 5], blank_id=5) == [2]
    assert ctc.min_frames([1, 1, 2, 2, 2]) == 8 and ctc.min_frames([1, 2, 1]) == 3


def test_greedy_decoder_is_collapse_of_the_best_path():
    paths = np.array([[1, 1, 0, 1, 2, 2, 0, 3], [3, 3, 3, 0, 0, 2, 2, 1], [0, 0, 0, 0, 0, 0, 0, 0]])
    lengths = np.array([8, 6, 8])
    logits = jnp.asarray(np.eye(4)[paths].transpose(1, 0, 2) * 5.0, jnp.float32)  # (t, b, v)
    labels, n = ctc.greedy_decode(logits, jnp.asarray(lengths))
    assert ctc.to_lists(labels, n) == [[1, 1, 2, 3], [3, 2], []]
    assert (np.asarray(labels)[4:] == 0).all()  # padded with the blank
    noisy = jax.random.normal(KEY, (9, 5, 6))
    lens = jnp.array([9, 1, 5, 0, 7])
    labels, n = ctc.greedy_decode(noisy, lens, blank_id=2)
    best = np.asarray(jnp.argmax(noisy, -1))
    for b in range(5):
        assert ctc.to_lists(labels, n)[b] == ctc.collapse(best[: int(lens[b]), b], blank_id=2)


def test_loss_is_minus_log_of_the_sum_over_alignments_and_padding_is_ignored():
    logits = jax.random.normal(KEY, (T, 2, V)) * 2.0
    lp = np.asarray(jax.nn.log_softmax(logits, -1), np.float64)
    exact = [_every_label_sequence(lp[:, 0]), _every_label_sequence(lp[:3, 1])]
    labels = jnp.array([[1, 2], [2, 0], [1, 0]])  # "aba" (4 frames) and "b" (3 frames), right-padded
    lengths, label_lengths = jnp.array([4, 3]), jnp.array([3, 1])
    per_seq = ctc.loss(logits, lengths, labels, label_lengths, reduction="none")
    np.testing.assert_allclose(per_seq, [-exact[0][(1, 2, 1)], -exact[1][(2,)]], rtol=1e-4)
    np.testing.assert_allclose(ctc.loss(logits, lengths, labels, label_lengths), per_seq.mean(), rtol=1e-6)
    # garbage in the padded frames and labels changes nothing
    junk = logits.at[3, 1].set(9.0)
    np.testing.assert_allclose(ctc.loss(junk, lengths, labels.at[1:, 1].set(1), label_lengths, reduction="none"),
                               per_seq, rtol=1e-6)
    # one example without a batch axis
    np.testing.assert_allclose(ctc.loss(logits[:, 0], jnp.array(4), labels[:, 0], jnp.array(3)), per_seq[0], rtol=1e-6)


def test_a_confident_perfect_alignment_costs_almost_nothing():
    path = np.array([0, 1, 1, 0, 1, 2, 2, 0, 0, 3])  # → [1, 1, 2, 3]
    logits = jnp.asarray(np.eye(4)[path] * 30.0, jnp.float32)[:, None]  # (t, 1, v)
    right = ctc.loss(logits, jnp.array([10]), jnp.array([[1], [1], [2], [3]]), jnp.array([4]))
    wrong = ctc.loss(logits, jnp.array([10]), jnp.array([[1], [2], [2], [3]]), jnp.array([4]))
    assert float(right) < 1e-6 and float(wrong) > 20.0


def test_prefix_beam_search_is_exact_with_a_wide_beam_and_agrees_with_the_loss():
    logits = jax.random.normal(jax.random.PRNGKey(3), (T, V)) * 2.0
    lp = np.asarray(jax.nn.log_softmax(logits, -1), np.float64)
    exact = _every_label_sequence(lp)
    ranked = sorted(exact.items(), key=lambda kv: -kv[1])
    found = ctc.prefix_beam_search(lp, beam_width=64)
    assert [y for y, _ in found] == [y for y, _ in ranked]
    np.testing.assert_allclose([s for _, s in found], [s for _, s in ranked], rtol=1e-9)
    for y, s in found[:4]:
        if y:
            loss = ctc.loss(logits[:, None], jnp.array([T]), jnp.array(y, jnp.int32)[:, None], jnp.array([len(y)]))
            np.testing.assert_allclose(-float(loss), s, rtol=1e-4)
    # a narrow beam still returns scored prefixes, best first; the batch helper takes the best one
    narrow = ctc.prefix_beam_search(lp, beam_width=2)
    assert len(narrow) == 2 and narrow[0][1] >= narrow[1][1]
    assert ctc.prefix_beam_decode(logits[:, None], np.array([T]), beam_width=64) == [list(ranked[0][0])]
    # only the first `length` frames are read
    assert ctc.prefix_beam_search(lp, 2, beam_width=64)[0][0] == max(_every_label_sequence(lp[:2]).items(),
                                                                       key=lambda kv: kv[1])[0]


def test_bad_targets_get_clear_errors():
    logits = jnp.zeros((5, 1, 4))
    with pytest.raises(ValueError, match=r"`label_lengths` must be >= 1: CTC needs a non-empty target; got 0"):
        ctc.loss(logits, jnp.array([5]), jnp.zeros((3, 1), jnp.int32), jnp.array([0]))
    # "aab" needs a blank between the a's: 4 frames; 3 frames are too few
    with pytest.raises(ValueError, match=r"`labels` is too long for its input: 3 labels with 1 adjacent repeat\(s\) "
                                         r"need at least 4 frames .* `logit_lengths` gives 3"):
        ctc.loss(logits, jnp.array([3]), jnp.array([[1], [1], [2]]), jnp.array([3]))
    assert np.isfinite(float(ctc.loss(logits, jnp.array([4]), jnp.array([[1], [1], [2]]), jnp.array([3]))))
    with pytest.raises(ValueError, match=r"`labels` must not contain the blank id 0; got \[1, 0\]"):
        ctc.loss(logits, jnp.array([5]), jnp.array([[1], [0]]), jnp.array([2]))
    with pytest.raises(ValueError, match=r"`labels` must be ids in \[0, 4\); got \[7\]"):
        ctc.loss(logits, jnp.array([5]), jnp.array([[7]]), jnp.array([1]))
    with pytest.raises(ValueError, match=r"`logit_lengths` must be <= 5 \(the logits' time axis\); got 6"):
        ctc.loss(logits, jnp.array([6]), jnp.array([[1]]), jnp.array([1]))
    with pytest.raises(ValueError, match=r"`label_lengths` must have shape .* = \(1,\); got \(2,\)"):
        ctc.loss(logits, jnp.array([5]), jnp.array([[1]]), jnp.array([1, 1]))
    with pytest.raises(ValueError, match=r"`beam_width` must be a positive integer; got 0"):
        ctc.prefix_beam_search(np.zeros((5, 4)), beam_width=0)
    with pytest.raises(ValueError, match=r"`beam_width` must be a positive integer; got 0"):
        ctc.prefix_beam_decode(logits, np.array([5]), beam_width=0)
    # inside jit the value checks cannot run; check_targets does them on the host
    with pytest.raises(ValueError, match=r"`label_lengths` \(example 1\) must be >= 1"):
        ctc.check_targets(np.array([5, 5]), np.array([[1, 1]]), np.array([1, 0]))


def test_edit_distance_and_label_error_rate():
    assert ctc.edit_distance("kitten", "sitting") == 3
    assert ctc.edit_distance([], [1, 2]) == 2 and ctc.edit_distance([1, 2], []) == 2
    assert ctc.edit_distance([1, 2, 3], [1, 2, 3]) == 0
    assert ctc.label_error_rate([[1, 2, 3], [4]], [[1, 3], [4, 4, 4]]) == pytest.approx((1 + 2) / 5)
    with pytest.raises(ValueError, match="same length"):
        ctc.label_error_rate([[1]], [[1], [2]])
    with pytest.raises(ValueError, match="all empty"):
        ctc.label_error_rate([[1]], [[]])


def test_experiment_data_fits_and_tiny_run_folder_is_complete(tmp_path):
    import json
    import math
    import pathlib
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).parent.parent / "experiments"))
    import ctc as ctc_experiment

    config = ctc_experiment.Config()
    data = ctc_experiment.make_utterances(300, config, seed=1)
    ctc.check_targets(data.frame_lengths, data.labels, data.label_lengths, num_classes=config.symbols + 1)
    assert data.frames.shape == (ctc_experiment.max_frames(config), 300, config.features)
    out = tmp_path / "ctc"
    ctc_experiment.main(["--preset", "tiny", "--no-progress", "--out", str(out)])
    for name in ("config.json", "metrics.csv", "loss.png", "ler.png", "examples.txt", "checkpoint.msgpack",
                 "summary.json"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["label_error_rate"]) == {"greedy", "prefix_beam"}
    assert all(math.isfinite(v) for v in summary["label_error_rate"].values()) and math.isfinite(summary["test_loss"])


def test_targets_and_lengths_of_other_batch_shapes_are_refused():
    with pytest.raises(ValueError, match=r"`label_lengths` must have the batch shape of `labels`"):
        ctc.check_targets(np.array([1]), np.array([[1, 0], [1, 0]]), np.array([1]))
    with pytest.raises(ValueError, match=r"`logit_lengths` must have the batch shape of `labels`"):
        ctc.check_targets(np.array([5, 5, 5]), np.array([[1], [1]]), np.array([1]))
    with pytest.raises(ValueError, match=r"`logits` must have .*\(time, \.\.\., vocab\)"):
        ctc.greedy_decode(jnp.array([0.0, 3.0, 1.0]), jnp.array(3))
