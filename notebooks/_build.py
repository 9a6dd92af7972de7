"""Write the notebooks from their cell sources (keeps the .ipynb files reviewable as Python).

    python notebooks/_build.py
"""
import pathlib

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = pathlib.Path(__file__).parent


def write(name, cells):
    nb = new_notebook(cells=[new_markdown_cell(c[3:], id=f"cell-{i}") if c.startswith("md:")
                             else new_code_cell(c.strip("\n"), id=f"cell-{i}") for i, c in enumerate(cells)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, HERE / name)


FUNCTIONAL_API = [
    """md:# jaxseq's functional API

Every cell is a module with the same four names — `Params`, `init`, `init_carry`, `step` — and
`step(params, carry, x) -> (carry, y)` has `lax.scan`'s argument order. This notebook walks through
cells, `unroll`, masks for padded batches, bidirectional and deep RNNs, and training with
backpropagation through time and gradient clipping.""",
    """
import jax, jax.numpy as jnp, optax
import jaxseq
from jaxseq import rnn, gru, lstm, bidirectional, stack, head, losses, bptt

key = jax.random.PRNGKey(0)
params = lstm.init(key, input_size=3, hidden_size=8)      # forget-gate bias 1.0 lives in params.b
print({k: v.shape for k, v in params._asdict().items()})
""",
    """md:## One step, then a whole sequence

`unroll` runs the step over the time axis with `lax.scan` (time first: `xs` is `(t, ..., i)`);
leading batch axes pass through, or use `jax.vmap`.""",
    """
carry = lstm.init_carry(params, batch_shape=(2,))
x = jnp.ones((2, 3))
carry, a = lstm.step(params, carry, x)
xs = jax.random.normal(key, (10, 2, 3))
final, ys = jaxseq.unroll(lstm.step, params, lstm.init_carry(params, (2,)), xs)
print(ys.shape, final.a.shape)
""",
    """md:## Padded batches

With `lengths` (or a boolean `mask`), padded steps keep the carry and output zeros, so the final carry
is the one at each sequence's last valid step.""",
    """
lengths = jnp.array([10, 4])
final, ys = jaxseq.unroll(lstm.step, params, lstm.init_carry(params, (2,)), xs, lengths=lengths)
alone, ys_alone = jaxseq.unroll(lstm.step, params, lstm.init_carry(params), xs[:4, 1])
print("padded outputs are zero:", bool((ys[4:, 1] == 0).all()))
print("final carry = carry at the last valid step:", bool(jnp.allclose(final.a[1], alone.a, atol=1e-6)))
""",
    """md:## The three GRUs, bidirectional and deep

The GRU form is chosen explicitly: `"course"` (relevance gate before the matmul), `"cudnn"` (reset
gate after it, PyTorch's) or `"minimal"` (update gate only).""",
    """
for form in gru.FORMS:
    p = gru.init(key, 3, 8, form=form)
    print(form, type(p).__name__, [f"{k}{tuple(v.shape)}" for k, v in p._asdict().items()])

bi = bidirectional.init(key, gru.init, 3, 8, form="cudnn")
_, ys_bi = bidirectional.unroll(gru.step, bi, bidirectional.init_carry(gru.init_carry, bi, (2,)), xs, lengths=lengths)
deep = stack.init(key, lstm.init, 3, [16, 16, 16])
_, ys_deep = stack.unroll(lstm.step, deep, stack.init_carry(lstm.init_carry, deep, (2,)), xs, residual=True)
print(ys_bi.shape, ys_deep.shape)
""",
    """md:## Backpropagation through time, with clipping

A toy many-to-many task: output at each step the sum of the last two inputs. The loss is summed over
time; `jax.grad` goes through the scan; `bptt.clipped` rescales the global gradient norm.""",
    """
T, B = 20, 32
xs = jax.random.normal(key, (T, B, 1))
targets = xs + jnp.concatenate([jnp.zeros((1, B, 1)), xs[:-1]])

model = (rnn.init(key, 1, 16), head.init(key, 16, 1))

def loss_fn(model, xs, targets):
    cell, out = model
    _, a = jaxseq.unroll(rnn.step, cell, rnn.init_carry(cell, (B,)), xs)
    return losses.sequence_squared_error(head.apply(out, a), targets)

opt = bptt.clipped(optax.adam(1e-2), max_norm=1.0)
train_step = jax.jit(bptt.make_train_step(loss_fn, opt))
state = bptt.init_train_state(model, opt)
history = []
for i in range(300):
    state, loss = train_step(state, xs, targets)
    history.append(float(loss))
print(f"loss {history[0]:.3f} -> {history[-1]:.4f}")
""",
    """
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
plt.semilogy(history); plt.xlabel("step"); plt.ylabel("loss"); plt.title("BPTT on the two-step sum")
plt.show()
""",
    """md:## Truncated BPTT

For long streams, cut the sequence into windows of k steps and pass the carry between them under
`stop_gradient`: the forward numbers are unchanged, the gradient reaches back at most k steps.""",
    """
cell = lstm.init(key, 3, 8)
long_xs = jax.random.normal(key, (64, 2, 3))
c0 = lstm.init_carry(cell, (2,))
_, y_full = jaxseq.unroll(lstm.step, cell, c0, long_xs)
_, y_trunc = bptt.truncated_unroll(lstm.step, cell, c0, long_xs, 16)
print("same forward pass:", bool(jnp.allclose(y_full, y_trunc, atol=1e-6)))
g = jax.grad(lambda x: bptt.truncated_unroll(lstm.step, cell, c0, x, 16)[1][-1].sum())(long_xs)
print("gradient reaches back to step", int(jnp.argmax(jnp.abs(g).sum((1, 2)) > 0)))
""",
]

LANGUAGE_MODEL = [
    """md:# A character-level language model

Train a small LSTM language model on the embedded corpus (English prose from the Python standard
library's docstrings), sample novel text, score sentences, and look at how the gradient reaching
a<t> changes with t. With `JAXSEQ_TINY=1` (the test suite) everything runs in seconds.""",
    """
import os, tempfile, dataclasses
import jax, jax.numpy as jnp, numpy as np
from jaxseq import lm, lm_train, scoring, diagnostics, cell, embedding, losses
from jaxseq.lm_train import LMConfig

tiny = os.environ.get("JAXSEQ_TINY") == "1"
out = tempfile.mkdtemp(prefix="jaxseq-nb02-")
config = LMConfig(level="char", hidden=32 if tiny else 256, embed=16 if tiny else 64,
                  steps=20 if tiny else 800, seq_len=16 if tiny else 64, batch=8 if tiny else 32,
                  eval_every=10 if tiny else 200, ckpt_every=10 if tiny else 200,
                  max_eval_tokens=2000 if tiny else 50_000, samples=0, out=out, progress=False)
state, summary = lm_train.train(config)
print(f"validation {summary['valid_bpc']:.2f} bits/char, unigram baseline {summary['unigram_bpc']:.2f}")
""",
    """md:## Sampling novel sequences

Each sampled character is fed back as the next input, inside one compiled scan. Lower temperatures
are more conservative; `top_k` / `top_p` cut the tail of the distribution.""",
    """
config, vocab, params = lm_train.load_run(out)
for t in (0.5, 1.0):
    print(f"--- temperature {t}")
    for text in lm_train.sample_texts(params, vocab, "char", "The ", n=2, length=120, temperature=t, seed=0):
        print(text)
""",
    """md:## What was most likely said

The log-likelihood of a sentence is the sum of log P(y<t> | y<1..t-1>) over its tokens, its end
included (a newline here, as every line of the corpus ends): a sentence cut short gets no discount.""",
    """
def log_p(sentence):
    ids = lm_train.encode_sentence(vocab, "char", sentence)  # [start] + characters + [newline]
    return float(scoring.log_likelihood(params, jnp.asarray(ids[1:]), int(ids[0])).total)

for a, b in [("the function returns a list", "the function returns a lisp"),
             ("recognize speech", "wreck a nice beach")]:
    print(f"{log_p(a):8.2f}  {a!r}")
    print(f"{log_p(b):8.2f}  {b!r}")
""",
    """md:## Vanishing gradients, visible

‖∂L/∂a<t>‖ for a loss on the last prediction only: how much the state at step t still matters at
the end. A plain tanh RNN forgets geometrically; the LSTM's memory cell keeps a path open.""",
    """
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from jaxseq import rnn, lstm

T = 60
xs = jax.random.normal(jax.random.PRNGKey(0), (T, 4, 16))
last = lambda ys: jnp.sum(ys[-1] ** 2)
for name, mod in [("tanh RNN", rnn), ("LSTM", lstm)]:
    p = mod.init(jax.random.PRNGKey(1), 16, 32)
    norms = diagnostics.grad_norms_over_time(mod.step, p, mod.init_carry(p, (4,)), xs, last)
    plt.semilogy(np.arange(1, T + 1), norms, label=name)
plt.xlabel("t"); plt.ylabel("‖∂L/∂a<t>‖"); plt.legend(); plt.title("loss on the last step only")
plt.show()
""",
]

if __name__ == "__main__":
    write("01_functional_api.ipynb", FUNCTIONAL_API)
    write("02_language_model.ipynb", LANGUAGE_MODEL)
