"""gaussot.torch.record: forward hooks feeding a ComparisonAccumulator. The recorder's logic runs
on stand-in modules (NumPy, PyTorch's hook interface) so that it is tested without torch; with
torch installed, real models are recorded and compared with compare_representations on the whole
data (those tests skip, saying so, when torch is not importable)."""

import importlib.util

import numpy as np
import pytest

import gaussot
from gaussot.torch import _Recorder

HAS_TORCH = importlib.util.find_spec("torch") is not None


class Handle:
    def __init__(self, hooks, hook):
        self.hooks, self.hook = hooks, hook

    def remove(self):
        self.hooks.remove(self.hook)


class StandIn:
    """A module with PyTorch's hook interface: forward runs f and calls the forward hooks."""

    def __init__(self, f, children=()):
        self.f, self.children, self.hooks = f, dict(children), []

    def named_modules(self, prefix=""):
        yield prefix, self
        for name, child in self.children.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def register_forward_hook(self, hook):
        self.hooks.append(hook)
        return Handle(self.hooks, hook)

    def __call__(self, x):
        out = self.f(x)
        for hook in list(self.hooks):
            hook(self, (x,), out)
        return out


def network(rng, widths=(6, 5, 4)):
    """A stand-in MLP: children '0', '1', '2' of tanh layers; layer '1' returns a tuple and
    layer '2' a (m, 2, width) 'token' array."""
    weights = [rng.standard_normal((3 if i == 0 else widths[i - 1], w)) for i, w in
               enumerate(widths)]
    first = StandIn(lambda x: np.tanh(x @ weights[0] + 0.5))
    second = StandIn(lambda h: (np.tanh(h @ weights[1] - 0.2), "aux"))
    third = StandIn(lambda h: np.stack([np.tanh(h @ weights[2]), np.tanh(h @ weights[2]) ** 2], 1))

    def forward(x):
        return third(second(first(x))[0])
    return StandIn(forward, {"0": first, "1": second, "2": third}), (first, second, third)


def test_hooks_feed_the_accumulator_batch_by_batch(rng):
    model, (first, second, third) = network(rng)
    x = rng.standard_normal((70, 3))
    rec = _Recorder({"model": model}, ["0", "1", "2"], "flatten", None, "float64", "auto")
    assert rec.names == ["0", "1", "2"]
    for start in range(0, 70, 16):
        model(x[start:start + 16])
    # The whole data through the same layers, flattened per input.
    h1 = first.f(x)
    h2 = second.f(h1)[0]
    h3 = third.f(h2).reshape(70, -1)
    want = gaussot.compare_representations([h1, h2, h3], ["0", "1", "2"], nbs=True,
                                           cka_debiased=True)
    got = rec.compute(nbs=True, cka_debiased=True)
    for key in ("cka", "cka_debiased", "nbs", "bw", "igw_lower", "igw_upper"):
        np.testing.assert_allclose(got[key], want[key], rtol=1e-12, atol=1e-12, err_msg=key)
    assert got["dimensions"] == [6, 5, 8] and got["samples"] == 70
    rec.remove()
    model(x[:5])  # no hook any more
    assert rec.accumulator.samples == 70 and not first.hooks


def test_several_models_reductions_and_the_context_manager(rng):
    a, _ = network(rng)
    b, _ = network(rng, widths=(4, 4, 3))
    x = rng.standard_normal((40, 3))
    layers = {"a": ["0", "2"], "b": ["2"]}
    with _Recorder({"a": a, "b": b}, layers, "flatten", None, "float64", "auto") as rec:
        for start in range(0, 40, 9):
            a(x[start:start + 9])
            b(x[start:start + 9])
        assert rec.pending == []
    assert rec.names == ["a.0", "a.2", "b.2"] and not a.children["2"].hooks
    whole = {"a": [], "b": []}
    for name, model in (("a", a), ("b", b)):
        h = model.children["0"].f(x)
        whole[name] = [h, model.children["2"].f(model.children["1"].f(h)[0]).reshape(40, -1)]
    want = gaussot.compare_representations([whole["a"][0], whole["a"][1], whole["b"][1]],
                                           rec.names, igw=False, bw=False)
    np.testing.assert_allclose(rec.compute(igw=False, bw=False)["cka"], want["cka"], rtol=1e-12)

    cls_rec = _Recorder({"a": a}, ["2"], "cls", None, "float64", "auto")
    a(x)
    tokens = whole["a"][1].reshape(40, 2, 4)
    state = cls_rec.accumulator.state_dict()
    np.testing.assert_allclose(state["sums"] / 40 + state["reference"], tokens[:, 0].mean(0),
                               rtol=1e-12)
    cls_rec.remove()
    mean_rec = _Recorder({"a": a}, ["2"], "mean", None, "float64", "auto")
    a(x)
    state = mean_rec.accumulator.state_dict()
    np.testing.assert_allclose(state["sums"] / 40 + state["reference"], tokens.mean(1).mean(0),
                               rtol=1e-12)
    mean_rec.remove()
    custom = _Recorder({"a": a}, ["2"], lambda t: t[:, 1] * 2, None, "float32", "auto")
    a(x)
    assert custom.accumulator.state_dict()["products"].dtype == np.float32


def test_bad_uses_are_refused_by_name(rng):
    model, (first, _, _) = network(rng)
    x = rng.standard_normal((8, 3))
    with pytest.raises(gaussot.InvalidArgument, match="no submodule '9'"):
        _Recorder({"model": model}, ["0", "9"], "flatten", None, "float64", "auto")
    with pytest.raises(gaussot.InvalidArgument, match="reduction"):
        _Recorder({"model": model}, ["0"], "median", None, "float64", "auto")
    rec = _Recorder({"model": model}, ["0", "1"], "flatten", None, "float64", "auto")
    first(x)  # only layer '0' ran: the batch waits for '1'
    assert rec.pending == ["0"]
    with pytest.raises(gaussot.InvalidArgument, match="0: ran twice"):
        first(x)
    assert rec.accumulator.samples == 0 and rec.pending == []
    other = gaussot.ComparisonAccumulator(["x", "y"])
    with pytest.raises(gaussot.InvalidArgument, match="accumulator"):
        _Recorder({"model": model}, ["0", "1"], "flatten", other, "float64", "auto")
    rec.remove()


@pytest.mark.skipif(HAS_TORCH, reason="torch is installed: the missing-torch message is not shown")
def test_record_says_torch_is_needed():
    with pytest.raises(ImportError, match="needs PyTorch"):
        gaussot.torch.record(object(), ["0"])


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed (the CI venv does not install "
                    "it: its wheels are GBs); the hooks were tested on stand-in modules above")
def test_torch_models_recorded_equal_compare_on_the_whole_batch():
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 4),
                                torch.nn.Tanh())
    x = torch.randn(60, 5, dtype=torch.float32)
    with gaussot.torch.record(model, ["1", "3"]) as rec:
        with torch.no_grad():
            for start in range(0, 60, 16):
                model(x[start:start + 16])
    with torch.no_grad():
        h1 = torch.tanh(model[0](x)).double().numpy()
        h3 = model(x).double().numpy()
    want = gaussot.compare_representations([h1, h3], ["1", "3"], nbs=True)
    got = rec.compute(nbs=True)
    for key in ("cka", "nbs", "igw_lower", "igw_upper"):
        np.testing.assert_allclose(got[key], want[key], rtol=1e-10, err_msg=key)


@pytest.mark.skipif(importlib.util.find_spec("jax") is not None,
                    reason="JAX is installed: the missing-JAX message is not shown")
def test_jax_adapter_says_jax_is_needed():
    with pytest.raises(ImportError, match="needs JAX"):
        gaussot.jax.w2_squared(np.eye(2), np.eye(2))
