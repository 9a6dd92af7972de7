"""A token stream cut into (batch, time) windows for truncated backpropagation through time.

The layout of Zaremba, Sutskever & Vinyals (2014), "Recurrent neural network regularization", and of
TensorFlow's PTB reader: the 1-D id stream is cut into `batch_size` contiguous rows (the remainder
dropped), and each row is read left to right in windows of `seq_len` steps. Window ``k + 1`` of a
row continues window ``k`` of the same row, so the final carry of one window is the right initial
carry for the next; the loop that uses it is

    xs, ys = stream_batches(ids, batch_size, seq_len)
    carry = init_carry(batch_size)
    for x, y in zip(xs, ys):            # x, y: (b, t)
        carry, loss = train_step(params, carry, x, y)
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from jaxseq import _checks


def stream_batches(ids, batch_size: int, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and next-token targets ``(xs, ys)``, each ``(n_windows, batch_size, seq_len)`` int32.

    With ``row_len = len(ids) // batch_size`` and ``rows = ids[:batch_size * row_len]`` reshaped to
    ``(batch_size, row_len)``, the loop it equals is

        n_windows = (row_len - 1) // seq_len
        for k in range(n_windows):
            xs[k] = rows[:, k * seq_len     : (k + 1) * seq_len]
            ys[k] = rows[:, k * seq_len + 1 : (k + 1) * seq_len + 1]

    Row ``b`` of the stream is ``concatenate(xs[:, b])`` (up to the tokens dropped at its end); no
    token is seen twice as an input. At most ``len(ids) % batch_size`` tokens are dropped at the end
    of the stream and at most ``seq_len`` at the end of each row.
    """
    rows, n_windows = _rows(ids, batch_size, seq_len)
    span = n_windows * seq_len
    xs = rows[:, :span].reshape(batch_size, n_windows, seq_len).transpose(1, 0, 2)
    ys = rows[:, 1 : span + 1].reshape(batch_size, n_windows, seq_len).transpose(1, 0, 2)
    return np.ascontiguousarray(xs), np.ascontiguousarray(ys)


def stream_remainder(ids, batch_size: int, seq_len: int) -> Optional[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The tokens of each row that `stream_batches` leaves after its last window, as one more window
    padded to ``seq_len``: ``(x, y, mask)`` each ``(batch_size, seq_len)``, mask True on the r < seq_len
    real positions; None when r = 0. With it an evaluation scores every token of the stream as a
    target but the first of each row and the ``len(ids) % batch_size`` past the last whole row."""
    rows, n_windows = _rows(ids, batch_size, seq_len)
    span = n_windows * seq_len
    r = rows.shape[1] - 1 - span
    if r == 0:
        return None
    x = np.zeros((batch_size, seq_len), np.int32)
    y = np.zeros((batch_size, seq_len), np.int32)
    mask = np.zeros((batch_size, seq_len), bool)
    x[:, :r], y[:, :r], mask[:, :r] = rows[:, span:span + r], rows[:, span + 1:span + 1 + r], True
    return x, y, mask


def _rows(ids, batch_size: int, seq_len: int) -> tuple[np.ndarray, int]:
    """The stream as ``(batch_size, row_len)`` int32 rows, and the number of whole windows of a row."""
    ids = np.asarray(ids)
    _checks.integer("ids", ids)
    if ids.ndim != 1:
        raise ValueError(f"`ids` must have shape (t,) (one token stream); got {ids.shape}")
    _checks.positive_int("batch_size", batch_size)
    _checks.positive_int("seq_len", seq_len)
    row_len = len(ids) // batch_size
    n_windows = (row_len - 1) // seq_len if row_len else 0
    if n_windows < 1:
        longest = max(row_len - 1, 0)
        raise ValueError(
            f"`seq_len`={seq_len} is too long: {len(ids)} tokens in batch_size={batch_size} rows give "
            f"{row_len} tokens per row, which allows seq_len <= {longest} (one token is kept for the "
            f"last target); use a smaller seq_len or batch_size, or more data")
    return ids[: batch_size * row_len].reshape(batch_size, row_len).astype(np.int32), n_windows
