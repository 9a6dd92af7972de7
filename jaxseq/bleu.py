"""BLEU (Papineni et al. 2002), corpus and sentence level, computed as sacrebleu computes it.

For each hypothesis and n = 1 .. N (N = ``max_order``, 4 by default) count the hypothesis n-grams
(total_n) and those also in a reference, each clipped to its largest count in any one reference
(correct_n). Summed over the corpus:

    p_n  = correct_n / total_n                                  modified n-gram precision
    BP   = 1 if c ≥ r else exp(1 − r / c)                       brevity penalty
    BLEU = BP · exp( (1/N) Σ_n log p_n )                         reported × 100, as sacrebleu does

with c the total hypothesis length and r the total of the reference lengths closest to each
hypothesis' length (the shorter one on a tie). Smoothing for p_n = 0 (Chen & Cherry 2014, with
sacrebleu's definitions):

    "none"   no smoothing: one empty order makes BLEU 0.
    "floor"  p_n = ε / total_n for correct_n = 0              (ε = ``smooth_value``, default 0.1)
    "add-k"  p_n = (correct_n + k) / (total_n + k) for n > 1   (k = ``smooth_value``, default 1)
    "exp"    the i-th order with correct_n = 0 gets p_n = 1 / (2^i · total_n)   (mteval-v13a; default)

``effective_order`` (the default for `sentence_bleu`) averages only over the orders the hypothesis
is long enough to have, so a 3-word sentence is not 0 for lack of 4-grams.

Tokens: a str is split on whitespace (no other tokenisation — compare with sacrebleu's
``tokenize="none"``); a list or tuple of str is taken as tokens as it is. Character-level outputs
(the date translator's) can be passed as lists of characters.

References: ``references[i]`` holds the references of hypothesis i — a str (one reference) or a list
of references, each a str or a token list. So one tokenised reference is ``[tokens]``: a bare list
of single characters beside a token-list hypothesis is refused as ambiguous. (sacrebleu takes reference *streams* instead, one list
per reference set; ``list(zip(*streams))`` converts.)
"""
from __future__ import annotations

import collections
import math
import numbers
from typing import NamedTuple, Optional, Sequence, Union

SMOOTHINGS = ("none", "floor", "add-k", "exp")
SMOOTH_DEFAULTS = {"none": None, "floor": 0.1, "add-k": 1.0, "exp": None}

Tokens = Union[str, Sequence[str]]


class BLEU(NamedTuple):
    score: float                    # 0 .. 100
    precisions: tuple               # p_n × 100, n = 1 .. N, after smoothing
    brevity_penalty: float
    sys_len: int                    # c
    ref_len: int                    # r
    counts: tuple                   # correct_n (before smoothing)
    totals: tuple                   # total_n


def _tokens(name: str, x: Tokens) -> list:
    if isinstance(x, str):
        return x.split()
    if isinstance(x, (list, tuple)) and all(isinstance(t, str) for t in x):
        return list(x)
    raise TypeError(f"`{name}` must be a str or a list of str tokens; got {type(x).__name__} {x!r:.80}")


def _references(i: int, refs) -> list:
    if isinstance(refs, str):
        return [refs.split()]
    if not isinstance(refs, (list, tuple)) or not refs:
        raise ValueError(f"`references[{i}]` must be a str or a non-empty list of references; got {refs!r:.80}")
    return [_tokens(f"references[{i}][{j}]", r) for j, r in enumerate(refs)]


def _ngrams(tokens: list, max_order: int) -> collections.Counter:
    return collections.Counter(tuple(tokens[i:i + n]) for n in range(1, max_order + 1)
                               for i in range(len(tokens) - n + 1))


def _closest_ref_len(hyp_len: int, ref_lens: list) -> int:
    return min(ref_lens, key=lambda r: (abs(hyp_len - r), r))


def segment_stats(hypothesis: Tokens, references, max_order: int = 4, *, index: int = 0) -> tuple:
    """(c, r, correct (N,), total (N,)) of one hypothesis against its references."""
    hyp = _tokens(f"hypotheses[{index}]", hypothesis)
    if (not isinstance(hypothesis, str) and isinstance(references, (list, tuple)) and len(references) > 1
            and all(isinstance(r, str) and r and len(r.split()) == 1 for r in references)):
        # list("1979-05-03") or "the cat sat".split() beside a token-list hypothesis: one tokenised
        # reference, or that many one-token references?
        kind = "single characters" if all(len(r) == 1 for r in references) else "single words"
        raise ValueError(f"`references[{index}]` is a list of {kind} beside a token-list hypothesis: one tokenised "
                         f"reference, or {len(references)} one-token references? For one reference wrap it in a list "
                         f"([{list(references)[:3]!r:.40}...]); for several one-token references wrap each "
                         "([['yes'], ['yeah']])")
    refs = _references(index, references)
    ref_counts: collections.Counter = collections.Counter()
    for r in refs:
        ref_counts |= _ngrams(r, max_order)  # | keeps the largest count of each n-gram
    correct, total = [0] * max_order, [0] * max_order
    for gram, count in _ngrams(hyp, max_order).items():
        total[len(gram) - 1] += count
        correct[len(gram) - 1] += min(count, ref_counts[gram])
    return len(hyp), _closest_ref_len(len(hyp), [len(r) for r in refs]), correct, total


def _check_options(max_order: int, smooth: str, smooth_value: Optional[float]) -> Optional[float]:
    if isinstance(max_order, bool) or not isinstance(max_order, int) or max_order < 1:
        raise ValueError(f"`max_order` must be a positive integer; got {max_order!r}")
    if smooth not in SMOOTHINGS:
        raise ValueError(f"`smooth` must be one of {SMOOTHINGS}; got {smooth!r}")
    if smooth_value is None:
        return SMOOTH_DEFAULTS[smooth]
    if (isinstance(smooth_value, bool) or not isinstance(smooth_value, numbers.Real)
            or not 0 <= smooth_value < math.inf):
        raise ValueError(f"`smooth_value` must be a finite number >= 0; got {smooth_value!r}")
    return float(smooth_value)


def from_stats(sys_len: int, ref_len: int, correct: Sequence[int], total: Sequence[int], *, smooth: str = "exp",
               smooth_value: Optional[float] = None, effective_order: bool = False) -> BLEU:
    """BLEU from summed statistics (sacrebleu's ``BLEU.compute_bleu``, the same branches)."""
    max_order = len(correct)
    smooth_value = _check_options(max_order, smooth, smooth_value)
    bp = 1.0 if sys_len >= ref_len else (math.exp(1.0 - ref_len / sys_len) if sys_len > 0 else 0.0)
    precisions = [0.0] * max_order
    counts, totals = tuple(int(c) for c in correct), tuple(int(t) for t in total)
    if not any(correct):
        return BLEU(0.0, tuple(precisions), bp, sys_len, ref_len, counts, totals)
    correct, total = [float(c) for c in correct], [float(t) for t in total]
    halvings, order = 1.0, max_order
    for n in range(1, max_order + 1):
        if smooth == "add-k" and n > 1:
            correct[n - 1] += smooth_value
            total[n - 1] += smooth_value
        if total[n - 1] == 0:
            break  # the hypotheses are shorter than n: this order and the higher ones stay 0
        if effective_order:
            order = n
        if correct[n - 1] == 0:
            if smooth == "exp":
                halvings *= 2
                precisions[n - 1] = 100.0 / (halvings * total[n - 1])
            elif smooth == "floor":
                precisions[n - 1] = 100.0 * smooth_value / total[n - 1]
        else:
            precisions[n - 1] = 100.0 * correct[n - 1] / total[n - 1]
    log_mean = sum(math.log(p) if p > 0 else -9999999999.0 for p in precisions[:order]) / order
    return BLEU(bp * math.exp(log_mean), tuple(precisions), bp, sys_len, ref_len, counts, totals)


def corpus_bleu(hypotheses: Sequence[Tokens], references: Sequence, *, max_order: int = 4, smooth: str = "exp",
                smooth_value: Optional[float] = None, effective_order: bool = False) -> BLEU:
    """BLEU of a corpus: statistics summed over every hypothesis, then one score (module docstring)."""
    _check_options(max_order, smooth, smooth_value)
    if isinstance(hypotheses, str):
        raise TypeError("`hypotheses` must be a list of hypotheses; got one str (use sentence_bleu)")
    if len(hypotheses) != len(references):
        raise ValueError(f"`references` must have one entry per hypothesis ({len(hypotheses)}); got {len(references)}")
    sys_len = ref_len = 0
    correct, total = [0] * max_order, [0] * max_order
    for i, (hyp, refs) in enumerate(zip(hypotheses, references)):
        c, r, cor, tot = segment_stats(hyp, refs, max_order, index=i)
        sys_len, ref_len = sys_len + c, ref_len + r
        correct = [a + b for a, b in zip(correct, cor)]
        total = [a + b for a, b in zip(total, tot)]
    return from_stats(sys_len, ref_len, correct, total, smooth=smooth, smooth_value=smooth_value,
                      effective_order=effective_order)


def sentence_bleu(hypothesis: Tokens, references, *, max_order: int = 4, smooth: str = "exp",
                  smooth_value: Optional[float] = None, effective_order: bool = True) -> BLEU:
    """BLEU of one hypothesis against its reference(s); effective order on by default, as in sacrebleu."""
    _check_options(max_order, smooth, smooth_value)
    c, r, correct, total = segment_stats(hypothesis, references, max_order)
    return from_stats(c, r, correct, total, smooth=smooth, smooth_value=smooth_value, effective_order=effective_order)
