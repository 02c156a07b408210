# SPDX-License-Identifier: Apache-2.0
"""gaussot.entropic_ot, entropic_map, entropic_potentials and sinkhorn_divergence against the NumPy
transcription of formulas-entropic.md (reference.py), float64 and float32, batches and broadcasting,
OTT-JAX's UnbalancedBures when installed, and bad input."""
import numpy as np
import pytest

import gaussot
import reference as ref


def random_pairs(rng, k, d):
    return (rng.standard_normal((k, d)), ref.random_spd(rng, d, k, floor=0.1),
            rng.standard_normal((k, d)), ref.random_spd(rng, d, k, floor=0.1))


@pytest.mark.parametrize("sigma", [0.2, 1.0, 5.0])
def test_balanced_against_the_numpy_transcription(rng, dtype, sigma):
    ma, A, mb, B = random_pairs(rng, 12, 5)
    r = gaussot.entropic_ot(A.astype(dtype), B.astype(dtype), sigma=sigma, a_mean=ma.astype(dtype),
                            b_mean=mb.astype(dtype))
    assert r["value"].dtype == dtype and r["value"].shape == (12,)
    want = [ref.ot_sigma(ma[i], A[i], mb[i], B[i], sigma) for i in range(12)]
    np.testing.assert_allclose(r["value"], want, rtol=ref.rtol(dtype) * 10)
    np.testing.assert_array_equal(r["plan_mass"], 1)
    assert r["plan_cov"].shape == (12, 10, 10)
    for i in range(12):
        np.testing.assert_allclose(r["plan_cov"][i, :5, 5:], ref.c_sigma(A[i], B[i], sigma),
                                   rtol=ref.rtol(dtype) * 10, atol=ref.rtol(dtype) * 10)
        np.testing.assert_allclose(r["plan_mean"][i], np.concatenate([ma[i], mb[i]]), rtol=1e-6)


@pytest.mark.parametrize("sigma, gamma", [(0.5, 0.3), (1.0, 1.0), (2.0, 50.0)])
def test_unbalanced_against_the_numpy_transcription(rng, dtype, sigma, gamma):
    ma, A, mb, B = random_pairs(rng, 8, 4)
    r = gaussot.entropic_ot(A.astype(dtype), B.astype(dtype), sigma=sigma, gamma=gamma,
                            a_mean=ma.astype(dtype), b_mean=mb.astype(dtype), mass_a=0.7,
                            mass_b=1.9)
    for i in range(8):
        value, mass = ref.uot(ma[i], A[i], mb[i], B[i], sigma, gamma, 0.7, 1.9)
        assert r["value"][i] == pytest.approx(value, rel=ref.rtol(dtype) * 10)
        assert r["plan_mass"][i] == pytest.approx(mass, rel=ref.rtol(dtype) * 10)


def _central_difference(f, x, direction, h=1e-6):
    return (f(x + h * direction) - f(x - h * direction)) / (2 * h)


@pytest.mark.parametrize("gamma", [None, 0.8, 5.0])
def test_gradients_against_central_differences(rng, gamma):
    # Balanced and unbalanced (masses 0.7, 1.9) entropic OT, and the Sinkhorn divergence: each
    # gradient against central differences of gaussot's value along random symmetric directions
    # (the values are checked against the NumPy transcription above).
    ma, A, mb, B = (x[0] for x in random_pairs(rng, 1, 3))
    masses = dict(mass_a=0.7, mass_b=1.9) if gamma else {}
    problem = dict(sigma=0.9, gamma=gamma, **masses)
    grads = gaussot.entropic_ot_gradient(A, B, a_mean=ma, b_mean=mb, **problem)
    assert len(grads) == (6 if gamma else 4)

    def value(a_cov=A, b_cov=B, a_mean=ma, b_mean=mb, **change):
        return gaussot.entropic_ot(a_cov, b_cov, a_mean=a_mean, b_mean=b_mean, plan=False,
                                   **{**problem, **change})["value"]

    e = rng.standard_normal((3, 3))
    e = e + e.T
    v = rng.standard_normal(3)
    checks = [(grads[1], e, lambda x: value(a_cov=x), A),
              (grads[3], e, lambda x: value(b_cov=x), B),
              (grads[0], v, lambda x: value(a_mean=x), ma),
              (grads[2], v, lambda x: value(b_mean=x), mb)]
    if gamma:
        checks += [(grads[4], 1.0, lambda x: value(mass_a=x), 0.7),
                   (grads[5], 1.0, lambda x: value(mass_b=x), 1.9)]
    for grad, direction, f, x in checks:
        np.testing.assert_allclose(np.sum(grad * direction), _central_difference(f, x, direction),
                                   rtol=1e-6, atol=1e-9)
    divergence = gaussot.sinkhorn_divergence_gradient(A, B, a_mean=ma, b_mean=mb, sigma=0.9)
    f = lambda x: gaussot.sinkhorn_divergence(x, B, a_mean=ma, b_mean=mb, sigma=0.9)  # noqa: E731
    np.testing.assert_allclose(np.sum(divergence[1] * e), _central_difference(f, A, e),
                               rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(divergence[0], 2 * (ma - mb), rtol=1e-13)


def test_one_versus_many_and_the_other_functions(rng):
    ma, A, mb, B = random_pairs(rng, 6, 3)
    many = gaussot.entropic_ot(A[0], B, sigma=0.8, a_mean=ma[0], b_mean=mb, plan=False)
    assert set(many) == {"value", "plan_mass"}
    np.testing.assert_allclose(many["value"],
                               [ref.ot_sigma(ma[0], A[0], mb[i], B[i], 0.8) for i in range(6)],
                               rtol=1e-10)
    single = gaussot.entropic_ot(A[0], B[0], sigma=0.8)
    assert np.ndim(single["value"]) == 0
    matrix, bias, conditional = gaussot.entropic_map(A, B, sigma=0.8, a_mean=ma, b_mean=mb)
    np.testing.assert_allclose(A @ matrix, [ref.c_sigma(A[i], B[i], 0.8) for i in range(6)],
                               atol=1e-10)
    np.testing.assert_allclose(conditional, 0.64 * matrix, rtol=1e-12)
    np.testing.assert_allclose(np.einsum("kij,kj->ki", matrix, ma) + bias, mb, atol=1e-10)
    (qf, lf, cf), (qg, lg, cg) = gaussot.entropic_potentials(A, B, sigma=0.8, a_mean=ma, b_mean=mb)
    expectation = (np.einsum("kij,kji->k", qf, A) + np.einsum("ki,kij,kj->k", ma, qf, ma)
                   + np.einsum("ki,ki->k", lf, ma) + cf
                   + np.einsum("kij,kji->k", qg, B) + np.einsum("ki,kij,kj->k", mb, qg, mb)
                   + np.einsum("ki,ki->k", lg, mb) + cg)
    full = gaussot.entropic_ot(A, B, sigma=0.8, a_mean=ma, b_mean=mb)
    np.testing.assert_allclose(expectation, full["value"], rtol=1e-10)
    divergence = gaussot.sinkhorn_divergence(A, B, sigma=0.8, a_mean=ma, b_mean=mb)
    want = [ref.ot_sigma(ma[i], A[i], mb[i], B[i], 0.8)
            - 0.5 * ref.ot_sigma(ma[i], A[i], ma[i], A[i], 0.8)
            - 0.5 * ref.ot_sigma(mb[i], B[i], mb[i], B[i], 0.8) for i in range(6)]
    np.testing.assert_allclose(divergence, want, rtol=1e-9)


def test_ott_unbalanced_bures_agrees(rng):
    """OTT-JAX's UnbalancedBures (formulas-entropic.md §3.2) is an outside implementation of the
    same unbalanced value; its Newton–Schulz square root limits the agreement to ~1e-6."""
    jax = pytest.importorskip("jax", reason="OTT-JAX comparison: jax is not installed")
    costs = pytest.importorskip("ott.geometry.costs", reason="ott-jax is not installed")
    jax.config.update("jax_enable_x64", True)
    d = 3
    ma, A, mb, B = random_pairs(rng, 4, d)
    ours = gaussot.entropic_ot(A, B, sigma=0.9, gamma=1.3, a_mean=ma, b_mean=mb, mass_a=0.8,
                               mass_b=1.4, plan=False)["value"]
    cost = costs.UnbalancedBures(d, sigma=0.9, gamma=1.3)
    for i in range(4):
        x = np.concatenate([[0.8], ma[i], A[i].ravel()])
        y = np.concatenate([[1.4], mb[i], B[i].ravel()])
        assert float(cost(x, y)) == pytest.approx(ours[i], rel=1e-5)


def test_bad_input(rng):
    _, A, _, B = random_pairs(rng, 2, 3)
    with pytest.raises(gaussot.InvalidArgument, match="sigma"):
        gaussot.entropic_ot(A, B, sigma=0.0)
    with pytest.raises(gaussot.InvalidArgument, match="gamma"):
        gaussot.entropic_ot(A, B, sigma=1.0, gamma=-1.0)
    with pytest.raises(gaussot.InvalidArgument, match="mass_a"):
        gaussot.entropic_ot(A, B, sigma=1.0, mass_a=2.0)
    with pytest.raises(gaussot.InvalidArgument, match="masses.b"):
        gaussot.entropic_ot(A, B, sigma=1.0, gamma=1.0, mass_b=-1.0)
    bad = B.copy()
    bad[1] = -np.eye(3)
    with pytest.raises(gaussot.InvalidArgument, match="b.covariances"):
        gaussot.sinkhorn_divergence(A, bad, sigma=1.0)
    with pytest.raises(gaussot.InvalidArgument):
        gaussot.entropic_map(A, B[:, :2, :2], sigma=1.0)
