"""gaussot.jax: gaussot's closed forms as JAX functions with exact gradients.

Each function is a ``jax.custom_vjp`` whose forward pass calls gaussot and whose backward pass
calls gaussot's closed-form gradient (``w2_squared_gradient``, ``entropic_ot_gradient``,
``frechet_distance_gradient``, ``linear_cka_gradient``, ``shape_metric_gradient``,
``igw_squared_gradient``, ``sinkhorn_divergence_gradient``),
not autodiff through an eigendecomposition. Both run on the host through ``jax.pure_callback``
(arrays go to NumPy and back): the functions work inside ``jax.jit`` and ``jax.vmap`` (a vmapped
call becomes one batched gaussot call) on any JAX backend, at the price of a host round trip on
accelerators. A device-side version would register gaussot's CUDA entry points as XLA custom
calls (``jax.ffi``), handing gaussot XLA's buffers and stream; not done yet.

Covariances are read through their symmetric part (S + Sᵀ)/2, so every perturbation has a
directional derivative and the covariance gradients are symmetric. Double backward (gradients of
gradients) is not provided. This module imports without JAX; its functions say that JAX is needed
when called without it.
"""

from __future__ import annotations

import functools

import numpy as np

from . import _differentiable


def _jax():
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        raise ImportError("gaussot.jax needs JAX: pip install jax") from None
    return jax, jnp


def _summed_to(jnp, gradient, shape):
    """A per-pair gradient summed over the batch axes its argument was broadcast along."""
    extra = gradient.ndim - len(shape)
    if extra > 0:
        gradient = gradient.sum(axis=tuple(range(extra)))
    ones = tuple(i for i, n in enumerate(shape) if n == 1 and gradient.shape[i] != 1)
    return gradient.sum(axis=ones, keepdims=True) if ones else gradient


def _symmetric(jnp, s):
    return (s + jnp.swapaxes(s, -1, -2)) / 2


def igw_squared(a_cov, b_cov):
    """The centered IGW² of covariances of any dimensions ((d_a, d_a) and (d_b, d_b), or
    batches), as :func:`gaussot.igw_squared` without means, differentiable by
    :func:`gaussot.igw_squared_gradient` (2 Q diag(α − β̃) Qᵀ): a loss between layers of different
    widths (fit covariances computed in jnp from activations)."""
    _, jnp = _jax()
    return _two_array_function("igw", None)(_symmetric(jnp, jnp.asarray(a_cov)),
                                            _symmetric(jnp, jnp.asarray(b_cov)))


@functools.lru_cache(maxsize=None)
def _gaussian_pair_function(kind: str, *problem):
    jax, jnp = _jax()
    value, gradient = _differentiable.gaussian_pair(kind, *problem)

    def host_value(a_cov, b_cov, a_mean, b_mean):
        return np.asarray(value(np.asarray(a_cov), np.asarray(b_cov), np.asarray(a_mean),
                                np.asarray(b_mean)), dtype=a_cov.dtype)

    def host_gradient(a_cov, b_cov, a_mean, b_mean):
        return tuple(np.asarray(g, dtype=a_cov.dtype) for g in gradient(
            np.asarray(a_cov), np.asarray(b_cov), np.asarray(a_mean), np.asarray(b_mean)))

    def batch_shape(a_cov, b_cov):
        return jnp.broadcast_shapes(a_cov.shape[:-2], b_cov.shape[:-2])

    @jax.custom_vjp
    def f(a_cov, b_cov, a_mean, b_mean):
        return jax.pure_callback(host_value,
                                 jax.ShapeDtypeStruct(batch_shape(a_cov, b_cov), a_cov.dtype),
                                 a_cov, b_cov, a_mean, b_mean, vmap_method="broadcast_all")

    def forward(a_cov, b_cov, a_mean, b_mean):
        return f(a_cov, b_cov, a_mean, b_mean), (a_cov, b_cov, a_mean, b_mean)

    def backward(inputs, g):
        a_cov, b_cov, a_mean, b_mean = inputs
        batch, d = batch_shape(a_cov, b_cov), a_cov.shape[-1]
        shapes = (batch + (d,), batch + (d, d), batch + (d,), batch + (d, d))
        a_mean_g, a_cov_g, b_mean_g, b_cov_g = jax.pure_callback(
            host_gradient, tuple(jax.ShapeDtypeStruct(s, a_cov.dtype) for s in shapes),
            a_cov, b_cov, a_mean, b_mean, vmap_method="broadcast_all")
        return (_summed_to(jnp, g[..., None, None] * a_cov_g, a_cov.shape),
                _summed_to(jnp, g[..., None, None] * b_cov_g, b_cov.shape),
                _summed_to(jnp, g[..., None] * a_mean_g, a_mean.shape),
                _summed_to(jnp, g[..., None] * b_mean_g, b_mean.shape))

    f.defvjp(forward, backward)
    return f


def _gaussian_pair_arguments(jnp, a_cov, b_cov, a_mean, b_mean):
    """Symmetric covariances and means (zeros for None), checked against each other."""
    a_cov, b_cov = _symmetric(jnp, jnp.asarray(a_cov)), _symmetric(jnp, jnp.asarray(b_cov))
    d = a_cov.shape[-1]
    a_mean = jnp.zeros(a_cov.shape[:-1], a_cov.dtype) if a_mean is None else jnp.asarray(a_mean)
    b_mean = jnp.zeros(b_cov.shape[:-1], b_cov.dtype) if b_mean is None else jnp.asarray(b_mean)
    _differentiable.check_means(a_mean.shape, b_mean.shape, d)
    return a_cov, b_cov, a_mean, b_mean


def entropic_ot(a_cov, b_cov, a_mean=None, b_mean=None, *, sigma: float, gamma=None,
                mass_a: float = 1.0, mass_b: float = 1.0):
    """The entropic OT value between Gaussians, as ``gaussot.entropic_ot(...)['value']``
    (balanced, or unbalanced with ``gamma`` between mass_a·α and mass_b·β; the masses are fixed
    numbers here), differentiable in all four arguments by :func:`gaussot.entropic_ot_gradient`
    (finite at singular covariances)."""
    _, jnp = _jax()
    gamma = None if gamma is None else float(gamma)
    return _gaussian_pair_function("entropic", float(sigma), gamma, float(mass_a),
                                   float(mass_b))(
        *_gaussian_pair_arguments(jnp, a_cov, b_cov, a_mean, b_mean))


def sinkhorn_divergence(a_cov, b_cov, a_mean=None, b_mean=None, *, sigma: float):
    """The Sinkhorn divergence between Gaussians, as :func:`gaussot.sinkhorn_divergence`,
    differentiable in all four arguments by :func:`gaussot.sinkhorn_divergence_gradient`."""
    _, jnp = _jax()
    return _gaussian_pair_function("divergence", float(sigma))(
        *_gaussian_pair_arguments(jnp, a_cov, b_cov, a_mean, b_mean))


def w2_squared(a_cov, b_cov, a_mean=None, b_mean=None):
    """W2² between Gaussians, as :func:`gaussot.w2_squared` ((d, d) or (k, d, d) covariances,
    (d,) or (k, d) means or None for zero means; batches broadcast), differentiable in all four
    arguments by the closed form of :func:`gaussot.w2_squared_gradient`: 2 (m_a − m_b) and I − A
    (A the Brenier matrix). Both covariances must be positive definite for the gradient (a JAX
    backward pass cannot tell which inputs need cotangents; gaussot.torch computes only the sides
    asked for)."""
    _, jnp = _jax()
    return _gaussian_pair_function("w2")(
        *_gaussian_pair_arguments(jnp, a_cov, b_cov, a_mean, b_mean))


@functools.lru_cache(maxsize=None)
def _two_array_function(kind: str, option):
    """f(x, y) of two arrays of matrices ((..., r, c) each: sample sets or covariances; batches
    broadcast) as a custom_vjp: gaussot's value, and its closed-form gradient, shaped like x and y,
    for the backward pass."""
    jax, jnp = _jax()
    value, gradient = _differentiable.two_arrays(kind, option)

    def host_value(x, y):
        return np.asarray(value(np.asarray(x), np.asarray(y)), dtype=x.dtype)

    def host_gradient(x, y):
        return tuple(np.asarray(g, dtype=x.dtype) for g in gradient(np.asarray(x), np.asarray(y)))

    def batch_shape(x, y):
        return jnp.broadcast_shapes(x.shape[:-2], y.shape[:-2])

    @jax.custom_vjp
    def f(x, y):
        return jax.pure_callback(host_value, jax.ShapeDtypeStruct(batch_shape(x, y), x.dtype),
                                 x, y, vmap_method="broadcast_all")

    def forward(x, y):
        return f(x, y), (x, y)

    def backward(inputs, g):
        x, y = inputs
        batch = batch_shape(x, y)
        x_g, y_g = jax.pure_callback(
            host_gradient, (jax.ShapeDtypeStruct(batch + x.shape[-2:], x.dtype),
                            jax.ShapeDtypeStruct(batch + y.shape[-2:], x.dtype)),
            x, y, vmap_method="broadcast_all")
        return (_summed_to(jnp, g[..., None, None] * x_g, x.shape),
                _summed_to(jnp, g[..., None, None] * y_g, y.shape))

    f.defvjp(forward, backward)
    return f


def igw_squared_samples(samples_a, samples_b):
    """The centered IGW² between the Gaussians fitted to two sample sets of any widths ((n_a, d_a)
    and (n_b, d_b), or batches; covariances as :func:`gaussot.sample_moments`), differentiable in
    both sets by :func:`gaussot.igw_squared_samples_gradient`: a student layer trained to a
    teacher layer of another width by IGW² straight from their activations."""
    _, jnp = _jax()
    return _two_array_function("igw_samples", None)(jnp.asarray(samples_a),
                                                     jnp.asarray(samples_b))


def frechet_distance(samples_a, samples_b, method: str = "auto"):
    """The Fréchet distance of sample sets, as :func:`gaussot.frechet_distance` ((n, d) or
    (k, n, d), rows are samples), differentiable in both sets by
    :func:`gaussot.frechet_distance_gradient` (covariance path, or the polar factor of the centred
    cross product when min(n_a, n_b) < d: FID as a training loss on small batches)."""
    _, jnp = _jax()
    _differentiable.check_method(method)
    return _two_array_function("frechet", method)(jnp.asarray(samples_a),
                                                   jnp.asarray(samples_b))


def shape_metric(samples_a, samples_b, metric: str = "nbs"):
    """The normalized Bures similarity ('nbs') or the angular Procrustes distance
    ('procrustes') of two representations of the same n inputs, as :func:`gaussot.shape_metric`,
    differentiable in both by :func:`gaussot.shape_metric_gradient` (widths may differ)."""
    _, jnp = _jax()
    _differentiable.check_shape_metric(metric)
    return _two_array_function("shape", metric)(jnp.asarray(samples_a), jnp.asarray(samples_b))


def linear_cka(samples_a, samples_b, debiased: bool = False):
    """Linear CKA (or the debiased CKA) of two representations of the same n inputs, as
    :func:`gaussot.linear_cka` ((n, d_a) and (n, d_b), or batches), differentiable in both by
    :func:`gaussot.linear_cka_gradient`: a distillation loss between layers of different widths."""
    _, jnp = _jax()
    return _two_array_function("cka", bool(debiased))(jnp.asarray(samples_a),
                                                       jnp.asarray(samples_b))
