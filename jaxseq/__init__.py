"""jaxseq: recurrent sequence models as pure JAX functions."""
from jaxseq import gru, lstm, rnn
from jaxseq.unroll import lengths_to_mask, unroll

__all__ = ["rnn", "gru", "lstm", "unroll", "lengths_to_mask"]
__version__ = "0.1.0"
