"""The RNN architectures of the course, built on `unroll`.

* many-to-many, T_x = T_y: `jaxseq.unroll` itself (one output per input).
* many-to-one: `many_to_one`, the output at each sequence's last valid step (sentiment, classification).
* one-to-many: `generate`, each output fed back as the next input (sampling, music generation).
* many-to-many, T_x ≠ T_y: `encode` then `decode`; `encoder_decoder` does both (translation).
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import jax
import jax.numpy as jnp
from jax import lax

from jaxseq import _checks
from jaxseq.typing import Array, PyTree
from jaxseq.unroll import resolve_mask, unroll


def last_valid(ys: Array, mask: Optional[Array]) -> Array:
    """ys[t_last] per sequence, where t_last is the last t with mask[t] True; ys (t, ..., h)."""
    if mask is None:
        return ys[-1]
    t = ys.shape[0]
    idx = jnp.arange(t).reshape((t,) + (1,) * (mask.ndim - 1))
    t_last = jnp.max(jnp.where(mask, idx, -1), axis=0)  # (...,), −1 if a sequence is empty
    picked = jnp.take_along_axis(ys, jnp.maximum(t_last, 0)[None, ..., None], axis=0)[0]
    return jnp.where((t_last >= 0)[..., None], picked, jnp.zeros_like(picked))


def first_valid(ys: Array, mask: Optional[Array]) -> Array:
    """ys[t_first] per sequence, where t_first is the first t with mask[t] True (zeros if none)."""
    if mask is None:
        return ys[0]
    t = ys.shape[0]
    idx = jnp.arange(t).reshape((t,) + (1,) * (mask.ndim - 1))
    t_first = jnp.min(jnp.where(mask, idx, t), axis=0)  # (...,), t if a sequence is empty
    picked = jnp.take_along_axis(ys, jnp.minimum(t_first, t - 1)[None, ..., None], axis=0)[0]
    return jnp.where((t_first < t)[..., None], picked, jnp.zeros_like(picked))


def many_to_one(step: Callable, params: PyTree, carry: PyTree, xs: Array, *, mask=None, lengths=None,
                **unroll_kwargs: Any) -> tuple[PyTree, Array]:
    """Unroll and keep only the output after the whole sequence, ŷ = y<T_x> of each sequence (with
    ``reverse=True`` the run ends at the first valid step, so that is the one kept): (carry, (..., h))."""
    m = resolve_mask(xs, mask, lengths)
    carry, ys = unroll(step, params, carry, xs, mask=m, **unroll_kwargs)
    return carry, (first_valid if unroll_kwargs.get("reverse") else last_valid)(ys, m)


def generate(
    step: Callable,
    params: PyTree,
    carry: PyTree,
    x0: Any,
    length: int,
    feedback: Callable[[Any, Optional[jax.Array]], Any],
    *,
    key: Optional[jax.Array] = None,
    unroll: int = 1,
) -> tuple[PyTree, Any, Any]:
    """One-to-many generation inside one `lax.scan` (jit-friendly; ``length`` is static).

        x<1> = x0
        for t = 1 .. length:
            carry, y<t> = step(params, carry, x<t>)
            x<t+1> = feedback(y<t>, key_t)         # e.g. sample a token and embed it

    ``key`` (optional) is split into one key per step for ``feedback``; without it ``feedback``
    receives None. Returns ``(carry, ys, xs)`` where xs[t] is the input fed at step t (xs[0] = x0),
    so for a language model xs[1:] are the generated tokens.
    """
    _checks.positive_int("length", length)
    keys = jax.random.split(key, length) if key is not None else None

    def body(state, k):
        c, x = state
        c, y = step(params, c, x)
        return (c, feedback(y, k)), (y, x)

    (carry, _), (ys, xs) = lax.scan(body, (carry, x0), keys, length=length, unroll=unroll)
    return carry, ys, xs


def encode(step: Callable, params: PyTree, carry: PyTree, xs: Array, *, mask=None, lengths=None,
           **unroll_kwargs: Any) -> tuple[PyTree, Array]:
    """Run the encoder over xs (t_x, ..., i); returns (final carry at the last valid step, outputs)."""
    return unroll(step, params, carry, xs, mask=mask, lengths=lengths, **unroll_kwargs)


def decode(step: Callable, params: PyTree, carry: PyTree, ys_in: Array, *, mask=None, lengths=None,
           **unroll_kwargs: Any) -> tuple[PyTree, Array]:
    """Teacher-forced decoder over ys_in (t_y, ..., i): the previous target fed at each step."""
    return unroll(step, params, carry, ys_in, mask=mask, lengths=lengths, **unroll_kwargs)


def encoder_decoder(
    enc_step: Callable, enc_params: PyTree, dec_step: Callable, dec_params: PyTree,
    carry: PyTree, xs: Array, ys_in: Array, *,
    enc_mask=None, enc_lengths=None, dec_mask=None, dec_lengths=None,
    bridge: Optional[Callable[[PyTree], PyTree]] = None, **unroll_kwargs: Any,
) -> tuple[PyTree, Array]:
    """Encoder-decoder (T_x ≠ T_y): the encoder's final carry, through ``bridge`` (default: as is),
    starts the decoder, which reads ys_in under teacher forcing. Returns (decoder carry, outputs)."""
    enc_carry, _ = encode(enc_step, enc_params, carry, xs, mask=enc_mask, lengths=enc_lengths, **unroll_kwargs)
    dec_carry = bridge(enc_carry) if bridge is not None else enc_carry
    return decode(dec_step, dec_params, dec_carry, ys_in, mask=dec_mask, lengths=dec_lengths, **unroll_kwargs)
