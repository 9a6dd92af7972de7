"""A strict test environment: rank promotion raises, float64 is available for gradient checks."""
import jax

jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_enable_x64", True)
