"""Word-vector files: round trips, gensim reading our files (and we reading gensim's), clear errors."""

import numpy as np
import pytest

from jaxseq import embedding
from jaxseq.word_vectors import WordVectors, load_glove, load_word2vec, save_word2vec


@pytest.fixture
def vectors():
    rng = np.random.default_rng(0)
    words = ("the", "café", "naïve", "x", "日本")
    return WordVectors(words, (rng.normal(size=(5, 7)) * np.array([1e-8, 1e-3, 1, 1e3, 3e7, 1, 1])).astype(np.float32))


def test_one_hot_times_embedding_matrix_equals_lookup():
    import jax

    p = embedding.init(jax.random.PRNGKey(0), 11, 4)
    ids = np.array([0, 3, 10], np.int32)
    np.testing.assert_allclose(embedding.one_hot(ids, 11) @ p.E, embedding.lookup(p, ids), rtol=1e-6)


@pytest.mark.parametrize("binary", [False, True])
def test_round_trip_is_exact(vectors, tmp_path, binary):
    path = tmp_path / "v.bin"
    save_word2vec(path, vectors, binary=binary)
    back = load_word2vec(path, binary=binary)
    assert back.words == vectors.words
    np.testing.assert_array_equal(back.matrix, vectors.matrix)
    assert not [p for p in tmp_path.iterdir() if p.name != "v.bin"], "a temporary file was left behind"


@pytest.mark.parametrize("binary", [False, True])
def test_gensim_reads_our_files_and_we_read_gensims(vectors, tmp_path, binary):
    gensim_models = pytest.importorskip("gensim.models")
    ours = tmp_path / "ours"
    save_word2vec(ours, vectors, binary=binary)
    kv = gensim_models.KeyedVectors.load_word2vec_format(str(ours), binary=binary)
    assert list(kv.index_to_key) == list(vectors.words)
    np.testing.assert_array_equal(kv.vectors, vectors.matrix)
    theirs = tmp_path / "theirs"
    kv.save_word2vec_format(str(theirs), binary=binary)
    back = load_word2vec(theirs, binary=binary)
    assert back.words == vectors.words
    np.testing.assert_array_equal(back.matrix, vectors.matrix)


def test_glove_format_matches_gensim_on_its_test_file():
    gensim_models = pytest.importorskip("gensim.models")
    from gensim.test.utils import datapath

    ours = load_glove(datapath("test_glove.txt"))
    kv = gensim_models.KeyedVectors.load_word2vec_format(datapath("test_glove.txt"), no_header=True)
    assert list(ours.words) == kv.index_to_key
    np.testing.assert_array_equal(ours.matrix, kv.vectors)


def test_limit_and_lookup(vectors, tmp_path):
    save_word2vec(tmp_path / "v.txt", vectors)
    head = load_word2vec(tmp_path / "v.txt", limit=2)
    assert head.words == ("the", "café") and len(head) == 2 and head.dim == 7
    np.testing.assert_array_equal(head["café"], vectors.matrix[1])
    assert "café" in head and "x" not in head
    with pytest.raises(KeyError, match="'x'"):
        head.index("x")


def test_inconsistent_dimension_names_the_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("3 4\na 1 2 3 4\nb 1 2 3\nc 1 2 3 4\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 3: expected a word and 4 numbers.*got 3"):
        load_word2vec(path)
    glove = tmp_path / "bad.glove"
    glove.write_text("a 1 2 3\nb 1 2 3\nc 1 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 3: expected a word and 3 numbers"):
        load_glove(glove)


def test_other_bad_files(tmp_path):
    (tmp_path / "noheader.txt").write_text("a 1 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="header line"):
        load_word2vec(tmp_path / "noheader.txt")
    (tmp_path / "short.txt").write_text("3 2\na 1 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="header says 3 words"):
        load_word2vec(tmp_path / "short.txt")
    (tmp_path / "long.txt").write_text("2 2\na 1 2\nb 3 4\n\nc 5 6\n", encoding="utf-8")
    with pytest.raises(ValueError, match="header says 2 words, but more rows follow those 2 .*'c 5 6'"):
        load_word2vec(tmp_path / "long.txt")  # as the binary reader refuses trailing records
    assert load_word2vec(tmp_path / "long.txt", limit=2).words == ("a", "b")  # a limit reads no further
    (tmp_path / "glove.txt").write_text("a 1 2\nb 3 4\n", encoding="utf-8")
    assert len(load_glove(tmp_path / "glove.txt", limit=0)) == 0  # as load_word2vec(limit=0), not an error
    assert load_glove(tmp_path / "glove.txt").words == ("a", "b")
    (tmp_path / "nan.txt").write_text("1 2\na 1 x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2"):
        load_word2vec(tmp_path / "nan.txt")
    (tmp_path / "cut.bin").write_bytes(b"2 3\na " + np.zeros(3, "<f4").tobytes() + b"\nb " + b"\0" * 5)
    with pytest.raises(ValueError, match="record 2 of 2 is cut short"):
        load_word2vec(tmp_path / "cut.bin", binary=True)
    (tmp_path / "dup.txt").write_text("2 1\na 1\na 2\n", encoding="utf-8")
    with pytest.warns(UserWarning, match="appears again"):
        wv = load_word2vec(tmp_path / "dup.txt")
    assert wv.words == ("a",) and wv.matrix[0, 0] == 1


def test_bad_vectors_are_refused(tmp_path):
    with pytest.raises(ValueError, match="distinct"):
        WordVectors(("a", "a"), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"shape \(len\(words\), e\) = \(2, e\); got \(3, 3\)"):
        WordVectors(("a", "b"), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="a space, newline or carriage return"):
        save_word2vec(tmp_path / "v.txt", WordVectors(("a b",), np.zeros((1, 2))))


# ---- found in review ------------------------------------------------------------------------------


def test_file_errors_name_the_real_line_and_the_likely_cause(tmp_path):
    p = tmp_path / "blank.txt"
    p.write_text("3 2\na 1 2\n\n\nb 3 4\nc 5 oops\n")
    with pytest.raises(ValueError, match="line 6: the numbers of 'c' do not parse"):
        load_word2vec(p)
    p.write_text("3 4\na 1 2 3 4\nb 1 2 3 4\nc 1 2 3 4\n")
    with pytest.raises(ValueError, match="looks like a word2vec header.*use load_word2vec"):
        load_glove(p)
    p.write_text("5 2\na 1 2\nb 3 4\n")  # cut short: 2 of the 5 words the header announces
    with pytest.raises(ValueError, match="the header says 5 words, but the file holds 2"):
        load_word2vec(p, limit=3)
    assert load_word2vec(p, limit=2).words == ("a", "b")
    save_word2vec(tmp_path / "v.bin", WordVectors(("a", "b"), np.full((2, 4), 1.5)), binary=True)
    with pytest.raises(ValueError, match="not UTF-8 text.*pass binary=True"):
        load_word2vec(tmp_path / "v.bin")


def test_words_with_other_unicode_spaces_round_trip(tmp_path):
    words = ("a\u00a0b", "x\u3000y", "q\x1cr", "plain")
    wv = WordVectors(words, np.arange(8.0).reshape(4, 2))
    for binary in (False, True):
        save_word2vec(tmp_path / "v", wv, binary=binary)
        back = load_word2vec(tmp_path / "v", binary=binary)
        assert back.words == words and np.array_equal(back.matrix, wv.matrix)
    with pytest.raises(ValueError, match="dimension >= 1"):
        save_word2vec(tmp_path / "e", WordVectors(("a",), np.zeros((1, 0))))
    assert (wv == wv) and not (wv == WordVectors(words, wv.matrix))  # identity, never an ambiguous array


def test_a_text_file_or_a_lying_header_read_as_binary_is_refused_even_with_a_limit(vectors, tmp_path):
    save_word2vec(tmp_path / "v.txt", vectors)
    for limit in (None, 2):
        with pytest.raises(ValueError, match="looks like a word2vec text file; load it with binary=False"):
            load_word2vec(tmp_path / "v.txt", binary=True, limit=limit)
    save_word2vec(tmp_path / "v.bin", vectors, binary=True)
    data = (tmp_path / "v.bin").read_bytes()
    assert data.startswith(b"5 7\n")
    (tmp_path / "lie.bin").write_bytes(b"5 6\n" + data[4:])  # one float short a record: out of step
    for limit in (None, 2):
        with pytest.raises(ValueError, match="record 2 holds a line break.*out of step with the header's dimension 6"):
            load_word2vec(tmp_path / "lie.bin", binary=True, limit=limit)
    assert load_word2vec(tmp_path / "v.bin", binary=True, limit=2).words == vectors.words[:2]
