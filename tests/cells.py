"""The cells under test, and NumPy transcriptions of their equations (course notation)."""
import functools

import numpy as np

from jaxseq import gru, lstm, rnn


def sigma(z):
    return 1.0 / (1.0 + np.exp(-z))


def np_rnn(p, a, x, g=np.tanh):
    W_a = np.concatenate([p.w_aa, p.w_ax], 0)  # W_a = [W_aa, W_ax] acting on [a, x]
    return g(np.concatenate([a, x], -1) @ W_a + p.b_a)


def np_lstm(p, carry, x):
    a, c = carry
    h = a.shape[-1]
    W = np.concatenate([p.w_aa, p.w_ax], 0)
    z = np.concatenate([a, x], -1) @ W + p.b
    W_u, W_f, W_c, W_o = (z[..., k * h:(k + 1) * h] for k in range(4))
    G_u, G_f, G_o = sigma(W_u), sigma(W_f), sigma(W_o)
    c_tilde = np.tanh(W_c)
    c = G_u * c_tilde + G_f * c
    a = G_o * np.tanh(c)
    return (a, c)


def np_gru_course(p, c, x):
    h = c.shape[-1]
    W_r = np.concatenate([p.w_aa[:, :h], p.w_ax[:, :h]], 0)
    W_u = np.concatenate([p.w_aa[:, h:], p.w_ax[:, h:2 * h]], 0)
    W_c = np.concatenate([p.w_ac, p.w_ax[:, 2 * h:]], 0)
    b_r, b_u, b_c = p.b[:h], p.b[h:2 * h], p.b[2 * h:]
    G_r = sigma(np.concatenate([c, x], -1) @ W_r + b_r)
    G_u = sigma(np.concatenate([c, x], -1) @ W_u + b_u)
    c_tilde = np.tanh(np.concatenate([G_r * c, x], -1) @ W_c + b_c)
    return G_u * c_tilde + (1 - G_u) * c


def np_gru_cudnn(p, c, x):
    h = c.shape[-1]
    xr, xu, xn = (x @ p.w_ax[:, k * h:(k + 1) * h] + p.b[k * h:(k + 1) * h] for k in range(3))
    hr, hu, hn = (c @ p.w_aa[:, k * h:(k + 1) * h] for k in range(3))
    G_r, G_u = sigma(xr + hr), sigma(xu + hu)
    c_tilde = np.tanh(xn + G_r * (hn + p.b_hn))
    return G_u * c_tilde + (1 - G_u) * c


def np_gru_minimal(p, c, x):
    h = c.shape[-1]
    W_u = np.concatenate([p.w_aa[:, :h], p.w_ax[:, :h]], 0)
    W_c = np.concatenate([p.w_aa[:, h:], p.w_ax[:, h:]], 0)
    G_u = sigma(np.concatenate([c, x], -1) @ W_u + p.b[:h])
    c_tilde = np.tanh(np.concatenate([c, x], -1) @ W_c + p.b[h:])
    return G_u * c_tilde + (1 - G_u) * c


def _relu(z):
    return np.maximum(z, 0)


# name -> (init, init_carry, step, numpy step returning the new carry, output of a carry)
CELLS = {
    "rnn_tanh": (rnn.init, rnn.init_carry, rnn.step, np_rnn, lambda c: c),
    "rnn_relu": (rnn.init, rnn.init_carry, rnn.step_relu, functools.partial(np_rnn, g=_relu), lambda c: c),
    "gru_course": (functools.partial(gru.init, form="course"), gru.init_carry, gru.step, np_gru_course, lambda c: c),
    "gru_cudnn": (functools.partial(gru.init, form="cudnn"), gru.init_carry, gru.step, np_gru_cudnn, lambda c: c),
    "gru_minimal": (functools.partial(gru.init, form="minimal"), gru.init_carry, gru.step, np_gru_minimal, lambda c: c),
    "lstm": (lstm.init, lstm.init_carry, lstm.step, np_lstm, lambda c: c[0]),
}
