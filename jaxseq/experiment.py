"""What every experiment shares: a frozen dataclass config with command-line overrides, presets,
and a run folder that tells the whole story (config, metrics CSV, plots, checkpoints, summary.json).

    @dataclasses.dataclass(frozen=True)
    class Config:
        steps: int = 1000
        lr: float = 1e-3

    config = parse_config(Config, argv, presets={"gpu": {"steps": 20000}})

Flags are the field names with dashes (``--seq-len 64``); booleans take ``--flag`` / ``--no-flag``;
an unknown flag or preset is an error, not a silent default.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import inspect
import io
import json
import math
import os
import re
import shutil
import sys
import types
import typing
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional, Sequence

import numpy as np

from jaxseq._files import save_figure_atomic, write_text_atomic


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


_FIELD_LINE = re.compile(r"^\s+(\w+)\s*:[^#]*#\s*(.+?)\s*$")


COMMON_HELP = {  # the --help of the fields every experiment has, where its config says nothing else
    "seed": "the same seed gives the same run (bit for bit on a CPU)", "out": "the run folder",
    "progress": "show a progress bar", "lr": "the learning rate", "steps": "training steps",
    "batch": "examples per step", "clip": "the largest global gradient norm",
    "cell": "rnn, gru, gru-course, gru-minimal or lstm", "hidden": "units of the recurrent layer",
    "embed": "the size of a token's embedding", "epochs": "passes over the data",
    "pictures": "write PCA and t-SNE pictures of chosen words (pca.png, tsne.png)",
    "max_words": "> 0: read only the first sentences, up to this many words",
    "resume": "continue the run in `out` from its checkpoint",
}


def _field_comments(cls) -> dict:
    """{field: its end-of-line comment} from the source of `cls` and the dataclasses it extends (the
    comments are the fields' documentation; they become the --help of each flag), else COMMON_HELP's
    line for a field of that name."""
    comments: dict = {f.name: COMMON_HELP[f.name] for f in dataclasses.fields(cls) if f.name in COMMON_HELP}
    for klass in reversed(cls.__mro__):  # a subclass's comment wins
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            source = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        for line in source.splitlines():
            m = _FIELD_LINE.match(line)
            if m:
                comments[m.group(1)] = m.group(2).replace("%", "%%")  # argparse formats help with %
    return comments


def field_types(cls) -> dict:
    """{field: the type its flag takes} of the dataclass `cls`, from the annotations (``Optional[X]``
    gives X; a float field takes "5" as 5.0): bool, int, float or str."""
    hints = typing.get_type_hints(cls)
    out = {}
    for f in dataclasses.fields(cls):
        kind = hints.get(f.name, str)
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        if typing.get_origin(kind) in (typing.Union, getattr(types, "UnionType", typing.Union)) and len(args) == 1:
            kind = args[0]
        out[f.name] = kind if kind in (bool, int, float, str) else str
    return out


def _default(f: dataclasses.Field):
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def _convert(kind: type, value: Any, what: str) -> Any:
    """`value` (a string from the command line, or a preset's value) as `kind`; ValueError naming `what`."""
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if kind is bool and text.lower() in ("true", "false", "1", "0"):
            return text.lower() in ("true", "1")
        if kind is not bool:
            try:
                return kind(text)
            except ValueError:
                pass
    raise ValueError(f"{what} must be of type {kind.__name__}; got {value!r}")


_NONNEGATIVE = ("seed", "max_words")  # fields that no script's config may set below 0


def parse_config(cls, argv: Optional[Sequence[str]] = None, *, presets: Mapping[str, Mapping[str, Any]] = (),
                 description: Optional[str] = None):
    """Build ``cls`` from defaults, then ``--preset NAME``, then explicit flags (later wins). Each
    flag takes its field's annotated type; flags must be spelt out (no prefixes)."""
    presets = dict(presets)
    kinds = field_types(cls)
    for name, preset in presets.items():  # every preset, not only the one chosen: a typo shows at once
        unknown = set(preset) - set(kinds)
        if unknown:
            raise ValueError(f"preset {name!r} sets unknown fields {sorted(unknown)}")
        for key, value in preset.items():
            _convert(kinds[key], value, f"preset {name!r}: {key}")
    parser = argparse.ArgumentParser(description=description or (cls.__doc__ or "").split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    if presets:
        parser.add_argument("--preset", choices=sorted(presets), default=None,
                            help="a named set of overrides, applied before the other flags")
    comments = _field_comments(cls)
    for f in dataclasses.fields(cls):
        kind, default = kinds[f.name], _default(f)
        help_text = f"{f.metadata.get('help', '') or comments.get(f.name, '')} (default: {default})".strip()
        if kind is bool:
            parser.add_argument(_flag(f.name), action=argparse.BooleanOptionalAction, default=None, help=help_text)
        else:
            parser.add_argument(_flag(f.name), type=kind, default=None, help=help_text)
    args = vars(parser.parse_args(argv))
    values: dict[str, Any] = {}
    preset = args.pop("preset", None)
    if preset is not None:
        values.update({k: _convert(kinds[k], v, k) for k, v in presets[preset].items()})
    values.update({k: v for k, v in args.items() if v is not None})
    for name in _NONNEGATIVE:  # numpy's and the corpus readers' own errors would not name the flag
        if name in values and values[name] < 0:
            parser.error(f"{_flag(name)} must be an integer >= 0; got {values[name]}")
    return cls(**values)


def parse_overrides(cls, text: str, *, flag: str) -> dict:
    """``"lr=0.15,batch=2048"`` → {"lr": 0.15, "batch": 2048} for fields of the dataclass `cls`, each
    value converted to its field's type; an unknown field or a value that does not convert is a
    ValueError naming `flag` (e.g. "--set")."""
    kinds = field_types(cls)
    out: dict = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, eq, value = item.partition("=")
        if not eq or key not in kinds:
            raise ValueError(f"{flag}: expected name=value pairs of {cls.__name__}'s fields ({', '.join(kinds)}); "
                             f"got {item!r}")
        out[key] = _convert(kinds[key], value, f"{flag}: {key}")
    return out


def config_to_dict(config) -> dict:
    return dataclasses.asdict(config)


write_text = write_text_atomic  # a UTF-8 text file, written atomically (for the run folders)


def write_config(out: str | os.PathLike, config) -> None:
    """``out/config.json``: the dataclass `config`, every value as it was (an infinite ``clip``, "never
    clip", is written as Infinity, which Python's json reads back), for `--resume` and the tools that
    reload a run."""
    write_text_atomic(Path(out) / "config.json", json.dumps(dataclasses.asdict(config), indent=2, sort_keys=True)
                      + "\n")


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """``obj`` as JSON, written atomically; NaN and ±inf become null (bare NaN is not JSON)."""
    write_text_atomic(path, json.dumps(_finite(obj), indent=2, sort_keys=True, default=str, allow_nan=False) + "\n")


def _finite(obj: Any) -> Any:
    """``obj`` with every non-finite float (NaN, ±inf; NumPy scalars too) replaced by None, and NumPy
    and JAX scalars and arrays as Python numbers and lists (json would write them as strings)."""
    if isinstance(obj, np.ndarray) or (hasattr(obj, "__array__") and not isinstance(obj, np.generic)):
        obj = np.asarray(obj)
        return _finite(obj.tolist() if obj.ndim else obj[()])
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, (np.integer, np.bool_)):
        return obj.item()
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


class Metrics:
    """Append rows to ``metrics.csv`` (header from the first row's keys); keep them for plotting."""

    def __init__(self, path: str | os.PathLike, rows: Sequence[Mapping[str, Any]] = ()):
        self.path = Path(path)
        self.rows = [dict(r) for r in rows]
        self._flush()

    def append(self, **row: Any) -> None:
        self.rows.append(row)
        self._flush()

    def _flush(self) -> None:
        keys: list[str] = []
        for r in self.rows:
            keys += [k for k in r if k not in keys]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")  # quotes a cell holding a comma or a quote
        writer.writerow(keys)
        writer.writerows(["" if r.get(k) is None else r[k] for k in keys] for r in self.rows)
        write_text_atomic(self.path, out.getvalue())

    @staticmethod
    def read(path: str | os.PathLike) -> list[dict]:
        """The rows of a metrics file: integers as int (so that a resumed run writes "6", not "6.0"),
        other numbers as float, empty cells as None, the rest as text."""
        def value(v: str):
            if v == "":
                return None
            for kind in (int, float):
                try:
                    return kind(v)
                except ValueError:
                    pass
            return v

        with open(path, newline="") as f:
            return [{k: value(v) for k, v in r.items()} for r in csv.DictReader(f)]


def plot_curves(path: str | os.PathLike, rows: Sequence[Mapping[str, Any]], x: str, ys: Sequence[str], *,
                title: str = "", ylabel: str = "") -> None:
    """A PNG of the columns ``ys`` against ``x`` (rows without a value are skipped)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for y in ys:
        pts = [(r[x], r[y]) for r in rows if r.get(y) is not None]
        if pts:
            ax.plot(*zip(*pts), label=y, marker="o" if len(pts) < 30 else None)
    ax.set_xlabel(x)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    save_figure_atomic(fig, path, dpi=100)
    plt.close(fig)


def prepare_run_dir(out: str | os.PathLike, *, resume: bool, checkpoint_name: str = "checkpoint.msgpack") -> Path:
    """Make the run folder. Without ``resume`` an earlier run there is cleared (one notice) — only a
    run folder (the config.json every run writes first, and nothing but the files runs write, besides
    hidden ones): any other non-empty folder is an error, never deleted. With ``resume`` the folder
    must hold a checkpoint. `run_folder` is the form that keeps the earlier run until the new one has
    a checkpoint."""
    with run_folder(out, resume=resume, checkpoint_name=checkpoint_name) as folder:
        return folder.path


RUN_FILE_SUFFIXES = (".json", ".csv", ".png", ".txt", ".md", ".msgpack")  # all a run folder holds: files of these


class RunFolder:
    """A run folder opened by `run_folder`; `keep()` makes the new run final (the earlier one is deleted)."""

    def __init__(self, path: Path, earlier: Optional[Path]):
        self.path, self.earlier = path, earlier

    def keep(self) -> None:
        """Delete the earlier run set aside (call once the new run holds something worth keeping, e.g.
        its first checkpoint); idempotent."""
        if self.earlier is not None:
            shutil.rmtree(self.earlier, ignore_errors=True)
            self.earlier = None


@contextlib.contextmanager
def run_folder(out: str | os.PathLike, *, resume: bool, checkpoint_name: str = "checkpoint.msgpack"
               ) -> Iterator[RunFolder]:
    """`prepare_run_dir` for the body of a run that may still fail on its input (a corpus with no
    word above min_count, say): an earlier run in `out` is moved aside to a hidden sibling, not
    deleted; it is deleted when the block ends or at ``folder.keep()``, and put back as it was if the
    block raises before either."""
    out = Path(out).resolve()  # "." has no name to set a sibling aside by; a symlink's target is the folder
    aside = out.parent / f".{out.name}.earlier-run"
    if aside.is_dir():  # left by a process killed before its first checkpoint (or before it ended)
        if (out / checkpoint_name).is_file():
            print(f"note: removing {aside}, an earlier run set aside by a run that since saved a checkpoint",
                  file=sys.stderr)
            shutil.rmtree(aside)
        else:
            print(f"note: putting back the earlier run set aside in {aside} (the run that replaced it stopped "
                  "before saving a checkpoint)", file=sys.stderr)
            if out.exists():
                shutil.rmtree(out)
            os.replace(aside, out)
    if resume:
        if not (out / checkpoint_name).is_file():
            raise FileNotFoundError(f"--resume: no checkpoint at {out / checkpoint_name}; run without --resume first")
        yield RunFolder(out, None)
        return
    if out.exists() and not out.is_dir():
        raise ValueError(f"`out` must be a folder; {out} is a file")
    earlier = None
    if out.exists() and any(out.iterdir()):
        if not (out / "config.json").is_file():
            raise ValueError(f"`out` = {out} is not empty and is not a run folder (no config.json): refusing to "
                             "clear it; pick a new or empty folder")
        foreign = sorted(p.name for p in out.iterdir()  # hidden entries (.DS_Store, a cut write's temp file) pass
                         if not (p.name.startswith(".") or p.is_file() and p.suffix in RUN_FILE_SUFFIXES))
        if foreign:
            raise ValueError(f"`out` = {out} holds what no run writes ({', '.join(foreign[:5])}"
                             f"{', ...' if len(foreign) > 5 else ''}): refusing to clear it; pick a new or empty folder")
        if out == Path.cwd() or out in Path.cwd().parents:
            raise ValueError(f"`out` = {out} holds an earlier run and is the current folder (or contains it): "
                             "refusing to replace it; run from elsewhere or pick a subfolder")
        print(f"note: clearing the earlier run in {out} (pass --resume to continue it)", file=sys.stderr)
        earlier = aside
        os.replace(out, earlier)
    out.mkdir(parents=True, exist_ok=True)
    folder = RunFolder(out, earlier)
    try:
        yield folder
    except BaseException:
        if folder.earlier is not None:
            shutil.rmtree(out, ignore_errors=True)
            os.replace(folder.earlier, out)
            print(f"note: the run failed before writing a checkpoint; the earlier run in {out} is back as it was",
                  file=sys.stderr)
        raise
    folder.keep()
