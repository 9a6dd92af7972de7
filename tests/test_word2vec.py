"""word2vec and GloVe: planted structure is found, runs are reproducible, bad input is refused clearly."""
import collections
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxseq import evaluation, glove, word2vec
from jaxseq.word2vec import Word2VecConfig

TOPICS = [[f"{t}{i}" for i in range(6)] for t in ("animal", "colour", "number", "tool")]


def planted_corpus(n_sentences=400, length=12, seed=0):
    """Each sentence draws its words from one topic: words of a topic share contexts, so they
    should end up nearest to each other."""
    rng = np.random.default_rng(seed)
    return [list(rng.choice(TOPICS[rng.integers(len(TOPICS))], length)) for _ in range(n_sentences)]


def topic_of(word):
    return next(i for i, t in enumerate(TOPICS) if word in t)


def neighbours_in_topic(vectors, k=3):
    """Fraction of each word's k nearest neighbours (cosine) that share its topic."""
    hits = [topic_of(n) == topic_of(w) for w in vectors.words for n, _ in evaluation.nearest(vectors, w, k)]
    return float(np.mean(hits))


TINY = Word2VecConfig(dim=16, window=3, min_count=1, sample=0.0, epochs=3, batch=256, steps_per_call=4, lr=0.2)


@pytest.mark.parametrize("overrides", [
    dict(),
    dict(model="cbow"),
    dict(loss="hierarchical"),
    dict(loss="softmax", model="cbow"),
    dict(neg_group=4, neg_draws=8),
], ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "skipgram-negative")
def test_planted_structure_is_found(overrides):
    config = dataclasses.replace(TINY, **overrides)
    result = word2vec.train(planted_corpus(), config)
    assert neighbours_in_topic(result.vectors) > 0.9, overrides
    losses = [h["loss"] for h in result.history]
    assert len(losses) == config.epochs and losses[-1] < losses[0] and np.isfinite(losses).all()


def test_glove_finds_planted_structure_and_counts_like_a_loop():
    corpus = planted_corpus(200)
    result = glove.train(corpus, glove.GloVeConfig(dim=16, window=3, min_count=1, epochs=20, x_max=10, batch=512))
    assert neighbours_in_topic(result.vectors) > 0.9
    assert result.history[-1]["loss"] < result.history[0]["loss"]
    # co-occurrence counts equal a plain double loop over each sentence
    vocab = result.vocab
    ids = [[vocab.tokens.index(w) for w in s] for s in corpus[:30]]
    for symmetric in (True, False):
        X = glove.cooccurrence(corpus[:30], vocab, window=3, symmetric=symmetric).dense()
        ref = np.zeros_like(X)
        for s in ids:
            for p, w in enumerate(s):
                for d in range(1, 4):
                    if p - d >= 0:
                        ref[w, s[p - d]] += 1 / d
                        if symmetric:
                            ref[s[p - d], w] += 1 / d
        np.testing.assert_allclose(X, ref, rtol=1e-5)


def test_glove_loss_and_weighting():
    params, _ = glove.init(jax.random.PRNGKey(0), 5, 3)
    i, j = jnp.array([0, 1, 4]), jnp.array([2, 2, 3])
    x = jnp.array([1.0, 50.0, 200.0])
    W, Wt, b, bt = (np.asarray(p, np.float64) for p in params)
    f = np.where(x < 100, (np.asarray(x) / 100) ** 0.75, 1)
    ref = np.sum(f * ((W[i] * Wt[j]).sum(1) + b[i] + bt[j] - np.log(x)) ** 2)
    assert float(glove.loss(params, i, j, x)) == pytest.approx(ref, rel=1e-5)


def test_same_seed_same_vectors_and_different_seed_differs():
    corpus = planted_corpus(100)
    a = word2vec.train(corpus, TINY)
    b = word2vec.train(corpus, TINY)
    c = word2vec.train(corpus, dataclasses.replace(TINY, seed=1))
    np.testing.assert_array_equal(a.vectors.matrix, b.vectors.matrix)
    assert not np.array_equal(a.vectors.matrix, c.vectors.matrix)
    g1 = glove.train(corpus, glove.GloVeConfig(dim=8, min_count=1, epochs=2))
    g2 = glove.train(corpus, glove.GloVeConfig(dim=8, min_count=1, epochs=2))
    np.testing.assert_array_equal(g1.vectors.matrix, g2.vectors.matrix)


def test_streams_a_file_in_chunks_like_a_list(tmp_path):
    corpus = planted_corpus(60)
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(" ".join(s) for s in corpus) + "\n", encoding="utf-8")
    config = dataclasses.replace(TINY, epochs=2, chunk_words=100, cache_words=0)
    from_file = word2vec.train(path, config)
    from_list = word2vec.train(corpus, config)
    from_function = word2vec.train(lambda: iter(corpus), config)
    np.testing.assert_array_equal(from_file.vectors.matrix, from_list.vectors.matrix)
    np.testing.assert_array_equal(from_file.vectors.matrix, from_function.vectors.matrix)
    cached = word2vec.train(corpus, dataclasses.replace(config, cache_words=10**6))
    np.testing.assert_array_equal(cached.vectors.matrix, from_list.vectors.matrix)
    # chunks of about chunk_words words, whole sentences; the first an eighth of that (a sooner start)
    index = {w: i for i, w in enumerate(from_list.vocab.tokens)}
    sizes = [len(ids) for ids, _, _ in word2vec._chunks(corpus, index, 240, first=30)]
    assert sum(sizes) == 60 * 12 and sizes[0] == 36 and all(240 <= n < 252 for n in sizes[1:-1])


@pytest.mark.parametrize("block", [3, 1 << 20])
def test_one_pass_scan_counts_and_encodes_the_corpus_as_the_chunked_reading_does(monkeypatch, block):
    """`train` reads the corpus once before training (`_scan`): its counts, and the chunks it cuts
    from the kept encoding (`_split`), must be those of counting and of reading the text chunk by chunk
    (`_chunks`), for any chunk size, unknown words, and sentences with no known word or no word at all."""
    monkeypatch.setattr(word2vec, "_SCAN_BLOCK", block)  # 3: many blocks and a cut-over to streaming
    rng = np.random.default_rng(5)
    for _ in range(40):
        corpus = [[f"w{i}" for i in rng.integers(0, 12, rng.integers(0, 15))] for _ in range(rng.integers(1, 30))]
        counter = collections.Counter(w for sentence in corpus for w in sentence)
        scan = word2vec._scan(corpus, keep_words=10**6)
        assert dict(zip(scan.words, scan.counts.tolist())) == counter and list(scan.words) == list(counter)
        assert scan.total == sum(counter.values()) and scan.lengths.tolist() == [len(s) for s in corpus if s]  # empty ones skipped
        known = [w for w in scan.words if rng.random() < 0.6]
        index = {w: i for i, w in enumerate(known)}
        chunk_words, first = int(rng.integers(1, 40)), int(rng.integers(0, 10))
        split = word2vec._split(word2vec._encode(scan, index), chunk_words, first=first)
        chunks = list(word2vec._chunks(corpus, index, chunk_words, first=first))
        assert len(split) == len(chunks)
        for (ids, sid, read), (ids2, sid2, read2) in zip(split, chunks):
            assert ids.dtype == ids2.dtype == sid.dtype == sid2.dtype == np.int32 and read == read2
            np.testing.assert_array_equal(ids, ids2)
            np.testing.assert_array_equal(sid, sid2)
        over = word2vec._scan(corpus, keep_words=scan.total - 1)  # too long to keep: counted only
        assert over.ids is None and over.lengths is None and over.total == scan.total
        assert word2vec._scan(corpus, keep_words=scan.total).ids is not None  # just long enough
        np.testing.assert_array_equal(over.counts, scan.counts)


def test_vocabulary_subsampling_and_tables():
    vocab, counts = word2vec.build_vocab([["b", "a", "a", "c"], "a b d"], min_count=2)
    assert vocab.tokens == ("a", "b") and counts.tolist() == [3, 2]
    # ties: first appearance first (60 tied words in shuffled order: NumPy sorts fewer than 16 stably anyway)
    tied = [f"t{i}" for i in np.random.default_rng(3).permutation(60)]
    corpus = [tied + ["z"] + tied[::-1], ["y"] * 3]
    vocab, counts = word2vec.build_vocab(corpus, min_count=1, max_vocab=62)
    assert vocab.tokens == ("y", *tied, "z") and counts.tolist() == [3] + [2] * 60 + [1]
    scan = word2vec._scan(corpus, keep_words=1000)  # train's pass ranks the same way
    assert word2vec._vocab_from_counts(scan.words, scan.counts, 1, 62)[0] == vocab
    keep = word2vec.keep_probabilities(np.array([1000, 10, 1]), 1e-3)
    t = 1e-3 * 1011
    np.testing.assert_allclose(keep, np.minimum(1, (np.sqrt(np.array([1000, 10, 1]) / t) + 1) * t / np.array([1000, 10, 1])))
    p = np.array([0.5, 0.25, 0.125, 0.125])
    prob, alias = word2vec.alias_table(p)
    recovered = np.array([(prob[i] + sum(1 - prob[j] for j in range(4) if alias[j] == i and prob[j] < 1)) / 4
                          for i in range(4)])
    np.testing.assert_allclose(recovered, p, rtol=1e-6)
    tables = word2vec.make_tables(np.array([50, 20, 20, 10]))
    key = jax.random.PRNGKey(0)
    draws = np.asarray(word2vec._sample(key, jnp.int32(0), tables, (40000,)))
    expected = np.array([50, 20, 20, 10]) ** 0.75
    expected = expected / expected.sum()
    np.testing.assert_allclose(np.bincount(draws, minlength=4) / 40000, expected, atol=0.01)
    # the next step's draws are independent of these: they agree as often as two independent draws
    following = np.asarray(word2vec._sample(key, jnp.int32(1), tables, (40000,)))
    assert abs(np.mean(draws == following) - np.sum(expected ** 2)) < 0.015
    np.testing.assert_array_equal(draws, np.asarray(word2vec._sample(key, jnp.int32(0), tables, (40000,))))
    # the 32 bits of a draw: each a fair coin, predicting neither the next bit, the next draw's bit,
    # nor the same draw's bit one step on
    bits = [np.unpackbits(np.asarray(word2vec._bits(key, jnp.int32(t), (20000,))).view(np.uint8)).reshape(-1, 32)
            for t in (7, 8)]
    np.testing.assert_allclose(bits[0].mean(axis=0), 0.5, atol=0.02)
    np.testing.assert_allclose(np.mean(bits[0][:, 1:] == bits[0][:, :-1], axis=0), 0.5, atol=0.02)
    np.testing.assert_allclose(np.mean(bits[0][1:] == bits[0][:-1], axis=0), 0.5, atol=0.02)
    np.testing.assert_allclose(np.mean(bits[0] == bits[1], axis=0), 0.5, atol=0.02)
    points, codes, lengths = word2vec.huffman_tree(np.array([50, 20, 20, 10]))
    assert lengths.tolist() == [1, 3, 2, 3] and points[:, 0].tolist() == [2, 2, 2, 2]  # root first
    assert sum(2.0 ** -lengths) == 1.0  # a full binary tree
    assert len({tuple(c[:n]) for c, n in zip(codes.tolist(), lengths)}) == 4  # prefix codes are distinct


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="empty"):
        word2vec.train([], TINY)
    with pytest.raises(ValueError, match="above every word count.*'a' appears 2 times"):
        word2vec.train([["a", "a", "b"]], dataclasses.replace(TINY, min_count=3))
    with pytest.raises(ValueError, match="at least 2"):
        word2vec.train([["a", "a"]], TINY)
    with pytest.raises(TypeError, match="re-iterable"):
        word2vec.train((s for s in planted_corpus(5)), TINY)
    with pytest.raises(ValueError, match="`model` must be one of"):
        word2vec.train(planted_corpus(5), dataclasses.replace(TINY, model="glove"))
    with pytest.raises(ValueError, match="multiple of `neg_group`"):
        word2vec.train(planted_corpus(5), dataclasses.replace(TINY, neg_group=3))
    with pytest.raises(ValueError, match="empty"):
        glove.train([[]], glove.GloVeConfig(min_count=1))
    with pytest.raises(ValueError, match="co-occurrence matrix is empty"):
        glove.train([["a"], ["b"]], glove.GloVeConfig(min_count=1))
    # found in review: errors that named numpy's argument, Vocab's, or the wrong field
    with pytest.raises(TypeError, match=r"`sentences` must hold words as strings.*got 1 \(int\)"):
        word2vec.train([[1, 2, 3], [1, 2]], TINY)
    for bad in (-1, 1.5):
        with pytest.raises(ValueError, match=f"`seed` must be an integer >= 0; got {bad}"):
            word2vec.train(planted_corpus(5), dataclasses.replace(TINY, seed=bad))
        with pytest.raises(ValueError, match=f"`seed` must be an integer >= 0; got {bad}"):
            glove.train(planted_corpus(5), glove.GloVeConfig(min_count=1, seed=bad))
    with pytest.raises(ValueError, match="`max_vocab` must be 0 .* or at least 2"):
        word2vec.train(planted_corpus(5), dataclasses.replace(TINY, max_vocab=1))


def test_train_step_does_not_recompile():
    corpus = planted_corpus(50)
    word2vec.train(corpus, TINY)
    before = word2vec._run._cache_size()
    word2vec.train(planted_corpus(50, seed=1), TINY)
    assert word2vec._run._cache_size() == before


@pytest.mark.parametrize("model,loss,group", [("skipgram", "negative", 1), ("cbow", "negative", 1),
                                              ("skipgram", "negative", 4), ("skipgram", "hierarchical", 1),
                                              ("cbow", "hierarchical", 1), ("skipgram", "softmax", 1)])
def test_hand_written_step_is_sgd_on_the_loss(model, loss, group):
    """With plain sums (no per-row scaling) a step moves every row by −lr × the gradient that
    jax.grad finds for the batch's total loss — including padded examples and repeated rows."""
    rng = np.random.default_rng(0)
    v, e, b = 12, 5, 8
    counts = rng.integers(1, 50, v)
    tables = word2vec.make_tables(counts, hierarchical=loss == "hierarchical")
    params = word2vec.Params(jnp.asarray(rng.normal(size=(v, e)) * 0.5, jnp.float32),
                             jnp.asarray(rng.normal(size=(v - (loss == "hierarchical"), e)) * 0.5, jnp.float32))
    m = 1 if model == "skipgram" else 4
    x = jnp.asarray(rng.integers(-1 if m > 1 else 0, v, (b, m)), jnp.int32).at[:, 0].set(3)  # row 3 repeated
    y = jnp.asarray(rng.integers(0, v, b), jnp.int32).at[-1].set(-1)  # one padded example
    opts = word2vec.StepOptions(model, loss, 3, group, 0, "sum", "sum")
    key = jax.random.PRNGKey(1)
    step = jax.jit(word2vec._step, static_argnames="config")
    new, total, n = step(params, tables, key, jnp.int32(5), x, y, 0.1, config=opts)
    grads = jax.jit(jax.grad(lambda p: step(p, tables, key, jnp.int32(5), x, y, 0.0, config=opts)[1]))(params)
    assert float(n) == b - 1
    for before, after, g in zip(params, new, grads):
        np.testing.assert_allclose(after - before, -0.1 * g, rtol=2e-4, atol=2e-6)
    # `train` pads the rows with zero columns (faster on the CPU): the same step, and the padding stays 0
    padded, _, _ = step(word2vec._pad_columns(params), tables, key, jnp.int32(5), x, y, 0.1, config=opts)
    for a, b_ in zip(new, padded):
        assert b_.shape[1] == 8
        np.testing.assert_allclose(b_[:, :e], a, rtol=1e-5, atol=1e-6)
        assert not np.any(np.asarray(b_[:, e:]))


@pytest.mark.parametrize("group", [1, 2])
def test_a_negative_draw_of_the_target_itself_is_skipped(group):
    """word2vec.c skips a negative that is the example's own target; with P(target) ≈ 1 every draw is
    one, so only the positive term acts and the target's score u·h rises (unskipped it would fall)."""
    tables = word2vec.make_tables(np.array([10 ** 6, 1, 1]))
    rng = np.random.default_rng(0)
    params = word2vec.Params(*(jnp.asarray(rng.normal(size=(3, 4)) * 0.3, jnp.float32) for _ in range(2)))
    x, y = jnp.array([[1], [2]], jnp.int32), jnp.array([0, 0], jnp.int32)  # contexts 1, 2 → target 0
    opts = word2vec.StepOptions("skipgram", "negative", 5, group, 0, "sum", "sum")
    new, _, _ = word2vec._step(params, tables, jax.random.PRNGKey(0), jnp.int32(0), x, y, 0.1, config=opts)
    score = lambda p: float(p.W_out[0] @ p.W_in[1])
    sig = float(jax.nn.sigmoid(score(params)))
    # by hand, the positive term alone: u += lr (1 − σ) h twice (both examples), h += lr (1 − σ) u
    u, h = params.W_out[0], params.W_in[1]
    u_new = u + 0.1 * (1 - sig) * h + 0.1 * (1 - float(jax.nn.sigmoid(u @ params.W_in[2]))) * params.W_in[2]
    np.testing.assert_allclose(new.W_out[0], u_new, rtol=1e-5, atol=1e-6)
    assert score(new) > score(params)


# --------------------------------------------------------------------------------------------------
# The device pipeline (jaxseq.word2vec_pipeline): examples built by jitted code


def _loop_pairs(ids, sid, m, reach, window, model):
    """The examples of the kept words ids[:m], by a plain double loop over centres and offsets."""
    out = []
    for j in range(m):
        ctx = [ids[j + o] for o in range(-window, window + 1)
               if o != 0 and 0 <= j + o < m and abs(o) <= reach[j] and sid[j + o] == sid[j]]
        if model == "skipgram":
            out += [((c,), ids[j]) for c in ctx]
        elif ctx:
            out.append((tuple(sorted(ctx)), ids[j]))
    return sorted(out)


def _as_examples(x, y, ok):
    x, y, ok = np.asarray(x), np.asarray(y), np.asarray(ok)
    return sorted((tuple(sorted(int(c) for c in row if c >= 0)), int(t)) for row, t in zip(x[ok], y[ok]))


@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_device_pairs_equal_a_loop(model):
    from jaxseq import word2vec_pipeline as pipe

    rng = np.random.default_rng(0)
    N, m, window = 64, 50, 3
    ids = rng.integers(0, 9, N).astype(np.int32)
    sid = np.repeat(np.arange(N // 8), 8).astype(np.int32)  # sentences of 8 words
    reach = rng.integers(1, window + 1, N).astype(np.int32)
    x, y, ok = pipe.pairs(jnp.asarray(ids), jnp.asarray(sid), m, jnp.asarray(reach), window=window, model=model)
    assert _as_examples(x, y, ok) == _loop_pairs(ids, sid, m, reach, window, model)


@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_device_examples_are_the_chunks_examples_shuffled_and_padded(model):
    from jaxseq import word2vec_pipeline as pipe

    rng = np.random.default_rng(1)
    n, N, window, pad = 40, pipe.bucket(40, minimum=16), 2, 32
    ids = np.zeros(N, np.int32)
    ids[:n] = rng.integers(0, 7, n)
    sid = np.zeros(N, np.int32)
    sid[:n] = np.arange(n) // 10
    keep_all = jnp.ones(7, jnp.float32)  # no subsampling: the kept words are the chunk
    x, y, E = pipe.examples(jax.random.PRNGKey(0), jnp.asarray(ids), jnp.asarray(sid), n, keep_all,
                            window=window, model=model, pad=pad)
    x, y, E = np.asarray(x), np.asarray(y), int(E)
    assert (y[:E] >= 0).all() and (y[E:] == -1).all() and len(y) == (2 * window * N if model == "skipgram" else N) + pad
    # the same examples as the loop for some shrunk windows: each centre's contexts lie within `window`
    got = _as_examples(x[:E], y[:E], np.ones(E, bool))
    full = _loop_pairs(ids, sid, n, np.full(N, window), window, model)
    if model == "skipgram":
        assert not (collections.Counter(got) - collections.Counter(full))  # a sub-multiset of the full windows
        assert E >= len(_loop_pairs(ids, sid, n, np.ones(N, int), window, model))  # at least the b = 1 pairs
        _, y_unshuffled, ok = pipe.pairs(jnp.asarray(ids), jnp.asarray(sid), n, jnp.full(N, window),
                                         window=window, model=model)
        assert list(y[:E]) != list(np.asarray(y_unshuffled)[np.asarray(ok)][:E])  # not in the order built
    else:
        assert E == sum(1 for j in range(n) if (sid[max(0, j - 1):j + 2] == sid[j]).sum() > 1)
    # subsampling everything away leaves no examples
    x0, y0, E0 = pipe.examples(jax.random.PRNGKey(0), jnp.asarray(ids), jnp.asarray(sid), n, jnp.zeros(7),
                               window=window, model=model, pad=pad)
    assert int(E0) == 0 and (np.asarray(y0) == -1).all()


@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_device_pipeline_finds_planted_structure_reproducibly(model):
    config = dataclasses.replace(TINY, model=model, pipeline="device", chunk_words=1000)
    a = word2vec.train(planted_corpus(), config)
    b = word2vec.train(planted_corpus(), config)
    assert neighbours_in_topic(a.vectors) > 0.9
    np.testing.assert_array_equal(a.vectors.matrix, b.vectors.matrix)
    losses = [h["loss"] for h in a.history]
    assert losses[-1] < losses[0]
    host = word2vec.train(planted_corpus(), dataclasses.replace(config, pipeline="host"))
    # the same number of examples per epoch up to the randomness of the shrunk windows
    for h, d in zip(host.history, a.history):
        assert abs(h["examples"] - d["examples"]) < 0.05 * h["examples"]


@pytest.mark.parametrize("model", ["skipgram", "cbow"])
def test_device_and_host_pipelines_build_the_same_examples(model):
    """With window 1 (no shrinking) and no subsampling nothing is random but the order: the two
    pipelines must then build the same multiset of examples from a chunk."""
    config = dataclasses.replace(TINY, model=model, window=1, sample=0.0)
    corpus = planted_corpus(30, length=7)
    vocab, counts = word2vec.build_vocab(corpus, min_count=1)
    index = {w: i for i, w in enumerate(vocab.tokens)}
    keep_p = word2vec.keep_probabilities(counts, 0.0)
    (ids, sid, _), = list(word2vec._chunks(corpus, index, 10_000))
    hx, hy = word2vec._examples(ids, sid, keep_p, config, np.random.default_rng(0))
    from jaxseq import word2vec_pipeline as pipe

    N = pipe.bucket(len(ids))
    pad = lambda a: jnp.asarray(np.concatenate([a, np.zeros(N - len(a), np.int32)]))
    dx, dy, E = pipe.examples(jax.random.PRNGKey(3), pad(ids), pad(sid), len(ids), jnp.asarray(keep_p, jnp.float32),
                              window=1, model=model, pad=8)
    E = int(E)
    assert E == len(hy)
    assert _as_examples(dx[:E], dy[:E], np.ones(E, bool)) == _as_examples(hx, hy, np.ones(len(hy), bool))


def test_pipeline_choice():
    assert word2vec.resolve_pipeline("auto") == ("host" if jax.default_backend() == "cpu" else "device")
    assert word2vec.resolve_pipeline("device") == "device"
    with pytest.raises(ValueError, match="`pipeline` must be one of"):
        word2vec.train(planted_corpus(5), dataclasses.replace(TINY, pipeline="gpu"))


def test_device_pipeline_compiles_two_call_lengths():
    config = dataclasses.replace(TINY, pipeline="device", steps_per_call=16, batch=64, dim=12)  # a config of its own
    before = word2vec._run_slices._cache_size()
    word2vec.train(planted_corpus(97), config)
    word2vec.train(planted_corpus(131, seed=2), config)
    assert word2vec._run_slices._cache_size() - before == 2  # steps_per_call and steps_per_call // 8


def test_a_failing_run_leaves_no_producer_thread():
    import threading

    def boom(line):
        raise RuntimeError("log failed")

    before = {t for t in threading.enumerate() if t.name == "jaxseq-prefetch"}
    try:  # the kept exception holds train's frames, as a notebook's last traceback does
        word2vec.train(planted_corpus(200), dataclasses.replace(TINY, pipeline="host", epochs=40), log=boom)
    except RuntimeError as e:  # > 64 calls are still to come: the producer is waiting to put one
        error = e
    assert str(error) == "log failed"
    for t in {t for t in threading.enumerate() if t.name == "jaxseq-prefetch"} - before:
        t.join(timeout=5.0)
        assert not t.is_alive()


@pytest.mark.parametrize("pipeline,cache_words", [("host", 10**6), ("host", 0), ("device", 10**6)])
def test_a_run_resumed_from_an_epoch_checkpoint_gives_the_uninterrupted_vectors(pipeline, cache_words):
    corpus = planted_corpus(120)
    config = dataclasses.replace(TINY, epochs=3, pipeline=pipeline, cache_words=cache_words, chunk_words=400)
    saved = []
    whole = word2vec.train(corpus, config, on_epoch=saved.append)
    assert [c.epoch for c in saved] == [1, 2, 3] and [len(c.history) for c in saved] == [1, 2, 3]
    np.testing.assert_array_equal(saved[-1].params.W_in, whole.vectors.matrix)

    class Stop(Exception):
        pass

    def stop_after_first(checkpoint):
        saved_early.append(checkpoint)
        raise Stop

    saved_early: list = []
    with pytest.raises(Stop):
        word2vec.train(corpus, config, on_epoch=stop_after_first)
    resumed = word2vec.train(corpus, config, resume=saved_early[0])
    np.testing.assert_array_equal(resumed.vectors.matrix, whole.vectors.matrix)
    assert [r["loss"] for r in resumed.history] == [r["loss"] for r in whole.history]
    done = word2vec.train(corpus, config, resume=saved[-1])  # nothing left to train
    np.testing.assert_array_equal(done.vectors.matrix, whole.vectors.matrix)
    # another config, corpus or pipeline would continue another run: refused, naming the difference
    with pytest.raises(ValueError, match="another run \\(dim: 16 in the checkpoint, 8 now\\)"):
        word2vec.train(corpus, dataclasses.replace(config, dim=8), resume=saved[0])
    with pytest.raises(ValueError, match="epochs: 3 in the checkpoint, 2 now"):
        word2vec.train(corpus, dataclasses.replace(config, epochs=2), resume=saved[-1])
    other = "device" if pipeline == "host" else "host"
    with pytest.raises(ValueError, match=f"pipeline: '{pipeline}' in the checkpoint, '{other}' now"):
        word2vec.train(corpus, dataclasses.replace(config, pipeline=other), resume=saved[0])
    with pytest.raises(ValueError, match="corpus: other text"):
        word2vec.train(corpus + [corpus[0]], config, resume=saved[0])
    resumed_streaming = word2vec.train(corpus, dataclasses.replace(config, cache_words=0 if cache_words else 10**6),
                                       resume=saved[0])  # caching the corpus or not changes nothing
    np.testing.assert_array_equal(resumed_streaming.vectors.matrix, whole.vectors.matrix)


def test_a_glove_run_resumed_from_an_epoch_checkpoint_gives_the_uninterrupted_vectors():
    corpus = planted_corpus(80)
    config = glove.GloVeConfig(dim=8, window=3, min_count=1, epochs=3, x_max=10, batch=64)
    saved: list = []
    whole = glove.train(corpus, config, on_epoch=saved.append)
    assert [c.epoch for c in saved] == [1, 2, 3] and [len(c.history) for c in saved] == [1, 2, 3]
    np.testing.assert_array_equal(saved[-1].params.W + saved[-1].params.W_tilde, whole.vectors.matrix)
    resumed = glove.train(corpus, config, resume=saved[0])
    np.testing.assert_array_equal(resumed.vectors.matrix, whole.vectors.matrix)
    assert [r["loss"] for r in resumed.history] == [r["loss"] for r in whole.history]
    chunked = glove.train(corpus, dataclasses.replace(config, chunk_words=50), resume=saved[1])  # counts X alike
    np.testing.assert_array_equal(chunked.vectors.matrix, whole.vectors.matrix)
    with pytest.raises(ValueError, match="another run \\(lr: 0.05 in the checkpoint, 0.1 now\\)"):
        glove.train(corpus, dataclasses.replace(config, lr=0.1), resume=saved[0])
    with pytest.raises(ValueError, match="corpus: other text"):
        glove.train(corpus + [corpus[0]], config, resume=saved[0])  # the same vocabulary, other counts and X
    with pytest.raises(TypeError, match="glove.Checkpoint"):
        glove.train(corpus, config, resume=saved[0]._asdict())
    vocab, _ = word2vec.build_vocab(corpus, min_count=1)  # a vocabulary without counts, as before checkpoints
    given = glove.train(corpus, config, vocab=vocab, on_epoch=lambda c: None)
    np.testing.assert_array_equal(given.vectors.matrix, whole.vectors.matrix)


def test_word2vec_checkpoints_keep_their_corpus_digest():
    """The digest in a checkpoint's settings is SHA-256 of the words, the counts (int64) and the length:
    a change of that formula would refuse every checkpoint written before it."""
    import hashlib

    corpus = planted_corpus(20)
    saved: list = []
    result = word2vec.train(corpus, dataclasses.replace(TINY, epochs=1), on_epoch=saved.append)
    digest = hashlib.sha256("\n".join(result.vocab.tokens).encode("utf-8"))
    digest.update(np.asarray(result.counts, np.int64).tobytes())
    digest.update(str(sum(map(len, corpus))).encode())
    assert saved[0].settings["corpus"] == digest.hexdigest()


def test_the_device_pipeline_lets_go_of_the_host_copy_of_a_kept_corpus(monkeypatch):
    """After the first epoch a kept corpus lives on the device; the host's ids must be freed."""
    import gc
    import weakref

    held = []
    encode = word2vec._encode
    monkeypatch.setattr(word2vec, "_encode", lambda scan, index: held.append(encode(scan, index)) or held[-1])
    refs = []

    def on_epoch(checkpoint):
        if not refs:
            refs.append(weakref.ref(held.pop().ids))
        gc.collect()
        refs.append(refs[0]() is None)

    word2vec.train(planted_corpus(60), dataclasses.replace(TINY, pipeline="device", chunk_words=100), on_epoch=on_epoch)
    assert refs[1:] == [True, True, True]  # freed after the first epoch's chunks were uploaded


def test_a_vocabulary_sharing_no_word_with_the_corpus_is_refused():
    vocab, counts = word2vec.build_vocab([["x", "y", "x", "y"]], min_count=1)
    with pytest.raises(ValueError, match="no word of `sentences` is in `vocab`"):
        word2vec.train(planted_corpus(5), TINY, vocab=vocab, counts=counts)


def test_a_corpus_without_training_examples_is_refused():
    """Sentences of one vocabulary word each give no (context, target) pair: an error, not the
    initial vectors with a loss of 0 — for a kept corpus before training, for a streamed one after."""
    corpus = [["a", f"rare{i}"] for i in range(20)] + [["b", f"other{i}"] for i in range(20)] + [["a"], ["b"]] * 5
    config = dataclasses.replace(TINY, min_count=5)
    with pytest.raises(ValueError, match="no training examples: no sentence holds 2 words of the vocabulary"):
        word2vec.train(corpus, config)
    with pytest.raises(ValueError, match="no training examples"):
        word2vec.train(corpus, dataclasses.replace(config, cache_words=0))  # read again each epoch
    vocab, counts = word2vec.build_vocab(corpus, min_count=5)
    with pytest.raises(ValueError, match="`counts` is given without `vocab`"):
        word2vec.train(corpus, config, counts=counts)
    with pytest.raises(ValueError, match="`counts` is given without `vocab`"):
        glove.train(corpus, glove.GloVeConfig(min_count=1), counts=counts)


def test_a_corpus_file_that_is_not_utf8_is_named_with_its_line(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"the cat sat\nle caf\xe9 est bon\n")
    with pytest.raises(ValueError, match="latin1.txt, line 2: not UTF-8 text"):
        word2vec.build_vocab(str(path), min_count=1)
