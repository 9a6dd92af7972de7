"""jaxseq.interop (PyTorch / flax converters) and jaxseq.flax_modules, against torch and flax themselves."""
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxseq import flax_modules, gru, interop, lstm, rnn
from jaxseq.unroll import unroll

T, B, I, H = 5, 3, 4, 6
TOL = dict(rtol=1e-5, atol=1e-5)

# cell -> (init, step, to_torch, from_torch, to_flax, from_flax)
CELLS = {
    "rnn": (rnn.init, rnn.step, interop.to_torch_rnn, interop.from_torch_rnn,
            interop.to_flax_simple, interop.from_flax_simple),
    "gru": (functools.partial(gru.init, form="cudnn"), gru.step, interop.to_torch_gru, interop.from_torch_gru,
            interop.to_flax_gru, interop.from_flax_gru),
    "lstm": (lstm.init, lstm.step, interop.to_torch_lstm, interop.from_torch_lstm,
             interop.to_flax_lstm, interop.from_flax_lstm),
}


def _params(cell, key=0):
    """jaxseq params with random (not zero) biases, and signed zeros to catch a non-bitwise round trip."""
    init = CELLS[cell][0]
    p = init(jax.random.key(key), I, H)
    noisy = [jax.random.normal(k, x.shape, x.dtype) for k, x in zip(jax.random.split(jax.random.key(key + 1), len(p)), p)]
    p = type(p)(*p[:2], *noisy[2:])
    return p._replace(**{p._fields[2]: p[2].at[0].set(-0.0).at[1].set(0.0)})


def _assert_bitwise(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, a.shape, b.dtype, b.shape)
    u = f"u{a.dtype.itemsize}"
    np.testing.assert_array_equal(a.view(u), b.view(u))


def _assert_tree_bitwise(a, b):
    assert jax.tree_util.tree_structure(a) == jax.tree_util.tree_structure(b)
    jax.tree_util.tree_map(_assert_bitwise, a, b)


def _xs(key=2, shape=(T, B, I)):
    return jax.random.normal(jax.random.key(key), shape)


def _carry(cell, key=3):
    k1, k2 = jax.random.split(jax.random.key(key))
    a, c = jax.random.normal(k1, (B, H)), jax.random.normal(k2, (B, H))
    return lstm.Carry(a=a, c=c) if cell == "lstm" else a


# --------------------------------------------------------------------------- exact round trips


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("where", [{}, dict(layer=1, reverse=True, prefix="encoder.rnn.")])
def test_torch_layout_round_trip_is_bitwise(cell, where):
    _, _, to_torch, from_torch, _, _ = CELLS[cell]
    p = _params(cell)
    sd = to_torch(p, **where)
    sfx = f"_l{where.get('layer', 0)}" + ("_reverse" if where.get("reverse") else "")
    assert sorted(sd) == sorted(f"{where.get('prefix', '')}{n}{sfx}" for n in ("bias_hh", "bias_ih", "weight_hh", "weight_ih"))
    assert all(isinstance(v, np.ndarray) and v.flags.c_contiguous for v in sd.values())
    _assert_tree_bitwise(from_torch(sd, **where), p)


@pytest.mark.parametrize("cell", CELLS)
def test_flax_layout_round_trip_is_bitwise(cell):
    _, _, _, _, to_flax, from_flax = CELLS[cell]
    p = _params(cell)
    fp = to_flax(p)
    _assert_tree_bitwise(from_flax(fp), p)
    _assert_tree_bitwise(to_flax(from_flax(fp)), fp)


@pytest.mark.parametrize("flax_cell, cell", [
    (nn.SimpleCell, "rnn"), (nn.GRUCell, "gru"), (nn.LSTMCell, "lstm"), (nn.OptimizedLSTMCell, "lstm")])
def test_flax_param_tree_is_the_flax_cells(flax_cell, cell):
    x = jnp.ones((B, I))
    fc = flax_cell(features=H)
    fp = fc.init(jax.random.key(0), fc.initialize_carry(jax.random.key(1), x.shape), x)["params"]
    got = CELLS[cell][4](_params(cell))
    assert jax.tree_util.tree_map(jnp.shape, got) == jax.tree_util.tree_map(jnp.shape, fp)
    _assert_tree_bitwise(CELLS[cell][4](CELLS[cell][5](fp)), fp)


def test_lstm_carry_converters():
    carry = _carry("lstm")
    c, h = interop.lstm_carry_to_flax(carry)
    assert c is carry.c and h is carry.a
    assert interop.lstm_carry_from_flax((c, h)) == carry


# --------------------------------------------------------------------------- same outputs as flax


def _perturb(tree, key=7):
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    keys = jax.random.split(jax.random.key(key), len(leaves))
    return treedef.unflatten([x + 0.3 * jax.random.normal(k, x.shape) for k, x in zip(keys, leaves)])


@pytest.mark.parametrize("direction", ["from_flax", "to_flax"])
@pytest.mark.parametrize("flax_cell, cell", [
    (nn.SimpleCell, "rnn"), (nn.GRUCell, "gru"), (nn.LSTMCell, "lstm"), (nn.OptimizedLSTMCell, "lstm")])
def test_unroll_equals_flax_rnn(flax_cell, cell, direction):
    _, step, _, _, to_flax, from_flax = CELLS[cell]
    xs = _xs()                                   # (t, b, i): jaxseq is time-major
    carry0 = _carry(cell)
    flax_carry0 = interop.lstm_carry_to_flax(carry0) if cell == "lstm" else carry0
    model = nn.RNN(flax_cell(features=H), return_carry=True)  # batch-major (b, t, i) by default
    if direction == "from_flax":
        variables = _perturb(model.init(jax.random.key(0), xs.swapaxes(0, 1)))  # nonzero biases too
        params = from_flax(variables["params"]["cell"])
    else:
        params = _params(cell)
        variables = {"params": {"cell": to_flax(params)}}
    flax_carry, flax_ys = model.apply(variables, xs.swapaxes(0, 1), initial_carry=flax_carry0)
    carry, ys = unroll(step, params, carry0, xs)
    np.testing.assert_allclose(ys, flax_ys.swapaxes(0, 1), **TOL)
    if cell == "lstm":
        flax_carry = interop.lstm_carry_from_flax(flax_carry)
    jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, **TOL), carry, flax_carry)


# --------------------------------------------------------------------------- same outputs as torch


def _torch_module(torch, cell, **kw):
    return {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[cell](I, H, **kw)


def _run_torch(torch, module, cell, xs, carry0):
    x = torch.from_numpy(np.array(xs))
    with torch.no_grad():
        if cell == "lstm":
            ys, (h, c) = module(x, (torch.from_numpy(np.array(carry0.a))[None], torch.from_numpy(np.array(carry0.c))[None]))
            return lstm.Carry(a=h[0].numpy(), c=c[0].numpy()), ys.numpy()
        ys, h = module(x, torch.from_numpy(np.array(carry0))[None])
        return h[0].numpy(), ys.numpy()


@pytest.mark.parametrize("direction", ["from_torch", "to_torch"])
@pytest.mark.parametrize("cell, nonlinearity", [("rnn", "tanh"), ("rnn", "relu"), ("gru", None), ("lstm", None)])
def test_unroll_equals_torch(cell, nonlinearity, direction):
    torch = pytest.importorskip("torch")
    _, step, to_torch, from_torch, _, _ = CELLS[cell]
    torch.manual_seed(0)
    module = _torch_module(torch, cell, **({"nonlinearity": nonlinearity} if nonlinearity else {}))
    if direction == "from_torch":
        params = from_torch(module.state_dict())  # torch's own random init, nonzero biases
    else:
        params = _params(cell)
        module.load_state_dict({k: torch.from_numpy(v) for k, v in to_torch(params).items()})
    step = rnn.step_relu if nonlinearity == "relu" else step
    xs, carry0 = _xs(), _carry(cell)
    carry, ys = unroll(step, params, carry0, xs)
    torch_carry, torch_ys = _run_torch(torch, module, cell, xs, carry0)
    np.testing.assert_allclose(ys, torch_ys, **TOL)
    jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, **TOL), carry, torch_carry)


def test_two_layer_bidirectional_torch_lstm():
    """`layer` and `reverse` address every (layer, direction) of a stacked bidirectional torch LSTM."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    module = torch.nn.LSTM(I, H, num_layers=2, bidirectional=True)
    sd = module.state_dict()
    xs = _xs()
    finals, inputs = [], xs
    for layer in range(2):
        outs = []
        for reverse in (False, True):
            p = interop.from_torch_lstm(sd, layer=layer, reverse=reverse)
            carry, ys = unroll(lstm.step, p, lstm.init_carry(p, (B,)), inputs, reverse=reverse)
            finals.append(carry)
            outs.append(ys)
        inputs = jnp.concatenate(outs, axis=-1)
    with torch.no_grad():
        torch_ys, (h_n, c_n) = module(torch.from_numpy(np.array(xs)))
    np.testing.assert_allclose(inputs, torch_ys.numpy(), **TOL)
    np.testing.assert_allclose(jnp.stack([f.a for f in finals]), h_n.numpy(), **TOL)
    np.testing.assert_allclose(jnp.stack([f.c for f in finals]), c_n.numpy(), **TOL)


# --------------------------------------------------------------------------- bad inputs


def test_missing_keys_raise():
    sd = interop.to_torch_lstm(_params("lstm"))
    del sd["bias_hh_l0"]
    with pytest.raises(ValueError, match=r"missing the key 'bias_hh_l0'"):
        interop.from_torch_lstm(sd)
    with pytest.raises(ValueError, match=r"missing the key 'weight_ih_l1'"):
        interop.from_torch_gru(interop.to_torch_gru(_params("gru")), layer=1)
    fp = interop.to_flax_lstm(_params("lstm"))
    del fp["hf"]
    with pytest.raises(ValueError, match=r"missing the key 'hf'"):
        interop.from_flax_lstm(fp)
    fp = interop.to_flax_gru(_params("gru"))
    del fp["hn"]["bias"]
    with pytest.raises(ValueError, match=r"`params\['hn'\]` is missing the key 'bias'"):
        interop.from_flax_gru(fp)


def test_unexpected_keys_raise():
    fp = interop.to_flax_gru(_params("gru"))
    fp["hr"]["bias"] = jnp.zeros((H,))  # a bias jaxseq has no place for: refuse, don't drop it
    with pytest.raises(ValueError, match=r"`params\['hr'\]` has the unexpected key 'bias'"):
        interop.from_flax_gru(fp)
    fp = interop.to_flax_simple(_params("rnn"))
    with pytest.raises(ValueError, match=r"`params` has the unexpected key 'dense'"):
        interop.from_flax_simple({**fp, "dense": {"kernel": jnp.zeros((H, 2))}})
    with pytest.raises(ValueError, match=r"`params` is missing the key 'i'; it has \['params'\]"):
        interop.from_flax_simple({"params": fp})  # the variables dict instead of variables["params"]


def test_wrong_shapes_raise():
    sd = interop.to_torch_gru(_params("gru"))
    sd["weight_ih_l0"] = sd["weight_ih_l0"][:-1]
    with pytest.raises(ValueError, match=rf"weight_ih_l0'\]` must have shape \(3\*hidden, input\) = \({3 * H}, {I}\); got \({3 * H - 1}, {I}\)"):
        interop.from_torch_gru(sd)
    sd = interop.to_torch_rnn(_params("rnn"))
    sd["bias_ih_l0"] = sd["bias_ih_l0"][:-1]
    with pytest.raises(ValueError, match=rf"bias_ih_l0'\]` must have shape \(1\*hidden,\) = \({H},\); got \({H - 1},\)"):
        interop.from_torch_rnn(sd)
    fp = interop.to_flax_lstm(_params("lstm"))
    fp["hg"]["kernel"] = fp["hg"]["kernel"][:-1]
    with pytest.raises(ValueError, match=rf"`params\['hg'\]\['kernel'\]` must have shape \(hidden, hidden\) = \({H}, {H}\); got \({H - 1}, {H}\)"):
        interop.from_flax_lstm(fp)
    p = _params("lstm")
    with pytest.raises(ValueError, match=r"`params.b` must have shape"):
        interop.to_torch_lstm(p._replace(b=p.b[:-1]))
    with pytest.raises(TypeError, match=r"`params` must be jaxseq.rnn.Params; got Params"):
        interop.to_torch_rnn(p)


def test_torch_lstm_with_projection_raises():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match=r"weight_hr_l0.*proj_size"):
        interop.from_torch_lstm(torch.nn.LSTM(I, H, proj_size=2).state_dict())


@pytest.mark.parametrize("form", ["course", "minimal"])
@pytest.mark.parametrize("convert", [interop.to_torch_gru, interop.to_flax_gru])
def test_non_cudnn_gru_forms_raise(form, convert):
    with pytest.raises(ValueError, match=rf"form 'cudnn'.*got form '{form}'"):
        convert(gru.init(jax.random.key(0), I, H, form=form))


def test_lstm_carry_converters_check_their_input():
    with pytest.raises(ValueError, match=r"`carry` must be a pair"):
        interop.lstm_carry_from_flax(jnp.zeros((B, H)))
    with pytest.raises(ValueError, match=r"`carry\[1\]` must have shape"):
        interop.lstm_carry_to_flax(lstm.Carry(a=jnp.zeros((B, H)), c=jnp.zeros((B, H + 1))))


# --------------------------------------------------------------------------- flax modules


MODULES = {
    "rnn": (flax_modules.SimpleRNN(H), rnn.step),
    "rnn_relu": (flax_modules.SimpleRNN(H, nonlinearity="relu"), rnn.step_relu),
    "gru_course": (flax_modules.GRU(H, form="course"), gru.step),
    "gru_cudnn": (flax_modules.GRU(H, form="cudnn", reverse=True), gru.step),
    "lstm": (flax_modules.LSTM(H, forget_bias=0.5, unroll=2), lstm.step),
}


@pytest.mark.parametrize("name", MODULES)
def test_flax_module_matches_unroll(name):
    model, step = MODULES[name]
    xs, lengths = _xs(), jnp.array([T, 2, 0])
    variables = model.init(jax.random.key(0), xs)
    params = variables["params"]["cell"]
    assert list(variables) == ["params"] and list(variables["params"]) == ["cell"]
    assert jax.tree_util.tree_map(jnp.shape, params) == jax.tree_util.tree_map(
        jnp.shape, model.clone().init(jax.random.key(1), xs)["params"]["cell"])
    if name == "lstm":
        np.testing.assert_array_equal(params.b[H:2 * H], 0.5)
    carry0 = _carry(name.split("_")[0])
    for kw in ({}, {"lengths": lengths}):
        got = model.apply(variables, xs, carry0, **kw)
        want = unroll(step, params, carry0, xs, reverse=model.reverse, unroll=model.unroll, **kw)
        jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, **TOL), got, want)
    zero = jax.tree_util.tree_map(jnp.zeros_like, carry0)
    jax.tree_util.tree_map(_assert_bitwise, model.apply(variables, xs), model.apply(variables, xs, zero))


@pytest.mark.parametrize("name", MODULES)
def test_flax_module_jit_and_grad(name):
    model, step = MODULES[name]
    xs, mask = _xs(), jnp.arange(T)[:, None] < jnp.array([[T, 3, 1]])
    variables = model.init(jax.random.key(0), xs)

    def loss(v):
        carry, ys = model.apply(v, xs, mask=mask)
        return jnp.sum(ys ** 2) + sum(jnp.sum(c) for c in jax.tree_util.tree_leaves(carry))

    def reference(p):
        c0 = jax.tree_util.tree_map(jnp.zeros_like, _carry(name.split("_")[0]))
        carry, ys = unroll(step, p, c0, xs, mask=mask, reverse=model.reverse)
        return jnp.sum(ys ** 2) + sum(jnp.sum(c) for c in jax.tree_util.tree_leaves(carry))

    value, grads = jax.jit(jax.value_and_grad(loss))(variables)
    np.testing.assert_allclose(value, reference(variables["params"]["cell"]), **TOL)
    want = jax.grad(reference)(variables["params"]["cell"])
    assert type(grads["params"]["cell"]) is type(want)
    jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, **TOL), grads["params"]["cell"], want)


def test_flax_gru_module_checks_the_form_of_its_params():
    xs = _xs()
    variables = flax_modules.GRU(H, form="cudnn").init(jax.random.key(0), xs)
    with pytest.raises(ValueError, match=r"form 'course'; got 'cudnn'"):
        flax_modules.GRU(H, form="course").apply(variables, xs)
    with pytest.raises(ValueError, match=r"`form` must be one of"):
        flax_modules.GRU(H, form="torch").init(jax.random.key(0), xs)


def test_flax_lstm_module_runs_converted_torch_params():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    module = torch.nn.LSTM(I, H)
    variables = {"params": {"cell": interop.from_torch_lstm(module.state_dict(), prefix="")}}
    xs = _xs()
    carry, ys = flax_modules.LSTM(H).apply(variables, xs)
    with torch.no_grad():
        torch_ys, (h, c) = module(torch.from_numpy(np.array(xs)))
    np.testing.assert_allclose(ys, torch_ys.numpy(), **TOL)
    np.testing.assert_allclose(carry.c, c[0].numpy(), **TOL)


def test_bfloat16_torch_weights_convert_bit_for_bit_and_float64_is_not_truncated_silently():
    torch = pytest.importorskip("torch")
    p = jax.tree_util.tree_map(lambda a: a.astype(jnp.bfloat16), lstm.init(jax.random.PRNGKey(0), 3, 4))
    as_torch = {k: torch.from_numpy(np.asarray(v).view(np.int16).copy()).view(torch.bfloat16)
                for k, v in interop.to_torch_lstm(p).items()}
    back = interop.from_torch_lstm(as_torch)  # bfloat16 tensors (NumPy has no bfloat16: ml_dtypes)
    assert all(a.dtype == jnp.bfloat16 and np.array_equal(np.asarray(a).view(np.int16), np.asarray(b).view(np.int16))
               for a, b in zip(p, back))
    with pytest.raises(ValueError, match="float64 weights would become float32"):
        interop.from_torch_lstm(torch.nn.LSTM(3, 4).double().state_dict())
