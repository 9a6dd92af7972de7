"""Smoke test of experiments/long_range.py: the tiny preset, its run folder and its summary."""
import json
import pathlib
import sys

import jax
import numpy as np
import pytest

ROOT = pathlib.Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "experiments"))
import long_range  # noqa: E402

TINY = ["--preset", "tiny", "--no-progress"]
VARIANTS = ["rnn", "rnn+clip", "lstm", "lstm+clip"]  # the tiny preset's cells, each with and without clipping


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One tiny run shared by the tests below: (config, trained params, summary, run folder)."""
    out = tmp_path_factory.mktemp("long_range") / "run"
    config = long_range.experiment.parse_config(long_range.Config, TINY + ["--out", str(out)],
                                                presets=long_range.PRESETS)
    trained, summary = long_range.train(config, log=lambda *a: None)
    return config, trained, summary, out


def test_adding_batch_has_two_markers_one_per_half():
    xs, y = long_range.adding_batch(np.random.default_rng(0), 10, 64)
    assert xs.shape == (10, 64, 2) and y.shape == (64,) and xs.dtype == y.dtype == np.float32
    markers = xs[..., 1]
    np.testing.assert_array_equal(markers[:5].sum(axis=0), 1)
    np.testing.assert_array_equal(markers[5:].sum(axis=0), 1)
    np.testing.assert_allclose(y, np.sum(xs[..., 0] * markers, axis=0), rtol=1e-6)
    assert np.all((xs[..., 0] >= 0) & (xs[..., 0] < 1))


def test_run_folder_is_complete(tiny_run):
    config, _, summary, out = tiny_run
    for name in ("config.json", "metrics.csv", "loss.png", "gradients.png", "results.md", "summary.json"):
        assert (out / name).is_file(), name
    saved = json.loads((out / "summary.json").read_text())
    assert set(VARIANTS + ["baseline_mse", "steps", "wall_s", "config"]) <= set(saved)
    assert long_range.Config(**saved["config"]) == config
    assert saved["steps"] == config.steps and saved["baseline_mse"] == pytest.approx(1 / 6)
    table = (out / "results.md").read_text()
    for name in VARIANTS:
        r = saved[name]
        assert r == summary[name]
        assert r["finite"] and np.isfinite(r["test_mse"]) and r["max_grad_norm"] > 0
        assert len(r["grad_norms_untrained"]) == len(r["grad_norms_trained"]) == config.length
        assert (r["clip"] == config.clip) == name.endswith("+clip")
        assert f"| {r['cell']} | {'at 1' if r['clip'] else 'none'} | {r['test_mse']:.4f} |" in table


def test_metrics_hold_every_step_of_every_variant(tiny_run):
    config, _, _, out = tiny_run
    rows = long_range.experiment.Metrics.read(out / "metrics.csv")
    assert [r["step"] for r in rows] == list(range(1, config.steps + 1))
    assert all(np.isfinite(r[f"{v}_loss"]) and r[f"{v}_grad_norm"] > 0 for r in rows for v in VARIANTS)
    # the same start and the same first batch with and without clipping
    assert rows[0]["lstm_loss"] == rows[0]["lstm+clip_loss"]
    assert rows[0]["lstm_grad_norm"] == rows[0]["lstm+clip_grad_norm"]


def test_training_changes_the_parameters(tiny_run):
    config, trained, _, _ = tiny_run
    for name in VARIANTS:
        before = long_range.init_model(name.split("+")[0], long_range.init_key(config), config.hidden)
        diffs = jax.tree_util.tree_map(lambda a, b: float(np.max(np.abs(np.asarray(a) - np.asarray(b)))),
                                       trained[name], before)
        assert all(d > 0 for d in jax.tree_util.tree_leaves(diffs)), (name, diffs)


def test_unknown_flag_and_bad_cells_are_rejected(tmp_path):
    with pytest.raises(SystemExit):
        long_range.main(TINY + ["--out", str(tmp_path), "--no-such-flag", "1"])
    with pytest.raises(ValueError, match="`cells` must be one of"):
        long_range.main(TINY + ["--out", str(tmp_path), "--cells", "rnn,transformer"])
    assert not any(tmp_path.iterdir())  # rejected before the run folder is touched
