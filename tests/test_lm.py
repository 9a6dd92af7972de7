"""The language-model workflow: model, sampling, scoring, training runs, resume and bad input."""
import json
import pathlib
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxseq import embedding, lm, lm_train, sampling, scoring
from jaxseq.lm_train import LMConfig

ROOT = pathlib.Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "experiments"))
import char_lm  # noqa: E402
import sample as sample_script  # noqa: E402
import score as score_script  # noqa: E402
import word_lm  # noqa: E402

KEY = jax.random.PRNGKey(0)
TINY = ["--preset", "tiny", "--no-progress"]


def test_one_hot_times_embedding_matrix_equals_lookup():
    p = embedding.init(KEY, 11, 5)
    ids = jnp.array([[0, 3], [10, 7]])
    np.testing.assert_allclose(embedding.one_hot(ids, 11) @ p.E, embedding.lookup(p, ids), rtol=1e-6)


@pytest.mark.parametrize("cell_kind", ["rnn", "gru", "gru-course", "lstm"])
def test_model_shapes_and_tying(cell_kind):
    p = lm.init(KEY, 20, cell_kind=cell_kind, embed_dim=8, hidden_size=8, num_layers=2, tie_weights=True)
    carry, logits = lm.apply(p, lm.init_carry(p, (3,)), jnp.zeros((5, 3), jnp.int32))
    assert logits.shape == (5, 3, 20)
    # tied: the output weights are Eᵀ
    a = jnp.ones((8,))
    np.testing.assert_allclose(lm.logits_of(p, a), p.embedding.E @ a + p.head.b_y, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="`tie_weights` needs hidden_size == embed_dim"):
        lm.init(KEY, 20, embed_dim=8, hidden_size=16, tie_weights=True)


def _model():
    return lm.init(KEY, 17, embed_dim=8, hidden_size=16)


def test_sampling_at_temperature_zero_is_greedy_argmax():
    params, prompt = _model(), jnp.array([1, 2, 3])
    greedy = np.asarray(sampling.sample(params, prompt, 12, key=KEY, temperature=0.0))[0]
    # greedy by hand: feed the argmax back one token at a time
    apply = jax.jit(lm.apply)
    carry, logits = apply(params, lm.init_carry(params), prompt)
    tokens = []
    for _ in range(12):
        tokens.append(int(jnp.argmax(logits[-1])))
        carry, logits = apply(params, carry, jnp.array([tokens[-1]]))
    np.testing.assert_array_equal(greedy, tokens)
    cold = np.asarray(sampling.sample(params, prompt, 12, key=KEY, temperature=1e-4, num_samples=4))
    np.testing.assert_array_equal(cold, np.broadcast_to(greedy, (4, 12)))


def test_top_k_never_leaves_the_top_k():
    logits = jax.random.normal(KEY, (2000, 17)) * 3
    draws = jax.vmap(lambda k, z: sampling.draw(k, z, top_k=3))(jax.random.split(KEY, 2000), logits)
    top3 = jnp.argsort(logits, axis=-1)[:, -3:]
    assert bool(jnp.all(jnp.any(top3 == draws[:, None], axis=-1)))
    # and inside the sampler, every generated token is in the top k of the model's distribution there
    params, prompt = _model(), jnp.array([1, 2])
    out = np.asarray(sampling.sample(params, prompt, 10, key=KEY, top_k=2, num_samples=8))
    for row in out:
        ids = np.concatenate([prompt, row])
        _, logits = lm.apply(params, lm.init_carry(params), jnp.asarray(ids[:-1], jnp.int32))
        top2 = np.argsort(np.asarray(logits[1:]), axis=-1)[:, -2:]
        assert all(tok in t2 for tok, t2 in zip(row, top2))


def test_top_p_keeps_the_smallest_nucleus():
    logits = jnp.log(jnp.array([0.5, 0.3, 0.15, 0.05]))
    kept = jnp.isfinite(sampling.filter_logits(logits, top_p=0.75))
    np.testing.assert_array_equal(kept, [True, True, False, False])
    kept = jnp.isfinite(sampling.filter_logits(logits, top_p=0.1))
    np.testing.assert_array_equal(kept, [True, False, False, False])


def test_sentence_score_equals_sum_of_per_token_log_probabilities():
    params, ids = _model(), jnp.array([4, 9, 2, 2, 11])
    s = scoring.log_likelihood(params, ids, 0)
    by_hand = 0.0
    for t in range(len(ids)):
        context = jnp.concatenate([jnp.array([0]), ids[:t]])
        _, logits = lm.apply(params, lm.init_carry(params), context)
        by_hand += float(jax.nn.log_softmax(logits[-1])[ids[t]])
    np.testing.assert_allclose(float(s.total), by_hand, rtol=1e-5)
    np.testing.assert_allclose(float(s.per_token.sum()), float(s.total), rtol=1e-6)


def test_bad_sampling_options():
    params = _model()
    with pytest.raises(ValueError, match="`temperature` must be a finite number >= 0"):
        sampling.sample(params, jnp.array([1]), 5, key=KEY, temperature=-1.0)
    with pytest.raises(ValueError, match=r"`top_k` must be an integer in \[1, 17\]"):
        sampling.sample(params, jnp.array([1]), 5, key=KEY, top_k=0)
    with pytest.raises(ValueError, match="at least one token"):
        sampling.sample(params, jnp.zeros((0,), jnp.int32), 5, key=KEY)


# ---- training runs -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "char"
    summary = char_lm.main(TINY + ["--out", str(out)])
    return out, summary


def test_char_lm_smoke_run_folder_is_complete(tiny_run):
    out, summary = tiny_run
    for name in ("config.json", "vocab.json", "metrics.csv", "loss.png", "checkpoint.msgpack", "samples.txt", "summary.json"):
        assert (out / name).is_file(), name
    s = json.loads((out / "summary.json").read_text())
    for k in ("train_loss", "valid_loss", "valid_bpc", "unigram_bpc", "tokens_per_s", "steps", "wall_s", "config"):
        assert k in s, k
    assert s["steps"] == 20 and np.isfinite(s["train_loss"]) and np.isfinite(s["valid_bpc"])
    # training changed the parameters
    config, vocab, params = lm_train.load_run(out)
    fresh = lm_train.init_params(config, len(vocab))
    assert not np.allclose(params.embedding.E, fresh.embedding.E)


def test_sample_and_score_scripts_read_the_run(tiny_run, capsys):
    out, _ = tiny_run
    texts = sample_script.main([str(out), "--prompt", "The ", "--n", "2", "--length", "15", "--seed", "3"])
    assert len(texts) == 2 and all(t.startswith("The ") and len(t) == 19 for t in texts)
    assert texts == sample_script.main([str(out), "--prompt", "The ", "--n", "2", "--length", "15", "--seed", "3"])
    scores = score_script.main([str(out), "the value of the", "zq xj vvk qq"])
    assert len(scores) == 2 and "most likely" in capsys.readouterr().out
    with pytest.raises(ValueError, match="`prompt` has characters outside the vocabulary"):
        sample_script.main([str(out), "--prompt", "\u2603 snowman"])
    with pytest.raises(ValueError, match="`temperature` must be a finite number >= 0"):
        sample_script.main([str(out), "--temperature", "-0.5"])


def test_resume_equals_an_uninterrupted_run(tmp_path):
    common = TINY + ["--samples", "0", "--eval-every", "5", "--ckpt-every", "5"]
    char_lm.main(common + ["--out", str(tmp_path / "full"), "--steps", "16"])
    char_lm.main(common + ["--out", str(tmp_path / "split"), "--steps", "10"])
    char_lm.main(common + ["--out", str(tmp_path / "split"), "--steps", "16", "--resume"])
    _, _, p_full = lm_train.load_run(tmp_path / "full")
    _, _, p_split = lm_train.load_run(tmp_path / "split")
    for a, b in zip(jax.tree_util.tree_leaves(p_full), jax.tree_util.tree_leaves(p_split)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    full = json.loads((tmp_path / "full" / "summary.json").read_text())
    split = json.loads((tmp_path / "split" / "summary.json").read_text())
    assert split["steps"] == 16
    np.testing.assert_allclose(full["valid_loss"], split["valid_loss"], rtol=1e-5)
    # the resumed metrics file reads like the uninterrupted one: integer steps, no "5.0"
    steps = [line.split(",")[0] for line in (tmp_path / "split" / "metrics.csv").read_text().splitlines()[1:]]
    assert steps == [line.split(",")[0] for line in (tmp_path / "full" / "metrics.csv").read_text().splitlines()[1:]]
    assert steps == ["5", "10", "15", "16"]


def test_word_lm_smoke(tmp_path):
    s = word_lm.main(TINY + ["--out", str(tmp_path / "w"), "--steps", "4"])
    assert s["steps"] == 4 and np.isfinite(s["valid_ppl"]) and s["unigram_ppl"] > 1


def _no_trusted_run(out):
    return not (out / "checkpoint.msgpack").exists()


@pytest.mark.parametrize("text, match", [
    ("", "empty"),
    ("a", "needs at least 3"),  # a one-character corpus
    ("a" * 5000, "needs at least 3"),
    ("just a few words here\n" * 3, "`seq_len`=16 is too long"),
])
def test_bad_corpora_get_clear_errors_and_leave_no_run(tmp_path, text, match):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(text)
    out = tmp_path / "run"
    with pytest.raises(ValueError, match=match):
        char_lm.main(TINY + ["--corpus", str(corpus), "--out", str(out)])
    assert _no_trusted_run(out)


def test_unknown_flags_and_presets_are_rejected(tmp_path, capsys):
    with pytest.raises(SystemExit):
        char_lm.main(["--no-such-flag", "1"])
    assert "unrecognized arguments: --no-such-flag" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        char_lm.main(["--preset", "huge"])
    assert "invalid choice: 'huge'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="`temperature` must be a finite number >= 0"):
        char_lm.main(TINY + ["--temperature", "-1", "--out", str(tmp_path / "r")])
    assert _no_trusted_run(tmp_path / "r")
    with pytest.raises(FileNotFoundError, match="--resume: no checkpoint"):
        char_lm.main(TINY + ["--resume", "--out", str(tmp_path / "never")])


def test_char_lm_runs_as_a_script(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "experiments" / "char_lm.py"), *TINY, "--steps", "2",
                        "--eval-every", "1", "--out", str(tmp_path / "cli")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "unigram baseline" in r.stdout and (tmp_path / "cli" / "summary.json").is_file()


def test_zaremba_preset_runs_when_the_ptb_files_are_present(tmp_path, monkeypatch):
    """The preset reads PTB from the cache; small stand-in files in PTB's format prove the path."""
    monkeypatch.setenv("JAXSEQ_DATA", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(30)] + ["<unk>"]
    for split, n in (("train", 400), ("valid", 60), ("test", 60)):
        lines = [" " + " ".join(rng.choice(words, rng.integers(3, 12))) + " " for _ in range(n)]
        path = tmp_path / "cache" / "ptb" / f"ptb.{split}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")
    s = word_lm.main(["--preset", "zaremba-small", "--no-progress", "--epochs", "1", "--hidden", "16", "--embed", "16",
                      "--samples", "0", "--out", str(tmp_path / "z")])
    cfg = s["config"]
    assert (cfg["optimizer"], cfg["lr"], cfg["layers"], cfg["seq_len"], cfg["batch"]) == ("sgd", 1.0, 2, 20, 20)
    assert np.isfinite(s["valid_ppl"]) and np.isfinite(s["test_ppl"]) and s["vocab_size"] == 32  # 30 words, <unk>, <eos>


# ---- found in review: schedules, run folders, scores, sampling options, ids, resume ----------------


def test_lr_decay_follows_zaremba_epochs_1_to_4_at_lr_then_halved_each_epoch():
    config = LMConfig(optimizer="sgd", lr=1.0, lr_decay=0.5, decay_after=4, clip=0.0)
    opt = lm_train.make_optimizer(config, 3)  # 3 windows (updates) per epoch
    params = jnp.zeros(())
    state, rates = opt.init(params), []
    for _ in range(7 * 3):
        update, state = opt.update(jnp.ones(()), state, params)
        rates.append(-float(update))  # SGD with gradient 1: the update is −lr
    per_epoch = [rates[3 * e] for e in range(7)]
    assert per_epoch == [1.0, 1.0, 1.0, 1.0, 0.5, 0.25, 0.125]
    assert all(rates[3 * e] == rates[3 * e + 2] for e in range(7))  # constant within an epoch


def test_a_folder_that_is_not_a_run_is_never_cleared(tmp_path):
    from jaxseq import experiment

    keep = tmp_path / "thesis"
    keep.mkdir()
    (keep / "thesis.tex").write_text("years of work")
    with pytest.raises(ValueError, match="not a run folder"):
        char_lm.main(TINY + ["--out", str(keep)])
    assert (keep / "thesis.tex").read_text() == "years of work"
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="must be a folder"):
        experiment.prepare_run_dir(tmp_path / "file", resume=False)
    run = tmp_path / "run"  # an earlier run (it has config.json) is cleared
    run.mkdir()
    (run / "config.json").write_text("{}")
    (run / "old.png").write_text("x")
    assert list(experiment.prepare_run_dir(run, resume=False).iterdir()) == []


def test_a_sentence_score_includes_its_end(tiny_run):
    _, vocab, params = lm_train.load_run(tiny_run[0])
    ids = lm_train.encode_sentence(vocab, "char", "the cat")
    nl = vocab.encode(["\n"])[0]
    assert ids[0] == nl and ids[-1] == nl and len(ids) == len("the cat") + 2
    np.testing.assert_array_equal(lm_train.encode_sentence(vocab, "char", "the cat\n"), ids)
    word_vocab = lm_train.Vocab.build(["a", "b", "<eos>"])
    np.testing.assert_array_equal(lm_train.encode_sentence(word_vocab, "word", "a b"),
                                  [word_vocab.eos_id, *word_vocab.encode(["a", "b"]), word_vocab.eos_id])
    # the score is the prompt's probability times that of ending there: a prefix is not favoured for free
    full = scoring.log_likelihood(params, jnp.asarray(ids[1:]), int(ids[0]))
    no_end = scoring.log_likelihood(params, jnp.asarray(ids[1:-1]), int(ids[0]))
    assert float(full.total) < float(no_end.total)
    with pytest.raises(ValueError, match="`sentence` must hold at least one token"):
        lm_train.encode_sentence(vocab, "char", " \n")


def test_char_samples_never_contain_the_special_tokens(tiny_run):
    _, vocab, params = lm_train.load_run(tiny_run[0])
    texts = lm_train.sample_texts(params, vocab, "char", "", n=20, length=100, temperature=1.5, seed=0)
    assert all(len(t) == 100 and "<eos>" not in t and "<unk>" not in t for t in texts)
    with pytest.raises(ValueError, match="`exclude` must be a tuple of distinct ids"):
        sampling.sample(params, jnp.array([1]), 3, key=KEY, exclude=(len(vocab),))


def test_top_p_one_keeps_every_token_and_bad_filters_are_refused():
    z = jnp.log(jnp.array([0.5, 0.5, 1e-9]))
    assert bool(jnp.all(jnp.isfinite(sampling.filter_logits(z, top_p=1.0))))
    assert bool(jnp.all(jnp.isfinite(sampling.filter_logits(jnp.array([10.0, 10.0, -10.0]), top_p=1.0))))
    for kwargs, match in [({"top_p": 0.0}, "`top_p` must be in"), ({"top_p": 2.0}, "`top_p` must be in"),
                          ({"top_k": 0}, "`top_k` must be an integer"), ({"top_k": 7}, "`top_k` must be an integer")]:
        with pytest.raises(ValueError, match=match):
            sampling.filter_logits(z, **kwargs)
    with pytest.raises(ValueError, match="`temperature` must be a finite number >= 0"):
        sampling.draw(KEY, z, temperature=-1.0)


def test_token_ids_outside_the_vocabulary_are_refused():
    params = _model()  # vocabulary 17
    with pytest.raises(ValueError, match=r"`tokens` must hold ids in \[0, 17\).*from 0 to 20"):
        lm.apply(params, lm.init_carry(params), jnp.array([0, 20]))
    with pytest.raises(ValueError, match=r"`ids` must hold ids in \[0, 17\)"):
        scoring.log_likelihood(params, jnp.array([1, -1]), 0)
    with pytest.raises(ValueError, match=r"`targets` must hold ids in \[0, 5\)"):
        from jaxseq import losses

        losses.sequence_cross_entropy(jnp.zeros((2, 5)), jnp.array([1, 9]))
    with pytest.raises(ValueError, match=r"`ids` must hold ids in \[0, 3\)"):
        lm_train.Vocab.build(["a"]).one_hot(jnp.array([9]))
    for name, kwargs in [("vocab_size", dict(vocab_size=0)), ("embed_dim", dict(vocab_size=5, embed_dim=0)),
                         ("hidden_size", dict(vocab_size=5, hidden_size=-1))]:
        with pytest.raises(ValueError, match=f"`{name}` must be a positive integer"):
            lm.init(KEY, **kwargs)


def test_a_padded_step_with_nan_logits_does_not_poison_the_loss():
    from jaxseq import losses

    logits = jnp.array([[2.0, 1.0, 0.0], [jnp.nan, jnp.nan, jnp.nan]])
    got = losses.sequence_cross_entropy(logits, jnp.array([0, 0]), jnp.array([True, False]))
    np.testing.assert_allclose(float(got), float(losses.sequence_cross_entropy(logits[:1], jnp.array([0]))), rtol=1e-6)


@pytest.mark.parametrize("flags, match", [
    (["--sample-len", "0"], "`sample_len` must be a positive integer"),
    (["--temperature", "nan"], "`temperature` must be a finite number >= 0"),
    (["--max-eval-tokens", "-900"], "`max_eval_tokens` must be an integer >= 0"),
    (["--clip", "-1"], "`clip` must be >= 0"),
    (["--lr-decay", "-2"], r"`lr_decay` must be in \(0, 1\]"),
    (["--max-vocab", "-5"], "`max_vocab` must be an integer >= 0"),
])
def test_bad_options_are_refused_before_training(tmp_path, flags, match):
    out = tmp_path / "run"
    with pytest.raises(ValueError, match=match):
        char_lm.main(TINY + ["--out", str(out)] + flags)
    assert not out.exists()


def test_resume_from_a_step_off_the_eval_boundary_reads_like_the_uninterrupted_run(tmp_path):
    common = TINY + ["--samples", "0", "--eval-every", "5", "--ckpt-every", "5"]
    char_lm.main(common + ["--out", str(tmp_path / "full"), "--steps", "16"])
    char_lm.main(common + ["--out", str(tmp_path / "split"), "--steps", "12"])
    char_lm.main(common + ["--out", str(tmp_path / "split"), "--steps", "16", "--resume"])
    from jaxseq import experiment

    full = experiment.Metrics.read(tmp_path / "full" / "metrics.csv")
    split = experiment.Metrics.read(tmp_path / "split" / "metrics.csv")
    assert [r["step"] for r in split] == [r["step"] for r in full] == [5, 10, 15, 16]
    for a, b in zip(full, split):
        np.testing.assert_allclose(b["train_loss"], a["train_loss"], rtol=1e-5)


def test_a_checkpoint_that_does_not_fit_its_template_is_refused(tmp_path):
    from jaxseq import checkpoint

    checkpoint.save(tmp_path / "c.msgpack", {"w": jnp.zeros((3, 4))})
    with pytest.raises(ValueError, match=r"does not fit the template at w: expected \(8, 8\) bfloat16"):
        checkpoint.restore(tmp_path / "c.msgpack", {"w": jnp.zeros((8, 8), jnp.bfloat16)})
    # keys the template lacks, or lacks in the file, and a Python number's kind are checked too
    checkpoint.save(tmp_path / "d.msgpack", {"w": jnp.zeros(2), "extra": jnp.zeros(5), "n": 1.5})
    with pytest.raises(ValueError, match=r"unexpected \['extra'\]"):
        checkpoint.restore(tmp_path / "d.msgpack", {"w": jnp.zeros(2), "n": 1.5})
    with pytest.raises(ValueError, match=r"missing \['m'\]"):
        checkpoint.restore(tmp_path / "d.msgpack", {"w": jnp.zeros(2), "extra": jnp.zeros(5), "n": 1.5, "m": 0})
    with pytest.raises(ValueError, match="at n: expected int"):
        checkpoint.restore(tmp_path / "d.msgpack", {"w": jnp.zeros(2), "extra": jnp.zeros(5), "n": 0})
    assert checkpoint.restore(tmp_path / "d.msgpack", {"w": jnp.ones(2), "extra": jnp.ones(5), "n": 0.0})["n"] == 1.5


def test_resume_reads_an_older_checkpoint_and_a_finished_run_keeps_its_last_row(tmp_path):
    from jaxseq import experiment

    common = TINY + ["--samples", "0", "--eval-every", "5", "--ckpt-every", "5", "--out", str(tmp_path / "r")]
    first = char_lm.main(common + ["--steps", "12"])
    again = char_lm.main(common + ["--steps", "12", "--resume"])  # nothing left to train
    assert [r["step"] for r in experiment.Metrics.read(tmp_path / "r" / "metrics.csv")] == [5, 10, 12]
    assert again["train_loss"] == first["train_loss"]
    ckpt = tmp_path / "r" / "checkpoint.msgpack"  # as written before pending_sum / pending_n existed
    from flax import serialization

    raw = serialization.msgpack_restore(ckpt.read_bytes())
    del raw["pending_sum"], raw["pending_n"]
    ckpt.write_bytes(serialization.msgpack_serialize(raw))
    assert char_lm.main(common + ["--steps", "15", "--resume"])["steps"] == 15


def test_sampling_options_may_be_traced():
    z = jnp.log(jnp.array([0.5, 0.3, 0.2]))
    got = jax.jit(lambda z, p: sampling.filter_logits(z, top_p=p))(z, 0.7)
    np.testing.assert_array_equal(np.isfinite(got), [True, True, False])
    rows = jax.vmap(lambda p: sampling.filter_logits(z, top_p=p))(jnp.array([0.4, 1.0]))
    np.testing.assert_array_equal(np.isfinite(rows), [[True, False, False], [True, True, True]])


def test_a_masked_step_with_nan_logits_has_zero_gradient():
    from jaxseq import losses

    logits = jnp.array([[2.0, 1.0, 0.0], [jnp.nan, jnp.nan, jnp.nan]])
    g = jax.grad(lambda z: losses.sequence_cross_entropy(z, jnp.array([0, 0]), jnp.array([True, False])))(logits)
    assert bool(jnp.all(jnp.isfinite(g))) and bool(jnp.all(g[1] == 0))


def test_prompt_ids_are_checked_and_a_tiny_or_traced_temperature_works():
    params = _model()  # 17 tokens
    for bad in (17, 10 ** 6, -3):  # NaN logits, or −3 taken for id 14, if unchecked
        with pytest.raises(ValueError, match=r"`prompt` must hold ids in \[0, 17\)"):
            sampling.sample(params, jnp.array([1, bad]), 4, key=KEY)
    logits = jnp.array([[1.0, 3.0, 2.0]])
    for t in (1e-3, 1e-30, 1e-39):  # logits / τ overflowed to +inf and the first token won at 1e-39
        draws = {int(sampling.draw(jax.random.PRNGKey(s), logits, temperature=t)[0]) for s in range(20)}
        assert draws == {1}
    traced = jax.jit(lambda t, k: sampling.draw(k, logits, temperature=t))
    assert int(traced(0.0, KEY)[0]) == 1  # τ = 0 is argmax, traced too
    many = jax.vmap(lambda k: traced(5.0, k))(jax.random.split(KEY, 400))
    assert len(set(np.asarray(many).ravel().tolist())) == 3  # a hot temperature draws every token
    greedy = jax.vmap(lambda t: sampling.draw(KEY, logits, temperature=t))(jnp.array([0.0, 1e-6]))
    np.testing.assert_array_equal(np.asarray(greedy).ravel(), [1, 1])


def test_evaluation_scores_every_window_of_the_split():
    """The valid/test loss covers the rows' last, shorter windows too (masked): every token a target
    but the first of each row and the < batch past the last whole row."""
    config = LMConfig(cell="rnn", embed=4, hidden=8, layers=1, batch=4, seq_len=6, dropout=0.0, progress=False)
    params = lm_train.init_params(config, 9)
    _, eval_step = lm_train.make_steps(config, lm_train.make_optimizer(config, 1))
    ids = np.random.default_rng(0).integers(0, 9, 43)
    got = lm_train.evaluate(eval_step, params, ids, config)
    # by hand: each row of 10 tokens read as one sequence, 9 targets each
    rows = ids[:40].reshape(4, 10)
    loss, _ = lm.loss(params, lm.init_carry(params, (4,)), jnp.asarray(rows[:, :-1].T), jnp.asarray(rows[:, 1:].T),
                      reduction="sum")
    np.testing.assert_allclose(got, float(loss) / 36, rtol=1e-5)


def test_a_start_id_that_is_not_one_integer_token_is_refused():
    params = _model()
    for bad, error in ((1.9, TypeError), (True, ValueError), ([1, 2], ValueError)):
        with pytest.raises(error, match="`start_id` must"):
            scoring.log_likelihood(params, jnp.array([1, 2]), bad)


def test_lm_flags_refused_before_the_earlier_run_is_touched_and_resume_names_what_differs(tiny_run, tmp_path,
                                                                                          capsys):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(tiny_run[0], run)
    before = sorted(p.name for p in run.iterdir())
    for flags, match in [(["--tie"], "tie_weights"), (["--lr", "inf"], "`lr` must be a positive finite number")]:
        with pytest.raises(ValueError, match=match):
            char_lm.main(TINY + ["--out", str(run)] + flags)
        assert sorted(p.name for p in run.iterdir()) == before
    with pytest.raises(ValueError, match=r"--eval-every: 10 then, 5 now.*only --steps/--epochs may change"):
        char_lm.main(TINY + ["--out", str(run), "--resume", "--eval-every", "5"])
    with pytest.raises(ValueError, match="is at step 20 already; --steps .* must give at least that many; got 10"):
        char_lm.main(TINY + ["--out", str(run), "--resume", "--steps", "10"])
    with pytest.raises(ValueError, match="not a language-model run folder: its config.json is of another"):
        (tmp_path / "other").mkdir()
        for name in ("vocab.json", "checkpoint.msgpack"):
            shutil.copy(run / name, tmp_path / "other" / name)
        (tmp_path / "other" / "config.json").write_text('{"n_train": 5}')
        lm_train.load_run(tmp_path / "other")
    capsys.readouterr()
    char_lm.main(TINY + ["--out", str(tmp_path / "w"), "--level", "word", "--samples", "0"])  # KeyError before
    assert "validation perplexity" in capsys.readouterr().out


def test_sample_and_score_scripts_name_their_bad_arguments(tiny_run, tmp_path):
    run = str(tiny_run[0])
    with pytest.raises(SystemExit):
        sample_script.main([run, "--n", "0"])
    with pytest.raises(ValueError, match="`sentence` has characters outside the vocabulary"):
        score_script.main([run, "naïve café \u2603"])
    with pytest.raises(ValueError, match="`max_vocab` must be 0 \\(no cap\\) or more than the 2 special tokens"):
        char_lm.main(TINY + ["--max-vocab", "2", "--out", str(tmp_path / "v")])
