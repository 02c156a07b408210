"""The gradient functions on batches: each item of a batched call equals the call on that pair
alone, and a side broadcast against a batch gives one gradient per pair."""

import numpy as np
import pytest

import gaussot
import reference as ref


def _pairs(rng, k=3, d=3):
    return dict(a_cov=ref.random_spd(rng, d, k), b_cov=ref.random_spd(rng, d, k),
                a_mean=rng.standard_normal((k, d)), b_mean=rng.standard_normal((k, d)))


CASES = {
    "w2_squared_gradient": (_pairs, {}),
    "entropic_ot_gradient": (_pairs, dict(sigma=0.8)),
    "entropic_ot_gradient unbalanced": (_pairs, dict(sigma=0.8, gamma=1.5, mass_a=1.2)),
    "sinkhorn_divergence_gradient": (_pairs, dict(sigma=0.8)),
    "igw_squared_gradient": (lambda rng: dict(a_cov=ref.random_spd(rng, 3, 3),
                                              b_cov=ref.random_spd(rng, 2, 3)), {}),
    "igw_squared_gradient uncentered": (
        lambda rng: dict(a_cov=ref.random_spd(rng, 3, 3), b_cov=ref.random_spd(rng, 2, 3),
                         a_mean=rng.standard_normal((3, 3)), b_mean=rng.standard_normal((3, 2))),
        {}),
    "igw_squared_samples_gradient": (
        lambda rng: dict(samples_a=rng.standard_normal((3, 10, 4)),
                         samples_b=rng.standard_normal((3, 7, 2))), {}),
    "frechet_distance_gradient": (
        lambda rng: dict(samples_a=rng.standard_normal((3, 10, 4)),
                         samples_b=rng.standard_normal((3, 7, 4))), {}),
    "linear_cka_gradient": (
        lambda rng: dict(samples_a=rng.standard_normal((3, 10, 4)),
                         samples_b=rng.standard_normal((3, 10, 2))), dict(debiased=True)),
    "shape_metric_gradient": (
        lambda rng: dict(samples_a=rng.standard_normal((3, 10, 4)),
                         samples_b=rng.standard_normal((3, 10, 2))), dict(metric="procrustes")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_batch_items_equal_single_calls(rng, case):
    make, options = CASES[case]
    function = getattr(gaussot, case.split()[0])
    arrays = make(rng)
    batched = function(**arrays, **options)
    for i in range(3):
        single = function(**{key: value[i] for key, value in arrays.items()}, **options)
        for got, want in zip(batched, single):
            np.testing.assert_allclose(got[i], want, rtol=1e-10, atol=1e-13)
    # The first argument broadcast (one item against the batch): one gradient per pair.
    first = next(iter(arrays))
    broadcast = function(**{**arrays, first: arrays[first][0]}, **options)
    for i in range(3):
        single = function(**{key: (value[0] if key == first else value[i])
                             for key, value in arrays.items()}, **options)
        for got, want in zip(broadcast, single):
            np.testing.assert_allclose(got[i], want, rtol=1e-10, atol=1e-13)
