"""The end of every word-vector experiment (word2vec, GloVe, NPLM): the run folder's vectors,
evaluation figures, neighbours, pictures and summary.

    out/config.json     the config
    out/vectors.txt     the vectors, word2vec text format (gensim's KeyedVectors.load_word2vec_format reads it)
    out/metrics.csv     one row per epoch (loss, words/s, ...), and out/loss.png
    out/neighbours.txt  the nearest words of a few probe words
    out/pca.png, out/tsne.png   2-D pictures of the probe words (needs scikit-learn)
    out/summary.json    WordSim353 / SimLex-999 Spearman ρ, Google analogy accuracy (OOV counted), timing
    out/checkpoint.msgpack   where the run stands after its last whole epoch
                        (`save_checkpoint`, `load_checkpoint`), for the experiments' ``--resume``
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any, Callable, Iterator, NamedTuple, Optional, Sequence

import jax
from flax import serialization

from jaxseq import checkpoint, evaluation, experiment
from jaxseq._resume import kind_name
from jaxseq._files import write_text_atomic
from jaxseq.word_vectors import WordVectors, save_word2vec

PROBE_WORDS = ("king", "queen", "man", "woman", "boy", "girl", "france", "paris", "germany", "berlin", "italy",
               "rome", "good", "bad", "one", "two", "three", "four", "music", "war", "city", "river", "water",
               "computer", "language", "science", "january", "february", "red", "blue", "dog", "cat")
ANALOGY_ARROWS = (("man", "woman"), ("king", "queen"), ("france", "paris"), ("germany", "berlin"))


def probe_words(vectors: WordVectors, n: int = 30) -> list[str]:
    """The probe words the vectors know, or (if fewer than 10) words ranked 50 … 50 + n by frequency."""
    known = [w for w in PROBE_WORDS if w in vectors]
    return known if len(known) >= 10 else list(vectors.words[50:50 + n]) or list(vectors.words[:n])


def finish_run(out: Path, vectors: WordVectors, *, history: Sequence[dict], config: Any, title: str,
               extra: Optional[dict] = None, pictures: bool = True, log: Callable[[str], Any] = print) -> dict:
    """Write vectors, metrics, neighbours, pictures and summary.json into `out`; returns the summary."""
    out = Path(out)
    save_word2vec(out / "vectors.txt", vectors)
    metrics = experiment.Metrics(out / "metrics.csv", history)
    if history:
        experiment.plot_curves(out / "loss.png", metrics.rows, "epoch", ["loss"], title=title, ylabel="training loss")
    figures = evaluation.evaluate(vectors)
    probes = probe_words(vectors)
    neighbours = {w: [n for n, _ in evaluation.nearest(vectors, w, 8)] for w in probes[:12]}
    write_text_atomic(out / "neighbours.txt", "".join(f"{w}: {' '.join(ns)}\n" for w, ns in neighbours.items()))
    made = []
    if pictures and len(probes) >= 3:
        from jaxseq import word_plots

        for method in ("pca", "tsne"):
            try:
                word_plots.plot_words(vectors, probes, out / f"{method}.png", method=method,
                                      title=f"{title}: {method.upper()} of {len(probes)} words", arrows=ANALOGY_ARROWS)
                made.append(f"{method}.png")
            except ImportError as e:
                print(f"note: no {method}.png ({e})", file=sys.stderr)
                break
    summary = {
        **figures,
        "vocab_size": len(vectors),
        "dim": vectors.dim,
        "neighbours": neighbours,
        "pictures": made,
        "device": str(jax.devices()[0]),
        "config": dataclasses.asdict(config) if dataclasses.is_dataclass(config) else config,
        **(extra or {}),
    }
    experiment.write_json(out / "summary.json", summary)
    ws, sl, an = (figures.get(k) for k in ("wordsim353_spearman", "simlex999_spearman", "analogy_accuracy"))
    parts = []  # each figure where its benchmark file was found
    if ws is not None:
        parts.append(f"WordSim353 ρ {ws:.3f} ({figures['wordsim353_pairs']} pairs, {figures['wordsim353_oov']} OOV)")
    if sl is not None:
        parts.append(f"SimLex-999 ρ {sl:.3f}")
    if an is not None:
        parts.append(f"analogies {100 * an:.2f}% of {figures['analogy_answered']} answered ({figures['analogy_oov']} OOV)")
    if parts:
        log("; ".join(parts))
    for w, ns in list(neighbours.items())[:5]:
        log(f"  {w}: {', '.join(ns)}")
    return summary


CKPT = "checkpoint.msgpack"


@contextlib.contextmanager
def open_run(config: Any, kind: type, arrays: dict, log: Callable[[str], Any] = print
             ) -> Iterator[tuple[Path, Optional[Any], Callable[[Any], None]]]:
    """``with open_run(...) as (out, start, save):`` the run folder `config.out`, the `kind` checkpoint
    in it to resume from with `config.resume` (else None), and a function that saves a `kind`
    checkpoint there. `arrays` maps the checkpoint's array fields to their types (see
    `load_checkpoint`). A new run's folder gets config.json; an earlier run there is deleted once the
    new one saves its first checkpoint or the block ends, and left as it was if the block fails before
    (a corpus with no word above min_count, say: `experiment.run_folder`). A resumed run's folder keeps
    its original config.json."""
    with experiment.run_folder(config.out, resume=config.resume, checkpoint_name=CKPT) as folder:
        out = folder.path

        def save(ckpt: Any) -> None:
            save_checkpoint(out / CKPT, ckpt, list(arrays))
            folder.keep()

        if not config.resume:
            experiment.write_config(out, config)
            yield out, None, save
            return
        start = load_checkpoint(out / CKPT, kind, arrays)  # train checks that the corpus and config are its
        log(f"resuming {out} after epoch {start.epoch} of {config.epochs}")
        yield out, start, save


def save_checkpoint(path: Path, ckpt: NamedTuple, arrays: Sequence[str]) -> None:
    """Write a checkpoint NamedTuple (word2vec's, GloVe's, the NPLM's) to `path` atomically: its fields
    named in `arrays` (NamedTuples of arrays, or state dicts) as arrays, the rest as JSON."""
    if "state" in arrays:
        raise ValueError("`arrays`: 'state' is the name of the JSON part of the file")
    fields = ckpt._asdict()
    state = {**{k: v for k, v in fields.items() if k not in arrays}, "kind": kind_name(type(ckpt))}
    checkpoint.save(path, {**{k: fields[k] for k in arrays}, "state": json.dumps(state)})


def load_checkpoint(path: Path, cls: type, arrays: dict) -> Any:
    """The `cls` checkpoint that `save_checkpoint` wrote at `path`; `arrays` maps each array field to
    its type: a NamedTuple of arrays (e.g. {"params": word2vec.Params}) or dict for a state dict. Shapes
    are checked by the `train` it resumes."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    def unreadable(e: Exception) -> ValueError:
        return ValueError(f"{path} is not a readable {kind_name(cls)} checkpoint ({type(e).__name__}: {e}); run "
                          f"without --resume to start over")

    try:
        raw = serialization.msgpack_restore(path.read_bytes())
        state = json.loads(raw["state"])
        # files written before kinds were recorded (2026-11-26 15:20): told apart by their arrays
        kind = state.pop("kind", "glove" if "adagrad" in raw else "nplm" if "opt_state" in raw else "word2vec")
    except Exception as e:
        raise unreadable(e) from e
    kind = kind.rsplit(".", 1)[-1]  # "jaxseq.glove" in files of 15:00-15:20
    if kind != kind_name(cls):
        raise ValueError(f"{path} is a {kind} checkpoint, not a {kind_name(cls)} one")
    state.pop("shapes", None)  # word2vec checkpoints before 2026-11-26 15:00 also held the shapes
    try:
        fields = {k: v for k, v in state.items() if k not in arrays}
        return cls(**fields, **{k: t(**raw[k]) for k, t in arrays.items()})
    except Exception as e:
        raise unreadable(e) from e
