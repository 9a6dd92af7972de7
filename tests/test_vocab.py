"""Vocab: deterministic order, unknown tokens, save/load round trip, one-hot rows; the tokenisers."""
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxseq.vocab import EOS, UNK, Vocab, char_tokens, detokenize, tokenize, word_tokens


def test_order_specials_then_count_then_first_appearance():
    tokens = "b a c a d c e".split()  # counts: a 2, c 2, b 1, d 1, e 1; first seen: b a c d e
    vocab = Vocab.build(tokens)
    assert vocab.tokens == (UNK, EOS, "a", "c", "b", "d", "e")
    assert (vocab.unk_id, vocab.eos_id, len(vocab)) == (0, 1, 7)
    assert Vocab.build(list(tokens)) == vocab  # same input, same vocabulary
    assert Vocab.build(tokens, specials=("<pad>",)).tokens == ("<pad>", "a", "c", "b", "d", "e")


def test_min_count_max_size_and_specials_in_text():
    tokens = "x y x <unk> z x y <eos>".split()
    assert Vocab.build(tokens, min_count=2).tokens == (UNK, EOS, "x", "y")
    assert Vocab.build(tokens, max_size=3).tokens == (UNK, EOS, "x")
    assert Vocab.build(tokens).encode(["<unk>", "<eos>"]).tolist() == [0, 1]


def test_unknown_tokens_map_to_unk():
    vocab = Vocab.build("the cat sat".split())
    ids = vocab.encode("the dog sat".split())
    assert ids.dtype == np.int32 and ids.shape == (3,)
    assert ids[1] == vocab.unk_id
    assert vocab.decode(ids) == ["the", UNK, "sat"]
    assert vocab.encode([]).shape == (0,)


def test_save_load_round_trip(tmp_path):
    tokens = word_tokens("the cat sat on the mat\nthe end\n")
    vocab = Vocab.build(tokens)
    path = tmp_path / "vocab.json"
    vocab.save(path)
    loaded = Vocab.load(path)
    assert loaded == vocab
    np.testing.assert_array_equal(loaded.encode(tokens), vocab.encode(tokens))
    assert os.listdir(tmp_path) == ["vocab.json"]  # no temp file left behind
    vocab2 = Vocab.build(["ü", "日本", "\n"])  # non-ASCII and newline tokens survive JSON
    vocab2.save(path)
    assert Vocab.load(path) == vocab2


def test_one_hot_matmul_is_row_lookup():
    vocab = Vocab.build(char_tokens("hello world\n"))
    ids = vocab.encode(char_tokens("low\nz"))
    e = jax.random.normal(jax.random.PRNGKey(0), (len(vocab), 5))
    one_hot = vocab.one_hot(ids)
    assert one_hot.shape == (5, len(vocab))
    np.testing.assert_allclose(one_hot @ e, e[jnp.asarray(ids)], rtol=1e-6, atol=1e-6)
    assert vocab.one_hot(ids.reshape(1, 5)).shape == (1, 5, len(vocab))


def test_tokenisers_and_detokenize():
    text = "The cat  sat\n\non the mat\n"
    assert word_tokens(text) == ["The", "cat", "sat", EOS, EOS, "on", "the", "mat", EOS]
    assert word_tokens("a b") == ["a", "b", EOS]
    assert detokenize(word_tokens(text), "word") == "The cat sat\n\non the mat\n"
    assert char_tokens("ab\nc") == ["a", "b", "\n", "c"]
    assert detokenize(char_tokens(text), "char") == text
    assert tokenize(text, "char") == char_tokens(text)
    with pytest.raises(ValueError, match="`level` must be one of"):
        tokenize(text, "byte")


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="`tokens` is empty"):
        Vocab.build([])
    with pytest.raises(ValueError, match=r"`min_count`=5 is above every token count.*'a' appears 2"):
        Vocab.build(list("aab"), min_count=5)
    with pytest.raises(TypeError, match="`tokens` must be a sequence of token strings; got one str"):
        Vocab.build("abc")
    vocab = Vocab.build(list("ab"))
    with pytest.raises(TypeError, match="`tokens` must be a sequence"):
        vocab.encode("ab")
    with pytest.raises(ValueError, match=r"`ids` must lie in \[0, 4\)"):
        vocab.decode(np.array([0, 4]))
    with pytest.raises(TypeError, match="`ids` must hold integer ids"):
        vocab.one_hot(jnp.zeros(3))
    with pytest.raises(ValueError, match="no '<unk>' token to map it to"):
        Vocab.build(list("ab"), specials=()).encode(["c"])
    with pytest.raises(ValueError, match="`tokens` must be distinct"):
        Vocab(tokens=("a", "a"))


def test_load_rejects_other_json(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"a": 1}))
    with pytest.raises(ValueError, match="must hold a vocabulary saved by Vocab.save"):
        Vocab.load(path)
