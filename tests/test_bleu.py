"""BLEU against sacrebleu on pre-tokenised text (tokenize="none"), for every smoothing."""
import math

import pytest

from jaxseq import bleu

sacrebleu = pytest.importorskip("sacrebleu")

PAIRS = [
    ("the cat sat on the mat", "the cat sat on the mat"),
    ("the cat is on the mat", "there is a cat on the mat"),
    ("the the the the the the the", "the cat is on the mat"),  # clipped unigram counts
    ("a cat", "the cat sat on the mat"),                         # short: brevity penalty, no 3- or 4-grams
    ("completely different words here", "the cat sat on the mat"),
    ("on the mat the cat sat quietly today", "the cat sat on the mat"),
    ("", "the cat sat on the mat"),                              # empty hypothesis
    ("1979 - 05 - 03", "1979 - 05 - 03"),
    ("1979 - 05 - 30", "1979 - 05 - 03"),
    ("we saw the cat sat on a mat near the door", "we saw that the cat sat on the mat by the door"),
]
SMOOTHINGS = [("none", None), ("floor", None), ("floor", 0.5), ("add-k", None), ("add-k", 2.0), ("exp", None)]


def _same(ours: bleu.BLEU, theirs) -> None:
    assert ours.score == pytest.approx(theirs.score, rel=1e-9, abs=1e-9)
    assert list(ours.precisions) == pytest.approx(list(theirs.precisions), rel=1e-9, abs=1e-9)
    assert ours.brevity_penalty == pytest.approx(theirs.bp, rel=1e-12)
    assert (ours.sys_len, ours.ref_len) == (theirs.sys_len, theirs.ref_len)


@pytest.mark.parametrize("smooth,value", SMOOTHINGS)
def test_corpus_bleu_equals_sacrebleu(smooth, value):
    hyps = [h for h, _ in PAIRS]
    refs = [r for _, r in PAIRS]
    theirs = sacrebleu.corpus_bleu(hyps, [refs], smooth_method=smooth, smooth_value=value, tokenize="none", force=True)
    _same(bleu.corpus_bleu(hyps, refs, smooth=smooth, smooth_value=value), theirs)
    # subsets give different statistics: check a few more corpora
    for k in (2, 4, 7):
        theirs = sacrebleu.corpus_bleu(hyps[:k], [refs[:k]], smooth_method=smooth, smooth_value=value,
                                       tokenize="none", force=True)
        _same(bleu.corpus_bleu(hyps[:k], refs[:k], smooth=smooth, smooth_value=value), theirs)


@pytest.mark.parametrize("smooth,value", SMOOTHINGS)
@pytest.mark.parametrize("effective_order", [True, False])
def test_sentence_bleu_equals_sacrebleu(smooth, value, effective_order):
    for hyp, ref in PAIRS:
        theirs = sacrebleu.sentence_bleu(hyp, [ref], smooth_method=smooth, smooth_value=value, tokenize="none",
                                         use_effective_order=effective_order)
        _same(bleu.sentence_bleu(hyp, ref, smooth=smooth, smooth_value=value, effective_order=effective_order), theirs)


def test_multiple_references_and_token_lists():
    hyps = [h for h, _ in PAIRS]
    refs_a = [r for _, r in PAIRS]
    refs_b = ["the cat was on the mat", "a cat is on a mat", "the cat", "a small cat sat on the mat", "words",
              "the cat sat on the mat today", "nothing", "1979 - 5 - 3", "1979 - 05 - 30", "we saw the cat"]
    theirs = sacrebleu.corpus_bleu(hyps, [refs_a, refs_b], tokenize="none", force=True)
    ours = bleu.corpus_bleu(hyps, [list(rs) for rs in zip(refs_a, refs_b)])
    _same(ours, theirs)
    # token lists (e.g. characters) are used as they are
    chars = bleu.corpus_bleu([list("1979-05-30")], [[list("1979-05-03")]])
    spaced = sacrebleu.corpus_bleu([" ".join("1979-05-30")], [[" ".join("1979-05-03")]], tokenize="none", force=True)
    _same(chars, spaced)


def test_hand_computed_value_and_bad_input():
    # 5 of 6 unigrams (one "the" clipped), 2 of 5 bigrams, 1 of 4 trigrams, 0 of 3 four-grams; no smoothing → 0
    hyp, ref = "the cat is on the mat", "there is a cat on the mat"
    assert bleu.corpus_bleu([hyp], [ref], smooth="none").score == 0.0
    # floor 0.1 on the 4-grams: BP = exp(1 - 7/6)
    b = bleu.corpus_bleu([hyp], [ref], smooth="floor")
    expected = math.exp(1 - 7 / 6) * math.exp((math.log(5 / 6) + math.log(2 / 5) + math.log(1 / 4) + math.log(0.1 / 3)) / 4)
    assert b.score == pytest.approx(100 * expected, rel=1e-12)
    assert b.counts == (5, 2, 1, 0) and b.totals == (6, 5, 4, 3)
    with pytest.raises(ValueError, match=r"`smooth` must be one of \('none', 'floor', 'add-k', 'exp'\); got 'add-one'"):
        bleu.corpus_bleu([hyp], [ref], smooth="add-one")
    with pytest.raises(ValueError, match=r"`references` must have one entry per hypothesis \(2\); got 1"):
        bleu.corpus_bleu([hyp, hyp], [ref])
    with pytest.raises(TypeError, match="`hypotheses` must be a list of hypotheses; got one str"):
        bleu.corpus_bleu(hyp, [ref])
    with pytest.raises(ValueError, match=r"`max_order` must be a positive integer; got 0"):
        bleu.sentence_bleu(hyp, ref, max_order=0)


def test_a_bare_token_list_reference_beside_a_token_hypothesis_is_refused():
    h, r = list("1979-05-30"), list("1979-05-03")
    with pytest.raises(ValueError, match="list of single characters beside a token-list hypothesis"):
        bleu.sentence_bleu(h, r)
    assert bleu.sentence_bleu(h, [r]).score > 50  # one tokenised reference, wrapped
    assert bleu.sentence_bleu("a b c", ["a b c", "a c"]).score == pytest.approx(100.0)  # several, as strings
    with pytest.raises(ValueError, match="list of single words beside a token-list hypothesis"):
        bleu.sentence_bleu("the cat sat".split(), "the cat sat".split())  # read as 3 references before
    with pytest.raises(ValueError, match="list of single words"):
        bleu.corpus_bleu(["the cat sat".split()], ["the cat sat".split()])
    assert bleu.sentence_bleu(["yes"], [["yes"], ["yeah"]]).score == pytest.approx(100.0)  # two one-word references
    assert bleu.sentence_bleu("the cat sat".split(), ["the cat sat".split()]).score == pytest.approx(100.0)
