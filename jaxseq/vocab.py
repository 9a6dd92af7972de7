"""Vocabularies and tokenisers for language modelling: text -> tokens -> int32 ids -> one-hot rows.

    text --char_tokens / word_tokens--> list[str] --Vocab.encode--> (t,) int32
         <------- detokenize ---------           <--Vocab.decode--

A `Vocab` is an ordered tuple of distinct token strings; a token's id is its position. The order is
fixed by `Vocab.build`: the special tokens first (``("<unk>", "<eos>")`` by default), then the
corpus tokens by descending count, ties broken by first appearance. The same token sequence always
gives the same vocabulary, on any machine.

Two tokenisers, one per level:

* ``char_tokens("ab\\nc") == ["a", "b", "\\n", "c"]`` -- every character, newline included;
* ``word_tokens("A b\\nc") == ["A", "b", "<eos>", "c", "<eos>"]`` -- whitespace-separated words, case
  kept, and every line end (the last line's too, with or without a final newline) becomes ``"<eos>"``,
  the convention of the Penn Treebank language-modelling setup (Mikolov et al. 2010).

``detokenize(word_tokens(text), "word")`` gives the text back up to whitespace: words joined by one
space, one line per ``"<eos>"``.
"""
from __future__ import annotations

import collections
import dataclasses
import json
import os
from typing import Iterable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxseq import _checks
from jaxseq._files import write_text_atomic

UNK = "<unk>"
EOS = "<eos>"
LEVELS = ("char", "word")
_FORMAT = "jaxseq.vocab/1"


def char_tokens(text: str) -> list[str]:
    """Every character of `text` as a token; a newline is a character like any other."""
    _check_text("text", text)
    return list(text)


def word_tokens(text: str) -> list[str]:
    """Whitespace-separated words of `text`, case kept, with ``"<eos>"`` at the end of every line.

    ``word_tokens("the cat\\nsat\\n") == ["the", "cat", "<eos>", "sat", "<eos>"]``; an empty line gives
    a lone ``"<eos>"``; a missing final newline still ends the last line.
    """
    _check_text("text", text)
    tokens: list[str] = []
    for line in text.splitlines():
        tokens.extend(line.split())
        tokens.append(EOS)
    return tokens


def tokenize(text: str, level: str) -> list[str]:
    """`char_tokens(text)` or `word_tokens(text)`, by `level` ("char" or "word")."""
    _checks.one_of("level", level, LEVELS)
    return char_tokens(text) if level == "char" else word_tokens(text)


def detokenize(tokens: Iterable[str], level: str) -> str:
    """Join tokens back into text: characters with ``""``; words with ``" "``, each ``"<eos>"`` a newline."""
    _checks.one_of("level", level, LEVELS)
    tokens = list(tokens)
    if level == "char":
        return "".join(tokens)
    lines, line = [], []
    for token in tokens:
        if token == EOS:
            lines.append(" ".join(line) + "\n")
            line = []
        else:
            line.append(token)
    return "".join(lines) + " ".join(line)


@dataclasses.dataclass(frozen=True)
class Vocab:
    """An ordered vocabulary: ``tokens[i]`` is the token of id ``i``.

    Build one with `Vocab.build`; ``Vocab(tokens=(...))`` takes an explicit order (distinct strings).
    """

    tokens: tuple[str, ...]
    _index: dict = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self):
        tokens = tuple(self.tokens)
        if not tokens or not all(isinstance(t, str) for t in tokens):
            raise ValueError(f"`tokens` must be a non-empty sequence of strings; got {self.tokens!r:.200}")
        index = {t: i for i, t in enumerate(tokens)}
        if len(index) != len(tokens):
            dupes = sorted(t for t, n in collections.Counter(tokens).items() if n > 1)
            raise ValueError(f"`tokens` must be distinct; got repeated tokens {dupes[:10]}")
        object.__setattr__(self, "tokens", tokens)
        object.__setattr__(self, "_index", index)

    @classmethod
    def build(
        cls,
        tokens: Iterable[str],
        *,
        min_count: int = 1,
        max_size: int | None = None,
        specials: Sequence[str] = (UNK, EOS),
    ) -> "Vocab":
        """The vocabulary of a token sequence (usually the training split's).

        Order: `specials` first, in the order given; then every other token seen at least `min_count`
        times, by descending count, ties broken by first appearance. `max_size` caps the total size,
        specials included (the rarest tokens are cut). Occurrences of a special in `tokens` (the
        ``"<unk>"`` of the Penn Treebank files, the ``"<eos>"`` of `word_tokens`) map to the special.
        """
        if isinstance(tokens, str):
            raise TypeError("`tokens` must be a sequence of token strings; got one str "
                            "(split it first with char_tokens or word_tokens)")
        tokens = list(tokens)
        if not tokens:
            raise ValueError("`tokens` is empty; a vocabulary needs at least one token to count")
        _checks.positive_int("min_count", min_count)
        if isinstance(specials, str):  # tuple("<unk>") would be its characters
            raise TypeError(f"`specials` must be a sequence of token strings; got one str {specials!r} "
                            f"(write ({specials!r},))")
        specials = tuple(specials)
        if len(set(specials)) != len(specials):
            raise ValueError(f"`specials` must be distinct; got {specials}")
        if max_size is not None:
            _checks.positive_int("max_size", max_size)
            if max_size < len(specials):
                raise ValueError(f"`max_size` must be at least the number of specials {len(specials)} "
                                 f"{specials}; got {max_size}")
        counts = collections.Counter(tokens)  # insertion order = first appearance
        special_set = set(specials)
        ranked = [(t, n) for t, n in counts.items() if t not in special_set]
        ranked.sort(key=lambda tn: -tn[1])  # stable: ties keep first-appearance order
        kept = [t for t, n in ranked if n >= min_count]
        if ranked and not kept:
            raise ValueError(f"`min_count`={min_count} is above every token count: the most frequent "
                             f"token {ranked[0][0]!r} appears {ranked[0][1]} times")
        if max_size is not None:
            kept = kept[: max_size - len(specials)]
        return cls(tokens=specials + tuple(kept))

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self._index

    @property
    def unk_id(self) -> int:
        """Id of ``"<unk>"``, which unknown tokens encode to."""
        return self._special_id(UNK)

    @property
    def eos_id(self) -> int:
        """Id of ``"<eos>"``, the end-of-line token of `word_tokens`."""
        return self._special_id(EOS)

    def _special_id(self, token: str) -> int:
        if token not in self._index:
            raise ValueError(f"this vocabulary has no {token!r} token (build it with {token!r} in `specials`)")
        return self._index[token]

    def encode(self, tokens: Iterable[str]) -> np.ndarray:
        """Token strings -> ids, a ``(t,)`` int32 array; tokens not in the vocabulary -> `unk_id`."""
        if isinstance(tokens, str):
            raise TypeError("`tokens` must be a sequence of token strings; got one str "
                            "(split it first with char_tokens or word_tokens)")
        tokens = list(tokens)
        index = self._index
        unk = index.get(UNK)
        ids = [index.get(t, unk) for t in tokens]
        if unk is None and None in ids:
            missing = next(t for t, i in zip(tokens, ids) if i is None)
            raise ValueError(f"`tokens` holds {missing!r}, which is not in the vocabulary, and the "
                             f"vocabulary has no {UNK!r} token to map it to")
        return np.asarray(ids, dtype=np.int32).reshape(len(ids))

    def decode(self, ids) -> list[str]:
        """Ids ``(t,)`` -> token strings; the inverse of `encode` on known tokens."""
        ids = np.asarray(ids)
        _checks.integer("ids", ids)
        if ids.ndim != 1:
            raise ValueError(f"`ids` must have shape (t,); got {ids.shape}")
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            raise ValueError(f"`ids` must lie in [0, {len(self)}) (the vocabulary size); "
                             f"got values in [{ids.min()}, {ids.max()}]")
        return [self.tokens[i] for i in ids.tolist()]

    def one_hot(self, ids, *, dtype=jnp.float32) -> jax.Array:
        """Ids ``(...)`` -> one-hot rows ``(..., v)``, so ``one_hot(ids) @ E == E[ids]`` for E ``(v, e)``."""
        _checks.integer("ids", ids)
        _checks.ids_below("ids", ids, len(self))
        return jax.nn.one_hot(ids, len(self), dtype=dtype)

    def save(self, path: str | os.PathLike) -> None:
        """Write the vocabulary to `path` as JSON, atomically (a temp file in the same folder, then replaced)."""
        text = json.dumps({"format": _FORMAT, "tokens": list(self.tokens)}, ensure_ascii=False, indent=0)
        write_text_atomic(path, text + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Vocab":
        """Read a vocabulary written by `save`."""
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"`path` {os.fspath(path)!r} must hold a vocabulary saved by Vocab.save (UTF-8 "
                             f"JSON); it does not parse ({e})") from None
        if not isinstance(data, dict) or data.get("format") != _FORMAT or "tokens" not in data:
            got = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise ValueError(f"`path` {os.fspath(path)!r} must hold a vocabulary saved by Vocab.save "
                             f"(format {_FORMAT!r}); got format {got!r}")
        if not isinstance(data["tokens"], list):  # a str would load as its characters
            raise ValueError(f"`path` {os.fspath(path)!r}: its \"tokens\" must be a list of strings; got "
                             f"{type(data['tokens']).__name__}")
        return cls(tokens=tuple(data["tokens"]))


def _check_text(name: str, text: object) -> None:
    if not isinstance(text, str):
        raise TypeError(f"`{name}` must be a str; got {type(text).__name__}")
