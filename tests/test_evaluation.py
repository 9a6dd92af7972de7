"""Similarity, analogies and benchmarks: against brute-force NumPy and against gensim on the same vectors."""
import os
import sys

import numpy as np
import pytest

from jaxseq import debias, evaluation
from jaxseq.word_vectors import WordVectors


def random_vectors(n=60, e=8, seed=0, words=None):
    rng = np.random.default_rng(seed)
    words = words or tuple(f"w{i}" for i in range(n))
    return WordVectors(tuple(words), rng.normal(size=(len(words), e)).astype(np.float32))


def brute_force(matrix, a, b, c, method):
    unit = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    out = []
    for i, j, k in zip(a, b, c):
        cos = unit @ unit.T
        if method == "3cosadd":
            s = cos[:, j] - cos[:, i] + cos[:, k]
        else:
            p = (cos + 1) / 2
            s = p[:, j] * p[:, k] / (p[:, i] + 1e-3)
        s[[i, j, k]] = -np.inf
        s[np.isnan(s)] = -np.inf  # a row that is not finite is no answer
        out.append(int(np.argmax(s)) if np.isfinite(s).any() else -1)
    return np.array(out)


@pytest.mark.parametrize("method", ["3cosadd", "3cosmul"])
def test_analogies_equal_brute_force_numpy(method):
    wv = random_vectors()
    rng = np.random.default_rng(1)
    a, b, c = (rng.integers(0, len(wv), 50) for _ in range(3))
    got = evaluation.analogy_ids(wv.matrix, a, b, c, method=method, chunk=16)
    np.testing.assert_array_equal(got, brute_force(wv.matrix.astype(np.float64), a, b, c, method))
    word = evaluation.analogy(wv, wv.words[a[0]], wv.words[b[0]], wv.words[c[0]], method=method)
    assert word == [wv.words[got[0]]]


@pytest.mark.parametrize("method", ["3cosadd", "3cosmul"])
def test_a_row_that_is_not_finite_is_never_an_answer(method):
    """One diverged word must not answer every question (NaN wins an argmax), and its own questions
    get no answer (−1) and count as wrong."""
    wv = random_vectors()
    m = wv.matrix.copy()
    m[7] = np.nan
    rng = np.random.default_rng(2)
    a, b, c = (rng.integers(0, len(wv), 60) for _ in range(3))
    a[0], b[1], c[2] = 7, 7, 7
    got = evaluation.analogy_ids(m, a, b, c, method=method, chunk=16)
    np.testing.assert_array_equal(got, brute_force(m.astype(np.float64), a, b, c, method))
    touched = (a == 7) | (b == 7) | (c == 7)
    assert touched.any() and (got[touched] == -1).all() and (got[~touched] != 7).all() and (got[~touched] >= 0).all()
    bad = WordVectors(wv.words, m)
    assert evaluation.analogy(bad, wv.words[a[~touched][0]], wv.words[b[~touched][0]], wv.words[c[~touched][0]],
                              method=method) == [wv.words[got[~touched][0]]]


def test_planted_analogy_and_similarities():
    e = np.eye(4, dtype=np.float32)
    m = np.stack([e[0] + e[2], e[1] + e[2], e[0] + e[3], e[1] + e[3], e[0] - e[1]])  # man king woman queen
    wv = WordVectors(("man", "king", "woman", "queen", "other"), m)
    assert evaluation.analogy(wv, "man", "king", "woman") == ["queen"]
    assert evaluation.analogy(wv, "man", "king", "woman", method="3cosmul") == ["queen"]
    np.testing.assert_allclose(evaluation.cosine_similarity(m[0], m[1]), 0.5, rtol=1e-6)
    np.testing.assert_allclose(evaluation.cosine_similarity(1e-7 * m[0], 1e-7 * m[1]), 0.5, rtol=1e-5)  # scale-free
    assert float(evaluation.cosine_similarity(np.zeros(4), m[0])) == 0.0  # a zero vector: 0, not NaN
    np.testing.assert_allclose(evaluation.euclidean_distance(m[0], m[1]), np.sqrt(2), rtol=1e-6)
    assert evaluation.nearest(wv, "man", 2) == [("king", pytest.approx(0.5)), ("woman", pytest.approx(0.5))]
    assert evaluation.nearest(wv, "man", 1, metric="euclidean")[0][0] == "king"
    with pytest.raises(KeyError, match="'prince'"):
        evaluation.analogy(wv, "man", "prince", "woman")


def test_spearman_equals_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 5, 40).astype(float), rng.normal(size=40)
    assert evaluation.spearman(x, y) == pytest.approx(stats.spearmanr(x, y)[0], abs=1e-12)


def test_oov_is_counted_and_reported(tmp_path):
    wv = random_vectors(words=("a", "b", "c", "d", "e", "f"))
    questions = tmp_path / "q.txt"
    questions.write_text(": family\na b c d\na b c zzz\n: gram1-x\nb c d e\nqqq a b c\nonly three words\n")
    r = evaluation.evaluate_analogies(wv, str(questions))
    assert (r["total"], r["oov"], r["questions"]) == (2, 2, 4)
    assert r["semantic"]["total"] == 1 and r["syntactic"]["total"] == 1 and r["sections"]["family"]["oov"] == 1
    none = evaluation.evaluate_analogies(random_vectors(words=("x", "y", "z")), str(questions))
    assert (none["total"], none["oov"], none["accuracy"]) == (0, 4, 0.0)
    pairs = tmp_path / "p.tsv"
    pairs.write_text("# comment\na\tb\t1.0\na\tzzz\t2.0\nc\td\t3.0\nbad line\n")
    r = evaluation.evaluate_word_pairs(wv, str(pairs))
    assert (r["pairs"], r["oov"]) == (2, 1) and abs(r["spearman"]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="must be one of"):
        evaluation.evaluate_word_pairs(wv, "no-such-set")


@pytest.fixture(scope="module")
def gensim_kv():
    gensim_models = pytest.importorskip("gensim.models")
    from gensim.test.utils import datapath

    sentences = [line.split() for line in open(datapath("lee_background.cor"), encoding="utf-8")]
    model = gensim_models.Word2Vec(sentences, vector_size=24, min_count=3, epochs=2, workers=1, seed=0)
    return model.wv


def test_figures_equal_gensims(gensim_kv, tmp_path):
    from gensim.test.utils import datapath

    wv = WordVectors(tuple(gensim_kv.index_to_key), gensim_kv.vectors)
    for name, file in evaluation.SIMILARITY_SETS.items():
        (pearson, _), (rho, _), oov_pct = gensim_kv.evaluate_word_pairs(datapath(file))
        ours = evaluation.evaluate_word_pairs(wv, name)
        assert ours["spearman"] == pytest.approx(rho, abs=1e-6)
        assert ours["pearson"] == pytest.approx(pearson, abs=1e-5)
        assert 100 * ours["oov_ratio"] == pytest.approx(oov_pct)
    for path in (datapath("questions-words.txt"), answerable_questions(gensim_kv, tmp_path)):
        score, sections = gensim_kv.evaluate_word_analogies(path)
        ours = evaluation.evaluate_analogies(wv, path)
        total = sections[-1]
        assert ours["correct"] == len(total["correct"])
        assert ours["total"] == len(total["correct"]) + len(total["incorrect"])
        for s in sections[:-1]:
            assert ours["sections"][s["section"]]["correct"] == len(s["correct"])
    assert 0 < ours["correct"] < ours["total"]


def answerable_questions(kv, tmp_path):
    """Questions whose answer is gensim's own for half of them (a real set is too hard for these vectors)."""
    rng = np.random.default_rng(0)
    words = kv.index_to_key[:300]
    lines = [": made-up", ]
    for n in range(60):
        a, b, c, d = rng.choice(words, 4, replace=False)
        if n % 2 == 0:
            d = kv.most_similar(positive=[b, c], negative=[a], topn=1)[0][0]
        lines.append(f"{a} {b} {c} {d}")
        if n == 30:
            lines.append(": gram-made-up")
    path = tmp_path / "questions.txt"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_debias_algebra():
    rng = np.random.default_rng(0)
    words = ("woman", "man", "she", "he", "actress", "actor", "doctor", "nurse", "tree")
    wv = WordVectors(words, rng.normal(size=(len(words), 10)).astype(np.float32))
    g = debias.bias_direction(wv, [("woman", "man"), ("she", "he")])
    np.testing.assert_allclose(g, ((wv["woman"] - wv["man"]) + (wv["she"] - wv["he"])) / 2, rtol=1e-5)
    gp = debias.bias_direction(wv, [("woman", "man"), ("she", "he")], method="pca")
    assert abs(np.linalg.norm(gp) - 1) < 1e-5 and float(np.dot(gp, g)) > 0
    unit = np.asarray(evaluation.unit_rows(wv.matrix))
    doctor = debias.neutralize(unit[6], g)
    assert abs(float(np.dot(doctor, g))) < 1e-5
    for denominator in ("course", "paper"):
        e1, e2 = debias.equalize(unit[4], unit[5], g, denominator=denominator)
        for w in (doctor, debias.neutralize(unit[8], g)):
            assert float(np.linalg.norm(e1 - w)) == pytest.approx(float(np.linalg.norm(e2 - w)), abs=1e-5)
        assert float(np.linalg.norm(e1)) == pytest.approx(float(np.linalg.norm(e2)), abs=1e-5)
    assert float(np.linalg.norm(e1)) == pytest.approx(1.0, abs=1e-5)  # the paper's form: unit norm
    out = debias.debias(wv, g, equalize_pairs=[("actress", "actor")])
    for w in ("doctor", "nurse", "tree"):
        assert abs(float(np.dot(out[w], g))) < 1e-5
        assert np.linalg.norm(out["actress"] - out[w]) == pytest.approx(np.linalg.norm(out["actor"] - out[w]), abs=1e-5)
    # found in review: a word in two pairs kept only the last pair's row; degenerate pairs gave NaN
    with pytest.raises(ValueError, match="`equalize_pairs` must name each word once; 'actress' is in"):
        debias.debias(wv, g, equalize_pairs=[("actress", "actor"), ("actress", "nurse")])
    e1 = np.array([0.0, 0.6, 0.8], np.float32)
    for a, b in ((e1, e1), (e1, np.array([0.0, 0.8, 0.6], np.float32))):  # the second: "paper" had 0 / 0
        for denominator in ("course", "paper"):
            out1, out2 = debias.equalize(a, b, np.array([1.0, 0.0, 0.0], np.float32), denominator=denominator)
            assert np.isfinite(out1).all() and np.isfinite(out2).all()
    np.testing.assert_allclose(debias.equalize(e1, e1, np.array([1.0, 0.0, 0.0]))[0], e1, atol=1e-6)  # μ⊥ = e1


def test_benchmark_files_are_found_in_the_data_cache_without_gensim(tmp_path, monkeypatch):
    pytest.importorskip("gensim")
    monkeypatch.setenv("JAXSEQ_DATA", str(tmp_path))
    written = evaluation.copy_test_data()
    assert sorted(os.path.basename(p) for p in written) == ["questions-words.txt", "simlex999.txt", "wordsim353.tsv"]
    monkeypatch.setitem(sys.modules, "gensim", None)  # as if gensim were not installed
    monkeypatch.setitem(sys.modules, "gensim.test.utils", None)
    assert evaluation.test_data_path("wordsim353.tsv") == str(tmp_path / "word-benchmarks" / "wordsim353.tsv")
    assert len(evaluation.load_analogies("google")) == 14
    with pytest.raises(ImportError, match="put a copy at"):
        evaluation.test_data_path("not-there.txt")


# ---- found in review ------------------------------------------------------------------------------


def test_bad_evaluation_input_is_refused_or_reported():
    assert np.isnan(evaluation.spearman([1, np.nan, 3, 4], [1, 2, 3, 5]))  # as scipy: a NaN never passes for a ρ
    with pytest.raises(ValueError, match="`u` and `v` must be vectors of one dimension"):
        evaluation.cosine_similarity(np.ones(5), [2.0])
    with pytest.raises(ValueError, match="`u` and `v` must be vectors of one dimension"):
        evaluation.euclidean_distance(np.ones((2, 5)), np.ones(3))
    wv = WordVectors(tuple(f"w{i}" for i in range(6)), np.random.default_rng(0).normal(size=(6, 4)))
    for k in (0, -1):
        with pytest.raises(ValueError, match="`k` must be a positive integer"):
            evaluation.nearest(wv, "w0", k=k)
    answers = evaluation.analogy(wv, "w0", "w1", "w2", k=5)
    assert len(answers) == 3 and not {"w0", "w1", "w2"} & set(answers)  # question words never answers
    with pytest.raises(ValueError, match=r"`groups` must give one group id per row .* shape \(6,\); got \(1,\)"):
        evaluation.analogy_ids(wv.matrix, [0], [1], [2], groups=[0])


def test_a_bias_direction_of_the_wrong_shape_or_zero_is_refused():
    e = np.random.default_rng(1).normal(size=(3, 4))
    with pytest.raises(ValueError, match=r"`g` must be one direction of the vectors' dimension, shape \(4,\)"):
        debias.neutralize(e, np.array([1.0]))
    with pytest.raises(ValueError, match="`g` must be a nonzero direction"):
        debias.neutralize(e, np.zeros(4))
    wv = WordVectors(("he", "she", "nurse"), e)
    with pytest.raises(ValueError, match="`g` must be one direction"):
        debias.debias(wv, np.array([1.0]))


def test_word_lists_restrict_vocab_and_ids_of_the_wrong_type_are_refused():
    wv = random_vectors(8, 4)
    with pytest.raises(TypeError, match=r"`exclude` must be a collection of words, e.g. \['w3'\]"):
        evaluation.nearest(wv, "w0", 3, exclude="w3")  # not the letters w and 3
    assert "w3" not in [w for w, _ in evaluation.nearest(wv, "w0", 7, exclude=["w3"])]
    with pytest.raises(TypeError, match="`neutral_words` must be a collection of words"):
        debias.debias(wv, np.ones(4), neutral_words="w3", equalize_pairs=[])
    for bad in (-3, 0, 2.5, True):
        with pytest.raises(ValueError, match="`restrict_vocab` must be a positive integer"):
            evaluation.evaluate_word_pairs(wv, restrict_vocab=bad)
        with pytest.raises(ValueError, match="`restrict_vocab` must be a positive integer"):
            evaluation.evaluate_analogies(wv, restrict_vocab=bad)
    with pytest.raises(TypeError, match="`b` must hold integer ids"):
        evaluation.analogy_ids(wv.matrix, [0], [1.9], [2])
    with pytest.raises(ValueError, match=r"`e1` and `e2` must have the same shape .* got \(3, 4\) and \(4,\)"):
        debias.equalize(np.ones((3, 4)), np.ones(4), np.ones(4))


def test_most_similar_and_doesnt_match_equal_gensims(gensim_kv):
    wv = WordVectors(tuple(gensim_kv.index_to_key), gensim_kv.vectors)
    words = gensim_kv.index_to_key
    for positive, negative in [([words[10]], []), ([words[20], words[30]], [words[40]]), ([], [words[5]])]:
        ours = evaluation.most_similar(wv, positive, negative, k=8)
        theirs = gensim_kv.most_similar(positive=positive, negative=negative, topn=8)
        assert [w for w, _ in ours] == [w for w, _ in theirs]
        np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-5)
    group = [words[i] for i in (3, 50, 51, 52, 53)]
    assert evaluation.doesnt_match(wv, group) == gensim_kv.doesnt_match(group)
    # the analogy form agrees with 3CosAdd
    a, b, c = words[20], words[30], words[40]
    assert evaluation.most_similar(wv, [b, c], [a], k=1)[0][0] == evaluation.analogy(wv, a, b, c)[0]
    with pytest.raises(ValueError, match="both empty"):
        evaluation.most_similar(wv)
    with pytest.raises(KeyError, match="'no-such-word' is not among"):
        evaluation.most_similar(wv, ["no-such-word"])
    with pytest.raises(TypeError, match="`positive` must be a collection of words"):
        evaluation.most_similar(wv, words[3])
    with pytest.raises(ValueError, match="at least 2 words"):
        evaluation.doesnt_match(wv, [words[3]])
