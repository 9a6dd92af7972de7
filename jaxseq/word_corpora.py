"""Sentences for training word vectors, and the small labelled set for the transfer experiment.

    sentences("enwiki-sample")    gensim's English Wikipedia sample, tokenised by gensim's WikiCorpus
                                  (452,944 words; cached as a text file, one ≤ 10,000-word piece a line)
    sentences("default")          the embedded "pydocs" corpus of `jaxseq.corpora` (always offline)
    sentences("wikitext-2")       any name of `jaxseq.corpora.CORPORA`, tokenised by `simple_tokens`
    sentences("corpus.txt")       a text file: one sentence a line, words split on whitespace, streamed

The named corpora are lower-cased and split into words by `simple_tokens` (letters only, as
WikiCorpus does), one sentence per non-empty line. A path is used as it is, read lazily by the
trainers, so it may be larger than memory. `max_words` keeps only the first sentences, up to that
many words (for quick runs).

`polarity()` is the only labelled text set in gensim's test data: ``pang_lee_polarity.cor``, 200
movie-review sentences (Pang & Lee's sentence polarity data; 100 ``__label__neg``, 100
``__label__pos``).
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any, NamedTuple, Union

from jaxseq import _checks, corpora
from jaxseq._files import not_utf8

__all__ = ["simple_tokens", "sentences", "open_sentences", "Source", "enwiki_sample_path", "polarity", "NAMES"]

ENWIKI = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
NAMES = ("enwiki-sample", "default", "pydocs", *corpora.CORPORA)
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def simple_tokens(text: str) -> list[str]:
    """Lower-cased words of letters (an inner apostrophe kept): ``"Don't stop, 42 times!"`` →
    ``["don't", "stop", "times"]``."""
    return _WORD.findall(text.lower())


def _gensim_test_file(name: str) -> str:
    try:
        from gensim.test.utils import datapath
    except ImportError:
        raise ImportError(f"{name!r} ships with gensim's test data: pip install gensim (jaxseq[embeddings]), "
                          f"or pick another corpus") from None
    return datapath(name)


def enwiki_sample_path(cache: Union[str, os.PathLike, None] = None) -> Path:
    """The tokenised enwiki sample as a text file (built once with gensim's WikiCorpus, ~3 s)."""
    cache = Path(cache or os.environ.get("JAXSEQ_DATA") or "~/.cache/jaxseq").expanduser()
    path = cache / "enwiki-sample" / "tokens.txt"
    if path.is_file():
        return path
    source = _gensim_test_file(ENWIKI)
    from gensim.corpora import WikiCorpus

    lines = []
    for tokens in WikiCorpus(source, dictionary={}, processes=1).get_texts():
        lines += [" ".join(tokens[i:i + 10_000]) for i in range(0, len(tokens), 10_000)]
    from jaxseq._files import write_text_atomic

    write_text_atomic(path, "\n".join(lines) + "\n")
    return path


class Source(NamedTuple):
    """What `open_sentences` found: the sentences and the name of the corpus they are."""
    sentences: Any  # a path (streamed) or a list of token lists, for `word2vec.train` / `glove.train`
    name: str  # the corpus used: the name or path asked for, or the embedded corpus's name after a fallback


def open_sentences(name_or_path: Union[str, os.PathLike] = "enwiki-sample", *, max_words: int = 0,
                   fallback_to_embedded: bool = False) -> Source:
    """The sentences of a corpus by name or path, with the name of the corpus actually used.

    With `fallback_to_embedded`, the default "enwiki-sample" falls back to the embedded corpus when
    it is unavailable (no gensim), with one line on stderr. A corpus named otherwise loads or fails
    (`corpora.CorpusUnavailableError` naming where to put its files): never another corpus.
    """
    _checks.nonnegative_int("max_words", max_words)
    name = os.fspath(name_or_path)
    if name == "enwiki-sample":
        try:
            path = enwiki_sample_path()
        except ImportError as e:
            if not fallback_to_embedded:
                raise
            print(f"jaxseq: {e}; using the embedded corpus {corpora.EMBEDDED!r} instead", file=sys.stderr)
            return open_sentences(corpora.EMBEDDED, max_words=max_words)
        return Source(_head(path, max_words) if max_words else path, name)
    if name in corpora.known_names():
        corpus = corpora.load_corpus(name, progress=False)
        lines = (simple_tokens(line) for line in corpus.train.splitlines())
        return Source(_take([t for t in lines if t], max_words), corpora.EMBEDDED if name == corpora.DEFAULT else name)
    if os.path.isfile(name):
        return Source(_head(name, max_words) if max_words else name, name)
    raise ValueError(f"`corpus` must be one of {NAMES} or an existing text file; got {name!r}")


def sentences(name_or_path: Union[str, os.PathLike] = "enwiki-sample", *, max_words: int = 0,
              fallback_to_embedded: bool = False):
    """`open_sentences(...).sentences`: a path (streamed) or a list of token lists."""
    return open_sentences(name_or_path, max_words=max_words, fallback_to_embedded=fallback_to_embedded).sentences


def _take(lines: list, max_words: int) -> list:
    if not max_words:
        return lines
    out, n = [], 0
    for tokens in lines:
        if n >= max_words:
            break
        out.append(tokens[: max_words - n])
        n += len(out[-1])
    return out


def _head(path, max_words: int) -> list:
    out, n = [], 0
    with open(path, encoding="utf-8") as f:
        try:
            for line in f:
                tokens = line.split()[: max_words - n]
                if tokens:
                    out.append(tokens)
                    n += len(tokens)
                if n >= max_words:
                    break
        except UnicodeDecodeError as e:
            raise not_utf8(os.fspath(path), e) from None
    return out


def polarity(path: Union[str, os.PathLike, None] = None) -> tuple[list[list[str]], list[int]]:
    """(sentences as token lists, labels 0 = negative / 1 = positive) from a fastText-style file
    (``__label__neg text`` per line, UTF-8 or Windows-1252); default: gensim's ``pang_lee_polarity.cor``."""
    path = os.fspath(path) if path is not None else _gensim_test_file("pang_lee_polarity.cor")
    texts, labels = [], []
    with open(path, "rb") as f:
        for line_no, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:  # Pang & Lee's files are Windows-1252
                line = raw.decode("cp1252", errors="replace")
            if not line.strip():
                continue
            label, _, text = line.strip().partition(" ")
            if label not in ("__label__neg", "__label__pos"):
                raise ValueError(f"{path}, line {line_no}: expected `__label__neg` or `__label__pos` first; "
                                 f"got {label[:40]!r}")
            tokens = simple_tokens(text)
            if tokens:
                texts.append(tokens)
                labels.append(int(label == "__label__pos"))
    return texts, labels
