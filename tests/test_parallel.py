"""The experiment scripts train data-parallel over every local device with no change to the command,
and give the numbers of a one-device run (four forced CPU devices in a subprocess)."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import numpy as np
import pytest

from jaxseq import parallel

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent("""
    import csv, dataclasses, importlib, json, sys, tempfile, warnings
    warnings.simplefilter("ignore")
    import jax, numpy as np
    from jaxseq import nplm, parallel, word_corpora

    sys.path.insert(0, "experiments")
    tmp = tempfile.mkdtemp()

    def one_and_all(run):
        # run("one") with every default mesh cut to one device, then run("all") as a user would
        default = parallel._default_mesh
        parallel._default_mesh = lambda: parallel.mesh(jax.local_devices()[:1])
        try:
            first = run("one")
        finally:
            parallel._default_mesh = default
        return first, run("all")

    def last_losses(folder):
        rows = list(csv.DictReader(open(f"{folder}/metrics.csv")))
        return {k: float(r[k]) for r in rows for k in r if k.endswith("loss") and r[k] != ""}

    out = {"local_devices": jax.local_device_count()}
    for name, overrides in [("tagger", {}), ("ctc", {}), ("long_range", {}), ("dates", {"beam": 1}),
                            ("tagger", {"batch": 6, "out_name": "tagger_batch6"})]:  # 6 on 4 devices: 3 used
        key = overrides.pop("out_name", name)
        mod = importlib.import_module(name)
        config = dataclasses.replace(mod.Config(**mod.PRESETS["tiny"]), progress=False, **overrides)

        def run(tag):
            folder = f"{tmp}/{key}-{tag}"
            result = mod.train(dataclasses.replace(config, out=folder), log=lambda *a: None)
            return result[1]["devices"], last_losses(folder)

        (d1, l1), (dn, ln) = one_and_all(run)
        out[key] = {"devices": [d1, dn], "losses": [l1, ln]}

    sentences = word_corpora.sentences("default", max_words=3000, fallback_to_embedded=True)
    config = nplm.NPLMConfig(dim=8, hidden=8, epochs=1, max_vocab=200, min_count=1, batch=30)  # 30: not a multiple of 4
    a, b = one_and_all(lambda tag: nplm.train(sentences, config))
    out["nplm"] = {"losses": [a.history[-1]["loss"], b.history[-1]["loss"]], "devices": [a.devices, b.devices],
                   "vector_diff": float(np.max(np.abs(a.vectors.matrix - b.vectors.matrix)))}
    step = parallel.data_parallel(lambda w, x: (x * w).sum(0), batch_argnums=(1,), batch_axis=-1)
    out["negative_axis"] = np.asarray(step(2.0, np.ones((6, 4), np.float32))).tolist()  # split along 4, not 6
    try:
        parallel.data_parallel(lambda w, x: x, batch_argnums=(2,))(1.0, np.ones(4))
    except ValueError as e:
        out["argnum_error"] = str(e)
    print(json.dumps(out))
""")


@pytest.fixture(scope="module")
def four_devices():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu",
               JAX_DISABLE_MOST_OPTIMIZATIONS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name, devices", [("tagger", 4), ("ctc", 4), ("long_range", 4), ("dates", 4),
                                           ("tagger_batch6", 3)])
def test_experiment_trains_over_every_device_with_the_one_device_numbers(four_devices, name, devices):
    r = four_devices[name]
    assert four_devices["local_devices"] == 4
    assert r["devices"] == [1, devices]  # summary.json: how many devices the batch was split over
    one, every = r["losses"]
    assert one and one.keys() == every.keys()
    for key in one:
        np.testing.assert_allclose(every[key], one[key], rtol=1e-5, err_msg=key)


def test_nplm_trains_over_every_device_with_the_one_device_numbers(four_devices):
    one, every = four_devices["nplm"]["losses"]
    assert four_devices["nplm"]["devices"] == [1, 4]  # Result.devices, which summary.json records
    np.testing.assert_allclose(every, one, rtol=1e-6)
    assert four_devices["nplm"]["vector_diff"] < 1e-5


def test_a_negative_batch_axis_counts_from_the_end_and_argnums_must_name_arguments(four_devices):
    assert four_devices["negative_axis"] == [12.0] * 4  # axis −1 was checked, axis 0 was split
    assert "names argument 2, but the step got 2 positional arguments" in four_devices["argnum_error"]
    with pytest.raises(ValueError, match="`batch_argnums` must hold positional argument numbers >= 0"):
        parallel.data_parallel(lambda a: a, batch_argnums=(-1,))


def test_batch_axis_per_argument_must_match_batch_argnums():
    with pytest.raises(ValueError, match="batch_axis"):
        parallel.data_parallel(lambda a, b, c: a, batch_argnums=(1, 2), batch_axis=(1, 0, 1))


def test_the_most_devices_that_split_the_batch():
    assert [parallel.devices_for_batch(64, n) for n in (1, 2, 3, 4, 6, 8, 16)] == [1, 2, 2, 4, 4, 8, 16]
    assert parallel.devices_for_batch(7, 4) == 1 and parallel.devices_for_batch(6, 4) == 3


def test_one_device_returns_the_step_itself():
    fn = jax.jit(lambda a, b: a + b)
    step = parallel.data_parallel(fn, batch_argnums=(1,), batch_axis=(1,), mesh=parallel.mesh(jax.devices()[:1]))
    assert step is fn and parallel.device_count(step) == 1
