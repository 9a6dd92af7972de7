"""Atomic file writes: readers see the old file or the new one, never half of one. And the error for
a text file that is not UTF-8 (`not_utf8`)."""
from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", *, suffix: str = ".tmp"):
    """Open a temporary file next to ``path`` (``mode`` "wb", "w", or None to yield its name only);
    on success it is flushed to disk and renamed onto ``path``, on any error it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temp(path, suffix)
    try:
        if mode is None:
            os.close(fd)
            yield tmp
        else:
            with os.fdopen(fd, mode, **({"encoding": "utf-8"} if "b" not in mode else {})) as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_write(path, "w") as f:
        f.write(text)


def save_figure_atomic(fig, path: str | os.PathLike, **savefig_kwargs) -> None:
    """``fig.savefig`` through a temporary file (the suffix keeps matplotlib's format choice; a path
    without one gets matplotlib's default format, PNG unless configured, at exactly that path)."""
    if not Path(path).suffix and "format" not in savefig_kwargs:  # else the temp name's hex reads as one
        import matplotlib

        savefig_kwargs["format"] = matplotlib.rcParams["savefig.format"]
    with atomic_write(path, None, suffix=Path(path).suffix) as tmp:
        fig.savefig(tmp, **savefig_kwargs)


def _create_temp(path: Path, suffix: str) -> tuple[int, str]:
    """A new file next to `path`, opened for writing, with the permissions a plain ``open(path, "w")``
    would give: the existing file's mode if there is one, else 0666 less the process's umask (which
    the kernel applies here; ``tempfile.mkstemp`` would make it 0600)."""
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    while True:  # a random name; O_EXCL makes a clash (1 in 2^64) fail over to another one
        tmp = str(path.parent / f".{path.name}.{secrets.token_hex(8)}{suffix}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:  # pragma: no cover
            continue
        if mode is not None:
            os.chmod(tmp, mode)
        return fd, tmp


def not_utf8(path: str | os.PathLike, error: UnicodeDecodeError) -> ValueError:
    """The error for a corpus file that is not UTF-8: the path, its first bad line and the fix."""
    def decodes(raw: bytes) -> bool:
        try:
            raw.decode("utf-8")
            return True
        except UnicodeDecodeError:
            return False

    with open(path, "rb") as f:
        line_no = next((n for n, raw in enumerate(f, start=1) if not decodes(raw)), "?")
    return ValueError(f"{os.fspath(path)}, line {line_no}: not UTF-8 text ({error.reason}); corpus files must be "
                      "UTF-8: re-encode it (e.g. iconv -f latin1 -t utf-8)")
