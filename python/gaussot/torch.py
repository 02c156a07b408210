"""gaussot.torch: gaussot in PyTorch — differentiable closed forms, and the layers of models
compared while the models run.

Losses with exact gradients: :func:`w2_squared`, :func:`entropic_ot` (balanced or unbalanced),
:func:`sinkhorn_divergence`, :func:`frechet_distance`, :func:`linear_cka`, :func:`shape_metric`
and :func:`igw_squared` take torch tensors (CPU or CUDA, float32 or float64)
and return tensors with a ``grad_fn``. Each is a ``torch.autograd.Function`` whose forward calls
gaussot and whose backward calls gaussot's closed-form gradient (``w2_squared_gradient``, ...) on
the tensors' device: tensors are handed over by DLPack, so CUDA tensors are computed on their
device with no host round trip; not autodiff through an eigendecomposition. Covariances are read
through their symmetric part (S + Sᵀ)/2 (computed in torch), so every perturbation has a
directional derivative. Batches broadcast as in the NumPy-level functions, and the gradient of a
side shared by a batch is the sum of the per-item gradients. Double backward (gradients of
gradients) is not provided: the backward pass is not itself differentiable.

``record(model, layers)`` registers forward hooks on named submodules; every forward pass feeds
their outputs (one row per input) to a :class:`gaussot.ComparisonAccumulator`, whose ``compute``
then gives the comparison of every recorded layer with every other (IGW, BW, CKA, debiased CKA,
NBS, Procrustes). Device tensors stay on their device (passed by DLPack).

This module imports without torch; its functions say that torch is needed when called without it.

Example::

    with gaussot.torch.record({"a": model_a, "b": model_b}, ["layer1", "layer4"]) as rec:
        for images, _ in loader:
            model_a(images)
            model_b(images)
    out = rec.compute(cka_debiased=True, nbs=True)   # layers named "a.layer1", "b.layer4", ...

    loss = gaussot.torch.linear_cka(student(x), teacher(x).detach())   # widths may differ
    (-loss).backward()
"""

from __future__ import annotations

import functools
from typing import Callable

from . import _differentiable
from ._gaussot import InvalidArgument
from .metrics import ComparisonAccumulator


def _torch():
    try:
        import torch
    except ImportError:
        raise ImportError("gaussot.torch needs PyTorch: pip install torch") from None
    return torch


def _tensor(result, like):
    """A gaussot result (a NumPy array or Python float for host inputs, a tensor of the inputs'
    device otherwise) as a tensor of like's dtype and device."""
    return _torch().as_tensor(result, dtype=like.dtype, device=like.device)


def _summed_to(gradient, shape):
    """A per-pair gradient summed over the batch axes its argument was broadcast along."""
    extra = gradient.dim() - len(shape)
    if extra > 0:
        gradient = gradient.sum(dim=tuple(range(extra)))
    ones = tuple(i for i, n in enumerate(shape) if n == 1 and gradient.shape[i] != 1)
    return gradient.sum(dim=ones, keepdim=True) if ones else gradient


def _scaled(g, gradient):
    """The upstream gradient g (one per pair: the batch shape) times the per-pair gradient
    (batch shape + item axes)."""
    return g.reshape(g.shape + (1,) * (gradient.dim() - g.dim())) * gradient


def _symmetric(s):
    return (s + s.transpose(-1, -2)) / 2


@functools.lru_cache(maxsize=None)
def _function(kind: str):
    """The torch.autograd.Function of gaussot's value and gradient for `kind`: 'gaussian'
    (f(a_cov, b_cov, a_mean, b_mean); the pair functions of _differentiable.gaussian_pair) or
    'arrays' (f(x, y); _differentiable.two_arrays)."""
    torch = _torch()

    class Function(torch.autograd.Function):
        @staticmethod
        def forward(ctx, functions, *inputs):
            value, ctx.gradient = functions
            ctx.save_for_backward(*inputs)
            return _tensor(value(*(t.detach() for t in inputs)), inputs[0])

        @staticmethod
        @torch.autograd.function.once_differentiable
        def backward(ctx, g):
            inputs, needs = ctx.saved_tensors, ctx.needs_input_grad[1:]
            if not any(needs):
                return (None,) * (len(inputs) + 1)
            detached = [t.detach() for t in inputs]
            if kind == "gaussian":
                # Only the sides asked for (W2² then needs only their covariances positive
                # definite: a model fitted to a fixed degenerate target); gaussot's order is
                # (a_mean, a_cov, b_mean, b_cov), the inputs' (a_cov, b_cov, a_mean, b_mean).
                side_a, side_b = needs[0] or needs[2], needs[1] or needs[3]
                sides = "both" if side_a and side_b else "a" if side_a else "b"
                a_mean, a_cov, b_mean, b_cov = ctx.gradient(*detached, sides=sides)
                grads = [a_cov, b_cov, a_mean, b_mean]
            else:
                grads = list(ctx.gradient(*detached))
            return (None,) + tuple(
                _summed_to(_scaled(g, _tensor(grad, inputs[0])), t.shape) if needed else None
                for grad, t, needed in zip(grads, inputs, needs))

    Function.__name__ = f"GaussotBackward_{kind}"
    return Function


def _gaussian_pair(kind: str, problem: tuple, a_cov, b_cov, a_mean, b_mean):
    torch = _torch()
    a_cov, b_cov = _symmetric(torch.as_tensor(a_cov)), _symmetric(torch.as_tensor(b_cov))
    like = dict(dtype=a_cov.dtype, device=a_cov.device)
    a_mean = torch.zeros(a_cov.shape[:-1], **like) if a_mean is None else torch.as_tensor(a_mean)
    b_mean = torch.zeros(b_cov.shape[:-1], **like) if b_mean is None else torch.as_tensor(b_mean)
    _differentiable.check_means(a_mean.shape, b_mean.shape, a_cov.shape[-1])
    return _function("gaussian").apply(_differentiable.gaussian_pair(kind, *problem), a_cov,
                                       b_cov, a_mean, b_mean)


def _two_arrays(kind: str, option, x, y):
    torch = _torch()
    return _function("arrays").apply(_differentiable.two_arrays(kind, option),
                                     torch.as_tensor(x), torch.as_tensor(y))


def w2_squared(a_cov, b_cov, a_mean=None, b_mean=None):
    """W2² between Gaussians, as :func:`gaussot.w2_squared` ((d, d) or (k, d, d) covariances,
    (d,) or (k, d) means or None for zero means; batches broadcast), differentiable in all four
    arguments by :func:`gaussot.w2_squared_gradient`: 2 (m_a − m_b) and I − A (A the Brenier
    matrix). Only the sides whose tensors require gradients are computed, and each needs its own
    covariance positive definite (refused by name otherwise): a model can be fitted to a fixed
    singular target."""
    return _gaussian_pair("w2", (), a_cov, b_cov, a_mean, b_mean)


def entropic_ot(a_cov, b_cov, a_mean=None, b_mean=None, *, sigma: float, gamma=None,
                mass_a: float = 1.0, mass_b: float = 1.0):
    """The entropic OT value between Gaussians, as ``gaussot.entropic_ot(...)['value']``
    (balanced, or unbalanced with ``gamma`` between mass_a·α and mass_b·β; the masses are fixed
    numbers here), differentiable in all four arguments by :func:`gaussot.entropic_ot_gradient`
    (finite at singular covariances)."""
    gamma = None if gamma is None else float(gamma)
    return _gaussian_pair("entropic", (float(sigma), gamma, float(mass_a), float(mass_b)), a_cov,
                          b_cov, a_mean, b_mean)


def sinkhorn_divergence(a_cov, b_cov, a_mean=None, b_mean=None, *, sigma: float):
    """The Sinkhorn divergence between Gaussians, as :func:`gaussot.sinkhorn_divergence`,
    differentiable in all four arguments by :func:`gaussot.sinkhorn_divergence_gradient`."""
    return _gaussian_pair("divergence", (float(sigma),), a_cov, b_cov, a_mean, b_mean)


def igw_squared(a_cov, b_cov):
    """The centered IGW² of covariances of any dimensions ((d_a, d_a) and (d_b, d_b), or
    batches), as :func:`gaussot.igw_squared` without means, differentiable by
    :func:`gaussot.igw_squared_gradient`: a loss between layers of different widths."""
    torch = _torch()
    return _two_arrays("igw", None, _symmetric(torch.as_tensor(a_cov)),
                       _symmetric(torch.as_tensor(b_cov)))


def igw_squared_samples(samples_a, samples_b):
    """The centered IGW² between the Gaussians fitted to two sample sets of any widths ((n_a, d_a)
    and (n_b, d_b), or batches; covariances as :func:`gaussot.sample_moments`), differentiable in
    both sets by :func:`gaussot.igw_squared_samples_gradient`: a student layer trained to a
    teacher layer of another width by IGW² straight from their activations."""
    return _two_arrays("igw_samples", None, samples_a, samples_b)


def frechet_distance(samples_a, samples_b, method: str = "auto"):
    """The Fréchet distance of sample sets, as :func:`gaussot.frechet_distance` ((n, d) or
    (k, n, d), rows are samples), differentiable in both sets by
    :func:`gaussot.frechet_distance_gradient` (covariance path, or the polar factor of the centred
    cross product when min(n_a, n_b) < d: FID as a training loss on small batches)."""
    _differentiable.check_method(method)
    return _two_arrays("frechet", method, samples_a, samples_b)


def shape_metric(samples_a, samples_b, metric: str = "nbs"):
    """The normalized Bures similarity ('nbs') or the angular Procrustes distance
    ('procrustes') of two representations of the same n inputs, as :func:`gaussot.shape_metric`,
    differentiable in both by :func:`gaussot.shape_metric_gradient` (widths may differ)."""
    _differentiable.check_shape_metric(metric)
    return _two_arrays("shape", metric, samples_a, samples_b)


def linear_cka(samples_a, samples_b, debiased: bool = False):
    """Linear CKA (or the debiased CKA) of two representations of the same n inputs, as
    :func:`gaussot.linear_cka` ((n, d_a) and (n, d_b), or batches), differentiable in both by
    :func:`gaussot.linear_cka_gradient`: a distillation loss between layers of different widths."""
    return _two_arrays("cka", bool(debiased), samples_a, samples_b)


def _first(output):
    """A module's output, or the first element of a tuple/list output (e.g. Hugging Face layers)."""
    while isinstance(output, (tuple, list)):
        if not output:
            raise InvalidArgument("output: the module returned an empty tuple")
        output = output[0]
    return output


def _flatten(output):
    return output.reshape(output.shape[0], -1)


def _cls(output):
    return output[:, 0]


def _mean(output):
    return output.mean(1)


REDUCTIONS: dict[str, Callable] = {
    "flatten": _flatten,  # (m, ...) -> (m, product of the rest): every activation of an input
    "cls": _cls,          # (m, T, d) -> (m, d): the first token (a transformer's CLS token)
    "mean": _mean,        # (m, T, d) -> (m, d): mean over the token axis (mean pooling)
}


class _Recorder:
    """Forward hooks on named submodules of one or several models, feeding one accumulator.

    Works on any object with ``named_modules()`` and ``register_forward_hook(hook)`` (PyTorch's
    ``nn.Module`` interface); ``record`` is the public entry point.
    """

    def __init__(self, models: dict, layers, reduction, accumulator, precision, backend):
        if isinstance(layers, str):
            raise InvalidArgument(f"layers: expected a sequence of submodule names (or a dict "
                                  f"model name -> names), got the string {layers!r}")
        self._reduce = self._reduction(reduction)
        self._precision = precision
        self._handles = []
        self._pending: dict = {}
        self.names: list[str] = []
        several = len(models) > 1
        for model_name, model in models.items():
            wanted = layers.get(model_name, ()) if isinstance(layers, dict) else layers
            wanted = [str(layer) for layer in wanted]
            modules = dict(model.named_modules())
            missing = [layer for layer in wanted if layer not in modules]
            if missing:
                raise InvalidArgument(f"layers: model {model_name!r} has no submodule "
                                      f"{', '.join(repr(m) for m in missing)}")
            for layer in wanted:
                name = f"{model_name}.{layer}" if several else layer
                if name in self.names:
                    raise InvalidArgument(f"layers: {name!r} is given twice")
                self.names.append(name)
                self._handles.append(modules[layer].register_forward_hook(self._hook(name)))
        if not self.names:
            self.remove()
            raise InvalidArgument("layers: no layer to record")
        if accumulator is None:
            accumulator = ComparisonAccumulator(self.names, precision=precision, backend=backend)
        elif list(accumulator.names) != self.names:
            self.remove()
            raise InvalidArgument(f"accumulator: has layers {accumulator.names}, the recorded "
                                  f"layers are {self.names}")
        self.accumulator = accumulator

    @staticmethod
    def _reduction(reduction):
        if callable(reduction):
            return reduction
        if reduction in REDUCTIONS:
            return REDUCTIONS[reduction]
        raise InvalidArgument(f"reduction: expected one of {sorted(REDUCTIONS)} or a callable "
                              f"(m, ...) -> (m, d), got {reduction!r}")

    def _hook(self, name: str):
        def hook(module, inputs, output):
            self._record(name, output)
        return hook

    def _record(self, name: str, output) -> None:
        """One layer's output of the current forward pass; a batch is complete (and added) when
        every recorded layer has given its output."""
        if name in self._pending:
            self._pending.clear()
            raise InvalidArgument(f"{name}: ran twice before every recorded layer ran once (run "
                                  "each recorded model once per batch, on the same inputs); "
                                  "the incomplete batch is dropped")
        rows = self._reduce(_first(output))
        if hasattr(rows, "detach"):  # a torch tensor: no graph, the accumulator's dtype, dense
            import torch

            rows = rows.detach().to(getattr(torch, self._precision)).contiguous()
        shape = tuple(rows.shape)
        if len(shape) != 2:
            self._pending.clear()
            raise InvalidArgument(f"{name}: the reduction gave shape {shape}, expected (m, d) "
                                  "(one row per input)")
        self._pending[name] = rows
        if len(self._pending) == len(self.names):
            batch, self._pending = self._pending, {}
            self.accumulator.update(batch)

    @property
    def pending(self) -> list[str]:
        """The layers of an incomplete batch (their outputs wait for the other layers')."""
        return list(self._pending)

    def compute(self, **options) -> dict:
        """The accumulator's compute (compare_representations' keywords)."""
        return self.accumulator.compute(**options)

    def remove(self) -> None:
        """Removes the hooks; the accumulator keeps what it has."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


def record(models, layers, *, reduction="flatten", accumulator: ComparisonAccumulator | None = None,
           precision: str = "float64", backend: str = "auto") -> _Recorder:
    """Records the outputs of named submodules of PyTorch models, batch by batch, into a
    :class:`gaussot.ComparisonAccumulator`.

    models: one ``torch.nn.Module``, or a dict name -> module to record several models at once (run
        each on the same inputs once per batch); layers then go by "model.layer".
    layers: submodule names as ``model.named_modules()`` gives them (the same names for every
        model), or a dict model name -> names.
    reduction: how a layer's output (m, ...) becomes one row per input: 'flatten' (default, every
        activation), 'cls' (the first token of (m, T, d)), 'mean' (mean over the token axis of
        (m, T, d)), or a callable (m, ...) -> (m, d). A tuple output is reduced from its first
        element. Tensors are detached and converted to ``precision``.
    accumulator: an existing accumulator with these layer names (default: a new one with
        ``precision`` and ``backend``).

    Returns a recorder: ``.accumulator``, ``.compute(**options)``, ``.remove()`` (the hooks), and a
    context manager that removes them on exit. A batch is added when every recorded layer has run;
    a layer that runs twice first raises :class:`gaussot.InvalidArgument`.
    """
    torch = _torch()
    if isinstance(models, torch.nn.Module):
        models = {"model": models}
    elif not (isinstance(models, dict) and models
              and all(isinstance(m, torch.nn.Module) for m in models.values())):
        raise InvalidArgument("models: expected a torch.nn.Module or a non-empty dict name -> "
                              "module")
    return _Recorder(models, layers, reduction, accumulator, precision, backend)
