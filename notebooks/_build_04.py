"""Write notebook 04 (date translation with attention) from its cell sources.

    python notebooks/_build_04.py

Kept apart from `_build.py` so that each notebook's builder can change on its own; it uses the same
`write` helper.
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from _build import write  # noqa: E402

SEQ2SEQ_ATTENTION = [
    """md:# Sequence to sequence with attention: translating dates

The course's attention model on its own example: human-readable dates ("3 May 1979", "tuesday,
10/09/2001", "5.4.99") translated character by character into ISO dates (1979-05-03).

* an **encoder** (a bidirectional RNN) reads the input and gives one annotation a<t'> = [a→<t'>, a←<t'>] per character;
* a **decoder** RNN writes one output character per step; before each step it scores every annotation
  with its previous state, e<t,t'> = vᵀ tanh(W_s s<t-1> + W_a a<t'>), turns the scores into weights
  α<t,t'> = softmax over t', and reads the context c<t> = Σ_t' α<t,t'> a<t'>;
* its input is [embedding of the previous output character, c<t>].

We train it, decode with greedy search and beam search, and look at where it attends.

Set `JAXSEQ_TINY=1` to run everything in seconds (with a tiny model that learns little).""",
    """
import os, time
import jax, jax.numpy as jnp, numpy as np, optax
import matplotlib.pyplot as plt
from jaxseq import attention, bptt, dates, seq2seq, supervised

TINY = os.environ.get("JAXSEQ_TINY") == "1"
settings = (dict(n_train=256, n_test=32, cell="rnn", embed=8, encoder=8, decoder=16, attention_size=8, steps=6, batch=16)
            if TINY else
            dict(n_train=20000, n_test=500, cell="lstm", embed=32, encoder=64, decoder=128, attention_size=64, steps=1500, batch=64))
settings
""",
    """md:## The data

Dates from 1950 to 2049 in 20 formats, made with Python's `datetime` from a seed. The split is by
*date*: 10% of the calendar days are held out, and none of them appears in training in any format.
Slashes are month first (US), dots and dashes day first (European), so every string names one date.""",
    """
data = dates.make(seed=0, n_train=settings["n_train"], n_test=settings["n_test"])
day = dates.all_dates()[10_000]
for fmt in list(dates.FORMATS)[:8]:
    print(f"{fmt:>24}:  {dates.render(day, fmt)!r}")
print(f"... → {day.isoformat()}")
print(len(data.train), "training pairs,", len(data.test), "held-out pairs; held-out days seen in training:",
      len({iso for _, iso in data.train} & {iso for _, iso in data.test}))
src, src_len, tgt, tgt_len = dates.encode(data.train, data.src_vocab)
test_src, test_len, _, _ = dates.encode(data.test, data.src_vocab)
print("source vocabulary:", len(data.src_vocab), "characters; batches are time-first:", src.shape, tgt.shape)
""",
    """md:## The model

`seq2seq.init` returns one NamedTuple of parameters; which attention it uses is in the type of
`params.attention` (here `AdditiveParams`: W_s, W_a and v). The decoder starts from a dense bridge of
the encoder's final carries, s<0> = tanh([a→<T_x>, a←<1>] W + b).""",
    """
params = seq2seq.init(jax.random.PRNGKey(0), len(data.src_vocab), len(dates.TGT_VOCAB), cell_kind=settings["cell"],
                      embed_dim=settings["embed"], encoder_size=settings["encoder"], decoder_size=settings["decoder"],
                      attention_kind="additive", attention_size=settings["attention_size"])
print(type(params.attention).__name__, {k: v.shape for k, v in params.attention._asdict().items()})
print("decoder input:", params.decoder.w_ax.shape[0], "= embedding", settings["embed"], "+ context", 2 * settings["encoder"])
""",
    """md:## Training with teacher forcing

The decoder reads the *true* previous character during training ([<bos>, y<1>, ..., y<T_y-1>]); the
loss is the cross-entropy of every target character, <eos> included.""",
    """
optimizer = bptt.clipped(optax.adam(3e-3), 5.0)
loss_fn = lambda p, *batch: seq2seq.loss(p, *batch, bos_id=dates.BOS)
train_step = jax.jit(bptt.make_train_step(loss_fn, optimizer))
state = bptt.init_train_state(params, optimizer)
order = supervised.Minibatches(len(data.train), settings["batch"], seed=0)
t0, history = time.time(), []
for step in range(settings["steps"]):
    idx = order.at(step)
    state, loss = train_step(state, src[:, idx], src_len[idx], tgt[:, idx], tgt_len[idx])
    history.append(float(loss))
    if (step + 1) % max(1, settings["steps"] // 5) == 0:
        print(f"step {step + 1}: loss {np.mean(history[-50:]):.4f}  ({time.time() - t0:.0f} s)")
params = state.params
""",
    """md:## Greedy decoding and beam search

Both run compiled: greedy decoding is one `lax.scan` over the output steps for the whole batch;
beam search is a `lax.while_loop` per example (vmapped) that keeps the k hypotheses with the
highest log P(y | x) / lp(|y|), with Wu et al.'s length penalty lp = ((5 + |y|) / 6)^α.""",
    """
decode = dict(bos_id=dates.BOS, eos_id=dates.EOS, max_len=11, pad_id=dates.PAD)
greedy = seq2seq.greedy_decode(params, jnp.asarray(test_src), jnp.asarray(test_len), **decode)
beams = seq2seq.beam_search(params, jnp.asarray(test_src), jnp.asarray(test_len), beam_width=4, alpha=0.6, **decode)

def as_dates(tokens, lengths):
    return [dates.decode_iso(ids) for ids in seq2seq.to_lists(tokens, lengths, eos_id=dates.EOS)]

greedy_out = as_dates(greedy.tokens, greedy.lengths)
beam_out = as_dates(beams.tokens[..., 0], beams.lengths[..., 0])
exact = lambda out: np.mean([o == iso for o, (_, iso) in zip(out, data.test)])
print(f"held-out exact match: greedy {exact(greedy_out):.3f}, beam {exact(beam_out):.3f}")
for b in range(3):
    human, iso = data.test[b]
    top = as_dates(beams.tokens[:, b], beams.lengths[b])
    print(f"{human!r:36} → {iso}; beams:", ", ".join(f"{y} ({s:.2f})" for y, s in zip(top, np.asarray(beams.scores[b]))))
""",
    """md:A beam of width 1 is exactly greedy decoding:""",
    """
one = seq2seq.beam_search(params, jnp.asarray(test_src), jnp.asarray(test_len), beam_width=1, **decode)
print(bool((one.tokens[..., 0] == greedy.tokens).all()))
""",
    """md:## Where the decoder looks

α<t,t'> for a few held-out dates: rows are output characters, columns input characters. The year
digits attend to the year, the month to the month's name or number, and padding gets exactly zero.""",
    """
fig, axes = plt.subplots(1, 2, figsize=(13, 4))
for b, ax in enumerate(axes):
    human, iso = data.test[b]
    out_tokens = dates.TGT_VOCAB.decode(np.asarray(greedy.tokens[: int(greedy.lengths[b]), b]))
    attention.plot_weights(None, greedy.alphas[:, b], list(human), out_tokens, ax=ax, title=f"{human!r} → {iso}")
fig.tight_layout()
plt.show()
print("weight on padded input steps:", float(jnp.abs(greedy.alphas * (jnp.arange(test_src.shape[0])[None] >= test_len[:, None])[None]).max()))
""",
    """md:The full experiment — the same model with and without attention, exact match on 1000 held-out
dates, heat-maps and a run folder — is `python experiments/dates.py`.""",
]

if __name__ == "__main__":
    write("04_seq2seq_attention.ipynb", SEQ2SEQ_ATTENTION)
