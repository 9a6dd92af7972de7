"""A strict, quick test environment: rank promotion raises; float64 on request through the `x64`
fixture; XLA compiles without LLVM optimisation."""
import os

# Most of the suite's time is XLA compiling many small programs; LLVM's optimisation passes are
# most of that and buy nothing for test-sized arrays (results agree to rounding: no fast math either
# way). Set before the first computation starts the backend; the notebook kernels inherit it.
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0").strip()

# Workers of `pytest -n auto` (pytest-xdist) share the machine: on a GPU each would otherwise take 75%
# of its memory at start.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")


def _enable_x64():
    if hasattr(jax, "enable_x64"):
        return jax.enable_x64(True)
    from jax.experimental import enable_x64  # jax < 0.9

    return enable_x64()


@pytest.fixture
def x64():
    """Run the test body with float64 enabled (gradient checks against finite differences)."""
    with _enable_x64():
        yield


@pytest.fixture(autouse=True)
def _no_stray_x64():
    yield
    assert not jax.config.jax_enable_x64, "a test left jax_enable_x64 switched on"
