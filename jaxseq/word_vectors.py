"""Word vectors and their files: the word2vec text and binary formats and GloVe's text format.

A `WordVectors` is an ordered tuple of distinct words and a (v, e) matrix whose row i is the
vector of ``words[i]`` — the E of `jaxseq.embedding`, rows as words. The three file formats:

* **word2vec text** (Mikolov's ``-binary 0``; gensim's ``binary=False``): a header line ``"v e"``,
  then one line per word, ``word x1 x2 ... xe``, separated by single spaces.
* **word2vec binary** (``-binary 1``): the same header line, then per word the word's UTF-8 bytes,
  one space, and e little-endian float32 (4e bytes). word2vec.c ends each record with a newline,
  gensim does not; both are read, and `save_word2vec` writes word2vec.c's form.
* **GloVe text** (Stanford's ``glove.6B.50d.txt``): the word2vec text format without the header.

    wv = load_word2vec("vectors.bin", binary=True)
    save_word2vec("vectors.txt", wv)       # gensim's KeyedVectors.load_word2vec_format reads it back
    wv["king"], wv.index("king"), "king" in wv, len(wv), wv.dim

Text files are written with 9 significant digits, which gives every float32 back exactly.
Saving is atomic and streamed (a temporary file in the same folder, then renamed), as
`jaxseq.checkpoint`.
Words must not contain a space, newline or carriage return (the formats' separators; other Unicode
spaces are kept, as gensim keeps them). A file whose lines disagree
on the dimension is an error naming the line; a repeated word keeps its first vector, with a
warning, as gensim does.
"""
from __future__ import annotations

import dataclasses
import mmap
import os
import warnings
from typing import Iterable, Optional, Sequence

import numpy as np

from jaxseq._files import atomic_write

__all__ = ["WordVectors", "load_word2vec", "load_glove", "save_word2vec"]


@dataclasses.dataclass(frozen=True, eq=False)  # identity comparison: == on an ndarray field is ambiguous
class WordVectors:
    """Words and their vectors: ``matrix[i]`` (float32, shape (e,)) is the vector of ``words[i]``."""

    words: tuple[str, ...]
    matrix: np.ndarray  # (v, e)
    _index: dict = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self):
        words = tuple(self.words)
        if not all(isinstance(w, str) for w in words):
            raise TypeError(f"`words` must be strings; got {sorted({type(w).__name__ for w in words})}")
        matrix = np.asarray(self.matrix, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(words):
            raise ValueError(f"`matrix` must have shape (len(words), e) = ({len(words)}, e); got {matrix.shape}")
        index = {w: i for i, w in enumerate(words)}
        if len(index) != len(words):
            seen, dupes = set(), []
            for w in words:
                if w in seen:
                    dupes.append(w)
                seen.add(w)
            raise ValueError(f"`words` must be distinct; got repeated words {dupes[:10]}")
        object.__setattr__(self, "words", words)
        object.__setattr__(self, "matrix", matrix)
        object.__setattr__(self, "_index", index)

    def __repr__(self) -> str:
        head = ", ".join(self.words[:5]) + (", ..." if len(self) > 5 else "")
        return f"WordVectors({len(self)} words × {self.dim} dims: {head})"

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self._index

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def index(self, word: str) -> int:
        """Row of `word`; KeyError naming the word if it is not there."""
        try:
            return self._index[word]
        except KeyError:
            raise KeyError(f"word {word!r} is not among the {len(self)} words of these vectors") from None

    def indices(self, words: Iterable[str]) -> np.ndarray:
        """Rows of several words, an int32 array; KeyError naming the first missing word."""
        return np.asarray([self.index(w) for w in words], dtype=np.int32)

    def __getitem__(self, word: str) -> np.ndarray:
        return self.matrix[self.index(word)]

    def subset(self, words: Sequence[str]) -> "WordVectors":
        """The vectors of `words` only, in that order."""
        return WordVectors(tuple(words), self.matrix[self.indices(words)])


# --------------------------------------------------------------------------------------------------
# Saving


def save_word2vec(path: str | os.PathLike, vectors: WordVectors, *, binary: bool = False) -> None:
    """Write `vectors` in the word2vec text (default) or binary format, atomically."""
    if not isinstance(vectors, WordVectors):
        raise TypeError(f"`vectors` must be a WordVectors; got {type(vectors).__name__}")
    bad = next((w for w in vectors.words if not w or any(c in w for c in " \n\r")), None)
    if bad is not None:
        raise ValueError(f"`vectors` holds the word {bad!r}: the word2vec formats cannot store an empty "
                         f"word or one with a space, newline or carriage return (their separators)")
    v, e = vectors.matrix.shape
    if e < 1:
        raise ValueError(f"`vectors` must have a dimension >= 1 to be saved; got matrix shape {vectors.matrix.shape}")
    with atomic_write(path, "wb") as out:  # readers never see half a file
        out.write(f"{v} {e}\n".encode("utf-8"))
        if binary:
            data = vectors.matrix.astype("<f4", copy=False)
            for word, row in zip(vectors.words, data):
                out.write(word.encode("utf-8") + b" " + row.tobytes() + b"\n")
        else:
            fmt = " ".join(["%.9g"] * e)
            for word, row in zip(vectors.words, vectors.matrix.tolist()):
                out.write(f"{word} {fmt % tuple(row)}\n".encode("utf-8"))


# --------------------------------------------------------------------------------------------------
# Loading


def load_word2vec(path: str | os.PathLike, *, binary: bool = False, limit: Optional[int] = None,
                  unicode_errors: str = "strict") -> WordVectors:
    """Read a word2vec text (default) or binary file; `limit` keeps only the first `limit` words.

    `unicode_errors` ("strict", "replace", "ignore") is passed to the UTF-8 decoder: word2vec.c
    truncates long words byte-wise and can leave half a character.
    """
    _check_limit(limit)
    path = os.fspath(path)
    if binary:
        return _load_binary(path, limit, unicode_errors)
    with open(path, "rb") as f:
        header = f.readline()
        v, e = _parse_header(header, path)
        n = v if limit is None else min(v, limit)
        words, matrix = _read_text_rows(f, path, first_line=2, dim=e, limit=n, unicode_errors=unicode_errors)
        if limit is None and len(words) == n:  # the whole file was asked for: nothing but blank lines may follow
            for raw in f:
                if raw.strip():
                    text = raw[:40].decode("utf-8", errors="replace").rstrip()
                    raise ValueError(f"{path}: the header says {v} words, but more rows follow those {v} (the next "
                                     f"starts {text!r}); fix the header's word count")
    if len(words) != n:
        raise ValueError(f"{path}: the header says {v} words, but the file holds {len(words)}"
                         + (f" (fewer than limit={limit})" if limit is not None and limit < v else ""))
    return _build(words, matrix, path)


def load_glove(path: str | os.PathLike, *, limit: Optional[int] = None,
               unicode_errors: str = "strict") -> WordVectors:
    """Read a GloVe text file (``word x1 ... xe`` per line, no header); e is taken from the first line."""
    _check_limit(limit)
    path = os.fspath(path)
    with open(path, "rb") as f:
        first = f.readline().split()
        if len(first) == 2 and all(p.isdigit() for p in first):
            raise ValueError(f"{path}, line 1: {b' '.join(first).decode()!r} looks like a word2vec header "
                             "`<number of words> <dimension>`; GloVe files have none: use load_word2vec")
        f.seek(0)
        words, matrix = _read_text_rows(f, path, first_line=1, dim=None, limit=limit, unicode_errors=unicode_errors)
    if not words and limit != 0:
        raise ValueError(f"{path}: no vectors in the file (GloVe format: one `word x1 ... xe` a line)")
    return _build(words, matrix, path)


def _check_limit(limit) -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 0):
        raise ValueError(f"`limit` must be None or a non-negative integer; got {limit!r}")


def _parse_header(line: bytes, path: str) -> tuple[int, int]:
    parts = line.split()
    try:
        v, e = (int(p) for p in parts)
    except ValueError:
        raise ValueError(f"{path}, line 1: a word2vec file starts with a header line `<number of words> "
                         f"<dimension>`; got {line[:80]!r} (a GloVe file? use load_glove)") from None
    if v < 0 or e < 1:
        raise ValueError(f"{path}, line 1: the header must give a word count >= 0 and a dimension >= 1; got {v} {e}")
    return v, e


def _read_text_rows(f, path: str, *, first_line: int, dim: Optional[int], limit: Optional[int],
                    unicode_errors: str) -> tuple[list[str], np.ndarray]:
    words: list[str] = []
    rows: list[list[str]] = []
    line_nos: list[int] = []
    if limit == 0:
        return words, np.zeros((0, dim or 0), np.float32)
    for line_no, raw in enumerate(f, start=first_line):
        try:
            line = raw.decode("utf-8", errors=unicode_errors).rstrip("\r\n")
        except UnicodeDecodeError as err:
            raise ValueError(f"{path}, line {line_no}: not UTF-8 text ({err.reason} at byte {err.start}); a binary "
                             "word2vec file? pass binary=True (or unicode_errors='replace')") from None
        parts = line.rstrip().split(" ")
        if len(parts) == 1 and not parts[0]:
            continue  # a blank line (e.g. the end of the file)
        if dim is None:
            dim = len(parts) - 1
            if dim < 1:
                raise ValueError(f"{path}, line {line_no}: expected a word and its numbers; got {line[:80]!r}")
        if len(parts) != dim + 1:
            raise ValueError(f"{path}, line {line_no}: expected a word and {dim} numbers (the dimension "
                             f"of the {'header' if first_line == 2 else 'first line'}); got {len(parts) - 1} "
                             f"numbers after {parts[0][:40]!r}")
        words.append(parts[0])
        rows.append(parts[1:])
        line_nos.append(line_no)
        if limit is not None and len(words) >= limit:
            break  # the next line stays unread (load_word2vec checks what follows a whole file)
    try:
        matrix = np.asarray(rows, dtype=np.float32).reshape(len(rows), dim or 0)
    except ValueError:
        for i, row in enumerate(rows):  # find the offending line for the message
            try:
                np.asarray(row, dtype=np.float32)
            except ValueError as err:
                raise ValueError(f"{path}, line {line_nos[i]}: the numbers of {words[i][:40]!r} do not "
                                 f"parse as floats ({err})") from None
        raise
    return words, matrix


# the bytes of numbers written as text: a binary vector made only of these is a text file read as binary
_TEXT_BYTES = b"0123456789.-+eE \t\r\n"


def _load_binary(path: str, limit: Optional[int], unicode_errors: str) -> WordVectors:
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            raise ValueError(f"{path}: the file is empty; expected a word2vec binary file")
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            end = m.find(b"\n")
            if end < 0:
                raise ValueError(f"{path}: no header line; expected `<number of words> <dimension>`")
            v, e = _parse_header(m[:end], path)
            n = v if limit is None else min(v, limit)
            width = 4 * e
            words = []
            matrix = np.empty((n, e), dtype=np.float32)
            pos = end + 1
            for i in range(n):
                while pos < size and m[pos:pos + 1] in (b"\n", b"\r"):
                    pos += 1
                space = m.find(b" ", pos)
                if space < 0 or space + 1 + width > size:
                    raise ValueError(f"{path}: record {i + 1} of {v} is cut short (the file ends at byte "
                                     f"{size}); expected a word, a space and {e} float32")
                if i == 0 and not m[space + 1:space + 1 + width].translate(None, _TEXT_BYTES):
                    raise ValueError(f"{path}: the first vector is text ({m[space + 1:space + 41]!r}...), not {e} "
                                     f"float32: this looks like a word2vec text file; load it with binary=False")
                if b"\n" in m[pos:space]:
                    raise ValueError(f"{path}: the word of record {i + 1} holds a line break "
                                     f"({m[pos:space][:40]!r}): the records are out of step with the header's "
                                     f"dimension {e} (is the header right? is this a text file? then binary=False)")
                try:
                    words.append(m[pos:space].decode("utf-8", errors=unicode_errors))
                except UnicodeDecodeError as err:
                    raise ValueError(f"{path}: the word of record {i + 1} is not UTF-8 ({err.reason}); pass "
                                     "unicode_errors='replace' (word2vec.c can cut a character in half), unless "
                                     f"the records are out of step with the header's dimension {e}") from None
                matrix[i] = np.frombuffer(m, dtype="<f4", count=e, offset=space + 1)
                pos = space + 1 + width
            if limit is None:
                rest = m[pos:].strip()
                if rest:
                    raise ValueError(f"{path}: {len(rest)} bytes follow the {v} records the header announces "
                                     f"(dimension {e}); is the header right?")
    return _build(words, matrix, path)


def _build(words: list[str], matrix: np.ndarray, path: str) -> WordVectors:
    index: dict[str, int] = {}
    keep = []
    for i, w in enumerate(words):
        if w in index:
            warnings.warn(f"{path}: the word {w!r} appears again (record {i + 1}); keeping its first vector "
                          f"(record {index[w] + 1})", stacklevel=3)
            continue
        index[w] = i
        keep.append(i)
    if len(keep) != len(words):
        words = [words[i] for i in keep]
        matrix = matrix[keep]
    return WordVectors(tuple(words), matrix)
