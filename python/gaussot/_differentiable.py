"""What gaussot.jax and gaussot.torch share: for each differentiable function, gaussot's value and
its closed-form gradient as two functions of the same arrays (NumPy, or anything the module takes
through DLPack: a torch tensor stays on its device)."""

from __future__ import annotations

from . import _gaussot


def gaussian_pair(kind: str, sigma=None, gamma=None, mass_a=1.0, mass_b=1.0):
    """(value, gradient) of f(a_cov, b_cov, a_mean, b_mean) for two Gaussians: 'w2' (W2²),
    'entropic' (the entropic OT value at ``sigma``; unbalanced with ``gamma`` and the masses) or
    'divergence' (the Sinkhorn divergence at ``sigma``). gradient(..., sides='both') returns the
    (a_mean, a_cov, b_mean, b_cov) gradients; with sides 'a' or 'b' the other side's may be None
    (W2² computes only the side asked for, which then needs only its own covariance positive
    definite)."""
    if kind == "w2":
        return (lambda a_cov, b_cov, a_mean, b_mean:
                _gaussot.w2_squared(a_cov, b_cov, a_mean=a_mean, b_mean=b_mean),
                lambda a_cov, b_cov, a_mean, b_mean, sides="both":
                _gaussot.w2_squared_gradient(a_cov, b_cov, a_mean=a_mean, b_mean=b_mean,
                                             sides=sides))
    if kind == "entropic":
        problem = dict(sigma=sigma, gamma=gamma, mass_a=mass_a, mass_b=mass_b)
        return (lambda a_cov, b_cov, a_mean, b_mean: _gaussot.entropic_ot(
                    a_cov, b_cov, a_mean=a_mean, b_mean=b_mean, plan=False, **problem)["value"],
                lambda a_cov, b_cov, a_mean, b_mean, sides="both": _gaussot.entropic_ot_gradient(
                    a_cov, b_cov, a_mean=a_mean, b_mean=b_mean, **problem)[:4])
    if kind == "divergence":
        return (lambda a_cov, b_cov, a_mean, b_mean: _gaussot.sinkhorn_divergence(
                    a_cov, b_cov, a_mean=a_mean, b_mean=b_mean, sigma=sigma),
                lambda a_cov, b_cov, a_mean, b_mean, sides="both":
                _gaussot.sinkhorn_divergence_gradient(a_cov, b_cov, a_mean=a_mean, b_mean=b_mean,
                                                      sigma=sigma))
    raise ValueError(kind)


def two_arrays(kind: str, option=None):
    """(value, gradient) of f(x, y) for two arrays of matrices: 'igw' (centered IGW² of two
    covariances), 'igw_samples' (centered IGW² of the Gaussians fitted to two sample sets), 'frechet' (the Fréchet distance of two sample sets, ``option`` the method) or
    'cka' (linear CKA of two representations, ``option`` True for the debiased CKA) or 'shape'
    (``option`` 'nbs' or 'procrustes' of two representations). gradient returns (x, y)
    gradients."""
    if kind == "igw":
        return _gaussot.igw_squared, _gaussot.igw_squared_gradient
    if kind == "igw_samples":
        return (lambda x, y: _gaussot.igw_squared(_gaussot.sample_moments(x)[1],
                                                  _gaussot.sample_moments(y)[1]),
                _gaussot.igw_squared_samples_gradient)
    if kind == "frechet":
        return (lambda x, y: _gaussot.frechet_distance(x, y, method=option),
                lambda x, y: _gaussot.frechet_distance_gradient(x, y, method=option))
    if kind == "cka":
        return (lambda x, y: _gaussot.linear_cka(x, y, debiased=option)[1] if option
                else _gaussot.linear_cka(x, y),
                lambda x, y: _gaussot.linear_cka_gradient(x, y, debiased=option))
    if kind == "shape":
        return (lambda x, y: _gaussot.shape_metric(x, y, metric=option),
                lambda x, y: _gaussot.shape_metric_gradient(x, y, metric=option))
    raise ValueError(kind)


def check_method(method: str) -> None:
    if method not in ("auto", "covariances", "samples"):
        raise _gaussot.InvalidArgument(f"method: expected 'auto', 'covariances' or 'samples', got "
                                       f"{method!r}")


def check_shape_metric(metric: str) -> None:
    if metric not in ("nbs", "procrustes"):
        raise _gaussot.InvalidArgument(f"metric: expected 'nbs' or 'procrustes', got {metric!r}")


def check_means(a_mean_shape, b_mean_shape, d: int) -> None:
    if tuple(a_mean_shape[-1:]) != (d,) or tuple(b_mean_shape[-1:]) != (d,):
        raise _gaussot.InvalidArgument(f"a_mean, b_mean: expected (..., {d}) to match the "
                                       f"covariances, got {tuple(a_mean_shape)} and "
                                       f"{tuple(b_mean_shape)}")
