"""Sampling novel sequences from a language model (the course's "Sampling novel sequences").

Feed a prompt, then repeatedly draw y<t> ~ ŷ<t> and feed it back as the next input — inside one
compiled `lax.scan` (`jaxseq.shapes.generate`), not a Python loop per token.

The distribution can be reshaped before each draw:
  * temperature τ: ŷ ∝ exp(z / τ); τ → 0 is greedy argmax (τ = 0 is exactly argmax), τ = 1 the model.
  * top-k: only the k most likely tokens keep their mass.
  * top-p (nucleus, Holtzman et al. 2020): the smallest set of most likely tokens whose mass ≥ p.
"""
from __future__ import annotations

import functools
from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np

from jaxseq import _checks, lm, shapes
from jaxseq.typing import Array


def check_options(vocab_size: int, temperature: float, top_k: Optional[int], top_p: Optional[float]) -> None:
    static = lambda x: not isinstance(x, jax.core.Tracer)  # a traced option (jit, vmap) is not checked
    _checks.nonnegative_finite("temperature", temperature)  # 0 = greedy; inf drew the excluded tokens
    if top_k is not None and not (isinstance(top_k, (int, np.integer)) and not isinstance(top_k, (bool, np.bool_))
                                  and 1 <= top_k <= vocab_size):
        raise ValueError(f"`top_k` must be an integer in [1, {vocab_size}] (the vocabulary size); got {top_k!r}")
    if top_p is not None and static(top_p) and not 0 < top_p <= 1:
        raise ValueError(f"`top_p` must be in (0, 1]; got {top_p}")


def filter_logits(logits: Array, *, top_k: Optional[int] = None, top_p: Optional[float] = None) -> Array:
    """Set the logits of tokens outside the top-k / top-p set to −inf; logits (..., v).

    Both are thresholds on the logit: tokens tied with the k-th largest (or with the last token of
    the top-p set) stay, so a tie can keep more than k tokens (top_k=1 on [1, 1, 1, 0] keeps three).
    """
    check_options(logits.shape[-1], 1.0, top_k, top_p)
    neg = jnp.full_like(logits, -jnp.inf)
    if top_k is not None:
        kth = jax.lax.top_k(logits, top_k)[0][..., -1:]
        logits = jnp.where(logits < kth, neg, logits)
    # p = 1 keeps every token (a float32 cumsum can reach 1 before the last token)
    if top_p is not None and (isinstance(top_p, jax.core.Tracer) or top_p < 1):
        sorted_logits = jnp.sort(logits, axis=-1)[..., ::-1]
        probs = jax.nn.softmax(sorted_logits, axis=-1)
        mass_before = jnp.cumsum(probs, axis=-1) - probs  # mass of strictly more likely tokens
        # keep a token when the tokens ranked above it hold less than p (the top token always stays)
        keep_sorted = mass_before < top_p
        cutoff = jnp.min(jnp.where(keep_sorted, sorted_logits, jnp.inf), axis=-1, keepdims=True)
        logits = jnp.where(logits < cutoff, neg, logits)
    return logits


def draw(key, logits: Array, *, temperature: float = 1.0, top_k: Optional[int] = None,
         top_p: Optional[float] = None) -> Array:
    """One token id per row of logits (..., v). The temperature may be traced (jit, vmap over it)."""
    check_options(logits.shape[-1], temperature, top_k, top_p)
    greedy = jnp.argmax(logits, axis=-1).astype(jnp.int32)
    if not isinstance(temperature, jax.core.Tracer) and temperature == 0:
        return greedy
    # shifted so that the largest logit is 0: z / τ cannot overflow to +inf for a tiny τ (τ → 0 is argmax)
    shifted = logits - jnp.max(logits, axis=-1, keepdims=True)
    safe_t = jnp.where(temperature > 0, temperature, 1.0)
    # an excluded token (−inf) stays −inf: −inf / τ is NaN where τ overflows the logits' dtype to inf
    z = filter_logits(jnp.where(shifted == -jnp.inf, -jnp.inf, shifted / safe_t), top_k=top_k, top_p=top_p)
    drawn = jax.random.categorical(key, z, axis=-1).astype(jnp.int32)
    return jnp.where(temperature > 0, drawn, greedy)


def sample(params: lm.Params, prompt: Array, length: int, *, key, temperature: float = 1.0,
           top_k: Optional[int] = None, top_p: Optional[float] = None, num_samples: int = 1,
           exclude: tuple[int, ...] = ()) -> Array:
    """Continue ``prompt`` (p,) integer ids with ``length`` new tokens, ``num_samples`` times.

    Returns (num_samples, length) int32 ids (the prompt not included). The same key gives the same
    samples. Ids in ``exclude`` are never drawn (their logits are −inf before the temperature, top-k
    and top-p), e.g. a character model's ``<unk>`` and ``<eos>``, which its text never contains.
    A concrete prompt's ids must lie in [0, v) (checked here, before the compiled part).
    """
    _checks.integer("prompt", prompt)
    _checks.ids_below("prompt", prompt, lm.vocab_size(params))
    check_options(lm.vocab_size(params), temperature, top_k, top_p)
    prompt = jnp.asarray(prompt)  # a list too
    top_k = None if top_k is None else int(top_k)  # a static argument: a NumPy int hashes, but keep one key
    return _sample(params, prompt, length, key=key, temperature=temperature, top_k=top_k, top_p=top_p,
                   num_samples=num_samples, exclude=tuple(exclude))


@functools.partial(jax.jit, static_argnames=("length", "num_samples", "temperature", "top_k", "top_p", "exclude"))
def _sample(params: lm.Params, prompt: Array, length: int, *, key, temperature: float, top_k: Optional[int],
            top_p: Optional[float], num_samples: int, exclude: tuple[int, ...]) -> Array:
    _checks.rank_at_least("prompt", prompt, 1, "(prompt_length,)")
    if prompt.ndim != 1 or prompt.shape[0] == 0:
        raise ValueError(f"`prompt` must have shape (prompt_length,) with at least one token; got {prompt.shape}")
    _checks.positive_int("length", length)
    _checks.positive_int("num_samples", num_samples)
    v = lm.vocab_size(params)  # the options were checked by `sample`
    exclude = tuple(exclude)
    if (any(isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < v for i in exclude)
            or len(set(exclude)) != len(exclude) or len(exclude) >= v):
        raise ValueError(f"`exclude` must be a tuple of distinct ids in [0, {v}) leaving at least one token; "
                         f"got {exclude!r}")
    banned = jnp.zeros(v, bool).at[jnp.asarray(exclude, jnp.int32)].set(True) if exclude else None

    tokens = jnp.broadcast_to(prompt[:, None], (prompt.shape[0], num_samples))
    carry, logits = lm.apply(params, lm.init_carry(params, (num_samples,)), tokens)
    k_first, k_rest = jax.random.split(key)
    draw_ = functools.partial(draw, temperature=temperature, top_k=top_k, top_p=top_p)
    pick = draw_ if banned is None else (lambda k, z: draw_(k, jnp.where(banned, -jnp.inf, z)))
    first = pick(k_first, logits[-1])

    def lm_step(params, carry, token):
        carry, logits = lm.apply(params, carry, token[None])
        return carry, logits[0]

    _, _, fed = shapes.generate(lm_step, params, carry, first, length, lambda z, k: pick(k, z), key=k_rest)
    return fed.T  # fed[t] is the token fed at step t: the first `length` generated tokens
