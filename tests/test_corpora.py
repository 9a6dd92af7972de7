"""Corpora: the embedded corpus offline, split_text, local files, and downloads from a local server.

Downloads go to an http.server on 127.0.0.1 (port 0) in a thread; the cache is `tmp_path` through
$JAXSEQ_DATA. No test touches the network.
"""
import collections
import dataclasses
import hashlib
import http.server
import io
import os
import threading
import urllib.request
import zipfile

import pytest

from jaxseq import corpora
from jaxseq import pydocs as pydocs_recipe
from jaxseq.corpora import (ChecksumError, CorpusUnavailableError, DownloadError, Part, RemoteFile,
                            download, load_corpus, split_text)

TEXT = "".join(f"line {i}: the quick brown fox jumps over the lazy dog\n" for i in range(200))


# --------------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def pydocs():
    """The embedded corpus, built once for the module (with any network access made to fail)."""
    def no_network(*args, **kwargs):
        raise AssertionError("the embedded corpus must not touch the network")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(urllib.request, "urlopen", no_network)
        return load_corpus("default")


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves `server.routes[path] = (body, declared_length)`; declared > len(body) cuts it off, a
    declared length of -1 sends none (the end of the body is the connection's close)."""

    def do_GET(self):
        route = self.server.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        body, declared = route
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if declared >= 0:
            self.send_header("Content-Length", str(declared))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True  # then the server closes the socket, short or not

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    srv.routes = {}
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


@pytest.fixture
def cache(tmp_path, monkeypatch, server):
    """An empty cache folder under tmp_path as $JAXSEQ_DATA, and no routes left from other tests."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("JAXSEQ_DATA", str(folder))
    server.routes.clear()
    return folder


def _serve(server, path, body, declared=None):
    server.routes[path] = (body, len(body) if declared is None else declared)
    return server.url + path


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _files(folder):
    return sorted(os.path.relpath(os.path.join(d, f), folder) for d, _, fs in os.walk(folder) for f in fs)


# --------------------------------------------------------------------------------------------------
# The embedded corpus


def test_embedded_corpus_is_english_and_nontrivial(pydocs):
    assert pydocs.name == "pydocs" and pydocs.level == "char"
    text = pydocs.train + pydocs.valid + pydocs.test
    assert len(text) > 200_000
    top = [w for w, _ in collections.Counter(text.lower().split()).most_common(20)]
    assert {"the", "a", "of", "to", "is"} <= set(top), top
    assert ">>>" not in text
    for split in (pydocs.train, pydocs.valid, pydocs.test):
        assert split.endswith("\n")
    assert 0.02 < len(pydocs.valid) / len(text) < 0.10 and 0.02 < len(pydocs.test) / len(text) < 0.10
    assert "standard-library modules" in pydocs.source and "\n" not in pydocs.source
    assert load_corpus("pydocs") is pydocs  # the same cached object under either name


def test_embedded_corpus_is_deterministic(pydocs):
    rebuilt = pydocs_recipe.pydocs_documents.__wrapped__()  # a second build, bypassing the cache
    assert rebuilt == pydocs_recipe.pydocs_documents()


def test_prose_filter_drops_code_and_keeps_sentences():
    doc = ("Return the number of items in the container, counting duplicates.\n\n"
           ">>> len([1, 2])\n2\n\n"
           "    x = {'a': [1, 2]} if y else z  # the code that is not prose at all\n\n"
           "Args:\n    n: the number of things that this function reads.\n\n"
           "Short line.")
    assert list(pydocs_recipe.prose_paragraphs(doc)) == [
        "Return the number of items in the container, counting duplicates."]


# --------------------------------------------------------------------------------------------------
# split_text and local files


def test_split_text_is_contiguous_on_line_boundaries_and_deterministic():
    train, valid, test = split_text(TEXT)
    assert train + valid + test == TEXT
    assert train.endswith("\n") and valid.endswith("\n") and valid and test
    assert (len(valid.splitlines()), len(test.splitlines())) == (10, 10)  # 5% of 200 equal lines
    assert split_text(TEXT) == (train, valid, test)
    assert split_text("a\nb\nc") == ("a\n", "b\n", "c")  # each split gets at least one line
    assert split_text(TEXT, 0.0, 0.1)[1] == ""
    assert split_text(TEXT, 0.1, 0.0)[2] == ""


def test_split_text_errors():
    with pytest.raises(ValueError, match="`text` is empty"):
        split_text("")
    with pytest.raises(ValueError, match="`text` has 2 word"):  # 2 lines, and 2 words to cut at instead
        split_text("a\nb\n")
    with pytest.raises(ValueError, match="`valid_frac` must lie in"):
        split_text(TEXT, valid_frac=-0.1)
    with pytest.raises(ValueError, match="must be below 1"):
        split_text(TEXT, 0.5, 0.5)


def test_local_file_and_folder(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text(TEXT, encoding="utf-8")
    corpus = load_corpus(path)
    assert corpus.train + corpus.valid + corpus.test == TEXT
    assert (corpus.train, corpus.valid, corpus.test) == split_text(TEXT)
    assert load_corpus(str(path)).train == corpus.train

    folder = tmp_path / "books"
    folder.mkdir()
    (folder / "b.txt").write_text("second book\n" * 10, encoding="utf-8")
    (folder / "a.txt").write_text("first book" + "\nfirst book" * 9, encoding="utf-8")  # no final \n
    (folder / "skip.md").write_text("not a text file\n", encoding="utf-8")
    corpus = load_corpus(folder)
    assert corpus.train + corpus.valid + corpus.test == "first book\n" * 10 + "second book\n" * 10
    assert "2 *.txt files" in corpus.source


def test_local_errors(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="empty.txt' is empty"):
        load_corpus(empty)
    (tmp_path / "nothing").mkdir()
    with pytest.raises(ValueError, match="folder with no \\*.txt files"):
        load_corpus(tmp_path / "nothing")
    with pytest.raises(ValueError, match="known corpus name .*'tiny-shakespeare'.*got 'no-such-corpus'"):
        load_corpus("no-such-corpus")


# --------------------------------------------------------------------------------------------------
# Downloads


def test_download_with_correct_checksum(server, cache):
    body = TEXT.encode() * 3
    dest = download(_serve(server, "/good.txt", body), cache / "x" / "good.txt", sha256=_sha(body),
                    progress=False)
    assert dest == cache / "x" / "good.txt" and dest.read_bytes() == body
    assert _files(cache) == ["x/good.txt"]


def test_download_without_checksum_records_and_prints_it(server, cache, capsys):
    body = b"some bytes\n"
    dest = download(_serve(server, "/new.txt", body), cache / "new.txt", progress=False)
    assert (cache / "new.txt.sha256").read_text().split() == [_sha(body), "new.txt"]
    assert _sha(body) in capsys.readouterr().err
    assert dest.read_bytes() == body


def test_download_with_wrong_checksum_leaves_nothing(server, cache):
    body = b"unexpected content\n"
    with pytest.raises(ChecksumError) as info:
        download(_serve(server, "/bad.txt", body), cache / "bad.txt", sha256="0" * 64, progress=False)
    assert "0" * 64 in str(info.value) and _sha(body) in str(info.value)
    assert (info.value.expected, info.value.received) == ("0" * 64, _sha(body))
    assert _files(cache) == []  # neither the file nor a temporary one


def test_download_cut_off_midway_leaves_nothing(server, cache):
    url = _serve(server, "/cut.txt", b"x" * 5000, declared=20_000)
    with pytest.raises(DownloadError, match="connection closed after 5,000 of 20,000 bytes") as info:
        download(url, cache / "cut.txt", progress=False)
    assert info.value.url == url and isinstance(info.value, OSError)
    assert _files(cache) == []


def test_download_http_error(server, cache):
    with pytest.raises(DownloadError, match="HTTP 404"):
        download(server.url + "/missing.txt", cache / "missing.txt", progress=False, timeout=5)
    assert _files(cache) == []


# --------------------------------------------------------------------------------------------------
# Named corpora


def _point_at(monkeypatch, name, **parts):
    entry = dataclasses.replace(corpora.CORPORA[name], parts=parts)
    monkeypatch.setitem(corpora.CORPORA, name, entry)
    return entry


def test_named_corpus_downloads_once_then_loads_from_cache(server, cache, monkeypatch):
    body = TEXT.encode()
    url = _serve(server, "/input.txt", body)
    _point_at(monkeypatch, "tiny-shakespeare", all=Part(RemoteFile(url, "input.txt", _sha(body))))
    corpus = load_corpus("tiny-shakespeare", progress=False)
    assert (corpus.train, corpus.valid, corpus.test) == split_text(TEXT)
    assert corpus.level == "char" and str(cache / "tiny-shakespeare") in corpus.source
    assert _files(cache) == ["tiny-shakespeare/input.txt"]
    server.routes.clear()  # the server forgets the file: the second load must use the cache
    assert load_corpus("tiny-shakespeare", progress=False) == corpus


def test_named_corpus_from_zip_members(server, cache, monkeypatch):
    buffer = io.BytesIO()
    texts = {"train": TEXT, "valid": "valid text\n", "test": "test text\n"}
    with zipfile.ZipFile(buffer, "w") as archive:
        for split, text in texts.items():
            archive.writestr(f"wikitext-2-raw/wiki.{split}.raw", text)
    file = RemoteFile(_serve(server, "/wt2.zip", buffer.getvalue()), "wt2.zip", _sha(buffer.getvalue()))
    _point_at(monkeypatch, "wikitext-2",
              **{split: Part(file, f"wikitext-2-raw/wiki.{split}.raw") for split in texts})
    corpus = load_corpus("wikitext-2", progress=False)
    assert (corpus.train, corpus.valid, corpus.test) == (texts["train"], texts["valid"], texts["test"])
    assert _files(cache) == ["wikitext-2/wt2.zip"]


def test_ptb_char_files_read_as_plain_text(server, cache, monkeypatch):
    raw = {"train": b"a e r _ b a n k\nn o\n", "valid": b"t h e _ e n d\n", "test": b"x _ y\n"}
    _point_at(monkeypatch, "ptb-char", **{
        split: Part(RemoteFile(_serve(server, f"/ptb.char.{split}.txt", body), f"ptb.char.{split}.txt",
                               _sha(body)))
        for split, body in raw.items()})
    corpus = load_corpus("ptb-char", progress=False)
    assert (corpus.train, corpus.valid, corpus.test) == ("aer bank\nno\n", "the end\n", "x y\n")


def test_cached_file_with_wrong_checksum_is_refused(cache, monkeypatch):
    _point_at(monkeypatch, "tiny-shakespeare",
              all=Part(RemoteFile("http://127.0.0.1:9/input.txt", "input.txt", "0" * 64)))
    (cache / "tiny-shakespeare").mkdir(parents=True)
    (cache / "tiny-shakespeare" / "input.txt").write_text(TEXT)
    with pytest.raises(CorpusUnavailableError, match="has sha256 .* expected 0{64}.*delete it"):
        load_corpus("tiny-shakespeare", progress=False)
    assert load_corpus("tiny-shakespeare", fallback_to_embedded=True, progress=False).name == "pydocs"
    assert (cache / "tiny-shakespeare" / "input.txt").read_text() == TEXT  # the user's file is left alone


def test_explicit_request_failure_says_where_to_put_the_file(server, cache, monkeypatch):
    url = server.url + "/gone/input.txt"  # 404
    _point_at(monkeypatch, "tiny-shakespeare", all=Part(RemoteFile(url, "input.txt", None)))
    with pytest.raises(CorpusUnavailableError) as info:
        load_corpus("tiny-shakespeare", progress=False)
    message = str(info.value)
    assert url in message and str(cache / "tiny-shakespeare" / "input.txt") in message
    assert "HTTP 404" in message
    assert _files(cache) == []


def test_implicit_request_falls_back_to_the_embedded_corpus(server, cache, monkeypatch, capsys, pydocs):
    _point_at(monkeypatch, "tiny-shakespeare",
              all=Part(RemoteFile(server.url + "/gone/input.txt", "input.txt", None)))
    corpus = load_corpus("tiny-shakespeare", fallback_to_embedded=True, progress=False)
    assert corpus is pydocs
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'tiny-shakespeare' is unavailable" in err and "'pydocs'" in err
    assert _files(cache) == []


# ---- found in review ------------------------------------------------------------------------------


def test_a_download_of_unknown_length_and_checksum_is_refused(server, cache):
    """Without a Content-Length or a known sha256 a connection cut midway looks like the file's end."""
    body = TEXT.encode()
    with pytest.raises(DownloadError, match="neither the file's length nor is its checksum known"):
        download(_serve(server, "/nolength.txt", body, declared=-1), cache / "a.txt", progress=False)
    assert _files(cache) == []
    dest = download(_serve(server, "/nolength.txt", body, declared=-1), cache / "b.txt", sha256=_sha(body),
                    progress=False)  # with a known checksum the bytes can be checked instead
    assert dest.read_bytes() == body


def test_a_web_page_or_a_broken_archive_is_not_taken_for_the_corpus(server, cache, monkeypatch):
    page = b"<!DOCTYPE html>\n<html><body>Please log in to download</body></html>\n"
    url = _serve(server, "/ptb.train.txt", page)
    _point_at(monkeypatch, "tiny-shakespeare", all=Part(RemoteFile(url, "input.txt", None)))
    with pytest.raises(CorpusUnavailableError, match="was not the expected file \\(a web page.*it was removed"):
        load_corpus("tiny-shakespeare", progress=False)
    assert _files(cache) == []  # neither the page nor its recorded sha256: the next try downloads again
    server.routes["/ptb.train.txt"] = (TEXT.encode(), len(TEXT.encode()))
    assert load_corpus("tiny-shakespeare", progress=False).train == split_text(TEXT)[0]
    junk = _serve(server, "/text8.zip", b"not a zip at all")
    _point_at(monkeypatch, "wikitext-2", **{s: Part(RemoteFile(junk, "wt2.zip", None), f"wiki.{s}.raw")
                                             for s in ("train", "valid", "test")})
    with pytest.raises(CorpusUnavailableError, match="not a zip archive"):
        load_corpus("wikitext-2", progress=False)
    record = cache / "tiny-shakespeare" / "input.txt.sha256"
    record.write_text("")
    with pytest.raises(CorpusUnavailableError, match="does not hold a sha256"):
        load_corpus("tiny-shakespeare", progress=False)


def test_an_empty_download_is_removed_and_the_fallback_still_applies(server, cache, monkeypatch, capsys):
    url = _serve(server, "/empty.txt", b"")
    _point_at(monkeypatch, "tiny-shakespeare", all=Part(RemoteFile(url, "input.txt", None)))
    with pytest.raises(CorpusUnavailableError, match="was not the expected file \\(it holds no text\\); it was removed"):
        load_corpus("tiny-shakespeare", progress=False)
    assert _files(cache) == []  # it was cached before and failed every later load
    corpus = load_corpus("tiny-shakespeare", fallback_to_embedded=True, progress=False)
    assert corpus.name == "pydocs" and "using the embedded corpus" in capsys.readouterr().err
    with pytest.raises(ValueError, match="`name_or_path` is empty"):
        load_corpus("")  # Path("") is the working directory: its *.txt were loaded


def test_a_text_of_one_line_is_split_at_spaces(tmp_path):
    words = " ".join(f"w{i}" for i in range(1000))
    train, valid, test = split_text(words)
    assert train + valid + test == words and valid.strip() and test.strip()
    assert 0.85 < len(train) / len(words) < 0.95
    assert train.endswith(" ") and valid.endswith(" ")  # cut between words (each piece is a word and its space)
    path = tmp_path / "one-line.txt"
    path.write_text(words)
    assert load_corpus(path).train == train
    (tmp_path / "two-words.txt").write_text("just two")
    with pytest.raises(ValueError, match="two-words.txt.*has 2 word\\(s\\); cutting it .* needs at least 3"):
        load_corpus(tmp_path / "two-words.txt")


def test_a_local_file_that_is_not_utf8_is_named_with_its_line(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"first line\nsecond line\nle caf\xe9\nmore\n")
    with pytest.raises(ValueError, match="latin1.txt, line 3: not UTF-8 text"):
        load_corpus(path)
