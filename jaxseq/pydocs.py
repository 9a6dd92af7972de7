"""The recipe of the embedded corpus "pydocs": English prose from the Python standard library.

The docstrings of the modules in `PYDOCS_MODULES` (read from their source files with `ast`, never
imported, so nothing runs), then the language-reference topics of ``pydoc_data.topics`` (the text
behind ``help("if")``); `pydocs_documents` gives the exact recipe and `prose_paragraphs` the filter
that keeps prose and drops code. `jaxseq.corpora.embedded_corpus` splits the documents into
train / valid / test.
"""
from __future__ import annotations

import ast
import functools
import gc
import re
import sysconfig
import tokenize
import warnings
from pathlib import Path


PYDOCS_MODULES: tuple[str, ...] = tuple(sorted("""
    __future__ _collections_abc _pydecimal _pyio _strptime abc argparse ast asyncio.base_events
    asyncio.events asyncio.futures asyncio.locks asyncio.protocols asyncio.queues asyncio.runners
    asyncio.selector_events asyncio.sslproto asyncio.streams asyncio.subprocess asyncio.tasks
    asyncio.timeouts asyncio.transports asyncio.unix_events base64 bdb bisect bz2 calendar cmd code
    codecs codeop collections collections.abc colorsys compileall concurrent.futures._base
    concurrent.futures.process concurrent.futures.thread configparser contextlib contextvars copy
    copyreg csv ctypes dataclasses datetime dbm decimal difflib dis doctest email._header_value_parser
    email._policybase email.charset email.contentmanager email.feedparser email.generator email.header
    email.headerregistry email.message email.parser email.policy email.quoprimime email.utils enum
    filecmp fileinput fnmatch fractions ftplib functools genericpath getopt getpass gettext glob
    graphlib gzip hashlib heapq hmac html html.parser http.client http.cookiejar http.cookies
    http.server imaplib importlib importlib._bootstrap importlib._bootstrap_external importlib.abc
    importlib.machinery importlib.metadata importlib.resources importlib.util inspect io ipaddress
    json json.decoder json.encoder keyword linecache locale logging logging.config logging.handlers
    lzma mailbox mimetypes modulefinder multiprocessing.connection multiprocessing.context
    multiprocessing.managers multiprocessing.pool multiprocessing.process multiprocessing.queues
    multiprocessing.shared_memory multiprocessing.synchronize netrc ntpath numbers opcode operator
    optparse os pathlib pdb pickle pickletools pkgutil platform plistlib poplib posixpath pprint
    profile pstats pty py_compile pyclbr pydoc queue quopri random re reprlib rlcompleter runpy sched
    secrets selectors shelve shlex shutil signal site smtplib socket socketserver sqlite3 ssl stat
    statistics string struct subprocess symtable sysconfig tabnanny tarfile tempfile textwrap
    threading timeit token tokenize tomllib trace traceback tracemalloc types typing unittest
    unittest.case unittest.loader unittest.main unittest.mock unittest.result unittest.runner
    unittest.suite urllib.parse urllib.request urllib.robotparser uuid venv warnings wave weakref
    webbrowser wsgiref.handlers wsgiref.headers wsgiref.simple_server wsgiref.util wsgiref.validate
    xml.dom.minidom xml.dom.pulldom xml.etree.ElementTree xml.sax.handler xml.sax.saxutils
    xml.sax.xmlreader xmlrpc.client xmlrpc.server zipapp zipfile zipimport zoneinfo._zoneinfo
""".split()))
"""The standard-library modules whose docstrings make the embedded corpus, in this (sorted) order.

Pure-Python modules only (their docstrings are read from source); a module that a Python version
lacks (``tomllib`` before 3.11, ``asyncio.timeouts`` before 3.11) is skipped. Modules with side
effects on import (``this``, ``antigravity``, ``idlelib``, ``tkinter``, ``turtle``), test packages
and modules deprecated by PEP 594 are left out, though none is imported anyway.
"""

_CODE_SYMBOLS = re.compile(r"[=<>\[\]{}|\\@#$%^&~+]")
_SENTENCE_END = (".", "?", "!", '."', ".)")


def prose_paragraphs(doc: str):
    """The paragraphs of a docstring that read as English prose, each reflowed onto one line.

    A paragraph is a block of non-blank lines. Kept: paragraphs whose lines share one indentation
    (nested blocks are argument tables, grammar or code), with no doctest line (``>>>``, ``...``),
    at least 8 words, ending like a sentence (``.``, ``?``, ``!``), and with at most 1% of their
    characters from ``= < > [ ] { } | \\ @ # $ % ^ & ~ +`` (code, tables, reST underlines).
    """
    for para in re.split(r"\n[ \t]*\n", doc):
        lines = [line.rstrip() for line in para.strip("\n").split("\n")]
        if not lines or not lines[0].strip():
            continue
        indent = len(lines[0]) - len(lines[0].lstrip())
        if any(len(line) - len(line.lstrip()) != indent for line in lines):
            continue
        if any(line.lstrip().startswith((">>>", "...")) for line in lines):
            continue
        text = " ".join(" ".join(line.split()) for line in lines)
        if len(text.split()) < 8 or not text.endswith(_SENTENCE_END):
            continue
        if len(_CODE_SYMBOLS.findall(text)) > 0.01 * len(text):
            continue
        yield text


def _module_source(name: str, stdlib: str) -> Path | None:
    root = Path(stdlib, *name.split("."))
    for path in (root.with_name(root.name + ".py"), root / "__init__.py"):
        if path.is_file():
            return path
    return None


def _docstrings(tree: ast.Module):
    """Docstrings of a module, then of its classes and functions, in source order (depth first)."""
    def visit(node):
        doc = ast.get_docstring(node, clean=True)
        if doc:
            yield doc
        for child in node.body:
            if isinstance(child, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                yield from visit(child)

    return visit(tree)


@functools.lru_cache(maxsize=1)
def pydocs_documents() -> tuple[tuple[str, str], ...]:
    """The documents of the embedded corpus as ``(name, text)`` pairs, in corpus order; cached.

    One document per module of `PYDOCS_MODULES` (name = the module name), then one per topic of
    ``pydoc_data.topics`` in sorted key order (name = ``"topic:<key>"``). A document's text is its
    `prose_paragraphs`, one per line, each ending in a newline; a paragraph already seen earlier in
    the corpus is dropped, and so is a document left empty.
    """
    seen: set[str] = set()
    documents = []

    def add(name: str, docs) -> None:
        kept = []
        for doc in docs:
            for para in prose_paragraphs(doc):
                if para not in seen:
                    seen.add(para)
                    kept.append(para + "\n")
        if kept:
            documents.append((name, "".join(kept)))

    stdlib = sysconfig.get_paths()["stdlib"]
    gc_was_enabled = gc.isenabled()
    gc.disable()  # ast.parse allocates many small objects; collecting during it doubles the time
    try:
        for module in PYDOCS_MODULES:
            path = _module_source(module, stdlib)
            if path is None:
                continue
            with tokenize.open(path) as f:  # honours a coding cookie
                source = f.read()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # e.g. SyntaxWarning for an escape in a newer Python
                tree = ast.parse(source, filename=str(path))
            add(module, _docstrings(tree))
    finally:
        if gc_was_enabled:
            gc.enable()
    try:
        from pydoc_data.topics import topics
    except ImportError:  # some distributions strip pydoc_data
        topics = {}
    for key in sorted(topics):
        add(f"topic:{key}", [topics[key]])
    return tuple(documents)


