"""stream_batches: the Zaremba et al. (2014) layout, against the row-by-row reading of the stream."""
import numpy as np
import pytest

from jaxseq.batching import stream_batches


@pytest.mark.parametrize("n, batch_size, seq_len", [(103, 4, 5), (100, 4, 6), (21, 1, 20), (50, 7, 1)])
def test_windows_cover_each_row_without_overlap_or_loss(n, batch_size, seq_len):
    ids = np.arange(n, dtype=np.int64) * 3 + 1  # distinct values: any reordering would show
    xs, ys = stream_batches(ids, batch_size, seq_len)
    row_len = n // batch_size
    n_windows = (row_len - 1) // seq_len
    assert xs.shape == ys.shape == (n_windows, batch_size, seq_len)
    assert xs.dtype == ys.dtype == np.int32
    rows = ids[: batch_size * row_len].reshape(batch_size, row_len)
    for b in range(batch_size):
        seen = np.concatenate(list(xs[:, b]))  # the row's windows, one after another
        np.testing.assert_array_equal(seen, rows[b, : n_windows * seq_len])
        np.testing.assert_array_equal(np.concatenate(list(ys[:, b])), rows[b, 1 : n_windows * seq_len + 1])
    # no token is an input twice, and at most seq_len per row (+ the remainder) is never an input
    assert len(np.unique(xs)) == xs.size
    assert n - xs.size <= batch_size * seq_len + n % batch_size


def test_targets_are_the_next_token_of_the_stream():
    ids = np.arange(1000)
    xs, ys = stream_batches(ids, 8, 10)
    np.testing.assert_array_equal(ys, xs + 1)  # in a stream 0, 1, 2, ... the next token is id + 1


def test_too_long_seq_len_names_seq_len_tokens_and_batch_size():
    with pytest.raises(ValueError, match=r"`seq_len`=25 is too long: 100 tokens in batch_size=4 rows .*"
                                         r"seq_len <= 24"):
        stream_batches(np.arange(100), 4, 25)
    stream_batches(np.arange(100), 4, 24)  # the longest that fits


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"`ids` must have shape \(t,\)"):
        stream_batches(np.zeros((2, 50), np.int32), 2, 3)
    with pytest.raises(TypeError, match="`ids` must hold integer ids"):
        stream_batches(np.zeros(50), 2, 3)
    with pytest.raises(ValueError, match="`batch_size` must be a positive integer"):
        stream_batches(np.arange(50), 0, 3)
    with pytest.raises(ValueError, match="`seq_len`=3 is too long: 2 tokens"):
        stream_batches(np.arange(2), 4, 3)
