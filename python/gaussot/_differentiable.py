"""What gaussot.jax and gaussot.torch share: for each differentiable function, gaussot's value and
its closed-form gradient as two functions of the same arrays (NumPy, or anything the module takes
through DLPack: a torch tensor stays on its device)."""

from __future__ import annotations

from . import _gaussot


def gaussian_pair(kind: str, sigma=None):
    """(value, gradient) of f(a_cov, b_cov, a_mean, b_mean) for two Gaussians: 'w2' (W2²) or
    'entropic' (the balanced entropic OT value at ``sigma``). gradient returns (a_mean, a_cov,
    b_mean, b_cov) gradients."""
    if kind == "w2":
        return (lambda a_cov, b_cov, a_mean, b_mean:
                _gaussot.w2_squared(a_cov, b_cov, a_mean=a_mean, b_mean=b_mean),
                lambda a_cov, b_cov, a_mean, b_mean:
                _gaussot.w2_squared_gradient(a_cov, b_cov, a_mean=a_mean, b_mean=b_mean))
    if kind == "entropic":
        return (lambda a_cov, b_cov, a_mean, b_mean: _gaussot.entropic_ot(
                    a_cov, b_cov, a_mean=a_mean, b_mean=b_mean, sigma=sigma, plan=False)["value"],
                lambda a_cov, b_cov, a_mean, b_mean: _gaussot.entropic_ot_gradient(
                    a_cov, b_cov, a_mean=a_mean, b_mean=b_mean, sigma=sigma))
    raise ValueError(kind)


def two_arrays(kind: str, option=None):
    """(value, gradient) of f(x, y) for two arrays of matrices: 'igw' (centered IGW² of two
    covariances), 'frechet' (the Fréchet distance of two sample sets, ``option`` the method) or
    'cka' (linear CKA of two representations, ``option`` True for the debiased CKA). gradient
    returns (x, y) gradients."""
    if kind == "igw":
        return _gaussot.igw_squared, _gaussot.igw_squared_gradient
    if kind == "frechet":
        return (lambda x, y: _gaussot.frechet_distance(x, y, method=option),
                lambda x, y: _gaussot.frechet_distance_gradient(x, y, method=option))
    if kind == "cka":
        return (lambda x, y: _gaussot.linear_cka(x, y, debiased=option)[1] if option
                else _gaussot.linear_cka(x, y),
                lambda x, y: _gaussot.linear_cka_gradient(x, y, debiased=option))
    raise ValueError(kind)


def check_method(method: str) -> None:
    if method not in ("auto", "covariances", "samples"):
        raise _gaussot.InvalidArgument(f"method: expected 'auto', 'covariances' or 'samples', got "
                                       f"{method!r}")


def check_means(a_mean_shape, b_mean_shape, d: int) -> None:
    if tuple(a_mean_shape[-1:]) != (d,) or tuple(b_mean_shape[-1:]) != (d,):
        raise _gaussot.InvalidArgument(f"a_mean, b_mean: expected (..., {d}) to match the "
                                       f"covariances, got {tuple(a_mean_shape)} and "
                                       f"{tuple(b_mean_shape)}")
