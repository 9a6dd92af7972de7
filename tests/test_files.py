"""jaxseq._files: atomic writes leave either the old file or the whole new one, with the usual permissions."""
import os

import numpy as np

import pytest

from jaxseq._files import atomic_write, write_text_atomic


def test_atomic_write_replaces_whole_or_not_at_all(tmp_path):
    path = tmp_path / "sub" / "f.txt"
    write_text_atomic(path, "old")
    with pytest.raises(RuntimeError):
        with atomic_write(path, "w") as f:
            f.write("half of the new")
            raise RuntimeError("interrupted")
    assert path.read_text() == "old"
    assert os.listdir(path.parent) == ["f.txt"]  # no temporary file left behind
    write_text_atomic(path, "new")
    assert path.read_text() == "new"


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_new_files_follow_the_umask_and_replaced_files_keep_their_mode(tmp_path):
    old_mask = os.umask(0o027)
    try:
        path = tmp_path / "f.txt"
        write_text_atomic(path, "x")
        assert (os.stat(path).st_mode & 0o777) == 0o640  # as open() would make it (mkstemp: 0600)
        os.chmod(path, 0o604)
        write_text_atomic(path, "y")
        assert (os.stat(path).st_mode & 0o777) == 0o604 and path.read_text() == "y"
    finally:
        os.umask(old_mask)


def test_summaries_are_strict_json(tmp_path):
    """NaN (a ρ over fewer than 2 pairs) is written as null, NumPy scalars as numbers: strict parsers
    (jq, JavaScript) reject a bare NaN."""
    import json

    from jaxseq import experiment

    experiment.write_json(tmp_path / "s.json", {"rho": float("nan"), "inf": [np.float32("inf"), 1.5],
                                                "n": np.int64(3), "x": np.float32(0.5), "ok": np.bool_(True)})
    text = (tmp_path / "s.json").read_text()
    strict = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert strict == {"rho": None, "inf": [None, 1.5], "n": 3, "x": 0.5, "ok": True}


def test_metrics_quote_text_cells_and_read_them_back(tmp_path):
    from jaxseq import experiment

    rows = [{"step": 1, "cells": "rnn,gru", "note": 'say "hi"', "loss": 0.5, "setting": "frozen", "x": None}]
    experiment.Metrics(tmp_path / "m.csv", rows)
    assert experiment.Metrics.read(tmp_path / "m.csv") == rows


def test_config_flags_take_the_annotated_types_and_must_be_spelt_out():
    import dataclasses
    from typing import Optional

    from jaxseq import experiment

    @dataclasses.dataclass(frozen=True)
    class Config:
        steps: int = 10
        clip: float = 5  # an int default, a float field
        max_vocab: Optional[int] = None
        tags: tuple = dataclasses.field(default_factory=tuple)

    config = experiment.parse_config(Config, ["--clip", "0.5", "--max-vocab", "100"])
    assert config.clip == 0.5 and config.max_vocab == 100
    with pytest.raises(SystemExit):
        experiment.parse_config(Config, ["--step", "3"])  # a prefix of --steps is not taken for it
    with pytest.raises(ValueError, match="preset 'bad': steps must be of type int; got 'twelve'"):
        experiment.parse_config(Config, [], presets={"bad": {"steps": "twelve"}, "good": {"steps": 3}})
    assert experiment.parse_config(Config, ["--preset", "s"], presets={"s": {"steps": "12"}}).steps == 12
    with pytest.raises(ValueError, match="preset 'typo' sets unknown fields"):
        experiment.parse_config(Config, [], presets={"typo": {"stepz": 3}})
    assert experiment.parse_overrides(Config, "max_vocab=7,clip=1", flag="--set") == {"max_vocab": 7, "clip": 1.0}


def test_write_json_turns_arrays_into_lists(tmp_path):
    import json

    import jax.numpy as jnp

    from jaxseq import experiment

    experiment.write_json(tmp_path / "a.json", {"j": jnp.float32(1.5), "jn": jnp.array(float("nan")),
                                                "a": np.array([1.0, np.nan]), "m": jnp.ones((2, 2), jnp.int32)})
    assert json.loads((tmp_path / "a.json").read_text()) == {"j": 1.5, "jn": None, "a": [1.0, None],
                                                            "m": [[1, 1], [1, 1]]}


def test_a_run_killed_before_its_first_checkpoint_gets_the_earlier_run_back(tmp_path, monkeypatch):
    """A hidden `.NAME.earlier-run` left by a killed process is put back (or, once the new run has a
    checkpoint, removed) the next time the folder is opened; `--out` as the current folder is refused."""
    from jaxseq import experiment

    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text("{}")
    (out / "checkpoint.msgpack").write_text("earlier")
    aside = tmp_path / ".run.earlier-run"
    with experiment.run_folder(out, resume=False) as folder:  # as a process killed inside the block leaves it
        (folder.path / "config.json").write_text("{}")
        os.replace(aside, tmp_path / "kept")  # hide it from the block's own cleanup
    os.replace(tmp_path / "kept", aside)
    with experiment.run_folder(out, resume=True) as folder:
        assert (folder.path / "checkpoint.msgpack").read_text() == "earlier"
    assert not aside.exists()
    monkeypatch.chdir(out)
    with pytest.raises(ValueError, match="is the current folder"):
        experiment.prepare_run_dir(".", resume=False)


def test_a_folder_with_a_config_json_and_other_things_is_not_cleared(tmp_path):
    from jaxseq import experiment

    project = tmp_path / "proj"
    (project / "data").mkdir(parents=True)
    (project / "config.json").write_text('{"name": "my project"}')
    (project / "important.py").write_text("print(1)")
    with pytest.raises(ValueError, match=r"holds what no run writes \(data, important.py\)"):
        experiment.prepare_run_dir(project, resume=False)
    assert (project / "important.py").is_file() and (project / "data").is_dir()
    run = tmp_path / "run"  # a run's files, and the temporary file of a write cut short, are a run
    run.mkdir()
    for name in ("config.json", "metrics.csv", "loss.png", "vectors.txt", ".summary.json.0123456789abcdef.tmp"):
        (run / name).write_text("x")
    assert list(experiment.prepare_run_dir(run, resume=False).iterdir()) == []


def test_config_round_trips_inf_and_run_folders_take_hidden_files_and_symlinks(tmp_path):
    """`clip = inf` (never clip) survives config.json; a folder with .DS_Store or a cut write's temp
    file is still a run; a symlinked --out keeps pointing at its target."""
    import dataclasses
    import json

    from jaxseq import experiment

    @dataclasses.dataclass(frozen=True)
    class Config:
        clip: float = float("inf")

    experiment.write_config(tmp_path, Config())
    assert json.loads((tmp_path / "config.json").read_text()) == {"clip": float("inf")}
    run = tmp_path / "target"
    run.mkdir()
    for name in ("config.json", ".DS_Store", ".checkpoint.msgpack.0123456789abcdef.tmp"):
        (run / name).write_text("x")
    (run / ".ipynb_checkpoints").mkdir()
    link = tmp_path / "link"
    link.symlink_to(run)
    folder = experiment.prepare_run_dir(link, resume=False)
    assert link.is_symlink() and folder == run.resolve() and list(run.iterdir()) == []


def test_a_figure_path_without_a_suffix_is_saved_in_the_default_format(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from jaxseq._files import save_figure_atomic

    fig = plt.figure()
    save_figure_atomic(fig, tmp_path / "plot")  # the temp name's random hex was read as the format
    save_figure_atomic(fig, tmp_path / "plot.svg")
    plt.close(fig)
    assert (tmp_path / "plot").read_bytes().startswith(b"\x89PNG")
    assert b"<svg" in (tmp_path / "plot.svg").read_bytes()[:500]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plot", "plot.svg"]
