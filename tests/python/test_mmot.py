# SPDX-License-Identifier: Apache-2.0
"""gaussot.mmot: the mm1 reference vector (formulas-bures-igw-mmot.md §9), both solvers, the
barycenter against gaussot.w2_barycenter and a NumPy fixed point, factors that reproduce the
marginals, the value as the expected cost of the returned coupling, and bad input."""
import numpy as np
import pytest

import gaussot

MM1 = np.array([[[1, .6], [.6, 1]], [[2, -.9], [-.9, 2]], [[1.5, .8], [.8, 1.5]]])


def numpy_barycenter(covs, rho):
    """The Álvarez-Esteban fixed point in NumPy (eigh square roots)."""
    def sqrtm(a):
        w, v = np.linalg.eigh(a)
        return (v * np.sqrt(np.maximum(w, 0))) @ v.T
    rho = np.asarray(rho) / np.sum(rho)
    b = np.einsum("i,ijk->jk", rho, covs)
    for _ in range(200):
        root = sqrtm(b)
        inverse = np.linalg.inv(root)
        mid = sum(r * sqrtm(root @ s @ root) for r, s in zip(rho, covs))
        b = inverse @ mid @ mid @ inverse
    return b


@pytest.mark.parametrize("solver", ["bm", "fixed-point"])
def test_reference_vector_and_certificate(solver):
    r = gaussot.mmot(MM1, solver=solver, tolerance=1e-10)
    assert r["converged"] and r["stop_reason"] == "dual_gap"
    assert r["dual_gap"] <= 1e-10 and r["dual"] <= r["primal"]
    assert r["rank"] == 2
    assert r["value"] == pytest.approx(2.266912, abs=2e-6)
    np.testing.assert_allclose(r["barycenter_cov"], numpy_barycenter(MM1, [1, 1, 1]), atol=1e-9)


@pytest.mark.parametrize("solver, width", [("bm", 4), ("fixed-point", 3)])
def test_value_is_the_expected_cost_of_the_coupling(solver, width):
    rng = np.random.default_rng(4)
    a = rng.normal(size=(5, 3, 3))
    covs = a @ np.swapaxes(a, 1, 2) + 0.2 * np.eye(3)
    means = rng.normal(size=(5, 3))
    rho = np.array([1.0, 0.5, 2.0, 1.5, 0.25])
    r = gaussot.mmot(covs, means=means, weights=rho, solver=solver, factors=True, tolerance=1e-11)
    u = r["factors"]
    assert u.shape == (5, 3, width)
    np.testing.assert_allclose(u @ np.swapaxes(u, 1, 2), covs, atol=1e-10)
    # X_i = m_i + U_i z: E Σ_{i<j} ρ_iρ_j‖X_i − X_j‖² = Σ ρ_iρ_j (‖m_i − m_j‖² + ‖U_i − U_j‖²_F).
    cost = sum(rho[i] * rho[j] * (np.sum((means[i] - means[j]) ** 2) + np.sum((u[i] - u[j]) ** 2))
               for i in range(5) for j in range(i + 1, 5))
    assert r["value"] == pytest.approx(cost, rel=1e-9)
    mean, cov = gaussot.w2_barycenter(covs, means=means, weights=rho)
    # The barycenter is accurate to about √gap (the objective is quadratic near the optimum).
    np.testing.assert_allclose(r["barycenter_cov"], cov, atol=1e-5)
    assert -0.5 * np.trace(cov) * rho.sum() ** 2 == pytest.approx(r["primal"], rel=1e-9)
    np.testing.assert_allclose(r["barycenter_mean"], mean, atol=1e-12)


def test_bad_input_raises_with_the_message():
    singular = MM1.copy()
    singular[0] = [[1, 1], [1, 1]]
    with pytest.raises(gaussot.InvalidArgument, match="positive definite"):
        gaussot.mmot(singular)
    with pytest.raises(ValueError, match="solver"):
        gaussot.mmot(MM1, solver="sdp")
    with pytest.raises(gaussot.InvalidArgument, match="weights"):
        gaussot.mmot(MM1, weights=np.array([1.0, -1.0, 1.0]))
