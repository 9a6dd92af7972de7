"""A strict test environment: rank promotion raises; float64 on request through the `x64` fixture."""
import contextlib

import jax
import pytest

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
