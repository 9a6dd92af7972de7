"""Small array helpers that keep jaxseq clean under ``jax_numpy_rank_promotion='raise'``."""
import jax.numpy as jnp


def add_bias(z, b):
    """z (..., n) + b (n,), with the bias's rank raised explicitly."""
    return z + jnp.reshape(b, (1,) * (jnp.ndim(z) - 1) + jnp.shape(b))
