"""What resuming a word-vector run checks (word2vec, GloVe, the NPLM): that the checkpoint is of the
same kind of model, the same config and the same corpus (a SHA-256 of its vocabulary and contents)."""
from __future__ import annotations

import hashlib
from typing import Any, Optional

import numpy as np

from jaxseq.vocab import Vocab


def kind_name(cls: type) -> str:
    """"word2vec", "glove" or "nplm" for the model module that defines `cls`."""
    return cls.__module__.rsplit(".", 1)[-1]


def corpus_digest(vocab: Vocab, counts: Optional[np.ndarray], *extra) -> str:
    """SHA-256 of a vocabulary, its counts (if known) and `extra` (arrays by their bytes, the rest by str)."""
    digest = hashlib.sha256("\n".join(vocab.tokens).encode("utf-8"))
    if counts is not None:
        digest.update(np.asarray(counts, np.int64).tobytes())
    for x in extra:
        digest.update(np.ascontiguousarray(x).tobytes() if isinstance(x, np.ndarray) else str(x).encode())
    return digest.hexdigest()


def check_checkpoint(checkpoint: Any, kind: type, settings: dict, epochs: int) -> None:
    """Refuse to continue `checkpoint` unless it is a `kind` (word2vec's, GloVe's or the NPLM's
    Checkpoint) of a run with these `settings` (naming what differs) after at most `epochs` epochs."""
    if not isinstance(checkpoint, kind):
        raise TypeError(f"`resume` must be a {kind_name(kind)}.Checkpoint (from `on_epoch`); got "
                        f"{type(checkpoint).__module__}.{type(checkpoint).__name__}")
    saved = checkpoint.settings
    differ = [f"{k}: {saved.get(k)!r} in the checkpoint, {settings.get(k)!r} now"
              for k in sorted(set(settings) | set(saved)) if saved.get(k) != settings.get(k)]
    if differ:
        what = "; ".join(d if not d.startswith("corpus:") else "corpus: other text (its vocabulary, counts or "
                         "contents differ)" for d in differ)
        raise ValueError(f"`resume`: the checkpoint is of another run ({what}); it continues only the "
                         f"same corpus and config")
    if not 0 <= int(checkpoint.epoch) <= epochs:
        raise ValueError(f"`resume` is a checkpoint after epoch {checkpoint.epoch}; this run has {epochs} epochs")
