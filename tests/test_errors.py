"""Bad input raises at trace time, naming the argument, what was expected and what arrived."""
import sys

import jax
import jax.numpy as jnp
import pytest

import jaxseq
from jaxseq import bidirectional, embedding, gru, head, losses, lstm, rnn, shapes, stack

KEY = jax.random.PRNGKey(0)
P = lstm.init(KEY, 4, 5)
C = lstm.init_carry(P, (3,))
XS = jnp.ones((7, 3, 4))


def test_wrong_input_size():
    with pytest.raises(ValueError, match=r"`xs` must have shape \(time, \.\.\., 4\) for these params \(input size 4\); got \(7, 3, 6\)"):
        jaxseq.unroll(lstm.step, P, C, jnp.ones((7, 3, 6)))
    with pytest.raises(ValueError, match=r"`x` must have shape \(\.\.\., 4\).*got \(3, 6\)"):
        lstm.step(P, C, jnp.ones((3, 6)))


def test_carry_that_does_not_match():
    with pytest.raises(ValueError, match=r"`carry.a` must have shape .* = \(3, 5\); got \(3, 8\)"):
        jaxseq.unroll(lstm.step, P, lstm.Carry(jnp.ones((3, 8)), jnp.ones((3, 8))), XS)
    # no silent broadcasting of an unbatched carry over a batch
    p = rnn.init(KEY, 4, 5)
    with pytest.raises(ValueError, match=r"`carry` must have shape .* = \(3, 5\); got \(5,\)"):
        jaxseq.unroll(rnn.step, p, rnn.init_carry(p), XS)
    with pytest.raises(ValueError, match=r"`carry` must be an lstm.Carry"):
        jaxseq.unroll(lstm.step, P, jnp.zeros((3, 5)), XS)


def test_mask_and_lengths_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"`mask` must have shape \(time, \*batch\).* = \(7, 3\); got \(3, 7\)"):
        jaxseq.unroll(lstm.step, P, C, XS, mask=jnp.ones((3, 7), bool))
    with pytest.raises(ValueError, match=r"`lengths` must have shape .* = \(3,\); got \(4,\)"):
        jaxseq.unroll(lstm.step, P, C, XS, lengths=jnp.array([1, 2, 3, 4]))
    with pytest.raises(TypeError, match=r"`lengths` must hold integer ids .* got float32"):
        jaxseq.unroll(lstm.step, P, C, XS, lengths=jnp.array([1.0, 2.0, 3.0], jnp.float32))
    with pytest.raises(ValueError, match="either `mask` or `lengths`"):
        jaxseq.unroll(lstm.step, P, C, XS, lengths=jnp.array([1, 2, 3]), mask=jnp.ones((7, 3), bool))


def test_float_token_ids():
    E = embedding.init(KEY, 10, 4)
    with pytest.raises(TypeError, match=r"`ids` must hold integer ids .*got float32"):
        embedding.lookup(E, jnp.array([1.0, 2.0], jnp.float32))
    with pytest.raises(TypeError, match=r"`targets` must hold integer ids"):
        losses.sequence_cross_entropy(jnp.zeros((7, 3, 10)), jnp.zeros((7, 3), jnp.float32))
    with pytest.raises(TypeError, match=r"`xs` must have a floating dtype; got int32"):
        jaxseq.unroll(lstm.step, P, C, jnp.ones((7, 3, 4), jnp.int32))


def test_unknown_gru_form():
    with pytest.raises(ValueError, match=r"`form` must be one of \('course', 'cudnn', 'minimal'\); got 'pytorch'"):
        gru.init(KEY, 4, 5, form="pytorch")
    with pytest.raises(TypeError, match="form"):
        gru.init(KEY, 4, 5)  # the form is required
    with pytest.raises(TypeError, match=r"`params` must be gru.CourseParams, gru.CuDNNParams or gru.MinimalParams"):
        jaxseq.unroll(gru.step, P, C, XS)


def test_other_bad_arguments():
    with pytest.raises(ValueError, match=r"`xs` must have shape \(time, \.\.\., input_size\)"):
        jaxseq.unroll(lstm.step, P, C, jnp.ones((4,)))
    with pytest.raises(ValueError, match="`hidden_size` must be a positive integer; got 0"):
        lstm.init(KEY, 4, 0)
    with pytest.raises(ValueError, match="`unroll` must be a positive integer; got 0"):
        jaxseq.unroll(lstm.step, P, C, XS, unroll=0)
    with pytest.raises(ValueError, match=r"`targets` must have shape logits.shape\[:-1\]"):
        losses.sequence_cross_entropy(jnp.zeros((7, 3, 10)), jnp.zeros((7, 4), jnp.int32))
    with pytest.raises(ValueError, match=r"`reduction` must be one of"):
        losses.sequence_cross_entropy(jnp.zeros((7, 3, 10)), jnp.zeros((7, 3), jnp.int32), reduction="avg")
    with pytest.raises(ValueError, match=r"`merge` must be one of"):
        bidirectional.unroll(lstm.step, bidirectional.init(KEY, lstm.init, 4, 5), None, XS, merge="max")
    with pytest.raises(ValueError, match=r"`a` must have shape \(\.\.\., 5\)"):
        head.apply(head.init(KEY, 5, 2), jnp.ones((3, 6)))
    with pytest.raises(ValueError, match=r"`carries` must be a tuple of 2 layer carries; got 1"):
        stack.unroll(lstm.step, stack.init(KEY, lstm.init, 4, [5, 5]), (C,), XS)
    with pytest.raises(ValueError, match="`hoist=True` but `step`"):
        jaxseq.unroll(lambda p, c, x: (c, x), P, C, XS, hoist=True)
    with pytest.raises(ValueError, match="`length` must be a positive integer"):
        shapes.generate(lstm.step, P, C, XS[0], 0, lambda y, k: y)


def test_errors_are_raised_under_jit_too():
    with pytest.raises(ValueError, match="input size 4"):
        jax.jit(lambda x: jaxseq.unroll(lstm.step, P, C, x))(jnp.ones((7, 3, 6)))


def test_compositions_refuse_unroll_arguments_they_cannot_honour():
    xs = jnp.zeros((4, 2, 3))
    bp = bidirectional.init(KEY, lstm.init, 3, 5)
    bc = bidirectional.init_carry(lstm.init_carry, bp, (2,))
    with pytest.raises(ValueError, match="takes no `reverse`"):
        bidirectional.unroll(lstm.step, bp, bc, xs, reverse=True)
    with pytest.raises(ValueError, match="takes no `return_carries`"):
        bidirectional.unroll(lstm.step, bp, bc, xs, return_carries=True)
    assert bidirectional.unroll(lstm.step, bp, bc, xs, reverse=False)[1].shape == (4, 2, 10)
    sp = stack.init(KEY, lstm.init, 3, [5, 5])
    sc = stack.init_carry(lstm.init_carry, sp, (2,))
    with pytest.raises(ValueError, match="takes no `return_carries`"):
        stack.unroll(lstm.step, sp, sc, xs, return_carries=True)


def test_seq2seq_dot_attention_size_error_names_the_seq2seq_arguments():
    from jaxseq import seq2seq

    with pytest.raises(ValueError, match=r"`decoder_size` must equal the annotation size 16 \(`encoder_size` × 2"):
        seq2seq.init(KEY, 10, 10, embed_dim=4, encoder_size=8, decoder_size=8, bidirectional_encoder=True,
                     attention_kind="dot")
    assert seq2seq.init(KEY, 10, 10, embed_dim=4, encoder_size=8, decoder_size=16, bidirectional_encoder=True,
                        attention_kind="dot") is not None


# ---- found in review ------------------------------------------------------------------------------


@pytest.mark.parametrize("impl", ["auto", "scan"])
def test_weights_that_do_not_fit_one_another_are_refused(impl):
    xs, c = jnp.ones((5, 2, 3)), jnp.zeros((2, 4))
    cases = [
        (rnn.step, rnn.Params(jnp.ones((3, 4)), jnp.ones((4, 4)), jnp.ones((1,))), c, r"`params.b_a` must have shape \(hidden,\) = \(4,\)"),
        (rnn.step, rnn.Params(jnp.ones((3, 1)), jnp.ones((4, 4)), jnp.ones((4,))), c, r"`params.w_ax` must have shape \(input, hidden\) = \(3, 4\)"),
        (lstm.step, lstm.Params(jnp.ones((3, 16)), jnp.ones((4, 16)), jnp.ones((1,))), lstm.Carry(c, c),
         r"`params.b` must have shape \(4·hidden,\) = \(16,\)"),
        (gru.step, gru.CuDNNParams(jnp.ones((3, 12)), jnp.ones((4, 12)), jnp.ones((12,)), jnp.ones((1,))), c,
         r"`params.b_hn` must have shape \(hidden,\) = \(4,\)"),
        (gru.step, gru.CourseParams(jnp.ones((3, 12)), jnp.ones((4, 8)), jnp.ones((4, 5)), jnp.ones((12,))), c,
         r"`params.w_ac` must have shape \(hidden, hidden\) = \(4, 4\)"),
    ]
    for step, params, carry, match in cases:
        with pytest.raises(ValueError, match=match):
            jaxseq.unroll(step, params, carry, xs, impl=impl)


def test_float64_data_beside_float32_params_gets_a_clear_error(x64):
    import numpy as np

    p = lstm.init(KEY, 3, 4)
    with pytest.raises(ValueError, match=r"turns a float32 carry into float64.*`xs` is float64, `params` \['float32'\]"):
        jaxseq.unroll(lstm.step, p, lstm.init_carry(p, (2,)), np.random.default_rng(0).normal(size=(5, 2, 3)))


def test_a_traced_dropout_rate_is_refused_by_name():
    deep = stack.init(KEY, lstm.init, 4, [5, 5])
    carries = stack.init_carry(lstm.init_carry, deep, (3,))
    with pytest.raises(ValueError, match="`dropout_rate` must be a Python float"):
        jax.jit(lambda r: stack.unroll(lstm.step, deep, carries, XS, dropout_rate=r, key=KEY)[1])(0.1)


def test_lengths_outside_the_time_axis_or_as_a_list():
    p = rnn.init(jax.random.PRNGKey(0), 2, 3)
    xs = jnp.ones((7, 3, 2))
    carry = rnn.init_carry(p, (3,))
    for bad in ([12, 3, 1], [-2, 3, 1]):  # taken as 7 and as 0 before
        with pytest.raises(ValueError, match=r"`lengths` must lie in \[0, 7\]"):
            jaxseq.unroll(rnn.step, p, carry, xs, lengths=jnp.array(bad))
    final, ys = jaxseq.unroll(rnn.step, p, carry, xs, lengths=[7, 3, 1])  # a list is fine
    with pytest.raises(TypeError, match="`lengths` must hold integer ids"):
        jaxseq.unroll(rnn.step, p, carry, xs, lengths=[7.0, 3.0, 1.0])
    with pytest.raises(TypeError, match="`ids` must hold integer ids"):
        embedding.lookup(embedding.init(jax.random.PRNGKey(0), 4, 2), [1.5])


def test_seq2seq_classifier_and_ctc_refuse_out_of_range_ids_lengths_and_options():
    import numpy as np

    from jaxseq import classifier, ctc, seq2seq, tagger

    k = jax.random.PRNGKey(0)
    p = seq2seq.init(k, 6, 5, cell_kind="rnn", embed_dim=3, encoder_size=4, decoder_size=4, attention_size=4)
    src, src_len = jnp.ones((3, 2), jnp.int32), jnp.array([3, 2])
    tgt, tgt_len = jnp.ones((2, 2), jnp.int32), jnp.array([2, 1])
    with pytest.raises(ValueError, match=r"`tgt_lengths` must lie in \[0, 2\]"):
        seq2seq.loss(p, src, src_len, tgt, jnp.array([-4, 1]), bos_id=0)  # a loss of 0.0 before
    with pytest.raises(ValueError, match=r"`src_lengths` must lie in \[0, 3\]"):
        seq2seq.loss(p, src, jnp.array([50, 1]), tgt, tgt_len, bos_id=0)
    with pytest.raises(ValueError, match=r"`bos_id` must be a token id in \[0, 5\)"):
        seq2seq.loss(p, src, src_len, tgt, tgt_len, bos_id=99)
    with pytest.raises(ValueError, match=r"`src_lengths` must lie in \[0, 3\]"):
        seq2seq.greedy_decode(p, src, jnp.array([-1, 2]), bos_id=0, eos_id=1, max_len=4)
    for alpha in (np.float32(-1), jnp.float32(-1), True):
        with pytest.raises(ValueError, match="`alpha` .* must be a finite number >= 0"):
            seq2seq.beam_search(p, src, src_len, beam_width=2, bos_id=0, eos_id=1, max_len=4, alpha=alpha)
    # found in review: these passed the checks and then failed deep inside, or gave NaN silently
    for alpha in (None, np.array([0.5, 0.5]), float("inf"), float("nan")):
        with pytest.raises(ValueError, match="`alpha` .* must be a finite number >= 0"):
            seq2seq.beam_search(p, src, src_len, beam_width=2, bos_id=0, eos_id=1, max_len=4, alpha=alpha)
    bad_src = jnp.array([[1, 2], [3, 99], [1, 1]])  # the decoders' jit skipped the embedding's check
    with pytest.raises(ValueError, match=r"`src` must hold ids in \[0, 6\)"):
        seq2seq.greedy_decode(p, bad_src, src_len, bos_id=0, eos_id=1, max_len=4)
    with pytest.raises(ValueError, match=r"`src` must hold ids in \[0, 6\)"):
        seq2seq.beam_search(p, bad_src, src_len, beam_width=2, bos_id=0, eos_id=1, max_len=4)
    assert seq2seq.greedy_decode(p, src, [3, 2], bos_id=0, eos_id=1, max_len=4).tokens.shape == (4, 2)  # a list
    with pytest.raises(ValueError, match="`cell_kind` must be one of"):
        tagger.init(k, 6, 3, cell_kind="xx")
    with pytest.raises(ValueError, match="`embed_dim` must be a positive integer"):
        tagger.init(k, 6, 3, embed_dim=2.5)
    with pytest.raises(ValueError, match="`cell_kind` must be one of"):
        classifier.init(k, 6, 3, cell_kind="xx")
    t = tagger.init(k, 6, 3, cell_kind="rnn", embed_dim=3, hidden_size=4)
    with pytest.raises(ValueError, match=r"`tags` must hold ids in \[0, 3\)"):
        tagger.accuracy(t, src, src_len, jnp.full((3, 2), 7))  # (0.0, 0.0) before
    with pytest.raises(ValueError, match="example 0 give no label sequence a finite log-probability"):
        ctc.prefix_beam_decode(np.full((3, 1, 3), -np.inf), np.array([3]), beam_width=2)  # IndexError before
    with pytest.raises(ValueError, match="`length` must be an integer >= 0; got 2.7"):
        ctc.prefix_beam_search(np.log(np.full((3, 3), 1 / 3)), 2.7, beam_width=2)  # truncated to 2 before
    from jaxseq import bleu
    for value in ("x", float("nan"), -1):
        with pytest.raises(ValueError, match="`smooth_value` must be a finite number >= 0"):
            bleu.corpus_bleu(["a b c"], [["a b d"]], smooth="floor", smooth_value=value)
    c = classifier.init(k, 6, 3, cell_kind="rnn", embed_dim=3, hidden_size=4)
    with pytest.raises(ValueError, match=r"`labels` must hold ids in \[0, 3\)"):
        classifier.loss(c, src, src_len, jnp.array([5, 0]))  # NaN before
    with pytest.raises(ValueError, match="`num_classes` must be a positive integer"):
        classifier.init(k, 6, 0)
    with pytest.raises(ValueError, match="`num_tags` must be a positive integer"):
        tagger.init(k, 6, 0)
    logits = jnp.zeros((5, 1, 4))
    for blank in (7, -1):  # the real blank came back as a label before
        with pytest.raises(ValueError, match=r"`blank_id` must be a token id in \[0, 4\) \(the logits. last axis\)"):
            ctc.greedy_decode(logits, jnp.array([5]), blank_id=blank)
    with pytest.raises(ValueError, match=r"`logit_lengths` must lie in \[0, 5\]"):
        ctc.greedy_decode(logits, jnp.array([50]))


@pytest.mark.parametrize("name,flags,match", [
    ("dates", ["--clip", "0"], "`clip` must be positive"),
    ("dates", ["--no-bidirectional", "--attention", "dot"], "`decoder_size` must equal the annotation size"),
    ("tagger", ["--lr", "-1"], "`lr` must be a positive finite number"),
    ("ctc", ["--clip", "-1"], "`clip` must be positive"),
    ("long_range", ["--lr", "inf"], "`lr` must be a positive finite number"),
    ("ctc", ["--max-gap", "-1"], "`max_gap` must be an integer >= 0"),
    ("ctc", ["--noise", "nan"], "`noise` .* must be a finite number >= 0"),
    ("dates", ["--length-alpha", "inf"], "`length_alpha` must be a finite number >= 0"),
])
def test_experiment_flags_refused_before_the_run_folder_is_touched(name, flags, match, tmp_path):
    import importlib.util
    import pathlib
    import sys

    path = pathlib.Path(__file__).parent.parent / "experiments" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"experiment_{name}_flags", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text("{}")
    (out / "summary.json").write_text("earlier")
    with pytest.raises(ValueError, match=match):
        module.main(["--preset", "tiny", "--out", str(out)] + flags)
    assert (out / "summary.json").read_text() == "earlier"


def test_zero_d_arrays_pass_the_scalar_checks(tmp_path):
    """JAX and NumPy 0-d arrays are numbers to the new checks (bos_id, lr, a restored number)."""
    import numpy as np

    from jaxseq import checkpoint, seq2seq, word2vec

    p = seq2seq.init(KEY, 6, 5, cell_kind="rnn", embed_dim=3, encoder_size=4, decoder_size=4, attention_size=4)
    src, lens = jnp.ones((3, 2), jnp.int32), jnp.array([3, 2])
    for bos in (jnp.int32(1), np.array(1)):
        seq2seq.loss(p, src, lens, jnp.ones((2, 2), jnp.int32), jnp.array([2, 1]), bos_id=bos)
        # the decoders' and CTC's ids are static arguments of their jit: a 0-d array did not hash
        seq2seq.greedy_decode(p, src, lens, bos_id=bos, eos_id=np.int64(2), max_len=3)
        seq2seq.beam_search(p, src, lens, beam_width=2, bos_id=bos, eos_id=jnp.array(2), max_len=3)
    from jaxseq import ctc

    ctc.loss(jnp.zeros((5, 2, 4)), jnp.array([5, 5]), jnp.array([[1, 2], [2, 1]]), jnp.array([2, 2]),
             blank_id=np.array(0))
    jax.jit(lambda b: seq2seq.loss(p, src, lens, jnp.ones((2, 2), jnp.int32), jnp.array([2, 1]), bos_id=b))(1)
    word2vec.check_config(word2vec.Word2VecConfig(lr=jnp.float32(0.1)))
    checkpoint.save(tmp_path / "c.msgpack", {"step": jnp.int32(7), "wall": jnp.float32(1.5)})
    assert int(checkpoint.restore(tmp_path / "c.msgpack", {"step": 0, "wall": 0.0})["step"]) == 7


def test_clipping_can_still_be_turned_off_with_inf():
    import importlib.util
    import pathlib

    from jaxseq import glove

    glove.check_config(glove.GloVeConfig(grad_clip=float("inf")))
    for name in ("tagger", "ctc", "dates", "long_range"):
        path = pathlib.Path(__file__).parent.parent / "experiments" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(f"experiment_{name}_clip", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        check = getattr(module, "check", None) or module.check_config
        check(module.Config(clip=float("inf")))
        with pytest.raises(ValueError, match="`clip` must be positive"):
            check(module.Config(clip=0.0))


def test_sampling_carry_and_truncation_edge_cases_found_in_review():
    import numpy as np

    from jaxseq import bptt, lm, lm_train, sampling

    p = lm.init(KEY, 7, cell_kind="lstm", embed_dim=3, hidden_size=4)
    for t in (float("inf"), float("nan")):  # τ = inf drew the excluded tokens every time
        with pytest.raises(ValueError, match="`temperature` must be a finite number >= 0"):
            sampling.sample(p, jnp.array([1, 2]), 3, key=KEY, temperature=t, exclude=(0,))
        with pytest.raises(ValueError, match="`temperature` must be a finite number >= 0"):
            lm_train.experiment_checks(lm_train.LMConfig(temperature=t))
    # finite but past float32's range: uniform over the allowed tokens, never an excluded one
    with np.errstate(over="ignore"):  # 1e300 as a float32 constant: inf, which is the point
        drawn = sampling.sample(p, jnp.array([1, 2]), 50, key=KEY, temperature=1e300, exclude=(0, 6), num_samples=8)
    assert set(np.asarray(drawn).ravel().tolist()) == {1, 2, 3, 4, 5}
    with pytest.raises(ValueError, match="`epochs` must be an integer >= 0"):
        lm_train.experiment_checks(lm_train.LMConfig(epochs=-3, steps=10))  # trained `steps` silently
    a = sampling.sample(p, [1, 2], 3, key=KEY, top_k=np.int64(3))  # a list prompt, a NumPy top_k
    np.testing.assert_array_equal(a, sampling.sample(p, jnp.array([1, 2]), 3, key=KEY, top_k=3))
    c = lstm.init_carry(lstm.init(KEY, 3, 4), 5)  # an int batch shape is (5,)
    assert c.a.shape == (5, 4)
    with pytest.raises(ValueError, match="`batch_shape` must be a tuple of sizes"):
        rnn.init_carry(rnn.init(KEY, 3, 4), (2.5,))
    cell_p = lstm.init(KEY, 3, 4)
    carry, ys = bptt.truncated_unroll(lstm.step, cell_p, lstm.init_carry(cell_p, (2,)), jnp.ones((0, 2, 3)), 1)
    assert ys.shape == (0, 2, 4) and carry.a.shape == (2, 4)  # as `unroll` for T = 0 (IndexError before)


def test_vocab_checkpoint_and_download_inputs_found_in_review(tmp_path):
    from jaxseq import checkpoint, corpora
    from jaxseq.vocab import Vocab

    with pytest.raises(TypeError, match=r"`specials` must be a sequence of token strings; got one str '<unk>'"):
        Vocab.build(["a", "b"], specials="<unk>")  # its characters before
    with pytest.raises(ValueError, match="`specials` must be distinct"):
        Vocab.build(["a", "b"], specials=("<unk>", "<unk>"))
    for name, data in (("bad.json", b"not json"), ("latin1.json", b"\xe9\xff"),
                       ("str.json", b'{"format": "jaxseq.vocab/1", "tokens": "abc"}')):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ValueError, match=name):
            Vocab.load(tmp_path / name)
    (tmp_path / "c.msgpack").write_bytes(b"\x01\x02garbage")
    with pytest.raises(ValueError, match="c.msgpack is not a checkpoint"):
        checkpoint.restore(tmp_path / "c.msgpack", {"step": 0})
    for timeout in (-1, "5", float("nan")):
        with pytest.raises(ValueError, match="`timeout` must be a positive finite number"):
            corpora.download("http://127.0.0.1:9/x", tmp_path / "x", timeout=timeout, progress=False)
