"""Convert cell parameters between jaxseq and PyTorch / flax, both ways.

jaxseq keeps one row-vector matrix per side with the gate blocks stacked along the last axis:
w_ax (i, g·h), w_aa (h, g·h), one bias b (g·h,) (plus b_hn (h,) for the cuDNN GRU). Both
directions are exact: only transposes, slicing, concatenation and sign flips, no arithmetic
that rounds, so jaxseq → torch/flax → jaxseq returns the same bits.

**PyTorch** (``torch.nn.RNN`` / ``GRU`` / ``LSTM``, one layer and direction of a ``state_dict``):
``weight_ih_l{k}`` (g·h, i) = w_axᵀ, ``weight_hh_l{k}`` (g·h, h) = w_aaᵀ, gate blocks stacked
along the first axis in the same order as jaxseq's:

    cell   torch gates   jaxseq blocks   jaxseq ← torch
    RNN    (h)           (a)             b_a = b_ih + b_hh
    GRU    (r, z, n)     (r, u, c)       u block = −(z block) in w_ax, w_aa and b (Γu = 1 − z,
                                         since σ(−s) = 1 − σ(s)); b_r, b_u = b_ih + b_hh;
                                         b_c = b_in; b_hn = b_hn  (cuDNN form only)
    LSTM   (i, f, g, o)  (u, f, c, o)    b = b_ih + b_hh

``to_torch_*`` writes the bias into ``bias_ih`` and zeros into ``bias_hh`` (the GRU's b_hn goes in
its n block). Those zeros are −0.0, the exact additive identity (x + (−0.0) = x for every x, even
x = −0.0), so that from_torch(to_torch(p)) == p bitwise. Values are NumPy arrays; load them with
``module.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()}, strict=False)``.
``from_torch_*`` also accepts torch tensors. ``layer``, ``reverse`` and ``prefix`` address
``prefix + name + f"_l{layer}"`` (+ ``"_reverse"``) in a multi-layer or bidirectional module's
state_dict. torch's final state ``(h_n, c_n)`` is already in the order of ``lstm.Carry(a, c)``.

**flax.linen** (``params`` = ``variables["params"]`` of the cell, or ``["params"]["cell"]`` of an
``nn.RNN``): one Dense per side and gate, kernel (in, h) = the gate's block of w_ax or w_aa:

    cell                             kernels (input; hidden)      biases       jaxseq
    SimpleCell                       i; h                         i            rnn.Params
    GRUCell                          ir, iz, in; hr, hz, hn       ir, iz, in, hn   gru.CuDNNParams
    LSTMCell, OptimizedLSTMCell      ii, if, ig, io; hi, hf, hg, ho   hi, hf, hg, ho   lstm.Params

flax's GRUCell computes h' = (1 − z) n + z h as torch does: the z kernels and bias are negated.
The defaults match jaxseq: gate_fn sigmoid, activation_fn tanh; SimpleCell's tanh is
``rnn.step`` (relu is ``rnn.step_relu``); SimpleCell(residual=True) has no jaxseq equivalent.
flax's LSTM carry is ``(c, h)``, jaxseq's is ``lstm.Carry(a, c)``: use `lstm_carry_to_flax` and
`lstm_carry_from_flax`. The GRU and RNN carries are the same array in both libraries.

Only the GRU "cudnn" form exists in torch and flax; the "course" and "minimal" forms raise.
Every input is checked: a missing or unexpected key or a wrong shape raises ValueError naming
the key, the expected shape and the received one.
"""
from __future__ import annotations

from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from jaxseq import _checks, gru, lstm, rnn

# Per cell: sign of each gate block (the GRU's u = −z) and the flax gate names in jaxseq's order.
_SIGNS = {"rnn": (1.0,), "gru": (1.0, -1.0, 1.0), "lstm": (1.0, 1.0, 1.0, 1.0)}
_FLAX_GATES = {"rnn": ("",), "gru": ("r", "z", "n"), "lstm": ("i", "f", "g", "o")}
_FLAX_BIAS_SIDE = {"rnn": "i", "gru": "i", "lstm": "h"}  # which Dense of each gate has the bias
_PARAMS = {"rnn": rnn.Params, "lstm": lstm.Params}


# --------------------------------------------------------------------------- helpers


def _np(x: Any) -> np.ndarray:
    """A NumPy array from a NumPy/JAX array or a torch tensor (without importing torch); a bfloat16
    tensor becomes an ml_dtypes.bfloat16 array (NumPy has no bfloat16 of its own), bit for bit."""
    if hasattr(x, "detach"):
        t = x.detach().cpu()
        if str(t.dtype) == "torch.bfloat16":
            import ml_dtypes
            import torch  # already loaded: x is one of its tensors

            return t.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
        x = t.numpy()
    a = np.asarray(x)
    if a.dtype == np.float64 and not jax.config.jax_enable_x64:
        raise ValueError("float64 weights would become float32 in jaxseq params (x64 is off): enable x64 "
                         "(jax.config.update('jax_enable_x64', True)) or convert them to float32 first")
    return a


def _signs(cell: str, h: int, dtype) -> np.ndarray:
    return np.repeat(np.asarray(_SIGNS[cell], dtype), h)


def _check_params(cell: str, params) -> int:
    """Check a jaxseq params tuple's shapes; return h. GRU params must be of the "cudnn" form."""
    if cell == "gru":
        form = gru.form_of(params)
        if form != "cudnn":
            raise ValueError(
                f"`params` must be of the GRU form 'cudnn' (gru.CuDNNParams), the only form that "
                f"torch.nn.GRU and flax's GRUCell compute; got form {form!r}"
            )
    elif not isinstance(params, _PARAMS[cell]):
        raise TypeError(f"`params` must be {_PARAMS[cell].__module__}.{_PARAMS[cell].__qualname__}; got {type(params).__name__}")
    g = len(_SIGNS[cell])
    return _checks.cell_params(params, g, g, [("b_hn", "h")] if cell == "gru" else (),
                               bias="b_a" if cell == "rnn" else "b")


def _get(tree: Mapping, path: tuple[str, ...], name: str) -> np.ndarray:
    """tree[path[0]][path[1]]..., or ValueError naming the missing key."""
    node = tree
    for depth, key in enumerate(path):
        if not isinstance(node, Mapping) or key not in node:
            where = _leaf_name(name, path[:depth])
            have = sorted(node) if isinstance(node, Mapping) else type(node).__name__
            raise ValueError(f"`{where}` is missing the key {key!r}; it has {have}")
        node = node[key]
    return _np(node)


def _make(cell: str, w_ax, w_aa, b, b_hn):
    """The jaxseq params tuple of ``cell`` (b_hn is used by the GRU only)."""
    w_ax, w_aa, b = jnp.asarray(w_ax), jnp.asarray(w_aa), jnp.asarray(b)
    if cell == "gru":
        return gru.CuDNNParams(w_ax=w_ax, w_aa=w_aa, b=b, b_hn=jnp.asarray(b_hn))
    return _PARAMS[cell](w_ax, w_aa, b)


def _leaf_name(name: str, path: tuple[str, ...]) -> str:
    return name + "".join(f"[{k!r}]" for k in path)


def _rank2(name: str, x, layout: str) -> tuple[int, int]:
    if np.ndim(x) != 2:
        raise ValueError(f"`{name}` must have shape {layout} (rank 2); got {_checks.shape_of(x)}")
    return _checks.shape_of(x)


def _check_leaves(name: str, leaves: Mapping[tuple[str, ...], tuple[np.ndarray, tuple, str]]) -> None:
    for path, (x, shape, layout) in leaves.items():
        _checks.same_shape(_leaf_name(name, path), x, shape, layout)


# --------------------------------------------------------------------------- PyTorch


def _torch_keys(layer: int, reverse: bool, prefix: str, names=("weight_ih", "weight_hh", "bias_ih", "bias_hh")):
    if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or layer < 0:
        raise ValueError(f"`layer` must be a non-negative integer; got {layer!r}")
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    return {n: f"{prefix}{n}{suffix}" for n in names}


def _to_torch(cell: str, params, layer: int, reverse: bool, prefix: str) -> dict[str, np.ndarray]:
    h = _check_params(cell, params)
    keys = _torch_keys(layer, reverse, prefix)
    w_ax, w_aa, b = (_np(p) for p in params[:3])
    s = _signs(cell, h, b.dtype)
    b_hh = np.full_like(b, -0.0)  # −0.0: the exact additive identity (see the module docstring)
    if cell == "gru":
        b_hh[2 * h:] = _np(params.b_hn)
    out = {"weight_ih": (w_ax * s).T, "weight_hh": (w_aa * s).T, "bias_ih": b * s, "bias_hh": b_hh}
    return {keys[n]: np.ascontiguousarray(v) for n, v in out.items()}


def _from_torch(cell: str, state_dict: Mapping, layer: int, reverse: bool, prefix: str):
    keys = _torch_keys(layer, reverse, prefix)
    sd = {n: _get(state_dict, (k,), "state_dict") for n, k in keys.items()}
    hr = _torch_keys(layer, reverse, prefix, ("weight_hr",))["weight_hr"]
    if hr in state_dict:
        raise ValueError(f"`state_dict` has {hr!r}: an LSTM with proj_size > 0, which jaxseq does not have")
    g = len(_SIGNS[cell])
    h = _rank2(f"state_dict[{keys['weight_hh']!r}]", sd["weight_hh"], f"({g}*hidden, hidden)")[1]
    i = _rank2(f"state_dict[{keys['weight_ih']!r}]", sd["weight_ih"], f"({g}*hidden, input)")[1]
    _check_leaves("state_dict", {
        (keys["weight_ih"],): (sd["weight_ih"], (g * h, i), f"({g}*hidden, input)"),
        (keys["weight_hh"],): (sd["weight_hh"], (g * h, h), f"({g}*hidden, hidden)"),
        (keys["bias_ih"],): (sd["bias_ih"], (g * h,), f"({g}*hidden,)"),
        (keys["bias_hh"],): (sd["bias_hh"], (g * h,), f"({g}*hidden,)"),
    })
    s = _signs(cell, h, sd["bias_ih"].dtype)
    b_ih, b_hh = sd["bias_ih"], sd["bias_hh"]
    if cell == "gru":  # b_in stays outside Γr * (...), b_hn inside: they are not summed
        b = np.concatenate([b_ih[:2 * h] + b_hh[:2 * h], b_ih[2 * h:]])
    else:
        b = b_ih + b_hh
    return _make(cell, sd["weight_ih"].T * s, sd["weight_hh"].T * s, b * s, b_hh[2 * h:])


def to_torch_rnn(params: rnn.Params, *, layer: int = 0, reverse: bool = False, prefix: str = "") -> dict:
    """torch.nn.RNN state_dict entries {weight_ih_l0: (h, i), weight_hh_l0: (h, h), bias_ih_l0, bias_hh_l0: (h,)}."""
    return _to_torch("rnn", params, layer, reverse, prefix)


def from_torch_rnn(state_dict: Mapping, *, layer: int = 0, reverse: bool = False, prefix: str = "") -> rnn.Params:
    """rnn.Params from torch.nn.RNN's state_dict: w_ax = W_ihᵀ, w_aa = W_hhᵀ, b_a = b_ih + b_hh."""
    return _from_torch("rnn", state_dict, layer, reverse, prefix)


def to_torch_gru(params: gru.CuDNNParams, *, layer: int = 0, reverse: bool = False, prefix: str = "") -> dict:
    """torch.nn.GRU state_dict entries (weights (3h, ·), gates (r, z, n), z = −u) of a "cudnn" GRU."""
    return _to_torch("gru", params, layer, reverse, prefix)


def from_torch_gru(state_dict: Mapping, *, layer: int = 0, reverse: bool = False, prefix: str = "") -> gru.CuDNNParams:
    """gru.CuDNNParams from torch.nn.GRU's state_dict (u = −z; b_c = b_in; b_hn kept apart)."""
    return _from_torch("gru", state_dict, layer, reverse, prefix)


def to_torch_lstm(params: lstm.Params, *, layer: int = 0, reverse: bool = False, prefix: str = "") -> dict:
    """torch.nn.LSTM state_dict entries (weights (4h, ·), gates (i, f, g, o) = jaxseq's (u, f, c, o))."""
    return _to_torch("lstm", params, layer, reverse, prefix)


def from_torch_lstm(state_dict: Mapping, *, layer: int = 0, reverse: bool = False, prefix: str = "") -> lstm.Params:
    """lstm.Params from torch.nn.LSTM's state_dict: w_ax = W_ihᵀ, w_aa = W_hhᵀ, b = b_ih + b_hh."""
    return _from_torch("lstm", state_dict, layer, reverse, prefix)


# --------------------------------------------------------------------------- flax.linen


def _flax_layout(cell: str, i: int, h: int) -> dict[tuple[str, ...], tuple[tuple, str]]:
    """Every (module, param) of the flax cell with its shape and layout."""
    side = _FLAX_BIAS_SIDE[cell]
    out = {}
    for gate in _FLAX_GATES[cell]:
        out[("i" + gate, "kernel")] = ((i, h), "(input, hidden)")
        out[("h" + gate, "kernel")] = ((h, h), "(hidden, hidden)")
        out[(side + gate, "bias")] = ((h,), "(hidden,)")
    if cell == "gru":
        out[("hn", "bias")] = ((h,), "(hidden,)")
    return out


def _to_flax(cell: str, params) -> dict:
    h = _check_params(cell, params)
    w_ax, w_aa, b = (_np(p) for p in params[:3])
    side, out = _FLAX_BIAS_SIDE[cell], {}
    for k, (gate, s) in enumerate(zip(_FLAX_GATES[cell], _SIGNS[cell])):
        blk = slice(k * h, (k + 1) * h)
        out["i" + gate] = {"kernel": w_ax[:, blk] * s}
        out["h" + gate] = {"kernel": w_aa[:, blk] * s}
        out[side + gate]["bias"] = b[blk] * s
    if cell == "gru":
        out["hn"]["bias"] = _np(params.b_hn)
    return {m: {n: jnp.asarray(v) for n, v in d.items()} for m, d in out.items()}


def _from_flax(cell: str, params: Mapping):
    gates, side = _FLAX_GATES[cell], _FLAX_BIAS_SIDE[cell]
    name = "params"

    def first_kernel(side_: str, layout_: str) -> tuple[int, int]:  # gives the sizes i and h
        path = (side_ + gates[0], "kernel")
        return _rank2(_leaf_name(name, path), _get(params, path, name), layout_)

    i, h = first_kernel("i", "(input, hidden)")[0], first_kernel("h", "(hidden, hidden)")[1]
    layout = _flax_layout(cell, i, h)
    expected: dict[str, list[str]] = {}
    for m, n in layout:
        expected.setdefault(m, []).append(n)
    for m in params:  # unexpected keys would be silently dropped: refuse them
        if m not in expected:
            raise ValueError(f"`params` has the unexpected key {m!r}; expected the keys {sorted(expected)}")
        extra = sorted(set(params[m]) - set(expected[m])) if isinstance(params[m], Mapping) else []
        if extra:
            raise ValueError(f"`params[{m!r}]` has the unexpected key {extra[0]!r}; expected {expected[m]}")
    leaves = {p: _get(params, p, name) for p in layout}
    _check_leaves(name, {p: (leaves[p], *layout[p]) for p in layout})

    def stacked(prefix: str, what: str):
        return np.concatenate([leaves[(prefix + g, what)] * s for g, s in zip(gates, _SIGNS[cell])], axis=-1)

    return _make(cell, stacked("i", "kernel"), stacked("h", "kernel"), stacked(side, "bias"), leaves.get(("hn", "bias")))


def to_flax_simple(params: rnn.Params) -> dict:
    """flax SimpleCell params {'i': {'kernel': w_ax, 'bias': b_a}, 'h': {'kernel': w_aa}}."""
    return _to_flax("rnn", params)


def from_flax_simple(params: Mapping) -> rnn.Params:
    """rnn.Params from flax SimpleCell params (the dict under 'params')."""
    return _from_flax("rnn", params)


def to_flax_gru(params: gru.CuDNNParams) -> dict:
    """flax GRUCell params: 'ir', 'iz', 'in' kernel+bias; 'hr', 'hz' kernel; 'hn' kernel+bias; z = −u."""
    return _to_flax("gru", params)


def from_flax_gru(params: Mapping) -> gru.CuDNNParams:
    """gru.CuDNNParams from flax GRUCell params (u = −z; b_hn = hn's bias)."""
    return _from_flax("gru", params)


def to_flax_lstm(params: lstm.Params) -> dict:
    """flax LSTMCell / OptimizedLSTMCell params: 'ii'..'io' kernels; 'hi'..'ho' kernel+bias."""
    return _to_flax("lstm", params)


def from_flax_lstm(params: Mapping) -> lstm.Params:
    """lstm.Params from flax LSTMCell / OptimizedLSTMCell params (the dict under 'params')."""
    return _from_flax("lstm", params)


def lstm_carry_to_flax(carry: lstm.Carry) -> tuple:
    """flax's LSTM carry (c, h) from jaxseq's Carry(a, c)."""
    a, c = _check_carry("carry", carry)
    return (c, a)


def lstm_carry_from_flax(carry: tuple) -> lstm.Carry:
    """jaxseq's Carry(a, c) from flax's LSTM carry (c, h)."""
    c, h = _check_carry("carry", carry)
    return lstm.Carry(a=h, c=c)


def _check_carry(name: str, carry) -> tuple:
    if not isinstance(carry, tuple) or len(carry) != 2:
        raise ValueError(f"`{name}` must be a pair of arrays; got {type(carry).__name__}")
    _checks.same_shape(f"{name}[1]", carry[1], _checks.shape_of(carry[0]), f"{name}[0].shape")
    return carry


__all__ = [
    "to_torch_rnn", "from_torch_rnn", "to_torch_gru", "from_torch_gru", "to_torch_lstm", "from_torch_lstm",
    "to_flax_simple", "from_flax_simple", "to_flax_gru", "from_flax_gru", "to_flax_lstm", "from_flax_lstm",
    "lstm_carry_to_flax", "lstm_carry_from_flax",
]
