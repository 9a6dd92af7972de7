"""Atomic file writes: readers see the old file or the new one, never half of one."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

_UMASK = os.umask(0o022)  # read once at import (setting it is process-wide), then put back
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", *, suffix: str = ".tmp"):
    """Open a temporary file next to ``path`` (``mode`` "wb", "w", or None to yield its name only);
    on success it is flushed to disk and renamed onto ``path``, on any error it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    try:
        if mode is None:
            os.close(fd)
            yield tmp
        else:
            with os.fdopen(fd, mode, **({"encoding": "utf-8"} if "b" not in mode else {})) as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_write(path, "w") as f:
        f.write(text)


def save_figure_atomic(fig, path: str | os.PathLike, **savefig_kwargs) -> None:
    """``fig.savefig`` through a temporary file (the suffix keeps matplotlib's format choice)."""
    with atomic_write(path, None, suffix=Path(path).suffix) as tmp:
        fig.savefig(tmp, **savefig_kwargs)

