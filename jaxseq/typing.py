"""Shape legend used in every docstring and annotation of jaxseq.

    t  time steps (T_x or T_y)        b  batch (any number of leading axes, written ...)
    i  input features (n_x)           h  hidden units (n_a), the size of a<t> and c<t>
    g  gates × hidden (4h for LSTM)   v  vocabulary size
    e  embedding dimension

Vectors are rows: the course's W_ax x<t> (W_ax of shape (h, i)) is written ``x @ w_ax`` here, with
``w_ax`` of shape (i, h), the transpose. This is the layout of flax kernels and lets leading batch
axes pass through every matmul untouched.
"""
from __future__ import annotations

from typing import Any

import jax

Array = jax.Array
PRNGKey = jax.Array
PyTree = Any
