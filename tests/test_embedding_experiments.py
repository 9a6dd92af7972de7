"""Smoke tests of the word-embedding experiments (tiny presets) and of the 2-D pictures."""
import importlib.util
import json
import pathlib
import sys

import numpy as np
import pytest

from jaxseq import word_corpora
from jaxseq.word_vectors import WordVectors, load_word2vec

ROOT = pathlib.Path(__file__).parent.parent


def load_experiment(name):
    spec = importlib.util.spec_from_file_location(f"experiment_{name}", ROOT / "experiments" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as an import would (inspect reads the source of its classes through it)
    spec.loader.exec_module(module)
    return module


RUN_FILES = {"config.json", "vocab.json", "vectors.txt", "metrics.csv", "loss.png", "neighbours.txt", "summary.json"}


@pytest.mark.parametrize("name", ["word2vec", "glove", "nplm"])
def test_tiny_run_folder_is_complete(name, tmp_path):
    out = tmp_path / name
    summary = load_experiment(name).main(["--preset", "tiny", "--out", str(out)])
    assert RUN_FILES <= {p.name for p in out.iterdir()}
    assert np.isfinite(summary["final_loss"])
    on_disk = json.loads((out / "summary.json").read_text())
    for key in ("vocab_size", "neighbours", "config"):
        assert key in on_disk
    assert "analogy_oov" in on_disk or "analogy_error" in on_disk
    vectors = load_word2vec(out / "vectors.txt")
    assert len(vectors) == summary["vocab_size"] and np.isfinite(vectors.matrix).all()
    assert vectors.matrix.std() > 0
    if name == "word2vec":  # which step and example pipeline ran
        assert on_disk["kernel"] in ("native", "xla") and on_disk["pipeline"] in ("host", "device")
    if name == "nplm":  # data-parallel, as the other networks' runs: how many devices split the batch
        assert on_disk["devices"] == 1


def test_sentiment_tiny(tmp_path):
    pytest.importorskip("gensim")  # the labelled sentences ship with gensim's test data
    out = tmp_path / "sentiment"
    summary = load_experiment("sentiment").main(["--preset", "tiny", "--out", str(out)])
    assert {"results.md", "summary.json", "metrics.csv", "config.json"} <= {p.name for p in out.iterdir()}
    assert set(summary["accuracy"]) == {"random", "frozen", "fine-tuned"}
    assert all(0.0 <= r["mean"] <= 1.0 for r in summary["accuracy"].values())
    rows = (out / "metrics.csv").read_text().splitlines()[1:]
    frozen = [r for r in rows if ",frozen," in r]
    assert frozen and all(float(r.split(",")[-1]) == 0.0 for r in frozen)  # the frozen embedding did not move


def test_experiment_flags_are_checked(tmp_path):
    w2v = load_experiment("word2vec")
    with pytest.raises(SystemExit):
        w2v.main(["--no-such-flag", "1"])
    with pytest.raises(ValueError, match="`corpus` must be one of"):
        w2v.main(["--preset", "tiny", "--corpus", str(tmp_path / "missing.txt"), "--out", str(tmp_path / "x")])
    with pytest.raises(ValueError, match="`min_count`=100000 is above every word count"):
        w2v.main(["--preset", "tiny", "--min-count", "100000", "--out", str(tmp_path / "y")])


def test_pictures(tmp_path):
    pytest.importorskip("sklearn")
    from jaxseq import word_plots

    rng = np.random.default_rng(0)
    words = tuple(f"w{i}" for i in range(12))
    vectors = WordVectors(words, rng.normal(size=(12, 5)).astype(np.float32))
    for method in ("pca", "tsne"):
        shown = word_plots.plot_words(vectors, [*words, "missing"], tmp_path / f"{method}.png", method=method,
                                      arrows=[("w0", "w1")])
        assert shown == list(words) and (tmp_path / f"{method}.png").stat().st_size > 1000
    xy = word_plots.project_2d(vectors.matrix, method="pca")
    centred = vectors.matrix - vectors.matrix.mean(0)
    top = np.linalg.svd(centred, full_matrices=False)[2][:2]
    np.testing.assert_allclose(np.abs(xy), np.abs(centred @ top.T), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="at least 3 words"):
        word_plots.plot_words(vectors, ["w0", "nope"], tmp_path / "x.png")


def test_simple_tokens_and_polarity_file(tmp_path):
    assert word_corpora.simple_tokens("Don't stop, 42 times! Café") == ["don't", "stop", "times", "café"]
    path = tmp_path / "p.txt"
    path.write_bytes(b"__label__pos a fine film\n__label__neg dull \x97 and long\n")
    texts, labels = word_corpora.polarity(path)
    assert labels == [1, 0] and texts[1] == ["dull", "and", "long"]
    path.write_text("__label__maybe what\n")
    with pytest.raises(ValueError, match="line 1"):
        word_corpora.polarity(path)


@pytest.mark.parametrize("name,lr", [("word2vec", 0.13), ("glove", 0.05), ("nplm", 0.001)])
def test_resume_continues_a_stopped_run_to_the_same_vectors(tmp_path, name, lr):
    module = load_experiment(name)
    flags = ["--preset", "tiny", "--epochs", "3"]
    module.main(flags + ["--out", str(tmp_path / "whole")])

    def stop_at_epoch_2(line):
        if line.startswith("epoch 2/3"):
            raise KeyboardInterrupt  # as a user's Ctrl-C; the checkpoint after epoch 1 is on disk
    config = module.experiment.parse_config(module.Config, flags + ["--out", str(tmp_path / "stopped")],
                                            presets=module.PRESETS)
    with pytest.raises(KeyboardInterrupt):
        module.train(config, log=stop_at_epoch_2)
    assert not (tmp_path / "stopped" / "vectors.txt").exists()
    with pytest.raises(ValueError, match=f"another run \\(lr: {lr} in the checkpoint, 0.3 now\\)"):
        module.main(flags + ["--out", str(tmp_path / "stopped"), "--resume", "--lr", "0.3"])
    assert json.loads((tmp_path / "stopped" / "config.json").read_text())["lr"] == lr  # left as it was
    summary = module.main(flags + ["--out", str(tmp_path / "stopped"), "--resume"])
    whole, resumed = (load_word2vec(tmp_path / d / "vectors.txt") for d in ("whole", "stopped"))
    np.testing.assert_array_equal(resumed.matrix, whole.matrix)
    rows = [[line.split(",")[:2] for line in (tmp_path / d / "metrics.csv").read_text().splitlines()]
            for d in ("whole", "stopped")]  # epoch, loss
    assert rows[1] == rows[0] and [r[0] for r in rows[0][1:]] == ["1", "2", "3"]
    assert summary["final_loss"] == json.loads((tmp_path / "whole" / "summary.json").read_text())["final_loss"]
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        module.main(flags + ["--out", str(tmp_path / "new"), "--resume"])
    # another experiment's run folder, or a damaged checkpoint: refused, saying so
    other = "glove" if name != "glove" else "nplm"
    with pytest.raises(ValueError, match=f"is a {name} checkpoint, not a {other} one"):
        load_experiment(other).main(flags + ["--out", str(tmp_path / "stopped"), "--resume"])
    ckpt = tmp_path / "stopped" / "checkpoint.msgpack"
    ckpt.write_bytes(ckpt.read_bytes()[:-100])
    with pytest.raises(ValueError, match=f"is not a readable {name} checkpoint"):
        module.main(flags + ["--out", str(tmp_path / "stopped"), "--resume"])


def test_a_word2vec_checkpoint_of_the_earlier_format_still_loads(tmp_path):
    """Before 2026-11-26 15:00 experiments/word2vec.py also wrote the params' shapes."""
    from jaxseq import checkpoint, embedding_runs, word2vec

    params = word2vec.Params(np.arange(6, dtype=np.float32).reshape(3, 2), np.ones((3, 2), np.float32))
    ckpt = word2vec.Checkpoint(params, 1, 7, 2, {"bit_generator": "PCG64"}, [{"epoch": 1}], {"dim": 2})
    state = {**ckpt._asdict(), "params": None, "shapes": [list(w.shape) for w in params]}
    checkpoint.save(tmp_path / "old.msgpack", {"params": params, "state": json.dumps(state)})
    loaded = embedding_runs.load_checkpoint(tmp_path / "old.msgpack", word2vec.Checkpoint, {"params": word2vec.Params})
    assert loaded._replace(params=None) == ckpt._replace(params=None)
    np.testing.assert_array_equal(loaded.params.W_in, params.W_in)


def test_checkpoints_without_a_kind_or_with_missing_parts(tmp_path):
    """Files of 15:00-15:20 on 2026-11-26 had no kind: told apart by their arrays. A file that is
    msgpack but lacks a part is reported as unreadable, naming the path."""
    from jaxseq import checkpoint, embedding_runs, glove

    params = glove.Params(*(np.ones(s, np.float32) for s in ((3, 2), (3, 2), (3,), (3,))))
    ckpt = glove.Checkpoint(params, glove.AdaGradState(*params), 1, {"bit_generator": "PCG64"}, [], {"dim": 2})
    state = {k: v for k, v in ckpt._asdict().items() if k not in ("params", "adagrad")}
    checkpoint.save(tmp_path / "old.msgpack", {"params": params, "adagrad": ckpt.adagrad, "state": json.dumps(state)})
    types = {"params": glove.Params, "adagrad": glove.AdaGradState}
    loaded = embedding_runs.load_checkpoint(tmp_path / "old.msgpack", glove.Checkpoint, types)
    assert loaded.epoch == 1 and loaded.settings == {"dim": 2}
    partial = {"params": params, "state": json.dumps({**state, "kind": "glove"})}  # no adagrad
    checkpoint.save(tmp_path / "partial.msgpack", partial)
    with pytest.raises(ValueError, match="partial.msgpack is not a readable glove checkpoint"):
        embedding_runs.load_checkpoint(tmp_path / "partial.msgpack", glove.Checkpoint, types)


def test_a_bad_flag_leaves_the_earlier_run_folder_alone(tmp_path):
    for name in ("word2vec", "glove", "nplm"):
        module = load_experiment(name)
        out = tmp_path / name
        (out).mkdir()
        (out / "config.json").write_text("{}")
        (out / "vectors.txt").write_text("1 1\na 0.5\n")  # a run folder of an earlier run
        with pytest.raises(ValueError, match="`dim`"):
            module.main(["--preset", "tiny", "--dim", "0", "--out", str(out)])
        assert (out / "vectors.txt").exists()


def test_a_run_that_fails_on_its_data_leaves_the_earlier_run_as_it_was(tmp_path, capsys):
    """The run folder is cleared only once the new run has a checkpoint (or ends): a run refused for
    its corpus or flags leaves the earlier run's files in place."""
    w2v, glove = load_experiment("word2vec"), load_experiment("glove")
    out = tmp_path / "run"
    w2v.main(["--preset", "tiny", "--out", str(out)])
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    for module in (w2v, glove):
        with pytest.raises(ValueError, match="above every word count"):
            module.main(["--preset", "tiny", "--min-count", "100000", "--out", str(out)])
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert "is back as it was" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # nothing left aside
    glove.main(["--preset", "tiny", "--out", str(out)])  # a run that works replaces it
    assert json.loads((out / "config.json").read_text())["x_max"] == 10.0
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_the_corpus_recorded_is_the_one_trained_on(tmp_path, monkeypatch):
    """A named corpus that cannot be had fails (it is not swapped for another); the default one falls
    back to the embedded corpus without gensim, and summary.json names the corpus actually used."""
    from jaxseq import corpora

    monkeypatch.setenv("JAXSEQ_DATA", str(tmp_path / "empty-cache"))
    def offline(url, *args, **kwargs):
        raise corpora.DownloadError(url, "offline")

    monkeypatch.setattr(corpora, "download", offline)
    with pytest.raises(corpora.CorpusUnavailableError, match="wikitext-2"):
        word_corpora.open_sentences("wikitext-2")
    source = word_corpora.open_sentences("default", max_words=100)
    assert source.name == "pydocs" and 0 < sum(map(len, source.sentences)) <= 100
    w2v = load_experiment("word2vec")
    summary = w2v.main(["--preset", "tiny", "--out", str(tmp_path / "w")])  # tiny: corpus "default"
    assert summary["corpus"] == "pydocs"


def test_sentiment_checks_its_flags_before_clearing_the_run(tmp_path):
    sentiment = load_experiment("sentiment")
    data = tmp_path / "five.txt"
    data.write_text("".join(f"__label__{'pos' if i % 2 else 'neg'} sentence number {i}\n" for i in range(5)))
    out = tmp_path / "s"
    out.mkdir()
    (out / "config.json").write_text("{}")
    (out / "results.md").write_text("earlier")
    for flags, error, match in [(["--folds", "10"], ValueError, "`folds` must be at least 2 and at most the 5"),
                                (["--cell", "LSTM"], ValueError, "`cell` must be one of"),
                                (["--vectors", str(tmp_path / "none.txt")], FileNotFoundError, "--vectors: no file")]:
        with pytest.raises(error, match=match):
            sentiment.main(["--preset", "tiny", "--data", str(data), "--out", str(out)] + flags)
        assert (out / "results.md").read_text() == "earlier"


def test_flags_have_help_from_the_config_comments_and_overrides_are_checked(capsys):
    from jaxseq import experiment, word2vec, word_corpora

    w2v = load_experiment("word2vec")
    with pytest.raises(SystemExit):
        experiment.parse_config(w2v.Config, ["--help"])
    for flags, message in [(["--seed", "-1"], "--seed must be an integer >= 0; got -1"),
                           (["--max-words", "-5"], "--max-words must be an integer >= 0; got -5")]:
        with pytest.raises(SystemExit):
            experiment.parse_config(w2v.Config, flags)
        assert message in capsys.readouterr().err
    with pytest.raises(ValueError, match="`max_words` must be an integer >= 0; got -1"):
        word_corpora.open_sentences("enwiki-sample", max_words=-1)  # not 2% of the corpus, silently
    comments = experiment._field_comments(w2v.Config)
    assert comments["model"] == '"skipgram" or "cbow"'  # inherited from Word2VecConfig
    assert comments["corpus"].startswith("a name")  # the experiment's own field
    assert experiment.parse_overrides(word2vec.Word2VecConfig, "lr=0.2, batch=64,model=cbow", flag="--set") == {
        "lr": 0.2, "batch": 64, "model": "cbow"}
    for text, match in [("foo=1", "--set: expected name=value pairs"), ("lr", "--set: expected name=value"),
                        ("cache_words=5e7", "--set: cache_words must be of type int")]:
        with pytest.raises(ValueError, match=match):
            experiment.parse_overrides(word2vec.Word2VecConfig, text, flag="--set")
